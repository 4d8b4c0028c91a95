r"""MonoFlow: GAN training read as a Wasserstein gradient flow in training time (Part III).

The chain of ideas (Yi, Zhu & Liu, ICML 2023; Su's post 9662):

1. The Wasserstein gradient flow of :math:`\mathrm{KL}(q_t\Vert p)` moves particles with
   :math:`\dot x = \nabla_x \log r_t(x)`, :math:`r_t = p/q_t`. For Gaussians the velocity is
   affine and :math:`q_t` stays Gaussian (:func:`gaussian_wgf_rhs`, :func:`solve_gaussian_wgf`).
2. A logistic discriminator's optimum is the logit :math:`D^* = \log r`; every f-GAN
   discriminator's optimum is a function of :math:`r` (:data:`F_DIVERGENCES`, :func:`fit_log_ratio`).
3. One Euler step :math:`x \leftarrow x + \epsilon \nabla_x h(D(x))` moves samples
   (:func:`particle_step`, :func:`particle_flow`).
4. A generator follows the moved samples through the distillation loss
   :math:`\lVert G_\theta(z) - \mathrm{sg}(G_{\theta_t}(z) + \epsilon\nabla h(D(G_{\theta_t}(z))))\rVert^2`
   (:func:`distill_loss`), whose gradient at :math:`\theta=\theta_t` is :math:`2\epsilon` times
   the gradient of the generator loss :math:`-h(D(G_\theta(z)))` (:func:`generator_loss`).
5. Any monotonically increasing :math:`h` gives a flow that drives :math:`q_t` to :math:`p`
   (:data:`H_FUNCTIONS`).

All point sets are ``(n, d)`` tensors; discriminators map ``(n, d)`` to ``(n,)`` or ``(n, 1)``.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy.integrate import solve_ivp
from scipy.linalg import sqrtm
from torch import nn

from ._validate import check_int, check_name, check_points, check_positive, make_generator
from .train import DivergenceError, check_finite_value

Discriminator = Callable[[torch.Tensor], torch.Tensor]

# --------------------------------------------------------------------------------------------
# h functions: generator losses -h(D(G(z))) on the logit D (an estimate of log r)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HFunction:
    r"""A map :math:`h` of the discriminator's logit :math:`d \approx \log r`.

    The generator loss is :math:`-\mathbb E_z[h(D(G(z)))]` and the particle velocity it induces
    is :math:`\nabla_x h(D(x)) = h'(D(x))\,\nabla_x D(x)`, i.e. :math:`h'(\log r)\nabla\log r`.
    When :math:`h' > 0` the velocity is the KL flow's, rescaled pointwise by a positive factor
    (MonoFlow); when :math:`h'` changes sign, particles in part of space move *against*
    :math:`\nabla \log r`.

    Attributes
    ----------
    name : str
    fn : callable
        Elementwise :math:`h`, vectorised over a tensor.
    formula : str
        :math:`h(d)` in LaTeX.
    loss : str
        The classic generator loss :math:`-h(D)` reproduces (LaTeX allowed).
    monotone : bool
        Whether :math:`h` is (strictly) increasing on the whole real line.
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    formula: str
    loss: str
    monotone: bool

    def __call__(self, d: torch.Tensor) -> torch.Tensor:
        return self.fn(d)

    def derivative(self, d: torch.Tensor) -> torch.Tensor:
        """:math:`h'(d)` elementwise, by autograd."""
        d = torch.as_tensor(d, dtype=torch.get_default_dtype()).detach().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(self.fn(d).sum(), d)
        return g


