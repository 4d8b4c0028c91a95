r"""The Dirac GAN as a dynamical system (Part I).

The real distribution is a single point at the origin, the generator *is* its fake point
:math:`\theta\in\mathbb R^d`, and the discriminator is linear, :math:`D_\phi(x)=\phi\cdot x` (for
WGAN, :math:`\phi\cdot x/\lVert\phi\rVert`). Each variant is a pair of losses
:math:`(\mathcal L_D, \mathcal L_G)`, both minimised, written with :math:`s=\theta\cdot\phi=D(\theta)`; gradient
flow on them is the ODE

.. math::

    \dot\phi = -\nabla_\phi \mathcal L_D(\phi,\theta), \qquad \dot\theta = -\nabla_\theta \mathcal L_G(\phi,\theta).

The variants, their losses and their default hyper-parameters are defined once, in
:data:`VARIANT_TABLE`; a variant together with its hyper-parameters is one validated object,
:class:`DiracGAN`. The post's starting point is :data:`PHI0`, :data:`THETA0`.

``vanilla`` is the non-saturating GAN (the generator minimises :math:`-\log\sigma(D(\theta))`),
``saturating`` the original minimax GAN (it minimises :math:`\log(1-\sigma(D(\theta)))`), the loss of
the Dirac GAN of Mescheder et al. The real point contributes :math:`-\log\sigma(D(0))=\log 2`, a
constant. An optional ``l2`` adds :math:`\tfrac{l_2}{2}\lVert\phi\rVert^2` to :math:`\mathcal L_D`.

Two more remedies of Mescheder et al. are fields of the same object: **instance noise**
(``noise`` :math:`=\sigma_{\text{noise}}`: real and fake points blurred by :math:`\mathcal N(0,\sigma_{\text{noise}}^2I)`, for the
logistic losses; the expectations are taken by Gauss--Hermite quadrature) and **consensus
optimisation** (``consensus`` :math:`=\lambda_{\text{CO}}`: the field :math:`v-\lambda_{\text{CO}}\nabla\tfrac12\lVert v\rVert^2`).

:func:`vector_field` differentiates these losses with autograd; :func:`closed_form_field`
writes out the result by hand, as the source post does, so that the two can be compared;
:func:`simulate` uses the hand-written field unless asked for autograd (``field="autograd"``),
or where a model has none (instance noise, consensus optimisation).
:func:`jacobian` linearises the flow at the equilibrium and :func:`equilibrium_eigenvalues`
gives its eigenvalues derived by hand. :func:`integrate` is the book's one
Dirac GAN integrator (RK4, Euler, simultaneous and alternating gradient descent) for any field
on any state that supports ``+`` and scalar ``*``: :func:`simulate` runs it on this module's
fields, :func:`gantools.twotimescale.simulate_dirac` on the two-time-scale field and the
Part I explorer on Python floats. Discrete gradient descent at the equilibrium (update maps,
learning-rate thresholds) lives in :mod:`gantools.dirac_gd`, which builds on this module.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from scipy.special import expit

from ._validate import as_tensor, check_finite, check_name, check_positive
from .errors import DivergenceError

__all__ = [
    "VARIANTS", "VARIANT_TABLE", "Variant", "DEFAULT_HPARAMS", "METHODS", "FIELDS", "PHI0", "THETA0",
    "DiracGAN", "Trajectory", "losses", "vector_field", "field_from_losses", "closed_form_field", "jacobian",
    "jacobian_eigenvalues", "equilibrium_eigenvalues", "NOISE_VARIANTS", "integrate", "simulate",
    "angular_momentum", "angular_momentum_matrix", "squared_norm", "wgan_invariant", "ema", "ema_gain",
    "END_STATES", "EndState", "end_state", "envelope_growth", "variant_table_markdown",
]

DTYPE = torch.float64


# --------------------------------------------------------------------------- the variant table
@dataclass(frozen=True)
class Variant:
    """One Dirac GAN variant: its name, its losses (LaTeX, with :math:`s=\\theta\\cdot\\phi`) and defaults.

    Attributes
    ----------
    name : str
        The key used throughout gantools (``"vanilla"``, ...).
    title : str
        The name a reader sees.
    loss_d, loss_g : str
        The discriminator's and the generator's loss in LaTeX.
    defaults : dict[str, float]
        The hyper-parameters the variant takes besides ``l2``, with the post's values.
    """

    name: str
    title: str
    loss_d: str
    loss_g: str
    defaults: dict[str, float] = field(default_factory=dict)


VARIANT_TABLE: dict[str, Variant] = {v.name: v for v in (
    Variant("vanilla", "vanilla (non-saturating)", r"\log(1+e^{s})+\log 2", r"\log(1+e^{-s})"),
    Variant("saturating", "saturating (minimax)", r"\log(1+e^{s})+\log 2", r"-\log(1+e^{s})"),
    Variant("wgan", r"WGAN, $D=\phi\cdot x/\lVert\phi\rVert$", r"s/\lVert\phi\rVert", r"-s/\lVert\phi\rVert"),
    Variant("wgan_gp", "WGAN-GP", r"s+\lambda(\lVert\phi\rVert-c)^2", r"-s", {"lam": 0.1, "c": 0.0}),
    Variant("gan_qp", "GAN-QP", r"s+\dfrac{s^2}{2\lambda\lVert\theta\rVert}", r"-s", {"lam": 1.0}),
)}
"""Every Dirac GAN variant, defined once (the post's four, and the saturating loss of Mescheder et al.)."""

VARIANTS: tuple[str, ...] = tuple(VARIANT_TABLE)
"""The variant names, in the order of :data:`VARIANT_TABLE`."""

DEFAULT_HPARAMS: dict[str, dict[str, float]] = {k: dict(v.defaults) for k, v in VARIANT_TABLE.items()}
"""Default hyper-parameters per variant (the post's: lambda = 0.1 for WGAN-GP, lambda = 1 for GAN-QP)."""

METHODS: tuple[str, ...] = ("rk4", "euler", "sim_gd", "alt_gd")
"""Integrators accepted by :func:`simulate`: two ODE solvers and two gradient-descent schemes."""

FIELDS: tuple[str, ...] = ("closed", "autograd")
"""How :func:`simulate` evaluates the velocity: the hand-written form (the default where a model has
one), or autograd of the losses."""

NOISE_VARIANTS: tuple[str, ...] = ("vanilla", "saturating")
"""The variants that take instance noise (for the linear critics of the others the blur averages out)."""

_GH_NODES = 12  # Gauss--Hermite nodes per dimension for the instance-noise expectations

PHI0: tuple[float, float] = (0.1, 0.2)
"""The source post's starting discriminator :math:`\\phi_0`."""

THETA0: tuple[float, float] = (0.2, 0.1)
"""The source post's starting generator :math:`\\theta_0`."""


def variant_table_markdown() -> str:
    """The variant table as a Markdown table (for a notebook to display).

    Returns
    -------
    str
        One row per variant: name, :math:`\\mathcal L_D`, :math:`\\mathcal L_G`, default hyper-parameters.
    """
    rows = ["| variant | $\\mathcal L_D(\\phi,\\theta)$ | $\\mathcal L_G(\\phi,\\theta)$ | defaults |", "|---|---|---|---|"]
    for v in VARIANT_TABLE.values():
        hp = ", ".join(f"$\\lambda={x:g}$" if k == "lam" else f"${k}={x:g}$" for k, x in v.defaults.items())
        rows.append(f"| `{v.name}`: {v.title} | ${v.loss_d}$ | ${v.loss_g}$ | {hp or '—'} |")
    return "\n".join(rows)


# --------------------------------------------------------------------------- the parameter object
@dataclass(frozen=True)
class DiracGAN:
    r"""A Dirac GAN variant with its hyper-parameters, validated once.

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS`.
    lam : float, optional
        Penalty weight :math:`\lambda>0` (``wgan_gp``, ``gan_qp`` only; default from
        :data:`VARIANT_TABLE`).
    c : float, optional
        Penalty centre :math:`c\ge0` (``wgan_gp`` only; default 0).
    l2 : float
        Weight :math:`l_2\ge0` of :math:`\tfrac{l_2}{2}\lVert\phi\rVert^2` added to :math:`\mathcal L_D`.
    noise : float
        Instance noise :math:`\sigma_{\text{noise}}\ge0` (``vanilla``, ``saturating`` only): both losses are
        averaged over real points :math:`\varepsilon_r` and fake points :math:`\theta+\varepsilon_f`,
        :math:`\varepsilon\sim\mathcal N(0,\sigma_{\text{noise}}^2I)` (Mescheder et al. 2018, Sec. 3).
    consensus : float
        Consensus optimisation weight :math:`\lambda_{\text{CO}}\ge0` (Mescheder et al. 2017): the field becomes
        :math:`v-\lambda_{\text{CO}}\nabla_{(\phi,\theta)}\tfrac12\lVert v\rVert^2`.

    Raises
    ------
    ValueError
        For an unknown variant, a hyper-parameter the variant does not take (one policy: always
        raise, never ignore), or a value out of range.

    Examples
    --------
    >>> DiracGAN("wgan_gp", c=1.0).hparams
    {'lam': 0.1, 'c': 1.0, 'l2': 0.0}
    """

    variant: str
    lam: float | None = None
    c: float | None = None
    l2: float = 0.0
    noise: float = 0.0
    consensus: float = 0.0

    def __post_init__(self) -> None:
        check_name(self.variant, VARIANTS, "Dirac GAN variant")
        takes = VARIANT_TABLE[self.variant].defaults
        for key in ("lam", "c"):
            value = getattr(self, key)
            if key not in takes:
                if value is not None:
                    raise ValueError(f"variant {self.variant!r} takes no {key!r}; it takes "
                                     f"{sorted(set(takes) | {'l2'})}")
                continue
            value = takes[key] if value is None else value
            object.__setattr__(self, key, check_positive(value, key, allow_zero=(key == "c")))
        for key in ("l2", "noise", "consensus"):
            object.__setattr__(self, key, check_positive(getattr(self, key), key, allow_zero=True))
        if self.noise > 0 and self.variant not in NOISE_VARIANTS:
            raise ValueError(f"instance noise is defined for the variants {list(NOISE_VARIANTS)}, not {self.variant!r} "
                             "(its critic is linear in x, so blurring the points changes no expectation)")

    @classmethod
    def from_kwargs(cls, variant: str, **hparams: float | None) -> "DiracGAN":
        """Build from keyword hyper-parameters, rejecting names no variant takes.

        Parameters
        ----------
        variant : str
            One of :data:`VARIANTS`.
        **hparams : float
            ``lam``, ``c``, ``l2``, ``noise``, ``consensus``; a value ``None`` means the default.

        Returns
        -------
        DiracGAN
        """
        unknown = set(hparams) - {"lam", "c"} - set(_MODIFIERS)
        if unknown:
            check_name(variant, VARIANTS, "Dirac GAN variant")
            raise ValueError(f"unknown hyper-parameter(s) {sorted(unknown)} for variant {variant!r}; "
                             f"expected a subset of {sorted(set(VARIANT_TABLE[variant].defaults) | set(_MODIFIERS))}")
        mods = {k: (0.0 if hparams.get(k) is None else hparams[k]) for k in _MODIFIERS}
        return cls(variant, lam=hparams.get("lam"), c=hparams.get("c"), **mods)

    @property
    def hparams(self) -> dict[str, float]:
        """The hyper-parameters the variant uses, ``l2``, and ``noise``, ``consensus`` where set (a fresh dict)."""
        out = {k: getattr(self, k) for k in VARIANT_TABLE[self.variant].defaults}
        out["l2"] = self.l2
        out.update({k: getattr(self, k) for k in ("noise", "consensus") if getattr(self, k) > 0})
        return out

    @property
    def has_closed_form(self) -> bool:
        """Whether :meth:`closed_field` exists: every variant, with or without L2, but not with
        instance noise or consensus optimisation (those fields come from autograd only)."""
        return self.noise == 0 and self.consensus == 0

    @property
    def smooth_at_origin(self) -> bool:
        """Whether the field is differentiable at :math:`\\phi=\\theta=0` (not ``wgan``; ``wgan_gp`` only with c = 0)."""
        return self.variant != "wgan" and not (self.variant == "wgan_gp" and self.c != 0)

    def label(self) -> str:
        """A short label, e.g. ``"wgan_gp, lam=0.1, c=1"``.

        Returns
        -------
        str
        """
        extra = [f"{k}={v:g}" for k, v in self.hparams.items() if not (k in _MODIFIERS and v == 0)]
        return self.variant + (", " + ", ".join(extra) if extra else "")

    # thin methods over the module functions -------------------------------------------------
    def field(self, phi: Any, theta: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The autograd velocity, see :func:`vector_field`.

        Parameters
        ----------
        phi, theta : array-like, shape (..., d)

        Returns
        -------
        (torch.Tensor, torch.Tensor), each float64 of shape (..., d)
        """
        p, t = _state(phi, theta)
        self._check_state(p)
        return _field(self)(p, t)

    def closed_field(self, phi: Any, theta: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The hand-written velocity, see :func:`closed_form_field`.

        Parameters
        ----------
        phi, theta : array-like, shape (..., d)

        Returns
        -------
        (torch.Tensor, torch.Tensor), each float64 of shape (..., d)
        """
        p, t = _state(phi, theta)
        self._check_state(p)
        if not self.has_closed_form:
            raise ValueError(f"{self.label()} has no hand-written field (instance noise and consensus optimisation "
                             "come from autograd only); use field() / vector_field")
        dp, dt = _closed_np(self)(p.numpy(), t.numpy())
        return torch.from_numpy(np.asarray(dp, dtype=np.float64)), torch.from_numpy(np.asarray(dt, dtype=np.float64))

    def simulate(self, phi0: Any, theta0: Any, **kwargs: Any) -> "Trajectory":
        """Integrate from ``(phi0, theta0)``, see :func:`simulate`.

        Parameters
        ----------
        phi0, theta0 : array-like, shape (..., d)
        **kwargs
            ``t_end``, ``dt``, ``method``, ``save_every``, ``field`` as in :func:`simulate`.

        Returns
        -------
        Trajectory
        """
        return _simulate(self, phi0, theta0, **kwargs)

    def _check_state(self, p: torch.Tensor) -> None:
        if self.variant == "wgan" and bool((p.abs().sum(-1) == 0).any()):
            raise ValueError("the WGAN Dirac field is undefined at phi = 0 (D = phi.x/|phi|); "
                             "start from a non-zero phi")


_MODIFIERS: tuple[str, ...] = ("l2", "noise", "consensus")


def _model(variant: str | DiracGAN, hparams: dict[str, Any]) -> DiracGAN:
    if isinstance(variant, DiracGAN):
        if hparams:
            raise ValueError(f"pass hyper-parameters either in the DiracGAN object or as keywords, not both: {sorted(hparams)}")
        return variant
    return DiracGAN.from_kwargs(variant, **hparams)


# --------------------------------------------------------------------------- helpers
def _safe_norm(v: torch.Tensor) -> torch.Tensor:
    """Euclidean norm over the last axis whose gradient at 0 is 0 instead of NaN."""
    sq = (v * v).sum(-1)
    pos = sq > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, sq, torch.ones_like(sq))), torch.zeros_like(sq))


