r"""Gaussian closed forms for Part III: densities, log ratios, KL, :math:`W_2`, and the
Wasserstein gradient flow of :math:`\mathrm{KL}(q\Vert p)` as an ODE for a mean and a covariance.

For :math:`q=\mathcal N(m,S)` and :math:`p=\mathcal N(m_p,\Sigma_p)` with precision
:math:`P=\Sigma_p^{-1}` the velocity :math:`\nabla\log r = \nabla\log p - \nabla\log q` is affine,
so the flow keeps :math:`q_t` Gaussian; everything here is exact, with no network involved.
NumPy functions take array-likes ``mean`` of shape ``(d,)`` and ``cov`` of shape ``(d, d)``.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from scipy.integrate import solve_ivp
from scipy.linalg import sqrtm

from ._validate import check_points

__all__ = ["TOY_MEAN", "TOY_COV", "check_gaussian", "gaussian_log_density", "gaussian_log_ratio",
           "gaussian_kl", "gaussian_kl_torch", "gaussian_w2", "gaussian_wgf_rhs", "solve_gaussian_wgf",
           "gaussian_relative_fisher", "kl_decay_rate", "empirical_moments", "sample_gaussian"]

TOY_MEAN = np.zeros(2)
"""Target mean of MonoFlow's Gaussian toy."""
TOY_COV = np.array([[1.0, 0.8], [0.8, 0.89]])
"""Target covariance of MonoFlow's Gaussian toy."""


