r"""MonoFlow's h functions: generator losses :math:`-h(D(G(z)))` on the logit :math:`D\approx\log r` (Part III).

The chain of ideas (Yi, Zhu & Liu, ICML 2023; Su's post on GAN as a diffusion ODE), one module each:

1. :mod:`gantools.gaussian`: the Wasserstein gradient flow of :math:`\mathrm{KL}(q_t\Vert p)`,
   :math:`\dot x = \nabla_x \log r_t(x)`, solved exactly for Gaussians.
2. :mod:`gantools.ratio`: a logistic discriminator's optimum is :math:`D^* = \log r`.
3. This module: any increasing :math:`h` gives a flow that drives :math:`q_t` to :math:`p`
   (:data:`H_FUNCTIONS`; the divergence losses of the MonoFlow paper's Gaussian toy are
   :data:`PAPER_LOSSES`), the generator loss :math:`-h(D(G(z)))` (:func:`generator_loss`), and
   the Euler step :math:`x \leftarrow x + \varepsilon \nabla_x h(D(x))` it induces
   (:func:`velocity`, :func:`particle_step`), which a generator follows through the
   distillation loss (:func:`distill_loss`).
4. :mod:`gantools.flow`: the particle flow and the generator trainers built on these.
5. :mod:`gantools.gaussian_toy`: the paper's 2-D Gaussian toy, one run or a batched ensemble.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ._validate import check_name, check_points, check_positive
from .ratio import as_logits

__all__ = ["HFunction", "H_FUNCTIONS", "PAPER_LOSSES", "ALL_H", "get_h", "generator_loss", "velocity",
           "particle_step", "distill_loss"]

Discriminator = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class HFunction:
    r"""A map :math:`h` of the discriminator's logit :math:`u = D(x) \approx \log r`.

    The generator loss is :math:`-\mathbb E_z[h(D(G(z)))]` and the particle velocity it induces
    is :math:`\nabla_x h(D(x)) = h'(D(x))\,\nabla_x D(x)`, i.e. :math:`h'(\log r)\nabla\log r`.
    When :math:`h' > 0` the velocity is the KL flow's, rescaled pointwise by the positive speed
    factor :math:`h'` (MonoFlow); when :math:`h'` changes sign, particles in part of space move
    *against* :math:`\nabla \log r`.

    Attributes
    ----------
    name : str
    fn : callable
        Elementwise :math:`h`, vectorised over a tensor.
    formula : str
        :math:`h(u)` in LaTeX.
    loss : str
        The generator loss :math:`-h(D)` reproduces (LaTeX allowed).
    monotone : bool
        Whether :math:`h` is (strictly) increasing on the whole real line.
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    formula: str
    loss: str
    monotone: bool

    def __call__(self, d: torch.Tensor) -> torch.Tensor:
        """:math:`h(u)` elementwise."""
        return self.fn(d)

    def derivative(self, d: torch.Tensor) -> torch.Tensor:
        """The speed factor :math:`h'(u)` elementwise, by autograd.

        Parameters
        ----------
        d : torch.Tensor, any shape

        Returns
        -------
        torch.Tensor, the shape of ``d``
        """
        d = torch.as_tensor(d, dtype=torch.get_default_dtype()).detach().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(self.fn(d).sum(), d)
        return g


H_FUNCTIONS: dict[str, HFunction] = {
    "identity": HFunction(
        "identity", lambda d: d, r"u",
        r"$-D(G(z))$: the logit loss, the f-GAN reverse-KL generator loss and the post's loss", True),
    "ns": HFunction(
        "ns", lambda d: -F.softplus(-d), r"\log\sigma(u)",
        r"$-\log\sigma(D(G(z)))$: the non-saturating vanilla GAN loss", True),
    "saturating": HFunction(
        "saturating", lambda d: F.softplus(d), r"\log(1+e^{u})",
        r"$\log(1-\sigma(D(G(z))))$: the saturating (minimax) vanilla GAN loss", True),
    "exp": HFunction(
        "exp", lambda d: torch.exp(d), r"e^{u}",
        r"$-e^{D(G(z))} = -\hat r$: the f-GAN (Nowozin et al.) KL generator loss $-\psi^*(\psi'(r))$", True),
    "arcsinh": HFunction(
        "arcsinh", lambda d: torch.asinh(d), r"\operatorname{arcsinh}(u)",
        r"$-\operatorname{arcsinh}(D(G(z)))$: a loss outside the classic list, as MonoFlow allows", True),
    "neg_square": HFunction(
        "neg_square", lambda d: -0.5 * d ** 2, r"-u^2/2",
        r"$D(G(z))^2/2$: least squares pulling the logit to 'undecided' ($D=0$); not monotone", False),
    "sin": HFunction(
        "sin", lambda d: torch.sin(d), r"\sin u",
        r"$-\sin D(G(z))$: increasing only for $\lvert u\rvert<\pi/2$; not monotone", False),
}
"""The book's family, name -> :class:`HFunction`. The first five are increasing; the last two are not."""


