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
from .ensemble import EnsembleMLP
from .entropy import jsd_mi_lower_bound
from .errors import DivergenceError

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
                nll = float(exact_nll(energy, data, lim, n_grid))
            if not math.isfinite(nll):
                raise DivergenceError(f"fit_energy diverged: the exact NLL at step {step} is {nll}")
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
@dataclass(frozen=True)
class Treatment:
    r"""One arm of an energy-GAN experiment: the entropy surrogate and per-member overrides.

    Members of one :func:`train_engan` call share the network architecture and the batch; every
    other setting may differ between arms. ``None`` means "the value passed to
    :func:`train_engan`".

    Parameters
    ----------
    entropy : str
        One of :data:`ENTROPY_TREATMENTS`.
    weight : float or None
        :math:`\lambda_2`, the weight of the entropy surrogate (default ``infogan_weight`` or
        ``jsd_weight``).
    name : str or None
        Label of the arm in :attr:`EnGANRun.labels` (default ``entropy``).
    u_steps, steps : int or None
        Energy steps per generator step; generator steps.
    gp : float or None
        Gradient-penalty weight :math:`\lambda`.
    decay : bool or None
        Linear learning-rate decay to zero over the arm's ``steps``.
    lr_u, lr_g : float or None
        Adam learning rates of the energy and of the generator.
    """

    entropy: str = "none"
    weight: float | None = None
    name: str | None = None
    u_steps: int | None = None
    steps: int | None = None
    gp: float | None = None
    decay: bool | None = None
    lr_u: float | None = None
    lr_g: float | None = None

    @property
    def label(self) -> str:
        """The arm's label, ``name`` or the entropy treatment."""
        return self.name if self.name is not None else self.entropy


@dataclass
class EnGANRun:
    """What :func:`train_engan` returns: ``n_members`` independent runs trained side by side.

    ``labels[m]`` is ``(treatment, seed)`` of member ``m``; use :meth:`energy` and
    :meth:`generator` for standalone networks of one member. ``seconds`` is the wall-clock time
    of the whole batched training.
    """

    U: EnsembleMLP
    G: EnsembleMLP
    aux: EnsembleMLP | None
    labels: list[tuple[str, int]]
    z_dim: int
    history: dict[str, list] = field(default_factory=dict)
    seconds: float = float("nan")
    treatments: list[Treatment] = field(default_factory=list)

    def energy(self, m: int) -> Energy:
        """Member ``m``'s energy as a function ``(n, 2) -> (n,)``."""
        net = self.U.member(m)
        for p in net.parameters():
            p.requires_grad_(False)
        return lambda x: net(x)[:, 0]

    def generator(self, m: int) -> nn.Module:
        """Member ``m``'s generator as an ``nn.Sequential`` ``(n, z_dim) -> (n, 2)`` (frozen)."""
        net = self.G.member(m)
        for p in net.parameters():
            p.requires_grad_(False)
        return net

    def index(self, treatment: str, seed: int) -> int:
        """Member index of ``(treatment, seed)``."""
        return self.labels.index((treatment, seed))

    def sample(self, m: int, n: int, *, seed: int | torch.Generator | None = 0) -> torch.Tensor:
        """``n`` samples :math:`G(z)`, :math:`z\\sim N(0, I)`, of member ``m``."""
        gen = make_generator(seed)
        with torch.no_grad():
            return self.generator(m)(torch.randn(n, self.z_dim, generator=gen))

    def sample_all(self, n: int, *, seed: int = 0) -> torch.Tensor:
        """``n`` samples of every member in one batched call, shape ``(n_members, n, 2)``.

        Member ``m`` uses the same latents as ``sample(m, n, seed=seed)``.
        """
        z = torch.randn(n, self.z_dim, generator=make_generator(seed))
        with torch.no_grad():
            return self.G(z.expand(len(self.labels), n, self.z_dim).contiguous())


def _finite(value: torch.Tensor, where: str) -> None:
    if not torch.isfinite(value).all():
        raise DivergenceError(f"train_engan diverged: {where} is not finite")