H_FUNCTIONS: dict[str, HFunction] = {
    "identity": HFunction(
        "identity", lambda d: d, r"d",
        r"$-D(G(z))$: the logit loss, the f-GAN reverse-KL generator loss and the post's loss", True),
    "ns": HFunction(
        "ns", lambda d: -F.softplus(-d), r"\log\sigma(d)",
        r"$-\log\sigma(D(G(z)))$: the non-saturating vanilla GAN loss", True),
    "saturating": HFunction(
        "saturating", lambda d: F.softplus(d), r"\log(1+e^{d})",
        r"$\log(1-\sigma(D(G(z))))$: the saturating (minimax) vanilla GAN loss", True),
    "exp": HFunction(
        "exp", lambda d: torch.exp(d), r"e^{d}",
        r"$-e^{D(G(z))} = -\hat r$: the f-GAN forward-KL generator loss", True),
    "arcsinh": HFunction(
        "arcsinh", lambda d: torch.asinh(d), r"\operatorname{arcsinh}(d)",
        r"$-\operatorname{arcsinh}(D(G(z)))$: a loss outside the classic list, as MonoFlow allows", True),
    "neg_square": HFunction(
        "neg_square", lambda d: -0.5 * d ** 2, r"-d^2/2",
        r"$D(G(z))^2/2$: least squares pulling the logit to 'undecided' ($D=0$); not monotone", False),
    "sin": HFunction(
        "sin", lambda d: torch.sin(d), r"\sin d",
        r"$-\sin D(G(z))$: increasing only for $\lvert d\rvert<\pi/2$; not monotone", False),
}
"""Name -> :class:`HFunction`. The first five are increasing (MonoFlow); the last two are not."""


def get_h(h: str) -> HFunction:
    """The :class:`HFunction` called ``h`` (one of :data:`H_FUNCTIONS`)."""
    return H_FUNCTIONS[check_name(h, H_FUNCTIONS, "h function")]


def _logits(d: torch.Tensor, what: str) -> torch.Tensor:
    if d.ndim == 2 and d.shape[1] == 1:
        d = d[:, 0]
    if d.ndim != 1:
        raise ValueError(f"{what} must have shape (n,) or (n, 1), got {tuple(d.shape)}")
    return d


def generator_loss(d_fake: torch.Tensor, h: str = "identity") -> torch.Tensor:
    r"""MonoFlow generator loss :math:`-\frac1n\sum_i h(D(G(z_i)))`.

    Parameters
    ----------
    d_fake : tensor, shape (n,) or (n, 1)
        Discriminator logits on generated samples.
    h : str
        One of :data:`H_FUNCTIONS`; ``"identity"`` gives :math:`-D`, ``"ns"`` the
        non-saturating loss :math:`\mathrm{softplus}(-D)`, ``"saturating"`` :math:`-\mathrm{softplus}(D)`.
    """
    hf = get_h(h)
    return -hf(_logits(d_fake, "d_fake")).mean()


def _call_d(discriminator: Discriminator, x: torch.Tensor) -> torch.Tensor:
    return _logits(discriminator(x), "discriminator output")


def velocity(x: torch.Tensor, discriminator: Discriminator, *, h: str = "identity") -> torch.Tensor:
    r"""Particle velocity :math:`v(x) = \nabla_x h(D(x)) = h'(D(x))\nabla_x D(x)`, shape ``(n, d)``."""
    hf = get_h(h)
    x = check_points(x, "x", dtype=x.dtype if isinstance(x, torch.Tensor) else torch.float32)
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(hf(_call_d(discriminator, x)).sum(), x)
    return g


def particle_step(x: torch.Tensor, discriminator: Discriminator, eps: float, *,
                  h: str = "identity") -> torch.Tensor:
    r"""One Euler step of the (Mono)flow: :math:`x \leftarrow x + \epsilon\,\nabla_x h(D(x))`.

    With ``h="identity"`` and :math:`D = \log r` this is the explicit Euler step of
    :math:`\dot x = \nabla \log r_t(x)`, the Wasserstein gradient flow of :math:`\mathrm{KL}(q_t\Vert p)`.
    Returns the moved particles, detached, shape ``(n, d)``.
    """
    eps = check_positive(eps, "eps")
    v = velocity(x, discriminator, h=h)
    return (x.detach() + eps * v).detach()


def distill_loss(generator: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor,
                 targets: torch.Tensor) -> torch.Tensor:
    r"""Distillation loss :math:`\frac1n\sum_i \lVert G_\theta(z_i) - \mathrm{sg}(y_i)\rVert^2`.

    With targets :math:`y_i = G_{\theta_t}(z_i) + \epsilon\nabla_x h(D(G_{\theta_t}(z_i)))`
    (:func:`particle_step` on the current samples), its gradient at :math:`\theta=\theta_t` is
    :math:`2\epsilon\,\nabla_\theta\big[-\frac1n\sum_i h(D(G_\theta(z_i)))\big]`: the same direction
    as :func:`generator_loss`, scaled by :math:`2\epsilon`.
    """
    out = generator(z)
    if out.shape != targets.shape:
        raise ValueError(f"targets must have the generator's output shape {tuple(out.shape)}, "
                         f"got {tuple(targets.shape)}")
    return (out - targets.detach()).pow(2).flatten(1).sum(1).mean()


