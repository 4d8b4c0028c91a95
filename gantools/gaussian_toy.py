r"""The MonoFlow paper's 2-D Gaussian toy: one run, or many runs as one batched ensemble.

Target :math:`p=\mathcal N(0, [[1, .8], [.8, .89]])`; generator :math:`G(z)=\mu+Lz`, so
:math:`q_\theta=\mathcal N(\mu, LL^\top)` is known in closed form and :math:`\mathrm{KL}(q_\theta\Vert p)`
(:func:`gantools.gaussian.gaussian_kl`) and the exact :math:`\log r` are available at every step.

:func:`train_toy_ensemble` trains every (loss, seed) pair side by side: the generators are stacked
``(E, 2)``/``(E, 2, 2)`` tensors, and the discriminators, optimisers and random streams are those
of the batched engine (:mod:`gantools.ensemble`). Members share nothing, so each one is exactly
the run it would be alone.
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
from .calibration import SeedCondition
from .ensemble import EnsembleMLP, MemberOptimizer, MemberStreams
from .flow import OPTIMIZERS, MonoFlowRun, train_monoflow
from .gaussian import (TOY_COV, TOY_MEAN, gaussian_kl, gaussian_kl_torch, gaussian_log_density, gaussian_log_ratio,
                       gaussian_w2, sample_gaussian)
from .monoflow import H_FUNCTIONS, PAPER_LOSSES, get_h
from .ratio import ratio_fit

__all__ = ["AffineGenerator", "exact_toy_ratio", "toy_monitor", "gaussian_toy", "ToyConfig", "PAPER_TOY",
           "paper_lr_d", "ToyEnsemble", "ToyOutcomes", "train_toy_ensemble", "FAMILY_RUNS",
           "FAMILY_CONDITIONS", "family_outcomes",
           "family_conditions"]


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
    m, s = G.mean, G.cov
    return {"mean": m, "cov": s, "w2": gaussian_w2(m, s, mean_p, cov_p),
            "kl": gaussian_kl(m, s + 1e-12 * np.eye(m.size), mean_p, cov_p)}


def gaussian_toy(h: str = "identity", *, loss: str = "h", iters: int = 400, d_steps: int = 1,
                 g_steps: int = 1, eps: float = 0.1, lr_g: float = 1e-2, lr_d: float = 2e-3,
                 batch: int = 256, hidden: int = 64, exact_ratio: bool = False,
                 optimizer: str = "adam", betas: tuple[float, float] = (0.5, 0.999),
                 record_every: int = 10, start_mean=(1.0, 1.0), seed: int = 0,
                 device: torch.device | str | None = None) -> MonoFlowRun:
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
    device : torch.device or str, optional
        Where to train (CPU by default).

    Returns
    -------
    MonoFlowRun
        History keys ``step``, ``mean``, ``cov``, ``w2``, ``kl``.
    """
    from .nets import mlp

    G = AffineGenerator(mean=start_mean)
    with torch.random.fork_rng():  # seed the network initialisation without touching global state
        torch.manual_seed(seed)
        D = exact_toy_ratio if exact_ratio else mlp(2, 1, hidden=hidden, depth=2, act="leaky_relu")
    return train_monoflow(G, D, sample_gaussian(TOY_MEAN, TOY_COV), z_dim=2, iters=iters, loss=loss,
                          h=h, eps=eps, d_steps=d_steps, g_steps=g_steps, batch=batch, lr_d=lr_d,
                          lr_g=lr_g, optimizer=optimizer, betas=betas, exact_ratio=exact_ratio,
                          record_every=record_every, monitor=toy_monitor, seed=seed, device=device)


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

_EXACT = dict(iters=400, batch=256, exact_ratio=True, betas=(0.5, 0.999), record_every=20)

