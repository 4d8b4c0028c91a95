"""Unit tests of gantools.energy (grid likelihood, phases, EnGAN training, latent densities)
and of gantools.nets.EnsembleMLP."""
from __future__ import annotations

import math

import pytest
import torch

from gantools import data
from gantools import energy as en
from gantools.nets import EnsembleMLP, mlp
from gantools.train import DivergenceError



CENTERS = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])


def test_mixture_energy_is_normalised_on_the_grid():
    U = en.mixture_energy(CENTERS, 0.3)
    assert abs(en.log_partition(U, 2.5, 96).item()) < 1e-3
    # and equals the Gaussian-mixture log-density
    x = torch.randn(7, 2)
    comps = torch.distributions.MultivariateNormal(CENTERS, 0.09 * torch.eye(2).expand(3, 2, 2))
    ref = torch.logsumexp(comps.log_prob(x[:, None, :]), 1) - math.log(3)
    assert torch.allclose(-U(x), ref, atol=1e-5)


def test_log_partition_of_a_gaussian_energy():
    # U = |x|^2 / (2 s^2): Z = 2π s^2
    s = 0.4
    Z = en.log_partition(lambda x: x.pow(2).sum(1) / (2 * s * s), 2.5, 128)
    assert abs(Z.item() - math.log(2 * math.pi * s * s)) < 1e-3


def test_phase_gradient_equals_autograd_of_exact_nll():
    torch.manual_seed(0)
    U = mlp(2, 1, hidden=16, depth=2, act="silu")
    x = en.sample_mixture(CENTERS, 0.3, 300, seed=0)
    auto = torch.autograd.grad(en.exact_nll(U, x, 2.0, 48), list(U.parameters()))
    pts, w = en.grid_density(U, 2.0, 48)
    phase = en.phase_gradients(U, x, pts, w)
    for a, b in zip(auto, phase):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)


def test_grid_sample_follows_the_grid_density():
    U = en.mixture_energy(CENTERS, 0.3)
    x = en.grid_sample(U, 20000, 2.5, 64, seed=0)
    ref = en.sample_mixture(CENTERS, 0.3, 20000, seed=1)
    assert torch.allclose(x.mean(0), ref.mean(0), atol=0.03)
    assert torch.allclose(x.std(0), ref.std(0), atol=0.03)


def test_fit_energy_exact_lowers_the_nll_and_rejects_unknown_phase():
    torch.manual_seed(0)
    x = en.sample_mixture(CENTERS, 0.3, 500, seed=0)
    fit = en.fit_energy(mlp(2, 1, hidden=16, depth=2, act="silu"), x, negative="exact", steps=60,
                        lim=2.5, n_grid=32, log_every=30)
    assert fit.nll[-1] < fit.nll[0] - 0.3
    with pytest.raises(ValueError, match="exact"):
        en.fit_energy(mlp(2, 1), x, negative="mcmc", steps=1)


def test_jsd_bound_is_maximised_by_the_log_ratio():
    # for T = log-density ratio the estimator equals 2 JS - 2 log 2 <= 0, and random T gives less
    t_joint, t_marg = torch.full((10,), 3.0), torch.full((10,), -3.0)
    good = en.jsd_mi_lower_bound(t_joint, t_marg)
    bad = en.jsd_mi_lower_bound(-t_joint, -t_marg)
    assert good > bad and good <= 0


def test_ensemble_members_are_independent_and_match_mlp():
    net = EnsembleMLP(3, 2, 1, hidden=8, depth=2, seeds=[5, 6, 7])
    x = torch.randn(3, 4, 2)
    y = net(x)
    for i in range(3):
        assert torch.allclose(net.member(i)(x[i]), y[i], atol=1e-6)
    # the gradient of member 0's output touches only member 0's slice of the weights
    y[0].sum().backward()
    assert net.weights[0].grad[1:].abs().sum() == 0 and net.weights[0].grad[0].abs().sum() > 0
    # same seed -> same initial weights
    other = EnsembleMLP(1, 2, 1, hidden=8, depth=2, seeds=[6])
    assert torch.equal(other.weights[0][0], net.weights[0][1])
    with pytest.raises(ValueError, match=r"\(3, batch, 2\)"):
        net(torch.randn(4, 2))


def test_train_engan_members_equal_solo_runs():
    kw = dict(steps=15, hidden=16, depth=1, batch=32, log_every=5)
    sampler = lambda n, g: data.sample("8gaussians", n, seed=g)
    both = en.train_engan(sampler, treatments=["none", "jsd"], seeds=[0, 1], **kw)
    solo = en.train_engan(sampler, treatments=["jsd"], seeds=[1], **kw)
    z = torch.randn(50, 2)
    with torch.no_grad():
        a = both.generator(both.index("jsd", 1))(z)
        b = solo.generator(0)(z)
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
    assert both.labels == [("none", 0), ("none", 1), ("jsd", 0), ("jsd", 1)]
    stats = en.engan_mode_stats(both, "8gaussians", n=200)
    assert set(stats) == set(both.labels)


def test_train_engan_validates_and_detects_divergence():
    sampler = lambda n, g: data.sample("8gaussians", n, seed=g)
    with pytest.raises(ValueError, match="infogan"):
        en.train_engan(sampler, treatments=["entropy"], steps=1)
    with pytest.raises(DivergenceError, match="loss"):
        en.train_engan(lambda n, g: torch.full((n, 2), float("nan")), treatments=["none"], steps=2,
                       hidden=8, depth=1, batch=8)


def test_latent_log_density_and_jacobian():
    A = torch.tensor([[2.0, 0.5], [0.0, 1.5]])
    G = lambda z: torch.tanh(z) + z @ A.T
    z = torch.randn(20, 2)
    from torch.func import jacrev, vmap
    J = vmap(jacrev(lambda v: G(v[None])[0]))(z)
    assert torch.allclose(en.log_abs_det_jacobian(G, z), torch.linalg.slogdet(J)[1], atol=1e-5)
    U = en.mixture_energy(CENTERS, 0.5)
    diff = en.latent_log_density(U, G, z) - en.latent_log_density(U, G, z, jacobian=False)
    assert torch.allclose(diff, en.log_abs_det_jacobian(G, z), atol=1e-5)
    with pytest.raises(ValueError, match="R\\^d to R\\^d"):
        en.log_abs_det_jacobian(lambda v: v.sum(1, keepdim=True).expand(-1, 3), z)


def test_shape_errors():
    U = en.mixture_energy(CENTERS, 0.3)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        en.exact_nll(U, torch.zeros(5, 3))
    with pytest.raises(ValueError, match="shape"):
        en.log_partition(lambda x: x, 1.0, 8)
