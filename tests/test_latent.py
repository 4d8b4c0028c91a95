"""Unit tests of gantools.latent: batched latent sampling of an energy-GAN ensemble."""
from __future__ import annotations

import pytest
import torch

from gantools import data
from gantools import energy as en
from gantools import latent


@pytest.fixture(scope="module")
def run():
    return en.train_engan(lambda n, g: data.sample("8gaussians", n, seed=g), treatments=["none"],
                          seeds=[0, 1], steps=5, hidden=8, depth=1, g_depth=1, batch=16)


def test_ensemble_latent_energy_matches_members(run):
    z = torch.randn(2 * 7, 2)
    u = latent.ensemble_latent_energy(run, 7)(z)
    for m in range(2):
        with torch.no_grad():
            ref = run.energy(m)(run.generator(m)(z[m * 7:(m + 1) * 7]))
        assert torch.allclose(u[m * 7:(m + 1) * 7], ref, atol=1e-5)
    with pytest.raises(ValueError, match=r"\(14, 2\)"):
        latent.ensemble_latent_energy(run, 7)(torch.zeros(3, 2))


@pytest.mark.parametrize("method", latent.LATENT_METHODS)
def test_every_method_returns_member_samples(run, method):
    s = latent.sample_latents(run, method, n=20, budget=4, step=0.05, seed=1)
    assert s.z.shape == (2, 20, 2) and s.x.shape == (2, 20, 2)
    assert s.evaluations == (1 if method in ("prior", "shrink") else 4)
    assert torch.isfinite(s.x).all()


def test_shrink_scales_the_prior_and_descent_lowers_the_energy(run):
    prior = latent.sample_latents(run, "prior", n=50, seed=3)
    shrunk = latent.sample_latents(run, "shrink", n=50, psi=0.3, seed=3)
    assert torch.allclose(shrunk.z, 0.3 * prior.z)
    desc = latent.sample_latents(run, "descent", n=50, budget=20, step=0.1, seed=3)
    E = latent.ensemble_latent_energy(run, 50)
    assert E(desc.z.reshape(-1, 2)).mean() < E(prior.z.reshape(-1, 2)).mean()
    with pytest.raises(ValueError, match="mala"):
        latent.sample_latents(run, "hmc")
