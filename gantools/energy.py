r"""Energy-based models in 2-D: exact likelihood on a grid, and the energy GAN.

An energy :math:`U_\phi` defines :math:`q_\phi(x) = e^{-U_\phi(x)}/Z_\phi`. On a 2-D box the
partition function is a sum over a grid, so the negative log-likelihood

.. math:: L(\phi) = \mathbb E_{x\sim p}[U_\phi(x)] + \log Z_\phi

is exact (up to quadrature error) and its gradient splits into the positive and negative phases

.. math:: \nabla_\phi L = \mathbb E_{x\sim p}[\nabla_\phi U_\phi(x)] - \mathbb E_{x\sim q_\phi}[\nabla_\phi U_\phi(x)].

The second half of the module trains an energy together with a generator that replaces the
sampler of the negative phase (Kumar et al. 2019, "EnGAN"); see :func:`train_engan`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_int, check_name, check_points, check_positive, make_generator
from .nets import EnsembleMLP
from .train import DivergenceError, check_finite_value

Energy = Callable[[torch.Tensor], torch.Tensor]

NEGATIVE_PHASES: tuple[str, ...] = ("exact", "grid_samples", "langevin")
"""How :func:`fit_energy` computes the negative phase."""

ENTROPY_TREATMENTS: tuple[str, ...] = ("none", "infogan", "jsd")
"""Entropy terms accepted by :func:`train_engan`."""


def _u(energy: Energy, x: torch.Tensor) -> torch.Tensor:
    u = energy(x)
    if u.ndim == 2 and u.shape[1] == 1:
        u = u[:, 0]
    if u.shape != (x.shape[0],):
        raise ValueError(f"energy must map a ({x.shape[0]}, 2) batch to shape ({x.shape[0]},), got {tuple(u.shape)}")
    return u


# ----------------------------------------------------------------------------- analytic energies
def mixture_energy(centers, sigma: float) -> Energy:
    r"""Exact negative log-density of an isotropic Gaussian mixture with equal weights.

    .. math:: U(x) = -\log \frac1K \sum_k N(x; c_k, \sigma^2 I)
              = -\operatorname{logsumexp}_k\Big(-\frac{\lVert x-c_k\rVert^2}{2\sigma^2}\Big)
                + \log K + \frac d2 \log(2\pi\sigma^2),

    so :math:`Z = \int e^{-U} = 1`.
    """
    c = check_points(centers, "centers")
    s2 = check_positive(sigma, "sigma") ** 2
    k, d = c.shape
    const = math.log(k) + 0.5 * d * math.log(2 * math.pi * s2)

    def energy(x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != d:
            raise ValueError(f"x must have shape (n, {d}), got {tuple(x.shape)}")
        d2 = (x[:, None, :] - c.to(x.dtype)[None]).pow(2).sum(-1)
        return -torch.logsumexp(-d2 / (2 * s2), dim=1) + const

    return energy


def sample_mixture(centers, sigma: float, n: int, *, seed: int | torch.Generator | None = None) -> torch.Tensor:
    """``n`` samples of the equal-weight mixture whose energy :func:`mixture_energy` returns."""
    c = check_points(centers, "centers")
    sigma = check_positive(sigma, "sigma")
    check_int(n, "n")
    gen = make_generator(seed)
    idx = torch.randint(c.shape[0], (n,), generator=gen)
    return c[idx] + sigma * torch.randn(n, c.shape[1], generator=gen)


# ----------------------------------------------------------------------------- grid quadrature
def grid(lim: float = 2.0, n: int = 128) -> tuple[torch.Tensor, float]:
    r"""Cell centres of an ``n`` x ``n`` grid on :math:`[-\text{lim}, \text{lim}]^2` and the cell area.

    Returns
    -------
    points : torch.Tensor, shape (n*n, 2)
        Row-major: ``points.reshape(n, n, 2)[i, j]`` has :math:`y` index ``i`` and :math:`x` index ``j``.
    area : float
        :math:`(2\,\text{lim}/n)^2`.
    """
    lim = check_positive(lim, "lim")
    check_int(n, "n", minimum=2)
    h = 2 * lim / n
    g = -lim + h * (torch.arange(n, dtype=torch.float32) + 0.5)
    yy, xx = torch.meshgrid(g, g, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], 1), h * h


def log_partition(energy: Energy, lim: float = 2.0, n: int = 128) -> torch.Tensor:
    r"""Midpoint-rule :math:`\log Z = \log \sum_{\text{cells}} e^{-U(x_c)}\,h^2` (differentiable)."""
    pts, area = grid(lim, n)
    return torch.logsumexp(-_u(energy, pts), 0) + math.log(area)


def exact_nll(energy: Energy, x, lim: float = 2.0, n: int = 128) -> torch.Tensor:
    r"""Negative log-likelihood :math:`\frac1N\sum_i U(x_i) + \log Z` with :math:`Z` by quadrature.

    Differentiable with respect to the energy's parameters; the data must lie inside the box.
    """
    x = check_points(x, "x", dim=2)
    return _u(energy, x).mean() + log_partition(energy, lim, n)


def grid_density(energy: Energy, lim: float = 2.0, n: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Grid points and the probabilities :math:`\pi_c = e^{-U(x_c)}/\sum_{c'} e^{-U(x_{c'})}` of each cell."""
    pts, _ = grid(lim, n)
    with torch.no_grad():
        w = torch.softmax(-_u(energy, pts), 0)
    return pts, w


