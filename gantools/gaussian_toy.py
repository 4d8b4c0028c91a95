r"""The MonoFlow paper's 2-D Gaussian toy: one run, or many runs as one batched ensemble.

Target :math:`p=\mathcal N(0, [[1, .8], [.8, .89]])`; generator :math:`G(z)=\mu+Lz`, so
:math:`q_\theta=\mathcal N(\mu, LL^\top)` is known in closed form and :math:`\mathrm{KL}(q_\theta\Vert p)`
(:func:`gantools.gaussian.gaussian_kl`) and the exact :math:`\log r` are available at every step.

:func:`train_toy_ensemble` trains every (loss, seed) pair side by side: the generators are stacked
``(E, 2)``/``(E, 2, 2)`` tensors, the discriminators one batched MLP (``torch.baddbmm``), and the
optimisers are elementwise Adam or SGD with a learning rate per member. Members share nothing, so
each one is exactly an independent run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_int, check_name, check_positive
from .flow import OPTIMIZERS, MonoFlowRun, train_monoflow
from .gaussian import TOY_COV, TOY_MEAN, gaussian_log_ratio, gaussian_w2, sample_gaussian
from .monoflow import get_h

__all__ = ["AffineGenerator", "exact_toy_ratio", "toy_monitor", "gaussian_toy", "ToyConfig", "PAPER_TOY",
           "paper_lr_d", "ToyEnsemble", "train_toy_ensemble"]


class AffineGenerator(nn.Module):
    r"""The affine generator :math:`G(z) = \mu + Lz` of MonoFlow's Gaussian toy.

    Its law is :math:`\mathcal N(\mu, LL^\top)`.

    Parameters
    ----------
    mean : array-like, shape (d,)
        Initial :math:`\mu`.
    scale : array-like, shape (d, d), optional
        Initial :math:`L` (identity by default).
    """

    def __init__(self, mean=(1.0, 1.0), scale=None):
        super().__init__()
        mu = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        L = torch.eye(mu.numel()) if scale is None else torch.as_tensor(scale, dtype=torch.float32)
        if L.shape != (mu.numel(), mu.numel()):
            raise ValueError(f"scale must have shape ({mu.numel()}, {mu.numel()}), got {tuple(L.shape)}")
        self.mu = nn.Parameter(mu.clone())
        self.L = nn.Parameter(L.clone())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """:math:`\\mu + Lz` for ``z`` of shape ``(n, d)``; returns ``(n, d)``."""
        if z.ndim != 2 or z.shape[1] != self.mu.numel():
            raise ValueError(f"z must have shape (n, {self.mu.numel()}), got {tuple(z.shape)}")
        return self.mu + z @ self.L.T

    @property
    def mean(self) -> np.ndarray:
        """:math:`\\mu`, shape ``(d,)``, float64."""
        return self.mu.detach().double().numpy().copy()

    @property
    def cov(self) -> np.ndarray:
        """:math:`LL^\\top`, shape ``(d, d)``, float64."""
        L = self.L.detach().double()
        return (L @ L.T).numpy()


def exact_toy_ratio(G: AffineGenerator, mean_p=TOY_MEAN, cov_p=TOY_COV) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""The exact log ratio :math:`\log p/q_\theta` of an :class:`AffineGenerator`, as a callable.

    Parameters
    ----------
    G : AffineGenerator
    mean_p, cov_p : array-like
        The target.

    Returns
    -------
    callable
        ``x (n, d) -> (n,)``.
    """
    m, s = G.mean, G.cov + 1e-9 * np.eye(G.mean.size)
    return lambda x: gaussian_log_ratio(x, mean_p, cov_p, m, s)


def toy_monitor(G: AffineGenerator, mean_p=TOY_MEAN, cov_p=TOY_COV) -> dict:
    """Mean, covariance, Gaussian :math:`W_2` and KL of an affine generator against the target.

    Parameters
    ----------
    G : AffineGenerator
    mean_p, cov_p : array-like

    Returns
    -------
    dict
        ``mean`` (d,), ``cov`` (d, d), ``w2`` and ``kl`` (floats).
    """
    from .gaussian import gaussian_kl

    m, s = G.mean, G.cov
    return {"mean": m, "cov": s, "w2": gaussian_w2(m, s, mean_p, cov_p),
            "kl": gaussian_kl(m, s + 1e-12 * np.eye(m.size), mean_p, cov_p)}


