"""Unit tests of gantools.entropy: the InfoGAN bound and the JSD estimator."""
from __future__ import annotations

import math

import pytest
import torch

from gantools import entropy as ent


def test_infogan_bound_equals_mutual_information_for_a_gaussian_channel():
    # x = z + n with n ~ N(0, s2): I = d/2 log(1 + 1/s2); the optimal posterior mean is
    # E[z|x] = x/(1+s2), posterior variance s2/(1+s2): the bound is then tight.
    g = torch.Generator().manual_seed(0)
    d, s2 = 2, 0.25
    z = torch.randn(200000, d, generator=g)
    x = z + s2 ** 0.5 * torch.randn(200000, d, generator=g)
    est = ent.infogan_bound(z, x / (1 + s2), s=(s2 / (1 + s2)) ** 0.5)
    assert abs(float(est) - 0.5 * d * math.log(1 + 1 / s2)) < 0.02
    # a worse posterior gives a smaller value (KL >= 0)
    assert float(ent.infogan_bound(z, x, s=(s2 / (1 + s2)) ** 0.5)) < float(est)


def test_jsd_estimate_separates_identity_from_constant():
    ident = ent.jsd_estimate(lambda z: z, steps=300, seed=0)
    const = ent.jsd_estimate(lambda z: torch.zeros(z.shape[0], 2), steps=300, seed=0)
    assert -2 * math.log(2) - 0.05 < const < -2 * math.log(2) + 0.05
    assert ident > const + 0.5 and ident <= 0


def test_quantiser_jsd_limits():
    assert abs(ent.quantiser_jsd(1) + 2 * math.log(2)) < 1e-12
    vals = [ent.quantiser_jsd(k) for k in (1, 2, 5, 25, 10**6)]
    assert all(a < b for a, b in zip(vals, vals[1:])) and abs(vals[-1]) < 1e-4


def test_gradient_estimators_are_unbiased_and_score_function_variance_grows_with_dimension():
    # entropy of N(mu, s^2 I_d): d/dlog s H = d; f = -log q at the current parameters
    ratios = []
    for d in (2, 16):
        f = lambda x, d=d: 0.5 * x.pow(2).sum(1) + 0.5 * d * math.log(2 * math.pi)  # noqa: E731
        out = {e: ent.gaussian_gradient_samples(f, torch.zeros(d), 0.0, 20000, estimator=e, seed=1)[:, -1]
               for e in ent.GRADIENT_ESTIMATORS}
        for g in out.values():
            assert abs(float(g.mean()) - d) < 5 * float(g.std()) / math.sqrt(len(g))
        assert abs(float(out["reparam"].var()) - 2 * d) < 0.1 * 2 * d   # Var |eps|^2 = 2d
        ratios.append(float(out["score"].var() / out["reparam"].var()))
    assert 10 < ratios[0] < ratios[1]
    # the mean direction: both estimate the gradient of E[f] with respect to mu as well
    f = lambda x: (x - 1.0).pow(2).sum(1)  # noqa: E731  # E f = |mu - 1|^2 + d s^2: gradient 2 (mu - 1)
    for e in ent.GRADIENT_ESTIMATORS:
        g = ent.gaussian_gradient_samples(f, torch.zeros(3), math.log(0.5), 40000, estimator=e, seed=2).mean(0)
        assert torch.allclose(g, torch.tensor([-2.0, -2.0, -2.0, 2 * 3 * 0.25]), atol=0.1), (e, g)
    with pytest.raises(ValueError, match="reparam"):
        ent.gaussian_gradient_samples(f, torch.zeros(3), 0.0, 10, estimator="reinforce")
