"""gantools.particle_toys: Part III, notebook 3's runs, their per-seed outcomes and conditions."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gantools import particle_toys as pt


def test_inputs_are_seeded():
    assert torch.equal(pt.start(3), pt.start(3)) and not torch.equal(pt.start(3), pt.start(4))
    assert pt.start(0).shape == (pt.N, 2)
    assert torch.equal(pt.target("scurve"), pt.target("scurve"))
    draw = pt.real_sampler("8gaussians")
    a, b = draw(64, torch.Generator().manual_seed(1)), draw(64, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == (64, 2)
    f = pt.fresh_w2("8gaussians")
    assert f.shape == (10,) and (f > 0).all()


@pytest.fixture(scope="module")
def short():
    """Every run for two seeds, shortened (the module's constants are read at call time)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(pt, "STEPS", 55)
    mp.setattr(pt, "GAUSS_STEPS", 40)
    seeds = [5, 6]
    runs = pt.particle_runs(seeds)
    out = pt.particle_outcomes(runs, seeds)
    yield seeds, runs, out
    mp.undo()


def test_outcomes_read_the_runs(short):
    seeds, runs, out = short
    assert out.seeds == tuple(seeds)
    assert np.allclose(out.w2["8gaussians"], np.array(runs["8gaussians"].history["w2"]))
    assert out.stale.shape == (3, 2)                         # records at moves 0, 50 and 55
    assert np.allclose(out.sweep[pt.EPS], out.w2["scurve"][[0, 5, 6]])   # the main run at the sweep's records
    assert set(out.sweep) == {0.02, 0.1, 0.5}
    assert out.kl.shape == out.kl_exact.shape == out.sd_log_r.shape == (5, 2)   # moves 0, 10, ..., 40
    assert np.isnan(out.slope[0]).all() and np.isfinite(out.slope[1:]).all()
    assert (out.kl_exact[-1] < out.kl_exact[0]).all()        # the exact flow lowers KL
    with pytest.raises(ValueError, match="gaussian"):
        pt.particle_outcomes({k: v for k, v in runs.items() if k != "gaussian"}, seeds)


def test_conditions_give_one_verdict_per_seed_and_can_fail(short):
    _, _, out = short
    res = pt.particle_conditions(out)
    assert set(res) == set(pt.PARTICLE_CONDITIONS)
    for r in res.values():
        assert r["pass"].shape == (2,) and r["pass"].dtype == bool
    # a stale run that stays put does not "run away"; a flow whose W2 grows does not halve it
    still = dataclasses.replace(out, stale=np.ones_like(out.stale),
                                w2={**out.w2, "8gaussians": np.ones_like(out.w2["8gaussians"])})
    bad = pt.particle_conditions(still)
    assert not bad["stale_runs_away"]["pass"].any() and not bad["8gaussians_halves"]["pass"].any()
    with pytest.raises(ValueError):
        pt.particle_runs([])
