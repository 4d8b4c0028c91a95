r"""Part III, notebook 3's experiment: the particle flow without a generator, on three targets.

A cloud of particles moves by :math:`x \leftarrow x + \varepsilon\nabla_x D(x)` after every few
discriminator steps (:func:`gantools.flow.particle_flow`). :func:`particle_runs` makes every run of
the notebook for a list of seeds, the seeds of one run side by side in one batched call (each
member draws from its own stream, so the members are independent runs):

* ``"8gaussians"`` and ``"scurve"``: 512 particles from :math:`\mathcal N(0, 0.5^2 I)` onto the ring
  and the s-curve, :math:`\varepsilon = 0.1`, five discriminator steps per move, 100 moves;
* ``"8gaussians, negatives from q_0"``: the ring with the discriminator trained against the
  starting particles throughout;
* ``"scurve, eps sweep"``: the s-curve with :math:`\varepsilon = 0.02` and :math:`0.5`;
* ``"gaussian"``: the Gaussian toy of the next notebooks from :math:`\mathcal N((1, 1), I)`, 80
  moves, with the discriminator regressed on the exact :math:`\log r_t` of the particles' Gaussian
  fit every 10 moves.

Seed :math:`s` initialises the discriminators from :math:`s`, draws their batches from stream
:math:`s` and the starting particles from seed :math:`14 + s` (:math:`30 + s` for the Gaussian).
:func:`particle_outcomes` reduces the runs to per-seed numbers and :data:`PARTICLE_CONDITIONS` states
the notebook's claims as per-seed conditions, which ``benchmarks/part3_particle_seeds.py`` counts
over many fresh seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import torch

from . import data
from .calibration import SeedCondition
from .ensemble import EnsembleMLP
from .flow import FlowRun, exact_wgf_particles, particle_flow
from .gaussian import TOY_COV, TOY_MEAN, empirical_moments, gaussian_kl, gaussian_log_ratio, sample_gaussian
from .metrics import mode_precision, w2

__all__ = ["N", "EPS", "STEPS", "D_STEPS", "LR_D", "TARGETS", "SWEEP_EPS", "GAUSS_STEPS", "GAUSS_RECORD",
           "start", "real_sampler", "target", "fresh_w2", "gaussian_log_r", "gaussian_fit_kl", "particle_runs",
           "ParticleOutcomes", "particle_outcomes", "PARTICLE_CONDITIONS", "particle_conditions"]

#: Particles per cloud.
N: int = 512
#: Euler step of the main runs.
EPS: float = 0.1
#: Moves of the ring and s-curve runs.
STEPS: int = 100
#: Discriminator steps per move.
D_STEPS: int = 5
#: The discriminators' Adam learning rate.
LR_D: float = 2e-3
#: The two data targets.
TARGETS: tuple[str, ...] = ("8gaussians", "scurve")
#: The other step sizes tried on the s-curve.
SWEEP_EPS: tuple[float, ...] = (0.02, 0.5)
#: Moves of the Gaussian runs, and moves between two regressions of D on log r_t.
GAUSS_STEPS: int = 80
GAUSS_RECORD: int = 10

_RUNS = ("8gaussians", "scurve", "8gaussians, negatives from q_0", "scurve, eps sweep", "gaussian")


def start(seed: int) -> torch.Tensor:
    """Seed ``seed``'s starting cloud, ``N`` points of :math:`\\mathcal N(0, 0.5^2 I)` (drawn with seed ``14 + seed``).

    Parameters
    ----------
    seed : int

    Returns
    -------
    torch.Tensor, shape (N, 2)
    """
    return 0.5 * torch.randn(N, 2, generator=torch.Generator().manual_seed(14 + int(seed)))


@lru_cache(maxsize=4)
def _pool(name: str) -> torch.Tensor:
    return data.sample(name, 20000, seed=11)


def real_sampler(name: str) -> Callable[[int, torch.Generator], torch.Tensor]:
    """``sample(k, generator)``: ``k`` points drawn from a fixed pool of 20,000 samples of dataset ``name``.

    Parameters
    ----------
    name : str
        A dataset of :func:`gantools.data.sample`.

    Returns
    -------
    callable
    """
    pool = _pool(name)
    return lambda k, g: pool[torch.randint(len(pool), (k,), generator=g)]


def target(name: str) -> torch.Tensor:
    """The sample of dataset ``name`` the runs' :math:`W_2` is measured against (``N`` points, seed 12).

    Parameters
    ----------
    name : str

    Returns
    -------
    torch.Tensor, shape (N, 2)
    """
    return data.sample(name, N, seed=12)


@lru_cache(maxsize=4)
def _fresh_w2(name: str) -> tuple[float, ...]:
    tgt = target(name)
    return tuple(w2(data.sample(name, N, seed=100 + k), tgt) for k in range(10))


def fresh_w2(name: str) -> np.ndarray:
    """:math:`W_2` between the target and ten fresh samples of the data of the same size: what an exact sampler scores.

    Parameters
    ----------
    name : str

    Returns
    -------
    numpy.ndarray, shape (10,)
    """
    return np.array(_fresh_w2(name))


def gaussian_log_r(x: torch.Tensor) -> torch.Tensor:
    """:math:`\\log p/\\hat q_t` at the particles, :math:`\\hat q_t` the Gaussian with their own mean and covariance.

    Parameters
    ----------
    x : torch.Tensor, shape (n, 2)

    Returns
    -------
    torch.Tensor, shape (n,)
    """
    return gaussian_log_ratio(x.double(), TOY_MEAN, TOY_COV, *empirical_moments(x))


def gaussian_fit_kl(x: torch.Tensor) -> float:
    """:math:`\\mathrm{KL}(\\hat q_t\\Vert p)` of the particles' Gaussian fit to the toy's target.

    Parameters
    ----------
    x : torch.Tensor, shape (n, 2)

    Returns
    -------
    float
    """
    return gaussian_kl(*empirical_moments(x), TOY_MEAN, TOY_COV)


def _critics(seeds: Sequence[int]) -> EnsembleMLP:
    return EnsembleMLP(len(seeds), 2, 1, hidden=64, depth=2, seeds=list(seeds))


def particle_runs(seeds: Sequence[int]) -> dict[str, FlowRun]:
    """Every run of the notebook for ``seeds``, each run's seeds side by side.

    Parameters
    ----------
    seeds : sequence of int

    Returns
    -------
    dict of str to FlowRun
        Keys ``"8gaussians"``, ``"scurve"`` (records every 10 moves, snapshots at 0, 10, 30),
        ``"8gaussians, negatives from q_0"`` (records at 0, 50, 100), ``"scurve, eps sweep"``
        (members ``(eps, seed)`` for eps in :data:`SWEEP_EPS`, seed by seed; records at 0, 50,
        100) and ``"gaussian"`` (records of ``d_slope``/``d_corr`` and snapshots every 10 moves).
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    x0 = torch.stack([start(s) for s in seeds])
    common = dict(steps=STEPS, d_steps=D_STEPS, lr_d=LR_D)
    runs = {name: particle_flow(x0, real_sampler(name), _critics(seeds), eps=EPS, target=target(name),
                                record_every=10, snapshot_at=(0, 10, 30), seed=seeds, **common)
            for name in TARGETS}
    runs["8gaussians, negatives from q_0"] = particle_flow(
        x0, real_sampler("8gaussians"), _critics(seeds), eps=EPS, target=target("8gaussians"), record_every=50,
        negatives="initial", seed=seeds, **common)
    sweep = [(e, s) for e in SWEEP_EPS for s in seeds]
    runs["scurve, eps sweep"] = particle_flow(
        torch.cat([x0] * len(SWEEP_EPS)), real_sampler("scurve"), _critics([s for _, s in sweep]),
        eps=[e for e, _ in sweep], target=target("scurve"), record_every=50, seed=[s for _, s in sweep], **common)
    xg = torch.stack([torch.tensor([1.0, 1.0]) + torch.randn(N, 2, generator=torch.Generator().manual_seed(30 + s))
                      for s in seeds])
    runs["gaussian"] = particle_flow(
        xg, sample_gaussian(TOY_MEAN, TOY_COV), _critics(seeds), steps=GAUSS_STEPS, eps=EPS, d_steps=D_STEPS,
        lr_d=LR_D, log_ratio=gaussian_log_r, record_every=GAUSS_RECORD,
        snapshot_at=tuple(range(0, GAUSS_STEPS + 1, GAUSS_RECORD)), seed=seeds)
    return runs


