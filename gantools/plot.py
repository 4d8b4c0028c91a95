"""The book's look: one figure style, colours with a fixed meaning, and the plots several chapters share.

Call :func:`use_style` once per notebook; draw with :data:`COLORS` (real data red, samples
blue, averaged generator green) and :data:`VARIANT_COLORS` (one colour per compared variant).
Every helper draws on an ``Axes`` it is given and returns it (or the artist it made), so that a
notebook keeps control of the figure.
"""
from __future__ import annotations

from typing import Callable, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

__all__ = ["COLORS", "VARIANT_COLORS", "use_style", "scatter_real_fake", "plot_paths",
           "animate_paths", "contour_2d", "image_grid", "OfflineFuncAnimation", "NotebookFigure"]

COLORS: dict[str, str] = {
    "real": "#d62728",      # real data / equilibrium
    "fake": "#1f77b4",      # generator samples
    "ema": "#2ca02c",       # averaged generator
    "accent": "#ff7f0e",
    "grey": "#7f7f7f",
}
"""Colours with a fixed meaning across the book."""

VARIANT_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
"""Colours of compared variants (methods, step sizes), used in order and cycled by :func:`plot_paths`."""


def use_style() -> None:
    """Apply the book's matplotlib style (call once per notebook).

    Updates :data:`matplotlib.rcParams` in place: 90 dpi, a 6 x 4 inch default figure, a light
    grid, no top or right spine, font size 10, frameless legends, and a 30 MB limit for embedded
    animations. In a Jupyter kernel whose matplotlib backend is a non-interactive one (``Agg``,
    e.g. from an inherited ``MPLBACKEND=Agg``), it switches to the inline backend, so that
    ``plt.show()`` puts the figure into the cell's output (and the book).

    Returns
    -------
    None
    """
    import sys

    if "ipykernel" in sys.modules and matplotlib.get_backend().lower() == "agg":
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.run_line_magic("matplotlib", "inline")
    matplotlib.rcParams.update({
        "figure.dpi": 90,
        "savefig.dpi": 90,
        "figure.figsize": (6.0, 4.0),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 10,
        "legend.frameon": False,
        "animation.embed_limit": 30.0,
    })


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def scatter_real_fake(ax: plt.Axes, real=None, fake=None, *, s: float = 3.0,
                      labels: tuple[str, str] = ("data $x\\sim p$", "samples $G(z)$")) -> plt.Axes:
    """Scatter real points (red) and generated points (blue) on one square axis.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    real : torch.Tensor or array-like, shape (n, 2), optional
        Data points, drawn in ``COLORS["real"]``; ``None`` skips them.
    fake : torch.Tensor or array-like, shape (m, 2), optional
        Generated points, drawn in ``COLORS["fake"]``; ``None`` skips them.
    s : float
        Marker area.
    labels : tuple of str
        Legend labels of the real and generated points.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, with equal aspect.
    """
    if real is not None:
        r = _np(real)
        ax.scatter(r[:, 0], r[:, 1], s=s, c=COLORS["real"], alpha=0.5, label=labels[0], linewidths=0)
    if fake is not None:
        f = _np(fake)
        ax.scatter(f[:, 0], f[:, 1], s=s, c=COLORS["fake"], alpha=0.5, label=labels[1], linewidths=0)
    ax.set_aspect("equal")
    return ax


def plot_paths(ax: plt.Axes, paths: Sequence, labels: Sequence[str] | None = None, *,
               mark_origin: bool = True, lw: float = 1.2) -> plt.Axes:
    """Draw 2-D paths, each an array of shape ``(T, 2)``, with start dots and the origin marked.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    paths : sequence of torch.Tensor or array-like, each shape (T, 2)
        The paths; path ``i`` gets colour ``VARIANT_COLORS[i % 7]`` and a dot at its start.
        Paths may differ in length.
    labels : sequence of str, optional
        One legend label per path.
    mark_origin : bool
        Mark the equilibrium at the origin with a star.
    lw : float
        Line width.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, with equal aspect.
    """
    for i, path in enumerate(paths):
        p = _np(path)
        c = VARIANT_COLORS[i % len(VARIANT_COLORS)]
        ax.plot(p[:, 0], p[:, 1], lw=lw, color=c, label=None if labels is None else labels[i])
        ax.plot(p[0, 0], p[0, 1], "o", ms=4, color=c)
    if mark_origin:
        ax.plot(0, 0, "*", ms=12, color=COLORS["real"], zorder=5, label="equilibrium")
    ax.set_aspect("equal")
    return ax