def grid_sample(energy: Energy, n_samples: int, lim: float = 2.0, n: int = 128, *,
                seed: int | torch.Generator | None = None) -> torch.Tensor:
    r"""Exact samples of the grid-discretised :math:`q = e^{-U}/Z`.

    Draw a cell with probability :math:`\pi_c` (:func:`grid_density`), then a uniform
    point inside it.
    """
    check_int(n_samples, "n_samples")
    gen = make_generator(seed)
    pts, w = grid_density(energy, lim, n)
    idx = torch.multinomial(w, n_samples, replacement=True, generator=gen)
    h = 2 * lim / n
    return pts[idx] + h * (torch.rand(n_samples, 2, generator=gen) - 0.5)


def phase_gradients(energy: nn.Module, x_pos: torch.Tensor, x_neg: torch.Tensor,
                    neg_weights: torch.Tensor | None = None) -> list[torch.Tensor]:
    r"""Positive minus negative phase, one tensor per parameter of ``energy``.

    .. math:: \frac1N\sum_i \nabla_\phi U(x^+_i) \;-\; \sum_j w_j \nabla_\phi U(x^-_j)

    with :math:`w_j = 1/M` (samples of :math:`q`) unless ``neg_weights`` (summing to one,
    e.g. the grid probabilities of :func:`grid_density`) are given.
    """
    x_pos = check_points(x_pos, "x_pos", dim=2)
    x_neg = check_points(x_neg, "x_neg", dim=2)
    params = [p for p in energy.parameters() if p.requires_grad]
    w = (torch.full((x_neg.shape[0],), 1.0 / x_neg.shape[0]) if neg_weights is None
         else neg_weights.detach())
    if w.shape != (x_neg.shape[0],):
        raise ValueError(f"neg_weights must have shape ({x_neg.shape[0]},), got {tuple(w.shape)}")
    obj = _u(energy, x_pos).mean() - (w * _u(energy, x_neg)).sum()
    return list(torch.autograd.grad(obj, params))


# ----------------------------------------------------------------------------- fitting by ML
@dataclass
class EnergyFit:
    """What :func:`fit_energy` returns: the trained energy and its exact NLL along training."""

    energy: nn.Module
    steps: list[int]
    nll: list[float]


