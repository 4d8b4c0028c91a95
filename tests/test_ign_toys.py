"""gantools.ign_toys: Part IV, notebook 3's runs, their per-seed outcomes and conditions."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gantools import calibration
from gantools import ign_toys as it


def test_inputs_are_fixed():
    a, b = it.eval_inputs(), it.eval_inputs()
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    z, real, plane = a
    assert z.shape == real.shape == (2000, 2) and plane.shape == (4000, 2) and plane.abs().max() <= 2.2
    draw = it.real_sampler()
    assert torch.equal(draw(16, torch.Generator().manual_seed(2)), draw(16, torch.Generator().manual_seed(2)))


@pytest.fixture(scope="module")
def short():
    """Every run for two seeds, shortened (the module's constants are read at call time)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(it, "STEPS", 600)      # the history logs every 100 steps; the outcomes read its last five
    runs = it.ring_runs([4, 5])
    yield runs, it.ring_outcomes(runs)
    mp.undo()


def test_runs_and_outcomes(short):
    runs, out = short
    assert runs.ign_keys == [(it.LISTING, 4), (it.LISTING, 5), (it.BALANCED, 4), (it.BALANCED, 5)]
    assert runs.ign.f.n_members == 4 and runs.gan.G.n_members == 2
    assert [s["lam_tight"] for s in runs.ign.settings] == [0.1, 0.1, 1.0, 1.0]
    assert out.seeds == (4, 5) and set(out.modes) == set(it.MODELS) and set(out.modes_f3) == set(it.IGN_SETTINGS)
    for d in (out.modes, out.hq, out.kl, out.rec_fall, out.critic_ratio):
        assert all(v.shape == (2,) for v in d.values())
    assert all(((v >= 0) & (v <= 8)).all() for v in out.modes.values())
    with pytest.raises(ValueError):
        it.ring_runs([])


def test_a_seed_does_not_depend_on_its_neighbours_in_the_batch(short):
    runs, out = short
    mp = pytest.MonkeyPatch()
    mp.setattr(it, "STEPS", 600)
    try:
        swapped = it.ring_outcomes(it.ring_runs([5, 4]))
    finally:
        mp.undo()
    for name in it.MODELS:
        assert np.array_equal(swapped.modes[name], out.modes[name][::-1])
        assert np.allclose(swapped.kl[name], out.kl[name][::-1], rtol=0, atol=1e-6)


def test_conditions_give_one_verdict_per_seed_and_can_fail(short):
    _, out = short
    res = calibration.apply_conditions(it.RING_CONDITIONS, {it.RUN: out})
    assert set(res) == set(it.RING_CONDITIONS)
    for r in res.values():
        assert r["pass"].shape == (2,) and r["pass"].dtype == bool
    full = dataclasses.replace(out, modes={**out.modes, it.LISTING: np.array([8, 8]), it.GAN: np.array([0, 0])},
                               modes_f3={**out.modes_f3, it.LISTING: np.array([8, 8])})
    bad = calibration.apply_conditions(it.RING_CONDITIONS, {it.RUN: full})
    assert not bad["ign_misses_a_mode"]["pass"].any() and not bad["gan_covers_as_many"]["pass"].any()
    flat = dataclasses.replace(out, rec_fall={k: np.ones(2) for k in out.rec_fall})
    assert not calibration.apply_conditions(it.RING_CONDITIONS, {it.RUN: flat})["ign_reconstructs"]["pass"].any()
