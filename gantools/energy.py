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
from torch import nn

from ._validate import check_int, check_name, check_points, check_positive, make_generator
from .ensemble import EnsembleMLP, MemberOptimizer, MemberStreams
from .entropy import jsd_mi_lower_bound
from .errors import DivergenceError
from .metrics import ModeBalance, ModeStats, mode_balance, mode_stats

__all__ = ["NEGATIVE_PHASES", "ENTROPY_TREATMENTS", "mixture_energy", "sample_mixture", "grid",
           "log_partition", "exact_nll", "grid_density", "grid_sample", "phase_gradients", "EnergyFit",
           "fit_energy", "Treatment", "EnGANRun", "train_engan", "engan_balance", "engan_mode_stats",
           "latent_log_density", "log_abs_det_jacobian", "PAPER_SCALE", "AblationRow", "ABLATION_ROWS",
           "AblationResult", "run_ablation", "ENTROPY_WEIGHTS", "ENTROPY_REGIMES", "entropy_arms", "KUMAR_JSD",
           "kumar_jsd_arms"]

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

    Parameters
    ----------
    centers : array-like, shape (K, d)
        The components' means :math:`c_k`.
    sigma : float
        Their common standard deviation.

    Returns
    -------
    callable
        ``U(x)`` for ``x`` of shape ``(n, d)``, returning shape ``(n,)``.
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
    """``n`` samples of the equal-weight mixture whose energy :func:`mixture_energy` returns.

    Parameters
    ----------
    centers : array-like, shape (K, d)
    sigma : float
    n : int
        Number of samples.
    seed : int, torch.Generator or None

    Returns
    -------
    torch.Tensor, shape (n, d)
    """
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

    Parameters
    ----------
    lim : float
        Half-width of the box.
    n : int
        Cells per side.
    """
    lim = check_positive(lim, "lim")
    check_int(n, "n", minimum=2)
    h = 2 * lim / n
    g = -lim + h * (torch.arange(n, dtype=torch.float32) + 0.5)
    yy, xx = torch.meshgrid(g, g, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], 1), h * h


def log_partition(energy: Energy, lim: float = 2.0, n: int = 128) -> torch.Tensor:
    r"""Midpoint-rule :math:`\log Z = \log \sum_{\text{cells}} e^{-U(x_c)}\,h^2` (differentiable).

    Parameters
    ----------
    energy : callable
        ``(m, 2) -> (m,)``.
    lim, n : float, int
        The grid of :func:`grid`.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    pts, area = grid(lim, n)
    return torch.logsumexp(-_u(energy, pts), 0) + math.log(area)


def exact_nll(energy: Energy, x, lim: float = 2.0, n: int = 128) -> torch.Tensor:
    r"""Negative log-likelihood :math:`\frac1N\sum_i U(x_i) + \log Z` with :math:`Z` by quadrature.

    Differentiable with respect to the energy's parameters; the data must lie inside the box.

    Parameters
    ----------
    energy : callable
        ``(m, 2) -> (m,)``.
    x : array-like, shape (N, 2)
        The data.
    lim, n : float, int
        The grid of :func:`grid`.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    x = check_points(x, "x", dim=2)
    return _u(energy, x).mean() + log_partition(energy, lim, n)


def grid_density(energy: Energy, lim: float = 2.0, n: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Grid points and the probabilities :math:`\pi_c = e^{-U(x_c)}/\sum_{c'} e^{-U(x_{c'})}` of each cell.

    Parameters
    ----------
    energy : callable
        ``(m, 2) -> (m,)``.
    lim, n : float, int
        The grid of :func:`grid`.

    Returns
    -------
    points : torch.Tensor, shape (n*n, 2)
    probabilities : torch.Tensor, shape (n*n,)
    """
    pts, _ = grid(lim, n)
    with torch.no_grad():
        w = torch.softmax(-_u(energy, pts), 0)
    return pts, w


