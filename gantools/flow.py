r"""The MonoFlow particle flow and generator training (Part III).

The Euler step :math:`x \leftarrow x + \varepsilon\nabla_x h(D(x))`
(:func:`gantools.monoflow.particle_step`) moves samples along the (rescaled) Wasserstein gradient
flow of :math:`\mathrm{KL}(q_t\Vert p)` when :math:`D\approx\log r_t`. :func:`exact_wgf_particles`
moves them with the exact Gaussian ratio; :func:`particle_flow` alternates the step with
discriminator training, with no generator. A generator follows the moved samples through the
distillation loss (:func:`gantools.monoflow.distill_loss`) or the loss :math:`-h(D(G_\theta(z)))`;
:func:`train_monoflow` trains one run with either, :func:`train_monoflow_stacked` many runs side by
side on the batched engine (:mod:`gantools.ensemble`).
All point sets are ``(n, d)`` tensors; discriminators map ``(n, d)`` to ``(n,)`` or ``(n, 1)``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ._validate import check_int, check_name, check_points, check_positive, make_generator
from .ensemble import MemberOptimizer, MemberStreams
from .errors import DivergenceError
from .utils import descend
from .gaussian import empirical_moments, gaussian_log_ratio
from .monoflow import distill_loss, generator_loss, get_h, particle_step
from .ratio import ratio_fit, train_discriminator

__all__ = ["exact_wgf_particles", "FlowRun", "particle_flow", "NEGATIVES",
           "StackedMonoFlowRun", "train_monoflow_stacked",
           "GEN_LOSSES", "OPTIMIZERS", "make_optimizer", "MonoFlowRun", "train_monoflow"]

Discriminator = Callable[[torch.Tensor], torch.Tensor]


def exact_wgf_particles(x0: torch.Tensor, mean_p, cov_p, *, eps: float, steps: int,
                        h: str = "identity") -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    r"""Move particles with the *exact* ratio, :math:`x \leftarrow x + \varepsilon\nabla h(\log p(x)/\hat q_t(x))`.

    :math:`\hat q_t` is the Gaussian with the particles' own sample mean and covariance at each
    step (the particles stay an affine image of ``x0``, so this Gaussian is their law when
    ``x0`` is Gaussian). Nothing here uses the ODE of :func:`gantools.gaussian.gaussian_wgf_rhs`.

    Parameters
    ----------
    x0 : torch.Tensor, shape (n, d)
    mean_p, cov_p : array-like, shapes (d,) and (d, d)
        Gaussian target.
    eps : float
    steps : int
    h : str

    Returns
    -------
    means : numpy.ndarray, shape (steps + 1, d)
    covs : numpy.ndarray, shape (steps + 1, d, d)
    particles : torch.Tensor, shape (n, d)
    """
    check_int(steps, "steps")
    x = check_points(x0, "x0", dtype=torch.float64).clone()
    means, covs = [], []
    for _ in range(steps + 1):
        m, s = empirical_moments(x)
        means.append(m)
        covs.append(s)
        if len(means) == steps + 1:
            break
        x = particle_step(x, lambda y, m=m, s=s: gaussian_log_ratio(y, mean_p, cov_p, m, s), eps, h=h)
        if not torch.isfinite(x).all():
            raise DivergenceError(f"exact_wgf_particles: particles became NaN/inf at step {len(means)}")
    return np.stack(means), np.stack(covs), x


@dataclass
class FlowRun:
    """What :func:`particle_flow` returns.

    Attributes
    ----------
    particles : torch.Tensor, shape (n, d)
    snapshots : dict[int, torch.Tensor]
        Step -> particles at that step.
    history : dict[str, list[float]]
        ``step``, ``w2``, ``d_loss`` and, with ``log_ratio``, ``d_slope`` and ``d_corr``.
    """

    particles: torch.Tensor
    snapshots: dict[int, torch.Tensor]
    history: dict[str, list[float]] = field(default_factory=dict)


NEGATIVES: tuple[str, ...] = ("current", "initial")
"""Sources of the discriminator's fake batches accepted by :func:`particle_flow`."""


