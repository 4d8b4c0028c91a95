r"""Idempotent Generative Networks (Shocher et al., 2024) read as a GAN.

One network :math:`f_\theta:\mathbb R^d\to\mathbb R^d` is both the generator (it maps noise
:math:`z\sim N(0,I_d)` to a sample :math:`f_\theta(z)`) and the discriminator, through its
reconstruction error

.. math:: \delta_\theta(x) = \tfrac1d\lVert f_\theta(x) - x\rVert^2 ,

which is small on what :math:`f` considers real (the book's energy :math:`U=-D`). With
:math:`\theta'` a frozen copy of :math:`\theta` (same values, no gradient), IGN minimises

.. math::
   \mathcal L(\theta) = \lambda_{rec}\,\underbrace{\mathbb E_x\,\delta_\theta(x)}_{\text{rec}}
   + \lambda_{idem}\,\underbrace{\mathbb E_z\,\delta_{\theta'}(f_\theta(z))}_{\text{idem}}
   - \lambda_{tight}\,\underbrace{\mathbb E_z\,\delta_{\theta}(f_{\theta'}(z))}_{\text{tight}} .

``rec`` and ``tight`` reach :math:`\theta` only through the *outer* application of :math:`f`
(the discriminator's role), ``idem`` only through the *inner* one (the generator's role). With
all weights 1 this is exactly the single-loss WGAN of :func:`gantools.losses.wgan_single_loss_copies`
with :math:`D=-\delta_\theta` and :math:`G=f_\theta` (see Part IV of the book).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call

from ._validate import check_int, check_name, check_positive, make_generator
from .train import check_finite_value

IGN_FORMS: tuple[str, ...] = ("copy", "sg")
"""How the frozen copy is realised: ``"copy"`` (a functional call with detached parameters)
or ``"sg"`` (stop-gradient algebra, no copy at all)."""


def _frozen(f: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``f`` evaluated with detached parameters: the frozen copy :math:`f_{\\theta'}`."""
    params = {k: v.detach() for k, v in f.named_parameters()}
    buffers = dict(f.named_buffers())
    return lambda t: functional_call(f, (params, buffers), (t,))


def _delta(out: torch.Tensor, inp: torch.Tensor) -> torch.Tensor:
    """Per-sample :math:`\\frac1d\\lVert out-inp\\rVert^2`, shape ``(n,)``."""
    return (out - inp).pow(2).flatten(1).mean(1)


def reconstruction_error(f: nn.Module, x: torch.Tensor) -> torch.Tensor:
    r"""Per-sample :math:`\delta_\theta(x) = \frac1d\lVert f_\theta(x)-x\rVert^2`, shape ``(n,)``."""
    _check_batch(x, "x")
    return _delta(_apply(f, x, "x"), x)


def _check_batch(t: torch.Tensor, name: str) -> None:
    if not isinstance(t, torch.Tensor) or t.ndim < 2 or t.shape[0] == 0:
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"{name} must be a batch of shape (n, ...) with n >= 1, got {shape}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite; it holds NaN/inf entries")


def _apply(f: nn.Module, t: torch.Tensor, name: str) -> torch.Tensor:
    """``f(t)``, with a clear ``ValueError`` when ``t``'s shape does not fit ``f``."""
    try:
        return f(t)
    except RuntimeError as err:
        raise ValueError(f"{name} of shape {tuple(t.shape)} does not fit the network: {err}") from err


