"""Unit tests of the shared modules: data, metrics, nets, losses, train, utils."""
import math

import pytest
import torch

from gantools import data, losses, metrics, nets, train


# ----------------------------------------------------------------------------- data
@pytest.mark.parametrize("name", data.TOY_DATASETS)
def test_toy_samples_are_seeded_and_shaped(name):
    a, b = data.sample(name, 500, seed=3), data.sample(name, 500, seed=3)
    assert a.shape == (500, 2) and a.dtype == torch.float32
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, data.sample(name, 500, seed=4))


@pytest.mark.parametrize("name,k,radius", [("8gaussians", 8, 2 / 1.414), ("25gaussians", 25, None)])
def test_mixture_geometry(name, k, radius):
    c = data.mode_centers(name)
    assert c.shape == (k, 2)
    if radius is not None:
        torch.testing.assert_close(c.norm(dim=1), torch.full((k,), radius))
    x = data.sample(name, 20_000, seed=0)
    nearest = torch.cdist(x, c).argmin(1)
    within = (x - c[nearest]).norm(dim=1) < 3 * data.mode_sigma(name) * 1.5
    assert within.float().mean() > 0.99
    counts = torch.bincount(nearest, minlength=k).float() / len(x)
    assert float((counts - 1 / k).abs().max()) < 0.02


def test_data_bad_input():
    with pytest.raises(ValueError, match="expected one of"):
        data.sample("moons", 10)
    with pytest.raises(ValueError, match="mixture"):
        data.mode_centers("swissroll")
    with pytest.raises(ValueError, match=">= 1"):
        data.sample("8gaussians", 0)
    with pytest.raises(TypeError):
        data.sample("8gaussians", 10, seed="x")


# ----------------------------------------------------------------------------- metrics
def test_mode_stats_perfect_and_collapsed():
    name = "25gaussians"
    c, s = data.mode_centers(name), data.mode_sigma(name)
    good = metrics.mode_stats(data.sample(name, 5000, seed=0), c, s, min_count=20)
    assert good.modes_captured == 25 and good.high_quality_fraction > 0.98 and good.kl_to_uniform < 0.02
    collapsed = metrics.mode_stats(c[3] + 0.001 * torch.randn(1000, 2), c, s)
    assert collapsed.modes_captured == 1 and collapsed.kl_to_uniform == pytest.approx(math.log(25), rel=1e-6)
    far = metrics.mode_stats(torch.full((100, 2), 10.0), c, s)
    assert far.high_quality_fraction == 0.0 and far.modes_captured == 0


def test_w2_exact_on_shift_and_permutation():
    x = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    assert metrics.w2(x, x[torch.randperm(200)]) == pytest.approx(0.0, abs=1e-12)
    assert metrics.w2(x, x + torch.tensor([3.0, 4.0])) == pytest.approx(5.0, rel=1e-6)
    with pytest.raises(ValueError, match="equal-size"):
        metrics.w2(x, x[:10])


def test_mmd_separates_distributions():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(500, 2, generator=g), torch.randn(500, 2, generator=g)
    assert abs(metrics.mmd(a, b)) < 0.02
    assert metrics.mmd(a, b + 1.0) > 0.2


@pytest.mark.parametrize("bad,match", [(torch.zeros(5), "shape"), (torch.full((3, 2), float("nan")), "finite")])
def test_metrics_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        metrics.w2(bad, bad)


# ----------------------------------------------------------------------------- nets, losses
def test_mlp_shapes_and_bad_activation():
    net = nets.mlp(3, 5, hidden=16, depth=3, act="tanh")
    assert net(torch.zeros(7, 3)).shape == (7, 5)
    assert nets.n_params(net) == 3 * 16 + 16 + 2 * (16 * 16 + 16) + 16 * 5 + 5
    with pytest.raises(ValueError, match="expected one of"):
        nets.mlp(2, 2, act="gelu2")


def test_gan_losses_match_definitions():
    d_real, d_fake = torch.tensor([0.3, -1.0]), torch.tensor([2.0, -0.5])
    sp = torch.nn.functional.softplus
    torch.testing.assert_close(losses.d_loss("ns", d_real, d_fake), sp(-d_real).mean() + sp(d_fake).mean())
    torch.testing.assert_close(losses.g_loss("ns", d_fake), -torch.log(torch.sigmoid(d_fake)).mean())
    torch.testing.assert_close(losses.g_loss("saturating", d_fake), torch.log(1 - torch.sigmoid(d_fake)).mean())
    torch.testing.assert_close(losses.d_loss("wgan", d_real, d_fake), d_fake.mean() - d_real.mean())
    with pytest.raises(ValueError, match="expected one of"):
        losses.g_loss("lsgan", d_fake)


