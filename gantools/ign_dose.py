r"""Part IV, notebook 5's experiment: IGN's weight ratio :math:`\rho` and clamp on 8×8 digits, per seed.

Every seed :math:`s` trains the seven runs of :data:`SETTINGS` side by side for :data:`STEPS` Adam steps
(:func:`gantools.ign.train_ign_ensemble`: :math:`3\cdot10^{-4}`, :math:`\beta=(0.5, 0.999)`, batch 128,
:math:`\lambda_{\text{rec}}=\lambda_{\text{idem}}=1`, :math:`\lambda_{\text{tight}}=\rho`): the ratios
:math:`\rho\in\{0.1, 0.3, 0.5, 0.7, 1\}` without clamp, and :math:`\rho=1` with the tanh clamp at
:math:`a=1` and at :math:`a=3`. All seven start from the same MLP autoencoder
:math:`64\to256\to32\to256\to64` initialised from seed :math:`s` (:func:`gantools.digits.stacked_autoencoders`)
and draw their data and noise from their own streams seeded :math:`s`, so the settings of one seed
differ in the setting only. Every run is scored on the seed's own evaluation noise
(:func:`gantools.ign_digits.eval_noise`): classes covered every :data:`EVAL_EVERY` steps
(:func:`gantools.metrics.digit_scores`) and the final samples' scores (:func:`gantools.metrics.score_samples`).

:func:`dose_runs` trains many seeds side by side and reduces them to per-seed numbers;
:data:`DOSE_CONDITIONS` states the notebook's claims about them as per-seed conditions, which
``benchmarks/part4_dose_seeds.py`` counts over many fresh seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from . import data, digits, ign, metrics
from .calibration import SeedCondition, apply_conditions
from .ign_digits import eval_noise

__all__ = ["STEPS", "EVAL_EVERY", "RATIOS", "SETTINGS", "DoseOutcomes", "dose_runs", "RUN",
           "DOSE_CONDITIONS", "seed_verdicts"]

#: Adam steps of every run, and the interval (in steps) at which class coverage is recorded.
STEPS: int = 500
EVAL_EVERY: int = 100
#: The weight ratios :math:`\rho=\lambda_{\text{tight}}/\lambda_{\text{rec}}` trained without clamp.
RATIOS: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 1.0)
#: Every run of a seed, in order: ``(rho, clamp)``, ``clamp`` ``None`` for none.
SETTINGS: tuple[tuple[float, float | None], ...] = tuple((r, None) for r in RATIOS) + ((1.0, 1.0), (1.0, 3.0))


@dataclass(frozen=True)
class DoseOutcomes:
    """Per-seed numbers of the notebook's runs (the last axis of every array indexes :data:`SETTINGS`).

    Attributes
    ----------
    seeds : tuple of int
    steps : list of int
        Where coverage was recorded.
    coverage : numpy.ndarray, shape (len(steps), S, len(SETTINGS))
        Classes covered (of 10) by each run's samples at those steps.
    scores : list of list of gantools.metrics.SampleScores
        ``scores[i][k]``: the final samples of seed ``i``'s run ``k``.
    diverged : numpy.ndarray of bool, shape (S, len(SETTINGS))
        Whether the run's loss became non-finite.
    seconds : float
        Training time of all runs together.
    """

    seeds: tuple[int, ...]
    steps: list[int]
    coverage: np.ndarray
    scores: list[list[metrics.SampleScores]]
    diverged: np.ndarray
    seconds: float

    def field(self, name: str) -> np.ndarray:
        """A field of the final scores (e.g. ``"coverage"``, ``"diversity"``), shape ``(S, len(SETTINGS))``.

        Raises
        ------
        ValueError
            If ``name`` is not a field of :class:`gantools.metrics.SampleScores` (the message lists them).
        """
        valid = list(metrics.SampleScores.__dataclass_fields__)
        if name not in valid:
            raise ValueError(f"unknown score {name!r}; valid: {valid}")
        return np.array([[getattr(s, name) for s in row] for row in self.scores])

    def column(self, rho: float, clamp: float | None = None) -> int:
        """The index in :data:`SETTINGS` of ``(rho, clamp)``.

        Raises
        ------
        ValueError
            If the setting is not one of :data:`SETTINGS` (the message lists them).
        """
        if (rho, clamp) not in SETTINGS:
            raise ValueError(f"no run at rho={rho}, clamp={clamp}; the settings are {list(SETTINGS)}")
        return SETTINGS.index((rho, clamp))

    def final(self, rho: float, clamp: float | None = None) -> np.ndarray:
        """Classes covered at the end by each seed's run at ``(rho, clamp)``, shape ``(S,)``."""
        return self.coverage[-1, :, self.column(rho, clamp)]


