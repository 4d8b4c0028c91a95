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
from typing import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call

from ._validate import check_int, check_name, check_positive, make_generator
from .ensemble import MemberOptimizer, MemberStreams
from .errors import DivergenceError
from .train import check_finite_value

__all__ = ["IGN_FORMS", "RECIPE", "LISTING", "PAPER", "IGNRun", "IGNEnsembleRun", "NegReconstruction", "apply_n",
           "critic_gradient_norms", "ensemble_ign_terms", "idempotence_error", "ign_as_gan_parts", "ign_loss", "reconstruction_error",
           "train_ign", "train_ign_ensemble"]

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
    r"""Per-sample reconstruction error, IGN's critic read as an energy.

    .. math:: \delta_\theta(x) = \tfrac1d\lVert f_\theta(x)-x\rVert^2

    Parameters
    ----------
    f : nn.Module
        The network, ``(n, ...) -> (n, ...)``.
    x : torch.Tensor, shape (n, ...)
        Points to reconstruct.

    Returns
    -------
    torch.Tensor, shape (n,)
        :math:`\delta_\theta(x_i)` per point (with gradient).
    """
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
    r"""The orbit :math:`[z, f(z), f(f(z)), \dots, f^n(z)]`, computed without gradient.

    Parameters
    ----------
    f : nn.Module
        The network, ``(m, ...) -> (m, ...)``.
    z : torch.Tensor, shape (m, ...)
        Starting points.
    n : int
        Number of applications (at least 1).

    Returns
    -------
    list of torch.Tensor
        ``n + 1`` tensors of the shape of ``z``: :math:`f^0(z)=z, \dots, f^n(z)`.
    """
    check_int(n, "n", minimum=1)
    _check_batch(z, "z")
    out = [z]
    with torch.no_grad():
        for _ in range(n):
            out.append(_apply(f, out[-1], "z"))
    return out


def idempotence_error(f: nn.Module, z: torch.Tensor) -> float:
    r"""Root mean square idempotence error, computed without gradient.

    .. math:: \sqrt{\mathbb E_z\,\tfrac1d\lVert f(f(z)) - f(z)\rVert^2}

    Parameters
    ----------
    f : nn.Module
        The network.
    z : torch.Tensor, shape (m, ...)
        Points at which to measure (noise, or anything else).

    Returns
    -------
    float
        The RMS error (0 exactly when :math:`f` is idempotent on ``z``).
    """
    _, fz, ffz = apply_n(f, z, 2)
    return float(_delta(ffz, fz).mean().sqrt())


