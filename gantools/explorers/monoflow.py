r"""Part III explorer: MonoFlow on the Gaussian toy, and the small training run behind it.

The target is :math:`p=\mathcal N(0,\Sigma_p)`, :math:`\Sigma_p=\begin{pmatrix}1&0.8\\0.8&0.89\end{pmatrix}`;
the generator is affine, :math:`G(z)=\mu+Lz` (law :math:`\mathcal N(\mu,LL^\top)`), started at
:math:`\mu=(1,1)`, :math:`L=I`. Each iteration (:func:`run`, which gives the losses) trains the
discriminator :math:`D` (an MLP 2-64-64-1, LeakyReLU) for ``d_steps`` Adam steps on the logistic
loss, so that its logit estimates :math:`\log p/q_\theta`, then takes ``g_steps`` plain-SGD
generator steps on :math:`-h(D(G_\theta(z)))` (:func:`gantools.monoflow.generator_loss`) or on
the distillation loss towards the particles moved by one MonoFlow step
(:func:`gantools.monoflow.particle_step`).

SGD keeps :math:`\epsilon` meaningful: learning rate 0.25 on the distillation loss (a step moves the
generator half-way to the moved samples), :math:`2\epsilon\cdot0.25` on :math:`-h(D)`, so that with one
generator step per iteration the two losses take identical steps. The figure's :math:`W_2` is the
closed form between Gaussians (:func:`gantools.gaussian.gaussian_w2`).

The run is the book's one MonoFlow trainer, :func:`gantools.gaussian_toy.gaussian_toy` (which wraps
:func:`gantools.flow.train_monoflow` for the toy) at these settings; :func:`run` only converts its
history into an :class:`ExplorerRun` and caches it.

:func:`explorer` is the interactive figure; :func:`figure` (or :func:`draw_axes` on axes of
one's own) and :func:`plot_run` draw the same figure statically.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure

from .. import monoflow as mf
from .._validate import check_int, check_name, check_positive
from ..errors import DivergenceError
from ..gaussian import TOY_COV, TOY_MEAN
from ..gaussian_toy import gaussian_toy
from ..plot import COLORS
from .live import Explorer, live_figure, log_axis, new_figure

__all__ = ["LOSSES", "RECORD_EVERY", "N_ELLIPSES", "ExplorerRun",
           "run", "figure", "draw_axes", "update", "plot_run", "explorer"]

LOSSES: tuple[str, ...] = ("distill", "h")
"""Generator losses: the distillation loss, or :math:`-h(D(G(z)))`."""
#: Iterations between two records of the generator's law.
RECORD_EVERY = 10


@dataclass(frozen=True)
class ExplorerRun:
    """One explorer run: the generator's law every :data:`RECORD_EVERY` iterations.

    Attributes
    ----------
    step : numpy.ndarray, shape (R,)
        Iteration of each record.
    mean : numpy.ndarray, shape (R, 2)
        Generator mean :math:`\\mu`.
    cov : numpy.ndarray, shape (R, 2, 2)
        Generator covariance :math:`LL^\\top`.
    w2 : numpy.ndarray, shape (R,)
        :math:`W_2` to the target (:func:`gantools.gaussian.gaussian_w2`).
    mu, L : torch.Tensor, shapes (2,) and (2, 2)
        The final generator.
    """

    step: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    w2: np.ndarray
    mu: torch.Tensor
    L: torch.Tensor


def run(h: str = "identity", *, loss: str = "distill", eps: float = 0.1, d_steps: int = 1,
        g_steps: int = 1, iters: int = 300, batch: int = 256, seed: int = 0) -> ExplorerRun:
    r"""Train the toy's affine generator the MonoFlow way (cached: the last 32 settings).

    Each iteration takes ``d_steps`` Adam steps (lr :math:`2\cdot10^{-3}`, betas (0.5, 0.999)) on
    the discriminator's logistic loss, then freezes :math:`\theta_t=\theta` and takes ``g_steps``
    SGD steps on the generator loss, each on fresh batches of ``batch`` samples:

    .. math::

        \begin{aligned}
        \mathcal L_D &= \tfrac1n\textstyle\sum_i\operatorname{softplus}(-D(x_i))
          + \tfrac1n\sum_i\operatorname{softplus}(D(G_\theta(z_i))), \qquad x_i\sim p,\\
        \texttt{loss="h"}:\quad \mathcal L_G &= -\tfrac1n\textstyle\sum_i h(D(G_\theta(z_i))),\\
        \texttt{loss="distill"}:\quad \mathcal L_G &= \tfrac1n\textstyle\sum_i
          \lVert G_\theta(z_i)-\mathrm{sg}(y_i)\rVert^2,
          \qquad y_i=G_{\theta_t}(z_i)+\epsilon\,\nabla_x h(D(x))\big|_{x=G_{\theta_t}(z_i)},
        \end{aligned}

    with SGD learning rate 0.25 (``distill``) or :math:`2\epsilon\cdot0.25` (``h``). The law
    :math:`\mathcal N(\mu, LL^\top)` is recorded every :data:`RECORD_EVERY` iterations and at the end.
    This is :func:`gantools.gaussian_toy.gaussian_toy` with ``optimizer="sgd"``, ``lr_d=2e-3``,
    ``betas=(0.5, 0.999)``, ``hidden=64`` and those learning rates (the tests check the equality).

    Parameters
    ----------
    h : str
        One of :data:`gantools.monoflow.H_FUNCTIONS`.
    loss : str
        One of :data:`LOSSES`.
    eps : float
        Euler step :math:`\epsilon` of the particle flow.
    d_steps, g_steps : int
        Discriminator and generator steps per iteration.
    iters : int
        Iterations.
    batch : int
        Samples per step.
    seed : int
        Seeds the discriminator's initialisation and every sample.

    Returns
    -------
    ExplorerRun
        The generator's law along training.

    Raises
    ------
    ValueError
        If ``h`` or ``loss`` is unknown (the message lists the valid names), ``eps`` is not
        finite and > 0, or a step count or ``batch`` is < 1.
    TypeError
        If ``eps`` is not a real number or a step count or ``batch`` not an int.
    gantools.errors.DivergenceError
        If the generator or a loss becomes NaN or infinite (the trainer's message, with a hint).
    """
    check_name(h, mf.H_FUNCTIONS, "h function")
    check_name(loss, LOSSES, "generator loss")
    eps = check_positive(eps, "eps")
    for v, name in ((d_steps, "d_steps"), (g_steps, "g_steps"), (iters, "iters"), (batch, "batch")):
        check_int(v, name)
    return _run_cached(h, loss, eps, d_steps, g_steps, iters, batch, int(seed))


@lru_cache(maxsize=32)
def _run_cached(h: str, loss: str, eps: float, d_steps: int, g_steps: int, iters: int, batch: int,
                seed: int) -> ExplorerRun:
    try:
        out = gaussian_toy(h, loss=loss, iters=iters, d_steps=d_steps, g_steps=g_steps, eps=eps,
                           lr_g=0.25 if loss == "distill" else 2 * eps * 0.25, lr_d=2e-3, batch=batch,
                           hidden=64, optimizer="sgd", betas=(0.5, 0.999), record_every=RECORD_EVERY,
                           start_mean=(1.0, 1.0), seed=seed)
    except DivergenceError as e:
        raise DivergenceError(f"MonoFlow toy: {e}; lower eps") from e
    hist = out.history
    return ExplorerRun(np.asarray(hist["step"]), np.asarray(hist["mean"]), np.asarray(hist["cov"]),
                       np.asarray(hist["w2"]), out.G.mu.detach(), out.G.L.detach())


# --------------------------------------------------------------------------- the figure
_CIRCLE = 2 * np.stack([np.cos(np.linspace(0, 2 * np.pi, 80)), np.sin(np.linspace(0, 2 * np.pi, 80))], 1)
#: Generator ellipses drawn per run (evenly spaced records, first to last).
N_ELLIPSES = 6


def _ellipse(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    return mean + _CIRCLE @ np.linalg.cholesky(cov + 1e-12 * np.eye(2)).T


def figure() -> Figure:
    """The explorer's figure: the generator's 2-sd ellipses over the target's, and :math:`W_2`.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes with empty artists, filled by :func:`plot_run`.
    """
    fig = new_figure(9.0, 3.7)
    a1 = fig.add_axes((0.07, 0.14, 0.36, 0.74))
    a2 = fig.add_axes((0.55, 0.14, 0.42, 0.74))
    draw_axes(a1, a2)
    return fig


def draw_axes(a1: Any, a2: Any) -> None:
    """The target's ellipse and empty artists for :func:`plot_run` on two axes (a static panel).

    Parameters
    ----------
    a1, a2 : matplotlib.axes.Axes
        The ellipse panel and the :math:`W_2` panel; drawn on in place.

    Returns
    -------
    None
    """
    e = _ellipse(TOY_MEAN, TOY_COV)
    a1.plot(e[:, 0], e[:, 1], color=COLORS["real"], lw=2.5, alpha=0.6, label="target p (2 sd)")
    for j in range(N_ELLIPSES):
        a1.plot([], [], color=COLORS["fake"], lw=1, alpha=0.25 + 0.75 * j / (N_ELLIPSES - 1),
                label="generator q_θ (darker = later)" if j == N_ELLIPSES - 1 else None)
    a1.set_xlim(-3, 3.5)
    a1.set_ylim(-3, 3.5)
    a1.set_aspect("equal")
    a1.set_xlabel("x₁")
    a1.set_ylabel("x₂")
    a1.legend(fontsize=7, loc="lower right")
    a1.set_title(" ", fontsize=9)
    a2.plot([], [], color=COLORS["fake"])
    log_axis(a2)
    a2.set_xlabel("iteration")
    a2.set_ylabel("W₂(q_θ, p)")


def plot_run(a1: Any, a2: Any, r: ExplorerRun, title: str = "") -> None:
    """Draw a :class:`ExplorerRun` on axes prepared by :func:`draw_axes` (in place).

    Parameters
    ----------
    a1, a2 : matplotlib.axes.Axes
        The ellipse panel and the :math:`W_2` panel.
    r : ExplorerRun
        The run.
    title : str
        Title of the ellipse panel.

    Returns
    -------
    None
    """
    n = len(r.step)
    for line, k in zip(a1.lines[1:], np.linspace(0, n - 1, N_ELLIPSES).round().astype(int)):
        e = _ellipse(r.mean[k], r.cov[k])
        line.set_data(e[:, 0], e[:, 1])
    a1.set_title(title, fontsize=9)
    w2 = np.maximum(r.w2, 1e-4)
    a2.lines[0].set_data(r.step, w2)
    a2.set_xlim(0, max(int(r.step[-1]), 1))
    a2.set_ylim(float(w2.min()) / 1.5, float(w2.max()) * 1.5)


def update(fig: Figure, *, h: str, loss: str, eps: float, d_steps: int, g_steps: int, iters: int) -> None:
    """Run the model for the explorer's control values and draw it on ``fig`` (see :func:`run`).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Made by :func:`figure`; redrawn in place.
    h, loss, eps, d_steps, g_steps, iters
        As in :func:`run` (with its default ``batch`` and ``seed``).

    Returns
    -------
    None

    Raises
    ------
    ValueError
        For settings :func:`run` rejects (the explorer shows the message and keeps its figure).
    gantools.errors.DivergenceError
        If the run diverges (shown likewise).
    """
    r = run(h, loss=loss, eps=eps, d_steps=d_steps, g_steps=g_steps, iters=iters)
    plot_run(*fig.axes, r, f"h = {h}, {loss}, ε = {eps:.3g}, D/G steps {d_steps}/{g_steps}")


def explorer() -> Explorer:
    """Interactive MonoFlow toy: h, ε, discriminator and generator steps, the generator's loss.

    Returns
    -------
    Explorer
        The ipywidgets container; its controls redraw the figure (a new setting trains for
        about a second; settings seen before are cached).
    """
    style = {"description_width": "110px"}
    kw: dict[str, Any] = dict(style=style, continuous_update=False)
    ctl = {
        "h": W.Dropdown(options=list(mf.H_FUNCTIONS), value="identity", description="h", style=style),
        "loss": W.Dropdown(options=list(LOSSES), value="distill", description="generator loss", style=style),
        "eps": W.FloatLogSlider(value=0.1, base=10, min=-2, max=0, description="ε", **kw),
        "d_steps": W.IntSlider(value=1, min=1, max=5, description="D steps / iter", **kw),
        "g_steps": W.IntSlider(value=1, min=1, max=16, description="G steps / iter", **kw),
        "iters": W.IntSlider(value=300, min=50, max=600, step=50, description="iterations", **kw),
    }
    keys = list(ctl)
    fig = figure()
    a1, a2 = fig.axes
    # a move redraws the generator's ellipses, the title and the legend over them (the ellipse
    # panel's limits are fixed) and the whole W2 panel (its limits follow the run): blitting
    for artist in (*a1.lines[1:], a1.title, a1.get_legend(), a2):
        artist.set_animated(True)
    return live_figure(ctl, fig, update, rows=[keys[:3], keys[3:]], demo_move=("g_steps", 2))