FAMILY_RUNS: dict[str, tuple[tuple[str, ...], ToyConfig]] = {
    "exact, sgd, paper start": (tuple(H_FUNCTIONS), ToyConfig(optimizer="sgd", lr_g=0.05, start_mean=(1.0, 1.0), **_EXACT)),
    "exact, sgd, far start": (tuple(H_FUNCTIONS), ToyConfig(optimizer="sgd", lr_g=0.05, start_mean=(4.0, -4.0), **_EXACT)),
    "exact, adam, paper start": (tuple(H_FUNCTIONS), ToyConfig(optimizer="adam", lr_g=1e-2, start_mean=(1.0, 1.0),
                                                               **_EXACT)),
    "exact, adam, far start": (tuple(H_FUNCTIONS), ToyConfig(optimizer="adam", lr_g=1e-2, start_mean=(4.0, -4.0),
                                                             **_EXACT)),
    "learned D, book": (tuple(H_FUNCTIONS), ToyConfig(iters=400, batch=256, hidden=(64, 64), lr_g=1e-2, lr_d=2e-3,
                                                      betas=(0.5, 0.999), record_every=40)),
    "learned D, paper": (tuple(PAPER_LOSSES), ToyConfig(iters=PAPER_TOY.iters, batch=PAPER_TOY.batch, hidden=(64, 32),
                                                        optimizer="adam", betas=PAPER_TOY.betas, lr_g=PAPER_TOY.lr_g,
                                                        lr_d=None, record_every=500)),
}
"""The runs of Part III, notebook 5, name -> (losses, settings) (the book's family with the exact ratio under SGD and Adam from two
starts, with a learned :math:`D` at the book's settings, and the paper's losses at the authors' settings
with a 2-64-32-1 discriminator); ``benchmarks/part3_family_seeds.py`` runs them on many seeds."""


def family_outcomes(seeds: Sequence[int], runs: Sequence[str] | None = None) -> dict[str, "ToyOutcomes"]:
    """Train runs of :data:`FAMILY_RUNS` on ``seeds`` and return each run's :meth:`ToyEnsemble.outcomes`.

    Parameters
    ----------
    seeds : sequence of int
    runs : sequence of str, optional
        Names from :data:`FAMILY_RUNS` (default all).

    Returns
    -------
    dict of str to ToyOutcomes
    """
    runs = list(FAMILY_RUNS) if runs is None else [check_name(r, tuple(FAMILY_RUNS), "run") for r in runs]
    return {r: train_toy_ensemble(FAMILY_RUNS[r][0], seeds, FAMILY_RUNS[r][1]).outcomes() for r in runs}


_MONOTONE = tuple(h for h in H_FUNCTIONS if H_FUNCTIONS[h].monotone)
_SIGN_CHANGE = ("forward_kl", "chi2", "hellinger", "js")


def _ratio(o: "ToyOutcomes", h: str) -> np.ndarray:
    return o.of(h, "kl_end") / o.of(h, "kl_start")


def _worst(o: "ToyOutcomes", hs: Sequence[str], fn=np.max) -> np.ndarray:
    return fn(np.stack([_ratio(o, h) for h in hs]), axis=0)


def _cond(text: str, runs: tuple[str, ...], test: Callable[..., dict]) -> SeedCondition:
    return SeedCondition(text, runs, lambda o: test(*(o[r] for r in runs)))


_SGD_NEAR, _SGD_FAR = "exact, sgd, paper start", "exact, sgd, far start"
_ADAM_NEAR, _ADAM_FAR = "exact, adam, paper start", "exact, adam, far start"
_BOOK, _PAPER = "learned D, book", "learned D, paper"