# --------------------------------------------------------------------------------------------
# Gaussians: exact log ratio, KL, and the Wasserstein gradient flow of KL as an ODE
# --------------------------------------------------------------------------------------------


def _np_gauss(mean, cov, what: str) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(mean, dtype=float).reshape(-1)
    s = np.asarray(cov, dtype=float)
    if s.shape != (m.size, m.size):
        raise ValueError(f"{what} covariance must have shape ({m.size}, {m.size}), got {s.shape}")
    if not (np.isfinite(m).all() and np.isfinite(s).all()):
        raise ValueError(f"{what} mean and covariance must be finite")
    if not np.allclose(s, s.T) or np.linalg.eigvalsh(0.5 * (s + s.T)).min() <= 0:
        raise ValueError(f"{what} covariance must be symmetric positive definite")
    return m, s


def gaussian_log_density(x: torch.Tensor, mean, cov) -> torch.Tensor:
    r""":math:`\log\mathcal N(x; m, \Sigma) = -\tfrac12 (x-m)^\top\Sigma^{-1}(x-m) - \tfrac12\log\det(2\pi\Sigma)`,
    via a Cholesky factor; ``x`` of shape ``(n, d)``, returns ``(n,)``, differentiable in ``x``."""
    dt = x.dtype
    m = torch.as_tensor(np.asarray(mean, dtype=float), dtype=dt).reshape(-1)
    S = torch.as_tensor(np.asarray(cov, dtype=float), dtype=dt)
    if x.ndim != 2 or x.shape[1] != m.numel() or S.shape != (m.numel(), m.numel()):
        raise ValueError(f"x must have shape (n, {m.numel()}) and cov ({m.numel()}, {m.numel()}); "
                         f"got {tuple(x.shape)} and {tuple(S.shape)}")
    C = torch.linalg.cholesky(S)
    u = torch.linalg.solve_triangular(C, (x - m).T, upper=False)
    return -0.5 * u.pow(2).sum(0) - torch.log(torch.diagonal(C)).sum() - 0.5 * m.numel() * math.log(2 * math.pi)


def gaussian_log_ratio(x: torch.Tensor, mean_p, cov_p, mean_q, cov_q) -> torch.Tensor:
    r"""Exact :math:`\log r(x) = \log \mathcal N(x; m_p, \Sigma_p) - \log \mathcal N(x; m_q, \Sigma_q)`.

    Differentiable in ``x`` (shape ``(n, d)``); returns shape ``(n,)``.
    """
    return gaussian_log_density(x, mean_p, cov_p) - gaussian_log_density(x, mean_q, cov_q)


def gaussian_kl(mean_q, cov_q, mean_p, cov_p) -> float:
    r""":math:`\mathrm{KL}(\mathcal N(m,S)\Vert\mathcal N(m_p,\Sigma_p)) =
    \tfrac12[\operatorname{tr}(\Sigma_p^{-1}S) - d + (m-m_p)^\top\Sigma_p^{-1}(m-m_p)
    + \log\det\Sigma_p - \log\det S]`."""
    m, s = _np_gauss(mean_q, cov_q, "q")
    mp, sp = _np_gauss(mean_p, cov_p, "p")
    P = np.linalg.inv(sp)
    dm = m - mp
    return float(0.5 * (np.trace(P @ s) - m.size + dm @ P @ dm
                        + np.linalg.slogdet(sp)[1] - np.linalg.slogdet(s)[1]))