def test_zero_centred_penalty_of_a_linear_critic():
    D = torch.nn.Linear(2, 1)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([[3.0, 4.0]]))
    pen = losses.zero_centred_penalty(D, torch.randn(10, 2))
    assert float(pen) == pytest.approx(25.0)
    pen.backward()
    torch.testing.assert_close(D.weight.grad, torch.tensor([[6.0, 8.0]]))


# ----------------------------------------------------------------------------- train
def test_ema_model_follows_the_recursion():
    net = torch.nn.Linear(1, 1, bias=False)
    avg = train.ema_model(net, 0.9)
    ws = [1.0, 2.0, 4.0]
    ref = None
    for w in ws:
        with torch.no_grad():
            net.weight.fill_(w)
        avg.update_parameters(net)
        ref = w if ref is None else 0.9 * ref + 0.1 * w
    assert float(avg.module.weight) == pytest.approx(ref)
    with pytest.raises(ValueError):
        train.ema_model(net, 1.0)


def test_train_gan_runs_and_reports_divergence():
    torch.manual_seed(0)
    G, D = nets.mlp(2, 2, hidden=8, depth=1), nets.mlp(2, 1, hidden=8, depth=1)
    run = train.train_gan(G, D, lambda n, g: data.sample("8gaussians", n, seed=g), z_dim=2, steps=20,
                          batch=32, ema_decays=(0.9,), seed=0, log_every=5, r1=0.1, l2=1e-3)
    assert run.history["step"] == [0, 5, 10, 15, 19] and 0.9 in run.emas
    with pytest.raises(train.DivergenceError, match="discriminator loss at step 0"):
        train.train_gan(G, D, lambda n, g: torch.full((n, 2), float("nan")), z_dim=2, steps=3, batch=8)


# train_gan_stacked: a member trained in a batch is the member trained alone. Tolerances, after
# GAN_STEPS steps: against the same member in a batch of one (the same kernels; a batch of 3
# against 1 can round differently in float32) STACKED_ATOL (measured: 6e-8 on parameters of size
# up to 0.7); against train.train_gan (nn.Linear instead of torch.baddbmm, torch.optim.Adam instead
# of MemberOptimizer) SINGLE_ATOL (measured: 5.4e-7 on the parameters, 3e-6 on the EMA's outputs).
STACKED_ATOL = 1e-6
SINGLE_ATOL = 1e-4
GAN_STEPS = 30


def _toy(n, g):
    return data.sample("8gaussians", n, seed=g)


def _max_param_diff(a, b) -> float:
    return max(float((p - q).detach().abs().max()) for p, q in zip(a.parameters(), b.parameters()))


def _pair(init_seeds):
    from gantools.ensemble import EnsembleMLP

    return (EnsembleMLP(len(init_seeds), 2, 2, hidden=16, depth=2, seeds=[100 + s for s in init_seeds]),
            EnsembleMLP(len(init_seeds), 2, 1, hidden=16, depth=2, seeds=[200 + s for s in init_seeds]))


def test_stacked_gan_member_equals_member_alone_for_every_axis():
    """Batched over l2, r1, learning rates and seeds, with EMAs: member m is its own run."""
    opts = dict(z_dim=2, steps=GAN_STEPS, batch=32, betas=(0.5, 0.999), ema_decays=(0.9,), log_every=10)
    l2, r1, lr_d, seeds = [0.0, 0.1, 1e-2], [0.0, 0.0, 0.5], [1e-3, 2e-3, 1e-3], [7, 8, 7]
    G, D = _pair([0, 1, 2])
    run = train.train_gan_stacked(G, D, _toy, l2=l2, r1=r1, lr_d=lr_d, lr_g=1e-3, seeds=seeds, **opts)
    for m in range(3):
        G1, D1 = _pair([m])
        alone = train.train_gan_stacked(G1, D1, _toy, l2=l2[m], r1=r1[m], lr_d=lr_d[m], lr_g=1e-3,
                                        seeds=[seeds[m]], **opts)
        assert _max_param_diff(run.G.member(m), alone.G.member(0)) <= STACKED_ATOL
        assert _max_param_diff(run.D.member(m), alone.D.member(0)) <= STACKED_ATOL
        z = torch.randn(1, 50, 2)
        torch.testing.assert_close(run.emas[0.9](z.expand(3, -1, -1))[m], alone.emas[0.9](z)[0],
                                   atol=STACKED_ATOL, rtol=0)
        assert run.history["d_loss"][-1][m] == pytest.approx(alone.history["d_loss"][-1][0], abs=1e-5)


