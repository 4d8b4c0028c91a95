"""Unit tests of gantools.mcmc: Langevin and MALA on a known Gaussian energy."""
from __future__ import annotations

import math

import pytest
import torch

from gantools import mcmc
from gantools.train import DivergenceError



MEAN = torch.tensor([1.0, -0.5])
COV = torch.tensor([[1.0, 0.6], [0.6, 0.8]])
PREC = torch.linalg.inv(COV)


def gauss_energy(z: torch.Tensor) -> torch.Tensor:
    """U(z) = (z - m)^T Σ^{-1} (z - m) / 2, so e^{-U} ∝ N(m, Σ)."""
    d = z - MEAN
    return 0.5 * ((d @ PREC) * d).sum(1)


def _moments(x: torch.Tensor):
    m = x.mean(0)
    c = (x - m).T @ (x - m) / (x.shape[0] - 1)
    return m, c


@pytest.mark.parametrize("sampler", ["langevin", "mala"])
def test_samplers_recover_gaussian_mean_and_covariance(sampler):
    z0 = torch.zeros(4000, 2)  # all chains start far from equilibrium spread
    if sampler == "langevin":
        z = mcmc.langevin(gauss_energy, z0, step=0.02, n_steps=400, seed=0)
        tol_c = 0.08  # ULA's O(step) bias plus Monte-Carlo error
    else:
        z, acc = mcmc.mala(gauss_energy, z0, step=0.3, n_steps=300, seed=0)
        assert 0.5 < acc < 1.0
        tol_c = 0.06
    m, c = _moments(z)
    assert torch.allclose(m, MEAN, atol=0.06), m
    assert torch.allclose(c, COV, atol=tol_c), c


def test_mala_acceptance_near_one_for_tiny_steps_and_falls_with_step():
    z0 = MEAN + torch.randn(2000, 2, generator=torch.Generator().manual_seed(1)) @ torch.linalg.cholesky(COV).T
    rates = [mcmc.mala(gauss_energy, z0, step=s, n_steps=20, seed=0)[1] for s in (1e-4, 0.1, 1.0, 3.0)]
    assert rates[0] > 0.995, rates
    assert all(a > b for a, b in zip(rates, rates[1:])), rates


def test_mala_is_exact_where_langevin_is_biased():
    # with a large step ULA's stationary covariance is visibly inflated; MALA's is not
    z0 = torch.zeros(4000, 2)
    z_ula = mcmc.langevin(gauss_energy, z0, step=0.5, n_steps=200, seed=0)
    (z_mala, _) = mcmc.mala(gauss_energy, z0, step=0.5, n_steps=200, seed=0)
    tr = torch.trace(COV)
    assert torch.trace(_moments(z_ula)[1]) > 1.15 * tr
    assert abs(torch.trace(_moments(z_mala)[1]) - tr) < 0.1 * tr


def test_mala_log_proposal_matches_gaussian_density():
    g = torch.Generator().manual_seed(0)
    z, zp, grad = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    eps = 0.3
    dist = torch.distributions.MultivariateNormal(z - 0.5 * eps * grad, eps * torch.eye(3))
    ref = dist.log_prob(zp)
    ours = mcmc.mala_log_proposal(zp, z, grad, eps)
    # equal up to the constant -d/2 log(2π ε)
    assert torch.allclose(ours - 1.5 * math.log(2 * math.pi * eps), ref, atol=1e-5)


def test_temperature_scales_the_covariance():
    z, _ = mcmc.mala(gauss_energy, torch.zeros(4000, 2), step=0.3, n_steps=300, temperature=0.25, seed=3)
    assert torch.allclose(_moments(z)[1], 0.25 * COV, atol=0.03)


def test_seed_determinism_and_path_shape():
    a = mcmc.langevin(gauss_energy, torch.zeros(10, 2), step=0.1, n_steps=5, seed=7)
    b, path = mcmc.langevin(gauss_energy, torch.zeros(10, 2), step=0.1, n_steps=5, seed=7, return_path=True)
    assert torch.equal(a, b) and path.shape == (6, 10, 2)
    (c, cpath), rate = mcmc.mala(gauss_energy, torch.zeros(10, 2), step=0.1, n_steps=5, seed=7, return_path=True)
    assert cpath.shape == (6, 10, 2) and 0 <= rate <= 1


