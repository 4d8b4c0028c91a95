r"""Two-time-scale training: what a faster discriminator changes in a GAN, and what it does not.

Two games in which the discriminator can be made faster than the generator, each small enough
for its dynamics to be derived exactly (the synthesis chapter checks the derivations):

1. **The Dirac GAN with a fast discriminator.** The non-saturating Dirac GAN of Part I (real point
   0, fake point :math:`\theta\in\mathbb R^2`, :math:`D_\phi(x)=\phi\cdot x`) with the
   discriminator's velocity multiplied by :math:`k` and an optional L2 weight :math:`l_2`:

   .. math::

       \dot\phi = -k\bigl(\sigma(\theta\cdot\phi)\,\theta + l_2\,\phi\bigr), \qquad
       \dot\theta = \bigl(1-\sigma(\theta\cdot\phi)\bigr)\,\phi .

   :func:`dirac_field`, :func:`simulate_dirac` (RK4 by :func:`gantools.dirac.integrate`), :func:`alternating_dirac` (alternating
   gradient descent with several discriminator steps per generator step), and the laws the
   chapter derives: :func:`limit_cycle` and :func:`equilibrium_rate`.

2. **A Gaussian generator against a quadratic discriminator.** Data :math:`p=\mathcal N(m_p,\Sigma_p)`,
   generator :math:`G(z)=\mu+Az` (:math:`A` lower triangular, so that :math:`q=\mathcal N(\mu,AA^\top)`
   determines the parameters), discriminator :math:`D(x)=\tfrac12 x^\top Wx+b\cdot x+c`. The
   family contains the optimal logit :math:`\log r=\log p/q` exactly, and every expectation is
   computed by Gauss--Hermite quadrature, so the game is deterministic and its equilibrium is
   exactly :math:`q=p`, :math:`D=0`. :func:`train_quadratic_game` runs alternating gradient descent
   with ``d_steps`` discriminator steps per generator step (or with :math:`D=\log r` exactly);
   :func:`game_step_radius` gives the spectral radius of one training step linearised at the
   equilibrium.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._validate import as_tensor, check_finite, check_int, check_positive
from .dirac import integrate
from .errors import DivergenceError
from .gaussian import gaussian_kl_torch

__all__ = [
    "TwoTimeScaleRun", "dirac_field", "simulate_dirac", "alternating_dirac", "CycleLaw", "limit_cycle",
    "equilibrium_rate", "fit_decay_rate",
    "gauss_hermite", "QuadraticGame", "GameState", "GameRun", "quadratic_features", "log_ratio_coefficients",
    "game_step", "train_quadratic_game", "game_step_radius",
]

DTYPE = torch.float64


# =========================================================================== 1. Dirac GAN
def _dirac_state(phi: Any, theta: Any) -> tuple[torch.Tensor, torch.Tensor]:
    p = check_finite(as_tensor(phi, "phi", dtype=DTYPE), "phi")
    t = check_finite(as_tensor(theta, "theta", dtype=DTYPE), "theta")
    if p.ndim == 1:
        p = p[None]
    if t.ndim == 1:
        t = t[None]
    if p.ndim != 2 or p.shape[-1] != 2 or p.shape != t.shape:
        raise ValueError("phi and theta must both have shape (n, 2) (or (2,) for one start), "
                         f"got {tuple(p.shape)} and {tuple(t.shape)}")
    return p, t


def _per_run(value: Any, n: int, name: str, *, allow_zero: bool) -> torch.Tensor:
    """A scalar or an ``(n,)`` array of non-negative (or positive) numbers as a float64 ``(n, 1)`` column."""
    v = as_tensor(value, name, dtype=DTYPE)
    if v.ndim == 0:
        v = v.expand(n)
    if v.shape != (n,):
        raise ValueError(f"{name} must be a number or have shape ({n},), got {tuple(v.shape)}")
    bad = (v < 0) if allow_zero else (v <= 0)
    if not torch.isfinite(v).all() or bool(bad.any()):
        raise ValueError(f"{name} must be finite and {'>= 0' if allow_zero else '> 0'}, got {v.tolist()}")
    return v[:, None].clone()


def _field(p: torch.Tensor, t: torch.Tensor, k: torch.Tensor, l2: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor]:
    sig = torch.sigmoid((t * p).sum(-1, keepdim=True))
    return -k * (sig * t + l2 * p), (1 - sig) * p


def dirac_field(phi: Any, theta: Any, *, k: Any = 1.0, l2: Any = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Velocity of the non-saturating Dirac GAN with a discriminator ``k`` times faster.

    .. math::

        \dot\phi = -k\bigl(\sigma(\theta\cdot\phi)\,\theta + l_2\,\phi\bigr), \qquad
        \dot\theta = \bigl(1-\sigma(\theta\cdot\phi)\bigr)\,\phi ,

    i.e. :math:`\dot\phi=-k\nabla_\phi L_D`, :math:`\dot\theta=-\nabla_\theta L_G` with
    :math:`L_D=\log(1+e^{\theta\cdot\phi})+\tfrac{l_2}{2}\lVert\phi\rVert^2` and
    :math:`L_G=\log(1+e^{-\theta\cdot\phi})`. With ``k=1`` this is
    ``dirac.vector_field("vanilla", phi, theta, l2=l2)``.

    Parameters
    ----------
    phi, theta : array-like, shape (n, 2) or (2,)
        Discriminator and generator parameters of ``n`` runs.
    k : float or array-like, shape (n,)
        Time-scale ratio (discriminator speed over generator speed), per run or shared; > 0.
    l2 : float or array-like, shape (n,)
        L2 weight on the discriminator, per run or shared; >= 0.

    Returns
    -------
    dphi, dtheta : torch.Tensor, shape (n, 2)
        The velocities, float64.
    """
    p, t = _dirac_state(phi, theta)
    n = p.shape[0]
    return _field(p, t, _per_run(k, n, "k", allow_zero=False), _per_run(l2, n, "l2", allow_zero=True))