def gaussian_w2(mean_a, cov_a, mean_b, cov_b) -> float:
    r"""Closed-form :math:`W_2` between Gaussians:
    :math:`\lVert m_a-m_b\rVert^2 + \operatorname{tr}(A + B - 2(A^{1/2}BA^{1/2})^{1/2})`, square-rooted."""
    ma, a = _np_gauss(mean_a, cov_a, "a")
    mb, b = _np_gauss(mean_b, cov_b, "b")
    ra = np.real(sqrtm(a))
    cross = np.real(sqrtm(ra @ b @ ra))
    val = float(np.sum((ma - mb) ** 2) + np.trace(a + b - 2 * cross))
    return math.sqrt(max(val, 0.0))


def gaussian_wgf_rhs(mean, cov, mean_p, cov_p) -> tuple[np.ndarray, np.ndarray]:
    r"""Right-hand side of the Gaussian Wasserstein gradient flow of :math:`\mathrm{KL}(q\Vert p)`.

    For :math:`q=\mathcal N(m,S)`, :math:`p=\mathcal N(m_p,\Sigma_p)`, :math:`P=\Sigma_p^{-1}`,
    the velocity :math:`\nabla\log r(x) = (S^{-1}-P)x + Pm_p - S^{-1}m` is affine, so
    :math:`q_t` stays Gaussian with

    .. math:: \dot m = -P(m-m_p), \qquad \dot S = 2I - PS - SP.
    """
    m, s = _np_gauss(mean, cov, "q")
    mp, sp = _np_gauss(mean_p, cov_p, "p")
    P = np.linalg.inv(sp)
    return -P @ (m - mp), 2 * np.eye(m.size) - P @ s - s @ P


def solve_gaussian_wgf(mean0, cov0, mean_p, cov_p, t) -> tuple[np.ndarray, np.ndarray]:
    """Solve :func:`gaussian_wgf_rhs` with :func:`scipy.integrate.solve_ivp` (RK45, rtol 1e-10).

    Returns ``means`` of shape ``(len(t), d)`` and ``covs`` of shape ``(len(t), d, d)``.
    """
    m0, s0 = _np_gauss(mean0, cov0, "q0")
    _np_gauss(mean_p, cov_p, "p")
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
    r""":math:`\mathbb E_q\lVert\nabla\log r\rVert^2 = \lVert P(m-m_p)\rVert^2 + \operatorname{tr}(ASA^\top)`,
    :math:`A = S^{-1}-P`: minus the rate of change of :math:`\mathrm{KL}(q_t\Vert p)` along the flow."""
    m, s = _np_gauss(mean_q, cov_q, "q")
    mp, sp = _np_gauss(mean_p, cov_p, "p")
    P = np.linalg.inv(sp)
    A = np.linalg.inv(s) - P
    v = P @ (m - mp)
    return float(v @ v + np.trace(A @ s @ A.T))