class _MaskedAdam:
    r"""Adam on ensemble parameters (leading axis = member) with a learning rate and an on/off
    switch per member, so that arms with different schedules share one batched computation.

    For an active member the update is exactly :class:`torch.optim.Adam`'s (no weight decay);
    an inactive member's parameters and moments are left untouched.
    """

    def __init__(self, params, n_members: int, betas: tuple[float, float], eps: float = 1e-8):
        self.params = [p for p in params]
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = torch.zeros(n_members)

    @torch.no_grad()
    def step(self, lr: torch.Tensor, active: torch.Tensor) -> None:
        on = active.float()
        self.t = self.t + on
        t = self.t.clamp(min=1)
        scale = on * lr / (1 - self.b1 ** t)          # per-member step size, 0 when inactive
        rbc2 = (1 - self.b2 ** t).rsqrt()
        ps = [p for p in self.params if p.grad is not None]
        idx = [i for i, p in enumerate(self.params) if p.grad is not None]
        gs = [p.grad for p in ps]
        ms, vs = [self.m[i] for i in idx], [self.v[i] for i in idx]
        shapes = [(-1,) + (1,) * (p.ndim - 1) for p in ps]
        w1 = [(on * (1 - self.b1)).view(sh) for sh in shapes]
        w2 = [(on * (1 - self.b2)).view(sh) for sh in shapes]
        torch._foreach_lerp_(ms, gs, w1)
        torch._foreach_lerp_(vs, torch._foreach_mul(gs, gs), w2)
        denom = torch._foreach_sqrt(vs)
        torch._foreach_mul_(denom, [rbc2.view(sh) for sh in shapes])
        torch._foreach_add_(denom, self.eps)
        upd = torch._foreach_div(ms, denom)
        torch._foreach_mul_(upd, [scale.view(sh) for sh in shapes])
        torch._foreach_sub_(ps, upd)
        for p in ps:
            p.grad = None