def _js(d: torch.Tensor) -> torch.Tensor:
    # psi(r) = r log r - (r + 1) log((r + 1) / 2) at r = e^d; log((r+1)/2) = softplus(d) - log 2
    r = torch.exp(d)
    return -(r * d - (r + 1) * (F.softplus(d) - math.log(2.0)))


PAPER_LOSSES: dict[str, HFunction] = {
    "reverse_kl": HFunction(
        "reverse_kl", lambda d: d, r"u",
        r"$\mathrm{KL}(q\Vert p)=\mathbb E_q[-\log r]$: loss $-D$", True),
    "exponential": HFunction(
        "exponential", lambda d: -torch.exp(-d), r"-e^{-u}",
        r"$\mathbb E_q[r^{-1}]$: loss $e^{-D}$", True),
    "forward_kl": HFunction(
        "forward_kl", lambda d: -torch.exp(d) * d, r"-u\,e^{u}",
        r"$\mathrm{KL}(p\Vert q)=\mathbb E_q[r\log r]$: loss $D e^{D}$", False),
    "chi2": HFunction(
        "chi2", lambda d: -(torch.exp(d) - 1) ** 2, r"-(e^{u}-1)^2",
        r"Pearson $\chi^2=\mathbb E_q[(r-1)^2]$: loss $(e^{D}-1)^2$", False),
    "hellinger": HFunction(
        "hellinger", lambda d: -(torch.exp(0.5 * d) - 1) ** 2, r"-(e^{u/2}-1)^2",
        r"squared Hellinger $\mathbb E_q[(\sqrt r-1)^2]$: loss $(e^{D/2}-1)^2$", False),
    "js": HFunction(
        "js", _js, r"-\big(u e^{u} - (e^{u}+1)\log\tfrac{e^{u}+1}{2}\big)",
        r"Jensen-Shannon $\mathbb E_q[r\log r-(r+1)\log\frac{r+1}{2}]$", False),
}
r"""The divergence losses of the MonoFlow paper's Gaussian toy: the generator minimises the
divergence itself with the estimated ratio plugged in, :math:`\mathbb E_q[\psi(e^{D})]` (:math:`\psi` the divergence's convex function), i.e.
:math:`h(u) = -\psi(e^u)` with speed factor :math:`h'(u) = -r \psi'(r)`, :math:`r=e^u`."""

ALL_H: dict[str, HFunction] = {**H_FUNCTIONS, **PAPER_LOSSES}
"""Every named :math:`h` the package knows: :data:`H_FUNCTIONS` and :data:`PAPER_LOSSES`."""


def get_h(h: str) -> HFunction:
    """The :class:`HFunction` called ``h``.

    Parameters
    ----------
    h : str
        One of :data:`H_FUNCTIONS` or :data:`PAPER_LOSSES`.

    Returns
    -------
    HFunction
    """
    return ALL_H[check_name(h, ALL_H, "h function")]


def generator_loss(d_fake: torch.Tensor, h: str = "identity") -> torch.Tensor:
    r"""MonoFlow generator loss on the discriminator's logits at generated samples.

    .. math:: \mathcal L_G = -\frac1n\sum_i h(D(G(z_i)))

    Parameters
    ----------
    d_fake : torch.Tensor, shape (n,) or (n, 1)
        Discriminator logits on generated samples.
    h : str
        One of :data:`H_FUNCTIONS` or :data:`PAPER_LOSSES`; ``"identity"`` gives :math:`-D`,
        ``"ns"`` the non-saturating loss :math:`\mathrm{softplus}(-D)`, ``"saturating"``
        :math:`-\mathrm{softplus}(D)`.

    Returns
    -------
    torch.Tensor, shape ()
    """
    hf = get_h(h)
    return -hf(as_logits(d_fake, "d_fake")).mean()