def critic_gradient_norms(f: nn.Module, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Per-sample value and parameter-gradient norm of the critic :math:`\delta_\theta` at fixed points ``y``.

    .. math::

       \nabla_\theta\,\delta_\theta(y) = \tfrac2d\,J_\theta(y)^\top\bigl(f_\theta(y)-y\bigr),
       \qquad J_\theta(y) = \partial f_\theta(y)/\partial\theta ,

    the gradient that the tightness term :math:`-\lambda_{tight}\,\delta_\theta(f_{\theta'}(z))` sends
    through the outer application of :math:`f` for one sample :math:`y=f_{\theta'}(z)`. It is
    proportional to the residual :math:`f_\theta(y)-y`, whose norm is :math:`\sqrt{d\,\delta_\theta(y)}`:
    maximising a squared distance has a vanishing gradient where the distance is small.

    Parameters
    ----------
    f : nn.Module
        The network, ``(n, ...) -> (n, ...)``; one sample at a time must also fit it.
    y : torch.Tensor, shape (n, ...)
        Points at which to evaluate (held fixed: no gradient flows into them).

    Returns
    -------
    delta : torch.Tensor, shape (n,)
        :math:`\delta_\theta(y_i)`.
    grad_norm : torch.Tensor, shape (n,)
        :math:`\lVert\nabla_\theta\,\delta_\theta(y_i)\rVert` over all parameters of ``f``.
    """
    _check_batch(y, "y")
    params = {k: v.detach() for k, v in f.named_parameters()}
    buffers = dict(f.named_buffers())

    def one(p: dict[str, torch.Tensor], yi: torch.Tensor) -> torch.Tensor:
        yi = yi.detach().unsqueeze(0)
        return _delta(functional_call(f, (p, buffers), (yi,)), yi)[0]

    delta = torch.func.vmap(one, in_dims=(None, 0))(params, y)
    grads = torch.func.vmap(torch.func.grad(one), in_dims=(None, 0))(params, y)
    grad_norm = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in grads.values()))
    return delta.detach(), grad_norm.detach()


@dataclass
class IGNRun:
    """What :func:`train_ign` returns: the trained network and its logged history.

    Attributes
    ----------
    f : nn.Module
        The trained network (the one passed in, trained in place).
    history : dict of str to list of float
        Logged values per logged step (keys ``step``, ``rec``, ``idem``, ``tight``, ``total``,
        ``rec_rms``, ``idem_rms``).
    seconds : float
        Wall-clock training time.
    """

    f: nn.Module
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0


RECIPE: dict[str, object] = dict(steps=2000, batch=128, lr=3e-4, betas=(0.5, 0.999), lam_rec=1.0,
                                 lam_idem=1.0, lam_tight=0.7, clamp=None, noise_std=1.0)
r"""The recommended recipe for ``digits.autoencoder("mlp")`` on ``data.digits()`` (Part IV, notebook 5):
critic weights :math:`\lambda_{rec}=\lambda_{idem}=1`, :math:`\lambda_{tight}=0.7` without the tanh
clamp, Adam :math:`3\cdot10^{-4}` with :math:`\beta=(0.5, 0.999)`, batch 128, 2000 steps: the best
cell of the dose-response grid (weight ratio :math:`\times` clamp, six seeds, confident class
coverage of :func:`gantools.metrics.digit_scores`, stored by ``benchmarks/part4_dose_response.py``).
These are :func:`train_ign`'s and :func:`train_ign_ensemble`'s defaults."""

LISTING: dict[str, object] = dict(lam_rec=1.0, lam_idem=1.0, lam_tight=0.1, clamp=None)
"""The weights of the IGN paper's code listing, :math:`(1, 1, 0.1)` without clamp (collapse-prone)."""

PAPER: dict[str, object] = dict(lr=1e-4, batch=256, lam_rec=20.0, lam_idem=20.0, lam_tight=2.5, clamp=1.5)
r"""The benchmarks' ``--scale paper``: the weights :math:`(20, 20, 2.5)` (ratio
:math:`\lambda_{tight}/\lambda_{rec} = 0.125`) and the tanh clamp at :math:`a = 1.5` that the IGN
paper reports for its image experiments (where its distance is L1, here the squared error of
:func:`ign_loss`); Adam :math:`10^{-4}` and batch 256 are those of public re-implementations, since
the paper's own code is not public."""


def train_ign(
    f: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    *,
    steps: int = 2000,
    batch: int = 128,
    lr: float = 3e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    lam_rec: float = 1.0,
    lam_idem: float = 1.0,
    lam_tight: float = 0.7,
    clamp: float | None = None,
    form: str = "copy",
    noise_std: float = 1.0,
    seed: int | torch.Generator | None = 0,
    device: torch.device | str | None = None,
    log_every: int = 50,
    eval_batch: int = 512,
) -> IGNRun:
    r"""Train ``f`` with Adam on :func:`ign_loss`, one batch of data and one of noise per step.

    The defaults are :data:`RECIPE`, the recommended recipe for ``digits.autoencoder("mlp")``
    on ``data.digits()``: weights (1, 1, 0.7) without clamp, Adam :math:`3\cdot10^{-4}`, batch
    128, 2000 steps, the best setting of the book's dose-response grid (Part IV, notebook 5); the
    code listing's weights (:data:`LISTING`) collapse onto a few classes.

    Noise is :math:`z\sim N(0,\sigma^2 I)` with :math:`\sigma` = ``noise_std``, of the same
    per-sample shape as the data. Every ``log_every`` steps the history records the loss terms
    and, on a fixed evaluation batch (``eval_batch`` noise draws, real points), the RMS
    reconstruction error :math:`\sqrt{\mathbb E\,\delta(x)}` and the RMS idempotence error
    :math:`\sqrt{\mathbb E\,\frac1d\lVert f(f(z))-f(z)\rVert^2}`.

    Parameters
    ----------
    f : nn.Module
        The network, ``(n, ...) -> (n, ...)``; trained in place.
    sample_real : callable
        ``sample_real(n, generator)`` returns ``n`` real samples, shape ``(n, ...)``.
    steps, batch : int
        Adam steps and batch size.
    lr : float
        Adam's learning rate.
    betas : tuple of float
        Adam's betas.
    lam_rec, lam_idem, lam_tight, clamp, form
        As in :func:`ign_loss`.
    noise_std : float
        Standard deviation :math:`\sigma` of the noise.
    seed : int, torch.Generator or None
        Seeds the data and noise stream (not the initialisation of ``f``); the draws are made
        on the CPU, so a run is the same on every device.
    device : torch.device or str, optional
        Where to train (default: where ``f``'s parameters are).
    log_every, eval_batch : int
        Logging period and size of the fixed evaluation batch.

    Returns
    -------
    IGNRun
        The trained network, the history (keys ``step``, ``rec``, ``idem``, ``tight``, ``total``,
        ``rec_rms``, ``idem_rms``) and the training time.

    Raises
    ------
    DivergenceError
        When a loss becomes NaN or infinite.
    """
    check_int(steps, "steps")
    check_int(batch, "batch")
    check_int(log_every, "log_every")
    check_positive(noise_std, "noise_std")
    device = next(f.parameters()).device if device is None else torch.device(device)
    f.to(device)
    gen = make_generator(seed)
    x_eval = sample_real(eval_batch, gen)
    z_eval = (noise_std * torch.randn(x_eval.shape, generator=gen)).to(device)
    x_eval = x_eval.to(device)
    opt = torch.optim.Adam(f.parameters(), lr=lr, betas=betas)
    keys = ("step", "rec", "idem", "tight", "total", "rec_rms", "idem_rms")
    history: dict[str, list[float]] = {k: [] for k in keys}
    t0 = time.perf_counter()
    for step in range(steps):
        x = sample_real(batch, gen)
        z = (noise_std * torch.randn(x.shape, generator=gen)).to(device)
        x = x.to(device)
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

    Parameters
    ----------
    f : nn.Module
        The network whose reconstruction error is the critic.
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

    Parameters
    ----------
    f : nn.Module
        The IGN network.

    Returns
    -------
    tuple of nn.Module
        ``(D, G)``: :class:`NegReconstruction` of ``f``, and ``f`` itself.
    """
    return NegReconstruction(f), f


# --- several IGN runs side by side -----------------------------------------------------------

@dataclass
class IGNEnsembleRun:
    """What :func:`train_ign_ensemble` returns.

    Attributes
    ----------
    f : nn.Module
        The trained stacked networks, ``(M, n, d) -> (M, n, d)``
        (a :class:`gantools.ensemble.EnsembleMLP`); ``f.member(m)`` is run ``m`` alone.
    settings : list of dict
        Per member: ``lam_rec``, ``lam_idem``, ``lam_tight``, ``clamp`` (``None`` for none).
    history : dict of str to list
        ``"step"`` and, per logged step, lists of ``M`` floats: ``"rec_rms"``, ``"idem_rms"``,
        ``"total"``.
    diverged : list of int or None
        Per member, the step at which its loss became non-finite, or ``None``.
    seconds : float
        Wall-clock training time for all members together.
    """

    f: nn.Module
    settings: list[dict[str, float | None]]
    history: dict[str, list] = field(default_factory=dict)
    diverged: list[int | None] = field(default_factory=list)
    seconds: float = 0.0

    def member(self, m: int) -> nn.Module:
        """Run ``m`` as a standalone network ``(n, d) -> (n, d)``."""
        return self.f.member(m)


def ensemble_ign_terms(f: nn.Module, x: torch.Tensor, z: torch.Tensor, lam_rec: torch.Tensor,
                       lam_idem: torch.Tensor, lam_tight: torch.Tensor,
                       clamp: torch.Tensor) -> dict[str, torch.Tensor]:
    r""":func:`ign_loss` for ``M`` stacked networks at once, one value per member.

    Member :math:`m` gets, on its own batch :math:`x^{(m)}, z^{(m)}`,

    .. math::

       \text{total}_m = \lambda_{rec,m}\,\text{rec}_m + \lambda_{idem,m}\,\text{idem}_m
       - \lambda_{tight,m}\,\text{tight\_used}_m ,

    with the terms of :func:`ign_loss` (frozen copy by a functional call with detached
    parameters; the clamp :math:`a_m\bar\ell_m\tanh(\cdot/(a_m\bar\ell_m))` where :math:`a_m`
    is finite, none where it is NaN). Minimising the *sum* over members trains each on its own
    objective.

    Parameters
    ----------
    f : nn.Module
        Stacked networks, ``(M, n, d) -> (M, n, d)``.
    x, z : torch.Tensor, shape (M, n, d)
        Real and noise batches.
    lam_rec, lam_idem, lam_tight, clamp : torch.Tensor, shape (M,)
        Per-member weights and clamp factors (NaN: no clamp).

    Returns
    -------
    dict of str to torch.Tensor
        ``"rec"``, ``"idem"``, ``"tight"``, ``"tight_used"``, ``"total"``, each of shape ``(M,)``.
    """
    if x.ndim != 3 or z.shape != x.shape:
        raise ValueError(f"x and z must both have shape (M, n, d), got {tuple(x.shape)} and {tuple(z.shape)}")
    rec = (f(x) - x).pow(2).mean((1, 2))
    fz = f(z)
    fz_sg = fz.detach()
    idem = (_frozen(f)(fz) - fz).pow(2).mean((1, 2))
    tight_ps = (f(fz_sg) - fz_sg).pow(2).mean(2)                      # (M, n)
    has = ~torch.isnan(clamp)
    scale = (torch.where(has, clamp, torch.ones_like(clamp)) * rec.detach().clamp_min(1e-12))[:, None]
    tight_used = torch.where(has[:, None], scale * torch.tanh(tight_ps / scale), tight_ps).mean(1)
    total = lam_rec * rec + lam_idem * idem - lam_tight * tight_used
    return {"rec": rec, "idem": idem, "tight": tight_ps.mean(1), "tight_used": tight_used, "total": total}


def _member_settings(M: int, lam_rec, lam_idem, lam_tight, clamp) -> list[dict[str, float | None]]:
    """Per-member weights and clamp as a list of dicts, validated (``None``: no clamp)."""
    def values(v, name):
        v = [v] * M if v is None or isinstance(v, (int, float)) else list(v)
        if len(v) != M:
            raise ValueError(f"{name} must be a number or hold one value per member ({M}), got {len(v)}")
        return [None if e is None and name == "clamp" else check_positive(e, name, allow_zero=name != "clamp")
                for e in v]

    cols = {k: values(v, k) for k, v in (("lam_rec", lam_rec), ("lam_idem", lam_idem), ("lam_tight", lam_tight),
                                         ("clamp", clamp))}
    return [{k: cols[k][m] for k in cols} for m in range(M)]


def train_ign_ensemble(
    f: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    *,
    steps: int = 2000,
    batch: int = 128,
    lr: float = 3e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    lam_rec=1.0,
    lam_idem=1.0,
    lam_tight=0.7,
    clamp=None,
    noise_std: float = 1.0,
    seeds: Sequence[int] | None = None,
    device: torch.device | str | None = None,
    log_every: int = 100,
    eval_batch: int = 256,
    callback: Callable[[int, nn.Module], None] | None = None,
    on_divergence: str = "raise",
) -> IGNEnsembleRun:
    r"""Train ``M`` IGN runs side by side: :func:`train_ign` for stacked networks.

    Each member has its own initialisation (the stacked networks' own), its own weights and
    clamp, and its own data and noise stream (:class:`gantools.ensemble.MemberStreams`, seeded
    by ``seeds[m]``); :class:`gantools.ensemble.MemberOptimizer` (Adam) on the sum of the
    members' objectives (:func:`ensemble_ign_terms`) trains each exactly as :func:`train_ign`
    would with those settings and ``seed=seeds[m]`` (same ``eval_batch``; the tests check it).
    The defaults are :data:`RECIPE`.

    Parameters
    ----------
    f : nn.Module
        Stacked networks ``(M, n, d) -> (M, n, d)`` with an ``n_members`` attribute, e.g.
        :func:`gantools.digits.stacked_autoencoders`, a :class:`gantools.ensemble.EnsembleMLP`
        or a :class:`gantools.ensemble.VmapEnsemble`.
    sample_real : callable
        ``sample_real(n, generator)`` returns ``n`` real samples, shape ``(n, d)``.
    steps, batch : int
        Adam steps; batch per member.
    lr : float
        Adam's learning rate.
    betas : tuple of float
        Adam's betas.
    lam_rec, lam_idem, lam_tight : float or sequence of float
        Weights, one for all members or one per member.
    clamp : float, None or sequence of (float or None)
        Clamp factor :math:`a` per member (``None``: no clamp).
    noise_std : float
        Standard deviation of the noise :math:`z`.
    seeds : sequence of int, optional
        One seed per member for its data and noise stream (default ``0..M-1``); the
        initialisations are the stacked networks' own.
    device : torch.device or str, optional
        Where to train (default: where ``f``'s parameters are).
    log_every, eval_batch : int
        Logging period; size of each member's fixed evaluation batch (drawn first from its
        stream, as :func:`train_ign` does).
    callback : callable, optional
        ``callback(step, f)`` at every logged step and at the end, without gradient.
    on_divergence : str
        ``"raise"`` (a :class:`gantools.errors.DivergenceError` naming the member and the step)
        or ``"record"`` (the member's step is stored in ``diverged``; from then on the member is
        inactive: its parameters and Adam moments stay exactly as they were, and the others
        train on).

    Returns
    -------
    IGNEnsembleRun
        The stacked networks, the per-member settings, history and divergences.
    """
    check_int(steps, "steps")
    check_int(batch, "batch")
    check_int(log_every, "log_every")
    check_positive(noise_std, "noise_std")
    check_name(on_divergence, ("raise", "record"), "on_divergence")
    M = getattr(f, "n_members", None)
    if not isinstance(M, int):
        raise ValueError("f must be stacked networks with an integer attribute n_members")
    settings = _member_settings(M, lam_rec, lam_idem, lam_tight, clamp)
    seeds = list(range(M)) if seeds is None else [int(s) for s in seeds]
    if len(seeds) != M:
        raise ValueError(f"seeds must hold one seed per member ({M}), got {len(seeds)}")
    device = next(f.parameters()).device if device is None else torch.device(device)
    f.to(device)
    lam = {k: torch.tensor([s[k] for s in settings], device=device) for k in ("lam_rec", "lam_idem", "lam_tight")}
    t_clamp = torch.tensor([float("nan") if s["clamp"] is None else s["clamp"] for s in settings], device=device)
    streams = MemberStreams(seeds, device=device)
    x_eval = streams.sample(sample_real, eval_batch)
    z_eval = noise_std * streams.randn(*x_eval.shape[1:])
    opt = MemberOptimizer(f.parameters(), lr=lr, betas=betas)
    alive = torch.ones(M, dtype=torch.bool, device=device)
    diverged: list[int | None] = [None] * M
    history: dict[str, list] = {"step": [], "rec_rms": [], "idem_rms": [], "total": []}
    t0 = time.perf_counter()
    for step in range(steps):
        x = streams.sample(sample_real, batch)
        z = noise_std * streams.randn(*x.shape[1:])
        terms = ensemble_ign_terms(f, x, z, lam["lam_rec"], lam["lam_idem"], lam["lam_tight"], t_clamp)
        newly = alive & ~torch.isfinite(terms["total"].detach())
        if newly.any():
            if on_divergence == "raise":
                m = int(newly.nonzero()[0])
                raise DivergenceError(f"IGN ensemble: member {m} ({settings[m]}) diverged at step {step}")
            for m in newly.nonzero().flatten().tolist():
                diverged[m] = step
            alive &= ~newly
        opt.zero_grad()
        torch.where(alive, terms["total"], 0.0).sum().backward()
        opt.step(active=alive)
        if step % log_every == 0 or step == steps - 1:
            _log_ensemble(history, step, f, x_eval, z_eval, terms["total"], callback)
    return IGNEnsembleRun(f=f, settings=settings, history=history, diverged=diverged,
                          seconds=time.perf_counter() - t0)


@torch.no_grad()
def _log_ensemble(history: dict[str, list], step: int, f: nn.Module, x_eval: torch.Tensor, z_eval: torch.Tensor,
                  total: torch.Tensor, callback: Callable[[int, nn.Module], None] | None) -> None:
    """Append the RMS reconstruction and idempotence errors on the fixed evaluation batches."""
    fz = f(z_eval)
    history["step"].append(step)
    history["rec_rms"].append((f(x_eval) - x_eval).pow(2).mean((1, 2)).sqrt().tolist())
    history["idem_rms"].append((f(fz) - fz).pow(2).mean((1, 2)).sqrt().tolist())
    history["total"].append(total.detach().tolist())
    if callback is not None:
        callback(step, f)