@pytest.mark.parametrize("loss", losses.GAN_LOSSES)
def test_stacked_gan_of_one_member_is_train_gan(loss):
    """One member of train_gan_stacked with l2, r1 and an EMA is train.train_gan alone, for every loss."""
    opts = dict(z_dim=2, steps=GAN_STEPS, batch=32, lr_d=2e-3, lr_g=1e-3, betas=(0.5, 0.999), ema_decays=(0.9,))
    G, D = _pair([4])
    g0, d0 = G.member(0), D.member(0)
    run = train.train_gan_stacked(G, D, _toy, loss=loss, l2=0.05, r1=0.2, seeds=[11], **opts)
    single = train.train_gan(g0, d0, _toy, loss=loss, l2=0.05, r1=0.2, seed=11, **opts)
    assert _max_param_diff(run.G.member(0), g0) <= SINGLE_ATOL
    assert _max_param_diff(run.D.member(0), d0) <= SINGLE_ATOL
    z = torch.randn(50, 2)
    torch.testing.assert_close(run.emas[0.9](z[None])[0], single.emas[0.9](z), atol=SINGLE_ATOL, rtol=0)


def test_stacked_gan_rejects_bad_settings():
    G, D = _pair([0, 1])
    with pytest.raises(ValueError, match="l2"):
        train.train_gan_stacked(G, D, _toy, z_dim=2, steps=1, l2=[0.1, -1.0])
    with pytest.raises(ValueError, match="r1"):
        train.train_gan_stacked(G, D, _toy, z_dim=2, steps=1, r1=[0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="seeds"):
        train.train_gan_stacked(G, D, _toy, z_dim=2, steps=1, seeds=[1])
    with pytest.raises(ValueError, match="lr_d"):
        train.train_gan_stacked(G, D, _toy, z_dim=2, steps=1, lr_d=float("nan"))
    with pytest.raises(ValueError, match="members"):
        train.train_gan_stacked(G, _pair([0])[1], _toy, z_dim=2, steps=1)
    with pytest.raises(ValueError, match="hinge"):
        train.train_gan_stacked(G, D, _toy, z_dim=2, steps=1, loss="nope")


def test_member_losses_are_each_members_own():
    """d_loss / g_loss / penalty_at with members=True equal the single-network forms per member."""
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(3, 10, 1, generator=g), torch.randn(3, 12, 1, generator=g)
    for name in losses.GAN_LOSSES:
        per = losses.d_loss(name, real, fake, members=True)
        torch.testing.assert_close(per, torch.stack([losses.d_loss(name, real[m], fake[m]) for m in range(3)]))
        per = losses.g_loss(name, fake, members=True)
        torch.testing.assert_close(per, torch.stack([losses.g_loss(name, fake[m]) for m in range(3)]))
    G, D = _pair([0, 1, 2])
    x = torch.randn(3, 10, 2, generator=g).requires_grad_(True)
    per = losses.penalty_at(D(x), x, members=True)
    want = torch.stack([losses.zero_centred_penalty(D.member(m), x[m]) for m in range(3)])
    torch.testing.assert_close(per, want, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="members"):
        losses.g_loss("ns", torch.zeros(4), members=True)


def test_weighted_mmd_reduces_to_unweighted_and_reweights():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(300, 2, generator=g), torch.randn(300, 2, generator=g)
    assert metrics.mmd(a, b, weights=torch.ones(300)) == pytest.approx(metrics.mmd(a, b), rel=1e-10)
    # a mixture of two clusters reweighted onto one cluster matches that cluster
    x = torch.cat([torch.randn(300, 2, generator=g) - 3, torch.randn(300, 2, generator=g) + 3])
    w = torch.cat([torch.zeros(300), torch.ones(300)])
    target = torch.randn(300, 2, generator=g) + 3
    assert metrics.mmd(x, target, weights=w) < 0.05 < metrics.mmd(x, target)
    with pytest.raises(ValueError, match="weights"):
        metrics.mmd(a, b, weights=-torch.ones(300))