def gaussian_toy(h: str = "identity", *, loss: str = "h", iters: int = 400, d_steps: int = 1,
                 g_steps: int = 1, eps: float = 0.1, lr_g: float = 1e-2, lr_d: float = 2e-3,
                 batch: int = 256, hidden: int = 64, exact_ratio: bool = False,
                 optimizer: str = "adam", betas: tuple[float, float] = (0.5, 0.999),
                 record_every: int = 10, start_mean=(1.0, 1.0), seed: int = 0) -> MonoFlowRun:
    r"""One run of MonoFlow's 2-D Gaussian toy, at the book's fast settings by default.

    The discriminator is an MLP 2-``hidden``-``hidden``-1 with LeakyReLU(0.2), or the exact log
    ratio when ``exact_ratio``. For the paper's own settings and for several seeds and losses at
    once use :func:`train_toy_ensemble`.

    Parameters
    ----------
    h : str
        A name of :data:`gantools.monoflow.ALL_H`.
    loss, iters, d_steps, g_steps, eps, lr_g, lr_d, batch, optimizer, betas, record_every
        As in :func:`gantools.flow.train_monoflow`.
    hidden : int
        Discriminator width.
    exact_ratio : bool
    start_mean : array-like, shape (2,)
    seed : int

    Returns
    -------
    MonoFlowRun
        History keys ``step`` (and ``iter``), ``mean``, ``cov``, ``w2``, ``kl``.
    """
    from .nets import mlp

    G = AffineGenerator(mean=start_mean)
    with torch.random.fork_rng():  # seed the network initialisation without touching global state
        torch.manual_seed(seed)
        D = exact_toy_ratio if exact_ratio else mlp(2, 1, hidden=hidden, depth=2, act="leaky_relu")
    return train_monoflow(G, D, sample_gaussian(TOY_MEAN, TOY_COV), z_dim=2, iters=iters, loss=loss,
                          h=h, eps=eps, d_steps=d_steps, g_steps=g_steps, batch=batch, lr_d=lr_d,
                          lr_g=lr_g, optimizer=optimizer, betas=betas, exact_ratio=exact_ratio,
                          record_every=record_every, monitor=toy_monitor, seed=seed)


# --------------------------------------------------------------------------------------------
# Batched ensembles of toy runs
# --------------------------------------------------------------------------------------------


def paper_lr_d(h: str) -> float:
    """The MonoFlow authors' discriminator learning rate: 1e-3 for reverse KL, 1e-4 otherwise.

    Parameters
    ----------
    h : str

    Returns
    -------
    float
    """
    return 1e-3 if h in ("reverse_kl", "identity") else 1e-4


@dataclass(frozen=True)
class ToyConfig:
    """Settings of a Gaussian-toy ensemble (validated once).

    Attributes
    ----------
    iters : int
        Iterations (one iteration = ``d_steps`` discriminator steps, then one generator step).
    batch : int
    hidden : tuple of int
        Discriminator hidden widths (the paper: (512, 256)).
    optimizer : str
        The generator's optimiser, ``"adam"`` or ``"sgd"``; the discriminator always uses Adam.
    betas : tuple of float
        Adam's betas, both players.
    lr_g : float
    lr_d : float or None
        ``None``: the paper's rule :func:`paper_lr_d`.
    d_steps : int
    exact_ratio : bool
        Replace the discriminator by the exact :math:`\\log p/q_\\theta`.
    start_mean : tuple of float
    record_every : int
    """

    iters: int = 5000
    batch: int = 32
    hidden: tuple[int, ...] = (512, 256)
    optimizer: str = "adam"
    betas: tuple[float, float] = (0.9, 0.999)
    lr_g: float = 1e-3
    lr_d: float | None = None
    d_steps: int = 1
    exact_ratio: bool = False
    start_mean: tuple[float, float] = (1.0, 1.0)
    record_every: int = 50

    def __post_init__(self):
        for v, n in ((self.iters, "iters"), (self.batch, "batch"), (self.d_steps, "d_steps"),
                     (self.record_every, "record_every")):
            check_int(v, n)
        for w in self.hidden:
            check_int(w, "hidden width")
        check_name(self.optimizer, OPTIMIZERS, "optimizer")
        check_positive(self.lr_g, "lr_g")
        if self.lr_d is not None:
            check_positive(self.lr_d, "lr_d")
        if len(self.start_mean) != 2:
            raise ValueError(f"start_mean must hold 2 numbers, got {self.start_mean!r}")