def train_engan(
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    *,
    treatments: Sequence[str | Treatment] = ("none",),
    seeds: Sequence[int] = (0,),
    steps: int = 10000,
    z_dim: int = 2,
    hidden: int = 64,
    depth: int = 2,
    act: str = "leaky_relu",
    g_hidden: int | None = 128,
    g_depth: int = 3,
    g_act: str = "relu",
    batch: int = 128,
    lr_u: float = 2e-3,
    lr_g: float = 2e-3,
    betas: tuple[float, float] = (0.5, 0.9),
    u_steps: int = 2,
    gp: float = 0.1,
    decay: bool = True,
    infogan_weight: float = 1.0,
    jsd_weight: float = 1.0,
    log_every: int = 100,
    fixed_energy: Energy | None = None,
) -> EnGANRun:
    r"""Train energies and generators for several entropy treatments and seeds at once.

    The defaults are the book's CPU recipe for the 25-Gaussian grid: no entropy term, a ReLU
    generator with three hidden layers of 128 units (the energy has two of 64), two energy steps
    per generator step, 10,000 generator
    steps and a linear learning-rate decay to zero (Part II, notebook 3, measures it in three
    seeds; ``benchmarks/part2_ablation.py`` what each ingredient does).

    For every member (a pair treatment x seed) the energy :math:`U_\phi` takes ``u_steps``
    Adam steps on

    .. math:: \mathcal L_U = \mathbb E_p[U(x)] - \mathbb E_z[U(\operatorname{sg} G(z))] + \lambda\,\mathbb E_p\lVert\nabla_x U(x)\rVert^2

    (``gp`` = :math:`\lambda`, zero-centred on real data), then the generator :math:`G_\theta`
    takes one step on :math:`\mathbb E_z[U(G(z))] - \hat H` where the entropy surrogate
    :math:`\hat H` is

    * ``"none"``: 0;
    * ``"infogan"``: :math:`-\lambda_2\,\mathbb E_z\lVert z - E(G(z))\rVert^2` with an encoder
      :math:`E` trained on the same loss (the InfoGAN bound with a Gaussian posterior);
    * ``"jsd"``: :math:`\lambda_2\,\hat I_{\mathrm{JSD}}` of
      :func:`gantools.entropy.jsd_mi_lower_bound`, with a statistics network :math:`T(x, z)`
      trained to maximise it; negatives pair :math:`G(z)` with a shuffled :math:`z`.

    With ``decay`` both learning rates at generator step :math:`t` of :math:`S` are
    :math:`\mathrm{lr}\,(1 - t/S)`.

    All members run in one batched computation (:class:`gantools.ensemble.EnsembleMLP`); their
    losses are summed, which leaves each member's gradient its own, and a per-member Adam
    (learning rate and on/off switch per member) lets arms with different ``u_steps``, ``steps``,
    schedules, penalties and learning rates share the batch. Member ``(t, s)`` initialises its
    networks and draws its data and latents from seed ``s`` (the same seed gives the same initial
    networks for every treatment).

    Parameters
    ----------
    sample_real : callable
        ``sample_real(n, generator)`` returns ``n`` real points, shape ``(n, 2)``.
    treatments : sequence of str or Treatment
        Names from :data:`ENTROPY_TREATMENTS` or :class:`Treatment` arms with their own settings
        (default: the recipe's ``"none"``).
    seeds : sequence of int
        Every treatment is trained with every seed.
    steps : int
        Generator steps.
    z_dim : int
        Latent dimension.
    hidden, depth, act : int, int, str
        Width, hidden layers and activation of the energy and of the auxiliary network.
    g_hidden, g_depth, g_act : int or None, int, str
        The same for the generator (``g_hidden=None``: ``hidden``).
    batch : int
        Real and generated points per member and step.
    lr_u, lr_g, betas : float, float, tuple
        Adam settings of the energy and of the generator (with its auxiliary network).
    u_steps : int
        Energy steps per generator step.
    gp : float
        Gradient-penalty weight :math:`\lambda`.
    decay : bool
        Linear learning-rate decay to zero.
    infogan_weight, jsd_weight : float
        :math:`\lambda_2` of the two surrogates.
    log_every : int
        History is logged every ``log_every`` generator steps.
    fixed_energy : callable or None
        If given, a fixed energy ``(n, 2) -> (n,)`` replaces the learned one: no energy steps are
        taken and the generators train on :math:`\mathbb E_z[U(G(z))] - \hat H` alone (the
        learned :math:`U` stays at its initialisation).

    Returns
    -------
    EnGANRun
        The trained ensembles, labels ``(treatment, seed)``, history and wall-clock seconds.

    Raises
    ------
    DivergenceError
        If a loss becomes NaN or infinite.
    """
    import time

    arms: list[Treatment] = []
    for t in treatments:
        if isinstance(t, Treatment):
            check_name(t.entropy, ENTROPY_TREATMENTS, "entropy treatment")
            arms.append(t)
        else:
            arms.append(Treatment(entropy=check_name(t, ENTROPY_TREATMENTS, "entropy treatment")))
    if not arms:
        raise ValueError("treatments must name at least one of " + ", ".join(ENTROPY_TREATMENTS))
    if len({a.label for a in arms}) != len(arms):
        raise ValueError(f"treatment labels must be unique, got {[a.label for a in arms]}")
    seeds = [int(s) for s in seeds]
    check_int(steps, "steps")
    check_int(z_dim, "z_dim")
    check_int(batch, "batch", minimum=2)
    check_int(u_steps, "u_steps")
    check_positive(gp, "gp", allow_zero=True)

    def arm_value(a: Treatment, key: str, default):
        v = getattr(a, key)
        return default if v is None else v

    labels = [(a.label, s) for a in arms for s in seeds]
    members = [(a, s) for a in arms for s in seeds]
    M = len(labels)
    mseeds = [s for _, s in labels]
    m_steps = torch.tensor([check_int(arm_value(a, "steps", steps), "steps") for a, _ in members])
    m_usteps = torch.tensor([check_int(arm_value(a, "u_steps", u_steps), "u_steps") for a, _ in members])
    m_gp = torch.tensor([check_positive(arm_value(a, "gp", gp), "gp", allow_zero=True) for a, _ in members])
    m_decay = torch.tensor([bool(arm_value(a, "decay", decay)) for a, _ in members])
    m_lr_u = torch.tensor([check_positive(arm_value(a, "lr_u", lr_u), "lr_u") for a, _ in members])
    m_lr_g = torch.tensor([check_positive(arm_value(a, "lr_g", lr_g), "lr_g") for a, _ in members])

    def weight(a: Treatment, which: str) -> float:
        if a.entropy != which:
            return 0.0
        return check_positive(arm_value(a, "weight", infogan_weight if which == "infogan" else jsd_weight),
                              "weight", allow_zero=True)

    w_info = torch.tensor([weight(a, "infogan") for a, _ in members])
    w_jsd = torch.tensor([weight(a, "jsd") for a, _ in members])
    U = EnsembleMLP(M, 2, 1, seeds=[1000 + s for s in mseeds], hidden=hidden, depth=depth, act=act)
    G = EnsembleMLP(M, z_dim, 2, seeds=[2000 + s for s in mseeds], hidden=g_hidden or hidden,
                    depth=g_depth, act=g_act)
    # one auxiliary net per member: the encoder E(x) -> z for "infogan", T(x, z) -> 1 for "jsd".
    # Both read (x, z) (E ignores z via a zero mask) so that a single ensemble serves every member.
    need_aux = any(a.entropy != "none" for a in arms)
    aux = (EnsembleMLP(M, 2 + z_dim, z_dim + 1, seeds=[3000 + s for s in mseeds], hidden=hidden,
                       depth=depth, act=act) if need_aux else None)
    zmask = torch.tensor([0.0 if a.entropy == "infogan" else 1.0 for a, _ in members])[:, None, None]
    gens = [make_generator(s) for s in mseeds]
    opt_u = _MaskedAdam(U.parameters(), M, betas)
    opt_g = _MaskedAdam(list(G.parameters()) + (list(aux.parameters()) if aux is not None else []), M, betas)

    # a member's random stream advances only on its own active updates, so that arms with
    # different u_steps or steps draw exactly the data and latents they would draw alone
    def real_batch(on: list[bool]) -> torch.Tensor:
        return torch.stack([sample_real(batch, g) if a else torch.zeros(batch, 2) for g, a in zip(gens, on)])

    def latents(on: list[bool]) -> torch.Tensor:
        return torch.stack([torch.randn(batch, z_dim, generator=g) if a else torch.zeros(batch, z_dim)
                            for g, a in zip(gens, on)])

    total = int(m_steps.max())
    hist: dict[str, list] = {"step": [], "loss_u": [], "loss_g": [], "energy_gap": []}
    t0 = time.perf_counter()
    for step in range(total):
        alive = step < m_steps
        frac = torch.where(m_decay, 1 - step / m_steps.float(), torch.ones(M))
        for k in range(0 if fixed_energy is not None else int(m_usteps[alive].max())):
            on = alive & (k < m_usteps)
            x = real_batch(on.tolist()).requires_grad_(True)
            with torch.no_grad():
                fake = G(latents(on.tolist()))
            u_real = U(x)[..., 0]
            (gx,) = torch.autograd.grad(u_real.sum(), x, create_graph=True)
            loss_u_m = u_real.mean(1) - U(fake)[..., 0].mean(1) + m_gp * gx.pow(2).sum(-1).mean(1)
            _finite(loss_u_m.detach(), f"the energy loss at step {step}")
            loss_u_m.sum().backward()
            opt_u.step(m_lr_u * frac, on)
        z = latents(alive.tolist())
        xg = G(z)
        if fixed_energy is None:
            loss_g_m = U(xg)[..., 0].mean(1)
        else:
            loss_g_m = _u(fixed_energy, xg.reshape(-1, 2)).reshape(M, batch).mean(1)
        if aux is not None:
            perm = torch.stack([torch.randperm(batch, generator=g) if a and mem[0].entropy == "jsd"
                                else torch.arange(batch) for g, a, mem in zip(gens, alive.tolist(), members)])
            z_shuf = torch.gather(z, 1, perm[..., None].expand_as(z))
            out_joint = aux(torch.cat([xg, z * zmask], -1))
            out_marg = aux(torch.cat([xg, z_shuf], -1))[..., -1]
            recon = (z - out_joint[..., :z_dim]).pow(2).sum(-1).mean(1)
            mi = jsd_mi_lower_bound(out_joint[..., -1], out_marg)
            loss_g_m = loss_g_m + w_info * recon - w_jsd * mi
        _finite(loss_g_m.detach(), f"the generator loss at step {step}")
        for p in U.parameters():
            p.requires_grad_(False)
        loss_g_m.sum().backward()
        for p in U.parameters():
            p.requires_grad_(True)
        opt_g.step(m_lr_g * frac, alive)
        if fixed_energy is None and (step % log_every == 0 or step == total - 1):
            hist["step"].append(step)
            hist["loss_u"].append(loss_u_m.detach().tolist())
            hist["loss_g"].append(loss_g_m.detach().tolist())
            with torch.no_grad():
                hist["energy_gap"].append((u_real.detach().mean(1) - U(xg.detach())[..., 0].mean(1)).tolist())
    return EnGANRun(U=U, G=G, aux=aux, labels=labels, z_dim=z_dim, history=hist,
                    seconds=time.perf_counter() - t0, treatments=arms)


