r"""The Dirac GAN at the equilibrium and under finite steps (Part I).

Linearisation of the flow of :mod:`gantools.dirac` at :math:`\phi=\theta=0` (its Jacobian
:math:`J`, a derivative of the autograd field, by :func:`torch.autograd.functional.jacobian`), the Jacobian of one gradient-descent step, simultaneous

.. math::
    (\phi,\theta)\leftarrow(\phi,\theta)+\eta\,v(\phi,\theta)

or alternating (discriminator first), the learning-rate thresholds of the zero-centred penalty in
closed form, and the exact factor by which one step multiplies the angular momentum.
The public names are re-exported by :mod:`gantools.dirac`.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ._validate import as_tensor, check_name, check_positive

__all__ = ["GD_METHODS", "jacobian", "jacobian_eigenvalues", "update_map_jacobian", "update_matrix", "spectral_radius",
           "critical_learning_rate", "threshold_simultaneous", "threshold_alternating", "crossover_lambda",
           "angular_momentum_factor"]

GD_METHODS: tuple[str, ...] = ("sim_gd", "alt_gd")
"""The two gradient-descent schemes: simultaneous and alternating (discriminator first)."""


def _model(variant: Any, hparams: dict[str, Any]):
    from .dirac import _model as m
    return m(variant, hparams)


def _method(method: str | None, scheme: str | None) -> str:
    if scheme is not None:  # the old keyword, kept working
        if method is not None and method != scheme:
            raise ValueError(f"give method= only (scheme= is its old name), got method={method!r}, scheme={scheme!r}")
        method = scheme
    return check_name("sim_gd" if method is None else method, GD_METHODS, "gradient-descent method")


def _require_smooth(m) -> None:
    if m.variant == "wgan":
        raise ValueError("the WGAN Dirac field is not differentiable at the equilibrium: "
                         "D = phi.x/|phi| is undefined at phi = 0")
    if not m.smooth_at_origin:
        raise ValueError(f"the WGAN-GP field with c = {m.c} is not differentiable at phi = 0 "
                         "(the term c*phi/|phi| has no limit there); use c = 0")


def _graph_field(m) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The autograd field, kept differentiable (``create_graph``) so that it can be differentiated again."""
    from .dirac import _losses

    def f(p: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            # fresh nodes: the gradient with respect to them is the partial derivative, even when
            # p already depends on t (the alternating step)
            p = p.clone() if p.requires_grad else p.detach().requires_grad_(True)
            t = t.clone() if t.requires_grad else t.detach().requires_grad_(True)
            ld, lg = _losses(m, p, t)
            (g_phi,) = torch.autograd.grad(ld.sum(), p, create_graph=True)
            (g_theta,) = torch.autograd.grad(lg.sum(), t, create_graph=True)
        return -g_phi, -g_theta

    return f


def _jac(fun: Callable[[torch.Tensor], torch.Tensor], n: int) -> torch.Tensor:
    """Jacobian at 0 by reverse-mode autograd (:func:`torch.autograd.functional.jacobian`)."""
    return torch.autograd.functional.jacobian(fun, torch.zeros(n, dtype=torch.float64))


def _joint_field(m, dim: int) -> Callable[[torch.Tensor], torch.Tensor]:
    f = _graph_field(m)

    def F(x: torch.Tensor) -> torch.Tensor:
        dp, dt = f(x[:dim], x[dim:])
        return torch.cat([dp, dt])

    return F


def _dim(dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive int, got {dim!r}")
    return dim


def jacobian(variant: Any, *, dim: int = 2, **hparams: float) -> torch.Tensor:
    r"""Jacobian :math:`J=\partial(\dot\phi,\dot\theta)/\partial(\phi,\theta)` at :math:`\phi=\theta=0`.

    Parameters
    ----------
    variant : str or DiracGAN
        A variant name (hyper-parameters as keywords) or a :class:`gantools.dirac.DiracGAN`.
    dim : int
        The dimension d of :math:`\phi` and :math:`\theta`.
    **hparams : float
        ``lam``, ``c``, ``l2``.

    Returns
    -------
    torch.Tensor, shape (2 d, 2 d)
        Computed by differentiating the autograd field once more; the state is ordered
        :math:`(\phi,\theta)`.

    Raises
    ------
    ValueError
        Where the field is not differentiable at the origin (``wgan``; ``wgan_gp`` with c != 0).
    """
    m = _model(variant, hparams)
    dim = _dim(dim)
    _require_smooth(m)
    return _jac(_joint_field(m, dim), 2 * dim)


def jacobian_eigenvalues(variant: Any, *, dim: int = 2, **hparams: float) -> torch.Tensor:
    """Complex eigenvalues of :func:`jacobian`, sorted by real, then imaginary part.

    Parameters
    ----------
    variant, dim, **hparams
        As in :func:`jacobian`.

    Returns
    -------
    torch.Tensor, shape (2 d,), complex
    """
    ev = torch.linalg.eigvals(jacobian(variant, dim=dim, **hparams))
    order = sorted(range(len(ev)), key=lambda i: (round(float(ev[i].real), 12), float(ev[i].imag)))
    return ev[order]


def update_map_jacobian(variant: Any, lr: float, *, method: str | None = None, dim: int = 2,
                        scheme: str | None = None, **hparams: float) -> torch.Tensor:
    r"""Jacobian at the origin of one gradient-descent step.

    Simultaneous: :math:`I+\eta J`. Alternating: the chain rule through the discriminator's step
    first. Both by differentiating the actual update (autograd through the autograd field).

    Parameters
    ----------
    variant : str or DiracGAN
    lr : float
        Learning rate :math:`\eta>0`.
    method : str
        ``"sim_gd"`` (default) or ``"alt_gd"`` (``scheme=`` is the old name of this keyword).
    dim : int
        Dimension d.
    **hparams : float
        ``lam``, ``c``, ``l2``.

    Returns
    -------
    torch.Tensor, shape (2 d, 2 d)
    """
    method = _method(method, scheme)
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

    return _jac(step, 2 * dim)


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
        The flow's Jacobian, e.g. from :func:`jacobian`.
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


def spectral_radius(variant: Any, lr: float, *, method: str | None = None, scheme: str | None = None,
                    **hparams: float) -> float:
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
    method = _method(method, scheme)
    jac = jacobian(variant, dim=1, **hparams)
    return float(torch.linalg.eigvals(update_matrix(jac, lr, method=method)).abs().max())


def critical_learning_rate(variant: Any, *, method: str | None = None, lr_max: float = 10.0,
                           tol: float = 1e-10, scheme: str | None = None, **hparams: float) -> float:
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
    method = _method(method, scheme)
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
