r"""Part I explorer: the Dirac GAN under your hands, and the fast model it runs.

The model is one trajectory of the 2-D Dirac GAN (:mod:`gantools.dirac`) with the field written
out by hand, as the source post does, instead of differentiated by autograd: :func:`closed_field`
gives each variant's equations, :func:`run` steps them with Part I's integrator
(:func:`gantools.dirac.integrate`) and adds the generator's EMA. Part I
derives the same field by autograd (:func:`gantools.dirac.vector_field`); the tests check that
the two agree. Here the state is two Python complex numbers (:math:`\phi_1+i\phi_2`,
:math:`\theta_1+i\theta_2`), which makes one step a few microseconds: a slider move answers in
milliseconds.

:func:`explorer` is the interactive figure; :func:`figure` and :func:`plot_run` draw the same
figure statically (``plot_run(figure(), run(...))``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .. import dirac
from .._validate import check_name, check_positive
from ..plot import COLORS
from .live import Explorer, live_figure, log_axis, new_figure

__all__ = ["METHODS", "USES", "VARIANTS", "BLOWUP", "MAX_STEPS", "MAX_DRAWN", "Field", "DiracRun",
           "closed_field", "run", "figure", "update", "plot_run", "explorer"]

METHODS: tuple[str, ...] = dirac.METHODS
"""Update rules, those of :func:`gantools.dirac.integrate`: the RK4 and Euler ODE solvers,
simultaneous and alternating gradient descent."""

USES: dict[str, tuple[str, ...]] = {"vanilla": (), "saturating": (), "wgan": (), "wgan_gp": ("lam", "c"),
                                    "gan_qp": ("lam",)}
"""The variants written out here and the hyper-parameters each uses besides ``l2`` (others are ignored)."""

VARIANTS: tuple[str, ...] = tuple(v for v in dirac.VARIANTS if v in USES)
"""The variants of :data:`gantools.dirac.VARIANTS` the explorer runs."""

#: A run stops when :math:`\lVert(\phi,\theta)\rVert` exceeds this (it is then reported as diverging).
BLOWUP = 1e6
#: Most steps one run may take (``t_end / lr`` beyond it raises ``ValueError``).
MAX_STEPS = 400_000
#: Most points drawn per curve (longer runs are thinned evenly for the figure).
MAX_DRAWN = 6000

#: Type of a field from :func:`closed_field`:
#: ``f(phi1, phi2, theta1, theta2) -> (dphi1, dphi2, dtheta1, dtheta2)``.
Field = Callable[[float, float, float, float], tuple[float, float, float, float]]


def closed_field(variant: str, lam: float = 1.0, c: float = 0.0, l2: float = 0.0) -> Field:
    r"""The hand-written Dirac GAN field, on scalar floats.

    For :math:`D_\phi(x)=\phi\cdot x`, :math:`s=\theta\cdot\phi` and :math:`\sigma` the logistic
    function, the field of each variant is

    .. math::

        \begin{aligned}
        \text{vanilla:}\quad & \dot\phi=-\sigma(s)\,\theta, && \dot\theta=(1-\sigma(s))\,\phi,\\
        \text{saturating:}\quad & \dot\phi=-\sigma(s)\,\theta, && \dot\theta=\sigma(s)\,\phi,\\
        \text{wgan:}\quad & \dot\phi=-\frac{\theta}{\lVert\phi\rVert}+\frac{s\,\phi}{\lVert\phi\rVert^3},
            && \dot\theta=\frac{\phi}{\lVert\phi\rVert},\\
        \text{wgan\_gp:}\quad & \dot\phi=-\theta-2\lambda\Big(\phi-c\frac{\phi}{\lVert\phi\rVert}\Big),
            && \dot\theta=\phi,\\
        \text{gan\_qp:}\quad & \dot\phi=-\theta-\frac{s\,\theta}{\lambda\lVert\theta\rVert},
            && \dot\theta=\phi,
        \end{aligned}

    with :math:`-l_2\phi` added to :math:`\dot\phi`.

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS`.
    lam, c : float
        Penalty weight :math:`\lambda > 0` (``wgan_gp``, ``gan_qp``) and centre :math:`c`
        (``wgan_gp``); ignored by the other variants.
    l2 : float
        Weight of :math:`\tfrac{l_2}{2}\lVert\phi\rVert^2` in the discriminator's loss.

    Returns
    -------
    callable
        ``f(phi1, phi2, theta1, theta2) -> (dphi1, dphi2, dtheta1, dtheta2)``. At
        :math:`\phi=0` (``wgan_gp``) and :math:`\theta=0` (``gan_qp``) the singular unit vector
        is taken as 0, as :func:`gantools.dirac.vector_field` does.

    Raises
    ------
    ValueError
        If ``variant`` is not one of :data:`VARIANTS`. The returned ``wgan`` field raises
        ``ValueError`` when called at :math:`\phi=0`, where it is undefined.
    """
    check_name(variant, VARIANTS, "Dirac GAN variant")
    exp = math.exp

    if variant in ("vanilla", "saturating"):
        sat = variant == "saturating"

        def f(p1, p2, t1, t2):
            s = t1 * p1 + t2 * p2
            sig = 1.0 / (1.0 + exp(-s)) if s >= 0 else exp(s) / (1.0 + exp(s))
            g = sig if sat else 1 - sig
            return -sig * t1 - l2 * p1, -sig * t2 - l2 * p2, g * p1, g * p2
    elif variant == "wgan":
        def f(p1, p2, t1, t2):
            n = math.sqrt(p1 * p1 + p2 * p2)
            if n == 0.0:
                raise ValueError("the WGAN Dirac field is undefined at phi = 0; start from a non-zero phi")
            s = (t1 * p1 + t2 * p2) / (n * n * n)
            return -t1 / n + s * p1 - l2 * p1, -t2 / n + s * p2 - l2 * p2, p1 / n, p2 / n
    elif variant == "wgan_gp":
        k = 2.0 * lam

        def f(p1, p2, t1, t2):
            n = math.sqrt(p1 * p1 + p2 * p2)
            g = k * (1.0 - c / n) if n > 0 else k
            return -t1 - (g + l2) * p1, -t2 - (g + l2) * p2, p1, p2
    else:  # gan_qp
        def f(p1, p2, t1, t2):
            n = math.sqrt(t1 * t1 + t2 * t2)
            g = (t1 * p1 + t2 * p2) / (lam * n) if n > 0 else 0.0
            return -t1 - g * t1 - l2 * p1, -t2 - g * t2 - l2 * p2, p1, p2
    return f


@dataclass(frozen=True)
class DiracRun:
    """One explorer run: every step's state, the EMA of the generator and how the run ended.

    Attributes
    ----------
    t : numpy.ndarray, shape (T,)
        Time of each stored state (steps times ``lr``).
    phi, theta : numpy.ndarray, shape (T, 2)
        Discriminator and generator parameters.
    ema : numpy.ndarray, shape (T, 2)
        Exponential moving average of ``theta`` over steps (:func:`gantools.dirac.ema`).
    diverged_at : float or None
        The time at which :math:`\\lVert(\\phi,\\theta)\\rVert` passed :data:`BLOWUP` (the run
        stops there), or ``None``.
    variant, method : str
        What was run.
    """

    t: np.ndarray
    phi: np.ndarray
    theta: np.ndarray
    ema: np.ndarray
    diverged_at: float | None
    variant: str
    method: str

    @property
    def radius(self) -> np.ndarray:
        r""":math:`\lVert\theta\rVert` per stored state, shape ``(T,)``."""
        return np.hypot(self.theta[:, 0], self.theta[:, 1])


def run(variant: str = "wgan_gp", *, lam: float = 0.1, c: float = 0.0, l2: float = 0.0,
        ema_decay: float = 0.99, lr: float = 0.05, method: str = "rk4", t_end: float = 100.0,
        phi0: tuple[float, float] = (0.1, 0.2), theta0: tuple[float, float] = (0.2, 0.1)) -> DiracRun:
    r"""Run the 2-D Dirac GAN from ``(phi0, theta0)`` to ``t_end`` with the closed-form field.

    With :math:`u=(\phi,\theta)`, :math:`f=(f_\phi,f_\theta)` the field of :func:`closed_field`
    and :math:`\eta` = ``lr``, each step is

    .. math::

        \begin{aligned}
        \text{euler, sim\_gd:}\quad & u_{k+1} = u_k + \eta\,f(u_k),\\
        \text{alt\_gd:}\quad & \phi_{k+1} = \phi_k + \eta\,f_\phi(\phi_k,\theta_k),\quad
            \theta_{k+1} = \theta_k + \eta\,f_\theta(\phi_{k+1},\theta_k),\\
        \text{rk4:}\quad & \text{the classical fourth-order Runge-Kutta step of size } \eta,
        \end{aligned}

    and the generator's EMA is :math:`\bar\theta_0=\theta_0`,
    :math:`\bar\theta_k=\beta\,\bar\theta_{k-1}+(1-\beta)\,\theta_k`. The run stops at the first
    step where :math:`\lVert u_k\rVert >` :data:`BLOWUP` (or a NaN appears). Runs are cached
    (the last 64 settings), so that moving a slider back is instant.

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS`.
    lam, c, l2 : float
        Hyper-parameters; a variant ignores those it does not use (:data:`USES`), so that the
        explorer's sliders can stay in place.
    ema_decay : float
        Decay :math:`\beta\in(0,1)` of the generator's EMA, per step.
    lr : float
        ODE step ``dt`` for ``rk4``/``euler``, learning rate for ``sim_gd``/``alt_gd``.
    method : str
        One of :data:`METHODS` (the same rules as :func:`gantools.dirac.simulate`).
    t_end : float
        Final time; the run takes ``round(t_end / lr)`` steps (at most :data:`MAX_STEPS`).
    phi0, theta0 : tuple of two floats
        Start point.

    Returns
    -------
    DiracRun
        The trajectory, stopped early if it diverges.

    Raises
    ------
    ValueError
        If ``variant`` or ``method`` is unknown (the message lists the valid names), a used
        hyper-parameter is out of range (``lam``, ``lr``, ``t_end`` must be > 0, ``c`` and ``l2``
        >= 0, ``ema_decay`` in (0, 1)), ``t_end / lr`` exceeds :data:`MAX_STEPS`, the start is not
        two finite numbers each, or the ``wgan`` field is evaluated at :math:`\phi=0`.
    TypeError
        If a hyper-parameter is not a real number.
    """
    check_name(variant, VARIANTS, "Dirac GAN variant")
    check_name(method, METHODS, "update method")
    lam = check_positive(lam, "lam") if "lam" in USES[variant] else 1.0
    c = check_positive(c, "c", allow_zero=True) if "c" in USES[variant] else 0.0
    l2 = check_positive(l2, "l2", allow_zero=True)
    ema_decay = check_positive(ema_decay, "ema_decay")
    if not ema_decay < 1:
        raise ValueError(f"ema_decay must be in (0, 1), got {ema_decay}")
    lr, t_end = check_positive(lr, "lr"), check_positive(t_end, "t_end")
    n = max(1, int(round(t_end / lr)))
    if n > MAX_STEPS:
        raise ValueError(f"t_end / lr = {n} steps is more than {MAX_STEPS}; raise lr or lower t_end")
    start = tuple(float(v) for v in (*phi0, *theta0))
    if len(start) != 4 or not all(math.isfinite(v) for v in start):
        raise ValueError(f"phi0 and theta0 must be two finite numbers each, got {phi0!r}, {theta0!r}")
    return _run_cached(variant, lam, c, l2, ema_decay, lr, method, n, start)


@lru_cache(maxsize=64)
def _run_cached(variant: str, lam: float, c: float, l2: float, ema_decay: float, lr: float,
                method: str, n: int, start: tuple[float, float, float, float]) -> DiracRun:
    f4 = closed_field(variant, lam=lam, c=c, l2=l2)

    def f(p: complex, t: complex) -> tuple[complex, complex]:   # the plane as complex numbers
        a = f4(p.real, p.imag, t.real, t.imag)
        return complex(a[0], a[1]), complex(a[2], a[3])

    def blown_up(p: complex, t: complex) -> bool:
        return abs(p) ** 2 + abs(t) ** 2 > BLOWUP * BLOWUP or p != p or t != t

    p1, p2, t1, t2 = start
    steps, ps, ts, stopped = dirac.integrate(f, complex(p1, p2), complex(t1, t2), dt=lr, n_steps=n,
                                             method=method, stop=blown_up)
    phi, theta = np.asarray(ps), np.asarray(ts)
    phi = np.stack([phi.real, phi.imag], -1)
    theta = np.stack([theta.real, theta.imag], -1)
    ok = int(np.isfinite(theta).all(-1).cumprod().sum())   # a stopped run may end in inf or NaN
    ema = np.full_like(theta, np.nan)
    ema[:ok] = dirac.ema(theta[:ok], ema_decay).numpy()
    return DiracRun(np.asarray(steps) * lr, phi, theta, ema, None if stopped is None else stopped * lr,
                    variant, method)


# --------------------------------------------------------------------------- the figure
def figure() -> Figure:
    """The explorer's figure: the path of :math:`\\theta` with its EMA, and the radii over time.

    Returns
    -------
    gantools.plot.NotebookFigure
        Two axes and empty artists, filled by :func:`update`; a notebook cell that returns it
        (or :func:`plot_run`'s result) shows it as an image.
    """
    fig = new_figure(9.0, 3.7)
    a1 = fig.add_axes((0.09, 0.14, 0.32, 0.72))
    a2 = fig.add_axes((0.53, 0.14, 0.44, 0.72))
    a1.plot([], [], lw=0.8, color=COLORS["fake"], label="θₖ")
    a1.plot([], [], lw=1.3, color=COLORS["ema"], label="EMA θ̄ₖ")
    a1.plot([], [], "o", color=COLORS["fake"], ms=4)
    a1.plot([0], [0], "*", ms=12, color=COLORS["real"], label="equilibrium")
    a1.set_xlabel("θ₁")
    a1.set_ylabel("θ₂")
    a2.plot([], [], color=COLORS["fake"], label="‖θ‖")
    a2.plot([], [], color=COLORS["ema"], label="‖θ̄‖ (EMA)")
    log_axis(a2)
    a2.set_xlabel("time t = k·η")
    a2.set_ylabel("radius")
    # the legends sit above the axes, outside them: the explorer redraws only the axes and the
    # title at a slider move (blitting), the legends stay in the saved background
    for ax in (a1, a2):
        box = ax.get_position()
        fig.legend(handles=[ln for ln in ax.lines if not ln.get_label().startswith("_")], fontsize=8,
                   loc="lower left", bbox_to_anchor=(box.x0, box.y1), ncol=3, frameon=False, borderaxespad=0.2)
    fig.suptitle("", fontsize=10)
    return fig


def _thin(n: int) -> slice:
    return slice(None, None, max(1, -(-n // MAX_DRAWN)))


def plot_run(fig: Figure, r: DiracRun, title: str = "") -> Figure:
    """Draw a :class:`DiracRun` on a :func:`figure` (in place).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Made by :func:`figure`.
    r : DiracRun
        The run.
    title : str
        Figure title; a diverging run's title says where it stopped.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig``.
    """
    a1, a2 = fig.axes
    sl = _thin(len(r.t))
    th, av = r.theta[sl], r.ema[sl]
    path, ema, start = a1.lines[:3]
    path.set_data(th[:, 0], th[:, 1])
    ema.set_data(av[:, 0], av[:, 1])
    start.set_data([r.theta[0, 0]], [r.theta[0, 1]])
    m = 1.08 * max(float(np.abs(th).max()), 1e-3)
    a1.set_xlim(-m, m)
    a1.set_ylim(-m, m)
    rad, rad_ema = a2.lines
    rad.set_data(r.t[sl], np.maximum(np.hypot(th[:, 0], th[:, 1]), 1e-16))
    rad_ema.set_data(r.t[sl], np.maximum(np.hypot(av[:, 0], av[:, 1]), 1e-16))
    ys = np.concatenate([rad.get_ydata(), rad_ema.get_ydata()])
    a2.set_xlim(0, max(float(r.t[-1]), 1e-9))
    a2.set_ylim(max(float(ys.min()), 1e-16) / 2, 2 * float(ys.max()))
    if r.diverged_at is not None:
        title += f" - diverges: stopped at t = {r.diverged_at:.4g}"
    fig.texts[0].set_text(title)
    return fig


def update(fig: Figure, *, variant: str, method: str, lam: float, c: float, l2: float,
           ema_decay: float, lr: float, t_end: float, th1: float, th2: float, ph1: float,
           ph2: float) -> None:
    """Run the model for the explorer's control values and draw it on ``fig`` (see :func:`run`).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Made by :func:`figure`; redrawn in place.
    variant, method : str
        As in :func:`run`.
    lam, c, l2, ema_decay, lr, t_end : float
        As in :func:`run`.
    th1, th2, ph1, ph2 : float
        Start point: ``theta0 = (th1, th2)``, ``phi0 = (ph1, ph2)``.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        For settings :func:`run` rejects (the explorer shows the message and keeps its figure).
    """
    r = run(variant, lam=lam, c=c, l2=l2, ema_decay=ema_decay, lr=lr, method=method, t_end=t_end,
            phi0=(ph1, ph2), theta0=(th1, th2))
    plot_run(fig, r, f"{variant}, {method}, lr = {lr:.3g}")


def explorer() -> Explorer:
    """Interactive Dirac GAN: variant, λ, c, L2, EMA decay, learning rate, update rule, start.

    Returns
    -------
    Explorer
        The ipywidgets container; its sliders redraw the figure (controls a variant does not
        use are greyed out).
    """
    style = {"description_width": "90px"}
    kw: dict[str, Any] = dict(style=style, continuous_update=False)
    ctl = {
        "variant": W.Dropdown(options=list(VARIANTS), value="wgan_gp", description="variant", style=style),
        "method": W.Dropdown(options=list(METHODS), value="rk4", description="update", style=style),
        "lam": W.FloatLogSlider(value=0.1, base=10, min=-2, max=1, description="λ", **kw),
        "c": W.FloatSlider(value=0.0, min=0.0, max=2.0, step=0.1, description="c (WGAN-GP)", **kw),
        "l2": W.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.01, description="L2 on D", **kw),
        "ema_decay": W.SelectionSlider(options=[0.9, 0.99, 0.995, 0.999], value=0.99, description="EMA decay", **kw),
        "lr": W.FloatLogSlider(value=0.05, base=10, min=-2.5, max=0.5, description="step / lr", **kw),
        "t_end": W.FloatSlider(value=100.0, min=10.0, max=400.0, step=10.0, description="time", **kw),
        "th1": W.FloatSlider(value=0.2, min=-1, max=1, step=0.05, description="θ₀[1]", **kw),
        "th2": W.FloatSlider(value=0.1, min=-1, max=1, step=0.05, description="θ₀[2]", **kw),
        "ph1": W.FloatSlider(value=0.1, min=-1, max=1, step=0.05, description="φ₀[1]", **kw),
        "ph2": W.FloatSlider(value=0.2, min=-1, max=1, step=0.05, description="φ₀[2]", **kw),
    }

    def grey_out(box: Explorer, name: str) -> None:
        used = USES[box.controls["variant"].value]
        box.controls["lam"].disabled = "lam" not in used
        box.controls["c"].disabled = "c" not in used

    keys = list(ctl)
    fig = figure()
    for artist in (*fig.axes, fig.texts[0]):  # a move changes the axes and the title: blit them
        artist.set_animated(True)
    return live_figure(ctl, fig, update, rows=[keys[:6], keys[6:]], on_change=grey_out,
                       demo_move=("lam", 0.5))

