r"""The Dirac GAN under finite steps at the equilibrium (Part I).

Built on the flow of :mod:`gantools.dirac` and its Jacobian :math:`J` at :math:`\phi=\theta=0`
(:func:`gantools.dirac.jacobian`): the Jacobian of one gradient-descent step, simultaneous

.. math::

    (\phi,\theta)\leftarrow(\phi,\theta)+\eta\,v(\phi,\theta)

or alternating (discriminator first), the learning-rate thresholds of the zero-centred penalty in
closed form, and the exact factor by which one step multiplies the angular momentum.
This module imports :mod:`gantools.dirac`, never the other way round.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from ._validate import as_tensor, check_name, check_positive
from .dirac import _dim, _graph_field, _jac_at_origin, _model, _require_smooth, jacobian

__all__ = ["GD_METHODS", "update_map_jacobian", "update_matrix", "spectral_radius",
           "critical_learning_rate", "threshold_simultaneous", "threshold_alternating", "crossover_lambda",
           "angular_momentum_factor"]

GD_METHODS: tuple[str, ...] = ("sim_gd", "alt_gd")
"""The two gradient-descent schemes: simultaneous and alternating (discriminator first)."""


def update_map_jacobian(variant: Any, lr: float, *, method: str = "sim_gd", dim: int = 2,
                        **hparams: float) -> torch.Tensor:
    r"""Jacobian at the origin of one gradient-descent step.

    Simultaneous: :math:`I+\eta J`. Alternating: the chain rule through the discriminator's step
    first. Both by differentiating the actual update (autograd through the autograd field).

    Parameters
    ----------
    variant : str or DiracGAN
    lr : float
        Learning rate :math:`\eta>0`.
    method : str
        One of :data:`GD_METHODS`: ``"sim_gd"`` (default) or ``"alt_gd"``.
    dim : int
        Dimension d.
    **hparams : float
        ``lam``, ``c``, ``l2``.

    Returns
    -------
    torch.Tensor, shape (2 d, 2 d)
    """
    method = check_name(method, GD_METHODS, "gradient-descent method")
    lr = check_positive(lr, "lr")
    m = _model(variant, hparams)
    dim = _dim(dim)
    _require_smooth(m)
    f = _graph_field(m)

    def step(x: torch.Tensor) -> torch.Tensor:
        p, t = x[:dim], x[dim:]
        if method == "sim_gd":
            dp, dth = f(p, t)
            return torch.cat([p + lr * dp, t + lr * dth])
        p2 = p + lr * f(p, t)[0]
        return torch.cat([p2, t + lr * f(p2, t)[1]])

    return _jac_at_origin(step, 2 * dim)


def update_matrix(jac: torch.Tensor, lr: float, *, method: str = "sim_gd") -> torch.Tensor:
    r"""The GD update map's Jacobian at the origin, assembled from the flow's Jacobian :math:`J`.

    With :math:`J=\begin{pmatrix}A&B\\C&D\end{pmatrix}` (state ordered :math:`(\phi,\theta)`), the chain
    rule through one step gives

    .. math::

        M_{\text{sim}}=I+\eta J,\qquad
        M_{\text{alt}}=\begin{pmatrix}I+\eta A&\eta B\\ \eta C(I+\eta A)&I+\eta D+\eta^2CB\end{pmatrix}.

    :func:`update_map_jacobian` differentiates the actual update instead; the two agree (tested).

    Parameters
    ----------
    jac : torch.Tensor, shape (2 d, 2 d)
        The flow's Jacobian, e.g. from :func:`gantools.dirac.jacobian`.
    lr : float
        Learning rate :math:`\eta`.
    method : str
        ``"sim_gd"`` or ``"alt_gd"``.

    Returns
    -------
    torch.Tensor, shape (2 d, 2 d)
    """
    method = check_name(method, GD_METHODS, "gradient-descent method")
    lr = check_positive(lr, "lr")
    n = jac.shape[0]
    if jac.ndim != 2 or jac.shape[1] != n or n % 2:
        raise ValueError(f"jac must have shape (2d, 2d), got {tuple(jac.shape)}")
    eye = torch.eye(n, dtype=jac.dtype)
    if method == "sim_gd":
        return eye + lr * jac
    d = n // 2
    A, B, C, D = jac[:d, :d], jac[:d, d:], jac[d:, :d], jac[d:, d:]
    top = torch.cat([eye[:d, :d] + lr * A, lr * B], 1)
    bottom = torch.cat([lr * C @ (eye[:d, :d] + lr * A), eye[:d, :d] + lr * D + lr * lr * C @ B], 1)
    return torch.cat([top, bottom], 0)


def spectral_radius(variant: Any, lr: float, *, method: str = "sim_gd", **hparams: float) -> float:
    r"""Largest eigenvalue modulus :math:`\max\lvert z\rvert` of the GD update map at the origin (d = 1).

    Parameters
    ----------
    variant, lr, method, **hparams
        As in :func:`update_map_jacobian`.

    Returns
    -------
    float
        Below 1: the iteration is locally contracting.
    """
    method = check_name(method, GD_METHODS, "gradient-descent method")
    jac = jacobian(variant, dim=1, **hparams)
    return float(torch.linalg.eigvals(update_matrix(jac, lr, method=method)).abs().max())


def critical_learning_rate(variant: Any, *, method: str = "sim_gd", lr_max: float = 10.0,
                           tol: float = 1e-10, **hparams: float) -> float:
    r"""Smallest learning rate at which the GD update map stops being a contraction at 0.

    Bisection on :math:`\max\lvert z(\eta)\rvert-1` over :math:`(0,\eta_{\max}]`, with the update map
    of :func:`update_matrix` (the flow's Jacobian is computed once).

    Parameters
    ----------
    variant, method, **hparams
        As in :func:`update_map_jacobian`.
    lr_max : float
        Upper end of the search.
    tol : float
        Relative tolerance of the bisection.

    Returns
    -------
    float
        The threshold; ``0.0`` if no learning rate contracts, ``inf`` if ``lr_max`` still does.
    """
    method = check_name(method, GD_METHODS, "gradient-descent method")
    jac = jacobian(variant, dim=1, **hparams)

    def rho(lr: float) -> float:
        return float(torch.linalg.eigvals(update_matrix(jac, lr, method=method)).abs().max())

    lo = 1e-9
    if rho(lo) >= 1:
        return 0.0
    hi = check_positive(lr_max, "lr_max")
    if rho(hi) < 1:
        return float("inf")
    while hi - lo > tol * max(1.0, hi):
        mid = 0.5 * (lo + hi)
        if rho(mid) < 1:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def threshold_simultaneous(lam: float) -> float:
    r"""Learning-rate threshold of simultaneous GD for WGAN-GP with c = 0.

    .. math::

        \eta^*_{\text{sim}}=2\lambda\ (\lambda<1),\qquad \frac{2}{\lambda+\sqrt{\lambda^2-1}}\ (\lambda\ge1)

    Parameters
    ----------
    lam : float
        Penalty weight :math:`\lambda>0`.

    Returns
    -------
    float
    """
    lam = check_positive(lam, "lam")
    return 2 * lam if lam < 1 else 2 / (lam + math.sqrt(lam * lam - 1))


def threshold_alternating(lam: float) -> float:
    r"""Learning-rate threshold of alternating GD for WGAN-GP with c = 0.

    .. math::

        \eta^*_{\text{alt}}=2\left(\sqrt{\lambda^2+1}-\lambda\right)

    Parameters
    ----------
    lam : float
        Penalty weight :math:`\lambda>0`.

    Returns
    -------
    float
    """
    lam = check_positive(lam, "lam")
    return 2 * (math.sqrt(lam * lam + 1) - lam)


def crossover_lambda() -> float:
    r"""The :math:`\lambda` at which the two thresholds are equal, :math:`1/\sqrt3`.

    .. math::

        2\lambda=2(\sqrt{\lambda^2+1}-\lambda)\iff 4\lambda^2=\lambda^2+1 .

    Returns
    -------
    float
    """
    return 1 / math.sqrt(3)


def angular_momentum_factor(variant: Any, phi: Any, theta: Any, lr: float, **hparams: float) -> torch.Tensor:
    r"""Exact factor by which one *simultaneous* GD step multiplies :math:`L=\theta\times\phi` (2-D).

    For losses with :math:`\dot\phi=-a\,\theta` and :math:`\dot\theta=-b\,\phi` (scalars
    :math:`a,b`), one step gives :math:`L_{k+1}=(1-\eta^2ab)L_k`; for the vanilla GAN
    :math:`a=\sigma(s)`, :math:`b=-(1-\sigma(s))`:

    .. math::

        L_{k+1}=\bigl(1+\eta^2\sigma(s_k)(1-\sigma(s_k))\bigr)L_k .

    Alternating GD conserves :math:`L` exactly (factor 1).

    Parameters
    ----------
    variant : str or DiracGAN
        ``vanilla``, ``saturating`` or ``gan_qp`` (the variants of the conservation theorem, l2 = 0).
    phi, theta : array-like, shape (..., 2)
        States before the step.
    lr : float
        Learning rate :math:`\eta`.
    **hparams : float
        ``lam`` for ``gan_qp``.

    Returns
    -------
    torch.Tensor, shape (...)
    """
    m = _model(variant, hparams)
    check_name(m.variant, ("vanilla", "saturating", "gan_qp"), "variant of the conservation theorem")
    if m.l2 != 0:
        raise ValueError("the factor holds without L2 (l2 = 0)")
    lr = check_positive(lr, "lr")
    p = as_tensor(phi, "phi", dtype=torch.float64)
    t = as_tensor(theta, "theta", dtype=torch.float64)
    s = (p * t).sum(-1)
    if m.variant in ("vanilla", "saturating"):
        a = torch.sigmoid(s)
        b = -(1 - a) if m.variant == "vanilla" else -a
    else:
        n = torch.linalg.vector_norm(t, dim=-1)
        a = 1 + torch.where(n > 0, s / (m.lam * torch.where(n > 0, n, torch.ones_like(n))), torch.zeros_like(n))
        b = -torch.ones_like(a)
    return 1 - lr * lr * a * b
