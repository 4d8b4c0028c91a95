"""gantools.ign_dose: Part IV, notebook 5's grid of weight ratios and clamps, per-seed outcomes and conditions."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gantools import calibration, digits, ign_digits, metrics
from gantools import ign_dose as idose


@pytest.fixture(scope="module")
def short():
    """The seven runs of two seeds, shortened to 201 steps (the module's constants are read at call time)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(idose, "STEPS", 201)
    mp.setattr(idose, "EVAL_EVERY", 100)
    yield idose.dose_runs([4, 5])
    mp.undo()


def test_settings():
    assert idose.SETTINGS[:len(idose.RATIOS)] == tuple((r, None) for r in idose.RATIOS)
    assert idose.SETTINGS[-2:] == ((1.0, 1.0), (1.0, 3.0))


def test_runs_and_outcomes(short):
    out = short
    K = len(idose.SETTINGS)
    assert out.seeds == (4, 5) and out.steps == [0, 100, 200]
    assert out.coverage.shape == (3, 2, K) and out.diverged.shape == (2, K) and len(out.scores[1]) == K
    assert out.field("coverage").tolist() == out.coverage[-1].tolist()       # the last record is the final samples'
    assert out.final(0.7).tolist() == out.coverage[-1, :, 3].tolist() and out.column(1.0, 3.0) == K - 1
    with pytest.raises(ValueError, match="settings"):
        out.column(0.2)
    with pytest.raises(ValueError, match="valid"):
        out.field("sharp")
    with pytest.raises(ValueError):
        idose.dose_runs([])


def test_every_run_of_a_seed_starts_alike_and_uses_the_seed_noise():
    """The seven runs of one seed start from the same weights; step 0 is scored on the seed's own noise."""
    mp = pytest.MonkeyPatch()
    mp.setattr(idose, "STEPS", 1)
    out = idose.dose_runs([6])
    mp.undo()
    f = digits.stacked_autoencoders([6])
    with torch.no_grad():
        start = metrics.digit_scores(f(ign_digits.eval_noise(6)[0][None])[0]).coverage
    assert out.coverage[0, 0].tolist() == [start] * len(idose.SETTINGS)


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")   # the flat rows: no rank correlation
def test_conditions_give_one_verdict_per_seed_and_can_fail(short):
    res = calibration.apply_conditions(idose.DOSE_CONDITIONS, {idose.RUN: short})
    assert set(res) == set(idose.DOSE_CONDITIONS)
    for r in res.values():
        assert r["pass"].shape == (2,) and r["pass"].dtype == bool
    cov = np.zeros((3, 2, len(idose.SETTINGS)), dtype=int)
    cov[:, 0] = [[3, 5, 8, 9, 2, 8, 1]] * 3           # seed 0: rises, bound holds, rho = 1 dips below rho = 0.7
    cov[:, 1] = [[6, 5, 4, 7, 9, 9, 9]] * 3           # seed 1: falls, rho = 0.1 too high, rho = 1 above rho = 0.7
    cov[1, 1, 0] = 9                                  # ... and it loses three classes at rho = 0.1
    odd = dataclasses.replace(short, coverage=cov, steps=[0, 200, 400], diverged=np.array([[False] * 7, [True] + [False] * 6]))
    res = calibration.apply_conditions(idose.DOSE_CONDITIONS, {idose.RUN: odd})
    expect = {"rises": [True, False], "r07_above_r01": [True, True], "r07_keeps_8": [True, False],
              "lower_bound": [True, False], "r1_below_r07": [True, False], "r01_loses_classes": [False, True],
              "r1_dips": [True, False], "no_divergence": [True, False]}
    for name, verdict in expect.items():
        assert res[name]["pass"].tolist() == verdict, name
    flat = dataclasses.replace(odd, coverage=np.full_like(cov, 5))
    assert calibration.apply_conditions(idose.DOSE_CONDITIONS, {idose.RUN: flat})["rises"]["pass"].tolist() == [False, False]
