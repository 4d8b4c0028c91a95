"""gantools.gaussian_toy: per-seed outcomes of the toy runs and the conditions Part III, notebook 5 claims."""
import dataclasses

import numpy as np
import pytest

from gantools import gaussian_toy as gt


def _short(run, iters=30, seeds=(0, 1)):
    hs, cfg = gt.FAMILY_RUNS[run]
    return gt.train_toy_ensemble(hs, list(seeds), dataclasses.replace(cfg, iters=iters)).outcomes()


def test_outcomes_read_the_ensemble_and_round_trip():
    hs, cfg = gt.FAMILY_RUNS["learned D, book"]
    ens = gt.train_toy_ensemble(hs[:2], [3, 4], dataclasses.replace(cfg, iters=80))
    out = ens.outcomes()
    i = ens.members("ns")
    assert np.array_equal(out.of("ns", "kl_end"), ens.kl[-1, i])
    assert np.array_equal(out.of("ns", "kl_max"), ens.kl[:, i].max(0))
    assert np.allclose(out.of("ns", "d_slope_mean"), np.nanmean(ens.d_slope[1:, i], 0))
    assert out.n_seeds == 2
    back = gt.ToyOutcomes.from_dict(out.to_dict())
    assert back.h == out.h and back.seeds == out.seeds
    assert all(np.array_equal(back.values[k], np.asarray(v, dtype=float), equal_nan=True) for k, v in out.values.items())
    with pytest.raises(ValueError, match="no member uses"):
        out.of("sin", "kl_end")
    with pytest.raises(ValueError, match="kl_end"):
        out.of("ns", "kl_final")


def test_exact_runs_have_no_slope():
    out = _short("exact, sgd, paper start")
    assert np.isnan(out.of("identity", "d_slope_mean")).all()


def test_conditions_are_evaluated_per_seed_from_the_runs_they_read():
    outs = {r: _short(r) for r in ("exact, sgd, paper start", "exact, adam, paper start")}
    res = gt.family_conditions(outs)
    # only the conditions whose runs are all present
    assert set(res) == {k for k, c in gt.FAMILY_CONDITIONS.items() if set(c.runs) <= set(outs)}
    assert "sin_near_converges" in res and "sgd_far_fast_converge" not in res
    for r in res.values():
        assert r["pass"].dtype == bool and r["pass"].shape == (2,)
        assert all(np.shape(v) == (2,) for v in r.values())
    # a condition is its stated inequality: sin's worst KL ratio over both optimisers below 1%
    w = np.maximum(*(o.of("sin", "kl_end") / o.of("sin", "kl_start") for o in outs.values()))
    assert np.array_equal(res["sin_near_converges"]["pass"], w < 0.01)
    with pytest.raises(ValueError, match="do not hold"):
        gt.FAMILY_CONDITIONS["sin_far_stuck"](outs)


def test_conditions_refuse_runs_on_different_seeds():
    outs = {"exact, sgd, paper start": _short("exact, sgd, paper start", seeds=(0, 1)),
            "exact, adam, paper start": _short("exact, adam, paper start", seeds=(0, 2))}
    with pytest.raises(ValueError, match="share their seeds"):
        gt.family_conditions(outs)
    with pytest.raises(ValueError, match="run"):
        gt.family_outcomes([0], ["exact, sgd, nowhere"])