def grid_sample(energy: Energy, n_samples: int, lim: float = 2.0, n: int = 128, *,
                seed: int | torch.Generator | None = None) -> torch.Tensor:
    r"""Exact samples of the grid-discretised :math:`q = e^{-U}/Z`.

    Draw a cell with probability :math:`\pi_c` (:func:`grid_density`), then a uniform
    point inside it.

    Parameters
    ----------
    energy : callable
        ``(m, 2) -> (m,)``.
    n_samples : int
    lim, n : float, int
        The grid of :func:`grid`.
    seed : int, torch.Generator or None

    Returns
    -------
    torch.Tensor, shape (n_samples, 2)
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

    Parameters
    ----------
    energy : nn.Module
        ``(m, 2) -> (m,)`` or ``(m, 1)``.
    x_pos : torch.Tensor, shape (N, 2)
        Data (positive phase).
    x_neg : torch.Tensor, shape (M, 2)
        Points of the model (negative phase).
    neg_weights : torch.Tensor, shape (M,), optional

    Returns
    -------
    list of torch.Tensor
        One gradient per parameter of ``energy`` that requires a gradient.
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
    """What :func:`fit_energy` returns: the trained energy and its exact NLL along training.

    Attributes
    ----------
    energy : nn.Module
        The trained energy (the module passed in).
    steps : list of int
        Steps at which the NLL was logged.
    nll : list of float
        The exact NLL of the data at those steps.
    """

    energy: nn.Module
    steps: list[int]
    nll: list[float]


class _OnDevice(nn.Module):
    """``net`` evaluated on ``device`` for inputs and outputs that live on the CPU."""

    def __init__(self, net: nn.Module, device: torch.device | str):
        super().__init__()
        self.net, self.device = net, torch.device(device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.device)).cpu()


def fit_energy(energy: nn.Module, data: torch.Tensor, *, negative: str = "exact", steps: int = 300,
               lr: float = 1e-2, batch: int = 256, n_neg: int = 256, lim: float = 2.0, n_grid: int = 64,
               langevin_steps: int = 20, langevin_step: float = 1e-2, log_every: int = 25,
               seed: int | torch.Generator | None = 0, device: torch.device | str | None = None) -> EnergyFit:
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

    Parameters
    ----------
    energy : nn.Module
        The energy :math:`U_\phi`, trained in place.
    data : torch.Tensor, shape (N, 2)
    negative : str
        One of :data:`NEGATIVE_PHASES`.
    steps, lr, batch, n_neg : int, float, int, int
        Adam steps and learning rate, data and negative points per step.
    lim, n_grid : float, int
        The grid of :func:`grid`.
    langevin_steps, langevin_step : int, float
        The Langevin chains of ``"langevin"``.
    log_every : int
    seed : int, torch.Generator or None
    device : torch.device or str, optional
        Where the energy is evaluated and trained (it is moved there); data, grid points and
        random draws stay on the CPU, so a seed gives the same run on every device.

    Returns
    -------
    EnergyFit

    Raises
    ------
    DivergenceError
        If the NLL becomes NaN or infinite.
    """
    from .mcmc import langevin

    check_name(negative, NEGATIVE_PHASES, "negative phase")
    data = check_points(data, "data", dim=2)
    check_int(steps, "steps")
    gen = make_generator(seed)
    out = EnergyFit(energy=energy, steps=[], nll=[])
    if device is not None:
        energy = _OnDevice(energy.to(device), device)
    opt = torch.optim.Adam(energy.parameters(), lr=lr)
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
    lr_aux : float or None
        The auxiliary network's own Adam learning rate, constant (no decay). ``None``: the
        auxiliary network (encoder or statistics network) steps with the generator's learning
        rate and schedule, as one optimiser over both would.
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
    lr_aux: float | None = None

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

    Attributes
    ----------
    U, G : gantools.ensemble.EnsembleMLP
        The members' energies and generators.
    aux : gantools.ensemble.EnsembleMLP or None
        The auxiliary networks (encoder or statistics network) when an arm has an entropy term.
    labels : list of tuple
        ``(treatment label, seed)`` of every member.
    z_dim : int
    history : dict
        ``step``, ``loss_u``, ``loss_g``, ``energy_gap`` (one list of per-member values per logged step).
    seconds : float
    treatments : list of Treatment
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
        z = torch.randn(n, self.z_dim, generator=gen).to(self.G.weights[0].device)
        with torch.no_grad():
            return self.generator(m)(z).cpu()

    def sample_all(self, n: int, *, seed: int = 0) -> torch.Tensor:
        """``n`` samples of every member in one batched call, shape ``(n_members, n, 2)``.

        Member ``m`` uses the same latents as ``sample(m, n, seed=seed)``.
        """
        z = torch.randn(n, self.z_dim, generator=make_generator(seed)).to(self.G.weights[0].device)
        with torch.no_grad():
            return self.G(z.expand(len(self.labels), n, self.z_dim).contiguous()).cpu()