@dataclass(frozen=True)
class ModeBalance:
    r"""Coverage, quality and balance of a sample of a Gaussian mixture (see :func:`mode_balance`)."""

    modes_captured: int
    n_modes: int
    high_quality_fraction: float
    kl_hq: float
    balanced_mass: float
    counts: tuple[int, ...]


def mode_balance(samples, centers, sigma: float, *, min_fraction: float = 0.1) -> ModeBalance:
    r"""Mode statistics whose balance is measured on the high-quality samples only.

    A sample is *high quality* (HQ) when it lies within :math:`3\sigma` of its nearest centre;
    :math:`n_k` counts the HQ samples of mode :math:`k` among :math:`n` samples and :math:`K`
    modes. Then

    * ``modes_captured``: modes with :math:`n_k \ge \max(1, \mathrm{round}(f\,n/K))`,
      :math:`f` = ``min_fraction``;
    * ``kl_hq``: :math:`\sum_k \hat p_k\log(K\hat p_k)` with :math:`\hat p_k = n_k/\sum_j n_j`,
      the balance *among* HQ samples (:math:`\log K` when there are none);
    * ``balanced_mass``: :math:`\sum_k \min(n_k/n,\ 1/K)`, the share of the ideal, perfectly
      balanced and perfectly sharp sampler that the sample matches. It is 1 for that sampler,
      :math:`k/K` for a sharp collapse onto :math:`k` modes and about the HQ fraction for a
      uniform smear, so a smear cannot score as balanced.

    Parameters
    ----------
    samples : array-like, shape (n, d)
    centers : array-like, shape (K, d)
    sigma : float
        Standard deviation of each mode.
    min_fraction : float
        Share of a balanced mode's count a mode needs to be captured.

    Returns
    -------
    ModeBalance
    """
    x = check_points(samples, "samples")
    c = check_points(centers, "centers", dim=x.shape[1])
    sigma = check_positive(sigma, "sigma")
    check_positive(min_fraction, "min_fraction")
    n, K = x.shape[0], c.shape[0]
    dmin, nearest = torch.cdist(x.double(), c.double()).min(1)
    good = dmin <= 3 * sigma
    counts = torch.bincount(nearest[good], minlength=K).double()
    tot = counts.sum()
    if tot > 0:
        p = counts / tot
        nz = p > 0
        kl = float((p[nz] * torch.log(p[nz] * K)).sum())
    else:
        kl = math.log(K)
    return ModeBalance(
        modes_captured=int((counts >= max(1, round(min_fraction * n / K))).sum()),
        n_modes=K,
        high_quality_fraction=float(good.double().mean()),
        kl_hq=kl,
        balanced_mass=float(torch.minimum(counts / n, torch.full_like(counts, 1.0 / K)).sum()),
        counts=tuple(int(v) for v in counts),
    )