def animate_paths(paths: Sequence, titles: Sequence[str], *, frames: int = 80,
                  lim: float | None = None, xlabel: str = r"$\theta_1$", ylabel: str = r"$\theta_2$",
                  interval: int = 60) -> FuncAnimation:
    r"""Animate several 2-D paths side by side (one panel each); play with ``.to_jshtml()``.

    Each path is an array ``(T, 2)``; all are subsampled to ``frames`` frames (evenly spaced
    indices from 0 to ``T - 1``). Each panel draws the path so far and a dot at its head, with
    the origin marked.

    Parameters
    ----------
    paths : sequence of torch.Tensor or array-like, each shape (T, 2)
        One path per panel (lengths may differ).
    titles : sequence of str
        One panel title per path.
    frames : int
        Number of animation frames.
    lim : float, optional
        Half-width of every panel's square window; default :math:`1.1\max|p|` per path.
    xlabel, ylabel : str
        Axis labels of every panel.
    interval : int
        Delay between frames in milliseconds.

    Returns
    -------
    OfflineFuncAnimation
        The animation; its figure is closed, so only ``.to_jshtml()`` shows it.
    """
    arrs = [_np(p) for p in paths]
    n = len(arrs)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.8), squeeze=False)
    axes = axes[0]
    lines, dots = [], []
    for ax, a, title in zip(axes, arrs, titles):
        m = lim if lim is not None else 1.1 * np.abs(a).max()
        ax.set_xlim(-m, m)
        ax.set_ylim(-m, m)
        ax.set_aspect("equal")
        ax.plot(0, 0, "*", ms=10, color=COLORS["real"])
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        (ln,) = ax.plot([], [], lw=1.0, color=COLORS["fake"])
        (dt,) = ax.plot([], [], "o", ms=5, color=COLORS["fake"])
        lines.append(ln)
        dots.append(dt)
    fig.tight_layout()
    idx = [np.linspace(0, len(a) - 1, frames).astype(int) for a in arrs]

    def update(k: int):
        for a, ln, dt, ix in zip(arrs, lines, dots, idx):
            j = ix[k]
            ln.set_data(a[: j + 1, 0], a[: j + 1, 1])
            dt.set_data([a[j, 0]], [a[j, 1]])
        return lines + dots

    anim = OfflineFuncAnimation(fig, update, frames=frames, interval=interval, blit=True)
    plt.close(fig)
    return anim


def contour_2d(ax: plt.Axes, fn: Callable[[torch.Tensor], torch.Tensor], lim: float = 2.0, *,
               n: int = 120, levels: int = 20, cmap: str = "viridis", filled: bool = True):
    r"""Contour plot of a scalar function of 2-D points on :math:`[-\ell, \ell]^2` (batched call).

    ``fn`` is called once, without gradients, on the ``n * n`` grid points
    :math:`(x_i, y_j)`, :math:`x_i, y_j \in \{-\ell, \dots, \ell\}` (``n`` evenly spaced values,
    :math:`\ell` = ``lim``).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    fn : callable
        Maps a ``torch.Tensor`` of shape ``(n * n, 2)`` to values of shape ``(n * n,)`` or
        ``(n * n, 1)``.
    lim : float
        Half-width :math:`\ell` of the square.
    n : int
        Grid points per side.
    levels : int
        Number of contour levels.
    cmap : str
        Matplotlib colour map.
    filled : bool
        ``contourf`` when true, line ``contour`` otherwise.

    Returns
    -------
    matplotlib.contour.QuadContourSet
        The contour set (for a colour bar).
    """
    g = torch.linspace(-lim, lim, n)
    xx, yy = torch.meshgrid(g, g, indexing="xy")
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    with torch.no_grad():
        vals = fn(pts).reshape(n, n)
    f = ax.contourf if filled else ax.contour
    cs = f(_np(xx), _np(yy), _np(vals), levels=levels, cmap=cmap)
    ax.set_aspect("equal")
    return cs


