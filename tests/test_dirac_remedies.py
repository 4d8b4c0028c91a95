"""Unit tests of gantools.remedies: the EMA design rule and the batched L2 / EMA experiments."""
import math

import numpy as np
import pytest
import torch

from gantools import dirac, remedies


def test_ema_window_and_design_rule():
    assert remedies.ema_window(0.99) == pytest.approx(100.0)
    P = 2 * math.pi / (2 * math.asin(0.05 / 2))
    beta = remedies.ema_design_decay(P, 0.1)
    assert dirac.ema_gain(beta, 1.0, 2 * math.asin(0.05 / 2)) == pytest.approx(0.1, rel=0.01)
    for bad in (lambda: remedies.ema_window(1.0), lambda: remedies.ema_design_decay(100, 1.5),
                lambda: remedies.ema_design_decay(1.0, 0.9)):
        with pytest.raises(ValueError):
            bad()


def test_train_gan_ensemble_shapes_and_member_l2():
    run = remedies.train_gan_ensemble(l2s=(0.0, 0.5), seeds=2, steps=6, batch=8, ema_decays=(0.9,),
                                      snapshot_every=2, n_fixed=5, hidden=8, depth=1)
    assert run.G.n_members == 4 and run.l2.tolist() == [0.0, 0.0, 0.5, 0.5] and run.seed.tolist() == [0, 1, 0, 1]
    assert run.snapshots.shape == (4, 4, 5, 2)          # steps 0, 2, 4, 5
    assert set(run.emas) == {0.9} and run.history["step"] == [0, 2, 4, 5]
    assert all(torch.isfinite(p).all() for p in run.D.parameters())


def test_train_classifier_ensemble_learns():
    run = remedies.train_classifier_ensemble(seeds=2, steps=150, eval_every=50, lr=1e-2, ema_decays=(0.9,))
    assert run.history["step"] == [0, 50, 100, 149]
    assert min(run.history["test_acc"][-1]) > 0.7 and len(run.history["ema_acc"][0.9][-1]) == 2


# A member trained in a batch equals the member trained alone: the same kernels on the same
# numbers, up to float32 rounding of a larger batched product (measured: 0.0 for the GAN after
# 20 steps and for the classifier after 60).
ATOL_BATCH = 1e-6


def _max_diff(a, b) -> float:
    return max(float((p - q).detach().abs().max()) for p, q in zip(a.parameters(), b.parameters()))


def test_gan_ensemble_member_is_its_own_run():
    """Batched over L2 weights and seeds: a member is the run of its (L2, seed) alone."""
    kw = dict(seeds=2, steps=20, batch=16, ema_decays=(0.9,), snapshot_every=5, n_fixed=5, hidden=8, depth=1)
    both = remedies.train_gan_ensemble(l2s=(0.0, 0.5), **kw)
    alone = remedies.train_gan_ensemble(l2s=(0.5,), **kw)
    for m in range(2):
        assert _max_diff(both.G.member(2 + m), alone.G.member(m)) <= ATOL_BATCH
        assert _max_diff(both.D.member(2 + m), alone.D.member(m)) <= ATOL_BATCH
        assert (both.snapshots[:, 2 + m] - alone.snapshots[:, m]).abs().max() <= ATOL_BATCH
    assert _max_diff(both.G.member(0), both.G.member(2)) > 1e-4       # the L2 weight does change the run


def test_classifier_member_is_its_own_run():
    kw = dict(steps=60, eval_every=20, lr=1e-2, ema_decays=(0.9,))
    three = remedies.train_classifier_ensemble(seeds=3, **kw)
    one = remedies.train_classifier_ensemble(seeds=1, **kw)
    assert _max_diff(three.net.member(0), one.net.member(0)) <= ATOL_BATCH
    assert three.history["test_acc"][-1][0] == pytest.approx(one.history["test_acc"][-1][0], abs=1e-6)
    assert _max_diff(three.emas[0.9].module.member(0), one.emas[0.9].module.member(0)) <= ATOL_BATCH


@pytest.mark.parametrize("call,match", [
    (lambda: remedies.train_gan_ensemble(l2s=(), steps=1), "at least one"),
    (lambda: remedies.train_gan_ensemble(l2s=(-1.0,), steps=1), "l2"),
    (lambda: remedies.train_gan_ensemble(l2s=(0.0,), steps=1, lr=0.0), "lr"),
    (lambda: remedies.train_gan_ensemble(l2s=(0.0,), steps=1, seeds=[3, 3]), "distinct"),
    (lambda: remedies.train_classifier_ensemble(seeds=[], steps=1), "distinct"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_seed_is_the_same_run_in_any_seed_list():
    """Seed 7 trained beside seed 3 is seed 7 trained alone (fresh seeds for the stored many-seed runs)."""
    kw = dict(l2s=(0.0,), steps=10, batch=16, ema_decays=(0.9,), snapshot_every=5, n_fixed=5, hidden=8, depth=1)
    pair = remedies.train_gan_ensemble(seeds=[3, 7], **kw)
    alone = remedies.train_gan_ensemble(seeds=[7], **kw)
    assert pair.seed.tolist() == [3, 7]
    assert _max_diff(pair.G.member(1), alone.G.member(0)) <= ATOL_BATCH


def test_outcomes_and_conditions_read_the_runs():
    gan = remedies.train_gan_ensemble(l2s=(0.0, 1e-3, 1e-2, 1e-1), seeds=[0, 1], steps=30, batch=32,
                                      ema_decays=(0.99, 0.999), snapshot_every=5, hidden=16)
    g = remedies.gan_outcomes(gan, n=200)
    assert g["mmd_raw"].shape == g["hq_ema_0.999"].shape == g["movement"].shape == (4, 2)
    assert list(g["seeds"]) == [0, 1]
    # the score of a member is its own: member (1e-2, seed 1) is row 2, column 1
    assert np.isclose(remedies.paired_difference(g, "mmd_raw", 1e-2)[1], g["mmd_raw"][2, 1] - g["mmd_raw"][0, 1])
    with pytest.raises(ValueError, match="no run with L2 weight"):
        remedies.paired_difference(g, "mmd_raw", 0.5)
    cls = remedies.train_classifier_ensemble(seeds=2, steps=120, eval_every=10, ema_decays=(0.99, 0.999))
    c = remedies.classifier_outcomes(cls)
    loss = np.array(cls.history["test_loss"])
    assert np.allclose(c["raw_loss"], loss[-10:].mean(0)) and c["ema_0.999_first"].shape == (2,)
    res = remedies.remedy_conditions({"gan": g, "classifier": c})
    assert set(res) == set(remedies.REMEDY_CONDITIONS)
    assert all(r["pass"].shape == (2,) and r["pass"].dtype == bool for r in res.values())
    assert np.array_equal(res["l2_freezes"]["pass"], g["movement"][3] / g["movement"][0] < 0.05)
    assert set(remedies.remedy_conditions({"classifier": c})) == {k for k in res if k.startswith("cls_")}
