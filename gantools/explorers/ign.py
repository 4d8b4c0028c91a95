r"""Part IV explorer: a 2-D IGN's weights, the clamp and repeated application, and its trainer.

The model is IGN's objective (:func:`gantools.ign.ign_loss`) on a small MLP
:math:`f_\theta:\mathbb R^2\to\mathbb R^2` (:class:`gantools.ensemble.EnsembleMLP`, :data:`HIDDEN` units,
:data:`DEPTH` hidden layers), trained with Adam (:math:`10^{-3}`, betas (0.5, 0.999)) on a toy data
set, one batch of data :math:`x` and of noise :math:`z\sim\mathcal N(0,I)` per step.
Several settings and seeds train **side by side** as members of one ensemble by
:func:`gantools.ign.train_ign_ensemble` (one batched matmul per layer, per-member Adam and
per-member random streams): each member gets exactly the gradient of its own
:func:`gantools.ign.ign_loss`, and member :math:`m` with seed :math:`s` is the same network
whichever ensemble it trains in (the tests check both).

:func:`explorer` is the interactive figure; :func:`train` and :func:`run` train networks,
:func:`orbit` applies them repeatedly, and :func:`figure` (or :func:`draw_axes` on axes of
one's own) with :func:`plot_orbit` draws them statically.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure

from .. import data, ensemble, ign, metrics
from .._validate import check_int, check_name, check_positive
from ..errors import DivergenceError
from ..plot import COLORS
from .live import Explorer, live_figure, new_figure, superscript

__all__ = ["HIDDEN", "DEPTH", "STEPS", "BATCH", "N_POINTS", "LIM", "MAX_APPLY", "Setting", "IGNRuns",
           "train", "run", "orbit", "draw_axes", "figure", "update", "plot_orbit",
           "explorer"]

HIDDEN = 64
"""Hidden units per layer of :math:`f`."""
DEPTH = 3
"""Hidden layers of :math:`f`."""
STEPS = 300
"""Adam steps per run (the explorer's and the book's)."""
BATCH = 128
"""Data and noise samples per step."""
N_POINTS = 1000
"""Noise samples drawn through :math:`f` in the figure."""


@dataclass(frozen=True)
class Setting:
    """One member's hyper-parameters.

    Attributes
    ----------
    lam_rec, lam_idem, lam_tight : float
        Non-negative weights of the three terms.
    clamp : float or None
        The tanh clamp's factor :math:`a > 0`, or ``None``.
    seed : int
        Seeds the member's initialisation and its data and noise.

    Raises
    ------
    ValueError
        If a weight is negative or not finite, or ``clamp`` is not finite and > 0.
    TypeError
        If a weight or ``clamp`` is not a real number, or ``seed`` not an int.
    """

    lam_rec: float = 1.0
    lam_idem: float = 1.0
    lam_tight: float = 0.1
    clamp: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("lam_rec", "lam_idem", "lam_tight"):
            object.__setattr__(self, name, check_positive(getattr(self, name), name, allow_zero=True))
        if self.clamp is not None:
            object.__setattr__(self, "clamp", check_positive(self.clamp, "clamp"))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"seed must be an int, got {self.seed!r}")


@dataclass(frozen=True)
class IGNRuns:
    """Networks trained side by side by :func:`train`.

    Attributes
    ----------
    f : gantools.ensemble.EnsembleMLP
        The trained ensemble; ``f.member(m)`` is member ``m`` as a standalone network.
    settings : tuple of Setting
        Each member's setting.
    dataset : str
        The data set.
    """

    f: ensemble.EnsembleMLP
    settings: tuple[Setting, ...]
    dataset: str

    def member(self, m: int) -> torch.nn.Module:
        """Member ``m`` as a standalone :func:`gantools.nets.mlp`.

        Parameters
        ----------
        m : int
            Index into :attr:`settings`, ``0 <= m < len(settings)``.

        Returns
        -------
        torch.nn.Module
            A detached copy of the member's weights, mapping ``(n, 2) -> (n, 2)``.

        Raises
        ------
        ValueError
            If ``m`` is out of range.
        """
        return self.f.member(m)


def train(settings: Sequence[Setting], *, dataset: str = "8gaussians", steps: int = STEPS) -> IGNRuns:
    """Train one 2-D IGN per setting, side by side (one batched computation).

    Parameters
    ----------
    settings : sequence of Setting
        One per member.
    dataset : str
        One of :data:`gantools.data.TOY_DATASETS`.
    steps : int
        Adam steps.

    Returns
    -------
    IGNRuns
        The trained members.

    Raises
    ------
    ValueError
        If ``settings`` is empty or holds something else than :class:`Setting`, ``dataset`` is
        unknown (the message lists the valid names) or ``steps`` < 1.
    TypeError
        If ``steps`` is not an int.
    gantools.errors.DivergenceError
        If a member's loss becomes NaN or infinite (checked at every step).
    """
    settings = tuple(settings)
    if not settings or not all(isinstance(s, Setting) for s in settings):
        raise ValueError("settings must be a non-empty sequence of Setting")
    check_name(dataset, data.TOY_DATASETS, "toy dataset")
    check_int(steps, "steps")
    f = ensemble.EnsembleMLP(len(settings), 2, 2, hidden=HIDDEN, depth=DEPTH, seeds=[s.seed for s in settings])
    try:
        ign.train_ign_ensemble(f, lambda n, g: data.sample(dataset, n, seed=g), steps=steps, batch=BATCH, lr=1e-3,
                               betas=(0.5, 0.999), lam_rec=[s.lam_rec for s in settings],
                               lam_idem=[s.lam_idem for s in settings], lam_tight=[s.lam_tight for s in settings],
                               clamp=[s.clamp for s in settings], seeds=[1000 + s.seed for s in settings],
                               log_every=steps, eval_batch=BATCH)
    except DivergenceError as err:
        raise DivergenceError(f"IGN explorer: {err}") from err
    return IGNRuns(f, settings, dataset)


def run(*, lam_rec: float = 1.0, lam_idem: float = 1.0, lam_tight: float = 0.1, clamp: float | None = None,
        seed: int = 0, dataset: str = "8gaussians") -> torch.nn.Module:
    """One trained network for one setting (cached: the last 32 settings).

    Parameters
    ----------
    lam_rec, lam_idem, lam_tight : float
        Non-negative weights of the three terms, as in :class:`Setting`.
    clamp : float or None
        The tanh clamp's factor :math:`a > 0`, or ``None``.
    seed : int
        Seeds the initialisation and the data and noise.
    dataset : str
        One of :data:`gantools.data.TOY_DATASETS`.

    Returns
    -------
    torch.nn.Module
        The trained :math:`f`, ``(n, 2) -> (n, 2)`` (equal to the member with this setting of
        any :func:`train`).

    Raises
    ------
    ValueError
        For a weight or clamp :class:`Setting` rejects, or an unknown ``dataset``.
    TypeError
        If a weight or ``clamp`` is not a real number, or ``seed`` not an int.
    gantools.errors.DivergenceError
        If the loss becomes NaN or infinite.
    """
    s = Setting(lam_rec, lam_idem, lam_tight, clamp, seed)
    check_name(dataset, data.TOY_DATASETS, "toy dataset")
    return _run_cached(s, dataset)


@lru_cache(maxsize=32)
def _run_cached(s: Setting, dataset: str) -> torch.nn.Module:
    return train([s], dataset=dataset).member(0)


def orbit(f: torch.nn.Module, n_apply: int, *, n_points: int = N_POINTS, seed: int = 123) -> list[torch.Tensor]:
    r"""The orbit :math:`[z, f(z), \dots, f^n(z)]` of a fixed noise batch (no gradient).

    Parameters
    ----------
    f : torch.nn.Module
        A network ``(n, 2) -> (n, 2)``.
    n_apply : int
        Number of applications :math:`n \ge 1`.
    n_points : int
        Noise samples.
    seed : int
        Seed of the noise.

    Returns
    -------
    list of torch.Tensor, each of shape (n_points, 2)
        ``n_apply + 1`` point sets.

    Raises
    ------
    ValueError
        If ``n_apply`` < 1.
    TypeError
        If ``n_apply`` is not an int.
    """
    check_int(n_apply, "n_apply")
    out = [torch.randn(n_points, 2, generator=torch.Generator().manual_seed(seed))]
    with torch.no_grad():
        for _ in range(n_apply):
            out.append(f(out[-1]))
    return out


# --------------------------------------------------------------------------- the figure
#: Half-width of the square the panels show.
LIM = 2.2


def draw_axes(ax: Any, dataset: str = "8gaussians") -> None:
    """Data and an empty sample scatter on ``ax``, filled by :func:`plot_orbit` (a static panel).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes; drawn on in place (the square :math:`[-L, L]^2`, :math:`L` = :data:`LIM`).
    dataset : str
        One of :data:`gantools.data.TOY_DATASETS`; :data:`N_POINTS` of its samples are drawn.

    Returns
    -------
    None
    """
    real = data.sample(dataset, N_POINTS, seed=5).numpy()
    ax.scatter(real[:, 0], real[:, 1], s=2, color=COLORS["real"], alpha=0.5, linewidths=0, label="data")
    ax.scatter(np.zeros(0), np.zeros(0), s=2, color=COLORS["fake"], alpha=0.6, linewidths=0, label="samples")
    ax.set_xlim(-LIM, LIM)
    ax.set_ylim(-LIM, LIM)
    ax.set_aspect("equal")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(" ", fontsize=8)


def plot_orbit(ax: Any, points: torch.Tensor, k: int, label: str = "",
               dataset: str = "8gaussians") -> metrics.ModeStats | None:
    r"""Show :math:`f^k(z)` on axes from :func:`draw_axes`; title: modes captured, high-quality fraction.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes prepared by :func:`draw_axes`.
    points : torch.Tensor, shape (n, 2)
        :math:`f^k(z)`.
    k : int
        The number of applications (for the labels).
    label : str
        Prefix of the title.
    dataset : str
        The data set (mode statistics for the Gaussian mixtures).

    Returns
    -------
    gantools.metrics.ModeStats or None
        :func:`gantools.metrics.mode_stats` of the points (``None`` for data without modes).
    """
    ax.collections[1].set_offsets(points.numpy())
    st = None
    if dataset in ("8gaussians", "25gaussians"):
        st = metrics.mode_stats(points, data.mode_centers(dataset), data.mode_sigma(dataset))
        ax.set_title(f"{label}f{superscript(k)}(z): {st.modes_captured}/{st.n_modes} modes, "
                     f"hq {st.high_quality_fraction:.2f}", fontsize=8)
    else:
        ax.set_title(f"{label}f{superscript(k)}(z)", fontsize=8)
    return st


#: Most applications of :math:`f` the explorer's slider offers.
MAX_APPLY = 5


def figure() -> Figure:
    """The explorer's figure: :math:`f(z)` and :math:`f^n(z)` over the data.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes prepared by :func:`draw_axes`.
    """
    fig = new_figure(7.6, 3.9)
    for left in (0.08, 0.57):
        ax = fig.add_axes((left, 0.12, 0.4, 0.76))
        draw_axes(ax)
    fig.axes[0].legend(fontsize=7, loc="upper right", markerscale=3)
    return fig


def update(fig: Figure, *, lam_rec: float, lam_idem: float, lam_tight: float, use_clamp: bool,
           a: float, n_apply: int) -> None:
    """Train (or fetch) the model for the explorer's control values and draw :math:`f` and :math:`f^n`.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Made by :func:`figure`; redrawn in place.
    lam_rec, lam_idem, lam_tight : float
        As in :func:`run`.
    use_clamp : bool
        Whether the tanh clamp is on.
    a : float
        The clamp's factor (used only if ``use_clamp``).
    n_apply : int
        :math:`n`, the applications shown in the second panel.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        For settings :func:`run` or :func:`orbit` rejects (the explorer shows the message and
        keeps its figure).
    gantools.errors.DivergenceError
        If the training diverges (shown likewise).
    """
    f = run(lam_rec=lam_rec, lam_idem=lam_idem, lam_tight=lam_tight, clamp=a if use_clamp else None)
    pts = orbit(f, n_apply)
    plot_orbit(fig.axes[0], pts[1], 1)
    plot_orbit(fig.axes[1], pts[n_apply], n_apply)


def explorer() -> Explorer:
    """Interactive 2-D IGN: the three weights, the tanh clamp, the number of applications of f.

    Returns
    -------
    Explorer
        The ipywidgets container; a weight change trains a new network (about a second; settings
        seen before are cached), a change of "applications" only redraws.
    """
    kw: dict[str, Any] = dict(continuous_update=False, style={"description_width": "80px"})
    ctl = {
        "lam_rec": W.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.25, description="λ_rec", **kw),
        "lam_idem": W.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.25, description="λ_idem", **kw),
        "lam_tight": W.FloatSlider(value=0.1, min=0.0, max=2.0, step=0.05, description="λ_tight", **kw),
        "use_clamp": W.Checkbox(value=False, description="tanh clamp"),
        "a": W.FloatSlider(value=1.5, min=0.25, max=5.0, step=0.25, description="clamp a", **kw),
        "n_apply": W.IntSlider(value=3, min=1, max=MAX_APPLY, description="applications", **kw),
    }

    def grey_out(box: Explorer, name: str) -> None:
        box.controls["a"].disabled = not box.controls["use_clamp"].value

    fig = figure()
    for ax in fig.axes:  # only the samples and the titles change (the limits stay): blit them
        for artist in (ax.collections[1], ax.title, *([ax.get_legend()] if ax.get_legend() else [])):
            artist.set_animated(True)  # the legend too, so that it stays over the samples
    return live_figure(ctl, fig, update, rows=[["lam_rec", "lam_idem", "lam_tight"],
                                               ["use_clamp", "a", "n_apply"]],
                       on_change=grey_out, demo_move=("lam_tight", 0.3))