def ign_loss(f: nn.Module, x: torch.Tensor, z: torch.Tensor, *, lam_rec: float = 1.0,
             lam_idem: float = 1.0, lam_tight: float = 0.1, clamp: float | None = None,
             form: str = "copy") -> dict[str, torch.Tensor]:
    r"""IGN's objective, term by term.

    .. math::
       \text{total} = \lambda_{rec}\,\text{rec} + \lambda_{idem}\,\text{idem}
       - \lambda_{tight}\,\text{tight}

    with (batch means) :math:`\text{rec}=\delta_\theta(x)`,
    :math:`\text{idem}=\delta_{\theta'}(f_\theta(z))` (frozen outer network) and
    :math:`\text{tight}=\delta_\theta(\mathrm{sg}(f_\theta(z)))` (inner output detached).
    With ``clamp = a`` the tightness term is replaced per sample by
    :math:`a\,\bar\ell\,\tanh\!\big(\text{tight}(z)/(a\,\bar\ell)\big)`, where
    :math:`\bar\ell` is the batch's reconstruction loss (detached), so the reward for pushing
    generated samples away saturates at :math:`a` times the current reconstruction error
    (the paper's clamp; our choice is to treat :math:`\bar\ell` as a constant scale).

    Parameters
    ----------
    f : nn.Module
        The network, mapping ``(n, ...)`` to the same shape.
    x : torch.Tensor
        Real batch, shape ``(n, ...)``.
    z : torch.Tensor
        Noise batch with the same per-sample shape as ``x``.
    lam_rec, lam_idem, lam_tight : float
        Non-negative weights.
    clamp : float or None
        The tanh clamp's factor :math:`a > 0`, or ``None`` for no clamp.
    form : str
        ``"copy"`` evaluates the frozen outer network by a functional call with detached
        parameters; ``"sg"`` uses no copy: the inner-path gradient of idem is obtained as
        :math:`\delta_\theta(f_\theta(z)) - \delta_\theta(\mathrm{sg}(f_\theta(z)))` (both
        paths minus the outer path), the stop-gradient trick of
        :func:`gantools.losses.wgan_single_loss`. Same value, same gradients; ``"sg"`` does not
        support ``clamp``.

    Returns
    -------
    dict
        ``"rec"``, ``"idem"``, ``"tight"`` (unclamped values), ``"tight_used"`` (after the
        clamp), ``"total"`` (the scalar to minimise).
    """
    check_name(form, IGN_FORMS, "IGN form")
    _check_batch(x, "x")
    _check_batch(z, "z")
    if x.shape[1:] != z.shape[1:]:
        raise ValueError(f"z must have per-sample shape {tuple(x.shape[1:])} like x, got {tuple(z.shape[1:])}")
    lam_rec = check_positive(lam_rec, "lam_rec", allow_zero=True)
    lam_idem = check_positive(lam_idem, "lam_idem", allow_zero=True)
    lam_tight = check_positive(lam_tight, "lam_tight", allow_zero=True)
    if clamp is not None:
        clamp = check_positive(clamp, "clamp")
    rec = reconstruction_error(f, x).mean()
    fz = f(z)
    fz_sg = fz.detach()
    if form == "copy":
        idem_ps = _delta(_frozen(f)(fz), fz)           # gradient through the inner f only
        tight_ps = _delta(f(fz_sg), fz_sg)             # gradient through the outer f only
        idem = idem_ps.mean()
    else:
        if clamp is not None:
            raise ValueError("form='sg' computes the clamp-free objective; use form='copy' with clamp")
        # delta(f(fz)) has both paths; delta(f(sg fz)) has the outer path only (same value)
        tight_ps = _delta(f(fz_sg), fz_sg)
        both = _delta(f(fz), fz).mean()
        idem = both - tight_ps.mean() + tight_ps.mean().detach()   # inner path only, value of idem
    tight = tight_ps.mean()
    if clamp is None:
        tight_used = tight
    else:
        scale = clamp * rec.detach().clamp_min(1e-12)
        tight_used = (scale * torch.tanh(tight_ps / scale)).mean()
    total = lam_rec * rec + lam_idem * idem - lam_tight * tight_used
    return {"rec": rec, "idem": idem, "tight": tight, "tight_used": tight_used, "total": total}


def apply_n(f: nn.Module, z: torch.Tensor, n: int) -> list[torch.Tensor]:
    r"""The orbit :math:`[z, f(z), f(f(z)), \dots, f^n(z)]` (no gradient), ``n+1`` tensors."""
    check_int(n, "n", minimum=1)
    _check_batch(z, "z")
    out = [z]
    with torch.no_grad():
        for _ in range(n):
            out.append(_apply(f, out[-1], "z"))
    return out


def idempotence_error(f: nn.Module, z: torch.Tensor) -> float:
    r"""Root mean square :math:`\sqrt{\mathbb E\,\frac1d\lVert f(f(z)) - f(z)\rVert^2}` (no gradient)."""
    _, fz, ffz = apply_n(f, z, 2)
    return float(_delta(ffz, fz).mean().sqrt())


@dataclass
class IGNRun:
    """What :func:`train_ign` returns: the trained network and its logged history."""

    f: nn.Module
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0


