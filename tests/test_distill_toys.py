"""gantools.distill_toys: Part III, notebook 4's experiments, their per-seed outcomes and conditions."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gantools import calibration
from gantools import distill_toys as dt


@pytest.fixture(scope="module")
def pair():
    return dt.start_pair(3, d_steps=20)


def test_start_pair_is_seeded(pair):
    G, D, z = pair
    G2, D2, z2 = dt.start_pair(3, d_steps=20)
    assert torch.equal(z, z2) and z.shape == (256, 2)
    assert all(torch.equal(a, b) for a, b in zip(D.state_dict().values(), D2.state_dict().values()))
    _, _, z4 = dt.start_pair(4, d_steps=20)
    assert not torch.equal(z, z4)
    draw = dt.real_sampler()
    assert torch.equal(draw(64, torch.Generator().manual_seed(1)), draw(64, torch.Generator().manual_seed(1)))


def test_the_two_gradients_agree_at_theta_t_only(pair):
    G, D, z = pair
    before = [p.clone() for p in G.parameters()]
    cos = dt.gradient_cosines(G, D, z, steps=3)
    assert abs(cos[0] - 1) < 1e-6 and len(cos) == 3
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))     # G itself is left alone


def test_fixed_d_moves_first_step_is_the_same_for_both_losses(pair, monkeypatch):
    monkeypatch.setattr(dt, "KS_SGD", (1, 2))
    monkeypatch.setattr(dt, "KS_ADAM", (1, 4))
    G, D, _ = pair
    step_len, moves = dt.fixed_d_moves(G, D)
    assert step_len > 0 and set(moves) == {("sgd", "distill"), ("sgd", "h"), ("adam", "distill"), ("adam", "h")}
    assert list(moves["adam", "h"]) == [1, 4]
    for opt in ("sgd", "adam"):          # lr eta on L_distill, 2 eps eta on -D (SGD); Adam is scale-free
        a, b = moves[opt, "distill"][1], moves[opt, "h"][1]
        assert abs(a - b) < 1e-3 * b


@pytest.fixture(scope="module")
def short():
    mp = pytest.MonkeyPatch()
    mp.setattr(dt, "ITERS", 20)
    mp.setattr(dt, "KS_SGD", (1, 16))          # the steps the conditions read
    mp.setattr(dt, "KS_ADAM", (1, 64, 256))
    seeds = [5, 6]
    training = dt.full_training(seeds)
    out = dt.distill_outcomes(seeds, training=training)
    yield seeds, training, out
    mp.undo()


def test_outcomes_shapes_and_training_must_match_the_seeds(short):
    seeds, training, out = short
    members, run = training
    assert members == [(k, loss, s) for k in dt.G_STEPS for loss in dt.LOSSES for s in seeds]
    assert run.G.n_members == len(members)
    assert out.seeds == (5, 6) and out.cosines.shape == (6, 2) and out.step_len.shape == (2,)
    assert out.moves["adam", "h"].shape == (3, 2) and out.moves["sgd", "h"].shape == (2, 2)
    assert set(out.w2) == {(k, loss) for k in dt.G_STEPS for loss in dt.LOSSES}
    assert out.paired.shape == (2,) and (out.paired >= 0).all()
    with pytest.raises(ValueError, match="not for seeds"):
        dt.distill_outcomes([5], training=training)
    with pytest.raises(ValueError):
        dt.distill_outcomes([])


def test_conditions_give_one_verdict_per_seed_and_can_fail(short):
    _, _, out = short
    res = calibration.apply_conditions(dt.DISTILL_CONDITIONS, {dt.RUN: out})
    assert set(res) == set(dt.DISTILL_CONDITIONS)
    for r in res.values():
        assert r["pass"].shape == (2,) and r["pass"].dtype == bool
    # a -D run that ends where its k = 1 run ended has not degraded; identical losses at k = 1 are "the same run"
    flat = dataclasses.replace(out, w2={**out.w2, (4, "h"): out.w2[1, "h"]}, paired=np.zeros(2))
    bad = calibration.apply_conditions(dt.DISTILL_CONDITIONS, {dt.RUN: flat})
    assert not bad["k4_h_degrades"]["pass"].any() and bad["k1_same_run"]["pass"].all()
    far = dataclasses.replace(out, paired=np.ones(2))
    assert not calibration.apply_conditions(dt.DISTILL_CONDITIONS, {dt.RUN: far})["k1_same_run"]["pass"].any()
    with pytest.raises(ValueError, match="reads runs"):
        calibration.apply_conditions(dt.DISTILL_CONDITIONS, {"other": out})


def test_yardsticks_tell_blur_from_data():
    target, ref = dt.yardsticks()
    assert target.shape == (512, 2)
    assert (ref["fresh"]["frac_in"] > 0.9).all() and (ref["blurred"]["frac_in"] < 0.1).all()
    assert ref["fresh"]["w2"].shape == (10,)
