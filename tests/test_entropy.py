"""Unit tests of gantools.entropy: the InfoGAN bound and the JSD estimator."""
from __future__ import annotations

import math

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