FAMILY_CONDITIONS: dict[str, SeedCondition] = {
    "sgd_near_increasing_converge": _cond(
        "SGD, paper start, exact ratio: every increasing h removes over 99.9% of KL", (_SGD_NEAR,),
        lambda o: (lambda w: {"pass": w < 1e-3, "worst_kl_ratio": w})(_worst(o, _MONOTONE))),
    "sgd_near_neg_square_blows_up": _cond(
        "SGD, paper start: neg_square (h' = -u) blows up (the run stops)", (_SGD_NEAR,),
        lambda o: {"pass": o.of("neg_square", "diverged_at") >= 0, "stopped_at": o.of("neg_square", "diverged_at")}),
    "sgd_far_saturating_stuck": _cond(
        "SGD, far start, exact ratio: saturating removes under 1% of KL in 400 steps (saturation)", (_SGD_FAR,),
        lambda o: {"pass": _ratio(o, "saturating") > 0.99, "kl_ratio": _ratio(o, "saturating")}),
    "sgd_far_fast_converge": _cond(
        "SGD, far start: identity, ns and arcsinh remove over 99.9% of KL", (_SGD_FAR,),
        lambda o: (lambda w: {"pass": w < 1e-3, "worst_kl_ratio": w})(_worst(o, ("identity", "ns", "arcsinh")))),
    "sgd_far_exp_not_converged": _cond(
        "SGD, far start: exp has not converged after 400 steps (KL above 1)", (_SGD_FAR,),
        lambda o: {"pass": o.of("exp", "kl_end") > 1, "kl_end": o.of("exp", "kl_end")}),
    "sgd_far_exp_not_left": _cond(
        "SGD, far start: exp has not left its start after 400 steps (KL within 1% of its start)", (_SGD_FAR,),
        lambda o: {"pass": np.abs(_ratio(o, "exp") - 1) < 0.01, "kl_ratio": _ratio(o, "exp")}),
    "sgd_far_exp_overshoots": _cond(
        "SGD, far start: exp ends above its starting KL (over 1% above)", (_SGD_FAR,),
        lambda o: {"pass": _ratio(o, "exp") > 1.01, "kl_ratio": _ratio(o, "exp")}),
    "adam_far_order": _cond(
        "Adam, far start: saturating and arcsinh remove over 99.9% of KL while identity and ns are still above "
        "KL = 5 (of 114) after 400 steps", (_ADAM_FAR,),
        lambda o: (lambda w, k: {"pass": (w < 1e-3) & (k > 5), "worst_kl_ratio_saturating_arcsinh": w,
                                 "min_kl_end_identity_ns": k})(
            _worst(o, ("saturating", "arcsinh")), np.minimum(o.of("identity", "kl_end"), o.of("ns", "kl_end")))),
    "sin_exact_window": _cond(
        "exact ratio, paper start (SGD): over 40% of the samples lie outside |log r| < pi/2 at the start, under 1% "
        "at step 400", (_SGD_NEAR,),
        lambda o: {"pass": (o.of("sin", "frac_outside_exact_start") > 0.4) & (o.of("sin", "frac_outside_exact_end") < 0.01),
                   "fraction_start": o.of("sin", "frac_outside_exact_start"),
                   "fraction_end": o.of("sin", "frac_outside_exact_end")}),
    "sin_sgd_rises": _cond(
        "exact ratio, paper start, SGD: KL under sin rises above its start on the way", (_SGD_NEAR,),
        lambda o: {"pass": o.of("sin", "kl_max") > o.of("sin", "kl_start"),
                   "max_kl_over_start": o.of("sin", "kl_max") / o.of("sin", "kl_start")}),
    "sin_adam_rises": _cond(
        "exact ratio, paper start, Adam: KL under sin rises above its start on the way", (_ADAM_NEAR,),
        lambda o: {"pass": o.of("sin", "kl_max") > o.of("sin", "kl_start"),
                   "max_kl_over_start": o.of("sin", "kl_max") / o.of("sin", "kl_start")}),
    "sin_near_converges": _cond(
        "exact ratio, paper start: sin ends below 1% of its starting KL under SGD and under Adam", (_SGD_NEAR, _ADAM_NEAR),
        lambda s, a: (lambda w: {"pass": w < 0.01, "worst_kl_ratio": w})(np.maximum(_ratio(s, "sin"), _ratio(a, "sin")))),
    "sin_far_stuck": _cond(
        "exact ratio, far start: sin keeps over 10% of its KL after 400 steps under SGD and under Adam",
        (_SGD_FAR, _ADAM_FAR),
        lambda s, a: (lambda w: {"pass": w > 0.1, "min_kl_ratio": w})(np.minimum(_ratio(s, "sin"), _ratio(a, "sin")))),
    "learned_sin_damped": _cond(
        "learned D, sin: the slope of D on log r, averaged over training, is below 0.5", (_BOOK,),
        lambda o: {"pass": o.of("sin", "d_slope_mean") < 0.5, "slope": o.of("sin", "d_slope_mean")}),
    "learned_sin_fewer_outside": _cond(
        "learned D, sin: at step 40 fewer samples see |D| > pi/2 than have |log r| > pi/2", (_BOOK,),
        lambda o: {"pass": o.of("sin", "frac_outside_first") < o.of("sin", "frac_outside_exact_first"),
                   "frac_D": o.of("sin", "frac_outside_first"), "frac_log_r": o.of("sin", "frac_outside_exact_first")}),
    "learned_sin_converges": _cond(
        "learned D, book settings: sin reduces KL by over 80%", (_BOOK,),
        lambda o: {"pass": _ratio(o, "sin") < 0.2, "kl_ratio": _ratio(o, "sin")}),
    "learned_increasing_converge": _cond(
        "learned D, book settings: every increasing h reduces KL by over 90%", (_BOOK,),
        lambda o: (lambda w: {"pass": w < 0.1, "worst_kl_ratio": w})(_worst(o, _MONOTONE))),
    "paper_reverse_kl_converges": _cond(
        "paper settings: reverse KL (h = u) converges (KL below 5% of its start)", (_PAPER,),
        lambda o: {"pass": _ratio(o, "reverse_kl") < 0.05, "kl_ratio": _ratio(o, "reverse_kl")}),
    "paper_exponential_converges": _cond(
        "paper settings: the exponential loss (h = -e^{-u}) removes over 75% of KL", (_PAPER,),
        lambda o: {"pass": _ratio(o, "exponential") < 0.25, "kl_ratio": _ratio(o, "exponential")}),
    "paper_sign_change_fails": _cond(
        "paper settings: forward KL, chi2, Hellinger and JS (speed factors that change sign) keep over half the KL",
        (_PAPER,),
        lambda o: (lambda w: {"pass": w > 0.5, "min_kl_ratio": w})(_worst(o, _SIGN_CHANGE, np.min))),
}
"""The per-seed conditions behind Part III, notebook 5's claims about how its runs end. The notebook
checks them on its three live seeds; ``benchmarks/part3_family_seeds.py`` stores how many of many
fresh seeds pass each one, which bounds (:mod:`gantools.calibration`) how often the live claims fail."""