def engan_balance(run: EnGANRun, name: str, *, n: int = 2000, seed: int = 123) -> dict[tuple[str, int], ModeBalance]:
    """:func:`mode_balance` of ``n`` generator samples of every member of ``run`` on the toy set ``name``.

    Parameters
    ----------
    run : EnGANRun
    name : str
        ``"25gaussians"`` or ``"8gaussians"``.
    n, seed : int
        Samples per member and the seed of their latents (shared by all members).

    Returns
    -------
    dict
        ``(treatment, seed) -> ModeBalance``.
    """
    from .data import mode_centers, mode_sigma

    check_int(n, "n")
    c, s = mode_centers(name), mode_sigma(name)
    xs = run.sample_all(n, seed=seed)
    return {label: mode_balance(xs[m], c, s) for m, label in enumerate(run.labels)}


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


# ----------------------------------------------------------------------------- the recipe's ablation
@dataclass(frozen=True)
class AblationRow:
    """One row of the energy-GAN ablation: the recipe with one ingredient changed.

    ``arch`` overrides architecture arguments of :func:`train_engan` (rows with the same
    ``arch`` train side by side in one call); ``arm`` overrides per-member fields of
    :class:`Treatment`.
    """

    name: str
    arch: tuple[tuple[str, object], ...] = ()
    arm: tuple[tuple[str, object], ...] = ()