def image_grid(ax: plt.Axes, images, *, nrow: int = 8, vmin: float = -1.0, vmax: float = 1.0,
               pad: int = 1) -> plt.Axes:
    """Tile ``(n, h, w)`` greyscale images into one picture on ``ax``.

    Images fill rows of ``nrow`` left to right, separated by ``pad`` background pixels (value
    ``vmin``). Flattened square images ``(n, h * h)`` are reshaped first.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw; its axes are turned off.
    images : torch.Tensor or array-like, shape (n, h, w) or (n, h * h)
        The images.
    nrow : int
        Images per row of the tiling.
    vmin, vmax : float
        Value range mapped to the grey scale (:math:`[-1, 1]` for the book's digits).
    pad : int
        Gap between images in pixels.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    imgs = _np(images)
    if imgs.ndim == 2:
        side = int(round(np.sqrt(imgs.shape[1])))
        imgs = imgs.reshape(-1, side, side)
    n, h, w = imgs.shape
    ncol = int(np.ceil(n / nrow))
    canvas = np.full((ncol * (h + pad) + pad, nrow * (w + pad) + pad), vmin, dtype=float)
    for i in range(n):
        r, c = divmod(i, nrow)
        canvas[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = imgs[i]
    ax.imshow(canvas, cmap="gray_r" if vmin >= 0 else "gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    return ax


class OfflineFuncAnimation(FuncAnimation):
    """A ``FuncAnimation`` whose ``to_jshtml()`` player needs no network.

    Matplotlib's JavaScript player links Font Awesome 4.4 from a CDN for its button icons; the
    rendered book must work offline, so that ``<link>`` is removed. The buttons keep their
    ``fa fa-*`` classes, which the book theme's own (local) Font Awesome draws.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to animate.
    func : callable
        ``func(k)`` updates the artists for frame ``k`` and returns them.
    frames, interval, blit
        As in :class:`matplotlib.animation.FuncAnimation`, which takes every other argument too.
    """

    def to_jshtml(self, *args, **kwargs) -> str:  # noqa: D102 - same as FuncAnimation's
        """The animation as a self-contained HTML player, without the CDN stylesheet link.

        Parameters
        ----------
        args, kwargs
            Passed to :meth:`matplotlib.animation.Animation.to_jshtml` (``fps``,
            ``embed_frames``, ``default_mode``).

        Returns
        -------
        str
            The player's HTML.
        """
        import re

        html = super().to_jshtml(*args, **kwargs)
        return re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*">\s*', "", html)


class NotebookFigure(Figure):
    """A figure made outside pyplot that a notebook shows as an image when a cell returns it.

    A figure made through pyplot is shown by the inline backend, which registers its image
    formatter for :class:`matplotlib.figure.Figure` only once pyplot has created a figure. A
    figure made directly (no global state, nothing shown on creation, as the explorers' figures
    are) would otherwise be shown as its text ``<Figure size ...>``. This class gives it the
    IPython image method, which renders it as the inline backend does (PNG, tight bounding
    box, the figure's dpi); where the inline formatter is registered, that one is used instead.

    Parameters
    ----------
    args, kwargs
        As in :class:`matplotlib.figure.Figure` (``figsize``, ``dpi``, ...).
    """

    def _repr_png_(self) -> bytes | None:
        """The figure as PNG bytes (IPython's rich display); ``None`` for an empty figure.

        Returns
        -------
        bytes or None
            The PNG file, as ``IPython.core.pylabtools.print_figure`` renders it.
        """
        from IPython.core.pylabtools import print_figure

        return print_figure(self, "png")
