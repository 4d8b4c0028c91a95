"""Training a GAN: the alternating Adam loop, weight averaging of the generator, and divergence checks.

:func:`train_gan` runs the discriminator and generator steps in turn on a loss pair from
:mod:`gantools.losses`, keeps exponential moving averages of the generator's weights
(:func:`ema_model`), and stops with :class:`~gantools.errors.DivergenceError` as soon as a loss
is not finite (:func:`check_finite_value`). :func:`train_gan_stacked` is the book's one batched
GAN trainer: ``M`` non-saturating GANs side by side on the engine of :mod:`gantools.ensemble`,
each member with its own R1 and L2 weights, learning rates, seed and data stream, and the same
EMA copies; a member trained in a batch is the run :func:`train_gan` makes alone (tested).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
import time
from typing import Callable, Sequence

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from ._validate import check_int, check_name, check_positive, make_generator
from .ensemble import MemberOptimizer, MemberStreams, per_member
from .errors import DivergenceError
from .losses import GAN_LOSSES, d_loss, g_loss, penalty_at, zero_centred_penalty

__all__ = ["GANRun", "StackedGANRun", "check_finite_value", "ema_model", "train_gan", "train_gan_stacked"]


def check_finite_value(value: torch.Tensor | float, *, where: str) -> float:
    """Return ``value`` as a float, or raise a divergence error naming ``where``.

    Parameters
    ----------
    value : torch.Tensor or float
        A scalar (a loss, a norm).
    where : str
        What the value is and when it was computed, e.g. ``"generator loss at step 12"``.

    Returns
    -------
    float
        The value, if finite.

    Raises
    ------
    gantools.errors.DivergenceError
        If the value is NaN or infinite.
    """
    v = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
    if not math.isfinite(v):
        raise DivergenceError(f"training diverged: {where} is {v}")
    return v


def ema_model(model: nn.Module, decay: float) -> AveragedModel:
    r"""Exponential moving average of a model's weights.

    After each call to ``.update_parameters(model)`` the average becomes

    .. math::

        \bar w \leftarrow \beta \bar w + (1-\beta) w

    with :math:`\beta` = ``decay`` (the first call copies the weights). Built on
    :mod:`torch.optim.swa_utils`.

    Parameters
    ----------
    model : torch.nn.Module
        The model whose weights :math:`w` are averaged (a deep copy is made; ``model`` is not
        changed).
    decay : float
        :math:`\beta`, in :math:`(0, 1)`; the average spans about :math:`1/(1-\beta)` updates.

    Returns
    -------
    torch.optim.swa_utils.AveragedModel
        The averaged copy; call it like ``model`` (same input and output shapes) and update it
        with ``.update_parameters(model)``.

    Raises
    ------
    TypeError
        If ``decay`` is not a real number.
    ValueError
        If ``decay`` is not in :math:`(0, 1)`.
    """
    decay = check_positive(decay, "decay")
    if not decay < 1:
        raise ValueError(f"decay must be in (0, 1), got {decay}")
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))


@dataclass
class GANRun:
    """What :func:`train_gan` returns.

    Attributes
    ----------
    G : torch.nn.Module
        The trained generator.
    D : torch.nn.Module
        The trained discriminator.
    emas : dict[float, torch.optim.swa_utils.AveragedModel]
        One weight-EMA copy of ``G`` per decay.
    history : dict[str, list[float]]
        ``step``, ``d_loss`` and ``g_loss``, every ``log_every`` steps (and at the last step);
        three lists of equal length.
    """

    G: nn.Module
    D: nn.Module
    emas: dict[float, AveragedModel]
    history: dict[str, list[float]] = field(default_factory=dict)


def _probe_shapes(G: nn.Module, D: nn.Module, z_dim: int, device: torch.device) -> None:
    """Raise ``ValueError`` unless ``D(G(z))`` runs for ``z`` of shape ``(2, z_dim)`` (in eval mode)."""
    modes = (G.training, D.training)
    try:  # eval mode: no BatchNorm statistics change
        G.eval()
        D.eval()
        with torch.no_grad():
            D(G(torch.zeros(2, z_dim, device=device)))
    except RuntimeError as err:
        raise ValueError(f"G must take z of shape (n, z_dim={z_dim}) and D must take G's output: {err}"
                         ) from err
    finally:
        G.train(modes[0])
        D.train(modes[1])


def train_gan(
    G: nn.Module,
    D: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    *,
    z_dim: int,
    steps: int,
    loss: str = "ns",
    batch: int = 256,
    lr_d: float = 1e-3,
    lr_g: float = 1e-3,
    betas: tuple[float, float] = (0.5, 0.999),
    d_steps: int = 1,
    r1: float = 0.0,
    l2: float = 0.0,
    ema_decays: tuple[float, ...] = (),
    seed: int | torch.Generator | None = 0,
    log_every: int = 50,
    progress: bool = False,
    device: torch.device | str | None = None,
) -> GANRun:
    r"""Alternating GAN training with Adam.

    Each iteration takes ``d_steps`` discriminator steps on

    .. math::

        \mathcal L_D + r_1\,\mathbb E_p \lVert\nabla_x D(x)\rVert^2 + \tfrac{l_2}{2}\lVert\phi\rVert^2

    and then one generator step on the generator loss; after the generator step every EMA copy
    of ``G`` is updated. Latents are :math:`z \sim N(0, I)` from a generator seeded by ``seed``.

    Parameters
    ----------
    G : torch.nn.Module
        Generator, maps ``(n, z_dim)`` to samples.
    D : torch.nn.Module
        Discriminator, maps samples to ``(n, 1)`` logits.
    sample_real : callable
        ``sample_real(n, generator)`` returns ``n`` real samples.
    z_dim : int
        Latent dimension.
    steps : int
        Generator steps.
    loss : str
        A name from :data:`gantools.losses.GAN_LOSSES`.
    batch : int
        Batch size of both players.
    lr_d, lr_g : float
        Adam learning rates of D and G.
    betas : tuple of float
        Adam's betas.
    d_steps : int
        Discriminator steps per generator step.
    r1 : float
        Weight of the zero-centred gradient penalty on real data.
    l2 : float
        Weight of the L2 penalty on D's parameters.
    ema_decays : tuple of float
        Decays of the weight EMAs of G to keep.
    seed : int or torch.Generator or None
        Randomness of the data and latents.
    log_every : int
        History interval in steps.
    progress : bool
        Show a tqdm bar.
    device : torch.device or str, optional
        Where to train (default: where ``G``'s parameters are); data and latents are drawn on
        the CPU and moved there, so a run is the same on every device.

    Returns
    -------
    GANRun
        The networks, the EMA copies and the loss history.

    Raises
    ------
    gantools.errors.DivergenceError
        If a loss becomes NaN or infinite (the message names the step).
    """
    check_name(loss, GAN_LOSSES, "GAN loss")
    check_int(steps, "steps")
    check_int(batch, "batch")
    check_int(d_steps, "d_steps")
    check_int(z_dim, "z_dim")
    check_positive(r1, "r1", allow_zero=True)
    check_positive(l2, "l2", allow_zero=True)
    check_positive(lr_d, "lr_d")
    check_positive(lr_g, "lr_g")
    device = next(G.parameters()).device if device is None else torch.device(device)
    G.to(device)
    D.to(device)
    _probe_shapes(G, D, z_dim, device)
    gen = make_generator(seed)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas)
    emas = {float(b): ema_model(G, b) for b in ema_decays}
    history: dict[str, list[float]] = {"step": [], "d_loss": [], "g_loss": []}
    for step in tqdm(range(steps), disable=not progress, desc="GAN"):
        for _ in range(d_steps):
            x = sample_real(batch, gen).to(device)
            with torch.no_grad():
                fake = G(torch.randn(batch, z_dim, generator=gen).to(device))
            ld = d_loss(loss, D(x), D(fake))
            if r1 > 0:
                ld = ld + r1 * zero_centred_penalty(D, x)
            if l2 > 0:
                ld = ld + 0.5 * l2 * sum(p.pow(2).sum() for p in D.parameters())
            opt_d.zero_grad(set_to_none=True)
            ld.backward()
            opt_d.step()
        lg = g_loss(loss, D(G(torch.randn(batch, z_dim, generator=gen).to(device))))
        opt_g.zero_grad(set_to_none=True)
        lg.backward()
        opt_g.step()
        for avg in emas.values():
            avg.update_parameters(G)
        ld_v = check_finite_value(ld, where=f"discriminator loss at step {step}")
        lg_v = check_finite_value(lg, where=f"generator loss at step {step}")
        if step % log_every == 0 or step == steps - 1:
            history["step"].append(step)
            history["d_loss"].append(ld_v)
            history["g_loss"].append(lg_v)
    return GANRun(G=G, D=D, emas=emas, history=history)


@dataclass
class StackedGANRun:
    """What :func:`train_gan_stacked` returns.

    Attributes
    ----------
    G, D : EnsembleMLP or VmapEnsemble
        The trained stacked generators and critics.
    emas : dict[float, torch.optim.swa_utils.AveragedModel]
        One weight-EMA copy of ``G`` per decay (elementwise, so each member is averaged on its
        own); call it like ``G``.
    history : dict of str to list
        ``"step"`` and, per logged step, ``"d_loss"`` (with its penalties) and ``"g_loss"`` as
        lists of ``M`` floats.
    seconds : float
        Wall-clock training time.
    """

    G: nn.Module
    D: nn.Module
    emas: dict[float, AveragedModel] = field(default_factory=dict)
    history: dict[str, list] = field(default_factory=dict)
    seconds: float = 0.0


def _squared_norm_per_member(net: nn.Module) -> torch.Tensor:
    r""":math:`\lVert w_m\rVert^2` of each member's parameters (member axis first), shape ``(M,)``."""
    return sum(p.pow(2).flatten(1).sum(1) for p in net.parameters())


def _stacked_d_loss(G: nn.Module, D: nn.Module, streams: MemberStreams, batch: int, z_dim: int,
                    sample_real: Callable, loss: str, gamma: torch.Tensor, l2: torch.Tensor) -> torch.Tensor:
    """Each member's critic loss on its own batch, with R1 (``gamma``) and L2 (``l2``); shape ``(M,)``."""
    x = streams.sample(sample_real, batch)
    with torch.no_grad():
        fake = G(streams.randn(batch, z_dim))
    if gamma.any():
        x = x.detach().requires_grad_(True)
    d_real = D(x)
    ld = d_loss(loss, d_real, D(fake), members=True)
    if gamma.any():
        ld = ld + gamma * penalty_at(d_real, x, members=True)
    if l2.any():
        ld = ld + 0.5 * l2 * _squared_norm_per_member(D)
    return ld


def _stacked_setup(G: nn.Module, D: nn.Module, r1, l2, seeds, device) -> tuple:
    """Validate the per-member settings; move the networks; return ``(gamma, l2, seeds, device)``."""
    M = G.n_members
    if D.n_members != M:
        raise ValueError(f"G has {M} members, D has {D.n_members}")
    gamma, l2 = per_member(r1, M, "r1"), per_member(l2, M, "l2")
    for name, v in (("r1", gamma), ("l2", l2)):
        if not torch.isfinite(v).all() or (v < 0).any():
            raise ValueError(f"{name} must be finite and non-negative, got {v.tolist()}")
    seeds = list(range(M)) if seeds is None else [int(s) for s in seeds]
    if len(seeds) != M:
        raise ValueError(f"seeds must hold one seed per member ({M}), got {len(seeds)}")
    device = next(G.parameters()).device if device is None else torch.device(device)
    G.to(device)
    D.to(device)
    return gamma.to(device), l2.to(device), seeds, device


def train_gan_stacked(
    G: nn.Module,
    D: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    *,
    z_dim: int,
    steps: int,
    loss: str = "ns",
    batch: int = 128,
    lr_d: float | Sequence[float] = 2e-4,
    lr_g: float | Sequence[float] = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    r1: float | Sequence[float] = 0.0,
    l2: float | Sequence[float] = 0.0,
    ema_decays: Sequence[float] = (),
    seeds: Sequence[int] | None = None,
    device: torch.device | str | None = None,
    log_every: int = 100,
    callback: Callable[[int, nn.Module], None] | None = None,
) -> StackedGANRun:
    r"""Train ``M`` GANs side by side (one critic step, then one generator step).

    Member :math:`m` minimises, on its own batch,

    .. math::

       L_D^{(m)} + \gamma_m\,\mathbb E_x \lVert\nabla_x D_m(x)\rVert^2
       + \tfrac{l_{2,m}}{2}\lVert\phi_m\rVert^2 \quad\text{and}\quad L_G^{(m)},

    with :math:`(L_D, L_G)` the pair ``loss`` of :mod:`gantools.losses` (default the
    non-saturating :math:`L_D=\mathbb E_x\operatorname{softplus}(-D(x))+\mathbb E_z
    \operatorname{softplus}(D(G(z)))`, :math:`L_G=\mathbb E_z\operatorname{softplus}(-D(G(z)))`):
    the losses of :func:`gantools.train.train_gan` with ``d_steps=1``,
    ``r1`` :math:`=\gamma_m` and ``l2`` :math:`=l_{2,m}`; the sums over members are minimised by
    Adam (:class:`gantools.ensemble.MemberOptimizer`, one run per member), and after every
    generator step each EMA copy of ``G`` is updated.

    Parameters
    ----------
    G : EnsembleMLP or VmapEnsemble
        ``M`` generators, ``(M, n, z_dim) -> (M, n, ...)``.
    D : EnsembleMLP or VmapEnsemble
        ``M`` critics, ``(M, n, ...) -> (M, n, 1)`` (logits).
    sample_real : callable
        ``sample_real(n, generator)`` returns ``n`` real points, shape ``(n, ...)``; each member
        gets its own ``batch`` of them per step.
    z_dim, steps : int
        Latent dimension, training steps.
    loss : str
        A name from :data:`gantools.losses.GAN_LOSSES`.
    batch : int
        Batch per member.
    lr_d, lr_g : float or sequence of float
        Adam learning rates, one for all or one per member.
    betas : tuple of float
        Adam's betas.
    r1 : float or sequence of float
        R1 weight :math:`\gamma`, one for all or one per member.
    l2 : float or sequence of float
        Weight :math:`l_2` of the L2 penalty on the critic's parameters, one for all or one per
        member.
    ema_decays : sequence of float
        Decays of the weight EMAs of ``G`` to keep (:func:`ema_model`).
    seeds : sequence of int, optional
        One seed per member for its own data and noise stream (:class:`gantools.ensemble.MemberStreams`;
        default ``0..M-1``); the initialisations are the members' own. Member ``m`` trained in a
        batch is the same run as member ``m`` trained alone with ``seeds=[seeds[m]]``.
    device : torch.device or str, optional
        Where to train (default: where ``G``'s parameters are).
    log_every : int
        Logging period; ``callback(step, G)`` is called at every logged step and at the end.
    callback : callable, optional
        Called as ``callback(step, G)`` (no gradient) for evaluations during training.

    Returns
    -------
    StackedGANRun
        The trained networks, the EMA copies and the loss history.

    Raises
    ------
    ValueError
        If ``G`` and ``D`` hold different numbers of members, or a per-member setting has the
        wrong length or a negative value.
    DivergenceError
        If a member's loss becomes NaN or infinite (the message names the member and step).
    """
    check_int(z_dim, "z_dim")
    check_int(steps, "steps")
    check_int(batch, "batch")
    check_int(log_every, "log_every")
    check_name(loss, GAN_LOSSES, "GAN loss")
    gamma, l2_m, seeds, device = _stacked_setup(G, D, r1, l2, seeds, device)
    streams = MemberStreams(seeds, device=device)
    opt_d = MemberOptimizer(D.parameters(), lr=lr_d, betas=betas)
    opt_g = MemberOptimizer(G.parameters(), lr=lr_g, betas=betas)
    for name, opt in (("lr_d", opt_d), ("lr_g", opt_g)):
        if not (opt.lr > 0).all():
            raise ValueError(f"{name} must be positive, got {opt.lr.tolist()}")
    emas = {float(b): ema_model(G, b) for b in ema_decays}
    history: dict[str, list] = {"step": [], "d_loss": [], "g_loss": []}
    t0 = time.perf_counter()
    for step in range(steps):
        ld = _stacked_d_loss(G, D, streams, batch, z_dim, sample_real, loss, gamma, l2_m)
        opt_d.zero_grad()
        ld.sum().backward()
        opt_d.step()
        lg = g_loss(loss, D(G(streams.randn(batch, z_dim))), members=True)
        opt_g.zero_grad()
        lg.sum().backward()
        opt_g.step()
        for avg in emas.values():
            avg.update_parameters(G)
        bad = ~(torch.isfinite(ld) & torch.isfinite(lg))
        if bad.any():
            raise DivergenceError(f"stacked GAN: member {int(bad.nonzero()[0])} diverged at step {step}")
        if step % log_every == 0 or step == steps - 1:
            history["step"].append(step)
            history["d_loss"].append(ld.detach().tolist())
            history["g_loss"].append(lg.detach().tolist())
            if callback is not None:
                with torch.no_grad():
                    callback(step, G)
    return StackedGANRun(G=G, D=D, emas=emas, history=history, seconds=time.perf_counter() - t0)