@dataclass
class TwoTimeScaleRun:
    r"""A batch of two-time-scale Dirac GAN runs.

    Attributes
    ----------
    t : torch.Tensor, shape (T,)
        Generator time (for gradient descent: generator step times its learning rate).
    step : torch.Tensor, shape (T,)
        Integration or generator step index of each stored state.
    phi, theta : torch.Tensor, shape (T, n, 2)
        The stored states.
    k, l2 : torch.Tensor, shape (n,)
        Time-scale ratio and L2 weight of each run.
    method : str
        ``"rk4"`` (the ODE) or ``"alt_gd"`` (alternating gradient descent).
    """

    t: torch.Tensor
    step: torch.Tensor
    phi: torch.Tensor
    theta: torch.Tensor
    k: torch.Tensor
    l2: torch.Tensor
    method: str

    @property
    def angular_momentum(self) -> torch.Tensor:
        r""":math:`L=\theta_1\phi_2-\theta_2\phi_1`, shape ``(T, n)``."""
        return self.theta[..., 0] * self.phi[..., 1] - self.theta[..., 1] * self.phi[..., 0]

    @property
    def lyapunov(self) -> torch.Tensor:
        r""":math:`V=\lVert\phi\rVert^2+k\lVert\theta\rVert^2`, shape ``(T, n)``."""
        return (self.phi**2).sum(-1) + self.k * (self.theta**2).sum(-1)

    @property
    def cycle_gap(self) -> torch.Tensor:
        r""":math:`V-2\sqrt k\,\lvert L\rvert\ge 0`, zero exactly on the limit cycle; shape ``(T, n)``."""
        return self.lyapunov - 2 * self.k.sqrt() * self.angular_momentum.abs()

    @property
    def theta_norm(self) -> torch.Tensor:
        r""":math:`\lVert\theta\rVert`, the generator's distance to the real point; shape ``(T, n)``."""
        return torch.linalg.vector_norm(self.theta, dim=-1)


