r"""The live-figure helper shared by every explorer.

An explorer is a row of controls over one matplotlib figure. The figure is made **once**; a
control change calls the explorer's ``update(fig, **values)``, which moves the figure's artists
(new data, limits, titles), and the figure is rendered to PNG bytes shown by an
:class:`ipywidgets.Image`. Nothing is re-laid out and no figure is created per move, which is what
keeps a redraw to tens of milliseconds; the PNG route needs no matplotlib widget backend and works
the same under ipywidgets 7 (Colab) and 8 (JupyterLab).

An expected error (settings the model rejects, a run that diverges) is written in the message line
under the controls; the last good figure stays.

The book's static figures are drawn by the same two functions: ``fig = make(); update(fig, **values)``.
"""
from __future__ import annotations

import html
import io
import time
from typing import Any, Callable, Mapping

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from ..plot import NotebookFigure


__all__ = ["DPI", "Explorer", "live_figure", "log_axis", "new_figure", "render_png", "superscript"]

#: Resolution of the explorers' PNG frames (dots per inch).
DPI = 80


def new_figure(width: float, height: float) -> Figure:
    """A figure outside pyplot (no global state, not shown by the inline backend on creation).

    Parameters
    ----------
    width, height : float
        Size in inches.

    Returns
    -------
    gantools.plot.NotebookFigure
        An empty figure that shows itself as an image when it is a cell's last expression
        (a plain :class:`~matplotlib.figure.Figure` made outside pyplot would print as text).
    """
    return NotebookFigure(figsize=(width, height))


def log_axis(ax: Any) -> None:
    """Put a log scale on the y axis of ``ax`` with plain-text tick labels (``1e-3``).

    Matplotlib's default log labels are mathtext, re-parsed at every redraw; plain labels keep
    a redraw cheap. The axis has no minor ticks: eight unlabelled ticks per decade cost a fifth
    of a Dirac explorer frame and say nothing the decades do not.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes; changed in place (scale, major locator and formatter, no minor ticks).

    Returns
    -------
    None
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    ax.set_yscale("log")
    axis = ax.yaxis
    axis.set_major_locator(LogLocator(base=10, numticks=6))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")))
    axis.set_minor_locator(NullLocator())


_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def superscript(k: int) -> str:
    """``k`` in Unicode superscript digits (for titles redrawn often: no mathtext).

    Parameters
    ----------
    k : int
        The number (a minus sign is written as a superscript minus).

    Returns
    -------
    str
        E.g. ``superscript(12) == "¹²"``.
    """
    return str(k).translate(_SUP)


def render_png(fig: Figure, dpi: int = DPI) -> bytes:
    """Render ``fig`` to PNG bytes (Agg), as the explorers show it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    dpi : int
        Dots per inch.

    Returns
    -------
    bytes
        The PNG file, the pixels ``fig.savefig(format="png", dpi=dpi)`` gives. The figure keeps
        ``dpi`` and one Agg canvas from the first call on, so that each call reuses the
        renderer and its cache of text layouts (``savefig`` makes a new renderer at every call
        on a figure made outside pyplot). A figure with artists marked ``set_animated(True)`` is
        rendered by blitting: its static part is drawn once and kept, and each call redraws only
        the animated artists (its axes limits must then stay fixed).
    """
    # the artists a figure's update moves: the figure's and its axes' own (not their ticks)
    animated = [a for a in (*fig.get_children(), *(c for ax in fig.axes for c in ax.get_children()))
                if a.get_animated()]
    if not animated:
        canvas = _agg_canvas(fig, dpi)
        canvas.draw()
        return _png(canvas)
    return _render_blit(fig, animated, dpi)


def _agg_canvas(fig: Figure, dpi: int) -> Any:
    """The figure's Agg canvas at ``dpi`` (made once; the figure keeps it and the dpi)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if fig.dpi != dpi:
        fig.set_dpi(dpi)
    return fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)