def test_bad_input():
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        mcmc.langevin(gauss_energy, torch.zeros(3), step=0.1, n_steps=2)
    with pytest.raises(ValueError, match="step"):
        mcmc.mala(gauss_energy, torch.zeros(3, 2), step=-1.0, n_steps=2)
    with pytest.raises(ValueError, match="shape"):
        mcmc.langevin(lambda z: z, torch.zeros(3, 2), step=0.1, n_steps=2)
    with pytest.raises(DivergenceError, match="langevin"):
        mcmc.langevin(lambda z: 1e30 * z.pow(4).sum(1), torch.ones(3, 2), step=1.0, n_steps=5)


def test_kumar_correction_is_their_expression_and_leaves_the_wrong_law_invariant():
    # their MALA_corrected_sampler: log q = -||z' - z + alpha grad U|| / (4 alpha), alpha = eps / 2
    zt, zf, g = torch.randn(5, 2), torch.randn(5, 2), torch.randn(5, 2)
    eps = 0.3
    alpha = eps / 2
    ref = -(zt - zf + alpha * g).norm(dim=1) / (4 * alpha)
    assert torch.allclose(mcmc.mala_log_proposal(zt, zf, g, eps, "kumar"), ref)
    # on U = |z|^2 / 2 (target variance 1) the exact chain keeps variance 1, theirs settles near 0.7 at
    # eps = 1 and far above 1 at their own alpha = 0.01 (eps = 0.02); sd of a variance estimate from
    # 3000 x 2 draws is about 0.03
    U = lambda z: 0.5 * z.pow(2).sum(1)  # noqa: E731
    z0 = torch.randn(3000, 2, generator=torch.Generator().manual_seed(0))
    var = {(c, e): float(mcmc.mala(U, z0, step=e, n_steps=n, seed=1, correction=c)[0].var(0).mean())
           for c in mcmc.MALA_CORRECTIONS for e, n in ((1.0, 300), (0.02, 800))}
    assert abs(var["exact", 1.0] - 1) < 0.1 and abs(var["exact", 0.02] - 1) < 0.1, var
    assert 0.6 < var["kumar", 1.0] < 0.8, var
    assert var["kumar", 0.02] > 5, var
    with pytest.raises(ValueError, match="exact"):
        mcmc.mala(U, z0, step=0.1, n_steps=1, correction="squared")


def test_a_closed_form_gradient_replaces_autograd_and_gives_the_same_chains():
    """An energy carrying ``value_and_grad`` is sampled without autograd, with the same result."""
    from gantools.energy import mixture_energy
    from gantools.explorers import sampler as xs

    ref = mixture_energy(xs.CENTRES.double(), xs.SIGMA)   # no value_and_grad: autograd
    z = torch.randn(200, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64) * 2
    z[0] = torch.tensor([40.0, -30.0], dtype=torch.float64)   # far out: the logsumexp must not overflow
    for T in (1.0, 0.3):
        u_a, g_a = mcmc._energy_and_grad(ref, z, T)
        u_c, g_c = mcmc._energy_and_grad(xs.ring_energy, z, T)
        torch.testing.assert_close(u_c, u_a, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(g_c, g_a, rtol=1e-10, atol=1e-10)
    for sampler in (mcmc.langevin, mcmc.mala):
        out_a = sampler(ref, z[1:], step=0.01, n_steps=30, seed=2)
        out_c = sampler(xs.ring_energy, z[1:], step=0.01, n_steps=30, seed=2)
        za, zc = (out_a[0], out_c[0]) if sampler is mcmc.mala else (out_a, out_c)
        torch.testing.assert_close(zc, za, rtol=1e-4, atol=1e-5)   # the samplers run in float32


def test_a_closed_form_gradient_of_the_wrong_shape_is_refused():
    def energy(z):
        return (z ** 2).sum(1)

    energy.value_and_grad = lambda z: ((z ** 2).sum(1), (2 * z)[:, :1])
    with pytest.raises(ValueError, match="value_and_grad must return shapes"):
        mcmc.langevin(energy, torch.zeros(4, 2), step=0.1, n_steps=1)