@dataclass(frozen=True)
class ParticleOutcomes:
    """Per-seed numbers of the notebook's runs (every array has one entry per seed).

    Attributes
    ----------
    seeds : tuple of int
    w2 : dict of str to numpy.ndarray, shape (records, S)
        :math:`W_2` to the target along each target's main run (``w2_step`` gives the moves).
    w2_step : numpy.ndarray
        The moves of those records.
    spread, frac_in : numpy.ndarray
        The ring's final mode precision (:func:`gantools.metrics.mode_precision`).
    stale : numpy.ndarray, shape (3, S)
        :math:`W_2` at moves 0, 50 and 100 with negatives from :math:`q_0`.
    sweep : dict of float to numpy.ndarray, shape (3, S)
        :math:`W_2` at moves 0, 50 and 100 on the s-curve for each step size (the main run's for 0.1).
    slope, corr : numpy.ndarray, shape (records, S)
        The Gaussian runs' regression of :math:`D` on :math:`\\log r_t` every 10 moves (NaN at 0).
    sd_log_r, kl, kl_exact : numpy.ndarray, shape (records, S)
        The spread of :math:`\\log r_t` over the particles, the KL of their Gaussian fit, and the KL
        of the same particles moved with the exact ratio (:func:`gantools.flow.exact_wgf_particles`).
    """

    seeds: tuple[int, ...]
    w2: dict[str, np.ndarray]
    w2_step: np.ndarray
    spread: np.ndarray
    frac_in: np.ndarray
    stale: np.ndarray
    sweep: dict[float, np.ndarray]
    slope: np.ndarray
    corr: np.ndarray
    sd_log_r: np.ndarray
    kl: np.ndarray
    kl_exact: np.ndarray