def _png(canvas: Any) -> bytes:
    """The canvas's pixels as a PNG file (fast compression)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def _render_blit(fig: Figure, animated: list[Any], dpi: int) -> bytes:
    """Blitting: the static part is drawn once and kept; each frame redraws only the animated artists.

    A figure whose changing artists are marked ``set_animated(True)`` (and whose axes limits stay
    fixed) is rendered this way by :func:`render_png`; the saved background is dropped when the
    figure's size or resolution changes.
    """
    canvas = _agg_canvas(fig, dpi)
    key = (dpi, tuple(fig.get_size_inches()))
    cached = getattr(fig, "_gantools_background", None)
    if cached is None or cached[0] != key:
        canvas.draw()  # animated artists are left out of a full draw
        fig._gantools_background = (key, canvas.copy_from_bbox(fig.bbox))
    canvas.restore_region(fig._gantools_background[1])
    for artist in animated:
        fig.draw_artist(artist)
    return _png(canvas)


class Explorer(W.VBox):
    """The container an explorer returns: its controls, over the figure, over a message line.

    Made by :func:`live_figure` (not by calling the class); besides the box's children it keeps
    what a script or a test needs to drive it.

    Attributes
    ----------
    controls : dict[str, ipywidgets.Widget]
        The controls by the name of the model argument they set.
    image : ipywidgets.Image
        The current figure as PNG bytes (``image.value``).
    message : ipywidgets.HTML
        Empty, or the error of the last move (the figure then keeps the last good state).
    figure : matplotlib.figure.Figure
        The figure the updates draw on.
    demo_move : tuple[str, Any]
        A control name and a value to move it to: the move the compatibility check makes.
    last_seconds : float
        Wall time of the last redraw, model run and rendering included.
    """

    def values(self) -> dict[str, Any]:
        """The controls' current values by name.

        Returns
        -------
        dict[str, Any]
            ``{name: control.value}`` for every control, in the controls' order.
        """
        return {k: w.value for k, w in self.controls.items()}

    def redraw(self) -> None:
        """Run the update with the current values and show the new figure (or the error).

        An error of one of the types given to :func:`live_figure` is written in ``message`` and
        the last good image stays; any other error propagates. ``last_seconds`` is set.

        Returns
        -------
        None
        """
        t0 = time.perf_counter()
        try:
            self._update(self.figure, **self.values())
        except self._errors as err:
            self.message.value = (f'<span style="color:#b00">{html.escape(type(err).__name__)}: '
                                  f"{html.escape(str(err))}</span>")
        else:
            self.image.value = render_png(self.figure)
            self.message.value = ""
        self.last_seconds = time.perf_counter() - t0


def live_figure(controls: Mapping[str, W.Widget], figure: Figure,
                update: Callable[..., None], *, rows: list[list[str]] | None = None,
                on_change: Callable[[Explorer, str], None] | None = None,
                errors: tuple[type[BaseException], ...] = (ValueError, RuntimeError),
                demo_move: tuple[str, Any] | None = None) -> Explorer:
    """Wire controls to a figure: every change of a control value redraws it.

    Parameters
    ----------
    controls : Mapping[str, ipywidgets.Widget]
        Controls by the keyword of ``update`` they set (each has a ``value``).
    figure : matplotlib.figure.Figure
        The figure, with its axes and artists already made.
    update : callable
        ``update(figure, **values)`` draws the model's answer for these values on ``figure``.
    rows : list of list of str, optional
        Control names per column of the control panel (default: one column).
    on_change : callable, optional
        ``on_change(explorer, name)`` runs before the redraw (e.g. to disable controls that the
        chosen variant does not use).
    errors : tuple of type
        Exception types shown in the message line instead of breaking the explorer (the
        default covers bad settings and :class:`gantools.errors.DivergenceError`, a
        ``RuntimeError``).
    demo_move : tuple of (str, Any), optional
        A representative slider move (default: the first control, unchanged value).

    Returns
    -------
    Explorer
        The container, already showing the figure for the initial values.
    """
    controls = dict(controls)
    rows = rows or [list(controls)]
    panel = W.HBox([W.VBox([controls[k] for k in col]) for col in rows])
    image = W.Image(format="png")
    message = W.HTML(value="")
    box = Explorer([panel, message, image])
    box.controls, box.image, box.message, box.figure = controls, image, message, figure
    box._update, box._errors = update, errors
    box.demo_move = demo_move or (next(iter(controls)), next(iter(controls.values())).value)
    box.last_seconds = 0.0

    def changed(change: dict) -> None:
        name = next((k for k, w in controls.items() if w is change["owner"]), "")
        if on_change is not None:
            on_change(box, name)
        box.redraw()

    for w in controls.values():
        w.observe(changed, names="value")
    if on_change is not None:
        on_change(box, "")
    box.redraw()
    return box