def _finite(value: torch.Tensor, where: str) -> None:
    if not torch.isfinite(value).all():
        raise DivergenceError(f"train_engan diverged: {where} is not finite")


def _resolve_arms(treatments: Sequence[str | Treatment]) -> list[Treatment]:
    """The arms of a :func:`train_engan` call, validated (names or :class:`Treatment`)."""
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
    return arms


@dataclass
class _Members:
    """Per-member settings of a :func:`train_engan` call, one entry per ``(arm, seed)``."""

    arms: list[Treatment]
    labels: list[tuple[str, int]]
    seeds: list[int]
    steps: torch.Tensor
    u_steps: torch.Tensor
    gp: torch.Tensor
    decay: torch.Tensor
    lr_u: torch.Tensor
    lr_g: torch.Tensor
    w_info: torch.Tensor
    w_jsd: torch.Tensor
    is_jsd: list[bool]
    lr_aux: torch.Tensor
    own_aux: torch.Tensor

    def lr_scale(self, step: int) -> torch.Tensor:
        """Learning-rate factor of generator step ``step``: :math:`1 - t/S` with decay, else 1."""
        return torch.where(self.decay, 1 - step / self.steps.float(), torch.ones_like(self.lr_u))

    def aux_lr(self, lr_g: torch.Tensor) -> torch.Tensor:
        """The auxiliary networks' learning rates: their own (constant) where set, else ``lr_g``."""
        return torch.where(self.own_aux, self.lr_aux, lr_g)


def _resolve_members(arms: list[Treatment], seeds: Sequence[int], defaults: dict, device) -> _Members:
    """Every member's settings: an arm's own value where it sets one, else ``defaults``."""
    members = [(a, int(s)) for a in arms for s in seeds]

    def column(key: str, check, dtype=torch.float32) -> torch.Tensor:
        vals = [check(defaults[key] if getattr(a, key) is None else getattr(a, key), key) for a, _ in members]
        return torch.tensor(vals, dtype=dtype, device=device)

    def weight(a: Treatment, which: str) -> float:
        if a.entropy != which:
            return 0.0
        w = defaults[f"{which}_weight"] if a.weight is None else a.weight
        return check_positive(w, "weight", allow_zero=True)

    nonneg = lambda v, k: check_positive(v, k, allow_zero=True)  # noqa: E731
    return _Members(
        arms=arms, labels=[(a.label, s) for a, s in members], seeds=[s for _, s in members],
        steps=column("steps", check_int, torch.long), u_steps=column("u_steps", check_int, torch.long),
        gp=column("gp", nonneg), decay=column("decay", lambda v, k: bool(v), torch.bool),
        lr_u=column("lr_u", check_positive), lr_g=column("lr_g", check_positive),
        w_info=torch.tensor([weight(a, "infogan") for a, _ in members], device=device),
        w_jsd=torch.tensor([weight(a, "jsd") for a, _ in members], device=device),
        is_jsd=[a.entropy == "jsd" for a, _ in members],
        lr_aux=torch.tensor([1.0 if a.lr_aux is None else check_positive(a.lr_aux, "lr_aux") for a, _ in members],
                            device=device),
        own_aux=torch.tensor([a.lr_aux is not None for a, _ in members], dtype=torch.bool, device=device))


def _draw(streams: MemberStreams, on: torch.Tensor, fn: Callable[[torch.Generator], torch.Tensor],
          shape: tuple[int, ...]) -> torch.Tensor:
    """``fn(generator)`` for every active member (zeros for the others), shape ``(M, *shape)``.

    A member's stream advances only on its own active steps, so arms with different ``u_steps``
    or ``steps`` draw exactly the data and latents they would draw alone.
    """
    return torch.stack([fn(g) if a else torch.zeros(shape) for g, a in zip(streams.generators, on.tolist())]
                       ).to(streams.device)


