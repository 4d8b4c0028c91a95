"""gantools.energy_wells: Part II, notebook 2's pairs and fixed-energy generators, per-seed outcomes and conditions."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gantools import calibration
from gantools import energy as en
from gantools import energy_wells as ew


def test_neighbour_pairs_and_box():
    _, grid = ew.neighbour_pairs("25gaussians")
    _, ring = ew.neighbour_pairs("8gaussians")
    assert len(grid) == 80 and len(ring) == 16 and all((j, i) in grid for i, j in grid)
    b = ew.box_points(500, seed=3)
    assert b.shape == (500, 2) and b.abs().max() <= ew.BOX and b.abs().max() > 0.9 * ew.BOX


@pytest.fixture(scope="module")
def short():
    """Two seeds, pairs of 20 steps and fixed-energy runs of 10 (the module's constants are read at call time)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(ew, "STEPS", 20)
    mp.setattr(ew, "FIXED_STEPS", 10)
    yield ew.pair_runs([4, 5]), ew.fixed_runs([4, 5])
    mp.undo()


def test_runs_and_outcomes(short):
    o, f = short
    assert set(o.runs) == set(ew.NAMES) and len(o.runs["8gaussians"].labels) == 2 * len(en.ENTROPY_TREATMENTS)
    keys = {(n, t) for n in ew.NAMES for t in en.ENTROPY_TREATMENTS}
    assert set(o.gap_box) == set(o.gap_fake) == set(o.well_fraction) == set(o.smallest_margin) == keys
    assert all(v.shape == (2,) and ((0 <= v) & (v <= 1)).all() for v in o.well_fraction.values())
    assert set(f.modes) == {a.label for a in ew.FIXED_ARMS} and f.modes["none"].shape == (2,)
    assert set(f.balance) == {(a.label, s) for a in ew.FIXED_ARMS for s in (4, 5)}
    for fn in (ew.pair_runs, ew.fixed_runs):
        with pytest.raises(ValueError, match="at least one seed"):
            fn([])


def test_a_seed_does_not_depend_on_its_neighbours_in_the_call(short):
    """Seed 5 alone gives the numbers it gives beside seed 4 (each member has its own stream)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(ew, "STEPS", 20)
    mp.setattr(ew, "FIXED_STEPS", 10)
    try:
        alone, f_alone = ew.pair_runs([5]), ew.fixed_runs([5])
    finally:
        mp.undo()
    o, f = short
    for k in o.gap_box:
        np.testing.assert_allclose(alone.gap_box[k], o.gap_box[k][1:], rtol=1e-4, atol=1e-4)
    for k in f.modes:
        assert f_alone.modes[k].tolist() == f.modes[k][1:].tolist()


def test_conditions_give_one_verdict_per_seed_and_can_fail(short):
    o, f = short
    res = calibration.apply_conditions(ew.CONDITIONS, {ew.PAIR_RUN: o, ew.FIXED_RUN: f})
    assert set(res) == set(ew.CONDITIONS) == set(ew.PAIR_CONDITIONS) | set(ew.FIXED_CONDITIONS)
    for r in res.values():
        assert r["pass"].shape == (2,) and r["pass"].dtype == bool
    ones = {k: np.ones(2) for k in o.gap_box}
    odd = dataclasses.replace(
        o, gap_box={**ones, ("8gaussians", "jsd"): np.array([1.0, -0.1])}, gap_fake=ones,
        well_fraction={**ones, ("8gaussians", "none"): np.array([1.0, 15 / 16]), ("25gaussians", "jsd"): np.array([0.7, 0.8])})
    odd_f = dataclasses.replace(f, modes={a.label: np.array([1, 1]) for a in ew.FIXED_ARMS} | {"jsd 100": np.array([2, 1])})
    res = calibration.apply_conditions(ew.CONDITIONS, {ew.PAIR_RUN: odd, ew.FIXED_RUN: odd_f})
    assert res["energy_gaps"]["pass"].tolist() == [True, False]
    assert res["ring_wells"]["pass"].tolist() == [True, False]
    assert res["grid_wells"]["pass"].tolist() == [False, True]
    assert res["fixed_one_mode"]["pass"].tolist() == [False, True]
    with pytest.raises(ValueError, match="do not hold"):
        calibration.apply_conditions(ew.CONDITIONS, {ew.PAIR_RUN: o})