PAPER_TOY = ToyConfig()
"""The MonoFlow authors' settings: Adam (0.9, 0.999), generator lr 1e-3, discriminator lr by
:func:`paper_lr_d`, batch 32, discriminator 2-512-256-1, one D step per G step, 5,000 iterations."""


@dataclass
class ToyEnsemble:
    """What :func:`train_toy_ensemble` returns: one column per member (a (loss, seed) pair).

    Attributes
    ----------
    h : list of str
        Member -> loss name.
    seeds : list of int
    step : numpy.ndarray, shape (T,)
        Recorded iterations.
    mean : numpy.ndarray, shape (T, E, 2)
    cov : numpy.ndarray, shape (T, E, 2, 2)
    kl : numpy.ndarray, shape (T, E)
        Closed-form :math:`\\mathrm{KL}(q_\\theta\\Vert p)`.
    d_slope, d_corr : numpy.ndarray, shape (T, E)
        :func:`gantools.ratio.ratio_fit` of the discriminator on the exact :math:`\\log r` at a fresh
        batch of generated samples (NaN with ``exact_ratio`` or at step 0).
    frac_outside : numpy.ndarray, shape (T, E)
        Fraction of generated samples where the generator sees :math:`|D| > \\pi/2` (the logit it is
        given: :math:`D`, or the exact :math:`\\log r`).
    frac_outside_exact : numpy.ndarray, shape (T, E)
        The same fraction for the exact :math:`|\\log r|`.
    diverged_at : numpy.ndarray of int, shape (E,)
        First iteration at which a member's parameters became NaN/inf (-1: never); a diverged
        member is frozen at its last finite state.
    config : ToyConfig
    """

    h: list[str]
    seeds: list[int]
    step: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    kl: np.ndarray
    d_slope: np.ndarray
    d_corr: np.ndarray
    frac_outside: np.ndarray
    frac_outside_exact: np.ndarray
    diverged_at: np.ndarray
    config: ToyConfig = field(default_factory=ToyConfig)

    def members(self, h: str) -> np.ndarray:
        """Indices of the members trained with loss ``h``."""
        idx = np.array([i for i, n in enumerate(self.h) if n == h], dtype=int)
        if idx.size == 0:
            raise ValueError(f"no member uses {h!r}; the ensemble has {sorted(set(self.h))}")
        return idx


