r"""Part II explorer: Langevin and MALA on a 2-D energy, and the run it makes.

The target is a normalised ring of eight Gaussians (radius 1.5, :math:`\sigma=0.2`),
:math:`U(x)=-\log\frac18\sum_k\mathcal N(x;c_k,\sigma^2 I)`, sampled at a temperature :math:`T`,
i.e. the law :math:`\propto e^{-U/T}`. Chains start from :math:`\mathcal N(0,I)` and take ``n_steps``
steps of unadjusted Langevin (:func:`gantools.mcmc.langevin`),

.. math::

    z \leftarrow z - \tfrac{\varepsilon}{2}\nabla U(z)/T + \sqrt{\varepsilon}\,\xi,

or of MALA (:func:`gantools.mcmc.mala`, the same proposal with a Metropolis test). The figure
compares their final states with exact samples of the grid-discretised target
(:func:`gantools.energy.grid_sample`) by the squared MMD (:func:`gantools.metrics.mmd`).

:func:`explorer` is the interactive figure; :func:`figure` (or :func:`draw_axes` on axes of
one's own) and :func:`plot_run` draw the same figure statically.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure

from .. import mcmc
from .._validate import check_int, check_positive
from ..plot import VARIANT_COLORS
from .live import Explorer, live_figure, new_figure

__all__ = ["LIM", "N_PATHS", "CENTRES", "SIGMA", "SamplerRun", "ring_energy", "ring_energy_and_grad", "run", "figure",
           "draw_axes", "update", "plot_run", "explorer"]

#: Half-width of the square the target is drawn (and grid-sampled) on.
LIM = 2.5
#: Chains whose paths the figure draws.
N_PATHS = 5


CENTRES = torch.tensor([[1.5 * math.cos(k * math.pi / 4), 1.5 * math.sin(k * math.pi / 4)] for k in range(8)])
"""The ring's eight centres :math:`c_k`, shape (8, 2)."""
SIGMA = 0.2
"""Standard deviation :math:`\\sigma` of each ring component."""


_C_OVER_VAR = (CENTRES.double() / SIGMA**2).T.contiguous()                  # c_k / sigma^2, shape (2, 8)
_HALF_C2 = (CENTRES.double() * CENTRES.double()).sum(1) / (2 * SIGMA**2)     # |c_k|^2 / (2 sigma^2), (8,)
_LOG_NORM = math.log(8) + math.log(2 * math.pi * SIGMA**2)