def particle_outcomes(runs: dict[str, FlowRun], seeds: Sequence[int]) -> ParticleOutcomes:
    """Reduce :func:`particle_runs`'s runs for ``seeds`` to per-seed numbers.

    Parameters
    ----------
    runs : dict of str to FlowRun
    seeds : sequence of int
        The seeds the runs were made with, in order.

    Returns
    -------
    ParticleOutcomes

    Raises
    ------
    ValueError
        If a run is missing.
    """
    missing = [k for k in _RUNS if k not in runs]
    if missing:
        raise ValueError(f"runs lack {missing}; particle_runs makes {list(_RUNS)}")
    seeds = tuple(int(s) for s in seeds)
    S = len(seeds)
    w = {name: np.array(runs[name].history["w2"]) for name in TARGETS}
    prec = [mode_precision(x, data.mode_centers("8gaussians"), data.mode_sigma("8gaussians"))
            for x in runs["8gaussians"].particles]
    sw = np.array(runs["scurve, eps sweep"].history["w2"])
    main_steps = np.array(runs["scurve"].history["step"])
    sweep = {e: sw[:, i * S:(i + 1) * S] for i, e in enumerate(SWEEP_EPS)}
    sweep[EPS] = w["scurve"][np.isin(main_steps, runs["scurve, eps sweep"].history["step"])]
    g = runs["gaussian"]
    t_rec = sorted(g.snapshots)
    kl = np.array([[gaussian_fit_kl(x) for x in g.snapshots[t]] for t in t_rec])
    sd = np.array([[float(gaussian_log_r(x).std()) for x in g.snapshots[t]] for t in t_rec])
    kl_exact = np.empty_like(kl)
    for j in range(S):
        m, C, _ = exact_wgf_particles(g.snapshots[0][j], TOY_MEAN, TOY_COV, eps=EPS, steps=GAUSS_STEPS)
        kl_exact[:, j] = [gaussian_kl(m[t], C[t], TOY_MEAN, TOY_COV) for t in t_rec]
    return ParticleOutcomes(
        seeds=seeds, w2=w, w2_step=main_steps, spread=np.array([p.spread_ratio for p in prec]),
        frac_in=np.array([p.frac_in for p in prec]), stale=np.array(runs["8gaussians, negatives from q_0"].history["w2"]),
        sweep=dict(sorted(sweep.items())), slope=np.array(g.history["d_slope"]), corr=np.array(g.history["d_corr"]),
        sd_log_r=sd, kl=kl, kl_exact=kl_exact)


_RUN = "particles"


def _cond(text: str, test: Callable[[ParticleOutcomes], dict]) -> SeedCondition:
    return SeedCondition(text, (_RUN,), lambda o: test(o[_RUN]))


def _floor(name: str) -> np.ndarray:
    return fresh_w2(name)


def _target_conditions(name: str) -> dict[str, SeedCondition]:
    def halves(o):
        r = o.w2[name][-1] / o.w2[name][0]
        return {"pass": r < 0.5, "w2_end_over_start": r}

    def in_floor(o):
        f, end = _floor(name), o.w2[name][-1]
        return {"pass": (end >= f.min()) & (end <= f.max()), "w2_end": end}

    def plateau(o):
        moves = np.abs(o.w2[name][o.w2_step >= 50] - o.w2[name][-1]).max(0)
        return {"pass": moves < _floor(name).std(), "change_after_t50": moves}

    return {
        f"{name}_halves": _cond(f"{name}: the particle flow cuts W2 to the target by more than half", halves),
        f"{name}_in_floor": _cond(f"{name}: the final W2 lies within the range of W2 of ten fresh data samples "
                                  "(neither worse nor better than an exact sampler)", in_floor),
        f"{name}_plateau": _cond(f"{name}: W2 has plateaued: from move 50 on it moves by less than the spread (sd) of "
                                 "the fresh-sample W2", plateau),
    }