def simulate_dirac(phi0: Any, theta0: Any, *, k: Any = 1.0, l2: Any = 0.0, t_end: float, dt: float,
                   save_every: int = 1) -> TwoTimeScaleRun:
    r"""Integrate the two-time-scale Dirac GAN (:func:`dirac_field`) with classical RK4.

    All ``n`` runs (one per row, each with its own ``k`` and ``l2``) advance together in one
    batched computation; ``dt`` must resolve the fastest one (the discriminator's rotation
    frequency is :math:`\sqrt k/2`, its relaxation rate up to :math:`k\lVert\theta\rVert^2/4`).

    Parameters
    ----------
    phi0, theta0 : array-like, shape (n, 2) or (2,)
        Starting states.
    k, l2 : float or array-like, shape (n,)
        Time-scale ratio (> 0) and L2 weight (>= 0), per run or shared.
    t_end, dt : float
        Final time and RK4 step.
    save_every : int
        Store every ``save_every``-th state (and the last).

    Returns
    -------
    TwoTimeScaleRun
        With ``method="rk4"``.

    Raises
    ------
    DivergenceError
        If the state becomes non-finite (the message names the step).
    """
    p, t = _dirac_state(phi0, theta0)
    n = p.shape[0]
    kk, ll = _per_run(k, n, "k", allow_zero=False), _per_run(l2, n, "l2", allow_zero=True)
    dt = check_positive(dt, "dt")
    t_end = check_positive(t_end, "t_end")
    save_every = check_int(save_every, "save_every")
    n_steps = int(round(t_end / dt))
    if n_steps < 1:
        raise ValueError(f"t_end / dt must give at least one step, got t_end={t_end}, dt={dt}")
    # the inner loop runs in NumPy: for a few dozen 2-vectors it is several times faster than torch
    P, Th, K, L2 = p.numpy().copy(), t.numpy().copy(), kk.numpy(), ll.numpy()

    def f(P: np.ndarray, Th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sig = 1.0 / (1.0 + np.exp(-(P * Th).sum(-1, keepdims=True)))
        return -K * (sig * Th + L2 * P), (1.0 - sig) * P

    def bad(P: np.ndarray, Th: np.ndarray) -> bool:
        return not (np.isfinite(P).all() and np.isfinite(Th).all())

    with np.errstate(over="ignore", invalid="ignore"):   # a diverging run is reported below, not warned about
        steps, ps, ths, stopped = integrate(f, P, Th, dt=dt, n_steps=n_steps, method="rk4",
                                            save_every=save_every, stop=bad)
    if stopped is not None:
        raise DivergenceError(f"two-time-scale Dirac GAN (rk4, dt={dt}) diverged: the state "
                              f"became non-finite by step {stopped} (t = {stopped * dt:.4g})")
    st = torch.tensor(steps, dtype=torch.long)
    return TwoTimeScaleRun(st.to(DTYPE) * dt, st, torch.from_numpy(np.stack(ps)), torch.from_numpy(np.stack(ths)),
                           kk[:, 0], ll[:, 0], "rk4")


def alternating_dirac(phi0: Any, theta0: Any, *, lr: float, d_steps: int, g_steps: int,
                      lr_d: float | None = None, l2: float = 0.0, save_every: int = 1) -> TwoTimeScaleRun:
    r"""Alternating gradient descent on the non-saturating Dirac GAN, ``d_steps`` D steps per G step.

    Each generator step is preceded by :math:`n_D` = ``d_steps`` discriminator steps:

    .. math::

        \phi \leftarrow \phi - \eta_D\bigl(\sigma(\theta\cdot\phi)\,\theta + l_2\phi\bigr)
        \quad(n_D\ \text{times}),\qquad
        \theta \leftarrow \theta + \eta\,\bigl(1-\sigma(\theta\cdot\phi)\bigr)\,\phi .

    Parameters
    ----------
    phi0, theta0 : array-like, shape (n, 2) or (2,)
        Starting states of ``n`` runs.
    lr : float
        Generator learning rate :math:`\eta`.
    d_steps, g_steps : int
        Discriminator steps per generator step, and the number of generator steps.
    lr_d : float, optional
        Discriminator learning rate :math:`\eta_D` (default ``lr``).
    l2 : float
        L2 weight on the discriminator.
    save_every : int
        Store every ``save_every``-th generator step (and the last).

    Returns
    -------
    TwoTimeScaleRun
        With ``method="alt_gd"``, ``step`` the generator step, ``t = step * lr`` and
        ``k = d_steps * lr_d / lr`` (the time-scale ratio these settings approximate).
    """
    p, t = _dirac_state(phi0, theta0)
    lr = check_positive(lr, "lr")
    lr_d = lr if lr_d is None else check_positive(lr_d, "lr_d")
    l2 = check_positive(l2, "l2", allow_zero=True)
    d_steps, g_steps = check_int(d_steps, "d_steps"), check_int(g_steps, "g_steps")
    save_every = check_int(save_every, "save_every")
    P, Th = p.numpy().copy(), t.numpy().copy()
    steps, ps, ths = [0], [P.copy()], [Th.copy()]
    for i in range(1, g_steps + 1):
        for _ in range(d_steps):
            sig = 1.0 / (1.0 + np.exp(-(P * Th).sum(-1, keepdims=True)))
            P = P - lr_d * (sig * Th + l2 * P)
        sig = 1.0 / (1.0 + np.exp(-(P * Th).sum(-1, keepdims=True)))
        Th = Th + lr * (1.0 - sig) * P
        if i % save_every == 0 or i == g_steps:
            if not (np.isfinite(P).all() and np.isfinite(Th).all()):
                raise DivergenceError(f"alternating Dirac GAN (lr={lr}, d_steps={d_steps}) diverged: the "
                                      f"state became non-finite by generator step {i}")
            steps.append(i)
            ps.append(P.copy())
            ths.append(Th.copy())
    n = P.shape[0]
    st = torch.tensor(steps, dtype=torch.long)
    return TwoTimeScaleRun(st.to(DTYPE) * lr, st, torch.from_numpy(np.stack(ps)), torch.from_numpy(np.stack(ths)),
                    torch.full((n,), d_steps * lr_d / lr, dtype=DTYPE), torch.full((n,), l2, dtype=DTYPE),
                    "alt_gd")


@dataclass(frozen=True)
class CycleLaw:
    r"""The limit cycle of the unregularised two-time-scale Dirac GAN, from :math:`L_0` and :math:`k`.

    Attributes
    ----------
    theta_radius : float
        :math:`\lVert\theta\rVert` on the cycle, :math:`\sqrt{\lvert L_0\rvert}\,k^{-1/4}`.
    phi_radius : float
        :math:`\lVert\phi\rVert` on the cycle, :math:`\sqrt{\lvert L_0\rvert}\,k^{1/4}`.
    omega : float
        Angular frequency on the cycle, :math:`\sqrt k/2`.
    approach_rate : float
        Exponential rate at which :math:`V-2\sqrt k\lvert L_0\rvert` decays near the cycle,
        :math:`\sqrt k\,\lvert L_0\rvert/2`.
    """

    theta_radius: float
    phi_radius: float
    omega: float
    approach_rate: float


def limit_cycle(L0: float, k: float) -> CycleLaw:
    r"""The cycle the unregularised run approaches, and how fast it approaches it.

    With :math:`l_2=0`, :math:`L` is conserved and :math:`V=\lVert\phi\rVert^2+k\lVert\theta\rVert^2`
    decreases to its minimum :math:`2\sqrt k\lvert L_0\rvert` subject to
    :math:`\lvert L\rvert\le\lVert\theta\rVert\lVert\phi\rVert`, reached on the circle

    .. math::

        \theta\perp\phi,\qquad \lVert\theta\rVert^2=\lvert L_0\rvert/\sqrt k,\qquad
        \lVert\phi\rVert^2=\sqrt k\,\lvert L_0\rvert,

    traversed at :math:`\omega=\sqrt k/2`; the linearisation there gives the approach rate
    :math:`\sqrt k\lvert L_0\rvert/2` of :math:`V-2\sqrt k\lvert L_0\rvert`.

    Parameters
    ----------
    L0 : float
        The conserved angular momentum :math:`\theta_1\phi_2-\theta_2\phi_1`.
    k : float
        Time-scale ratio, > 0.

    Returns
    -------
    CycleLaw
    """
    k = check_positive(k, "k")
    a = abs(float(L0))
    return CycleLaw(math.sqrt(a) * k ** -0.25, math.sqrt(a) * k ** 0.25, math.sqrt(k) / 2, math.sqrt(k) * a / 2)


def equilibrium_rate(k: float, l2: float) -> float:
    r"""Exponential decay rate of the distance to the equilibrium of the linearised L2 run.

    Near :math:`(\phi,\theta)=0`, :math:`\sigma(\theta\cdot\phi)\approx\tfrac12`, and each coordinate
    pair obeys :math:`\dot\phi=-k(\theta/2+l_2\phi)`, :math:`\dot\theta=\phi/2`, whose eigenvalues
    solve

    .. math::

        \lambda^2 + k l_2\,\lambda + k/4 = 0 .

    The rate is :math:`-\max\operatorname{Re}\lambda`: :math:`kl_2/2` when :math:`kl_2^2<1`
    (a damped rotation), :math:`\bigl(kl_2-\sqrt{k^2l_2^2-k}\bigr)/2` otherwise.

    Parameters
    ----------
    k : float
        Time-scale ratio, > 0.
    l2 : float
        L2 weight, >= 0.

    Returns
    -------
    float
        The rate (0 when ``l2 == 0``).
    """
    k = check_positive(k, "k")
    l2 = check_positive(l2, "l2", allow_zero=True)
    roots = np.roots([1.0, k * l2, k / 4])
    return float(-roots.real.max())


def fit_decay_rate(t: Any, y: Any, *, lo: float = 0.0, hi: float = math.inf, block: int = 1) -> float:
    r"""Least-squares rate :math:`\gamma` of :math:`y\approx Ce^{-\gamma t}` over the points with ``lo < y < hi``.

    For an oscillating decay (a complex pair of eigenvalues makes :math:`y` dip towards 0 twice a
    period) pass ``block`` of about one period: the fit then uses the maximum of each run of
    ``block`` consecutive points (the envelope), placed at the time of that maximum.

    Parameters
    ----------
    t : array-like, shape (T,)
        Times.
    y : array-like, shape (T,)
        Positive values.
    lo, hi : float
        The window of ``y`` values used (keep it above the rounding floor).
    block : int
        Points per block for the envelope (1: every point).

    Returns
    -------
    float
        :math:`-\mathrm d\log y/\mathrm dt` fitted by a straight line.

    Raises
    ------
    ValueError
        If fewer than 3 points lie in the window.
    """
    tt = np.asarray(t, dtype=float).ravel()
    yy = np.asarray(y, dtype=float).ravel()
    if tt.shape != yy.shape:
        raise ValueError(f"t and y must have the same shape (T,), got {tt.shape} and {yy.shape}")
    block = check_int(block, "block")
    m = (yy > lo) & (yy < hi) & (yy > 0)
    if block > 1:
        tt, yy = tt[m], yy[m]
        nb = len(yy) // block
        idx = np.array([i * block + int(np.argmax(yy[i * block:(i + 1) * block])) for i in range(nb)], dtype=int)
        tt, yy = tt[idx], yy[idx]
        m = np.ones(len(yy), dtype=bool)
    if m.sum() < 3:
        raise ValueError(f"fewer than 3 points lie in the window ({lo}, {hi}); widen it or run longer")
    return float(-np.polyfit(tt[m], np.log(yy[m]), 1)[0])


# =========================================================================== 2. Gaussian game
def gauss_hermite(n: int = 12, dim: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Tensor-product Gauss--Hermite rule for :math:`\mathbb E_{z\sim\mathcal N(0,I_{d})}[f(z)]`.

    :math:`\mathbb E[f(z)]\approx\sum_i w_i f(z_i)`, exact for polynomials of degree :math:`<2n`
    in each coordinate.

    Parameters
    ----------
    n : int
        Nodes per dimension.
    dim : int
        Dimension :math:`d`.

    Returns
    -------
    z : torch.Tensor, shape (n**dim, dim)
        Nodes, float64.
    w : torch.Tensor, shape (n**dim,)
        Weights, summing to 1.
    """
    n, dim = check_int(n, "n"), check_int(dim, "dim")
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    wg = np.meshgrid(*([w] * dim), indexing="ij")
    z = np.stack([g.ravel() for g in grids], -1)
    ww = np.prod(np.stack([g.ravel() for g in wg], -1), -1)
    return torch.from_numpy(z), torch.from_numpy(ww)


@dataclass(frozen=True)
class QuadraticGame:
    r"""The Gaussian-generator, quadratic-discriminator game: target and learning rates.

    Attributes
    ----------
    mean_p : array-like, shape (2,)
        Data mean :math:`m_p`.
    cov_p : array-like, shape (2, 2)
        Data covariance :math:`\Sigma_p` (positive definite).
    lr_d, lr_g : float
        Discriminator and generator learning rates.
    nodes : int
        Gauss--Hermite nodes per dimension for every expectation.
    """

    mean_p: Any = (0.0, 0.0)
    cov_p: Any = ((1.0, 0.8), (0.8, 0.89))
    lr_d: float = 0.5
    lr_g: float = 0.1
    nodes: int = 6

    def __post_init__(self) -> None:
        m = check_finite(as_tensor(self.mean_p, "mean_p", dtype=DTYPE), "mean_p")
        S = check_finite(as_tensor(self.cov_p, "cov_p", dtype=DTYPE), "cov_p")
        if m.shape != (2,) or S.shape != (2, 2):
            raise ValueError(f"mean_p must have shape (2,) and cov_p (2, 2), got {tuple(m.shape)}, {tuple(S.shape)}")
        if not torch.allclose(S, S.T) or bool((torch.linalg.eigvalsh(S) <= 0).any()):
            raise ValueError("cov_p must be symmetric positive definite")
        check_positive(self.lr_d, "lr_d")
        check_positive(self.lr_g, "lr_g")
        check_int(self.nodes, "nodes", minimum=2)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean_p, cov_p)`` as float64 tensors of shapes (2,) and (2, 2)."""
        return torch.as_tensor(self.mean_p, dtype=DTYPE), torch.as_tensor(self.cov_p, dtype=DTYPE)


@dataclass
class GameState:
    r"""Parameters of a batch of ``B`` games.

    Attributes
    ----------
    mu : torch.Tensor, shape (B, 2)
        Generator shift :math:`\mu`.
    A : torch.Tensor, shape (B, 2, 2)
        Generator matrix, lower triangular (:math:`q=\mathcal N(\mu, AA^\top)`).
    v : torch.Tensor, shape (B, 6)
        Discriminator coefficients :math:`(W_{11}, W_{12}, W_{22}, b_1, b_2, c)` of
        :func:`quadratic_features`.
    """

    mu: torch.Tensor
    A: torch.Tensor
    v: torch.Tensor


def quadratic_features(x: torch.Tensor) -> torch.Tensor:
    r"""Features :math:`\psi(x)` with :math:`D(x)=\tfrac12x^\top Wx+b\cdot x+c=\psi(x)\cdot v`.

    .. math::

        \psi(x)=\bigl(\tfrac12x_1^2,\ x_1x_2,\ \tfrac12x_2^2,\ x_1,\ x_2,\ 1\bigr),\qquad
        v=(W_{11}, W_{12}, W_{22}, b_1, b_2, c).

    Parameters
    ----------
    x : torch.Tensor, shape (..., 2)

    Returns
    -------
    torch.Tensor, shape (..., 6)
    """
    x1, x2 = x[..., 0], x[..., 1]
    return torch.stack([0.5 * x1 * x1, x1 * x2, 0.5 * x2 * x2, x1, x2, torch.ones_like(x1)], -1)


def _grad_x(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    r""":math:`\nabla_xD=Wx+b` for points ``x`` (B, m, 2) and coefficients ``v`` (B, 6)."""
    W11, W12, W22, b1, b2 = (v[:, i, None] for i in range(5))
    x1, x2 = x[..., 0], x[..., 1]
    return torch.stack([W11 * x1 + W12 * x2 + b1, W12 * x1 + W22 * x2 + b2], -1)


def log_ratio_coefficients(mu: torch.Tensor, A: torch.Tensor, mean_p: torch.Tensor, cov_p: torch.Tensor
                           ) -> torch.Tensor:
    r"""Coefficients :math:`v^*` of :math:`\log r=\log p/q` for :math:`q=\mathcal N(\mu,\Sigma_q)`.

    With :math:`\Sigma_q=AA^\top`, :math:`\log r(x)=\tfrac12x^\top W^*x+b^*\cdot x+c^*` where

    .. math::

        W^*=\Sigma_q^{-1}-\Sigma_p^{-1},\quad b^*=\Sigma_p^{-1}m_p-\Sigma_q^{-1}\mu,\quad
        c^*=\tfrac12\mu^\top\Sigma_q^{-1}\mu-\tfrac12m_p^\top\Sigma_p^{-1}m_p
        +\tfrac12\log\frac{\det\Sigma_q}{\det\Sigma_p}.

    Parameters
    ----------
    mu : torch.Tensor, shape (B, 2)
    A : torch.Tensor, shape (B, 2, 2)
    mean_p : torch.Tensor, shape (2,)
    cov_p : torch.Tensor, shape (2, 2)

    Returns
    -------
    torch.Tensor, shape (B, 6)
        :math:`(W^*_{11}, W^*_{12}, W^*_{22}, b^*_1, b^*_2, c^*)`.
    """
    Sq = A @ A.transpose(-1, -2)
    Pq, Pp = torch.linalg.inv(Sq), torch.linalg.inv(cov_p)
    W = Pq - Pp
    b = Pp @ mean_p - (Pq @ mu[..., None])[..., 0]
    c = (0.5 * (mu[:, None, :] @ Pq @ mu[..., None])[:, 0, 0] - 0.5 * mean_p @ Pp @ mean_p
         + 0.5 * (torch.logdet(Sq) - torch.logdet(cov_p)))
    return torch.stack([W[:, 0, 0], W[:, 0, 1], W[:, 1, 1], b[:, 0], b[:, 1], c], -1)


def _kl(mu: torch.Tensor, A: torch.Tensor, quad: "_Quadrature") -> torch.Tensor:
    r""":math:`\mathrm{KL}(q\Vert p)` of each game, :math:`q=\mathcal N(\mu,AA^\top)`
    (:func:`gantools.gaussian.gaussian_kl_torch`), shape (B,)."""
    return gaussian_kl_torch(mu, A @ A.transpose(-1, -2), quad.mean_p, quad.cov_p)


class _Quadrature:
    """Nodes and weights of one game, with the (fixed) real nodes' features precomputed."""

    def __init__(self, game: QuadraticGame) -> None:
        self.z, self.w = gauss_hermite(game.nodes, 2)
        self.mean_p, self.cov_p = game.tensors()
        self.psi_p = quadratic_features(self.mean_p + self.z @ torch.linalg.cholesky(self.cov_p).T)

    def fake(self, mu: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        """Generator nodes :math:`\\mu+Az`, shape (B, m, 2)."""
        return mu[:, None, :] + torch.matmul(self.z, A.transpose(-1, -2))


def _d_steps(v: torch.Tensor, psi_q: torch.Tensor, quad: _Quadrature, lr_d: float, n: int) -> torch.Tensor:
    r"""``n`` gradient steps on :math:`L_D=\mathbb E_p\log(1+e^{-D})+\mathbb E_q\log(1+e^{D})`.

    :math:`\nabla_vL_D=-\mathbb E_p[\sigma(-D)\psi]+\mathbb E_q[\sigma(D)\psi]`.
    """
    w, psi_p, psi_qT = quad.w, quad.psi_p, psi_q.transpose(-1, -2)
    for _ in range(n):
        gp = torch.sigmoid(v @ psi_p.T).sub(1.0).mul(w)                           # -sigma(-D) w, (B, m)
        gq = torch.sigmoid(torch.matmul(psi_q, v[..., None])[..., 0]).mul(w)     # sigma(D) w
        v = v - lr_d * (gp @ psi_p + torch.matmul(psi_qT, gq[..., None])[..., 0])
    return v


def _g_step(mu: torch.Tensor, A: torch.Tensor, v: torch.Tensor, quad: _Quadrature, lr_g: float
            ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One step on the non-saturating :math:`L_G=\mathbb E_z\log(1+e^{-D(\mu+Az)})`.

    :math:`\nabla_\mu L_G=-\mathbb E_z[(1-\sigma(D))\nabla_xD]`,
    :math:`\nabla_AL_G=-\mathbb E_z[(1-\sigma(D))\nabla_xD\,z^\top]` (lower triangle kept).
    """
    xq = quad.fake(mu, A)
    d = torch.matmul(quadratic_features(xq), v[..., None])[..., 0]
    coef = torch.sigmoid(d).sub(1.0).mul(quad.w)                                  # -(1 - sigma(D)) w
    gx = _grad_x(xq, v) * coef[..., None]                                         # (B, m, 2)
    g_mu = gx.sum(1)
    g_A = torch.tril(torch.matmul(gx.transpose(-1, -2), quad.z))
    return mu - lr_g * g_mu, A - lr_g * g_A


def _outer(s: GameState, game: QuadraticGame, d_steps: int | str, quad: _Quadrature) -> GameState:
    if d_steps == "exact":
        v = log_ratio_coefficients(s.mu, s.A, quad.mean_p, quad.cov_p)
    else:
        v = _d_steps(s.v, quadratic_features(quad.fake(s.mu, s.A)), quad, game.lr_d, d_steps)
    mu, A = _g_step(s.mu, s.A, v, quad, game.lr_g)
    return GameState(mu, A, v)


def game_step(state: GameState, game: QuadraticGame, d_steps: int | str = 1) -> GameState:
    r"""One training step: ``d_steps`` discriminator steps, then one generator step (alternating).

    The discriminator descends :math:`L_D=\mathbb E_p\log(1+e^{-D})+\mathbb E_q\log(1+e^{D})`
    with learning rate ``game.lr_d``, the generator the non-saturating
    :math:`L_G=\mathbb E_z\log(1+e^{-D(\mu+Az)})` with ``game.lr_g`` (restricted to lower-triangular
    :math:`A`). With ``d_steps="exact"`` the discriminator is set to its optimum
    :math:`D=\log r` (:func:`log_ratio_coefficients`) before the generator step.

    Parameters
    ----------
    state : GameState
        Batch of ``B`` games.
    game : QuadraticGame
    d_steps : int or "exact"

    Returns
    -------
    GameState
        The new state (a differentiable function of the old one).
    """
    return _outer(state, game, _check_d_steps(d_steps), _Quadrature(game))


def _check_d_steps(d_steps: Any) -> int | str:
    if d_steps == "exact":
        return d_steps
    if isinstance(d_steps, bool) or not isinstance(d_steps, int) or d_steps < 1:
        raise ValueError(f"d_steps must be a positive int or 'exact', got {d_steps!r}")
    return d_steps


@dataclass
class GameRun:
    r"""History of a batch of quadratic-game runs.

    Attributes
    ----------
    step : torch.Tensor, shape (T,)
        Generator step of each record (0 = the start).
    kl : torch.Tensor, shape (T, B)
        :math:`\mathrm{KL}(q\Vert p)` in closed form after that many generator steps.
    tracking : torch.Tensor, shape (T - 1, B)
        For records 1 to T - 1: :math:`\mathbb E_q[(D-\log r)^2]/\mathbb E_q[(\log r)^2]` of the
        discriminator that generator step used, against the :math:`\log r=\log p/q` of the
        generator it updated (0 for ``d_steps="exact"``).
    final : GameState
        The last state.
    d_steps : int or str
    """

    step: torch.Tensor
    kl: torch.Tensor
    tracking: torch.Tensor
    final: GameState
    d_steps: int | str


def train_quadratic_game(mu0: Any, A0: Any, game: QuadraticGame, *, g_steps: int, d_steps: int | str = 1,
                         record_every: int = 1) -> GameRun:
    r"""Alternating training of ``B`` Gaussian generators against quadratic discriminators.

    The discriminator starts at :math:`D=0`; each generator step follows ``d_steps``
    discriminator steps (:func:`game_step`). All ``B`` runs advance in one batched computation.

    Parameters
    ----------
    mu0 : array-like, shape (B, 2)
        Starting generator shifts.
    A0 : array-like, shape (B, 2, 2)
        Starting generator matrices (the upper triangle is dropped; the diagonal must be non-zero).
    game : QuadraticGame
    g_steps : int
        Number of generator steps.
    d_steps : int or "exact"
        Discriminator steps per generator step, or ``"exact"`` for :math:`D=\log r`.
    record_every : int
        Record KL and the tracking error every ``record_every`` generator steps (and at the end).

    Returns
    -------
    GameRun

    Raises
    ------
    DivergenceError
        If the state becomes non-finite or the generator's covariance :math:`AA^\top` singular
        (checked at every generator step; the message names it).
    """
    d_steps = _check_d_steps(d_steps)
    g_steps = check_int(g_steps, "g_steps")
    mu = check_finite(as_tensor(mu0, "mu0", dtype=DTYPE), "mu0")
    A = torch.tril(check_finite(as_tensor(A0, "A0", dtype=DTYPE), "A0"))
    if mu.ndim != 2 or mu.shape[1] != 2 or A.shape != (mu.shape[0], 2, 2):
        raise ValueError(f"mu0 must have shape (B, 2) and A0 (B, 2, 2), got {tuple(mu.shape)}, {tuple(A.shape)}")
    if bool((torch.diagonal(A, dim1=-2, dim2=-1).abs() == 0).any()):
        raise ValueError("A0 must have a non-zero diagonal (a non-degenerate generator)")
    record_every = check_int(record_every, "record_every")
    quad = _Quadrature(game)
    v = torch.zeros(mu.shape[0], 6, dtype=DTYPE)
    steps, kls, tracks = [0], [_kl(mu, A, quad)], []

    def diverged(what: str, i: int) -> DivergenceError:
        return DivergenceError(f"quadratic game (d_steps={d_steps}, lr_d={game.lr_d}, lr_g={game.lr_g}) "
                               f"diverged: {what} at generator step {i}")

    def ratio(mu: torch.Tensor, A: torch.Tensor, i: int) -> torch.Tensor:
        try:
            return log_ratio_coefficients(mu, A, quad.mean_p, quad.cov_p)
        except torch.linalg.LinAlgError as err:  # AA^T numerically singular: the generator degenerated
            raise diverged("the generator's covariance became singular", i) from err

    for i in range(1, g_steps + 1):
        psi_q = quadratic_features(quad.fake(mu, A))
        record = i % record_every == 0 or i == g_steps
        if d_steps == "exact":
            v = ratio(mu, A, i)
        else:
            v = _d_steps(v, psi_q, quad, game.lr_d, d_steps)
        if record:
            v_true = ratio(mu, A, i)
            lr_true = torch.matmul(psi_q, v_true[..., None])[..., 0]
            err = torch.matmul(psi_q, (v - v_true)[..., None])[..., 0]
            tracks.append((err**2 * quad.w).sum(-1) / (lr_true**2 * quad.w).sum(-1).clamp_min(1e-300))
        mu, A = _g_step(mu, A, v, quad, game.lr_g)
        # every step: a state that overflowed, or a generator whose covariance AA^T became singular,
        # would otherwise surface as a failed matrix inverse at the next step
        if not (torch.isfinite(mu).all() and torch.isfinite(A).all() and torch.isfinite(v).all()):
            raise diverged("the state became non-finite", i)
        if bool((torch.diagonal(A, dim1=-2, dim2=-1) == 0).any()):
            raise diverged("the generator's covariance became singular", i)
        if record:
            steps.append(i)
            kls.append(_kl(mu, A, quad))
    return GameRun(torch.tensor(steps), torch.stack(kls), torch.stack(tracks), GameState(mu, A, v), d_steps)


def game_step_radius(game: QuadraticGame, d_steps: int | str = 1) -> float:
    r"""Spectral radius of one training step (:func:`game_step`) linearised at the equilibrium.

    The state is packed as the 11 free parameters :math:`(\mu, A_{11}, A_{21}, A_{22}, v)`; the
    Jacobian :math:`J` of the step map at :math:`\mu=m_p`, :math:`A=\operatorname{chol}\Sigma_p`,
    :math:`v=0` is taken by reverse-mode autograd (:func:`torch.autograd.functional.jacobian`). A
    radius below 1 means the equilibrium
    attracts every nearby start, and the distance to it then shrinks like :math:`\rho(J)^{n}`
    after :math:`n` generator steps, so that :math:`\mathrm{KL}(q\Vert p)`, quadratic in that
    distance, shrinks like :math:`\rho(J)^{2n}`. For ``d_steps="exact"`` the state is the
    generator's 5 parameters.

    Parameters
    ----------
    game : QuadraticGame
    d_steps : int or "exact"

    Returns
    -------
    float
        :math:`\rho(J)=\max\lvert\lambda(J)\rvert`.
    """
    d_steps = _check_d_steps(d_steps)
    quad = _Quadrature(game)
    L = torch.linalg.cholesky(quad.cov_p)
    v0 = torch.cat([quad.mean_p, L[0, :1], L[1, :2], torch.zeros(6, dtype=DTYPE)])

    def unpack(u: torch.Tensor) -> GameState:
        zero = torch.zeros_like(u[2])
        A = torch.stack([torch.stack([u[2], zero]), torch.stack([u[3], u[4]])])
        return GameState(u[None, 0:2], A[None], u[None, 5:11])

    def step(u: torch.Tensor) -> torch.Tensor:
        s = _outer(unpack(u), game, d_steps, quad)
        return torch.cat([s.mu[0], s.A[0, 0, :1], s.A[0, 1, :2], s.v[0]])

    if d_steps == "exact":
        J = torch.autograd.functional.jacobian(lambda g: step(torch.cat([g, v0[5:]]))[:5], v0[:5])
    else:
        J = torch.autograd.functional.jacobian(step, v0)
    return float(torch.linalg.eigvals(J).abs().max())
