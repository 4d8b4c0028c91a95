"""Tests for IGN runs side by side: stacked networks, per-member objectives, stacked GANs."""
from __future__ import annotations

import pytest
import torch

from gantools import data, digits, ensemble, ign, losses, nets, train
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

    sig = inspect.signature(ign.train_ign)
    for k, v in ign.RECIPE.items():
        assert sig.parameters[k].default == v, k
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
    sc = digits.score_samples(same, x)
    assert sc.coverage == 1 and sc.diversity == 0.0 and sc.nearest == 0.0
    real = digits.score_samples(x[:500], x)
    assert real.coverage == 10 and 0.9 < real.diversity < 1.1 and 0.9 < real.sharpness < 1.1
