"""Tests for IGN runs side by side: stacked networks, per-member objectives, stacked GANs."""
from __future__ import annotations

import pytest
import torch

from gantools import data, digits, ensemble, ign, losses, metrics, nets, train
from gantools.errors import DivergenceError


def test_stacked_members_compute_what_the_single_networks_compute():
    seeds = (3, 4, 5)
    S = digits.stacked_autoencoders(seeds)
    x = torch.randn(3, 7, 64)
    out = S(x)
    for m, s in enumerate(seeds):
        f = digits.autoencoder("mlp", seed=s)
        torch.testing.assert_close(out[m], f(x[m]), rtol=1e-5, atol=1e-6)
        g = S.member(m)
        assert isinstance(g, torch.nn.Sequential)
        torch.testing.assert_close(g(x[m]), f(x[m]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expects shape"):
        S(torch.randn(2, 7, 64))
    with pytest.raises(ValueError, match="member index"):
        S.member(3)
    G, D = digits.stacked_gan_pairs((0, 1))
    assert G(torch.randn(2, 5, 32)).shape == (2, 5, 64) and D(torch.randn(2, 5, 64)).shape == (2, 5, 1)


def test_stacked_sequential_rejects_mixed_architectures():
    with pytest.raises(ValueError, match="layers"):
        ensemble.EnsembleMLP.stack([nets.mlp(2, 2, depth=1), nets.mlp(2, 2, depth=2)])
    with pytest.raises(ValueError, match="at least one"):
        ensemble.EnsembleMLP.stack([])


@pytest.mark.parametrize("clamp", [None, 0.05, 1.0])
def test_ensemble_terms_equal_ign_loss_member_by_member(clamp):
    seeds = (0, 1)
    S = digits.stacked_autoencoders(seeds, hidden=16, latent=4)
    gen = torch.Generator().manual_seed(0)
    x, z = torch.randn(2, 9, 64, generator=gen), torch.randn(2, 9, 64, generator=gen)
    lam_t = torch.tensor([0.3, 1.0])
    cl = torch.tensor([float("nan") if clamp is None else clamp] * 2)
    terms = ign.ensemble_ign_terms(S, x, z, torch.ones(2), torch.tensor([1.0, 0.5]), lam_t, cl)
    grads = torch.autograd.grad(terms["total"].sum(), list(S.weights) + list(S.biases))
    for m, s in enumerate(seeds):
        f = digits.autoencoder("mlp", hidden=16, latent=4, seed=s)
        ref = ign.ign_loss(f, x[m], z[m], lam_rec=1.0, lam_idem=[1.0, 0.5][m], lam_tight=float(lam_t[m]),
                           clamp=clamp)
        for k in ("rec", "idem", "tight", "tight_used", "total"):
            torch.testing.assert_close(terms[k][m], ref[k], rtol=1e-5, atol=1e-6)
        g_ref = torch.autograd.grad(ref["total"], list(f.parameters()))
        lin = [p for p in f.parameters()]
        # f's parameters come as (weight, bias) pairs per linear layer
        for j in range(len(S.weights)):
            torch.testing.assert_close(grads[j][m], g_ref[2 * j].T, rtol=1e-4, atol=1e-6)
            torch.testing.assert_close(grads[len(S.weights) + j][m, 0], g_ref[2 * j + 1], rtol=1e-4, atol=1e-6)
        assert len(lin) == 2 * len(S.weights)


def test_train_ign_ensemble_runs_logs_and_validates():
    x, _ = data.digits()
    S = digits.stacked_autoencoders((0, 1), hidden=16, latent=4)
    seen = []
    run = ign.train_ign_ensemble(S, digits.sampler(x), steps=6, batch=8, log_every=3, eval_batch=16,
                                 lam_tight=[1.0, 0.1], clamp=[1.0, None], callback=lambda s, f: seen.append(s))
    assert run.history["step"] == [0, 3, 5] and seen == [0, 3, 5]
    assert len(run.history["rec_rms"][0]) == 2 and run.diverged == [None, None]
    assert run.settings[1] == dict(lam_rec=1.0, lam_idem=1.0, lam_tight=0.1, clamp=None)
    assert run.member(0)(x[:3]).shape == (3, 64)
    with pytest.raises(ValueError, match="one value per member"):
        ign.train_ign_ensemble(S, digits.sampler(x), steps=1, lam_tight=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="on_divergence"):
        ign.train_ign_ensemble(S, digits.sampler(x), steps=1, on_divergence="ignore")
    with pytest.raises(ValueError, match="n_members"):
        ign.train_ign_ensemble(digits.autoencoder("mlp"), digits.sampler(x), steps=1)


def test_train_ign_ensemble_divergence_raise_and_record():
    x, _ = data.digits()
    S = digits.stacked_autoencoders((0, 1), hidden=16, latent=4)
    with torch.no_grad():
        S.weights[0][1].fill_(float("nan"))      # member 1 is broken from the start
    with pytest.raises(DivergenceError, match="member 1"):
        ign.train_ign_ensemble(S, digits.sampler(x), steps=2, batch=4, eval_batch=4)
    run = ign.train_ign_ensemble(S, digits.sampler(x), steps=3, batch=4, eval_batch=4, on_divergence="record")
    assert run.diverged == [0, None] or run.diverged[1] == 0
    assert run.diverged[0] is None and all(torch.isfinite(w[0]).all() for w in S.weights)


def test_train_ign_defaults_are_the_recipe():
    import inspect

    for fn in (ign.train_ign, ign.train_ign_ensemble):
        sig = inspect.signature(fn)
        for k, v in ign.RECIPE.items():
            assert sig.parameters[k].default == v, (fn.__name__, k)
    assert ign.LISTING["lam_tight"] == 0.1 and ign.LISTING["clamp"] is None


def test_train_gan_stacked_matches_single_losses_and_r1():
    G, D = digits.stacked_gan_pairs((0, 1), hidden=16, latent=4)
    x, _ = data.digits()
    run = train.train_gan_stacked(G, D, digits.sampler(x), z_dim=4, steps=4, batch=8, r1=[0.0, 1.0],
                                     log_every=2)
    assert run.history["step"] == [0, 2, 3] and len(run.history["d_loss"][0]) == 2
    # the per-member R1 term is the single-network zero-centred penalty
    xs = torch.randn(2, 5, 64)
    xr = xs.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(D(xr).sum(), xr)
    for m in range(2):
        ref = losses.zero_centred_penalty(D.member(m), xs[m])
        torch.testing.assert_close(g[m].pow(2).sum(-1).mean(), ref.detach(), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="members"):
        train.train_gan_stacked(G, digits.stacked_gan_pairs((0,), hidden=16, latent=4)[1],
                                   digits.sampler(x), z_dim=4, steps=1)


def test_blends_mix_two_different_digits():
    x, y = data.digits()
    b = digits.blends(x, y, 50, seed=1)
    assert b.shape == (50, 64)
    assert float(digits.sharpness(b).mean()) < float(digits.sharpness(x).mean())


def test_vmap_ensemble_members_and_training_step():
    nets_ = [digits.autoencoder("conv", ch=4, latent=8, seed=s) for s in (0, 1)]
    V = ensemble.VmapEnsemble(nets_)
    x = torch.randn(2, 3, 64)
    out = V(x)
    for m in range(2):
        torch.testing.assert_close(out[m], nets_[m](x[m]), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(V.member(m)(x[m]), nets_[m](x[m]), rtol=1e-5, atol=1e-6)
    xs, _ = data.digits()
    run = ign.train_ign_ensemble(V, digits.sampler(xs), steps=2, batch=4, eval_batch=4, log_every=1)
    assert run.history["step"] == [0, 1]
    with pytest.raises(ValueError, match="expects shape"):
        V(torch.randn(3, 3, 64))


def test_score_samples_flags_constant_output():
    x, _ = data.digits()
    same = x[:1].expand(100, -1)
    sc = metrics.score_samples(same, x)
    assert sc.coverage == 1 and sc.diversity == 0.0 and sc.nearest == 0.0
    real = metrics.score_samples(x[:500], x)
    assert real.coverage == 10 and 0.9 < real.diversity < 1.1 and 0.9 < real.sharpness < 1.1


# --- equivalence: a member trained in a batch is the member trained alone --------------------

# Tolerances (largest parameter difference). A member of a batch against the same member in a
# batch of one: ATOL_BATCH (measured: 0.0 for IGN, below 1e-7 for the GAN). Against the
# single-network path (train_ign / train_gan: nn.Linear instead of torch.baddbmm or vmap, so
# float32 rounding differs) after STEPS Adam steps: ATOL_SINGLE (measured: at most 1.0e-6 for IGN,
# 2e-7 for the VmapEnsemble conv nets after 5 steps, 5.3e-7 for the GAN).
ATOL_BATCH = 1e-6
ATOL_SINGLE = 1e-4
STEPS = 30


def _max_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max(float((p - q).detach().abs().max()) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("axis", ["weights", "clamp"])
def test_ign_member_in_a_batch_equals_the_member_alone(axis):
    """Batched over the loss weights or over the clamp: each member is its own train_ign run."""
    x, _ = data.digits(seed=0)
    sr = digits.sampler(x)
    seeds, streams = (3, 4, 5), [10, 11, 12]
    kw = dict(lam_idem=[1.0, 0.5, 1.0], lam_tight=[1.0, 0.3, 0.7], clamp=1.0) if axis == "weights" else \
        dict(lam_tight=1.0, clamp=[None, 1.0, 1.5])
    opts = dict(steps=STEPS, batch=16, eval_batch=32, lr=1e-3, log_every=10)
    run = ign.train_ign_ensemble(digits.stacked_autoencoders(seeds, hidden=32, latent=8), sr, seeds=streams,
                                 **kw, **opts)
    for m, s in enumerate(seeds):
        one = {k: (v[m] if isinstance(v, list) else v) for k, v in kw.items()}
        alone = ign.train_ign_ensemble(digits.stacked_autoencoders([s], hidden=32, latent=8), sr,
                                       seeds=[streams[m]], **one, **opts)
        assert _max_diff(run.member(m), alone.member(0)) <= ATOL_BATCH
        assert run.history["rec_rms"][-1][m] == pytest.approx(alone.history["rec_rms"][-1][0], abs=1e-6)
        f = digits.autoencoder("mlp", hidden=32, latent=8, seed=s)
        single = ign.train_ign(f, sr, seed=streams[m], **one, **opts)
        assert _max_diff(run.member(m), f) <= ATOL_SINGLE
        assert run.history["rec_rms"][-1][m] == pytest.approx(single.history["rec_rms"][-1], abs=1e-4)


def test_ign_vmap_member_in_a_batch_equals_the_member_alone():
    """Batched over conv architectures' seeds (VmapEnsemble): each member is its own train_ign run."""
    x, _ = data.digits(seed=0)
    sr = digits.sampler(x)
    seeds = (0, 1)
    opts = dict(steps=5, batch=8, eval_batch=8, lr=1e-3, log_every=5, lam_tight=[1.0, 0.1], clamp=[1.0, None])
    V = ensemble.VmapEnsemble([digits.autoencoder("conv", ch=4, latent=8, seed=s) for s in seeds])
    run = ign.train_ign_ensemble(V, sr, seeds=[20, 21], **opts)
    for m, s in enumerate(seeds):
        f = digits.autoencoder("conv", ch=4, latent=8, seed=s)
        ign.train_ign(f, sr, seed=20 + m, **{k: (v[m] if isinstance(v, list) else v) for k, v in opts.items()})
        assert _max_diff(run.member(m), f) <= ATOL_SINGLE


def test_diverged_ign_member_does_not_move_at_all():
    """A member whose loss turns NaN is frozen: parameters and Adam moments stay exactly as they were."""
    x, _ = data.digits(seed=0)
    M, bad_from = 3, 4
    calls = {"n": 0}

    def sampler(n, gen):       # MemberStreams draws member 0, 1, 2 in turn: eval batch, then one per step
        i = calls["n"]
        calls["n"] += 1
        out = x[torch.randint(len(x), (n,), generator=gen)]
        return out * float("nan") if i % M == 1 and i // M - 1 >= bad_from else out

    snaps = {}

    def keep(step, f):
        snaps[step] = [p[1].clone() for p in f.parameters()]

    S = digits.stacked_autoencoders((0, 1, 2), hidden=16, latent=4)
    run = ign.train_ign_ensemble(S, sampler, steps=10, batch=8, eval_batch=8, log_every=1, callback=keep,
                                 on_divergence="record")
    assert run.diverged == [None, bad_from, None]
    for step in range(bad_from, 10):
        assert all(torch.equal(a, b) for a, b in zip(snaps[step], snaps[bad_from - 1]))
    assert not all(torch.equal(a, b) for a, b in zip(snaps[1], snaps[0]))    # it did train before
    assert all(torch.isfinite(p).all() for p in S.parameters())


@pytest.mark.parametrize("r1", [0.0, 1.0])
def test_gan_member_in_a_batch_equals_the_member_alone(r1):
    """train_gan_stacked (batched over seeds and R1): member m is train_gan(loss='ns') alone."""
    x, _ = data.digits(seed=0)
    sr = digits.sampler(x)
    opts = dict(z_dim=4, steps=STEPS, batch=16, lr_d=1e-3, lr_g=1e-3, betas=(0.5, 0.999))
    G, D = digits.stacked_gan_pairs((0, 1), hidden=16, latent=4)
    run = train.train_gan_stacked(G, D, sr, r1=[r1, 0.5], seeds=[7, 8], **opts)
    G1, D1 = digits.stacked_gan_pairs((0,), hidden=16, latent=4)
    alone = train.train_gan_stacked(G1, D1, sr, r1=r1, seeds=[7], **opts)
    assert _max_diff(run.G.member(0), alone.G.member(0)) <= ATOL_BATCH
    assert _max_diff(run.D.member(0), alone.D.member(0)) <= ATOL_BATCH
    g0, d0 = digits.gan_pair(hidden=16, latent=4, seed=0)
    train.train_gan(g0, d0, sr, loss="ns", r1=r1, seed=7, **opts)
    assert _max_diff(run.G.member(0), g0) <= ATOL_SINGLE and _max_diff(run.D.member(0), d0) <= ATOL_SINGLE
