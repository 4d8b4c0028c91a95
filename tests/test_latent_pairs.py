"""gantools.latent_pairs: Part II, notebook 4's pairs, their latent samplers, per-seed outcomes and conditions."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gantools import calibration, latent
from gantools import latent_pairs as lp


@pytest.fixture(scope="module")
def short():
    """Two seeds with pairs of 20 and 5 steps, 200 samples and a budget of 5 (constants read at call time)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(lp, "ARMS", {"2,000 steps": 20, "200 steps": 5})
    mp.setattr(lp, "N", 200)
    mp.setattr(lp, "BUDGET", 5)
    yield lp.pair_runs([4, 5])
    mp.undo()


def test_methods_are_the_samplers():
    assert {m for m, _ in lp.METHODS.values()} == set(latent.LATENT_METHODS)


def test_runs_and_outcomes(short):
    o = short
    assert set(o.runs) == {(n, a) for n in lp.NAMES for a in ("2,000 steps", "200 steps")}
    assert len(o.balance) == len(o.samples) == 4 * len(lp.METHODS)
    assert o.samples["8gaussians", "200 steps", "descent"].x.shape == (2, 200, 2)
    assert o.hq("8gaussians", "2,000 steps", "prior").shape == (2,)
    assert o.modes("25gaussians", "200 steps", "MALA T=1").dtype.kind == "i"
    with pytest.raises(ValueError, match="methods"):
        o.hq("8gaussians", "2,000 steps", "Gibbs")
    with pytest.raises(ValueError):
        lp.pair_runs([])


def _with_hq(o, changes):
    """``o`` with the HQ fraction of some (name, arm, label) set per seed."""
    bal = dict(o.balance)
    for key, values in changes.items():
        bal[key] = [dataclasses.replace(b, high_quality_fraction=v) for b, v in zip(bal[key], values)]
    return dataclasses.replace(o, balance=bal)


def test_conditions_give_one_verdict_per_seed_and_can_fail(short):
    res = calibration.apply_conditions(lp.PAIR_CONDITIONS, {lp.RUN: short})
    assert set(res) == set(lp.PAIR_CONDITIONS)
    for r in res.values():
        assert r["pass"].shape == (2,) and r["pass"].dtype == bool
    ring, long = "8gaussians", "2,000 steps"
    odd = _with_hq(short, {(ring, long, "prior"): [0.9, 0.9], (ring, long, "MALA T=1"): [0.5, 0.8],
                           (ring, long, "MALA T=1, eps=0.01"): [0.95, 0.8]})
    res = calibration.apply_conditions(lp.PAIR_CONDITIONS, {lp.RUN: odd})
    assert res["ring_mala_lowers"]["pass"].tolist() == [True, False]
    assert res["ring_mala_small_step"]["pass"].tolist() == [True, False]
    best = {(n, long, m): [0.5, 0.5] for n in lp.NAMES for m in lp.METHODS}
    best.update({(n, long, "descent"): [0.6, 0.5] for n in lp.NAMES})
    res = calibration.apply_conditions(lp.PAIR_CONDITIONS, {lp.RUN: _with_hq(short, best)})
    assert res["descent_best"]["pass"].tolist() == [True, False]          # a tie is not "higher"
    assert np.allclose(res["descent_best"]["margin_ring"], [0.1, 0.0])