ABLATION_ROWS: tuple[AblationRow, ...] = (
    AblationRow("recipe"),
    AblationRow("G: width 64", arch=(("g_hidden", 64),)),
    AblationRow("G: LeakyReLU(0.2), 3 layers", arch=(("g_act", "leaky_relu"),)),
    AblationRow("G: ReLU, 2 layers", arch=(("g_depth", 2),)),
    AblationRow("G: LeakyReLU(0.2), 2 layers of 64 (first edition)",
                arch=(("g_act", "leaky_relu"), ("g_depth", 2), ("g_hidden", 64))),
    AblationRow("1 energy step per G step", arm=(("u_steps", 1),)),
    AblationRow("no learning-rate decay", arm=(("decay", False),)),
    AblationRow("5,000 steps", arm=(("steps", 5000),)),
    AblationRow("2,500 steps", arm=(("steps", 2500),)),
    AblationRow("energy width 32", arch=(("hidden", 32),)),
    AblationRow("energy width 128", arch=(("hidden", 128),)),
    AblationRow("penalty 0.01", arm=(("gp", 0.01),)),
    AblationRow("penalty 1", arm=(("gp", 1.0),)),
)
"""The rows of Part II's ablation of :func:`train_engan`'s recipe (one change each)."""


@dataclass
class AblationResult:
    """One row of :func:`run_ablation`: per-seed statistics and the time of its batched call."""

    row: AblationRow
    stats: dict[int, ModeBalance]
    seconds: float
    members_in_call: int


def run_ablation(sample_real: Callable[[int, torch.Generator], torch.Tensor], name: str, *,
                 rows: Sequence[AblationRow] = ABLATION_ROWS, seeds: Sequence[int] = (0, 1, 2),
                 treatment: str = "none", n_eval: int = 2000, **kwargs) -> list[AblationResult]:
    """Train every row of an ablation, rows with the same architecture side by side.

    Parameters
    ----------
    sample_real : callable
        As in :func:`train_engan`.
    name : str
        Toy set of the mode statistics (``"25gaussians"`` or ``"8gaussians"``).
    rows : sequence of AblationRow
        Rows to train (default :data:`ABLATION_ROWS`).
    seeds : sequence of int
        Seeds of every row.
    treatment : str
        Entropy treatment of every row.
    n_eval : int
        Samples per member for :func:`mode_balance`.
    **kwargs
        Further arguments of :func:`train_engan` (shared by all rows).

    Returns
    -------
    list of AblationResult
        In the order of ``rows``.
    """
    check_name(treatment, ENTROPY_TREATMENTS, "entropy treatment")
    groups: dict[tuple, list[AblationRow]] = {}
    for r in rows:
        groups.setdefault(tuple(sorted(r.arch)), []).append(r)
    out: dict[str, AblationResult] = {}
    for arch, group in groups.items():
        arms = [Treatment(entropy=treatment, name=r.name, **dict(r.arm)) for r in group]
        run = train_engan(sample_real, treatments=arms, seeds=seeds, **{**kwargs, **dict(arch)})
        st = engan_balance(run, name, n=n_eval)
        for r in group:
            out[r.name] = AblationResult(row=r, stats={s: st[r.name, s] for s in seeds},
                                         seconds=run.seconds, members_in_call=len(run.labels))
    return [out[r.name] for r in rows]


# ----------------------------------------------------------------------------- the entropy study
ENTROPY_WEIGHTS: tuple[float, ...] = (0.1, 0.5, 1.0)
"""The values of :math:`\\lambda_2` of Part II's entropy study."""

ENTROPY_REGIMES: dict[str, dict] = {
    "recipe": {},
    "1 energy step": {"u_steps": 1},
    "fast generator (3x lr)": {"lr_g": 6e-3},
    "small batch (32)": {"batch": 32},
}
"""Training regimes of the entropy study: the recipe and three collapse-prone changes of it
(keyword arguments of :func:`train_engan`)."""


def entropy_arms(weights: Sequence[float] = ENTROPY_WEIGHTS) -> list[Treatment]:
    """The arms of the entropy study: no entropy, and InfoGAN and JSD at every weight in ``weights``.

    Parameters
    ----------
    weights : sequence of float
        Values of :math:`\\lambda_2`.

    Returns
    -------
    list of Treatment
        Labelled ``"none"``, ``"infogan 0.1"``, ..., ``"jsd 1"``.
    """
    arms = [Treatment("none")]
    for t in ("infogan", "jsd"):
        arms += [Treatment(t, weight=float(w), name=f"{t} {w:g}") for w in weights]
    return arms