def _late(o: ParticleOutcomes) -> np.ndarray:
    return np.arange(o.corr.shape[0]) * GAUSS_RECORD >= 40


PARTICLE_CONDITIONS: dict[str, SeedCondition] = {
    **_target_conditions("8gaussians"),
    **_target_conditions("scurve"),
    "ring_blurred": _cond(
        "8gaussians: the cloud is wider around the modes than the data (spread ratio above 1.2; data about 0.9)",
        lambda o: {"pass": o.spread > 1.2, "spread_ratio": o.spread}),
    "ring_twice_as_wide": _cond(
        "8gaussians: the cloud is more than twice as wide around the modes as the data (spread ratio above 2)",
        lambda o: {"pass": o.spread > 2, "spread_ratio": o.spread}),
    "ring_under_80_inside": _cond(
        "8gaussians: under 80% of the particles lie inside the modes' 95% radius (data about 97%)",
        lambda o: {"pass": o.frac_in < 0.8, "frac_in": o.frac_in}),
    "stale_runs_away": _cond(
        "8gaussians: trained against the starting particles, D drives them away (W2 after 100 moves over 10 times its "
        "start), while with the current particles W2 falls below half its start",
        lambda o: {"pass": (o.stale[-1] > 10 * o.stale[0]) & (o.w2["8gaussians"][-1] < 0.5 * o.w2["8gaussians"][0]),
                   "w2_end_over_start_stale": o.stale[-1] / o.stale[0]}),
    "eps_small_on_its_way": _cond(
        "scurve: eps = 0.02 is still on its way after 100 moves (W2 fell by over 0.05 between moves 50 and 100 and "
        "is over 0.05 above the eps = 0.1 run of the same seed)",
        lambda o: {"pass": (o.sweep[0.02][1] - o.sweep[0.02][2] > 0.05) & (o.sweep[0.02][2] - o.sweep[EPS][2] > 0.05),
                   "fall_50_to_100": o.sweep[0.02][1] - o.sweep[0.02][2], "above_eps_0_1": o.sweep[0.02][2] - o.sweep[EPS][2]}),
    "eps_large_alike": _cond(
        "scurve: eps = 0.5 and eps = 0.1 end within the spread (sd) of the fresh-sample W2 of each other",
        lambda o: (lambda gap: {"pass": gap < _floor("scurve").std(), "abs_difference": gap})(
            np.abs(o.sweep[0.5][2] - o.sweep[EPS][2]))),
    "every_eps_lowers": _cond(
        "scurve: every step size (0.02, 0.1, 0.5) lowers W2",
        lambda o: (lambda r: {"pass": r < 1, "max_w2_end_over_start": r})(
            np.max([v[-1] / v[0] for v in o.sweep.values()], axis=0))),
    "gauss_early_damped": _cond(
        "Gaussian, move 10: D correlates with log r_t (corr > 0.7) but is damped (slope between 0.2 and 0.8)",
        lambda o: {"pass": (o.corr[1] > 0.7) & (o.slope[1] > 0.2) & (o.slope[1] < 0.8), "corr": o.corr[1],
                   "slope": o.slope[1]}),
    "gauss_late_noise": _cond(
        "Gaussian, moves >= 40: once log r_t is small (std < 0.5), D's mean correlation with it is below 0.5",
        lambda o: (lambda c, s: {"pass": (s < 0.5) & (c < 0.5), "late_corr": c, "late_std_log_r": s})(
            o.corr[_late(o)].mean(0), o.sd_log_r[_late(o)].max(0))),
    "gauss_removes_99": _cond(
        "Gaussian: the learned-D flow removes over 99% of KL in 80 moves",
        lambda o: {"pass": o.kl[-1] / o.kl[0] < 0.01, "kl_end_over_start": o.kl[-1] / o.kl[0]}),
    "gauss_lags_exact": _cond(
        "Gaussian, move 10: the learned-D flow lags the exact-ratio flow (higher KL)",
        lambda o: {"pass": o.kl[1] > o.kl_exact[1], "kl_over_exact": o.kl[1] / o.kl_exact[1]}),
}
"""The notebook's claims about its runs, one verdict per seed."""


def particle_conditions(outcomes: ParticleOutcomes) -> dict[str, dict]:
    """Every condition of :data:`PARTICLE_CONDITIONS` applied to ``outcomes``.

    Parameters
    ----------
    outcomes : ParticleOutcomes

    Returns
    -------
    dict of str to dict
        Condition name -> ``"pass"`` (one bool per seed) and the numbers it compares.
    """
    return {name: c({_RUN: outcomes}) for name, c in PARTICLE_CONDITIONS.items()}