def train_ign(
    f: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    *,
    steps: int,
    batch: int = 128,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.5, 0.999),
    lam_rec: float = 1.0,
    lam_idem: float = 1.0,
    lam_tight: float = 0.1,
    clamp: float | None = None,
    form: str = "copy",
    noise_std: float = 1.0,
    seed: int | torch.Generator | None = 0,
    log_every: int = 50,
    eval_batch: int = 512,
) -> IGNRun:
    r"""Train ``f`` with Adam on :func:`ign_loss`, one batch of data and one of noise per step.

    Noise is :math:`z\sim N(0,\sigma^2 I)` with :math:`\sigma` = ``noise_std``, of the same
    per-sample shape as the data. Every ``log_every`` steps the history records the loss terms
    and, on a fixed evaluation batch (``eval_batch`` noise draws, real points), the RMS
    reconstruction error :math:`\sqrt{\mathbb E\,\delta(x)}` and the RMS idempotence error
    :math:`\sqrt{\mathbb E\,\frac1d\lVert f(f(z))-f(z)\rVert^2}`.
    Raises :class:`gantools.train.DivergenceError` when a loss becomes NaN or infinite.
    """
    check_int(steps, "steps")
    check_int(batch, "batch")
    check_int(log_every, "log_every")
    check_positive(noise_std, "noise_std")
    gen = make_generator(seed)
    x_eval = sample_real(eval_batch, gen)
    z_eval = noise_std * torch.randn(x_eval.shape, generator=gen)
    opt = torch.optim.Adam(f.parameters(), lr=lr, betas=betas)
    keys = ("step", "rec", "idem", "tight", "total", "rec_rms", "idem_rms")
    history: dict[str, list[float]] = {k: [] for k in keys}
    t0 = time.perf_counter()
    for step in range(steps):
        x = sample_real(batch, gen)
        z = noise_std * torch.randn(x.shape, generator=gen)
        terms = ign_loss(f, x, z, lam_rec=lam_rec, lam_idem=lam_idem, lam_tight=lam_tight,
                         clamp=clamp, form=form)
        opt.zero_grad(set_to_none=True)
        terms["total"].backward()
        opt.step()
        total = check_finite_value(terms["total"].detach(), where=f"IGN loss at step {step}")
        if step % log_every == 0 or step == steps - 1:
            with torch.no_grad():
                rec_rms = float(reconstruction_error(f, x_eval).mean().sqrt())
            idem_rms = idempotence_error(f, z_eval)
            check_finite_value(idem_rms, where=f"idempotence error at step {step}")
            for k, v in (("step", step), ("rec", terms["rec"]), ("idem", terms["idem"]),
                         ("tight", terms["tight"]), ("total", total), ("rec_rms", rec_rms),
                         ("idem_rms", idem_rms)):
                history[k].append(float(v.detach()) if isinstance(v, torch.Tensor) else float(v))
    return IGNRun(f=f, history=history, seconds=time.perf_counter() - t0)


class NegReconstruction(nn.Module):
    r"""The critic :math:`D(x) = -\delta_\theta(x)` built on ``f`` (shares ``f``'s parameters).

    Larger on what ``f`` reconstructs well, i.e. the book's convention "D larger on real data";
    its parameters *are* ``f``'s (registered as the submodule ``f``), so a frozen copy of ``D``
    made with :func:`torch.func.functional_call` freezes ``f`` only inside ``D``.
    """

    def __init__(self, f: nn.Module):
        super().__init__()
        self.f = f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -reconstruction_error(self.f, x)


def ign_as_gan_parts(f: nn.Module) -> tuple[nn.Module, nn.Module]:
    r"""The pair :math:`(D, G) = (-\delta_\theta, f_\theta)` that turns IGN into a single-loss WGAN.

    Feeding them to :func:`gantools.losses.wgan_single_loss_copies` (or
    :func:`gantools.losses.wgan_single_loss`) gives the value and the gradients of
    :func:`ign_loss` with ``lam_rec = lam_idem = lam_tight = 1`` and no clamp.
    """
    return NegReconstruction(f), f


def median_seconds(fn: Callable[[], object], *, repeat: int = 20, warmup: int = 3) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeat`` calls after ``warmup`` calls.

    The median is robust to the occasional slow call on a shared machine; compare only timings
    taken in the same process, one right after the other.
    """
    check_int(repeat, "repeat")
    check_int(warmup, "warmup", minimum=0)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def compare_seconds(fns: dict[str, Callable[[], object]], *, repeat: int = 15,
                    warmup: int = 3) -> dict[str, float]:
    """Median wall-clock seconds of several callables, timed in interleaved rounds.

    Each round calls every function once, in order; interleaving makes the comparison fair when
    the machine's load changes during the measurement (a shared CPU). Returns name -> median.
    """
    check_int(repeat, "repeat")
    check_int(warmup, "warmup", minimum=0)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}