def family_conditions(outcomes: dict[str, "ToyOutcomes"]) -> dict[str, dict]:
    """Every condition of :data:`FAMILY_CONDITIONS` whose runs ``outcomes`` holds, evaluated per seed.

    Parameters
    ----------
    outcomes : dict of str to ToyOutcomes
        As :func:`family_outcomes` returns (one set of seeds for all runs).

    Returns
    -------
    dict of str to dict
        Condition name -> its test's result (``"pass"`` and the compared numbers, one entry per seed).

    Raises
    ------
    ValueError
        If the runs were trained on different seeds.
    """
    seeds = {r: list(dict.fromkeys(o.seeds)) for r, o in outcomes.items()}
    if len({tuple(v) for v in seeds.values()}) > 1:
        raise ValueError(f"the runs must share their seeds, got {seeds}")
    return {k: c(outcomes) for k, c in FAMILY_CONDITIONS.items() if all(r in outcomes for r in c.runs)}



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

    def outcomes(self) -> "ToyOutcomes":
        """Each member's outcome in a few numbers (what Part III, notebook 5 claims per seed)."""
        after = self.d_slope[1:]
        with np.errstate(invalid="ignore"):
            slope = (np.full(after.shape[1], np.nan) if np.isnan(after).all()
                     else np.array([np.nanmean(c) if not np.isnan(c).all() else np.nan for c in after.T]))
        first = min(1, len(self.step) - 1)
        return ToyOutcomes(
            h=list(self.h), seeds=list(self.seeds), values={
                "kl_start": self.kl[0], "kl_end": self.kl[-1], "kl_max": self.kl.max(0),
                "diverged_at": self.diverged_at.astype(float),
                "frac_outside_exact_start": self.frac_outside_exact[0],
                "frac_outside_exact_end": self.frac_outside_exact[-1],
                "frac_outside_first": self.frac_outside[first],
                "frac_outside_exact_first": self.frac_outside_exact[first],
                "d_slope_mean": slope})


