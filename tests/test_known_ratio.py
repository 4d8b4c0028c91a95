"""gantools.known_ratio: the two densities of Part III, notebook 2, and its critics' outcomes and conditions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gantools import known_ratio as kr
from gantools.ratio import F_DIVERGENCES, fit_log_ratios


def test_densities_are_normalised_and_match_their_samplers():
    # both densities integrate to 1 on a wide grid, and their samples have the densities' moments
    t = torch.linspace(-9, 9, 601, dtype=torch.float64)
    xx, yy = torch.meshgrid(t, t, indexing="ij")
    pts = torch.stack([xx.ravel(), yy.ravel()], 1)
    cell = float(t[1] - t[0]) ** 2
    assert float(kr.log_p(pts).exp().sum()) * cell == pytest.approx(1.0, abs=1e-6)
    assert float(kr.log_q(pts).exp().sum()) * cell == pytest.approx(1.0, abs=1e-6)
    g = torch.Generator().manual_seed(0)
    xp, xq = kr.sample_p(200_000, g).double(), kr.sample_q(200_000, g).double()
    # p's covariance: 0.6^2 I plus the spread of the two centres
    c = torch.tensor(kr.CENTRES, dtype=torch.float64)
    cov_p = kr.SD_P ** 2 * torch.eye(2) + (c - c.mean(0)).T @ (c - c.mean(0)) / len(c)
    assert torch.allclose(torch.cov(xp.T), cov_p, atol=0.01)
    assert torch.allclose(torch.cov(xq.T), kr.SD_Q ** 2 * torch.eye(2, dtype=torch.float64), atol=0.02)
    # the log-likelihood of p's samples is higher under p than under q, and the reverse
    assert float((kr.log_p(xp) - kr.log_q(xp)).mean()) > 0 > float((kr.log_p(xq) - kr.log_q(xq)).mean())


def test_problem_is_seeded_and_its_ratio_is_exact():
    a, b = kr.ratio_problem(n=500, n_eval=300), kr.ratio_problem(n=500, n_eval=300)
    assert torch.equal(a.x_p, b.x_p) and torch.equal(a.x_eval, b.x_eval)
    assert not torch.equal(a.x_p, kr.ratio_problem(seed=2, n=500, n_eval=300).x_p)
    assert a.x_eval.shape == (600, 2)
    assert torch.allclose(a.log_r, kr.log_p(a.x_eval) - kr.log_q(a.x_eval))
    assert torch.equal(a.inside, a.log_r.abs() < kr.INSIDE)
    with pytest.raises(ValueError):
        kr.ratio_problem(n=0)


@pytest.mark.parametrize("name", list(F_DIVERGENCES))
def test_optimum_inverts_each_divergences_log_ratio(name):
    # OPTIMUM (written independently) is the inverse of the library's map from output to log r
    lr = np.linspace(-6, 3, 50)
    u = kr.OPTIMUM[name](lr)
    assert np.allclose(F_DIVERGENCES[name].log_ratio(torch.as_tensor(u)).numpy(), lr, atol=1e-6)
    assert set(kr.OPTIMUM) == set(F_DIVERGENCES)


@pytest.fixture(scope="module")
def outcomes():
    return kr.critic_outcomes([0, 1], keep_outputs=True, chunk=1)


def test_outcomes_are_the_measures_of_the_batched_fit(outcomes):
    pb = kr.ratio_problem()
    names = list(F_DIVERGENCES)
    ens = fit_log_ratios(pb.x_p, pb.x_q, names, [1] * len(names), **kr.FIT)   # seed 1's critics, trained alone
    with torch.no_grad():
        v = ens(pb.x_eval.expand(len(names), -1, -1))[..., 0]
    assert torch.allclose(v, outcomes.outputs[:, 1], atol=1e-5)
    inside = pb.inside
    k = names.index("gan")
    corr = np.corrcoef(v[k][inside].numpy(), pb.log_r[inside].numpy())[0, 1]
    assert outcomes.of("gan", "corr")[1] == pytest.approx(corr, abs=1e-6)
    err = v[k] - pb.log_r
    assert outcomes.gan_bias_out[1] == pytest.approx(float(err[~inside].mean()), abs=1e-5)
    u_star = torch.as_tensor(kr.OPTIMUM["pearson"](pb.log_r.numpy()))[inside]
    rel = float((v[names.index("pearson")][inside] - u_star).pow(2).mean().sqrt() / u_star.std())
    assert outcomes.of("pearson", "rel")[1] == pytest.approx(rel, rel=1e-5)
    assert outcomes.rmse.shape == outcomes.rel.shape == outcomes.corr.shape == (len(names), 2)


def test_conditions_give_one_verdict_per_seed(outcomes):
    res = kr.critic_conditions(outcomes)
    assert set(res) == set(kr.CRITIC_CONDITIONS)
    for r in res.values():
        assert r["pass"].shape == (2,) and r["pass"].dtype == bool
        assert all(np.shape(v) == (2,) for k, v in r.items() if k != "pass")
    # a condition can fail: a critic that outputs a constant follows nothing
    flat = kr.CriticOutcomes(**{**outcomes.__dict__, "rel": np.ones_like(outcomes.rel),
                                "corr": np.zeros_like(outcomes.corr)})
    bad = kr.critic_conditions(flat)
    assert not bad["all_follow_optimum"]["pass"].any() and not bad["all_increasing"]["pass"].any()


def test_bad_names_raise(outcomes):
    with pytest.raises(ValueError, match="gan"):
        outcomes.of("wasserstein", "rel")
    with pytest.raises(ValueError, match="corr"):
        outcomes.of("gan", "speed")
    with pytest.raises(ValueError):
        kr.critic_outcomes([])