def _member_seeds(seed, M: int) -> list[int]:
    """The stream seeds of ``M`` stacked runs: one per member, or ``s, ..., s + M - 1`` from an int ``s``."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return [int(seed) + m for m in range(M)]
    if isinstance(seed, Sequence) and not isinstance(seed, str) and len(seed) == M:
        return [int(s) for s in seed]
    raise ValueError(f"stacked runs (M={M}) need an int seed or one seed per member, got {seed!r}")


def particle_flow(x0: torch.Tensor, sample_real: Callable[[int, torch.Generator], torch.Tensor],
                  D: nn.Module, *, steps: int, eps: float | Sequence[float], d_steps: int = 5, lr_d: float = 1e-3,
                  batch: int = 256, h: str = "identity", target: torch.Tensor | None = None,
                  log_ratio: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  record_every: int = 20, snapshot_at: tuple[int, ...] = (), negatives: str = "current",
                  seed: int | torch.Generator | Sequence[int] | None = 0,
                  device: torch.device | str | None = None) -> FlowRun:
    r"""Generator-free GAN: alternate ``d_steps`` logistic discriminator steps and one Euler step
    :math:`x \leftarrow x + \varepsilon\nabla_x h(D(x))` of *all* particles.

    Several runs go side by side when ``x0`` holds ``M`` stacked particle sets, shape
    ``(M, n, d)``, and ``D`` is an :class:`~gantools.ensemble.EnsembleMLP` of ``M`` members:
    member :math:`m` moves particle set :math:`m` with its own discriminator (and its own step
    :math:`\varepsilon_m` when ``eps`` is a sequence). The members' discriminator losses are summed,
    and Adam is elementwise, so each member trains on its own loss; member :math:`m` draws its real
    and particle batches from its own random stream (:class:`~gantools.ensemble.MemberStreams`), in
    the order a run alone draws them. So member :math:`m` is the run ``particle_flow`` makes alone
    from ``x0[m]`` with ``D.member(m)`` and that stream's seed, up to rounding (the tests check it),
    and the members are independent runs.

    Parameters
    ----------
    x0 : torch.Tensor, shape (n, d) or (M, n, d)
    sample_real : callable
        ``sample_real(k, generator) -> (k, d)`` draws real points.
    D : torch.nn.Module
        Trained in place (Adam, betas (0.5, 0.999)); maps ``(k, d)`` to ``(k, 1)``, or
        ``(M, k, d)`` to ``(M, k, 1)`` for stacked runs.
    steps, eps, d_steps, lr_d, batch, h
        Number of moves, Euler step (one per member allowed for stacked runs), discriminator
        steps per move, its learning rate, batch, h.
    target : torch.Tensor, shape (n, d), optional
        If given, the exact :math:`W_2` (:func:`gantools.metrics.w2`) between particles and
        target is recorded every ``record_every`` steps.
    log_ratio : callable, optional
        ``log_ratio(x) -> (n,)``, the exact (or reference) :math:`\log p/q_t` at the particles
        ``(n, d)``; if given, :func:`gantools.ratio.ratio_fit` of :math:`D` on it is recorded
        (``d_slope``, ``d_corr``).
    record_every : int
    snapshot_at : tuple of int
    negatives : str
        Where the discriminator's "fake" batches come from (:data:`NEGATIVES`): ``"current"``,
        the particles as they are now (the flow), or ``"initial"``, the starting particles
        ``x0`` throughout, so that :math:`D` estimates :math:`\log p/q_0` instead of
        :math:`\log p/q_t` (an ablation).
    seed : int or torch.Generator or None, or sequence of int
        The random stream of the batches. For ``M`` stacked runs: one seed per member, or an int
        ``s`` for the streams ``s, s + 1, ..., s + M - 1``.
    device : torch.device or str, optional
        Where to compute (CPU by default); ``D`` is moved there, real batches are drawn on the
        CPU and moved.

    Returns
    -------
    FlowRun
        For stacked runs the particles and snapshots have shape ``(M, n, d)`` and every recorded
        value is a list of ``M`` floats.
    """
    from .metrics import w2

    dev = torch.device("cpu") if device is None else torch.device(device)
    stacked = isinstance(x0, torch.Tensor) and x0.ndim == 3
    if stacked:
        x = torch.stack([check_points(x0[m], f"x0[{m}]") for m in range(x0.shape[0])])
        M = x.shape[0]
        if getattr(D, "n_members", None) != M:
            raise ValueError(f"stacked particles (M={M}) need a discriminator of M members (an EnsembleMLP), "
                             f"got {type(D).__name__} with n_members={getattr(D, 'n_members', None)}")
    else:
        x = check_points(x0, "x0")
        if not isinstance(eps, (int, float)):
            raise ValueError(f"eps must be a number for one particle set, got {eps!r}")
    x = x.clone().to(dev)
    check_name(negatives, NEGATIVES, "negatives")
    x_init = x.clone()
    n, dim = x.shape[-2], x.shape[-1]
    D.to(dev)
    check_int(steps, "steps")
    check_int(d_steps, "d_steps")
    check_int(record_every, "record_every")
    get_h(h)
    if target is not None:
        target = check_points(target, "target", dim=dim)
        if target.shape[0] != n:
            raise ValueError(f"target must hold {n} points (as many as x0), got {target.shape[0]}")
    opt = make_optimizer(D.parameters(), "adam", lr_d, (0.5, 0.999))
    history: dict[str, list] = {"step": [], "w2": [], "d_loss": []}
    if log_ratio is not None:
        history.update(d_slope=[], d_corr=[])
    snaps: dict[int, torch.Tensor] = {}
    sets = (lambda y: list(y)) if stacked else (lambda y: [y])
    one = (lambda vals: vals) if stacked else (lambda vals: vals[0])
    nan = float("nan")
    if stacked:
        rng = MemberStreams(_member_seeds(seed, M), device=dev)

        def real_batch() -> torch.Tensor:
            return rng.sample(sample_real, batch)

        def fake_batch(y: torch.Tensor) -> torch.Tensor:
            idx = rng.sample(lambda k, g: torch.randint(n, (k,), generator=g), batch)
            return torch.gather(y, 1, idx[..., None].expand(M, batch, dim))
    else:
        gen = make_generator(seed)

        def real_batch() -> torch.Tensor:
            return sample_real(batch, gen).to(dev)

        def fake_batch(y: torch.Tensor) -> torch.Tensor:
            return y[torch.randint(n, (batch,), generator=gen).to(dev)]
    for step in range(steps + 1):
        if step in snapshot_at:
            snaps[step] = x.clone()
        if step % record_every == 0 or step == steps:
            history["step"].append(step)
            history["w2"].append(one([w2(y, target) if target is not None else nan for y in sets(x)]))
            if log_ratio is not None and step > 0:
                with torch.no_grad():
                    d_now = D(x)
                    fits = [ratio_fit(d, log_ratio(y)) for d, y in zip(sets(d_now), sets(x))]
                history["d_slope"].append(one([f.slope for f in fits]))
                history["d_corr"].append(one([f.corr for f in fits]))
            elif log_ratio is not None:
                history["d_slope"].append(one([nan] * len(sets(x))))
                history["d_corr"].append(one([nan] * len(sets(x))))
        if step == steps:
            break
        neg = x if negatives == "current" else x_init
        ld = train_discriminator(D, opt, real_batch, lambda neg=neg: fake_batch(neg),
                                 steps=d_steps, where=f" (particle_flow, step {step})")
        history["d_loss"].append(ld)
        x = particle_step(x, D, eps, h=h)
        if not torch.isfinite(x).all():
            raise DivergenceError(f"particle_flow: particles became NaN/inf at step {step}")
    return FlowRun(particles=x, snapshots=snaps, history=history)


GEN_LOSSES: tuple[str, ...] = ("h", "distill")
"""Generator objectives accepted by :func:`train_monoflow`."""

OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")
"""Optimiser names accepted by :func:`make_optimizer`."""


def make_optimizer(params, name: str, lr: float, betas: tuple[float, float] = (0.5, 0.999)) -> torch.optim.Optimizer:
    """An Adam or plain SGD optimiser.

    Parameters
    ----------
    params : iterable of torch.Tensor
    name : str
        ``"adam"`` or ``"sgd"``.
    lr : float
    betas : tuple of float
        Adam's betas (ignored for SGD).

    Returns
    -------
    torch.optim.Optimizer
    """
    check_name(name, OPTIMIZERS, "optimizer")
    lr = check_positive(lr, "lr")
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=True)  # one kernel per parameter on the CPU
    return torch.optim.SGD(params, lr=lr)


@dataclass
class MonoFlowRun:
    """What :func:`train_monoflow` returns.

    Attributes
    ----------
    G : torch.nn.Module
    D : torch.nn.Module or None
        ``None`` with ``exact_ratio``.
    history : dict[str, list]
        ``step`` and whatever ``monitor`` returns.
    """

    G: nn.Module
    D: nn.Module | None
    history: dict[str, list] = field(default_factory=dict)


def _freeze_into(G_t: nn.Module, G: nn.Module) -> None:
    """Copy ``G``'s parameters and buffers into its frozen copy ``G_t`` in place (the same
    :math:`\\theta_t` a fresh deep copy would hold, without rebuilding the module each iteration)."""
    with torch.no_grad():
        for dst, src in zip([*G_t.parameters(), *G_t.buffers()], [*G.parameters(), *G.buffers()]):
            dst.copy_(src)


def train_monoflow(G: nn.Module, D: nn.Module | Callable[[nn.Module], Discriminator],
                   sample_real: Callable[[int, torch.Generator], torch.Tensor], *, z_dim: int,
                   iters: int, loss: str = "h", h: str = "identity", eps: float = 0.1,
                   d_steps: int = 1, g_steps: int = 1, batch: int = 256, lr_d: float = 1e-3,
                   lr_g: float = 1e-3, optimizer: str = "adam", betas: tuple[float, float] = (0.5, 0.999),
                   exact_ratio: bool = False, record_every: int = 10,
                   monitor: Callable[[nn.Module], dict] | None = None,
                   seed: int | torch.Generator | None = 0, device: torch.device | str | None = None) -> MonoFlowRun:
    r"""Alternate discriminator and generator training, the MonoFlow way.

    Each iteration: ``d_steps`` logistic-loss Adam steps for ``D`` (skipped when
    ``exact_ratio``: then ``D(G)`` must return the exact log-ratio callable for the current
    generator), then ``g_steps`` generator steps on fresh latents with either

    * ``loss="h"``: :math:`-\frac1n\sum_i h(D(G_\theta(z_i)))` (:func:`gantools.monoflow.generator_loss`), or
    * ``loss="distill"``: :math:`\frac1n\sum_i\lVert G_\theta(z_i) - \mathrm{sg}(y_i)\rVert^2`,
      :math:`y_i = G_{\theta_t}(z_i) + \varepsilon\nabla h(D(G_{\theta_t}(z_i)))`, :math:`\theta_t` a
      frozen copy of the generator taken at the start of the iteration (:func:`distill_loss`).
      Since :math:`\theta_t` and ``D`` do not change during the generator steps, the targets of
      all ``g_steps`` steps are computed in one :func:`~gantools.monoflow.particle_step` over
      their latents (drawn first, in the order the steps use them): the same targets as step by
      step, up to the rounding of a larger batch.

    Parameters
    ----------
    G : torch.nn.Module
        ``(n, z_dim) -> (n, d)``.
    D : torch.nn.Module or callable
        The discriminator, or with ``exact_ratio`` a map ``G -> log-ratio callable``.
    sample_real : callable
        ``sample_real(k, generator) -> (k, d)``.
    z_dim, iters, loss, h, eps, d_steps, g_steps, batch : see above
    lr_d, lr_g : float
        Learning rates; the discriminator uses Adam with ``betas``.
    optimizer : str
        The generator's optimiser, ``"adam"`` or ``"sgd"`` (:func:`make_optimizer`).
    betas : tuple of float
        Adam's betas for both players.
    exact_ratio : bool
    record_every : int
    monitor : callable, optional
        ``monitor(G) -> dict`` of numbers recorded every ``record_every`` iterations.
    seed : int or torch.Generator or None
    device : torch.device or str, optional
        Where to train (CPU by default); ``G`` (and a module ``D``) are moved there. Batches and
        latents are drawn on the CPU, so a run is the same on every device up to rounding.

    Returns
    -------
    MonoFlowRun
        Raises :class:`~gantools.errors.DivergenceError` on NaN/inf.
    """
    check_name(loss, GEN_LOSSES, "generator loss")
    check_name(optimizer, OPTIMIZERS, "optimizer")
    get_h(h)
    for v, n in ((iters, "iters"), (d_steps, "d_steps"), (g_steps, "g_steps"), (batch, "batch"),
                 (z_dim, "z_dim"), (record_every, "record_every")):
        check_int(v, n)
    check_positive(eps, "eps")
    dev = torch.device("cpu") if device is None else torch.device(device)
    G.to(dev)
    if not exact_ratio:
        D.to(dev)
    gen = make_generator(seed)
    opt_g = make_optimizer(G.parameters(), optimizer, lr_g, betas)
    opt_d = None if exact_ratio else make_optimizer(D.parameters(), "adam", lr_d, betas)
    history: dict[str, list] = {"step": []}
    G_t = copy.deepcopy(G).requires_grad_(False) if loss == "distill" else None  # theta_t

    def record(it: int) -> None:
        history["step"].append(it)
        if monitor is not None:
            for k, v in monitor(G).items():
                history.setdefault(k, []).append(v)

    def sample_fake() -> torch.Tensor:  # D's step needs no graph through G
        with torch.no_grad():
            return G(torch.randn(batch, z_dim, generator=gen).to(dev))

    for it in range(iters):
        if it % record_every == 0:
            record(it)
        if exact_ratio:
            disc = D(G)
        else:
            train_discriminator(D, opt_d, lambda: sample_real(batch, gen).to(dev), sample_fake,
                                steps=d_steps, where=f" at step {it}")
            disc = D
        if G_t is not None:
            # theta_t and D stay fixed through the generator steps, so every step's targets come
            # from one pass over all of their latents (drawn in the same order as step by step)
            _freeze_into(G_t, G)
            zs = [torch.randn(batch, z_dim, generator=gen).to(dev) for _ in range(g_steps)]
            targets = particle_step(G_t(torch.cat(zs)), disc, eps, h=h).split(batch)
        for k in range(g_steps):
            if loss == "h":
                lg = generator_loss(disc(G(torch.randn(batch, z_dim, generator=gen).to(dev))), h)
            else:
                lg = distill_loss(G, zs[k], targets[k])
            descend(opt_g, lg)
        if not torch.isfinite(lg.detach()):
            raise DivergenceError(f"train_monoflow: generator loss is {float(lg.detach())} at step {it}")
        if not all(torch.isfinite(p).all() for p in G.parameters()):
            raise DivergenceError(f"train_monoflow: generator parameters became NaN/inf at step {it}")
    record(iters)
    return MonoFlowRun(G=G, D=None if exact_ratio else D, history=history)


@dataclass
class StackedMonoFlowRun:
    """What :func:`train_monoflow_stacked` returns.

    Attributes
    ----------
    G, D : gantools.ensemble.EnsembleMLP
        The trained stacked generators and discriminators (``M`` members).
    loss : list of str
        Member -> generator objective (``"h"`` or ``"distill"``).
    history : dict[str, list]
        ``step`` and, per recorded step, what ``monitor`` returns (one value per member).
    """

    G: nn.Module
    D: nn.Module
    loss: list[str]
    history: dict[str, list] = field(default_factory=dict)


def _member_settings(M: int, loss, streams, g_steps) -> tuple[list[str], list[int], list[int]]:
    """Validate the per-member arguments of :func:`train_monoflow_stacked`."""
    losses = [loss] * M if isinstance(loss, str) else list(loss)
    if len(losses) != M:
        raise ValueError(f"loss must be one name or one per member ({M}), got {len(losses)}")
    for name in losses:
        check_name(name, GEN_LOSSES, "generator loss")
    streams = list(range(M)) if streams is None else [int(s) for s in streams]
    if len(streams) != M:
        raise ValueError(f"streams must hold one entry per member ({M}), got {len(streams)}")
    ks = [g_steps] * M if isinstance(g_steps, int) else [int(k) for k in g_steps]
    if len(ks) != M:
        raise ValueError(f"g_steps must be one number or one per member ({M}), got {len(ks)}")
    for k in ks:
        check_int(k, "g_steps")
    return losses, streams, ks


def _active_randn(rng: MemberStreams, on: list[bool], *shape: int) -> torch.Tensor:
    """Normal draws ``(M, *shape)`` from the streams of the active members only (zeros for the
    others, whose streams are not advanced)."""
    return torch.stack([torch.randn(*shape, generator=g) if a else torch.zeros(shape)
                        for g, a in zip(rng.generators, on)]).to(rng.device)


def _stacked_generator_step(G: nn.Module, G_t: nn.Module | None, D: nn.Module, z: torch.Tensor, hf,
                            is_distill: torch.Tensor, eps: float) -> torch.Tensor:
    """Every member's generator loss at latents ``z``, shape ``(M,)``."""
    out = G(z)
    per = -hf(D(out)[..., 0]).mean(1) * (1 - is_distill)
    if G_t is not None:
        x_t = G_t(z).requires_grad_(True)
        with torch.enable_grad():
            (v,) = torch.autograd.grad(hf(D(x_t)[..., 0]).sum(), x_t)
        y = (x_t + eps * v).detach()
        per = per + (out - y).pow(2).sum(-1).mean(1) * is_distill
    return per


