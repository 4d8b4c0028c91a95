r"""The Dirac GAN as a dynamical system (Part I).

The real distribution is a single point at the origin, the generator *is* its fake
point :math:`\theta\in\mathbb R^d`, and the discriminator is linear,
:math:`D_\phi(x)=\phi\cdot x` (for WGAN, :math:`\phi\cdot x/\lVert\phi\rVert`). Each variant
is a pair of losses :math:`(L_D, L_G)`, both minimised; gradient flow on them is the ODE

.. math::
    \dot\phi = -\nabla_\phi L_D(\phi,\theta), \qquad \dot\theta = -\nabla_\theta L_G(\phi,\theta).

==============  ==========================================================  ==========================
variant         :math:`L_D(\phi,\theta)`                                     :math:`L_G(\phi,\theta)`
==============  ==========================================================  ==========================
``vanilla``     :math:`\log(1+e^{\theta\cdot\phi}) + \log 2`                 :math:`\log(1+e^{-\theta\cdot\phi})`
``wgan``        :math:`\theta\cdot\phi/\lVert\phi\rVert`                     :math:`-\theta\cdot\phi/\lVert\phi\rVert`
``wgan_gp``     :math:`\theta\cdot\phi + \lambda(\lVert\phi\rVert-c)^2`      :math:`-\theta\cdot\phi`
``gan_qp``      :math:`\theta\cdot\phi + (\theta\cdot\phi)^2/(2\lambda\lVert\theta\rVert)`  :math:`-\theta\cdot\phi`
==============  ==========================================================  ==========================

``vanilla`` is the non-saturating GAN (the generator minimises :math:`-\log\sigma(D(\theta))`);
the real point contributes :math:`-\log\sigma(D(0)) = \log 2`, a constant. An optional
``l2`` adds :math:`\tfrac{l_2}{2}\lVert\phi\rVert^2` to :math:`L_D`.

:func:`vector_field` differentiates these losses with autograd; :func:`closed_form_field`
writes out the result by hand, as the source post does, so that the two can be compared.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch.func import grad, jacfwd

from ._validate import as_tensor, check_finite, check_name, check_positive

VARIANTS: tuple[str, ...] = ("vanilla", "wgan", "wgan_gp", "gan_qp")
"""The Dirac GAN variants of the source post."""

METHODS: tuple[str, ...] = ("rk4", "euler", "sim_gd", "alt_gd")
"""Integrators accepted by :func:`simulate`: two ODE solvers and two gradient-descent schemes."""

DEFAULT_HPARAMS: dict[str, dict[str, float]] = {
    "vanilla": {},
    "wgan": {},
    "wgan_gp": {"lam": 0.1, "c": 0.0},
    "gan_qp": {"lam": 1.0},
}
"""Default hyper-parameters (the post's: lambda = 0.1 for WGAN-GP, lambda = 1 for GAN-QP)."""

DTYPE = torch.float64


class DivergenceError(RuntimeError):
    """Raised by :func:`simulate` when the state becomes NaN or infinite."""


# --------------------------------------------------------------------------- helpers
def _safe_norm(v: torch.Tensor) -> torch.Tensor:
    """Euclidean norm over the last axis whose gradient at 0 is 0 instead of NaN."""
    sq = (v * v).sum(-1)
    pos = sq > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, sq, torch.ones_like(sq))), torch.zeros_like(sq))


def _hparams(variant: str, hp: dict[str, Any]) -> dict[str, float]:
    check_name(variant, VARIANTS, "Dirac GAN variant")
    allowed = set(DEFAULT_HPARAMS[variant]) | {"l2"}
    unknown = set(hp) - allowed
    if unknown:
        raise ValueError(f"unknown hyper-parameter(s) {sorted(unknown)} for variant {variant!r}; "
                         f"expected a subset of {sorted(allowed)}")
    out = dict(DEFAULT_HPARAMS[variant])
    out.update({k: v for k, v in hp.items() if v is not None})
    out.setdefault("l2", 0.0)
    for k, v in out.items():
        out[k] = check_positive(v, k, allow_zero=(k != "lam"))
    return out