def _init_mlp(widths: Sequence[int], seeds: Sequence[int]) -> list[torch.Tensor]:
    params = []
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        bound = fan_in ** -0.5
        params.append(torch.stack([(torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound for g in gens]))
        params.append(torch.stack([(torch.rand(1, fan_out, generator=g) * 2 - 1) * bound for g in gens]))
    return [p.requires_grad_(True) for p in params]


def _mlp(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    h = x
    n = len(params) // 2
    for i in range(n):
        h = torch.baddbmm(params[2 * i + 1], h, params[2 * i])
        if i < n - 1:
            h = F.leaky_relu(h, 0.2)
    return h[..., 0]


class _Adam:
    """Elementwise Adam with a learning rate per ensemble member (leading dimension)."""

    def __init__(self, params, lr: torch.Tensor, betas):
        self.params, self.lr, (self.b1, self.b2) = params, lr, betas
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads, active: torch.Tensor) -> None:
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        with torch.no_grad():
            grads = list(grads)
            torch._foreach_mul_(self.m, self.b1)
            torch._foreach_add_(self.m, grads, alpha=1 - self.b1)
            torch._foreach_mul_(self.v, self.b2)
            torch._foreach_addcmul_(self.v, grads, grads, value=1 - self.b2)
            denom = torch._foreach_div(self.v, c2)
            torch._foreach_sqrt_(denom)
            torch._foreach_add_(denom, 1e-8)
            upd = torch._foreach_div(self.m, denom)
            lr = (self.lr * active) / c1
            torch._foreach_mul_(upd, [lr.reshape(-1, *([1] * (p.ndim - 1))) for p in self.params])
            torch._foreach_sub_(self.params, upd)


class _SGD:
    def __init__(self, params, lr: torch.Tensor):
        self.params, self.lr = params, lr

    def step(self, grads, active: torch.Tensor) -> None:
        with torch.no_grad():
            for p, g in zip(self.params, grads):
                p.sub_((self.lr * active).reshape(-1, *([1] * (p.ndim - 1))) * g)


def _batched_log_ratio(x: torch.Tensor, mu: torch.Tensor, L: torch.Tensor, Pp: torch.Tensor,
                       logdet_p: float) -> torch.Tensor:
    """Exact log N(x; 0, Sigma_p) - log N(x; mu_e, L_e L_e^T) for x of shape (E, n, 2)."""
    u = torch.linalg.solve_triangular(L, (x - mu[:, None]).transpose(1, 2), upper=False)  # L lower triangular
    log_q = -0.5 * u.pow(2).sum(1) - torch.log(torch.abs(torch.det(L)))[:, None]
    log_p = -0.5 * ((x @ Pp) * x).sum(-1) - 0.5 * logdet_p
    return log_p - log_q


def train_toy_ensemble(hs: Sequence[str], seeds: Sequence[int], config: ToyConfig = PAPER_TOY) -> ToyEnsemble:
    r"""Train the Gaussian toy for every pair in ``hs`` x ``seeds`` at once.

    Each member runs the loop of :func:`gantools.flow.train_monoflow` with ``loss="h"``: ``d_steps``
    logistic-loss Adam steps on a fresh real and a fresh generated batch, then one generator step
    on :math:`-\frac1n\sum_i h(D(\mu+Lz_i))` with Adam or SGD. :math:`L` is kept lower triangular
    (a Cholesky factor; any covariance has one), which changes nothing in the law
    :math:`\mathcal N(\mu, LL^\top)`.

    Parameters
    ----------
    hs : sequence of str
        Loss names (:data:`gantools.monoflow.ALL_H`); each is run with every seed.
    seeds : sequence of int
        Seeds of the discriminator initialisation and of the batches.
    config : ToyConfig

    Returns
    -------
    ToyEnsemble
    """
    hs = [get_h(h).name for h in hs]
    seeds = [int(s) for s in seeds]
    if not hs or not seeds:
        raise ValueError("hs and seeds must be non-empty")
    c = config
    names = [h for h in hs for _ in seeds]
    seed_of = [s for _ in hs for s in seeds]
    E, B = len(names), c.batch
    gen = torch.Generator().manual_seed(1000003 * sum(seeds) + 7919 * len(names))
    h_fn = {n: get_h(n).fn for n in names}
    mu = torch.tensor(c.start_mean, dtype=torch.float32).repeat(E, 1).requires_grad_(True)
    L = torch.eye(2).repeat(E, 1, 1).requires_grad_(True)
    tril = torch.tril(torch.ones(2, 2))
    Sp = torch.as_tensor(TOY_COV, dtype=torch.float32)
    Lp = torch.linalg.cholesky(Sp)
    Pp = torch.linalg.inv(Sp)
    logdet_p = float(torch.logdet(Sp))
    lr_g = torch.full((E,), float(c.lr_g))
    lr_d = torch.tensor([c.lr_d if c.lr_d is not None else paper_lr_d(n) for n in names])
    D = None if c.exact_ratio else _init_mlp([2, *c.hidden, 1], seed_of)
    opt_d = None if D is None else _Adam(D, lr_d, c.betas)
    opt_g = _Adam([mu, L], lr_g, c.betas) if c.optimizer == "adam" else _SGD([mu, L], lr_g)
    groups = {n: torch.tensor([i for i, m in enumerate(names) if m == n]) for n in dict.fromkeys(names)}
    active = torch.ones(E)
    diverged = np.full(E, -1)
    rec: dict[str, list] = {k: [] for k in ("step", "mean", "cov", "kl", "d_slope", "d_corr",
                                            "frac_outside", "frac_outside_exact")}

    def noise() -> torch.Tensor:
        return torch.randn(E, B, 2, generator=gen)

    def exact(x: torch.Tensor) -> torch.Tensor:
        return _batched_log_ratio(x, mu, L * tril, Pp, logdet_p)

    def record(it: int) -> None:
        with torch.no_grad():
            Lt = (L * tril).double()
            S = Lt @ Lt.transpose(1, 2)
            m = mu.double()
            P = Pp.double()
            kl = 0.5 * (torch.einsum("ij,ejk->eik", P, S).diagonal(dim1=1, dim2=2).sum(1) - 2
                        + ((m @ P) * m).sum(1) + logdet_p - torch.logdet(S))
            x = mu[:, None] + noise() @ (L * tril).transpose(1, 2)
            lr_exact = exact(x)
            d = lr_exact if D is None else _mlp(D, x)
        slopes, corrs = np.full(E, np.nan), np.full(E, np.nan)
        if D is not None and it > 0:
            from .ratio import ratio_fit
            for e in range(E):
                f = ratio_fit(d[e], lr_exact[e])
                slopes[e], corrs[e] = f.slope, f.corr
        rec["step"].append(it)
        rec["mean"].append(m.numpy().copy())
        rec["cov"].append(S.numpy().copy())
        rec["kl"].append(kl.numpy().copy())
        rec["d_slope"].append(slopes)
        rec["d_corr"].append(corrs)
        rec["frac_outside"].append((d.abs() > math.pi / 2).float().mean(1).numpy())
        rec["frac_outside_exact"].append((lr_exact.abs() > math.pi / 2).float().mean(1).numpy())

    for it in range(c.iters):
        if it % c.record_every == 0:
            record(it)
        if D is not None:
            for _ in range(c.d_steps):
                with torch.no_grad():
                    x_real = noise() @ Lp.T
                    x_fake = mu[:, None] + noise() @ (L * tril).transpose(1, 2)
                d_both = _mlp(D, torch.cat([x_real, x_fake], 1))      # one pass over both batches
                loss_d = (F.softplus(-d_both[:, :B]).mean(1) + F.softplus(d_both[:, B:]).mean(1)).sum()
                grads = torch.autograd.grad(loss_d, D)
                opt_d.step(grads, active)
        x = mu[:, None] + noise() @ (L * tril).transpose(1, 2)
        # the ratio is frozen at the current generator: the gradient flows through x only
        d = _batched_log_ratio(x, mu.detach(), (L * tril).detach(), Pp, logdet_p) if D is None else _mlp(D, x)
        loss_g = 0.0
        for n, idx in groups.items():
            loss_g = loss_g - h_fn[n](d[idx]).mean(1).sum()
        gmu, gL = torch.autograd.grad(loss_g, [mu, L])
        old = (mu.detach().clone(), L.detach().clone())
        opt_g.step([gmu, gL * tril], active)
        with torch.no_grad():
            bad = ~(torch.isfinite(mu).all(1) & torch.isfinite(L).flatten(1).all(1)
                    & (torch.abs((L * tril).diagonal(dim1=1, dim2=2)).min(1).values > 1e-6)
                    & (mu.abs().max(1).values < 1e4))
            if bad.any():
                mu[bad], L[bad] = old[0][bad], old[1][bad]
                newly = bad & (active > 0)
                diverged[newly.numpy()] = it
                active[bad] = 0.0
    record(c.iters)
    st = {k: np.stack(v) for k, v in rec.items() if k != "step"}
    return ToyEnsemble(h=names, seeds=seed_of, step=np.array(rec["step"]), diverged_at=diverged,
                       config=c, **st)