def empirical_moments(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean ``(d,)`` and covariance ``(d, d)`` (divisor n) of an ``(n, d)`` point set, float64."""
    a = check_points(x, "x", dtype=torch.float64).numpy()
    m = a.mean(0)
    c = a - m
    return m, c.T @ c / a.shape[0]


def exact_wgf_particles(x0: torch.Tensor, mean_p, cov_p, *, eps: float, steps: int,
                        h: str = "identity") -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    r"""Move particles with the *exact* ratio: :math:`x \leftarrow x + \epsilon\nabla h(\log p(x)/\hat q_t(x))`.

    :math:`\hat q_t` is the Gaussian with the particles' own sample mean and covariance at each
    step (the particles stay an affine image of ``x0``, so this Gaussian is their law when
    ``x0`` is Gaussian). Nothing here uses the ODE of :func:`gaussian_wgf_rhs`.

    Returns the sample means ``(steps+1, d)``, covariances ``(steps+1, d, d)`` and final particles.
    """
    check_int(steps, "steps")
    x = check_points(x0, "x0", dtype=torch.float64).clone()
    means, covs = [], []
    for _ in range(steps + 1):
        m, s = empirical_moments(x)
        means.append(m)
        covs.append(s)
        if len(means) == steps + 1:
            break
        x = particle_step(x, lambda y, m=m, s=s: gaussian_log_ratio(y, mean_p, cov_p, m, s), eps, h=h)
        if not torch.isfinite(x).all():
            raise DivergenceError(f"exact_wgf_particles: particles became NaN/inf at step {len(means)}")
    return np.stack(means), np.stack(covs), x


# --------------------------------------------------------------------------------------------
# Ratio estimation: logistic (vanilla GAN) and f-GAN discriminators
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FDivergence:
    r"""An f-GAN discriminator (Nowozin et al., 2016), written on a raw output :math:`v`.

    The discriminator maximises :math:`\mathbb E_p[g(v)] - \mathbb E_q[f^*(g(v))]`; its optimum is
    :math:`g(v^*) = f'(r)`, so :math:`v^*` is a function of the ratio :math:`r=p/q`;
    ``log_ratio(v)`` inverts that function.
    """

    name: str
    activation: Callable[[torch.Tensor], torch.Tensor]
    conjugate: Callable[[torch.Tensor], torch.Tensor]
    log_ratio: Callable[[torch.Tensor], torch.Tensor]
    optimum: str  # v* as a function of r, LaTeX


F_DIVERGENCES: dict[str, FDivergence] = {
    # vanilla GAN: g(v) = log sigma(v), f*(g(v)) = softplus(v): the logistic loss; v* = log r
    "gan": FDivergence("gan", lambda v: -F.softplus(-v), lambda t: -torch.log1p(-torch.exp(t)),
                       lambda v: v, r"v^* = \log r"),
    "kl": FDivergence("kl", lambda v: v, lambda t: torch.exp(t - 1), lambda v: v - 1,
                      r"v^* = 1 + \log r"),
    "reverse_kl": FDivergence("reverse_kl", lambda v: -torch.exp(-v), lambda t: -1 - torch.log(-t),
                              lambda v: v, r"v^* = \log r\;(g(v^*) = -1/r)"),
    "pearson": FDivergence("pearson", lambda v: v, lambda t: 0.25 * t * t + t,
                           lambda v: torch.log(torch.clamp(1 + v / 2, min=1e-6)), r"v^* = 2(r-1)"),
    "hellinger": FDivergence("hellinger", lambda v: 1 - torch.exp(-v), lambda t: t / (1 - t),
                             lambda v: 2 * v, r"v^* = \tfrac12\log r\;(g(v^*) = 1 - r^{-1/2})"),
}
"""f-GAN discriminators: name -> :class:`FDivergence`."""


def f_gan_d_loss(v_real: torch.Tensor, v_fake: torch.Tensor, divergence: str = "gan") -> torch.Tensor:
    r"""Discriminator loss (to minimise) :math:`-\big(\mathbb E_p[g(v)] - \mathbb E_q[f^*(g(v))]\big)`.

    For ``"gan"`` this equals the logistic loss :math:`\mathrm{sp}(-D(x)) + \mathrm{sp}(D(\tilde x))`.
    """
    fd = F_DIVERGENCES[check_name(divergence, F_DIVERGENCES, "f-divergence")]
    vr, vf = _logits(v_real, "v_real"), _logits(v_fake, "v_fake")
    if divergence == "gan":  # numerically stable form of the same expression
        return F.softplus(-vr).mean() + F.softplus(vf).mean()
    return -(fd.activation(vr).mean() - fd.conjugate(fd.activation(vf)).mean())


def train_discriminator(D: nn.Module, opt: torch.optim.Optimizer,
                        sample_real: Callable[[], torch.Tensor], sample_fake: Callable[[], torch.Tensor],
                        *, steps: int, divergence: str = "gan", where: str = "") -> float:
    """Take ``steps`` optimizer steps on :func:`f_gan_d_loss`; fresh batches from the two samplers.

    Returns the last loss; raises :class:`DivergenceError` (naming ``where``) if it is NaN/inf.
    """
    check_int(steps, "steps")
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        loss = f_gan_d_loss(D(sample_real()), D(sample_fake().detach()), divergence)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return check_finite_value(loss.detach(), where=f"discriminator loss{where}")


def _batch_sampler(x: torch.Tensor, batch: int, gen: torch.Generator) -> Callable[[], torch.Tensor]:
    def draw() -> torch.Tensor:
        return x[torch.randint(x.shape[0], (batch,), generator=gen)]
    return draw


def fit_log_ratio(D: nn.Module, x_p: torch.Tensor, x_q: torch.Tensor, *, steps: int = 1000,
                  lr: float = 1e-3, batch: int = 256, divergence: str = "gan",
                  seed: int | torch.Generator | None = 0) -> nn.Module:
    r"""Train ``D`` with Adam to separate samples of :math:`p` from samples of :math:`q`.

    With ``divergence="gan"`` (the logistic loss) the optimum is :math:`D^* = \log p/q`; for the
    other :data:`F_DIVERGENCES` it is the function of :math:`r` named in ``optimum``.
    """
    xp = check_points(x_p, "x_p")
    xq = check_points(x_q, "x_q", dim=xp.shape[1])
    check_name(divergence, F_DIVERGENCES, "f-divergence")
    gen = make_generator(seed)
    opt = torch.optim.Adam(D.parameters(), lr=lr)
    train_discriminator(D, opt, _batch_sampler(xp, batch, gen), _batch_sampler(xq, batch, gen),
                        steps=steps, divergence=divergence)
    return D


# --------------------------------------------------------------------------------------------
# Particles only: alternate discriminator training and Euler steps
# --------------------------------------------------------------------------------------------


@dataclass
class FlowRun:
    """What :func:`particle_flow` returns: final particles, snapshots and a history."""

    particles: torch.Tensor
    snapshots: dict[int, torch.Tensor]
    history: dict[str, list[float]] = field(default_factory=dict)


def particle_flow(x0: torch.Tensor, sample_real: Callable[[int, torch.Generator], torch.Tensor],
                  D: nn.Module, *, steps: int, eps: float, d_steps: int = 5, lr_d: float = 1e-3,
                  batch: int = 256, h: str = "identity", target: torch.Tensor | None = None,
                  record_every: int = 20, snapshot_at: tuple[int, ...] = (),
                  seed: int | torch.Generator | None = 0) -> FlowRun:
    r"""Generator-free GAN: alternate ``d_steps`` logistic discriminator steps and one Euler step
    :math:`x \leftarrow x + \epsilon\nabla_x h(D(x))` of *all* particles.

    ``sample_real(n, generator)`` draws real points. If ``target`` (a point set the size of
    ``x0``) is given, the exact :math:`W_2` (:func:`gantools.metrics.w2`) between the particles
    and it is recorded every ``record_every`` iterations.
    """
    from .metrics import w2

    x = check_points(x0, "x0").clone()
    check_int(steps, "steps")
    check_int(d_steps, "d_steps")
    check_int(record_every, "record_every")
    get_h(h)
    if target is not None:
        target = check_points(target, "target", dim=x.shape[1])
        if target.shape[0] != x.shape[0]:
            raise ValueError(f"target must hold {x.shape[0]} points (as many as x0), got {target.shape[0]}")
    gen = make_generator(seed)
    opt = torch.optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    history: dict[str, list[float]] = {"step": [], "w2": [], "d_loss": []}
    snaps: dict[int, torch.Tensor] = {}
    for step in range(steps + 1):
        if step in snapshot_at:
            snaps[step] = x.clone()
        if step % record_every == 0 or step == steps:
            history["step"].append(step)
            history["w2"].append(w2(x, target) if target is not None else float("nan"))
        if step == steps:
            break
        ld = train_discriminator(D, opt, lambda: sample_real(batch, gen),
                                 lambda: x[torch.randint(x.shape[0], (batch,), generator=gen)],
                                 steps=d_steps, where=f" (particle_flow, step {step})")
        history["d_loss"].append(ld)
        x = particle_step(x, D, eps, h=h)
        if not torch.isfinite(x).all():
            raise DivergenceError(f"particle_flow: particles became NaN/inf at step {step}")
    return FlowRun(particles=x, snapshots=snaps, history=history)


# --------------------------------------------------------------------------------------------
# Generators: -h(D(G)) loss or the distillation loss, k generator steps per discriminator step
# --------------------------------------------------------------------------------------------


class AffineGenerator(nn.Module):
    r"""The affine generator :math:`G(z) = \mu + Lz` of MonoFlow's Gaussian toy; its law is
    :math:`\mathcal N(\mu, LL^\top)`."""

    def __init__(self, mean=(1.0, 1.0), scale=None):
        super().__init__()
        mu = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        L = torch.eye(mu.numel()) if scale is None else torch.as_tensor(scale, dtype=torch.float32)
        if L.shape != (mu.numel(), mu.numel()):
            raise ValueError(f"scale must have shape ({mu.numel()}, {mu.numel()}), got {tuple(L.shape)}")
        self.mu = nn.Parameter(mu.clone())
        self.L = nn.Parameter(L.clone())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.mu.numel():
            raise ValueError(f"z must have shape (n, {self.mu.numel()}), got {tuple(z.shape)}")
        return self.mu + z @ self.L.T

    @property
    def mean(self) -> np.ndarray:
        return self.mu.detach().double().numpy().copy()

    @property
    def cov(self) -> np.ndarray:
        L = self.L.detach().double()
        return (L @ L.T).numpy()


TOY_MEAN = np.zeros(2)
"""Target mean of MonoFlow's Gaussian toy."""
TOY_COV = np.array([[1.0, 0.8], [0.8, 0.89]])
"""Target covariance of MonoFlow's Gaussian toy."""

GEN_LOSSES: tuple[str, ...] = ("h", "distill")
"""Generator objectives accepted by :func:`train_monoflow`."""


@dataclass
class MonoFlowRun:
    """What :func:`train_monoflow` returns."""

    G: nn.Module
    D: nn.Module | None
    history: dict[str, list] = field(default_factory=dict)


def train_monoflow(G: nn.Module, D: nn.Module | Callable[[nn.Module], Discriminator],
                   sample_real: Callable[[int, torch.Generator], torch.Tensor], *, z_dim: int,
                   iters: int, loss: str = "h", h: str = "identity", eps: float = 0.1,
                   d_steps: int = 1, g_steps: int = 1, batch: int = 256, lr_d: float = 1e-3,
                   lr_g: float = 1e-3, optimizer: str = "adam", exact_ratio: bool = False,
                   record_every: int = 10, monitor: Callable[[nn.Module], dict] | None = None,
                   seed: int | torch.Generator | None = 0) -> MonoFlowRun:
    r"""Alternate discriminator and generator training, the MonoFlow way.

    Each iteration: ``d_steps`` logistic-loss Adam steps for ``D`` (skipped when
    ``exact_ratio``: then ``D(G)`` must return the exact log-ratio callable for the current
    generator), then ``g_steps`` generator steps on fresh latents with either

    * ``loss="h"``: :math:`-\frac1n\sum_i h(D(G_\theta(z_i)))` (:func:`generator_loss`), or
    * ``loss="distill"``: :math:`\frac1n\sum_i\lVert G_\theta(z_i) - \mathrm{sg}(y_i)\rVert^2`,
      :math:`y_i = G_{\theta_t}(z_i) + \epsilon\nabla h(D(G_{\theta_t}(z_i)))`, where
      :math:`\theta_t` is a frozen copy of the generator taken at the start of the iteration
      (:func:`distill_loss`).

    ``optimizer`` is ``"adam"`` (betas (0.5, 0.999)) or ``"sgd"``. ``monitor(G)`` returns a dict of
    numbers recorded every ``record_every`` iterations. Raises :class:`DivergenceError` on NaN/inf.
    """
    check_name(loss, GEN_LOSSES, "generator loss")
    check_name(optimizer, ("adam", "sgd"), "optimizer")
    get_h(h)
    for v, n in ((iters, "iters"), (d_steps, "d_steps"), (g_steps, "g_steps"), (batch, "batch"),
                 (z_dim, "z_dim"), (record_every, "record_every")):
        check_int(v, n)
    check_positive(eps, "eps")
    gen = make_generator(seed)
    if optimizer == "adam":
        opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999))
    else:
        opt_g = torch.optim.SGD(G.parameters(), lr=lr_g)
    opt_d = None if exact_ratio else torch.optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    history: dict[str, list] = {"iter": []}

    def record(it: int) -> None:
        history["iter"].append(it)
        if monitor is not None:
            for k, v in monitor(G).items():
                history.setdefault(k, []).append(v)

    for it in range(iters):
        if it % record_every == 0:
            record(it)
        if exact_ratio:
            disc = D(G)
        else:
            train_discriminator(D, opt_d, lambda: sample_real(batch, gen),
                                lambda: G(torch.randn(batch, z_dim, generator=gen)).detach(),
                                steps=d_steps, where=f" at iteration {it}")
            disc = D
        G_t = copy.deepcopy(G).requires_grad_(False) if loss == "distill" else None
        for _ in range(g_steps):
            z = torch.randn(batch, z_dim, generator=gen)
            if loss == "h":
                lg = generator_loss(disc(G(z)), h)
            else:
                lg = distill_loss(G, z, particle_step(G_t(z), disc, eps, h=h))
            opt_g.zero_grad(set_to_none=True)
            lg.backward()
            opt_g.step()
        check_finite_value(lg.detach(), where=f"generator loss at iteration {it}")
        if not all(torch.isfinite(p).all() for p in G.parameters()):
            raise DivergenceError(f"generator parameters became NaN/inf at iteration {it}")
    record(iters)
    return MonoFlowRun(G=G, D=None if exact_ratio else D, history=history)