def _state(phi: Any, theta: Any) -> tuple[torch.Tensor, torch.Tensor]:
    p = check_finite(as_tensor(phi, "phi", dtype=DTYPE), "phi")
    t = check_finite(as_tensor(theta, "theta", dtype=DTYPE), "theta")
    if p.ndim == 0 or t.ndim == 0:
        raise ValueError("phi and theta must have a last axis of size d >= 1 (shape (..., d)), "
                         f"got shapes {tuple(p.shape)} and {tuple(t.shape)}")
    if p.shape != t.shape:
        raise ValueError(f"phi and theta must have the same shape (..., d), got {tuple(p.shape)} and {tuple(t.shape)}")
    return p, t


# --------------------------------------------------------------------------- losses
def losses(variant: str, phi: torch.Tensor, theta: torch.Tensor, **hparams: float
           ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The pair :math:`(L_D, L_G)` of a variant, per state (shape ``(...)``) for inputs ``(..., d)``.

    See the module docstring for the formulas. The norms use a gradient-safe form, so
    that ``wgan_gp`` with ``c=0`` (where :math:`(\lVert\phi\rVert-0)^2=\lVert\phi\rVert^2`) and
    ``gan_qp`` at :math:`\theta=0` (where the quadratic term vanishes like :math:`\lVert\theta\rVert`)
    are differentiable at the origin.
    """
    return _losses(variant, phi, theta, _hparams(variant, hparams))


def _losses(variant: str, phi: torch.Tensor, theta: torch.Tensor, hp: dict[str, float]
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`losses` with validated hyper-parameters (no checks: the simulation's inner loop)."""
    s = (theta * phi).sum(-1)  # D(theta) = theta . phi
    if variant == "vanilla":
        ld = torch.nn.functional.softplus(s) + np.log(2.0)
        lg = torch.nn.functional.softplus(-s)
    elif variant == "wgan":
        d_fake = s / torch.linalg.vector_norm(phi, dim=-1)
        ld, lg = d_fake, -d_fake
    elif variant == "wgan_gp":
        lam, c = hp["lam"], hp["c"]
        # lam * (|phi| - c)^2 expanded, so that c = 0 gives the smooth lam*|phi|^2
        sq = (phi * phi).sum(-1)
        pen = lam * sq if c == 0 else lam * (sq - 2 * c * _safe_norm(phi) + c * c)
        ld, lg = s + pen, -s
    else:  # gan_qp
        lam = hp["lam"]
        r = _safe_norm(theta)
        quad = torch.where(r > 0, s * s / (2 * lam * torch.where(r > 0, r, torch.ones_like(r))), torch.zeros_like(r))
        ld, lg = s + quad, -s
    if hp["l2"] > 0:
        ld = ld + 0.5 * hp["l2"] * (phi * phi).sum(-1)
    return ld, lg


def vector_field(variant: str, phi: Any, theta: Any, *, lam: float | None = None,
                 c: float | None = None, l2: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gradient-flow velocity :math:`(\dot\phi, \dot\theta)` of a Dirac GAN, derived by autograd.

    :math:`\dot\phi = -\nabla_\phi L_D`, :math:`\dot\theta = -\nabla_\theta L_G` for the losses of
    :func:`losses`. Inputs are array-likes of shape ``(..., d)`` (any leading batch shape);
    outputs are float64 tensors of the same shape. Each state's losses depend only on that
    state, so the gradient of the summed loss is the per-state gradient.

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS`.
    phi, theta : array-like, shape (..., d)
        Discriminator and generator parameters.
    lam, c : float, optional
        Penalty weight (``wgan_gp``, ``gan_qp``) and centre (``wgan_gp``); defaults in
        :data:`DEFAULT_HPARAMS`.
    l2 : float
        Weight of :math:`\tfrac{l_2}{2}\lVert\phi\rVert^2` added to the discriminator's loss.
    """
    hp = _hparams(variant, _collect(variant, lam=lam, c=c, l2=l2))
    p, t = _state(phi, theta)
    if variant == "wgan" and bool((p.abs().sum(-1) == 0).any()):
        raise ValueError("the WGAN Dirac field is undefined at phi = 0 (D = phi.x/|phi|); "
                         "start from a non-zero phi")
    return _field(variant, hp)(p, t)


def _collect(variant: str, **kw: float | None) -> dict[str, float]:
    """Keep only the keyword hyper-parameters that were given and that the variant uses."""
    out = {k: v for k, v in kw.items() if v is not None}
    if out.get("l2", 0.0) == 0.0:
        out.pop("l2", None)
    unused = set(out) - set(DEFAULT_HPARAMS[check_name(variant, VARIANTS, "Dirac GAN variant")]) - {"l2"}
    if unused:
        raise ValueError(f"variant {variant!r} takes no {sorted(unused)}; it takes "
                         f"{sorted(set(DEFAULT_HPARAMS[variant]) | {'l2'})}")
    return out


def _field(variant: str, hp: dict[str, float]) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The autograd field as a function of (phi, theta) tensors, hyper-parameters fixed.

    One forward pass through both losses, then ``torch.autograd.grad`` for each player
    (three times cheaper per call than :func:`torch.func.grad`, which re-runs the forward).
    """
    def f(p: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            p = p.detach().requires_grad_(True)
            t = t.detach().requires_grad_(True)
            ld, lg = _losses(variant, p, t, hp)
            (g_phi,) = torch.autograd.grad(ld.sum(), p, retain_graph=True)
            (g_theta,) = torch.autograd.grad(lg.sum(), t)
        return -g_phi, -g_theta

    return f


def _field_func(variant: str, hp: dict[str, float]) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The same field through :func:`torch.func.grad`, composable with ``jacfwd`` (Jacobians)."""
    def ld(p, t):
        return _losses(variant, p, t, hp)[0].sum()

    def lg(t, p):
        return _losses(variant, p, t, hp)[1].sum()

    g_phi, g_theta = grad(ld), grad(lg)

    def f(p: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return -g_phi(p, t), -g_theta(t, p)

    return f


def closed_form_field(variant: str, phi: Any, theta: Any, *, lam: float | None = None,
                      c: float | None = None, l2: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The same velocity written out by hand, as in the source post.

    * vanilla: :math:`\dot\phi=-\sigma(\theta\cdot\phi)\,\theta`, :math:`\dot\theta=(1-\sigma(\theta\cdot\phi))\,\phi`
    * wgan: :math:`\dot\phi=-\theta/\lVert\phi\rVert+(\theta\cdot\phi)\phi/\lVert\phi\rVert^3`, :math:`\dot\theta=\phi/\lVert\phi\rVert`
    * wgan_gp: :math:`\dot\phi=-\theta-2\lambda(1-c/\lVert\phi\rVert)\phi`, :math:`\dot\theta=\phi`
    * gan_qp: :math:`\dot\phi=-\theta-(\theta\cdot\phi)\theta/(\lambda\lVert\theta\rVert)`, :math:`\dot\theta=\phi`

    and :math:`-l_2\phi` added to :math:`\dot\phi`. At :math:`\phi=0` (``wgan_gp``, :math:`c>0`) and
    :math:`\theta=0` (``gan_qp``) the singular term is taken as 0, matching :func:`vector_field`.
    """
    hp = _hparams(variant, _collect(variant, lam=lam, c=c, l2=l2))
    p, t = _state(phi, theta)
    if variant == "wgan" and bool((p.abs().sum(-1) == 0).any()):
        raise ValueError("the WGAN Dirac field is undefined at phi = 0; start from a non-zero phi")
    return _closed(variant, hp)(p, t)


def _closed(variant: str, hp: dict[str, float]) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The hand-written field as a function of (phi, theta) tensors (no input checks)."""
    lam, c, l2 = hp.get("lam", 1.0), hp.get("c", 0.0), hp["l2"]

    def f(p: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = (t * p).sum(-1, keepdim=True)
        if variant == "vanilla":
            sig = torch.sigmoid(s)
            dp, dt = -sig * t, (1 - sig) * p
        elif variant == "wgan":
            n = torch.linalg.vector_norm(p, dim=-1, keepdim=True)
            dp, dt = -t / n + s * p / n**3, p / n
        elif variant == "wgan_gp":
            n = torch.linalg.vector_norm(p, dim=-1, keepdim=True)
            unit = torch.where(n > 0, p / torch.where(n > 0, n, torch.ones_like(n)), torch.zeros_like(p))
            dp, dt = -t - 2 * lam * (p - c * unit), p
        else:
            n = torch.linalg.vector_norm(t, dim=-1, keepdim=True)
            unit = torch.where(n > 0, t / torch.where(n > 0, n, torch.ones_like(n)), torch.zeros_like(t))
            dp, dt = -t - s * unit / lam, p
        return (dp - l2 * p if l2 else dp), dt

    return f


# --------------------------------------------------------------------------- simulation
@dataclass
class Trajectory:
    """A simulated trajectory: ``t`` has shape ``(T,)``; ``phi`` and ``theta`` ``(T, *batch, d)``."""

    t: torch.Tensor
    phi: torch.Tensor
    theta: torch.Tensor
    variant: str
    method: str
    hparams: dict[str, float]

    @property
    def radius(self) -> torch.Tensor:
        r""":math:`\lVert\theta(t)\rVert`, shape ``(T, *batch)``."""
        return torch.linalg.vector_norm(self.theta, dim=-1)


FIELDS: tuple[str, ...] = ("autograd", "closed")
"""How :func:`simulate` evaluates the velocity: by autograd of the losses, or the hand-written form."""


def simulate(variant: str, phi0: Any, theta0: Any, *, t_end: float, dt: float, method: str = "rk4",
             save_every: int = 1, field: str = "autograd", **hparams: float) -> Trajectory:
    r"""Integrate a Dirac GAN from ``(phi0, theta0)`` (shape ``(..., d)``, any batch) to ``t_end``.

    Methods
    -------
    ``"rk4"``, ``"euler"``
        Classical Runge--Kutta 4 and forward Euler on the ODE with step ``dt``.
    ``"sim_gd"``
        Simultaneous gradient descent with learning rate ``dt``:
        :math:`(\phi,\theta)\leftarrow(\phi,\theta)+\eta\,v(\phi,\theta)` (this *is* Euler).
    ``"alt_gd"``
        Alternating gradient descent, discriminator first:
        :math:`\phi\leftarrow\phi+\eta v_\phi(\phi,\theta)`, then
        :math:`\theta\leftarrow\theta+\eta v_\theta(\phi_{\text{new}},\theta)`.

    For the GD schemes step :math:`k` is reported at time :math:`k\eta`, so that they can be
    compared with the ODE on one axis. States are stored every ``save_every`` steps (and at the
    end). ``field="closed"`` uses :func:`closed_form_field` (about 6x faster, equal to the
    autograd field to rounding error, as the tests check) for long runs.
    Raises :class:`DivergenceError` if the state becomes NaN or infinite, naming the step.
    """
    check_name(method, METHODS, "integration method")
    check_name(field, FIELDS, "field evaluation")
    hp = _hparams(variant, {k: v for k, v in hparams.items()})
    dt = check_positive(dt, "dt")
    t_end = check_positive(t_end, "t_end")
    if not isinstance(save_every, int) or save_every < 1:
        raise ValueError(f"save_every must be a positive int, got {save_every!r}")
    p, t = _state(phi0, theta0)
    if variant == "wgan" and bool((p.abs().sum(-1) == 0).any()):
        raise ValueError("the WGAN Dirac field is undefined at phi = 0; start from a non-zero phi")
    f = _field(variant, hp) if field == "autograd" else _closed(variant, hp)
    n_steps = int(round(t_end / dt))
    if n_steps < 1:
        raise ValueError(f"t_end / dt must give at least one step, got t_end={t_end}, dt={dt}")
    ts, ps, ths = [0.0], [p], [t]
    for k in range(1, n_steps + 1):
        if method in ("euler", "sim_gd"):
            dp, dth = f(p, t)
            p, t = p + dt * dp, t + dt * dth
        elif method == "alt_gd":
            p = p + dt * f(p, t)[0]
            t = t + dt * f(p, t)[1]
        else:  # rk4 on the joint state
            k1 = f(p, t)
            k2 = f(p + 0.5 * dt * k1[0], t + 0.5 * dt * k1[1])
            k3 = f(p + 0.5 * dt * k2[0], t + 0.5 * dt * k2[1])
            k4 = f(p + dt * k3[0], t + dt * k3[1])
            p = p + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            t = t + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        if k % save_every == 0 or k == n_steps:
            if not (torch.isfinite(p).all() and torch.isfinite(t).all()):
                raise DivergenceError(f"{variant} ({method}, dt={dt}) diverged: the state became "
                                      f"non-finite by step {k} (t = {k * dt:.4g})")
            ts.append(k * dt)
            ps.append(p)
            ths.append(t)
    return Trajectory(torch.tensor(ts, dtype=DTYPE), torch.stack(ps), torch.stack(ths), variant, method, hp)


# --------------------------------------------------------------------------- linearisation
def _joint_field(variant: str, hp: dict[str, float], dim: int) -> Callable[[torch.Tensor], torch.Tensor]:
    f = _field_func(variant, hp)

    def F(x: torch.Tensor) -> torch.Tensor:
        dp, dt = f(x[:dim], x[dim:])
        return torch.cat([dp, dt])

    return F


def _check_differentiable_at_origin(variant: str, hp: dict[str, float]) -> None:
    if variant == "wgan":
        raise ValueError("the WGAN Dirac field is not differentiable at the equilibrium: "
                         "D = phi.x/|phi| is undefined at phi = 0")
    if variant == "wgan_gp" and hp["c"] != 0:
        raise ValueError(f"the WGAN-GP field with c = {hp['c']} is not differentiable at phi = 0 "
                         "(the term c*phi/|phi| has no limit there); use c = 0")


def jacobian(variant: str, *, dim: int = 2, **hparams: float) -> torch.Tensor:
    r"""Jacobian :math:`\partial(\dot\phi,\dot\theta)/\partial(\phi,\theta)` at :math:`\phi=\theta=0`.

    Computed with :func:`torch.func.jacfwd`; the state is ordered :math:`(\phi, \theta)`.
    Raises ``ValueError`` where the field is not differentiable at the origin
    (``wgan``; ``wgan_gp`` with :math:`c\neq 0`).
    """
    hp = _hparams(variant, hparams)
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive int, got {dim!r}")
    _check_differentiable_at_origin(variant, hp)
    return jacfwd(_joint_field(variant, hp, dim))(torch.zeros(2 * dim, dtype=DTYPE))


def jacobian_eigenvalues(variant: str, *, dim: int = 2, **hparams: float) -> torch.Tensor:
    """Complex eigenvalues of :func:`jacobian` (sorted by real, then imaginary part)."""
    ev = torch.linalg.eigvals(jacobian(variant, dim=dim, **hparams))
    return _sort_complex(ev)


def update_map_jacobian(variant: str, lr: float, *, scheme: str = "sim_gd", dim: int = 2,
                        **hparams: float) -> torch.Tensor:
    r"""Jacobian at the origin of one step of gradient descent (``"sim_gd"`` or ``"alt_gd"``).

    Simultaneous: :math:`I+\eta J`. Alternating: the chain rule through the discriminator's
    step first. Both computed by :func:`torch.func.jacfwd` of the actual update.
    """
    check_name(scheme, ("sim_gd", "alt_gd"), "gradient-descent scheme")
    lr = check_positive(lr, "lr")
    hp = _hparams(variant, hparams)
    _check_differentiable_at_origin(variant, hp)
    f = _field_func(variant, hp)

    def step(x: torch.Tensor) -> torch.Tensor:
        p, t = x[:dim], x[dim:]
        if scheme == "sim_gd":
            dp, dth = f(p, t)
            return torch.cat([p + lr * dp, t + lr * dth])
        p2 = p + lr * f(p, t)[0]
        return torch.cat([p2, t + lr * f(p2, t)[1]])

    return jacfwd(step)(torch.zeros(2 * dim, dtype=DTYPE))


def spectral_radius(variant: str, lr: float, *, scheme: str = "sim_gd", **hparams: float) -> float:
    """Largest eigenvalue modulus of the GD update map at the origin (< 1: locally convergent)."""
    m = update_map_jacobian(variant, lr, scheme=scheme, dim=1, **hparams)
    return float(torch.linalg.eigvals(m).abs().max())


def critical_learning_rate(variant: str, *, scheme: str = "sim_gd", lr_max: float = 10.0,
                           tol: float = 1e-10, **hparams: float) -> float:
    r"""Smallest learning rate at which the GD update map stops being a contraction at 0.

    Bisection on :math:`\rho(\eta)-1` over :math:`(0, \eta_{\max}]`, assuming the map is
    contracting for small :math:`\eta` (it returns ``0.0`` if it is not: no learning rate
    converges) and returns ``inf`` if it is still contracting at ``lr_max``.
    """
    lo = 1e-9
    if spectral_radius(variant, lo, scheme=scheme, **hparams) >= 1:
        return 0.0
    hi = float(lr_max)
    if spectral_radius(variant, hi, scheme=scheme, **hparams) < 1:
        return float("inf")
    while hi - lo > tol * max(1.0, hi):
        mid = 0.5 * (lo + hi)
        if spectral_radius(variant, mid, scheme=scheme, **hparams) < 1:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _sort_complex(ev: torch.Tensor) -> torch.Tensor:
    order = sorted(range(len(ev)), key=lambda i: (round(float(ev[i].real), 12), float(ev[i].imag)))
    return ev[order]


# --------------------------------------------------------------------------- invariants
def _check_2d(phi: torch.Tensor, theta: torch.Tensor) -> None:
    if phi.shape[-1] != 2:
        raise ValueError(f"this quantity is defined for d = 2 (shape (..., 2)), got d = {phi.shape[-1]}")


def angular_momentum(phi: Any, theta: Any) -> torch.Tensor:
    r""":math:`L=\theta\times\phi=\theta_1\phi_2-\theta_2\phi_1` (2-D only), shape ``(...)``.

    Conserved by the vanilla and GAN-QP flows; decays like :math:`e^{-l_2 t}` with L2.
    """
    p, t = _state(phi, theta)
    _check_2d(p, t)
    return t[..., 0] * p[..., 1] - t[..., 1] * p[..., 0]


def energy(phi: Any, theta: Any) -> torch.Tensor:
    r""":math:`E=\lVert\theta\rVert^2+\lVert\phi\rVert^2`; non-increasing for vanilla, WGAN-GP (c=0) and GAN-QP."""
    p, t = _state(phi, theta)
    return (p * p).sum(-1) + (t * t).sum(-1)


def wgan_invariant(phi: Any, theta: Any) -> torch.Tensor:
    r"""The 2-D WGAN flow's second conserved quantity (the first is :math:`\lVert\phi\rVert`).

    With :math:`\rho=\lVert\phi\rVert` and :math:`b=(\theta\times\phi)/\rho` (the component of
    :math:`\theta` across the critic's direction),
    :math:`H=\tfrac12\lVert\theta\rVert^2-\rho^2\log\lvert b\rvert`. Undefined where :math:`b=0`.
    """
    p, t = _state(phi, theta)
    _check_2d(p, t)
    rho = torch.linalg.vector_norm(p, dim=-1)
    b = (t[..., 0] * p[..., 1] - t[..., 1] * p[..., 0]) / rho
    return 0.5 * (t * t).sum(-1) - rho**2 * torch.log(b.abs())


def ema(x: Any, decay: float) -> torch.Tensor:
    r"""Exponential moving average along the first (time) axis, started at the first value.

    :math:`\bar x_0=x_0`, :math:`\bar x_k=\beta\bar x_{k-1}+(1-\beta)x_k` with :math:`\beta` =
    ``decay`` -- the recursion :class:`torch.optim.swa_utils.AveragedModel` applies to weights,
    run here over a stored trajectory with :func:`scipy.signal.lfilter`.
    """
    from scipy.signal import lfilter

    beta = check_positive(decay, "decay")
    if not beta < 1:
        raise ValueError(f"decay must be in (0, 1), got {decay}")
    arr = check_finite(as_tensor(x, "x", dtype=DTYPE), "x").numpy()
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError("x must have a non-empty time axis first, shape (T, ...)")
    zi = (beta * arr[0])[None]
    out, _ = lfilter([1 - beta], [1.0, -beta], arr, axis=0, zi=zi)
    return torch.from_numpy(out)


def ema_gain(decay: float, omega: float, h: float) -> float:
    r"""Steady-state amplitude factor of an EMA applied to a rotation :math:`e^{i\omega k h}`.

    :math:`\lvert(1-\beta)/(1-\beta e^{-i\omega h})\rvert` -- how much averaging shrinks a
    circular oscillation of angular frequency :math:`\omega` sampled every :math:`h`.
    """
    beta = check_positive(decay, "decay")
    try:
        omega = float(omega)
    except (TypeError, ValueError) as err:
        raise TypeError(f"omega must be a real number, got {omega!r}") from err
    if not np.isfinite(omega):
        raise ValueError(f"omega must be finite, got {omega!r}")
    h = check_positive(h, "h")
    z = (1 - beta) / (1 - beta * np.exp(-1j * omega * h))
    return float(abs(z))


END_STATES: tuple[str, ...] = ("equilibrium", "bounded", "diverges")
"""Labels returned by :func:`end_state`."""


def end_state(tr: Trajectory, *, frac: float = 0.1, tol: float = 1e-3, blowup: float = 10.0) -> list[str]:
    r"""Classify how each trajectory in a batch ends, from :math:`\lVert\theta\rVert` over its last ``frac``.

    ``"equilibrium"`` if the largest radius there is below ``tol`` times the starting radius;
    ``"diverges"`` if the radius there exceeds ``blowup`` times the start *and* is still growing
    (the maximum over the second half of the window exceeds that over the first half by more
    than 1%); ``"bounded"`` (it keeps moving in a bounded region, or has settled on a large orbit)
    otherwise. A heuristic for tables; the notebooks back each label with the analysis.
    """
    r = tr.radius.reshape(tr.radius.shape[0], -1)
    r0 = r[0].clamp_min(1e-300)
    w = r[-max(2, int(frac * r.shape[0])):]
    half = w.shape[0] // 2
    out = []
    for j in range(r.shape[1]):
        wj = w[:, j]
        if float(wj.max()) < tol * float(r0[j]):
            out.append("equilibrium")
        elif float(wj.min()) > blowup * float(r0[j]) and float(wj[half:].max()) > 1.01 * float(wj[:half].max()):
            out.append("diverges")
        else:
            out.append("bounded")
    return out
