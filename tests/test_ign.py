"""Tests for Part IV: single-loss WGAN, IGN's objective, digits tools."""
from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

from gantools import data, digits, ign, losses, metrics, nets
from gantools.train import DivergenceError



def _grads(loss: torch.Tensor, params) -> list[torch.Tensor]:
    return list(torch.autograd.grad(loss, list(params), allow_unused=False))


def _nets(seed=0):
    torch.manual_seed(seed)
    return nets.mlp(3, 2, hidden=16), nets.mlp(2, 1, hidden=16)


@pytest.mark.parametrize("form", ["sg", "functional", "deepcopy"])
def test_single_loss_gives_both_wgan_gradients(form):
    G, D = _nets()
    x, z = torch.randn(32, 2), torch.randn(32, 3)
    if form == "sg":
        s = losses.wgan_single_loss(D, G, x, z)
    else:
        s = losses.wgan_single_loss_copies(D, G, x, z, copy=form)
    ld = losses.d_loss("wgan", D(x), D(G(z).detach()))
    lg = losses.g_loss("wgan", D(G(z)))
    gs = _grads(s, list(D.parameters()) + list(G.parameters()))
    ref = _grads(ld, D.parameters()) + _grads(lg, G.parameters())
    for a, b in zip(gs, ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    if form == "sg":  # value of the stop-gradient form is the critic loss; copies: -D(x)
        torch.testing.assert_close(s, ld)
    else:
        torch.testing.assert_close(s, -D(x).mean())


def test_single_loss_rejects_unknown_copy_method():
    G, D = _nets()
    with pytest.raises(ValueError, match="functional"):
        losses.wgan_single_loss_copies(D, G, torch.randn(4, 2), torch.randn(4, 3), copy="clone")


@pytest.mark.parametrize("form", ["copy", "sg"])
def test_ign_loss_equals_single_gan_loss_with_delta_as_critic(form):
    torch.manual_seed(1)
    f = nets.mlp(4, 4, hidden=16)
    x, z = torch.randn(16, 4), torch.randn(16, 4)
    terms = ign.ign_loss(f, x, z, lam_rec=1, lam_idem=1, lam_tight=1, form=form)
    D, G = ign.ign_as_gan_parts(f)
    s = losses.wgan_single_loss_copies(D, G, x, z)
    s_sg = losses.wgan_single_loss(D, G, x, z)
    g1, g2, g3 = (_grads(t, f.parameters()) for t in (terms["total"], s, s_sg))
    for a, b, c in zip(g1, g2, g3):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(terms["total"], s)


def test_ign_terms_values_and_clamp_bound():
    torch.manual_seed(2)
    f = nets.mlp(3, 3, hidden=8)
    x, z = torch.randn(20, 3), torch.randn(20, 3)
    t = ign.ign_loss(f, x, z, clamp=0.5)
    with torch.no_grad():
        fz = f(z)
        torch.testing.assert_close(t["rec"], ((f(x) - x) ** 2).mean())
        torch.testing.assert_close(t["idem"], ((f(fz) - fz) ** 2).mean())
        torch.testing.assert_close(t["tight"], t["idem"])
    tu, tt, rec = (float(t[k].detach()) for k in ("tight_used", "tight", "rec"))
    assert tu <= 0.5 * rec + 1e-6 and tu <= tt + 1e-6


def test_ign_bad_input():
    f = nets.mlp(3, 3)
    with pytest.raises(ValueError, match="per-sample shape"):
        ign.ign_loss(f, torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="IGN form"):
        ign.ign_loss(f, torch.randn(4, 3), torch.randn(4, 3), form="nope")
    with pytest.raises(ValueError, match="clamp"):
        ign.ign_loss(f, torch.randn(4, 3), torch.randn(4, 3), clamp=1.0, form="sg")
    with pytest.raises(ValueError, match="shape"):
        ign.ign_loss(f, torch.randn(3), torch.randn(3))


def test_train_ign_runs_and_detects_divergence():
    torch.manual_seed(0)
    f = nets.mlp(2, 2, hidden=16)
    run = ign.train_ign(f, lambda n, g: data.sample("8gaussians", n, seed=g), steps=30, batch=32,
                        log_every=10, seed=0)
    assert run.history["step"][-1] == 29 and len(run.history["idem_rms"]) == 4
    bad = nets.mlp(2, 2, hidden=16)
    with torch.no_grad():
        bad[0].weight.fill_(float("nan"))
    with pytest.raises(DivergenceError, match="IGN loss"):
        ign.train_ign(bad, lambda n, g: data.sample("8gaussians", n, seed=g), steps=3, batch=8, seed=0)


def test_apply_n_orbit():
    f = nn.Identity()
    z = torch.randn(5, 2)
    orb = ign.apply_n(f, z, 3)
    assert len(orb) == 4 and all(torch.equal(o, z) for o in orb)
    assert ign.idempotence_error(f, z) == 0.0


def test_digits_data_and_scores():
    x, y = data.digits()
    assert x.shape == (1797, 64) and y.shape == (1797,)
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    xs, ys = data.digits(seed=0)
    assert not torch.equal(xs, x) and torch.equal(torch.sort(ys).values, torch.sort(y).values)
    assert digits.classifier_accuracy() > 0.93
    s = metrics.digit_scores(x)
    assert s.coverage == 10 and s.mean_confidence > 0.9 and s.confident_fraction > 0.9
    one = metrics.digit_scores(x[y == 3][:50])
    assert one.coverage == 1 and one.class_fractions[3] > 0.9
    with pytest.raises(ValueError, match="shape"):
        metrics.digit_scores(torch.zeros(4, 10))


def test_sharpness_drops_under_blur():
    x, _ = data.digits()
    blur = torch.nn.functional.avg_pool2d(x.reshape(-1, 1, 8, 8), 3, 1, 1, count_include_pad=False)
    assert float(digits.sharpness(blur).mean()) < 0.5 * float(digits.sharpness(x).mean())
    assert float(digits.sharpness(torch.zeros(2, 64)).max()) == 0.0


def test_principal_projection_tells_edges_from_pixel_noise():
    x, _ = data.digits()
    p = digits.principal_projection(x)
    assert torch.allclose(digits.principal_projection(p), p, atol=1e-4)          # a projection
    _, s, _ = torch.linalg.svd(x - x.mean(0), full_matrices=False)
    assert 0.70 < float((s[:10] ** 2).sum() / (s ** 2).sum()) < 0.78             # the docstring's 74%
    noisy = x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    blur = torch.nn.functional.avg_pool2d(x.reshape(-1, 1, 8, 8), 3, 1, 1, count_include_pad=False)

    def sharp(y, proj):
        return float(digits.sharpness(digits.principal_projection(y) if proj else y).mean())

    assert sharp(noisy, False) > 1.25 * sharp(x, False)           # raw sharpness rises with noise ...
    assert sharp(noisy, True) < 1.08 * sharp(x, True)             # ... projected sharpness hardly moves
    assert sharp(blur, True) < 0.7 * sharp(x, True)               # and it still falls under blur
    with pytest.raises(ValueError, match="k"):
        digits.principal_projection(x, k=65)


@pytest.mark.parametrize("arch", digits.ARCHITECTURES)
def test_autoencoders_map_images_to_images(arch):
    f = digits.autoencoder(arch, seed=0)
    out = f(torch.randn(3, 64))
    assert out.shape == (3, 64) and float(out.detach().abs().max()) <= 1.0
    f2 = digits.autoencoder(arch, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(f.parameters(), f2.parameters()))
    with pytest.raises(ValueError, match="architecture"):
        digits.autoencoder("resnet")


def test_gan_pair_matches_autoencoder_size():
    G, D = digits.gan_pair()
    f = digits.autoencoder("mlp")
    ratio = (nets.n_params(G) + nets.n_params(D)) / nets.n_params(f)
    assert 0.75 < ratio < 1.0


def test_sampler_and_nearest():
    x, _ = data.digits()
    draw = digits.sampler(x[:10])
    b = draw(7, torch.Generator().manual_seed(0))
    assert b.shape == (7, 64)
    assert float(digits.nearest_real_distance(b, x[:10]).max()) == 0.0
    with pytest.raises(ValueError, match="shape"):
        digits.sampler(torch.zeros(3, 5))


def test_confidence_bar_is_set_by_real_test_digits():
    """The bar kappa: most held-out real digits clear it, and those are classified correctly."""
    x, y = data.digits(seed=1234)          # the classifier trained on the first 1500 of these
    bar = inspect.signature(metrics.digit_scores).parameters["min_confidence"].default
    p = digits.predict_proba(x[1500:])
    conf, pred = p.max(1)
    sure = conf >= bar
    assert float(sure.float().mean()) >= 0.9
    assert float((pred[sure] == y[1500:][sure]).float().mean()) >= 0.99
    assert metrics.digit_scores(x[1500:]).coverage == 10


def test_confident_coverage_rejects_noise():
    """Without the bar pixel noise 'covers' nine or ten classes; with it, few; real digits cover all ten."""
    x, y = data.digits()
    gen = torch.Generator().manual_seed(0)
    noise = {"uniform": torch.rand(1000, 64, generator=gen) * 2 - 1,
             "tanh gaussian": torch.tanh(torch.randn(1000, 64, generator=gen)),
             "clamped gaussian": torch.randn(1000, 64, generator=gen).clamp(-1, 1)}
    for name, imgs in noise.items():
        assert metrics.digit_scores(imgs, min_confidence=0.0).coverage >= 9, name
        assert metrics.digit_scores(imgs).coverage <= 3, name
        assert metrics.digit_scores(imgs).confident_fraction < 0.2, name
    real = metrics.digit_scores(x[:1000])
    assert real.coverage == 10 and real.confident_fraction > 0.9
    blend = metrics.digit_scores(digits.blends(x, y, 1000, seed=1))   # blends: not rejected as a class, but
    assert blend.confident_fraction < 0.5 * real.confident_fraction    # far fewer clear the bar
    with pytest.raises(ValueError, match="min_confidence"):
        metrics.digit_scores(x[:10], min_confidence=1.0)


def test_critic_gradient_norms_match_autograd_and_scale_with_the_residual():
    torch.manual_seed(0)
    f = nets.mlp(4, 4, hidden=16, depth=2)
    y = torch.randn(5, 4)
    delta, norm = ign.critic_gradient_norms(f, y)
    for i in range(5):
        d = ign.reconstruction_error(f, y[i:i + 1])[0]
        g = torch.autograd.grad(d, list(f.parameters()))
        assert torch.allclose(delta[i], d.detach(), atol=1e-6)
        assert torch.allclose(norm[i], torch.sqrt(sum((t ** 2).sum() for t in g)), rtol=1e-4)
    lin = torch.nn.Linear(4, 4, bias=False)          # f(y) = A y: grad = (2/d)(Ay - y) y^T, norm = 2 sqrt(delta/d) |y|
    delta, norm = ign.critic_gradient_norms(lin, y)
    assert torch.allclose(norm, 2 * (delta / 4).sqrt() * y.norm(dim=1), rtol=1e-4)
    with pytest.raises(ValueError, match="y"):
        ign.critic_gradient_norms(f, torch.zeros(0, 4))