def ring_energy_and_grad(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r""":math:`U(x)` and :math:`\nabla U(x)` of :func:`ring_energy` in closed form, without autograd.

    With logits :math:`\ell_k = -\lVert x-c_k\rVert^2/(2\sigma^2)` (expanded as
    :math:`x\cdot c_k/\sigma^2 - \lVert c_k\rVert^2/(2\sigma^2) - \lVert x\rVert^2/(2\sigma^2)`: one
    matrix product), :math:`U = \log 8 + \log 2\pi\sigma^2 - \operatorname{logsumexp}_k \ell_k` and
    :math:`\nabla U = x/\sigma^2 - \sum_k w_k c_k/\sigma^2` with :math:`w = \operatorname{softmax}(\ell)`.
    :func:`gantools.mcmc.langevin` and :func:`gantools.mcmc.mala` call it through
    ``ring_energy.value_and_grad``.

    Parameters
    ----------
    x : torch.Tensor, shape (n, 2)

    Returns
    -------
    tuple of torch.Tensor
        :math:`U(x)`, shape ``(n,)``, and :math:`\nabla U(x)`, shape ``(n, 2)`` (detached).
    """
    x = x.detach()
    cs, c2 = _C_OVER_VAR.to(x.dtype), _HALF_C2.to(x.dtype)
    logits = torch.addmm(-c2, x, cs).sub_((x * x).sum(1, keepdim=True).mul_(1 / (2 * SIGMA**2)))
    top = logits.amax(1, keepdim=True)
    e = logits.sub_(top).exp_()
    total = e.sum(1, keepdim=True)
    u = _LOG_NORM - (top + total.log()).squeeze(1)
    grad = torch.addmm(x / SIGMA**2, e.div_(total), cs.T, alpha=-1)   # x/sigma^2 - sum_k w_k c_k/sigma^2
    return u, grad


class _RingEnergy(torch.autograd.Function):
    """:math:`U` with its gradient in closed form (one autograd node instead of a graph)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        u, grad = ring_energy_and_grad(x)
        ctx.save_for_backward(grad)
        return u

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> torch.Tensor:
        (grad_u,) = ctx.saved_tensors
        return grad_out[:, None] * grad_u


def ring_energy(x: torch.Tensor) -> torch.Tensor:
    r"""The explorer's target :math:`U`: a normalised ring of 8 Gaussians, gradient in closed form.

    .. math::

        U(x) = -\log\frac18\sum_k\mathcal N(x; c_k, \sigma^2 I), \qquad
        \nabla U(x) = \frac{x - \sum_k w_k(x)\,c_k}{\sigma^2}, \quad
        w_k(x) = \operatorname{softmax}_k\Big(-\frac{\lVert x-c_k\rVert^2}{2\sigma^2}\Big).

    The same function as :func:`gantools.energy.mixture_energy` on :data:`CENTRES` and
    :data:`SIGMA` (the tests check values and autograd gradients agree). It carries
    ``ring_energy.value_and_grad`` (:func:`ring_energy_and_grad`), which the samplers of
    :mod:`gantools.mcmc` call instead of autograd: a sampler step costs about a third of the
    autograd one.

    Parameters
    ----------
    x : torch.Tensor, shape (n, 2)
        Points.

    Returns
    -------
    torch.Tensor, shape (n,)
        :math:`U(x)`, differentiable (by the closed-form gradient).
    """
    return _RingEnergy.apply(x)


ring_energy.value_and_grad = ring_energy_and_grad  # type: ignore[attr-defined]  # read by gantools.mcmc


@dataclass(frozen=True)
class SamplerRun:
    """One explorer run.

    Attributes
    ----------
    samples : torch.Tensor, shape (n_chains, 2)
        Final states of the chains.
    paths : torch.Tensor, shape (n_steps + 1, N_PATHS, 2)
        The first chains' paths.
    acceptance : float or None
        MALA's acceptance rate over all chains and steps (``None`` for Langevin).
    reference : torch.Tensor, shape (n_chains, 2)
        Exact samples of the grid-discretised :math:`e^{-U/T}`.
    mmd : float
        Squared MMD between the finite final states and ``reference`` (``inf`` if fewer than two).
    step, temperature : float
        Step size :math:`\\varepsilon` and temperature :math:`T`.
    n_steps : int
        Steps per chain.
    use_mala : bool
        MALA (``True``) or unadjusted Langevin.
    """

    samples: torch.Tensor
    paths: torch.Tensor
    acceptance: float | None
    reference: torch.Tensor
    mmd: float
    step: float
    n_steps: int
    temperature: float
    use_mala: bool


@lru_cache(maxsize=16)
def _reference(temperature: float, n: int, seed: int) -> torch.Tensor:
    from ..energy import grid_sample

    return grid_sample(lambda v: ring_energy(v) / temperature, n, LIM, 128, seed=seed)


def run(*, step: float = 0.05, n_steps: int = 100, temperature: float = 1.0, use_mala: bool = True,
        n_chains: int = 300, seed: int = 0) -> SamplerRun:
    r"""Run Langevin or MALA chains on :func:`ring_energy` at a temperature (cached).

    Each chain starts at :math:`z_0\sim\mathcal N(0,I)` and takes ``n_steps`` steps of the proposal

    .. math::

        z' = z - \tfrac{\varepsilon}{2}\nabla U(z)/T + \sqrt{\varepsilon}\,\xi,
        \qquad \xi\sim\mathcal N(0,I),

    always kept (unadjusted Langevin, :func:`gantools.mcmc.langevin`) or accepted with the
    Metropolis-Hastings probability of :func:`gantools.mcmc.mala` (MALA), which leaves
    :math:`e^{-U/T}` exactly invariant. The score is the squared MMD
    (:func:`gantools.metrics.mmd`) between the finite final states and as many exact samples of
    the grid-discretised target (:func:`gantools.energy.grid_sample`). The last 64 settings are
    cached.

    Parameters
    ----------
    step : float
        Step size :math:`\varepsilon > 0`.
    n_steps : int
        Steps per chain (0 returns the starting points).
    temperature : float
        :math:`T > 0`; the target is :math:`e^{-U/T}`.
    use_mala : bool
        Add the Metropolis test (MALA).
    n_chains : int
        Number of chains (and of reference samples).
    seed : int
        Seeds the starting points (``seed``), the chains (``seed + 1``) and the reference (``seed + 2``).

    Returns
    -------
    SamplerRun
        Final states, a few paths, the acceptance rate and the MMD to exact samples.

    Raises
    ------
    ValueError
        If ``step`` or ``temperature`` is not finite and > 0, ``n_steps`` is not an int >= 0, or
        ``n_chains`` < 2.
    TypeError
        If ``step`` or ``temperature`` is not a real number, or ``n_chains`` not an int.
    """
    step = check_positive(step, "step")
    temperature = check_positive(temperature, "temperature")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
        raise ValueError(f"n_steps must be an int >= 0, got {n_steps!r}")
    check_int(n_chains, "n_chains", minimum=2)
    return _run_cached(step, int(n_steps), temperature, bool(use_mala), n_chains, int(seed))


@lru_cache(maxsize=64)
def _run_cached(step: float, n_steps: int, temperature: float, use_mala: bool, n_chains: int,
                seed: int) -> SamplerRun:
    from ..metrics import mmd

    energy = ring_energy
    z0 = torch.randn(n_chains, 2, generator=torch.Generator().manual_seed(seed))
    acc = None
    if use_mala:
        (x, path), acc = mcmc.mala(energy, z0, step=step, n_steps=n_steps, temperature=temperature,
                                   seed=seed + 1, return_path=True)
    else:
        x, path = mcmc.langevin(energy, z0, step=step, n_steps=n_steps, temperature=temperature,
                                seed=seed + 1, return_path=True)
    ref = _reference(temperature, n_chains, seed + 2)
    finite = torch.isfinite(x).all(1) & (x.abs() < 1e3).all(1)
    score = mmd(x[finite], ref) if int(finite.sum()) > 1 else float("inf")
    return SamplerRun(x, path[:, :N_PATHS].clone(), acc, ref, score, step, n_steps, temperature, use_mala)


# --------------------------------------------------------------------------- the figure
def figure(width: float = 4.6) -> Figure:
    """The explorer's figure: the energy :math:`U` (dark = low), the chains' final states, a few paths.

    Parameters
    ----------
    width : float
        Side of the (square) figure in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with the energy drawn and empty artists, filled by :func:`plot_run`.
    """
    fig = new_figure(width, width)
    ax = fig.add_axes((0.14, 0.11, 0.8, 0.76))
    draw_axes(ax)
    return fig


def draw_axes(ax: Any) -> None:
    """The energy :math:`U` as an image and empty artists for :func:`plot_run` (a static panel).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes; drawn on in place (the square :math:`[-L, L]^2`, :math:`L` = :data:`LIM`).

    Returns
    -------
    None
    """
    g = np.linspace(-LIM, LIM, 100)
    xx, yy = np.meshgrid(g, g)
    with torch.no_grad():
        u = ring_energy(torch.as_tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32))
    u = u.reshape(100, 100).numpy()
    ax.imshow(np.minimum(u, np.quantile(u, 0.9)), extent=(-LIM, LIM, -LIM, LIM), origin="lower",
              cmap="viridis", interpolation="bilinear")  # an image draws faster than contours
    ax.scatter(np.zeros(0), np.zeros(0), s=2, c="w", alpha=0.6, linewidths=0, label="final states")
    for i in range(N_PATHS):
        ax.plot([], [], lw=0.7, color=VARIANT_COLORS[i % len(VARIANT_COLORS)],
                label="chain paths" if i == 0 else None)
    ax.set_xlim(-LIM, LIM)
    ax.set_ylim(-LIM, LIM)
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    ax.set_title(" ", fontsize=8)


def plot_run(ax: Any, r: SamplerRun) -> None:
    """Draw a :class:`SamplerRun` on axes prepared by :func:`draw_axes` (in place).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes from :func:`figure` or :func:`draw_axes`.
    r : SamplerRun
        The run.

    Returns
    -------
    None
    """
    ax.collections[0].set_offsets(r.samples.numpy())
    for line, i in zip(ax.lines, range(N_PATHS)):
        p = r.paths[:, i].numpy()
        line.set_data(p[:, 0], p[:, 1])
    name = "MALA" if r.use_mala else "Langevin"
    acc = "" if r.acceptance is None else f", acceptance {r.acceptance:.2f}"
    ax.set_title(f"{name}: ε = {r.step:.3g}, K = {r.n_steps}, T = {r.temperature:.3g}\n"
                 f"MMD² to exact samples {r.mmd:.4f}{acc}", fontsize=8)


def update(fig: Figure, *, step: float, n_steps: int, temperature: float, use_mala: bool) -> None:
    """Run the model for the explorer's control values and draw it on ``fig`` (see :func:`run`).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Made by :func:`figure`; redrawn in place.
    step, n_steps, temperature, use_mala
        As in :func:`run` (with its default ``n_chains`` and ``seed``).

    Returns
    -------
    None

    Raises
    ------
    ValueError
        For settings :func:`run` rejects (the explorer shows the message and keeps its figure).
    """
    plot_run(fig.axes[0], run(step=step, n_steps=n_steps, temperature=temperature, use_mala=use_mala))


def explorer() -> Explorer:
    """Interactive Langevin / MALA on the ring: step size, number of steps, temperature, MALA on/off.

    Returns
    -------
    Explorer
        The ipywidgets container; its controls redraw the figure.
    """
    style = {"description_width": "90px"}
    kw: dict[str, Any] = dict(style=style, continuous_update=False)
    ctl = {
        "step": W.FloatLogSlider(value=0.05, base=10, min=-3, max=0.5, description="step ε", **kw),
        "n_steps": W.IntSlider(value=100, min=0, max=500, step=10, description="steps K", **kw),
        "temperature": W.FloatLogSlider(value=1.0, base=10, min=-1, max=0.5, description="temperature T", **kw),
        "use_mala": W.Checkbox(value=True, description="MALA (Metropolis test)"),
    }
    fig = figure()
    ax = fig.axes[0]
    for artist in (ax.collections[0], *ax.lines, ax.title):  # only these change: blit them
        artist.set_animated(True)
    return live_figure(ctl, fig, update, rows=[["step", "n_steps"], ["temperature", "use_mala"]],
                       demo_move=("step", 0.1))
