"""gantools.ign_orbits: Part IV, notebook 6's MLP runs, their orbits, per-seed outcomes and conditions."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gantools import calibration, data, ign
from gantools import ign_orbits as io_


def test_settings_and_noise():
    assert io_.SETTINGS["recipe"] == {"lam_tight": ign.RECIPE["lam_tight"], "clamp": ign.RECIPE["clamp"]}
    assert io_.SETTINGS["listing"] == {"lam_tight": ign.LISTING["lam_tight"], "clamp": ign.LISTING["clamp"]}
    assert torch.equal(io_.eval_noise(2), io_.eval_noise(2)) and not torch.equal(io_.eval_noise(2), io_.eval_noise(3))


def test_references_separate_noise_from_blur():
    x, labels = data.digits(seed=0)
    refs = io_.references(x, labels)
    noise, blur = refs["real + noise (std 0.3)"], refs["real, 3x3 blur"]
    assert noise.sharp > 1.25 and noise.shape < 1.08 and blur.sharp < 0.7 and blur.shape < 0.7
    same = io_.relative_stats(x)(x)
    assert same.sharp == pytest.approx(1) and same.shape == pytest.approx(1) and same.off == pytest.approx(1)


@pytest.fixture(scope="module")
def short():
    """Both weightings for two seeds, shortened to 100 steps (the module's constants are read at call time)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(io_, "STEPS", 100)
    runs = io_.orbit_runs([4, 5])
    yield runs, io_.orbit_outcomes(runs)
    mp.undo()


def test_runs_and_outcomes(short):
    runs, out = short
    assert runs.keys == [("recipe", 4), ("recipe", 5), ("listing", 4), ("listing", 5)]
    assert len(runs.orbit_z) == len(runs.orbit_x) == 4 and runs.orbit_z[0].shape == (4, io_.EVAL_N, 64)
    assert torch.equal(runs.orbit_z[0][2], io_.eval_noise(4))        # both runs of a seed start from its noise
    with torch.no_grad():
        assert torch.allclose(runs.orbit_z[2][1], runs.run.member(1)(runs.orbit_z[1][1]), atol=1e-5)
    for d in (out.sharp, out.shape, out.off, out.coverage, out.x_drift, out.x_keep):
        assert set(d) == set(io_.SETTINGS) and all(v.shape == (2, 3) for v in d.values())
    for d in (out.d_fz, out.d_fx, out.d_x, out.d_z, out.slope):
        assert all(v.shape == (2,) for v in d.values())
    with pytest.raises(ValueError):
        io_.orbit_runs([])


def test_conditions_give_one_verdict_per_seed_and_can_fail(short):
    _, out = short
    res = calibration.apply_conditions(io_.ORBIT_CONDITIONS, {io_.RUN: out})
    assert set(res) == set(io_.ORBIT_CONDITIONS)
    for r in res.values():
        assert r["pass"].shape == (2,) and r["pass"].dtype == bool
    rising = np.array([[0.5, 0.6, 0.7], [0.9, 0.8, 0.7]])
    odd = dataclasses.replace(out, x_keep={n: rising for n in io_.SETTINGS}, x_drift={n: rising for n in io_.SETTINGS},
                              slope={"recipe": np.array([0.5, 0.9]), "listing": np.array([0.5, 0.5])})
    res = calibration.apply_conditions(io_.ORBIT_CONDITIONS, {io_.RUN: odd})
    assert res["labels_fade"]["pass"].tolist() == [False, True]
    assert res["digits_drift"]["pass"].tolist() == [True, False]
    assert res["sqrt_gradient"]["pass"].tolist() == [True, False]


def test_log_log_slope_skips_fixed_points_and_can_be_undefined():
    delta = torch.linspace(0.01, 1.0, 50)
    assert io_.log_log_slope(delta, 3 * delta.sqrt()) == pytest.approx(0.5, abs=1e-6)
    with_zeros = torch.cat([torch.zeros(20), delta])       # exact fixed points: log delta = -inf
    assert io_.log_log_slope(with_zeros, 3 * with_zeros.sqrt()) == pytest.approx(0.5, abs=1e-6)
    assert np.isnan(io_.log_log_slope(torch.zeros(50), torch.zeros(50)))
    assert np.isnan(io_.log_log_slope(torch.full((50,), 0.3), torch.rand(50) + 0.1))