@dataclass
class ToyOutcomes:
    r"""Per-member outcomes of a :class:`ToyEnsemble`, small enough to store for hundreds of seeds.

    A claim about how a run ends is a statement about each seed; this is the record it reads, for
    the few seeds a notebook trains live and for a stored many-seed run alike
    (:mod:`gantools.calibration` turns the stored pass rate into the probability that the live
    claim holds).

    Attributes
    ----------
    h : list of str
        Member -> loss name.
    seeds : list of int
        Member -> seed.
    values : dict of str to numpy.ndarray, shape (E,)
        ``kl_start``, ``kl_end``, ``kl_max`` (over the records), ``diverged_at`` (-1: never),
        ``frac_outside_exact_start`` and ``_end`` (fraction of samples with :math:`|\log r| > \pi/2`
        at the first and last record), ``frac_outside_first`` and ``frac_outside_exact_first`` (the
        fraction where the generator sees a logit beyond :math:`\pi/2`, and the exact one, at the
        first record after the start), ``d_slope_mean`` (mean slope of :math:`D` on :math:`\log r`
        after the start; NaN with the exact ratio).
    """

    h: list[str]
    seeds: list[int]
    values: dict[str, np.ndarray]

    def of(self, h: str, key: str) -> np.ndarray:
        """``key`` of the members trained with loss ``h``, one value per seed (in the order of :attr:`seeds`).

        Raises
        ------
        ValueError
            If no member uses ``h`` or ``key`` is not one of :attr:`values`.
        """
        check_name(key, tuple(self.values), "outcome")
        idx = [i for i, n in enumerate(self.h) if n == h]
        if not idx:
            raise ValueError(f"no member uses {h!r}; the outcomes hold {sorted(set(self.h))}")
        return np.asarray(self.values[key], dtype=float)[idx]

    @property
    def n_seeds(self) -> int:
        """Number of distinct seeds."""
        return len(dict.fromkeys(self.seeds))

    def to_dict(self) -> dict:
        """A JSON-ready dict (:meth:`from_dict` reads it back)."""
        return {"h": list(self.h), "seeds": [int(s) for s in self.seeds],
                "values": {k: [float(x) for x in np.asarray(v, dtype=float)] for k, v in self.values.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "ToyOutcomes":
        """The inverse of :meth:`to_dict`."""
        return cls(h=list(d["h"]), seeds=[int(s) for s in d["seeds"]],
                   values={k: np.asarray(v, dtype=float) for k, v in d["values"].items()})


def _stream_seeds(seed: int) -> tuple[int, int]:
    """A member's data stream and monitoring stream, derived from its seed only (the network
    initialisation uses the seed itself)."""
    return int(seed) + 2 ** 32, int(seed) + 2 ** 33


class _ToyRecorder:
    """The per-record measurements of :func:`train_toy_ensemble` (on a stream of their own, so
    recording never changes a run)."""

    KEYS = ("step", "mean", "cov", "kl", "d_slope", "d_corr", "frac_outside", "frac_outside_exact")

    def __init__(self, streams: MemberStreams, batch: int):
        self.streams, self.batch = streams, batch
        self.rec: dict[str, list] = {k: [] for k in self.KEYS}

    @torch.no_grad()
    def __call__(self, it: int, mu: torch.Tensor, Lt: torch.Tensor, D: EnsembleMLP | None) -> None:
        S = Lt.double() @ Lt.double().transpose(1, 2)
        m = mu.double()
        kl = gaussian_kl_torch(m, S, TOY_MEAN, TOY_COV)
        x = mu[:, None] + self.streams.randn(self.batch, 2) @ Lt.transpose(1, 2)
        lr_exact = _log_ratio(x, mu, Lt)
        d = lr_exact if D is None else D(x)[..., 0]
        E = mu.shape[0]
        slopes, corrs = np.full(E, np.nan), np.full(E, np.nan)
        if D is not None and it > 0:
            for e in range(E):
                f = ratio_fit(d[e], lr_exact[e])
                slopes[e], corrs[e] = f.slope, f.corr
        for k, v in zip(self.KEYS, (it, m.cpu().numpy(), S.cpu().numpy(), kl.cpu().numpy(), slopes, corrs,
                                    (d.abs() > math.pi / 2).float().mean(1).cpu().numpy(),
                                    (lr_exact.abs() > math.pi / 2).float().mean(1).cpu().numpy())):
            self.rec[k].append(v)


def _log_ratio(x: torch.Tensor, mu: torch.Tensor, Lt: torch.Tensor) -> torch.Tensor:
    """Exact log p/q for x of shape (E, n, 2), q_e = N(mu_e, Lt_e Lt_e^T), Lt lower triangular."""
    return gaussian_log_density(x, TOY_MEAN, TOY_COV) - gaussian_log_density(x, mu, Lt, cholesky=True)


def _toy_d_steps(D: EnsembleMLP, opt_d: MemberOptimizer, data: MemberStreams, mu: torch.Tensor,
                 Lt: torch.Tensor, Lp: torch.Tensor, steps: int, batch: int, active: torch.Tensor) -> None:
    """``steps`` logistic-loss steps of every member's discriminator on fresh real and fake batches."""
    for _ in range(steps):
        with torch.no_grad():
            x_real = data.randn(batch, 2) @ Lp.T
            x_fake = mu[:, None] + data.randn(batch, 2) @ Lt.transpose(1, 2)
        d_both = D(torch.cat([x_real, x_fake], 1))[..., 0]          # one pass over both batches
        loss_d = (F.softplus(-d_both[:, :batch]).mean(1) + F.softplus(d_both[:, batch:]).mean(1)).sum()
        opt_d.step(torch.autograd.grad(loss_d, opt_d.params), active=active)


def train_toy_ensemble(hs: Sequence[str], seeds: Sequence[int], config: ToyConfig = PAPER_TOY, *,
                       device: torch.device | str | None = None) -> ToyEnsemble:
    r"""Train the Gaussian toy for every pair in ``hs`` x ``seeds`` at once.

    Each member runs the loop of :func:`gantools.flow.train_monoflow` with ``loss="h"``: ``d_steps``
    logistic-loss Adam steps on a fresh real and a fresh generated batch, then one generator step
    on :math:`-\frac1n\sum_i h(D(\mu+Lz_i))` with Adam or SGD. With ``exact_ratio`` the logit is the
    exact :math:`\log p/q_{\theta_t}` *frozen* at the current generator: the gradient reaches
    :math:`\theta` through the samples only, so the samples move along
    :math:`h'(\log r)\nabla\log r` as in MonoFlow. :math:`L` is kept lower triangular (a
    Cholesky factor; any covariance has one), which changes nothing in the law
    :math:`\mathcal N(\mu, LL^\top)`.

    The members are independent runs on the batched engine (:mod:`gantools.ensemble`): the
    discriminators are one :class:`~gantools.ensemble.EnsembleMLP` (member of seed :math:`s`
    initialised as ``nets.mlp`` after ``torch.manual_seed(s)``), each member steps with its own
    :class:`~gantools.ensemble.MemberOptimizer` state, and draws its batches from its own stream
    (:class:`~gantools.ensemble.MemberStreams`) seeded from :math:`s` only. So a member is the
    same run in any ensemble, and the members of one seed see the same batches whatever their
    :math:`h`.

    Parameters
    ----------
    hs : sequence of str
        Loss names (:data:`gantools.monoflow.ALL_H`); each is run with every seed.
    seeds : sequence of int
        Seeds of the discriminator initialisation and of the batches.
    config : ToyConfig
    device : torch.device or str, optional
        Where to train (CPU by default; the batches are drawn on the CPU, so a run is the same on
        every device up to floating-point rounding).

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
    dev = torch.device("cpu") if device is None else torch.device(device)
    mu = torch.tensor(c.start_mean, dtype=torch.float32, device=dev).repeat(E, 1).requires_grad_(True)
    L = torch.eye(2, device=dev).repeat(E, 1, 1).requires_grad_(True)
    tril = torch.tril(torch.ones(2, 2, device=dev))
    Lp = torch.linalg.cholesky(torch.as_tensor(TOY_COV, dtype=torch.float32)).to(dev)
    D = None if c.exact_ratio else EnsembleMLP(E, 2, 1, hidden=c.hidden, act="leaky_relu", seeds=seed_of, device=dev)
    opt_d = None if D is None else MemberOptimizer(
        D.parameters(), kind="adam", lr=[c.lr_d if c.lr_d is not None else paper_lr_d(n) for n in names], betas=c.betas)
    opt_g = MemberOptimizer([mu, L], kind=c.optimizer, lr=c.lr_g, betas=c.betas)
    data = MemberStreams([_stream_seeds(s)[0] for s in seed_of], device=dev)
    record = _ToyRecorder(MemberStreams([_stream_seeds(s)[1] for s in seed_of], device=dev), B)
    groups = {n: torch.tensor([i for i, m in enumerate(names) if m == n], device=dev) for n in dict.fromkeys(names)}
    active = torch.ones(E, dtype=torch.bool, device=dev)
    diverged = np.full(E, -1)
    for it in range(c.iters):
        if it % c.record_every == 0:
            record(it, mu.detach(), (L * tril).detach(), D)
        if D is not None:
            _toy_d_steps(D, opt_d, data, mu.detach(), (L * tril).detach(), Lp, c.d_steps, B, active)
        Lt = L * tril
        x = mu[:, None] + data.randn(B, 2) @ Lt.transpose(1, 2)
        # the exact ratio is frozen at the current generator: the gradient flows through x only
        d = _log_ratio(x, mu.detach(), Lt.detach()) if D is None else D(x)[..., 0]
        loss_g = sum(-get_h(n).fn(d[idx]).mean(1).sum() for n, idx in groups.items())
        gmu, gL = torch.autograd.grad(loss_g, [mu, L])
        old = (mu.detach().clone(), L.detach().clone())
        opt_g.step([gmu, gL * tril], active=active)
        with torch.no_grad():
            bad = active & ~(torch.isfinite(mu).all(1) & torch.isfinite(L).flatten(1).all(1)
                             & (torch.abs((L * tril).diagonal(dim1=1, dim2=2)).min(1).values > 1e-6)
                             & (mu.abs().max(1).values < 1e4))
            if bad.any():       # freeze the member at its last finite state
                mu[bad], L[bad] = old[0][bad], old[1][bad]
                diverged[bad.cpu().numpy()] = it
                active &= ~bad
    record(c.iters, mu.detach(), (L * tril).detach(), D)
    st = {k: np.stack(v) for k, v in record.rec.items() if k != "step"}
    return ToyEnsemble(h=names, seeds=seed_of, step=np.array(record.rec["step"]), diverged_at=diverged,
                       config=c, **st)