def _energy_step(U: EnsembleMLP, G: EnsembleMLP, opt: MemberOptimizer, streams: MemberStreams,
                 sample_real, mem: _Members, on: torch.Tensor, lr: torch.Tensor, batch: int, z_dim: int,
                 where: str) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One Adam step of every active member's energy on
    :math:`\mathbb E_p U - \mathbb E_z U(\operatorname{sg} G(z)) + \lambda\,\mathbb E_p\lVert\nabla_x U\rVert^2`.

    Returns the per-member losses and the mean energy of the real batch (both detached).
    """
    x = _draw(streams, on, lambda g: sample_real(batch, g), (batch, 2)).requires_grad_(True)
    with torch.no_grad():
        fake = G(_draw(streams, on, lambda g: torch.randn(batch, z_dim, generator=g), (batch, z_dim)))
    u_real = U(x)[..., 0]
    (gx,) = torch.autograd.grad(u_real.sum(), x, create_graph=True)
    loss = u_real.mean(1) - U(fake)[..., 0].mean(1) + mem.gp * gx.pow(2).sum(-1).mean(1)
    _finite(loss.detach(), f"the energy loss at {where}")
    opt.step(torch.autograd.grad(loss.sum(), opt.params), active=on, lr=lr)
    return loss.detach(), u_real.detach().mean(1)


def _entropy_terms(aux: EnsembleMLP, xg: torch.Tensor, z: torch.Tensor, streams: MemberStreams,
                   mem: _Members, on: torch.Tensor) -> torch.Tensor:
    r"""Per-member :math:`\lambda_{\text{info}}\,\mathbb E\lVert z - E(G(z))\rVert^2 - \lambda_{\text{jsd}}\,\hat I_{\mathrm{JSD}}`.

    One auxiliary ensemble serves both surrogates: it reads ``(x, z)``, the InfoGAN encoder with
    ``z`` masked to zero (its first ``z_dim`` outputs are :math:`E(x)`), the JSD statistics
    network with ``z`` (its last output is :math:`T(x, z)`); negatives of the JSD bound pair
    :math:`G(z)` with a shuffled :math:`z` (a permutation from the member's own stream).
    """
    M, batch, z_dim = z.shape
    perm = torch.stack([torch.randperm(batch, generator=g) if a and j else torch.arange(batch)
                        for g, a, j in zip(streams.generators, on.tolist(), mem.is_jsd)]).to(z.device)
    z_shuf = torch.gather(z, 1, perm[..., None].expand_as(z))
    zmask = (mem.w_info == 0).float()[:, None, None]
    out_joint = aux(torch.cat([xg, z * zmask], -1))
    out_marg = aux(torch.cat([xg, z_shuf], -1))[..., -1]
    recon = (z - out_joint[..., :z_dim]).pow(2).sum(-1).mean(1)
    return mem.w_info * recon - mem.w_jsd * jsd_mi_lower_bound(out_joint[..., -1], out_marg)


def _generator_step(U: EnsembleMLP, G: EnsembleMLP, aux: EnsembleMLP | None, opt: MemberOptimizer,
                    opt_aux: MemberOptimizer | None, streams: MemberStreams, mem: _Members, on: torch.Tensor,
                    lr: torch.Tensor, batch: int, z_dim: int, fixed_energy: Energy | None,
                    where: str) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One Adam step of every active member's generator (and auxiliary net) on
    :math:`\mathbb E_z U(G(z)) - \hat H`; returns the per-member losses and the generated batch.

    Adam is elementwise, so the generator's and the auxiliary network's optimisers stepping at the
    same rate are one optimiser over both; an arm with ``lr_aux`` gives the auxiliary one its own.
    """
    z = _draw(streams, on, lambda g: torch.randn(batch, z_dim, generator=g), (batch, z_dim))
    xg = G(z)
    if fixed_energy is None:
        loss = U(xg)[..., 0].mean(1)
    else:
        loss = _u(fixed_energy, xg.reshape(-1, 2)).reshape(len(mem.labels), batch).mean(1)
    if aux is not None:
        loss = loss + _entropy_terms(aux, xg, z, streams, mem, on)
    _finite(loss.detach(), f"the generator loss at {where}")
    params = opt.params + (opt_aux.params if opt_aux is not None else [])
    grads = torch.autograd.grad(loss.sum(), params)
    opt.step(grads[:len(opt.params)], active=on, lr=lr)
    if opt_aux is not None:
        opt_aux.step(grads[len(opt.params):], active=on, lr=mem.aux_lr(lr))
    return loss.detach(), xg.detach()


def _networks(mem: _Members, z_dim: int, arch: dict, device) -> tuple[EnsembleMLP, EnsembleMLP, EnsembleMLP | None]:
    """The energies, generators and (when an arm has an entropy term) auxiliary networks.

    Member ``(t, s)`` initialises them from seeds ``1000 + s``, ``2000 + s`` and ``3000 + s``.
    """
    M, s = len(mem.labels), mem.seeds
    h, d, a = arch["hidden"], arch["depth"], arch["act"]
    U = EnsembleMLP(M, 2, 1, seeds=[1000 + k for k in s], hidden=h, depth=d, act=a, device=device)
    G = EnsembleMLP(M, z_dim, 2, seeds=[2000 + k for k in s], hidden=arch["g_hidden"] or h,
                    depth=arch["g_depth"], act=arch["g_act"], device=device)
    aux = (EnsembleMLP(M, 2 + z_dim, z_dim + 1, seeds=[3000 + k for k in s], hidden=arch["aux_hidden"] or h,
                       depth=arch["aux_depth"] or d, act=a, device=device)
           if any(x.entropy != "none" for x in mem.arms) else None)
    return U, G, aux


def train_engan(
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    *,
    treatments: Sequence[str | Treatment] = ("none",),
    seeds: Sequence[int] = (0,),
    steps: int = 10000,
    z_dim: int = 2,
    hidden: int = 128,
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
    device: torch.device | str | None = None,
    aux_hidden: int | None = None,
    aux_depth: int | None = None,
) -> EnGANRun:
    r"""Train energies and generators for several entropy treatments and seeds at once.

    The defaults are the book's CPU recipe for the 25-Gaussian grid: no entropy term, an energy
    with two hidden layers of 128 LeakyReLU(0.2) units, a ReLU generator with three hidden layers
    of 128, two energy steps per generator step, 10,000 generator steps and a linear
    learning-rate decay to zero (Part II, notebook 3, measures it over nine seeds;
    ``benchmarks/part2_ablation.py`` what each ingredient does).

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

    The auxiliary network (encoder or statistics network; ``aux_hidden`` x ``aux_depth``) steps
    with the generator's Adam, learning rate and schedule, unless an arm sets ``lr_aux``: then it has
    its own Adam at that constant rate (Kumar et al.'s estimator, :data:`KUMAR_JSD`).

    With ``decay`` both learning rates at generator step :math:`t` of :math:`S` are
    :math:`\mathrm{lr}\,(1 - t/S)`.

    All members run in one batched computation on the engine of :mod:`gantools.ensemble`
    (:class:`~gantools.ensemble.EnsembleMLP` networks, one
    :class:`~gantools.ensemble.MemberOptimizer` per player with a learning rate, a step count
    and an active mask per member, one :class:`~gantools.ensemble.MemberStreams` stream per
    member). Their losses are summed, which leaves each member's gradient its own, so arms with
    different ``u_steps``, ``steps``, schedules, penalties, learning rates and entropy terms
    share the batch, and a member trained in a batch is the run of that member alone (the tests
    check it for every arm setting). Member ``(t, s)`` initialises its networks from seed ``s``
    (the same for every treatment) and draws its data, latents and shuffles from its own stream,
    seeded ``s``.

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
    device : torch.device or str, optional
        Where the networks train (CPU by default); the random draws are made on the CPU, so a
        seed names the same data and latents on every device.
    aux_hidden, aux_depth : int or None
        Width and hidden layers of the auxiliary network (``None``: ``hidden``, ``depth``);
        :data:`KUMAR_JSD` gives Kumar et al.'s statistics network.

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

    arms = _resolve_arms(treatments)
    check_int(z_dim, "z_dim")
    check_int(batch, "batch", minimum=2)
    mem = _resolve_members(arms, [int(s) for s in seeds], dict(
        steps=steps, u_steps=u_steps, gp=gp, decay=decay, lr_u=lr_u, lr_g=lr_g, infogan_weight=infogan_weight,
        jsd_weight=jsd_weight), device)
    if aux_hidden is not None:
        check_int(aux_hidden, "aux_hidden")
    if aux_depth is not None:
        check_int(aux_depth, "aux_depth")
    U, G, aux = _networks(mem, z_dim, dict(hidden=hidden, depth=depth, act=act, g_hidden=g_hidden,
                                          g_depth=g_depth, g_act=g_act, aux_hidden=aux_hidden,
                                          aux_depth=aux_depth), device)
    opt_u = MemberOptimizer(U.parameters(), lr=mem.lr_u, betas=betas)
    opt_g = MemberOptimizer(G.parameters(), lr=mem.lr_g, betas=betas)
    opt_aux = MemberOptimizer(aux.parameters(), lr=mem.aux_lr(mem.lr_g), betas=betas) if aux is not None else None
    streams = MemberStreams(mem.seeds, device=device)
    total = int(mem.steps.max())
    hist: dict[str, list] = {"step": [], "loss_u": [], "loss_g": [], "energy_gap": []}
    t0 = time.perf_counter()
    for step in range(total):
        alive = step < mem.steps
        scale = mem.lr_scale(step)
        for k in range(0 if fixed_energy is not None else int(mem.u_steps[alive].max())):
            loss_u, u_real = _energy_step(U, G, opt_u, streams, sample_real, mem, alive & (k < mem.u_steps),
                                          mem.lr_u * scale, batch, z_dim, f"step {step}")
        loss_g, xg = _generator_step(U, G, aux, opt_g, opt_aux, streams, mem, alive, mem.lr_g * scale, batch,
                                     z_dim, fixed_energy, f"step {step}")
        if fixed_energy is None and (step % log_every == 0 or step == total - 1):
            _record(hist, step, U, loss_u, loss_g, u_real, xg)
    return EnGANRun(U=U, G=G, aux=aux, labels=mem.labels, z_dim=z_dim, history=hist,
                    seconds=time.perf_counter() - t0, treatments=arms)


def _record(hist: dict[str, list], step: int, U: EnsembleMLP, loss_u: torch.Tensor, loss_g: torch.Tensor,
            u_real: torch.Tensor, xg: torch.Tensor) -> None:
    """Append the step's per-member losses and energy gap :math:`\\mathbb E_p U - \\mathbb E_z U(G(z))`."""
    hist["step"].append(step)
    hist["loss_u"].append(loss_u.tolist())
    hist["loss_g"].append(loss_g.tolist())
    with torch.no_grad():
        hist["energy_gap"].append((u_real - U(xg)[..., 0].mean(1)).tolist())


# ----------------------------------------------------------------------------- mode statistics of a run
def _per_member(run: EnGANRun, name: str, n: int, seed: int, metric: Callable) -> dict:
    from .data import mode_centers, mode_sigma

    check_int(n, "n")
    c, s = mode_centers(name), mode_sigma(name)
    xs = run.sample_all(n, seed=seed)
    return {label: metric(xs[m], c, s) for m, label in enumerate(run.labels)}


def engan_balance(run: EnGANRun, name: str, *, n: int = 2000, seed: int = 123) -> dict[tuple[str, int], ModeBalance]:
    """:func:`gantools.metrics.mode_balance` of ``n`` generator samples of every member of ``run``.

    Parameters
    ----------
    run : EnGANRun
    name : str
        The toy set, ``"25gaussians"`` or ``"8gaussians"``.
    n, seed : int
        Samples per member and the seed of their latents (shared by all members: member ``m``
        uses the latents of ``run.sample(m, n, seed=seed)``).

    Returns
    -------
    dict
        ``(treatment, seed) -> ModeBalance``.
    """
    return _per_member(run, name, n, seed, mode_balance)


def engan_mode_stats(run: EnGANRun, name: str, *, n: int = 2000, min_fraction: float = 0.1,
                     seed: int = 123) -> dict[tuple[str, int], ModeStats]:
    r""":func:`gantools.metrics.mode_stats` of ``n`` generator samples of every member of ``run``.

    A mode counts as *captured* when it holds at least ``min_fraction`` of the high-quality
    samples a perfectly balanced sampler would put there, i.e.
    ``min_count = max(1, round(min_fraction * n / K))`` for the ``K`` modes of the toy set
    ``name`` (``"25gaussians"`` or ``"8gaussians"``); latents as in :func:`engan_balance`.

    Parameters
    ----------
    run : EnGANRun
    name : str
        The toy set.
    n : int
        Samples per member.
    min_fraction : float
        Share of a balanced mode's count a mode needs to be captured.
    seed : int
        Seed of the latents (shared by all members).

    Returns
    -------
    dict
        ``(treatment, seed) -> ModeStats``.
    """
    from .data import mode_centers

    check_int(n, "n")
    min_count = max(1, round(check_positive(min_fraction, "min_fraction") * n / len(mode_centers(name))))
    return _per_member(run, name, n, seed, lambda x, c, s: mode_stats(x, c, s, min_count=min_count))


# ----------------------------------------------------------------------------- latent densities
def latent_log_density(energy: Energy, G: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, *,
                       jacobian: bool = True) -> torch.Tensor:
    r"""Unnormalised log-density in :math:`z` of :math:`x = G(z)` when :math:`x\sim e^{-U(x)}/Z`.

    For a bijective, differentiable :math:`G:\mathbb R^2\to\mathbb R^2` the change of variables gives

    .. math:: \log \pi(z) = -U(G(z)) + \log\lvert\det \partial G/\partial z\rvert + \text{const};

    ``jacobian=False`` drops the determinant, which is the heuristic latent energy
    :math:`U(G(z))` used for latent MCMC; it is exact only where :math:`\lvert\det J\rvert`
    is constant. The Jacobians come from :func:`torch.func.jacrev` under :func:`torch.func.vmap`.

    Parameters
    ----------
    energy : callable
        ``(n, 2) -> (n,)``.
    G : callable
        The generator, ``(n, d) -> (n, d)``.
    z : torch.Tensor, shape (n, d)
    jacobian : bool
        Whether to add :math:`\log\lvert\det J\rvert`.

    Returns
    -------
    torch.Tensor, shape (n,)
    """
    z = check_points(z, "z")
    logp = -_u(energy, G(z))
    if not jacobian:
        return logp
    return logp + log_abs_det_jacobian(G, z)


def log_abs_det_jacobian(G: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    r""":math:`\log\lvert\det \partial G/\partial z\rvert` per row of ``z`` (square Jacobians only).

    Parameters
    ----------
    G : callable
        ``(n, d) -> (n, d)``.
    z : torch.Tensor, shape (n, d)

    Returns
    -------
    torch.Tensor, shape (n,)

    Raises
    ------
    ValueError
        If the Jacobian is not square.
    """
    from torch.func import jacrev, vmap

    z = check_points(z, "z")
    J = vmap(jacrev(lambda v: G(v[None])[0]))(z)
    if J.shape[1] != J.shape[2]:
        raise ValueError(f"G must map R^d to R^d for a determinant; its Jacobian has shape {tuple(J.shape[1:])}")
    return torch.linalg.slogdet(J)[1]


# ----------------------------------------------------------------------------- the paper's scale
PAPER_SCALE: dict[str, object] = dict(hidden=512, depth=3, g_hidden=512, g_depth=3, batch=256, u_steps=5,
                                      steps=100_000, lr_u=1e-4, lr_g=1e-4, decay=False)
r"""Where Kumar et al.'s toy experiments (their code's ``train_ebm_toy.py``) differ from the recipe
(keyword arguments of :func:`train_engan`): every network with three hidden layers of 512 units,
batch 256, five energy steps per generator step, 100,000 generator steps, Adam at
:math:`10^{-4}` without decay. Shared with the recipe: betas (0.5, 0.9), penalty 0.1,
:math:`z\in\mathbb R^2`, a ReLU generator and LeakyReLU(0.2) energy. The benchmarks' ``--scale paper``
trains with these settings (their rows and regimes still change one setting each)."""


# ----------------------------------------------------------------------------- the recipe's ablation
@dataclass(frozen=True)
class AblationRow:
    """One row of the energy-GAN ablation: the recipe with one ingredient changed.

    ``arch`` overrides architecture arguments of :func:`train_engan` (rows with the same
    ``arch`` train side by side in one call); ``arm`` overrides per-member fields of
    :class:`Treatment`.

    Attributes
    ----------
    name : str
    arch : tuple of (str, object)
    arm : tuple of (str, object)
    """

    name: str
    arch: tuple[tuple[str, object], ...] = ()
    arm: tuple[tuple[str, object], ...] = ()


ABLATION_ROWS: tuple[AblationRow, ...] = (
    AblationRow("recipe"),
    AblationRow("G: width 64", arch=(("g_hidden", 64),)),
    AblationRow("G: LeakyReLU(0.2), 3 layers", arch=(("g_act", "leaky_relu"),)),
    AblationRow("G: ReLU, 2 layers", arch=(("g_depth", 2),)),
    AblationRow("G: LeakyReLU(0.2), 2 layers of 64",
                arch=(("g_act", "leaky_relu"), ("g_depth", 2), ("g_hidden", 64))),
    AblationRow("1 energy step per G step", arm=(("u_steps", 1),)),
    AblationRow("no learning-rate decay", arm=(("decay", False),)),
    AblationRow("5,000 steps", arm=(("steps", 5000),)),
    AblationRow("2,500 steps", arm=(("steps", 2500),)),
    AblationRow("energy width 32", arch=(("hidden", 32),)),
    AblationRow("energy width 64", arch=(("hidden", 64),)),
    AblationRow("penalty 0.01", arm=(("gp", 0.01),)),
    AblationRow("penalty 1", arm=(("gp", 1.0),)),
)
"""The rows of Part II's ablation of :func:`train_engan`'s recipe (one change each)."""


@dataclass
class AblationResult:
    """One row of :func:`run_ablation`: per-seed statistics and the time of its batched call.

    Attributes
    ----------
    row : AblationRow
    stats : dict
        ``seed -> ModeBalance``.
    seconds : float
        Wall-clock seconds of the batched call that trained the row.
    members_in_call : int
    """

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


KUMAR_JSD: dict[str, float] = dict(aux_hidden=512, aux_depth=3, lr_aux=1e-4, weight=0.5)
r"""Kumar et al.'s JSD estimator (their code's ``StatisticsNetwork`` and ``optimizerH``) in the
book's units: a statistics network with three hidden layers of 512 LeakyReLU(0.2) units
(``aux_hidden``, ``aux_depth``: arguments of :func:`train_engan`) on its own Adam at
:math:`10^{-4}`, betas (0.5, 0.9), without decay (``lr_aux``: a field of :class:`Treatment`).
Their generator adds the binary cross-entropy of :math:`T` on joint (label 1) and shuffled
(label 0) pairs with weight 1; that cross-entropy, a mean over the :math:`2B` pairs, is
:math:`\tfrac12\big[\mathbb E\,\mathrm{sp}(-T_{\text{joint}}) + \mathbb E\,\mathrm{sp}(T_{\text{marg}})\big]
= -\tfrac12 \hat I_{\mathrm{JSD}}`, so their weight 1 is :math:`\lambda_2 = 0.5` here (``weight``)."""


def kumar_jsd_arms(weights: Sequence[float] = ENTROPY_WEIGHTS) -> list[Treatment]:
    r"""JSD arms with Kumar et al.'s estimator's optimiser at every weight in ``weights``.

    Train them with ``aux_hidden=KUMAR_JSD["aux_hidden"], aux_depth=KUMAR_JSD["aux_depth"]`` for
    their statistics network.

    Parameters
    ----------
    weights : sequence of float
        Values of :math:`\lambda_2` (Kumar et al.'s own setting is ``KUMAR_JSD["weight"]``).

    Returns
    -------
    list of Treatment
        Labelled ``"jsd-kumar 0.1"``, ...
    """
    return [Treatment("jsd", weight=float(w), name=f"jsd-kumar {w:g}", lr_aux=float(KUMAR_JSD["lr_aux"]))
            for w in weights]