def fit_energy(energy: nn.Module, data: torch.Tensor, *, negative: str = "exact", steps: int = 300,
               lr: float = 1e-2, batch: int = 256, n_neg: int = 256, lim: float = 2.0, n_grid: int = 64,
               langevin_steps: int = 20, langevin_step: float = 1e-2, log_every: int = 25,
               seed: int | torch.Generator | None = 0) -> EnergyFit:
    r"""Fit :math:`U_\phi` to ``data`` by gradient descent on the negative log-likelihood.

    Each step uses a minibatch of ``batch`` data points for the positive phase and one of
    three negative phases (``negative``, one of :data:`NEGATIVE_PHASES`):

    * ``"exact"`` -- the grid expectation :math:`\sum_c \pi_c \nabla U(x_c)` (this *is*
      the gradient of :func:`exact_nll`);
    * ``"grid_samples"`` -- ``n_neg`` exact samples of the grid model (:func:`grid_sample`),
      an unbiased estimate of the same expectation;
    * ``"langevin"`` -- ``n_neg`` short-run Langevin chains (``langevin_steps`` steps of size
      ``langevin_step``) started from uniform noise on the box, a biased estimate.

    The exact NLL of the whole ``data`` set (quadrature on a ``n_grid`` x ``n_grid`` grid) is
    logged every ``log_every`` steps. Adam with learning rate ``lr``.
    """
    from .mcmc import langevin

    check_name(negative, NEGATIVE_PHASES, "negative phase")
    data = check_points(data, "data", dim=2)
    check_int(steps, "steps")
    gen = make_generator(seed)
    opt = torch.optim.Adam(energy.parameters(), lr=lr)
    out = EnergyFit(energy=energy, steps=[], nll=[])
    for step in range(steps + 1):
        if step % log_every == 0 or step == steps:
            with torch.no_grad():
                nll = check_finite_value(exact_nll(energy, data, lim, n_grid), where=f"exact NLL at step {step}")
            out.steps.append(step)
            out.nll.append(nll)
        if step == steps:
            break
        xb = data[torch.randint(data.shape[0], (batch,), generator=gen)]
        if negative == "exact":
            x_neg, w = grid_density(energy, lim, n_grid)
        elif negative == "grid_samples":
            x_neg, w = grid_sample(energy, n_neg, lim, n_grid, seed=gen), None
        else:
            x0 = (torch.rand(n_neg, 2, generator=gen) * 2 - 1) * lim
            x_neg, w = langevin(energy, x0, step=langevin_step, n_steps=langevin_steps, seed=gen), None
        grads = phase_gradients(energy, xb, x_neg, w)
        opt.zero_grad(set_to_none=True)
        for p, g in zip([p for p in energy.parameters() if p.requires_grad], grads):
            p.grad = g
        opt.step()
    return out


