"""Unit tests of gantools.remedies: the EMA design rule and the batched L2 / EMA experiments."""
import math

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
    run = remedies.train_gan_ensemble(l2s=(0.0, 0.5), n_seeds=2, steps=6, batch=8, ema_decays=(0.9,),
                                      snapshot_every=2, n_fixed=5, hidden=8, depth=1)
    assert run.G.n_members == 4 and run.l2.tolist() == [0.0, 0.0, 0.5, 0.5] and run.seed.tolist() == [0, 1, 0, 1]
    assert run.snapshots.shape == (4, 4, 5, 2)          # steps 0, 2, 4, 5
    assert set(run.emas) == {0.9} and run.history["step"] == [0, 2, 4, 5]
    assert all(torch.isfinite(p).all() for p in run.D.parameters())


def test_train_classifier_ensemble_learns():
    run = remedies.train_classifier_ensemble(n_seeds=2, steps=150, eval_every=50, lr=1e-2, ema_decays=(0.9,))
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
    kw = dict(n_seeds=2, steps=20, batch=16, ema_decays=(0.9,), snapshot_every=5, n_fixed=5, hidden=8, depth=1)
    both = remedies.train_gan_ensemble(l2s=(0.0, 0.5), **kw)
    alone = remedies.train_gan_ensemble(l2s=(0.5,), **kw)
    for m in range(2):
        assert _max_diff(both.G.member(2 + m), alone.G.member(m)) <= ATOL_BATCH
        assert _max_diff(both.D.member(2 + m), alone.D.member(m)) <= ATOL_BATCH
        assert (both.snapshots[:, 2 + m] - alone.snapshots[:, m]).abs().max() <= ATOL_BATCH
    assert _max_diff(both.G.member(0), both.G.member(2)) > 1e-4       # the L2 weight does change the run


def test_classifier_member_is_its_own_run():
    kw = dict(steps=60, eval_every=20, lr=1e-2, ema_decays=(0.9,))
    three = remedies.train_classifier_ensemble(n_seeds=3, **kw)
    one = remedies.train_classifier_ensemble(n_seeds=1, **kw)
    assert _max_diff(three.net.member(0), one.net.member(0)) <= ATOL_BATCH
    assert three.history["test_acc"][-1][0] == pytest.approx(one.history["test_acc"][-1][0], abs=1e-6)
    assert _max_diff(three.emas[0.9].module.member(0), one.emas[0.9].module.member(0)) <= ATOL_BATCH


@pytest.mark.parametrize("call,match", [
    (lambda: remedies.train_gan_ensemble(l2s=(), steps=1), "at least one"),
    (lambda: remedies.train_gan_ensemble(l2s=(-1.0,), steps=1), "l2"),
    (lambda: remedies.train_gan_ensemble(l2s=(0.0,), steps=1, lr=0.0), "lr"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