def velocity(x: torch.Tensor, discriminator: Discriminator, *, h: str = "identity") -> torch.Tensor:
    r"""Particle velocity of the generator loss :math:`-h(D(x))`.

    .. math:: v(x) = \nabla_x h(D(x)) = h'(D(x))\,\nabla_x D(x)

    Parameters
    ----------
    x : torch.Tensor, shape (n, d) or (M, n, d)
        Particles, or ``M`` stacked particle sets.
    discriminator : callable
        ``(n, d) -> (n,)`` or ``(n, 1)``, differentiable in its input; for stacked particles
        ``(M, n, d) -> (M, n, 1)`` (an :class:`~gantools.ensemble.EnsembleMLP`).
    h : str
        A name of :data:`gantools.monoflow.ALL_H`.

    Returns
    -------
    torch.Tensor, shape of ``x``
    """
    hf = get_h(h)
    dtype = x.dtype if isinstance(x, torch.Tensor) else torch.float32
    if isinstance(x, torch.Tensor) and x.ndim == 3:
        for m in range(x.shape[0]):
            check_points(x[m], f"x[{m}]", dtype=dtype)
    else:
        x = check_points(x, "x", dtype=dtype)
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        d = as_logits(discriminator(x), "discriminator output")
        (g,) = torch.autograd.grad(hf(d).sum(), x)
    return g


def particle_step(x: torch.Tensor, discriminator: Discriminator, eps: float, *,
                  h: str = "identity") -> torch.Tensor:
    r"""One Euler step of the (Mono)flow.

    .. math:: x \leftarrow x + \varepsilon\,\nabla_x h(D(x))

    With ``h="identity"`` and :math:`D = \log r` this is the explicit Euler step of
    :math:`\dot x = \nabla \log r_t(x)`, the Wasserstein gradient flow of :math:`\mathrm{KL}(q_t\Vert p)`.

    Parameters
    ----------
    x : torch.Tensor, shape (n, d) or (M, n, d)
        Particles, or ``M`` stacked particle sets (see :func:`velocity`).
    discriminator : callable
        ``(n, d) -> (n,)`` or ``(n, 1)``; ``(M, n, d) -> (M, n, 1)`` for stacked particles.
    eps : float or sequence of float
        Step size :math:`\varepsilon > 0`; for stacked particles one per member is allowed.
    h : str

    Returns
    -------
    torch.Tensor, shape of ``x``
        The moved particles, detached.
    """
    if isinstance(eps, (int, float)):
        eps = check_positive(eps, "eps")
    else:
        eps_t = torch.as_tensor(eps, dtype=torch.float64).flatten()
        if x.ndim != 3 or eps_t.numel() != x.shape[0] or not bool((eps_t > 0).all()):
            raise ValueError(f"eps must be a positive number, or one positive number per stacked member, got {eps!r}")
        eps = eps_t.to(x.dtype).view(-1, 1, 1)
    v = velocity(x, discriminator, h=h)
    return (x.detach() + eps * v).detach()


def distill_loss(generator: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor,
                 targets: torch.Tensor) -> torch.Tensor:
    r"""Distillation loss: regress the generator onto moved samples.

    .. math:: \mathcal L_{\text{distill}}(\theta) = \frac1n\sum_i \lVert G_\theta(z_i) - \mathrm{sg}(y_i)\rVert^2

    With targets :math:`y_i = G_{\theta_t}(z_i) + \varepsilon\nabla_x h(D(G_{\theta_t}(z_i)))`
    (:func:`particle_step` on the current samples), its gradient at :math:`\theta=\theta_t` is
    :math:`2\varepsilon\,\nabla_\theta\big[-\frac1n\sum_i h(D(G_\theta(z_i)))\big]`.

    Parameters
    ----------
    generator : callable
        ``(n, k) -> (n, d)``.
    z : torch.Tensor, shape (n, k)
    targets : torch.Tensor, shape (n, d)

    Returns
    -------
    torch.Tensor, shape ()
    """
    out = generator(z)
    if out.shape != targets.shape:
        raise ValueError(f"targets must have the generator's output shape {tuple(out.shape)}, "
                         f"got {tuple(targets.shape)}")
    return (out - targets.detach()).pow(2).flatten(1).sum(1).mean()
