"""gantools.ign_digits: Part IV, notebook 4's runs, their per-seed outcomes and conditions."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gantools import calibration
from gantools import ign_digits as idg


def test_eval_noise_is_per_seed():
    a, b = idg.eval_noise(3), idg.eval_noise(3)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert a[0].shape == (idg.EVAL_N, 64) and a[1].shape == (idg.EVAL_N, 32)
    assert not torch.equal(a[0], idg.eval_noise(4)[0])


@pytest.fixture(scope="module")
def short():
    """Both models for two seeds, shortened to 400 steps (the module's constants are read at call time)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(idg, "STEPS", 400)
    runs = idg.matched_runs([4, 5])
    yield runs, idg.digit_outcomes(runs)
    mp.undo()


def test_runs_and_outcomes(short):
    runs, out = short
    assert runs.ign.f.n_members == 2 and runs.gan.G.n_members == 2
    assert runs.steps[-1] == 399 and 300 in runs.steps and out.steps == runs.steps
    assert all(c.shape == (len(runs.steps), 2) for c in out.coverage.values())
    for d in (out.sharpness, out.confidence, out.nearest, out.kl, out.on_subspace, out.off_subspace):
        assert set(d) == set(idg.MODELS) and all(v.shape == (2,) for v in d.values())
    lost = out.classes_lost_after(300)
    assert np.array_equal(lost, out.coverage["IGN"][runs.steps.index(300):].max(0) - out.coverage["IGN"][-1])
    assert out.refs.blends.sharpness < 1 and out.refs.real.confidence > out.refs.blends.confidence
    with pytest.raises(ValueError):
        idg.matched_runs([])


def test_a_seed_barely_depends_on_its_neighbours_in_the_batch(short):
    runs, out = short
    mp = pytest.MonkeyPatch()
    mp.setattr(idg, "STEPS", 400)
    try:
        alone = idg.digit_outcomes(idg.matched_runs([5]))
    finally:
        mp.undo()
    # the same start and streams (the first record is exact); after 400 steps only rounding differs
    # (a batched product rounds differently with another number of members)
    for name in idg.MODELS:
        assert np.array_equal(alone.coverage[name][0], out.coverage[name][0, 1:])
        assert np.allclose(alone.sharpness[name], out.sharpness[name][1:], rtol=0.01, atol=0)


def test_conditions_give_one_verdict_per_seed_and_can_fail(short):
    _, out = short
    res = calibration.apply_conditions(idg.DIGIT_CONDITIONS, {idg.RUN: out})
    assert set(res) == set(idg.DIGIT_CONDITIONS)
    for r in res.values():
        assert r["pass"].shape == (2,) and r["pass"].dtype == bool
    cov = {k: v.copy() for k, v in out.coverage.items()}
    cov["IGN"][:] = [[9, 9]] * (len(out.steps) - 1) + [[3, 7]]
    cov["GAN"][-1] = [2, 10]
    bad = calibration.apply_conditions(idg.DIGIT_CONDITIONS, {idg.RUN: dataclasses.replace(out, coverage=cov)})
    assert bad["ign_keeps_classes"]["pass"].tolist() == [False, False]
    assert bad["ign_no_collapse"]["pass"].tolist() == [False, False]
    assert bad["gan_keeps_classes"]["pass"].tolist() == [False, True]
    soft = dataclasses.replace(out, sharpness={"IGN": np.array([0.1, 2.0]), "GAN": np.array([1.0, 1.0])})
    res = calibration.apply_conditions(idg.DIGIT_CONDITIONS, {idg.RUN: soft})
    assert res["sharper_than_blends"]["pass"].tolist() == [False, True]
    assert res["ign_softer"]["pass"].tolist() == [True, False]