def dose_runs(seeds: Sequence[int], x: torch.Tensor | None = None) -> DoseOutcomes:
    """Train the seven runs of :data:`SETTINGS` for every seed, all side by side, and score them.

    Parameters
    ----------
    seeds : sequence of int
    x : torch.Tensor, shape (1797, 64), optional
        The digits (default :func:`gantools.data.digits` with seed 0, as the notebook loads them).

    Returns
    -------
    DoseOutcomes

    Raises
    ------
    ValueError
        If ``seeds`` is empty.
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    x = data.digits(seed=0)[0] if x is None else x
    K = len(SETTINGS)
    members = [s for s in seeds for _ in SETTINGS]
    z = torch.stack([eval_noise(s)[0] for s in members])
    steps: list[int] = []
    cov: list[list[int]] = []

    def record(step: int, f: torch.nn.Module) -> None:
        with torch.no_grad():
            out = f(z)
        steps.append(int(step))
        cov.append([metrics.digit_scores(out[m]).coverage for m in range(len(members))])

    run = ign.train_ign_ensemble(digits.stacked_autoencoders(members), digits.sampler(x), steps=STEPS,
                                 lam_tight=[r for r, _ in SETTINGS] * len(seeds),
                                 clamp=[a for _, a in SETTINGS] * len(seeds), log_every=EVAL_EVERY,
                                 callback=record, on_divergence="record", seeds=members)
    with torch.no_grad():
        out = run.f(z)
    scores = [metrics.score_samples(out[m], x) for m in range(len(members))]
    return DoseOutcomes(seeds=seeds, steps=steps, coverage=np.array(cov).reshape(len(steps), len(seeds), K),
                        scores=[scores[i * K:(i + 1) * K] for i in range(len(seeds))],
                        diverged=np.array([d is not None for d in run.diverged]).reshape(len(seeds), K),
                        seconds=run.seconds)


#: The key under which the conditions read the outcomes (:func:`gantools.calibration.apply_conditions`).
RUN: str = "dose"


def _cond(text: str, test: Callable[[DoseOutcomes], dict]) -> SeedCondition:
    return SeedCondition(text, (RUN,), lambda o: test(o[RUN]))


def _rises(o: DoseOutcomes) -> dict:
    from scipy.stats import spearmanr

    free = [o.column(r) for r in RATIOS if r <= 0.7]
    rho = np.array([spearmanr([SETTINGS[k][0] for k in free], o.coverage[-1, i, free]).statistic
                    for i in range(len(o.seeds))])
    return {"pass": np.nan_to_num(rho, nan=-1.0) >= 0.8, "spearman": rho}


def _lower_bound(o: DoseOutcomes) -> dict:
    ok = np.ones(len(o.seeds), dtype=bool)
    for r in RATIOS:
        if r <= 0.7:
            ok &= o.final(r) >= min(10.0, 10 * r)
    return {"pass": ok, "coverage_r01": o.final(0.1), "coverage_r03": o.final(0.3), "coverage_r05": o.final(0.5)}


def _r1_dips(o: DoseOutcomes) -> dict:
    after = [i for i, s in enumerate(o.steps) if s >= 200]
    at_one = [k for k, (r, _) in enumerate(SETTINGS) if r == 1.0]
    low = o.coverage[after][:, :, at_one].min(axis=(0, 2))
    return {"pass": low <= 2, "lowest_coverage_after_200": low}


def _constant_only_at_r1(o: DoseOutcomes) -> dict:
    below = [k for k, (r, _) in enumerate(SETTINGS) if r < 1.0]
    div = o.field("diversity")[:, below].min(1)
    return {"pass": div >= 0.1, "lowest_diversity_below_r1": div}


def _mid_not_collapsed(o: DoseOutcomes) -> dict:
    low = np.minimum.reduce([o.final(r) for r in (0.3, 0.5, 0.7)])
    return {"pass": low > 2, "lowest_coverage_r03_to_r07": low}


DOSE_CONDITIONS: dict[str, SeedCondition] = {
    "rises": _cond(
        "without clamp, coverage rises with rho from 0.1 to 0.7: rank correlation at least 0.8 over the seed's four runs",
        _rises),
    "r07_above_r01": _cond(
        "the run at rho = 0.7 ends with at least 7 classes and the run at rho = 0.1 with at most 6",
        lambda o: {"pass": (o.final(0.7) >= 7) & (o.final(0.1) <= 6), "coverage_r07": o.final(0.7),
                   "coverage_r01": o.final(0.1)}),
    "r07_keeps_8": _cond(
        "the run at rho = 0.7 without clamp ends with at least 8 of 10 classes",
        lambda o: {"pass": o.final(0.7) >= 8, "coverage_r07": o.final(0.7)}),
    "lower_bound": _cond(
        "without clamp, every run with rho <= 0.7 ends with at least min(10, 10 rho) classes (the lower bound)",
        _lower_bound),
    "r1_below_r07": _cond(
        "without clamp, the run at rho = 1 ends with fewer classes than the run at rho = 0.7",
        lambda o: {"pass": o.final(1.0) < o.final(0.7), "coverage_r1": o.final(1.0), "coverage_r07": o.final(0.7)}),
    "r01_loses_classes": _cond(
        "the run at rho = 0.1 ends at least 2 classes below its best coverage during training",
        lambda o: (lambda lost: {"pass": lost >= 2, "classes_lost": lost})(
            o.coverage[:, :, o.column(0.1)].max(0) - o.final(0.1))),
    "r1_dips": _cond(
        "at rho = 1 (without clamp or with either clamp) some run covers at most 2 classes at a checkpoint "
        "from step 200 on",
        _r1_dips),
    "no_divergence": _cond(
        "no run diverges to NaN/inf",
        lambda o: {"pass": ~o.diverged.any(1), "diverged_runs": o.diverged.sum(1)}),
    "constant_only_at_r1": _cond(
        "no run with rho < 1 ends with f(z) constant (diversity below 0.1)",
        _constant_only_at_r1),
    "mid_not_collapsed": _cond(
        "no run with 0.3 <= rho <= 0.7 ends on at most 2 classes",
        _mid_not_collapsed),
    "r01_confident": _cond(
        "the run at rho = 0.1 still produces confidently classified digits (mean confidence above 0.8)",
        lambda o: (lambda c: {"pass": c > 0.8, "confidence_r01": c})(o.field("confidence")[:, o.column(0.1)])),
}
"""The notebook's claims about its runs, one verdict per seed (outcomes under the key :data:`RUN`)."""


def seed_verdicts(seeds: Sequence[int]) -> dict[str, dict]:
    """The notebook's runs for ``seeds`` and every condition of :data:`DOSE_CONDITIONS` on them.

    Parameters
    ----------
    seeds : sequence of int

    Returns
    -------
    dict of str to dict
        Condition name -> ``"pass"`` (one bool per seed) and the numbers it compares
        (:func:`gantools.calibration.apply_conditions`).
    """
    return apply_conditions(DOSE_CONDITIONS, {RUN: dose_runs(seeds)})