def check_gaussian(mean, cov, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a Gaussian's parameters and return them as float64 arrays.

    Parameters
    ----------
    mean : array-like, shape (d,)
    cov : array-like, shape (d, d)
        Symmetric positive definite.
    what : str
        Name used in error messages.

    Returns
    -------
    mean : numpy.ndarray, shape (d,)
    cov : numpy.ndarray, shape (d, d)
    """
    m = np.asarray(mean, dtype=float).reshape(-1)
    s = np.asarray(cov, dtype=float)
    if s.shape != (m.size, m.size):
        raise ValueError(f"{what} covariance must have shape ({m.size}, {m.size}), got {s.shape}")
    if not (np.isfinite(m).all() and np.isfinite(s).all()):
        raise ValueError(f"{what} mean and covariance must be finite")
    if not np.allclose(s, s.T) or np.linalg.eigvalsh(0.5 * (s + s.T)).min() <= 0:
        raise ValueError(f"{what} covariance must be symmetric positive definite")
    return m, s


def gaussian_log_density(x: torch.Tensor, mean, cov, *, cholesky: bool = False) -> torch.Tensor:
    r"""Log density of :math:`\mathcal N(m,\Sigma)` at the rows of ``x``, via a Cholesky factor.

    .. math:: \log\mathcal N(x; m, \Sigma) = -\tfrac12 (x-m)^\top\Sigma^{-1}(x-m) - \tfrac12\log\det(2\pi\Sigma)

    Batched: with ``x`` of shape ``(E, n, d)`` and ``mean`` ``(E, d)``, ``cov`` ``(E, d, d)``
    (tensors or arrays) row set :math:`e` is evaluated under Gaussian :math:`e`; an unbatched
    ``mean`` and ``cov`` serve every row set.

    Parameters
    ----------
    x : torch.Tensor, shape (n, d) or (E, n, d)
    mean : array-like or torch.Tensor, shape (d,) or (E, d)
    cov : array-like or torch.Tensor, shape (d, d) or (E, d, d)
        The covariance :math:`\Sigma`, or with ``cholesky`` a lower-triangular :math:`L` with
        :math:`\Sigma = LL^\top` (its diagonal may have any sign).
    cholesky : bool
        Whether ``cov`` is the factor :math:`L`.

    Returns
    -------
    torch.Tensor, shape (n,) or (E, n)
        Differentiable in ``x`` (and in ``mean`` and ``cov`` when they are tensors).
    """
    dt = x.dtype
    m = torch.as_tensor(mean, dtype=dt, device=x.device)
    S = torch.as_tensor(cov, dtype=dt, device=x.device)
    d = x.shape[-1] if x.ndim else 0
    batched_ok = x.ndim == 3 and m.shape == (x.shape[0], d)
    if x.ndim not in (2, 3) or not (m.shape == (d,) or batched_ok) or S.shape != (*m.shape, d):
        raise ValueError(f"x must have shape (n, d) or (E, n, d), mean (d,) or (E, d) and cov (d, d) or "
                         f"(E, d, d); got {tuple(x.shape)}, {tuple(m.shape)} and {tuple(S.shape)}")
    C = S if cholesky else torch.linalg.cholesky(S)
    u = torch.linalg.solve_triangular(C, (x - m.unsqueeze(-2)).transpose(-1, -2), upper=False)
    log_det = torch.log(torch.diagonal(C, dim1=-2, dim2=-1).abs()).sum(-1, keepdim=True)
    return -0.5 * u.pow(2).sum(-2) - log_det - 0.5 * d * math.log(2 * math.pi)


def gaussian_log_ratio(x: torch.Tensor, mean_p, cov_p, mean_q, cov_q) -> torch.Tensor:
    r"""Exact log density ratio of two Gaussians.

    .. math:: \log r(x) = \log \mathcal N(x; m_p, \Sigma_p) - \log \mathcal N(x; m_q, \Sigma_q)

    Parameters
    ----------
    x : torch.Tensor, shape (n, d) or (E, n, d)
    mean_p, cov_p, mean_q, cov_q : array-like or torch.Tensor
        Shapes (d,) and (d, d), or batched as in :func:`gaussian_log_density`.

    Returns
    -------
    torch.Tensor, shape (n,) or (E, n)
        Differentiable in ``x``.
    """
    return gaussian_log_density(x, mean_p, cov_p) - gaussian_log_density(x, mean_q, cov_q)


def gaussian_kl(mean_q, cov_q, mean_p, cov_p) -> float:
    r"""Closed-form :math:`\mathrm{KL}(\mathcal N(m,S)\Vert\mathcal N(m_p,\Sigma_p))`.

    .. math:: \mathrm{KL} = \tfrac12\big[\operatorname{tr}(\Sigma_p^{-1}S) - d + (m-m_p)^\top\Sigma_p^{-1}(m-m_p)
              + \log\det\Sigma_p - \log\det S\big]

    Parameters
    ----------
    mean_q, cov_q : array-like, shapes (d,) and (d, d)
        The first argument of KL (the model).
    mean_p, cov_p : array-like, shapes (d,) and (d, d)
        The second argument (the target).

    Returns
    -------
    float
    """
    m, s = check_gaussian(mean_q, cov_q, "q")
    mp, sp = check_gaussian(mean_p, cov_p, "p")
    P = np.linalg.inv(sp)
    dm = m - mp
    return float(0.5 * (np.trace(P @ s) - m.size + dm @ P @ dm
                        + np.linalg.slogdet(sp)[1] - np.linalg.slogdet(s)[1]))


def gaussian_kl_torch(mean: torch.Tensor, cov: torch.Tensor, mean_p, cov_p) -> torch.Tensor:
    r"""The closed form of :func:`gaussian_kl` in torch, batched and differentiable.

    .. math:: \mathrm{KL}(\mathcal N(m,S)\Vert\mathcal N(m_p,\Sigma_p)) = \tfrac12\big[\operatorname{tr}(PS) - d
              + (m-m_p)^\top P(m-m_p) - \log\det(PS)\big], \qquad P=\Sigma_p^{-1}

    Parameters
    ----------
    mean : torch.Tensor, shape (..., d)
    cov : torch.Tensor, shape (..., d, d)
    mean_p, cov_p : array-like, shapes (d,) and (d, d)

    Returns
    -------
    torch.Tensor, shape (...)
        Differentiable in ``mean`` and ``cov`` (autograd gives the gradient of KL).
    """
    mp, sp = check_gaussian(mean_p, cov_p, "p")
    d = mp.size
    if mean.shape[-1] != d or cov.shape[-2:] != (d, d):
        raise ValueError(f"mean must end in ({d},) and cov in ({d}, {d}); got {tuple(mean.shape)}, {tuple(cov.shape)}")
    P = torch.as_tensor(np.linalg.inv(sp), dtype=mean.dtype)
    dm = mean - torch.as_tensor(mp, dtype=mean.dtype)
    PS = P @ cov
    quad = (dm @ P * dm).sum(-1)
    return 0.5 * (torch.diagonal(PS, dim1=-2, dim2=-1).sum(-1) - d + quad - torch.logdet(PS))


def gaussian_w2(mean_a, cov_a, mean_b, cov_b) -> float:
    r"""Closed-form 2-Wasserstein distance between two Gaussians.

    .. math:: W_2^2 = \lVert m_a-m_b\rVert^2 + \operatorname{tr}\big(A + B - 2(A^{1/2}BA^{1/2})^{1/2}\big)

    Parameters
    ----------
    mean_a, cov_a, mean_b, cov_b : array-like, shapes (d,) and (d, d)

    Returns
    -------
    float
        :math:`W_2` (not squared).
    """
    ma, a = check_gaussian(mean_a, cov_a, "a")
    mb, b = check_gaussian(mean_b, cov_b, "b")
    ra = np.real(sqrtm(a))
    cross = np.real(sqrtm(ra @ b @ ra))
    val = float(np.sum((ma - mb) ** 2) + np.trace(a + b - 2 * cross))
    return math.sqrt(max(val, 0.0))


def gaussian_wgf_rhs(mean, cov, mean_p, cov_p) -> tuple[np.ndarray, np.ndarray]:
    r"""Right-hand side of the Gaussian Wasserstein gradient flow of :math:`\mathrm{KL}(q\Vert p)`.

    The velocity :math:`\nabla\log r(x) = (S^{-1}-P)x + Pm_p - S^{-1}m` is affine, so
    :math:`q_t` stays Gaussian with

    .. math:: \dot m = -P(m-m_p), \qquad \dot S = 2I - PS - SP.

    Parameters
    ----------
    mean, cov : array-like, shapes (d,) and (d, d)
        The current :math:`q = \mathcal N(m, S)`.
    mean_p, cov_p : array-like, shapes (d,) and (d, d)
        The target.

    Returns
    -------
    dm : numpy.ndarray, shape (d,)
    dS : numpy.ndarray, shape (d, d)
    """
    m, s = check_gaussian(mean, cov, "q")
    mp, sp = check_gaussian(mean_p, cov_p, "p")
    P = np.linalg.inv(sp)
    return -P @ (m - mp), 2 * np.eye(m.size) - P @ s - s @ P


def solve_gaussian_wgf(mean0, cov0, mean_p, cov_p, t) -> tuple[np.ndarray, np.ndarray]:
    """Solve :func:`gaussian_wgf_rhs` with :func:`scipy.integrate.solve_ivp` (RK45, rtol 1e-10).

    Parameters
    ----------
    mean0, cov0 : array-like, shapes (d,) and (d, d)
        Initial Gaussian.
    mean_p, cov_p : array-like, shapes (d,) and (d, d)
        Target.
    t : array-like, shape (T,)
        Increasing output times; the first is the initial time.

    Returns
    -------
    means : numpy.ndarray, shape (T, d)
    covs : numpy.ndarray, shape (T, d, d)
    """
    m0, s0 = check_gaussian(mean0, cov0, "q0")
    check_gaussian(mean_p, cov_p, "p")
    d = m0.size
    t = np.asarray(t, dtype=float)

    def f(_, y):
        dm, ds = gaussian_wgf_rhs(y[:d], y[d:].reshape(d, d), mean_p, cov_p)
        return np.concatenate([dm, ds.ravel()])

    sol = solve_ivp(f, (float(t[0]), float(t[-1])), np.concatenate([m0, s0.ravel()]), t_eval=t,
                    rtol=1e-10, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    y = sol.y.T
    return y[:, :d], y[:, d:].reshape(-1, d, d)


def gaussian_relative_fisher(mean_q, cov_q, mean_p, cov_p) -> float:
    r"""Relative Fisher information of two Gaussians, minus the rate of change of KL along the flow.

    .. math:: \mathbb E_q\lVert\nabla\log r\rVert^2 = \lVert P(m-m_p)\rVert^2 + \operatorname{tr}(ASA^\top),
              \qquad A = S^{-1}-P

    Parameters
    ----------
    mean_q, cov_q, mean_p, cov_p : array-like, shapes (d,) and (d, d)

    Returns
    -------
    float
    """
    m, s = check_gaussian(mean_q, cov_q, "q")
    mp, sp = check_gaussian(mean_p, cov_p, "p")
    P = np.linalg.inv(sp)
    A = np.linalg.inv(s) - P
    v = P @ (m - mp)
    return float(v @ v + np.trace(A @ s @ A.T))


def kl_decay_rate(cov_p) -> float:
    r"""The guaranteed exponential rate :math:`2\kappa` of :math:`\mathrm{KL}(q_t\Vert p)` along the flow.

    For a Gaussian target, :math:`\kappa = \lambda_{\min}(\Sigma_p^{-1})`: :math:`p` is
    :math:`\kappa`-log-concave, the log-Sobolev inequality gives
    :math:`\mathbb E_q\lVert\nabla\log r\rVert^2 \ge 2\kappa\,\mathrm{KL}(q\Vert p)`, and hence

    .. math:: \mathrm{KL}(q_t\Vert p) \le \mathrm{KL}(q_0\Vert p)\,e^{-2\kappa t}.

    Parameters
    ----------
    cov_p : array-like, shape (d, d)

    Returns
    -------
    float
        :math:`2\kappa`.
    """
    _, sp = check_gaussian(np.zeros(np.asarray(cov_p).shape[0]), cov_p, "p")
    return float(2 * np.linalg.eigvalsh(np.linalg.inv(sp)).min())


def empirical_moments(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean and covariance (divisor n) of a point set, in float64.

    Parameters
    ----------
    x : torch.Tensor, shape (n, d)

    Returns
    -------
    mean : numpy.ndarray, shape (d,)
    cov : numpy.ndarray, shape (d, d)
    """
    a = check_points(x, "x", dtype=torch.float64).numpy()
    m = a.mean(0)
    c = a - m
    return m, c.T @ c / a.shape[0]


def sample_gaussian(mean, cov) -> Callable[[int, torch.Generator], torch.Tensor]:
    r"""A sampler ``draw(n, generator)`` for :math:`\mathcal N(m, \Sigma)` (Cholesky transform).

    Parameters
    ----------
    mean, cov : array-like, shapes (d,) and (d, d)

    Returns
    -------
    callable
        ``draw(n, generator) -> torch.Tensor`` of shape ``(n, d)``, float32.
    """
    m, s = check_gaussian(mean, cov, "target")
    mt = torch.as_tensor(m, dtype=torch.float32)
    Lt = torch.as_tensor(np.linalg.cholesky(s), dtype=torch.float32)

    def draw(n: int, gen: torch.Generator) -> torch.Tensor:
        return mt + torch.randn(n, mt.numel(), generator=gen) @ Lt.T
    return draw