def _state(phi: Any, theta: Any) -> tuple[torch.Tensor, torch.Tensor]:
    p = check_finite(as_tensor(phi, "phi", dtype=DTYPE), "phi")
    t = check_finite(as_tensor(theta, "theta", dtype=DTYPE), "theta")
    if p.ndim == 0 or t.ndim == 0:
        raise ValueError("phi and theta must have a last axis of size d >= 1 (shape (..., d)), "
                         f"got shapes {tuple(p.shape)} and {tuple(t.shape)}")
    if p.shape != t.shape:
        raise ValueError(f"phi and theta must have the same shape (..., d), got {tuple(p.shape)} and {tuple(t.shape)}")
    return p, t


@functools.lru_cache(maxsize=8)
def _noise_nodes(d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Tensor-product Gauss--Hermite nodes and weights for N(0, I_d) (12 per dimension)."""
    from .twotimescale import gauss_hermite  # local: twotimescale imports this module

    return gauss_hermite(_GH_NODES, d)


# --------------------------------------------------------------------------- losses and fields
def losses(variant: str | DiracGAN, phi: torch.Tensor, theta: torch.Tensor, **hparams: float
           ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The pair :math:`(\mathcal L_D, \mathcal L_G)` of a variant at a batch of states.

    Parameters
    ----------
    variant : str or DiracGAN
        A name from :data:`VARIANTS` (hyper-parameters as keywords) or a :class:`DiracGAN`.
    phi, theta : torch.Tensor, shape (..., d)
        Discriminator and generator parameters.
    **hparams : float
        ``lam``, ``c``, ``l2`` when ``variant`` is a name.

    Returns
    -------
    (torch.Tensor, torch.Tensor), each of shape (...)
        The two losses of each state, as in :data:`VARIANT_TABLE`. The norms use a
        gradient-safe form, so that ``wgan_gp`` with ``c=0`` and ``gan_qp`` at :math:`\theta=0`
        are differentiable at the origin.
    """
    return _losses(_model(variant, hparams), phi, theta)


def _losses(m: DiracGAN, phi: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`losses` for a validated model (no checks: the simulation's inner loop)."""
    s = (theta * phi).sum(-1)  # D(theta) = theta . phi
    v = m.variant
    if m.noise > 0:  # E over eps_r, eps_f ~ N(0, sigma^2 I): D(eps_r) = sigma phi.u_r, D(theta + eps_f) = s + sigma phi.u_f
        u, w = _noise_nodes(phi.shape[-1])
        e = m.noise * (phi[..., None, :] * u).sum(-1)          # (..., K), linear in phi: smooth at phi = 0
        sk = s[..., None] + e
        sp = torch.nn.functional.softplus
        ld = (w * (sp(-e) + sp(sk))).sum(-1)
        lg = (w * sp(-sk)).sum(-1) if v == "vanilla" else -(w * sp(sk)).sum(-1)
    elif v in ("vanilla", "saturating"):
        ld = torch.nn.functional.softplus(s) + math.log(2.0)
        lg = torch.nn.functional.softplus(-s) if v == "vanilla" else -torch.nn.functional.softplus(s)
    elif v == "wgan":
        d_fake = s / torch.linalg.vector_norm(phi, dim=-1)
        ld, lg = d_fake, -d_fake
    elif v == "wgan_gp":
        sq = (phi * phi).sum(-1)  # lam (|phi| - c)^2 expanded: c = 0 gives the smooth lam |phi|^2
        pen = m.lam * sq if m.c == 0 else m.lam * (sq - 2 * m.c * _safe_norm(phi) + m.c * m.c)
        ld, lg = s + pen, -s
    else:  # gan_qp
        r = _safe_norm(theta)
        quad = torch.where(r > 0, s * s / (2 * m.lam * torch.where(r > 0, r, torch.ones_like(r))), torch.zeros_like(r))
        ld, lg = s + quad, -s
    if m.l2 > 0:
        ld = ld + 0.5 * m.l2 * (phi * phi).sum(-1)
    return ld, lg


def vector_field(variant: str | DiracGAN, phi: Any, theta: Any, *, lam: float | None = None,
                 c: float | None = None, l2: float = 0.0, noise: float = 0.0, consensus: float = 0.0
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gradient-flow velocity :math:`(\dot\phi, \dot\theta)` of a Dirac GAN, derived by autograd.

    .. math::

        \dot\phi = -\nabla_\phi \mathcal L_D, \qquad \dot\theta = -\nabla_\theta \mathcal L_G

    for the losses of :func:`losses`. Each state's losses depend only on that state, so the
    gradient of the summed loss is the per-state gradient.

    Parameters
    ----------
    variant : str or DiracGAN
        One of :data:`VARIANTS`, or a :class:`DiracGAN` (then no keyword hyper-parameters).
    phi, theta : array-like, shape (..., d)
        Discriminator and generator parameters (any leading batch shape).
    lam, c : float, optional
        Penalty weight (``wgan_gp``, ``gan_qp``) and centre (``wgan_gp``); defaults in
        :data:`VARIANT_TABLE`. Giving one to a variant that does not take it raises.
    l2 : float
        Weight of :math:`\tfrac{l_2}{2}\lVert\phi\rVert^2` added to the discriminator's loss.
    noise, consensus : float
        Instance noise :math:`\sigma_{\text{noise}}` and consensus weight :math:`\lambda_{\text{CO}}` (see :class:`DiracGAN`).

    Returns
    -------
    (torch.Tensor, torch.Tensor), each float64 of shape (..., d)
        :math:`\dot\phi` and :math:`\dot\theta`.
    """
    m = _model(variant, _given(lam=lam, c=c, l2=l2, noise=noise, consensus=consensus))
    return m.field(phi, theta)


def _given(**kw: float | None) -> dict[str, float]:
    return {k: v for k, v in kw.items() if v is not None and not (k in _MODIFIERS and v == 0.0)}


def _velocity(m: DiracGAN, p: torch.Tensor, t: torch.Tensor, *, create_graph: bool
              ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The autograd field at leaf tensors ``p``, ``t`` that require grad.

    One forward pass through both losses, then ``torch.autograd.grad`` for each player; with
    consensus optimisation, :math:`v-\lambda_{\text{CO}}\nabla\tfrac12\lVert v\rVert^2` by one more backward pass
    through the (kept) graph of :math:`v`. Each state's field depends only on that state, so
    gradients of batch sums are per-state gradients.
    """
    ld, lg = _losses(m, p, t)
    keep = create_graph or m.consensus > 0
    (g_phi,) = torch.autograd.grad(ld.sum(), p, create_graph=keep, retain_graph=True)
    (g_theta,) = torch.autograd.grad(lg.sum(), t, create_graph=keep)
    if m.consensus > 0:
        half_sq = 0.5 * ((g_phi * g_phi).sum() + (g_theta * g_theta).sum())
        c_phi, c_theta = torch.autograd.grad(half_sq, (p, t), create_graph=create_graph)
        return -g_phi - m.consensus * c_phi, -g_theta - m.consensus * c_theta
    return -g_phi, -g_theta


def _field(m: DiracGAN) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The autograd field as a function of (phi, theta) tensors, hyper-parameters fixed."""
    def f(p: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            dp, dt = _velocity(m, p.detach().requires_grad_(True), t.detach().requires_grad_(True),
                               create_graph=False)
        return dp.detach(), dt.detach()

    return f


def field_from_losses(loss_d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                      loss_g: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                      phi: Any, theta: Any) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The gradient-flow field of any pair of Dirac GAN losses, by autograd.

    .. math::

        \dot\phi=-\nabla_\phi\mathcal L_D(\phi,\theta),\qquad \dot\theta=-\nabla_\theta\mathcal L_G(\phi,\theta)

    Parameters
    ----------
    loss_d, loss_g : callable
        ``loss(phi, theta)`` for tensors of shape (..., d), returning per-state losses of shape (...).
    phi, theta : array-like, shape (..., d)

    Returns
    -------
    (torch.Tensor, torch.Tensor), each float64 of shape (..., d)
    """
    p, t = _state(phi, theta)
    with torch.enable_grad():
        p = p.detach().requires_grad_(True)
        t = t.detach().requires_grad_(True)
        (g_phi,) = torch.autograd.grad(loss_d(p, t).sum(), p)
        (g_theta,) = torch.autograd.grad(loss_g(p, t).sum(), t)
    return -g_phi, -g_theta


def closed_form_field(variant: str | DiracGAN, phi: Any, theta: Any, *, lam: float | None = None,
                      c: float | None = None, l2: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The same velocity written out by hand, as in the source post.

    With :math:`s=\theta\cdot\phi` and :math:`\sigma` the logistic function:

    - vanilla: :math:`\dot\phi=-\sigma(s)\,\theta`, :math:`\dot\theta=(1-\sigma(s))\,\phi`
    - saturating: :math:`\dot\phi=-\sigma(s)\,\theta`, :math:`\dot\theta=\sigma(s)\,\phi`
    - wgan: :math:`\dot\phi=-\theta/\lVert\phi\rVert+s\,\phi/\lVert\phi\rVert^3`, :math:`\dot\theta=\phi/\lVert\phi\rVert`
    - wgan_gp: :math:`\dot\phi=-\theta-2\lambda(1-c/\lVert\phi\rVert)\phi`, :math:`\dot\theta=\phi`
    - gan_qp: :math:`\dot\phi=-\theta-s\,\theta/(\lambda\lVert\theta\rVert)`, :math:`\dot\theta=\phi`

    and :math:`-l_2\phi` added to :math:`\dot\phi`. At :math:`\phi=0` (``wgan_gp``, :math:`c>0`) and
    :math:`\theta=0` (``gan_qp``) the singular term is taken as 0, matching :func:`vector_field`.

    Parameters
    ----------
    variant, phi, theta, lam, c, l2
        As in :func:`vector_field`.

    Returns
    -------
    (torch.Tensor, torch.Tensor), each float64 of shape (..., d)
        :math:`\dot\phi` and :math:`\dot\theta`.
    """
    return _model(variant, _given(lam=lam, c=c, l2=l2)).closed_field(phi, theta)


def _closed_np(m: DiracGAN) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The hand-written field on NumPy arrays of shape (..., d) (no input checks; fast inner loop)."""
    v, l2 = m.variant, m.l2
    lam = m.lam if m.lam is not None else 1.0
    c = m.c if m.c is not None else 0.0

    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # the last axis is short (d = 1, 2, 3 in the book): adding its slices is several times faster
        # than ndarray.sum over it, which dominated the simulation's time
        prod = a * b
        if prod.shape[-1] > 8:
            return prod.sum(-1, keepdims=True)
        out = prod[..., :1].copy()
        for i in range(1, prod.shape[-1]):
            out += prod[..., i:i + 1]
        return out

    if v in ("vanilla", "saturating"):
        sat = v == "saturating"

        def f(p, t):
            sig = expit(dot(t, p))
            return -sig * t, (sig if sat else 1 - sig) * p
    elif v == "wgan":
        def f(p, t):
            n = np.sqrt(dot(p, p))
            return -t / n + dot(t, p) * p / n**3, p / n
    elif v == "wgan_gp":
        if c == 0:
            def f(p, t):
                return -t - (2 * lam) * p, p
        else:
            def f(p, t):
                n = np.sqrt(dot(p, p))
                inv = np.divide(c, n, out=np.zeros_like(n), where=n > 0)
                return -t - 2 * lam * (1 - inv) * p, p
    else:
        def f(p, t):
            n = np.sqrt(dot(t, t))
            coef = np.divide(dot(t, p), lam * n, out=np.zeros_like(n), where=n > 0)
            return -t - coef * t, p
    if l2:
        g = f

        def f(p, t):  # noqa: F811 - the same field with -l2 phi added
            dp, dt = g(p, t)
            return dp - l2 * p, dt
    return f


# --------------------------------------------------------------------------- linearisation
def _require_smooth(m: DiracGAN) -> None:
    """Raise where the field is not differentiable at the origin."""
    if m.variant == "wgan":
        raise ValueError("the WGAN Dirac field is not differentiable at the equilibrium: "
                         "D = phi.x/|phi| is undefined at phi = 0")
    if not m.smooth_at_origin:
        raise ValueError(f"the WGAN-GP field with c = {m.c} is not differentiable at phi = 0 "
                         "(the term c*phi/|phi| has no limit there); use c = 0")


def _graph_field(m: DiracGAN) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The autograd field, kept differentiable (``create_graph``) so that it can be differentiated again."""
    def f(p: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            # fresh nodes: the gradient with respect to them is the partial derivative, even when
            # p already depends on t (the alternating step)
            p = p.clone() if p.requires_grad else p.detach().requires_grad_(True)
            t = t.clone() if t.requires_grad else t.detach().requires_grad_(True)
            return _velocity(m, p, t, create_graph=True)

    return f


def _jac_at_origin(fun: Callable[[torch.Tensor], torch.Tensor], n: int) -> torch.Tensor:
    """Jacobian at 0 by reverse-mode autograd (:func:`torch.autograd.functional.jacobian`)."""
    return torch.autograd.functional.jacobian(fun, torch.zeros(n, dtype=DTYPE))


def _dim(dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive int, got {dim!r}")
    return dim


def jacobian(variant: str | DiracGAN, *, dim: int = 2, **hparams: float) -> torch.Tensor:
    r"""Jacobian :math:`J=\partial(\dot\phi,\dot\theta)/\partial(\phi,\theta)` at :math:`\phi=\theta=0`.

    Parameters
    ----------
    variant : str or DiracGAN
        A variant name (hyper-parameters as keywords) or a :class:`DiracGAN`.
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
    f = _graph_field(m)

    def joint(x: torch.Tensor) -> torch.Tensor:
        dp, dt = f(x[:dim], x[dim:])
        return torch.cat([dp, dt])

    return _jac_at_origin(joint, 2 * dim)


def jacobian_eigenvalues(variant: str | DiracGAN, *, dim: int = 2, **hparams: float) -> torch.Tensor:
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


def equilibrium_eigenvalues(variant: str | DiracGAN, *, dim: int = 2, **hparams: float) -> torch.Tensor:
    r"""The eigenvalues of :func:`jacobian`, derived by hand.

    Per coordinate the linearised flow is :math:`\dot\phi=-b\phi-\omega\theta`,
    :math:`\dot\theta=\omega\phi`, i.e. :math:`J_1=\begin{pmatrix}-b&-\omega\\ \omega&0\end{pmatrix}`, with

    - vanilla, saturating: :math:`\omega=\tfrac12` (:math:`\sigma(s)=\tfrac12+O(s)`),
      :math:`b=l_2+\sigma_{\text{noise}}^2/2` (instance noise :math:`\sigma_{\text{noise}}`: each blurred point adds
      :math:`\sigma_{\text{noise}}^2\lVert\phi\rVert^2/8` to :math:`\mathcal L_D`);
    - wgan_gp (c = 0): :math:`\omega=1`, :math:`b=2\lambda+l_2`;
    - gan_qp: :math:`\omega=1`, :math:`b=l_2` (the quadratic term is of second order).

    Consensus optimisation replaces :math:`J_1` by :math:`J_1-\lambda_{\text{CO}}J_1^\top J_1` (the Jacobian of
    :math:`\nabla\tfrac12\lVert v\rVert^2=J^\top v` at :math:`v=0`). The eigenvalues of a
    :math:`2\times2` matrix :math:`M` are :math:`\tfrac12\operatorname{tr}M\pm\sqrt{\tfrac14(\operatorname{tr}M)^2-\det M}`;
    without consensus, :math:`\nu=-\tfrac b2\pm\sqrt{\tfrac{b^2}4-\omega^2}`, and with it and
    :math:`b=0`, :math:`\nu=-\lambda_{\text{CO}}\omega^2\pm i\omega`.

    Parameters
    ----------
    variant, dim, **hparams
        As in :func:`jacobian`.

    Returns
    -------
    torch.Tensor, shape (2 d,), complex
        Each of the two eigenvalues ``dim`` times, sorted as :func:`jacobian_eigenvalues` sorts.

    Raises
    ------
    ValueError
        Where the field is not differentiable at the origin.
    """
    m = _model(variant, hparams)
    dim = _dim(dim)
    _require_smooth(m)
    if m.variant in ("vanilla", "saturating"):
        beta, delta = 0.5, m.l2 + m.noise**2 / 2
    elif m.variant == "wgan_gp":
        beta, delta = 1.0, 2 * m.lam + m.l2
    else:
        beta, delta = 1.0, m.l2
    j1 = np.array([[-delta, -beta], [beta, 0.0]])
    j1 = j1 - m.consensus * j1.T @ j1
    (a, b), (c, e) = j1
    root = np.sqrt(complex(((a - e) / 2) ** 2 + b * c))
    ev = [complex((a + e) / 2) + root, complex((a + e) / 2) - root] * dim
    ev.sort(key=lambda z: (round(z.real, 12), z.imag))
    return torch.tensor(ev, dtype=torch.complex128)


# --------------------------------------------------------------------------- simulation
def _euler_step(f: Callable, p: Any, t: Any, h: float) -> tuple[Any, Any]:
    dp, dt = f(p, t)
    return p + h * dp, t + h * dt


def _alt_step(f: Callable, p: Any, t: Any, h: float) -> tuple[Any, Any]:
    p = p + h * f(p, t)[0]
    return p, t + h * f(p, t)[1]


def _rk4_step(f: Callable, p: Any, t: Any, h: float) -> tuple[Any, Any]:
    k1 = f(p, t)
    k2 = f(p + 0.5 * h * k1[0], t + 0.5 * h * k1[1])
    k3 = f(p + 0.5 * h * k2[0], t + 0.5 * h * k2[1])
    k4 = f(p + h * k3[0], t + h * k3[1])
    return (p + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
            t + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]))


_STEPS: dict[str, Callable] = {"rk4": _rk4_step, "euler": _euler_step, "sim_gd": _euler_step, "alt_gd": _alt_step}


def integrate(f: Callable[[Any, Any], tuple[Any, Any]], phi0: Any, theta0: Any, *, dt: float, n_steps: int,
              method: str = "rk4", save_every: int = 1, stop: Callable[[Any, Any], bool] | None = None
              ) -> tuple[list[int], list, list, int | None]:
    r"""Advance the state :math:`(\phi,\theta)` by ``n_steps`` steps of one update rule.

    With :math:`f=(f_\phi,f_\theta)` the field and :math:`\eta` = ``dt``:

    .. math::

        \begin{aligned}
        \text{euler, sim\_gd:}\quad & (\phi,\theta)_{k+1}=(\phi,\theta)_k+\eta\,f(\phi_k,\theta_k),\\
        \text{alt\_gd:}\quad & \phi_{k+1}=\phi_k+\eta f_\phi(\phi_k,\theta_k),\quad
            \theta_{k+1}=\theta_k+\eta f_\theta(\phi_{k+1},\theta_k),\\
        \text{rk4:}\quad & \text{the classical fourth-order Runge--Kutta step.}
        \end{aligned}

    The state may be anything that supports ``+`` and multiplication by a float: NumPy arrays
    or torch tensors of any batch shape (all runs advance together), or Python numbers (the
    explorer's 2-D state as two complex numbers).

    Parameters
    ----------
    f : callable
        ``f(phi, theta) -> (dphi, dtheta)``.
    phi0, theta0
        The starting state (not modified).
    dt : float
        Step (ODE step or learning rate); not validated here.
    n_steps : int
        Number of steps.
    method : str
        One of :data:`METHODS`.
    save_every : int
        Store every ``save_every``-th state (and the last).
    stop : callable, optional
        ``stop(phi, theta) -> bool``, called at every stored state after it is stored; ``True``
        ends the integration there (e.g. a non-finite or blown-up state).

    Returns
    -------
    steps : list of int
        The step index of each stored state (0 first).
    phi, theta : list
        The stored states.
    stopped_at : int or None
        The step at which ``stop`` returned ``True``, or ``None``.
    """
    step = _STEPS[check_name(method, METHODS, "integration method")]
    p, t = phi0, theta0
    steps, ps, ts = [0], [p], [t]
    for k in range(1, n_steps + 1):
        p, t = step(f, p, t, dt)
        if k % save_every == 0 or k == n_steps:
            steps.append(k)
            ps.append(p)
            ts.append(t)
            if stop is not None and stop(p, t):
                return steps, ps, ts, k
    return steps, ps, ts, None


@dataclass
class Trajectory:
    """A simulated trajectory.

    Attributes
    ----------
    t : torch.Tensor, shape (T,)
        Times (for the GD methods, step k is stored at time k * lr).
    phi, theta : torch.Tensor, shape (T, ..., d)
        The states, float64.
    variant, method : str
        What was simulated and how.
    hparams : dict[str, float]
        The validated hyper-parameters (``DiracGAN.hparams``).
    """

    t: torch.Tensor
    phi: torch.Tensor
    theta: torch.Tensor
    variant: str
    method: str
    hparams: dict[str, float]

    @property
    def radius(self) -> torch.Tensor:
        r""":math:`\lVert\theta(t)\rVert`, shape ``(T, ...)``."""
        return torch.linalg.vector_norm(self.theta, dim=-1)


def simulate(variant: str | DiracGAN, phi0: Any, theta0: Any, *, t_end: float, dt: float, method: str = "rk4",
             save_every: int = 1, field: str | None = None, **hparams: float) -> Trajectory:
    r"""Integrate a Dirac GAN from ``(phi0, theta0)`` to ``t_end``.

    The steps are those of :func:`integrate` on this variant's field, all starts at once.
    Methods: ``"rk4"`` and ``"euler"`` are classical Runge--Kutta 4 and forward Euler on the ODE
    with step ``dt``; ``"sim_gd"`` is simultaneous gradient descent with learning rate
    :math:`\eta` = ``dt`` (this *is* Euler); ``"alt_gd"`` is alternating gradient descent,
    discriminator first:

    .. math::

        \phi_{k+1}=\phi_k+\eta\,v_\phi(\phi_k,\theta_k),\qquad
        \theta_{k+1}=\theta_k+\eta\,v_\theta(\phi_{k+1},\theta_k).

    Parameters
    ----------
    variant : str or DiracGAN
        A name from :data:`VARIANTS` with hyper-parameters in ``hparams``, or a :class:`DiracGAN`.
    phi0, theta0 : array-like, shape (..., d)
        Starting states (any leading batch shape; all integrated at once).
    t_end : float
        Final time; ``round(t_end / dt)`` steps are taken.
    dt : float
        ODE step, or learning rate for the GD methods.
    method : str
        One of :data:`METHODS`.
    save_every : int
        Store every ``save_every``-th step (and the last).
    field : str, optional
        ``"closed"`` (the hand-written field in NumPy, :func:`closed_form_field`) or ``"autograd"``
        (differentiate the losses, :func:`vector_field`); the two agree to rounding error. The
        default is ``"closed"`` where the model has a hand-written field
        (:attr:`DiracGAN.has_closed_form`) and ``"autograd"`` where it has not (instance noise,
        consensus optimisation); asking for ``"closed"`` there raises.
    **hparams : float
        ``lam``, ``c``, ``l2``, ``noise``, ``consensus`` when ``variant`` is a name.

    Returns
    -------
    Trajectory
        ``t`` of shape (T,), ``phi`` and ``theta`` of shape (T, ..., d).

    Raises
    ------
    DivergenceError
        If the state becomes NaN or infinite (the message names the step).
    """
    return _simulate(_model(variant, hparams), phi0, theta0, t_end=t_end, dt=dt, method=method,
                     save_every=save_every, field=field)


def _simulate(m: DiracGAN, phi0: Any, theta0: Any, *, t_end: float, dt: float, method: str = "rk4",
              save_every: int = 1, field: str | None = None) -> Trajectory:
    check_name(method, METHODS, "integration method")
    if field is None:
        field = "closed" if m.has_closed_form else "autograd"
    check_name(field, FIELDS, "field evaluation")
    if field == "closed" and not m.has_closed_form:
        raise ValueError(f"{m.label()} has no hand-written field (instance noise and consensus optimisation "
                         "come from autograd only); use field='autograd' or leave field unset")
    dt = check_positive(dt, "dt")
    t_end = check_positive(t_end, "t_end")
    if isinstance(save_every, bool) or not isinstance(save_every, int) or save_every < 1:
        raise ValueError(f"save_every must be a positive int, got {save_every!r}")
    p, t = _state(phi0, theta0)
    m._check_state(p)
    n_steps = int(round(t_end / dt))
    if n_steps < 1:
        raise ValueError(f"t_end / dt must give at least one step, got t_end={t_end}, dt={dt}")
    if field == "closed":
        f, p, t, finite = _closed_np(m), p.numpy().copy(), t.numpy().copy(), np.isfinite
    else:
        f, finite = _field(m), torch.isfinite

    def bad(p: Any, t: Any) -> bool:
        return not (bool(finite(p).all()) and bool(finite(t).all()))

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        steps, ps, ths, stopped = integrate(f, p, t, dt=dt, n_steps=n_steps, method=method,
                                            save_every=save_every, stop=bad)
    if stopped is not None:
        raise DivergenceError(f"{m.label()} ({method}, dt={dt}) diverged: the state became "
                              f"non-finite by step {stopped} (t = {stopped * dt:.4g})")
    if field == "closed":
        ps = [torch.from_numpy(np.asarray(x)) for x in ps]
        ths = [torch.from_numpy(np.asarray(x)) for x in ths]
    ts = torch.tensor(steps, dtype=DTYPE) * dt
    return Trajectory(ts, torch.stack(ps), torch.stack(ths), m.variant, method, m.hparams)


# --------------------------------------------------------------------------- invariants
def _check_2d(phi: torch.Tensor) -> None:
    if phi.shape[-1] != 2:
        raise ValueError(f"this quantity is defined for d = 2 (shape (..., 2)), got d = {phi.shape[-1]}")


def angular_momentum(phi: Any, theta: Any) -> torch.Tensor:
    r"""The angular momentum :math:`L=\theta\times\phi=\theta_1\phi_2-\theta_2\phi_1` (2-D only).

    Conserved by every flow whose losses depend on :math:`\phi` only through :math:`\theta\cdot\phi`
    (vanilla, saturating, every f-GAN, GAN-QP); decays like :math:`e^{-l_2 t}` with L2.

    Parameters
    ----------
    phi, theta : array-like, shape (..., 2)

    Returns
    -------
    torch.Tensor, shape (...)
    """
    p, t = _state(phi, theta)
    _check_2d(p)
    return t[..., 0] * p[..., 1] - t[..., 1] * p[..., 0]


def angular_momentum_matrix(phi: Any, theta: Any) -> torch.Tensor:
    r"""The antisymmetric matrix :math:`A=\theta\phi^\top-\phi\theta^\top`, the d-dimensional :math:`L`.

    .. math::

        A_{ij}=\theta_i\phi_j-\phi_i\theta_j,\qquad A_{12}=L \text{ for } d=2.

    Parameters
    ----------
    phi, theta : array-like, shape (..., d)

    Returns
    -------
    torch.Tensor, shape (..., d, d)
    """
    p, t = _state(phi, theta)
    return t[..., :, None] * p[..., None, :] - p[..., :, None] * t[..., None, :]


def squared_norm(phi: Any, theta: Any) -> torch.Tensor:
    r"""The squared norm of the state, :math:`V=\lVert\theta\rVert^2+\lVert\phi\rVert^2`.

    Conserved by the saturating flow; non-increasing for vanilla, WGAN-GP (c = 0) and GAN-QP.
    (Formerly ``dirac.energy``, renamed because it is not the energy of Part II.)

    Parameters
    ----------
    phi, theta : array-like, shape (..., d)

    Returns
    -------
    torch.Tensor, shape (...)
    """
    p, t = _state(phi, theta)
    return (p * p).sum(-1) + (t * t).sum(-1)




def wgan_invariant(phi: Any, theta: Any) -> torch.Tensor:
    r"""The 2-D WGAN flow's second conserved quantity (the first is :math:`\lVert\phi\rVert`).

    With :math:`r_\phi=\lVert\phi\rVert` and :math:`b=(\theta\times\phi)/r_\phi` (the component of
    :math:`\theta` across the critic's direction),

    .. math::

        H=\tfrac12\lVert\theta\rVert^2-r_\phi^2\log\lvert b\rvert .

    Parameters
    ----------
    phi, theta : array-like, shape (..., 2)

    Returns
    -------
    torch.Tensor, shape (...)
        Undefined (infinite) where :math:`b=0`.
    """
    p, t = _state(phi, theta)
    _check_2d(p)
    rho = torch.linalg.vector_norm(p, dim=-1)
    b = (t[..., 0] * p[..., 1] - t[..., 1] * p[..., 0]) / rho
    return 0.5 * (t * t).sum(-1) - rho**2 * torch.log(b.abs())


# --------------------------------------------------------------------------- EMA
def ema(x: Any, decay: float) -> torch.Tensor:
    r"""Exponential moving average along the first (time) axis, started at the first value.

    .. math::

        \bar x_0=x_0,\qquad \bar x_k=\beta\bar x_{k-1}+(1-\beta)x_k

    with :math:`\beta` = ``decay``, the recursion :class:`torch.optim.swa_utils.AveragedModel`
    applies to weights, run here over a stored trajectory with :func:`scipy.signal.lfilter`.

    Parameters
    ----------
    x : array-like, shape (T, ...)
    decay : float
        :math:`\beta\in(0,1)`.

    Returns
    -------
    torch.Tensor, shape (T, ...)
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

    .. math::

        g=\left\lvert\frac{1-\beta}{1-\beta e^{-i\omega h}}\right\rvert

    Parameters
    ----------
    decay : float
        :math:`\beta\in(0,1)`.
    omega : float
        Angular frequency of the rotation.
    h : float
        Time between two averaged samples (the learning rate for one sample per step).

    Returns
    -------
    float
        How much averaging shrinks a circular oscillation.
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


# --------------------------------------------------------------------------- end states
END_STATES: tuple[str, ...] = ("equilibrium", "shrinks", "bounded", "grows")
"""Labels returned by :func:`end_state`."""


@dataclass
class EndState:
    """How one trajectory ends (see :func:`end_state`).

    Attributes
    ----------
    label : str
        One of :data:`END_STATES`.
    growth : float
        Ratio of the envelope of :math:`\\lVert\\theta\\rVert` at the end of the window to its value at
        the start of the window (fitted, see :func:`envelope_growth`).
    final_radius : float
        :math:`\\lVert\\theta\\rVert` at the last stored step.
    """

    label: str
    growth: float
    final_radius: float


def envelope_growth(radius: Any, *, n_windows: int = 8, frac: float = 0.5) -> np.ndarray:
    r"""Fitted growth of the envelope of :math:`\lVert\theta\rVert` over the last ``frac`` of a run.

    The window is cut into ``n_windows`` pieces; the envelope is the maximum radius in each
    piece; a straight line is fitted to its logarithm against the piece index and the growth
    is :math:`\exp(\text{slope}\times(n_{\text{windows}}-1))`, the envelope's ratio end/start.

    Parameters
    ----------
    radius : array-like, shape (T, ...)
        :math:`\lVert\theta\rVert` along stored steps.
    n_windows : int
        Number of pieces (at least 2 stored steps each).
    frac : float
        Fraction of the run, at its end, that is examined.

    Returns
    -------
    numpy.ndarray, shape (...)
        Growth factors (1: flat envelope; above 1: growing).
    """
    r = np.asarray(torch.as_tensor(radius, dtype=DTYPE))
    w = r[-max(2 * n_windows, int(frac * r.shape[0])):]
    w = w[: (w.shape[0] // n_windows) * n_windows]
    env = w.reshape(n_windows, -1, *w.shape[1:]).max(1)
    logenv = np.log(np.maximum(env, 1e-300)).reshape(n_windows, -1)
    x = np.arange(n_windows) - (n_windows - 1) / 2
    slope = (x[:, None] * (logenv - logenv.mean(0))).sum(0) / (x * x).sum()
    return np.exp(slope * (n_windows - 1)).reshape(w.shape[1:])


def end_state(tr: Trajectory, *, frac: float = 0.5, tol: float = 1e-3, rtol: float = 0.02) -> list[EndState]:
    r"""Classify how each trajectory in a batch ends, from the envelope of :math:`\lVert\theta\rVert`.

    - ``"equilibrium"``: the last radius is below ``tol`` times the starting radius;
    - ``"grows"``: the envelope over the last ``frac`` of the run grows by more than ``rtol``
      (:func:`envelope_growth`): a run that is still growing is never called bounded;
    - ``"shrinks"``: it shrinks by more than ``rtol`` (still on its way in);
    - ``"bounded"``: the envelope is flat to within ``rtol``.

    A run can only be told apart from a slow drift as far as its length allows: the label is
    about the stretch simulated, and the notebooks back each label with an invariant.

    Parameters
    ----------
    tr : Trajectory
        A (batched) trajectory with at least 16 stored steps.
    frac, tol, rtol : float
        Window fraction, equilibrium tolerance (relative to the start), envelope tolerance.

    Returns
    -------
    list[EndState]
        One per trajectory in the batch (flattened).
    """
    r = tr.radius.reshape(tr.radius.shape[0], -1)
    if r.shape[0] < 16:
        raise ValueError(f"end_state needs at least 16 stored steps, got {r.shape[0]}")
    growth = envelope_growth(r, frac=frac)
    out = []
    for j in range(r.shape[1]):
        r0, rend, g = float(r[0, j]), float(r[-1, j]), float(growth[j])
        if rend < tol * max(r0, 1e-300):
            lab = "equilibrium"
        elif g > 1 + rtol:
            lab = "grows"
        elif g < 1 - rtol:
            lab = "shrinks"
        else:
            lab = "bounded"
        out.append(EndState(lab, g, rend))
    return out