def train_monoflow_stacked(G: nn.Module, D: nn.Module,
                           sample_real: Callable[[int, torch.Generator], torch.Tensor], *,
                           z_dim: int, iters: int, loss, streams=None, h: str = "identity",
                           eps: float = 0.1, g_steps: int = 1, batch: int = 256, lr_d: float = 1e-3,
                           lr_g: float = 1e-3, betas: tuple[float, float] = (0.5, 0.999),
                           record_every: int = 10, monitor: Callable[[nn.Module], dict] | None = None,
                           device: torch.device | str | None = None) -> StackedMonoFlowRun:
    r""":func:`train_monoflow` for ``M`` independent runs side by side, each with its own objective.

    ``G`` and ``D`` are :class:`gantools.ensemble.EnsembleMLP` networks of ``M`` members.
    Each iteration: one logistic-loss Adam step for every discriminator, then ``g_steps[m]``
    generator steps on fresh latents for member :math:`m` (members with fewer steps sit out the
    remaining sub-steps: their parameters, Adam moments and random streams do not change), member
    :math:`m` minimising

    .. math:: \mathcal L_m(\theta) =
              \begin{cases} -\frac1n\sum_i h(D_m(G_{\theta,m}(z_i))) & \text{loss}_m = \text{"h"},\\
              \frac1n\sum_i \lVert G_{\theta,m}(z_i) - \mathrm{sg}(y_i)\rVert^2,\;
              y_i = G_{\theta_t,m}(z_i) + \varepsilon\nabla_x h(D_m(G_{\theta_t,m}(z_i))) & \text{loss}_m = \text{"distill"}.
              \end{cases}

    Both players step with :class:`gantools.ensemble.MemberOptimizer` (Adam, one state per
    member), and member :math:`m` draws its real batches and latents from its own stream
    (:class:`gantools.ensemble.MemberStreams`) seeded with ``streams[m]``, in the order
    :func:`train_monoflow` draws them: a member is the run :func:`train_monoflow` makes with
    ``seed=streams[m]`` from the same networks (the tests check this). Members with the same
    ``streams`` entry see the same real batches and latents, so two objectives can be compared
    on identical data.

    Parameters
    ----------
    G : EnsembleMLP
        ``(M, n, z_dim) -> (M, n, d)``.
    D : EnsembleMLP
        ``(M, n, d) -> (M, n, 1)`` logits.
    sample_real : callable
        ``sample_real(k, generator) -> (k, d)``.
    z_dim, iters : int
    loss : str or sequence of str
        ``"h"`` or ``"distill"`` (:data:`GEN_LOSSES`), one for all members or one per member.
    streams : sequence of int, optional
        Member -> seed of its random stream (default ``0..M-1``).
    h : str
    eps : float
        Euler step of the distillation targets.
    g_steps : int or sequence of int
        Generator steps per iteration, one for all members or one per member.
    batch : int
    lr_d, lr_g : float
    betas : tuple of float
        Adam's betas, both players.
    record_every : int
    monitor : callable, optional
        ``monitor(G) -> dict`` of length-``M`` sequences, called without gradient.
    device : torch.device or str, optional
        Where to train (CPU by default); the networks are moved there.

    Returns
    -------
    StackedMonoFlowRun
        Raises :class:`~gantools.errors.DivergenceError` naming the member and step on NaN/inf.
    """
    M = G.n_members
    if D.n_members != M:
        raise ValueError(f"G has {M} members, D has {D.n_members}")
    losses, streams, ks = _member_settings(M, loss, streams, g_steps)
    hf = get_h(h)
    for v, n in ((iters, "iters"), (batch, "batch"), (z_dim, "z_dim"), (record_every, "record_every")):
        check_int(v, n)
    eps = check_positive(eps, "eps")
    dev = torch.device("cpu") if device is None else torch.device(device)
    G.to(dev)
    D.to(dev)
    rng = MemberStreams(streams, device=dev)
    is_distill = torch.tensor([n == "distill" for n in losses], dtype=torch.float32, device=dev)
    g_params = [p for p in G.parameters() if p.requires_grad]
    d_params = [p for p in D.parameters() if p.requires_grad]
    opt_g = MemberOptimizer(g_params, kind="adam", lr=check_positive(lr_g, "lr_g"), betas=betas)
    opt_d = MemberOptimizer(d_params, kind="adam", lr=check_positive(lr_d, "lr_d"), betas=betas)
    history: dict[str, list] = {"step": []}

    def record(it: int) -> None:
        history["step"].append(it)
        if monitor is not None:
            with torch.no_grad():
                for k, v in monitor(G).items():
                    history.setdefault(k, []).append(v)

    for it in range(iters):
        if it % record_every == 0:
            record(it)
        x_real = rng.sample(sample_real, batch)
        with torch.no_grad():
            fake = G(rng.randn(batch, z_dim))
        ld = (torch.nn.functional.softplus(-D(x_real)).mean((1, 2))
              + torch.nn.functional.softplus(D(fake)).mean((1, 2)))
        opt_d.step(torch.autograd.grad(ld.sum(), d_params))
        G_t = copy.deepcopy(G).requires_grad_(False) if bool(is_distill.any()) else None
        for sub in range(max(ks)):
            on = [k > sub for k in ks]
            per = _stacked_generator_step(G, G_t, D, _active_randn(rng, on, batch, z_dim), hf, is_distill, eps)
            opt_g.step(torch.autograd.grad(per.sum(), g_params), active=torch.tensor(on, device=dev))
        bad = ~(torch.isfinite(ld) & torch.isfinite(per))
        if bad.any():
            raise DivergenceError(f"train_monoflow_stacked: member {int(bad.nonzero()[0])} diverged at step {it}")
    record(iters)
    return StackedMonoFlowRun(G=G, D=D, loss=losses, history=history)