# ----------------------------------------------------------------------------- the energy GAN
def jsd_mi_lower_bound(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
    r"""Jensen-Shannon mutual-information estimate of Deep InfoMax, averaged over the last axis.

    .. math:: \hat I_{\mathrm{JSD}} = \mathbb E_{(x,z)\sim q(x,z)}[-\mathrm{sp}(-T(x,z))]
              - \mathbb E_{(x,\tilde z)\sim q(x)q(z)}[\mathrm{sp}(T(x,\tilde z))],

    :math:`\mathrm{sp}` the softplus. Maximised over :math:`T` it equals
    :math:`2\,\mathrm{JS}(q(x,z)\,\Vert\, q(x)q(z)) - 2\log 2`, a monotone proxy of :math:`I(X;Z)`.
    Inputs are the statistics network's outputs on joint and on shuffled pairs, shape
    ``(..., batch)``; returns shape ``(...)``.
    """
    return -F.softplus(-t_joint).mean(-1) - F.softplus(t_marginal).mean(-1)


@dataclass
class EnGANRun:
    """What :func:`train_engan` returns: ``n_members`` independent runs trained side by side.

    ``labels[m]`` is ``(treatment, seed)`` of member ``m``; use :meth:`energy` and
    :meth:`generator` for standalone networks of one member.
    """

    U: EnsembleMLP
    G: EnsembleMLP
    aux: EnsembleMLP | None
    labels: list[tuple[str, int]]
    z_dim: int
    history: dict[str, list] = field(default_factory=dict)

    def energy(self, m: int) -> Energy:
        """Member ``m``'s energy as a function ``(n, 2) -> (n,)``."""
        net = self.U.member(m)
        return lambda x: net(x)[:, 0]

    def generator(self, m: int) -> nn.Module:
        """Member ``m``'s generator as an ``nn.Sequential`` ``(n, z_dim) -> (n, 2)``."""
        return self.G.member(m)

    def index(self, treatment: str, seed: int) -> int:
        """Member index of ``(treatment, seed)``."""
        return self.labels.index((treatment, seed))

    def sample(self, m: int, n: int, *, seed: int | torch.Generator | None = 0) -> torch.Tensor:
        """``n`` samples :math:`G(z)`, :math:`z\\sim N(0, I)`, of member ``m``."""
        gen = make_generator(seed)
        with torch.no_grad():
            return self.generator(m)(torch.randn(n, self.z_dim, generator=gen))


def train_engan(
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    *,
    treatments: Sequence[str] = ENTROPY_TREATMENTS,
    seeds: Sequence[int] = (0,),
    steps: int = 1000,
    z_dim: int = 2,
    hidden: int = 128,
    depth: int = 3,
    batch: int = 256,
    lr_u: float = 1e-3,
    lr_g: float = 1e-3,
    betas: tuple[float, float] = (0.5, 0.9),
    u_steps: int = 1,
    gp: float = 0.1,
    infogan_weight: float = 1.0,
    jsd_weight: float = 1.0,
    log_every: int = 100,
) -> EnGANRun:
    r"""Train energies and generators for several entropy treatments and seeds at once.

    For every member (a pair treatment x seed) the energy :math:`U_\phi` takes ``u_steps``
    Adam steps on

    .. math:: \mathcal L_U = \mathbb E_p[U(x)] - \mathbb E_z[U(\operatorname{sg} G(z))] + \lambda\,\mathbb E_p\lVert\nabla_x U(x)\rVert^2

    (``gp`` = :math:`\lambda`, zero-centred on real data), then the generator :math:`G_\theta`
    takes one step on :math:`\mathbb E_z[U(G(z))] - \hat H` where the entropy surrogate
    :math:`\hat H` is

    * ``"none"``: 0;
    * ``"infogan"``: :math:`-\lambda_2\,\mathbb E_z\lVert z - E(G(z))\rVert^2` with an encoder
      :math:`E` trained on the same loss (the InfoGAN bound with a Gaussian posterior);
    * ``"jsd"``: :math:`\lambda_2\,\hat I_{\mathrm{JSD}}` of :func:`jsd_mi_lower_bound`, with a
      statistics network :math:`T(x, z)` trained to maximise it; negatives pair
      :math:`G(z)` with a shuffled :math:`z`.

    (:math:`\lambda_2` is ``infogan_weight`` or ``jsd_weight``.) All members run in one
    batched computation (:class:`gantools.nets.EnsembleMLP`); their losses are summed, which
    leaves each member's gradient, and hence its Adam trajectory, its own. Member
    ``(t, s)`` initialises its networks and draws its data and latents from seed ``s`` (the
    same seed gives the same initial networks for every treatment).

    Parameters
    ----------
    sample_real : callable
        ``sample_real(n, generator)`` returns ``n`` real points, shape ``(n, 2)``.
    treatments, seeds : sequences
        Every combination is trained; names from :data:`ENTROPY_TREATMENTS`.
    steps : int
        Generator steps.
    hidden, depth : int
        Width and number of hidden layers of every MLP (LeakyReLU 0.2).
    Other parameters are the Adam settings and loss weights above.

    Raises
    ------
    DivergenceError
        If a loss becomes NaN or infinite.
    """
    treatments = [check_name(t, ENTROPY_TREATMENTS, "entropy treatment") for t in treatments]
    if not treatments:
        raise ValueError("treatments must name at least one of " + ", ".join(ENTROPY_TREATMENTS))
    seeds = [int(s) for s in seeds]
    check_int(steps, "steps")
    check_int(z_dim, "z_dim")
    check_int(batch, "batch", minimum=2)
    check_int(u_steps, "u_steps")
    check_positive(gp, "gp", allow_zero=True)
    labels = [(t, s) for t in treatments for s in seeds]
    M = len(labels)
    mseeds = [s for _, s in labels]
    kw = dict(hidden=hidden, depth=depth, act="leaky_relu")
    U = EnsembleMLP(M, 2, 1, seeds=[1000 + s for s in mseeds], **kw)
    G = EnsembleMLP(M, z_dim, 2, seeds=[2000 + s for s in mseeds], **kw)
    w_info = torch.tensor([infogan_weight if t == "infogan" else 0.0 for t, _ in labels])
    w_jsd = torch.tensor([jsd_weight if t == "jsd" else 0.0 for t, _ in labels])
    # one auxiliary net per member: the encoder E(x) -> z for "infogan", T(x, z) -> 1 for "jsd".
    # Both read (x, z) (E ignores z via a zero mask) so that a single ensemble serves every member.
    need_aux = any(t != "none" for t in treatments)
    aux = EnsembleMLP(M, 2 + z_dim, z_dim + 1, seeds=[3000 + s for s in mseeds], **kw) if need_aux else None
    zmask = torch.tensor([0.0 if t == "infogan" else 1.0 for t, _ in labels])[:, None, None]
    gens = [make_generator(s) for s in mseeds]
    opt_u = torch.optim.Adam(U.parameters(), lr=lr_u, betas=betas)
    g_params = list(G.parameters()) + (list(aux.parameters()) if aux is not None else [])
    opt_g = torch.optim.Adam(g_params, lr=lr_g, betas=betas)

    def real_batch() -> torch.Tensor:
        return torch.stack([sample_real(batch, g) for g in gens])

    def latents() -> torch.Tensor:
        return torch.stack([torch.randn(batch, z_dim, generator=g) for g in gens])

    hist: dict[str, list] = {"step": [], "loss_u": [], "loss_g": [], "energy_gap": []}
    for step in range(steps):
        for _ in range(u_steps):
            x = real_batch().requires_grad_(True)
            with torch.no_grad():
                fake = G(latents())
            u_real = U(x)[..., 0]
            (gx,) = torch.autograd.grad(u_real.sum(), x, create_graph=True)
            loss_u_m = u_real.mean(1) - U(fake)[..., 0].mean(1) + gp * gx.pow(2).sum(-1).mean(1)
            opt_u.zero_grad(set_to_none=True)
            loss_u_m.sum().backward()
            opt_u.step()
        z = latents()
        xg = G(z)
        loss_g_m = U(xg)[..., 0].mean(1)
        if aux is not None:
            perm = torch.stack([torch.randperm(batch, generator=g) for g in gens])
            z_shuf = torch.gather(z, 1, perm[..., None].expand_as(z))
            out_joint = aux(torch.cat([xg, z * zmask], -1))
            out_marg = aux(torch.cat([xg, z_shuf], -1))[..., -1]
            recon = (z - out_joint[..., :z_dim]).pow(2).sum(-1).mean(1)
            mi = jsd_mi_lower_bound(out_joint[..., -1], out_marg)
            loss_g_m = loss_g_m + w_info * recon - w_jsd * mi
        opt_g.zero_grad(set_to_none=True)
        loss_g_m.sum().backward()
        opt_g.step()
        lu = check_finite_value(loss_u_m.detach().sum(), where=f"energy loss at step {step}")
        lg = check_finite_value(loss_g_m.detach().sum(), where=f"generator loss at step {step}")
        if step % log_every == 0 or step == steps - 1:
            hist["step"].append(step)
            hist["loss_u"].append(loss_u_m.detach().tolist())
            hist["loss_g"].append(loss_g_m.detach().tolist())
            hist["energy_gap"].append((u_real.detach().mean(1) - U(xg.detach())[..., 0].mean(1)).tolist())
        del lu, lg
    return EnGANRun(U=U, G=G, aux=aux, labels=labels, z_dim=z_dim, history=hist)


# ----------------------------------------------------------------------------- latent densities
def latent_log_density(energy: Energy, G: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, *,
                       jacobian: bool = True) -> torch.Tensor:
    r"""Unnormalised log-density in :math:`z` of :math:`x = G(z)` when :math:`x\sim e^{-U(x)}/Z`.

    For a bijective, differentiable :math:`G:\mathbb R^2\to\mathbb R^2` the change of variables gives

    .. math:: \log \pi(z) = -U(G(z)) + \log\lvert\det \partial G/\partial z\rvert + \text{const};

    ``jacobian=False`` drops the determinant, which is the heuristic latent energy
    :math:`U(G(z))` used for latent MCMC; it is exact only where :math:`\lvert\det J\rvert`
    is constant. The Jacobians come from :func:`torch.func.jacrev` under :func:`torch.func.vmap`.
    """
    z = check_points(z, "z")
    logp = -_u(energy, G(z))
    if not jacobian:
        return logp
    return logp + log_abs_det_jacobian(G, z)


def log_abs_det_jacobian(G: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    r""":math:`\log\lvert\det \partial G/\partial z\rvert` per row of ``z`` (square Jacobians only)."""
    from torch.func import jacrev, vmap

    z = check_points(z, "z")
    J = vmap(jacrev(lambda v: G(v[None])[0]))(z)
    if J.shape[1] != J.shape[2]:
        raise ValueError(f"G must map R^d to R^d for a determinant; its Jacobian has shape {tuple(J.shape[1:])}")
    return torch.linalg.slogdet(J)[1]


def engan_mode_stats(run: EnGANRun, name: str, *, n: int = 2000, min_fraction: float = 0.1,
                     seed: int = 123) -> dict[tuple[str, int], "ModeStats"]:
    r"""Mode statistics (:func:`gantools.metrics.mode_stats`) of every member of ``run``.

    ``n`` generator samples per member; a mode counts as *captured* when it holds at least
    ``min_fraction`` of the high-quality samples a perfectly balanced sampler would put
    there, i.e. ``min_count = max(1, round(min_fraction * n / K))`` for ``K`` modes of the toy
    set ``name`` (``"25gaussians"`` or ``"8gaussians"``).
    """
    from .data import mode_centers, mode_sigma
    from .metrics import mode_stats

    check_int(n, "n")
    c = mode_centers(name)
    min_count = max(1, round(check_positive(min_fraction, "min_fraction") * n / len(c)))
    return {label: mode_stats(run.sample(m, n, seed=seed), c, mode_sigma(name), min_count=min_count)
            for m, label in enumerate(run.labels)}