def exact_toy_ratio(G: AffineGenerator, mean_p=TOY_MEAN, cov_p=TOY_COV) -> Discriminator:
    """The exact log ratio :math:`\\log p/q_\\theta` for an :class:`AffineGenerator` (as a callable)."""
    m, s = G.mean, G.cov + 1e-9 * np.eye(G.mean.size)
    return lambda x: gaussian_log_ratio(x, mean_p, cov_p, m, s)


def toy_monitor(G: AffineGenerator, mean_p=TOY_MEAN, cov_p=TOY_COV) -> dict:
    """Mean, covariance and Gaussian W2 of an affine generator against the toy target."""
    m, s = G.mean, G.cov
    return {"mean": m, "cov": s, "w2": gaussian_w2(m, s, mean_p, cov_p)}


def sample_gaussian(mean, cov) -> Callable[[int, torch.Generator], torch.Tensor]:
    """A ``sample_real(n, generator)`` for :math:`\\mathcal N(m, \\Sigma)` (Cholesky transform)."""
    m, s = _np_gauss(mean, cov, "target")
    mt = torch.as_tensor(m, dtype=torch.float32)
    Lt = torch.as_tensor(np.linalg.cholesky(s), dtype=torch.float32)

    def draw(n: int, gen: torch.Generator) -> torch.Tensor:
        return mt + torch.randn(n, mt.numel(), generator=gen) @ Lt.T
    return draw


def gaussian_toy(h: str = "identity", *, loss: str = "h", iters: int = 400, d_steps: int = 1,
                 g_steps: int = 1, eps: float = 0.1, lr_g: float = 1e-2, lr_d: float = 2e-3,
                 batch: int = 256, hidden: int = 64, exact_ratio: bool = False,
                 optimizer: str = "adam", record_every: int = 10, start_mean=(1.0, 1.0),
                 seed: int = 0) -> MonoFlowRun:
    r"""MonoFlow's 2-D Gaussian toy, scaled down: target :math:`\mathcal N(0, [[1,.8],[.8,.89]])`,
    generator :math:`x=\mu+Lz` started at :math:`\mu` = ``start_mean`` (default (1, 1)), :math:`L=I`.

    The discriminator is an MLP 2-``hidden``-``hidden``-1 with LeakyReLU(0.2) (the paper uses
    2-512-256-1), or the exact log ratio when ``exact_ratio``. History holds ``mean``, ``cov`` and
    ``w2`` (closed-form Gaussian :math:`W_2` to the target).
    """
    from .nets import mlp

    G = AffineGenerator(mean=start_mean)
    with torch.random.fork_rng():  # seed the network initialisation without touching global state
        torch.manual_seed(seed)
        D = exact_toy_ratio if exact_ratio else mlp(2, 1, hidden=hidden, depth=2, act="leaky_relu")
    return train_monoflow(G, D, sample_gaussian(TOY_MEAN, TOY_COV), z_dim=2, iters=iters, loss=loss,
                          h=h, eps=eps, d_steps=d_steps, g_steps=g_steps, batch=batch, lr_d=lr_d,
                          lr_g=lr_g, optimizer=optimizer, exact_ratio=exact_ratio,
                          record_every=record_every, monitor=toy_monitor, seed=seed)
