"""Unit tests for gantools.gaussian, gantools.ratio, gantools.gaussian_toy and metrics.mode_precision."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gantools import gaussian as gs
from gantools import gaussian_toy as gt
from gantools import ratio
from gantools.metrics import mode_precision


def test_gaussian_kl_torch_matches_numpy_and_is_differentiable():
    m, S = np.array([1.0, -0.5]), np.array([[2.0, 0.3], [0.3, 0.5]])
    mt = torch.tensor(m, requires_grad=True)
    St = torch.tensor(S, requires_grad=True)
    kl = gs.gaussian_kl_torch(mt, St, gs.TOY_MEAN, gs.TOY_COV)
    assert float(kl.detach()) == pytest.approx(gs.gaussian_kl(m, S, gs.TOY_MEAN, gs.TOY_COV), rel=1e-12)
    (g,) = torch.autograd.grad(kl, mt)
    P = np.linalg.inv(gs.TOY_COV)
    assert np.allclose(g.numpy(), P @ m)  # d KL / d m = P (m - m_p)
    batch = gs.gaussian_kl_torch(torch.zeros(3, 2, dtype=torch.float64), torch.tensor(gs.TOY_COV).repeat(3, 1, 1),
                                 gs.TOY_MEAN, gs.TOY_COV)
    assert batch.shape == (3,) and torch.allclose(batch, torch.zeros(3, dtype=torch.float64), atol=1e-12)


def test_kl_decay_rate_is_twice_smallest_precision_eigenvalue_and_bounds_the_flow():
    rate = gs.kl_decay_rate(gs.TOY_COV)
    assert rate == pytest.approx(2 * np.linalg.eigvalsh(np.linalg.inv(gs.TOY_COV)).min())
    t = np.linspace(0, 5, 101)
    ms, Ss = gs.solve_gaussian_wgf([2.0, -1.0], [[0.3, 0.0], [0.0, 2.0]], gs.TOY_MEAN, gs.TOY_COV, t)
    kl = np.array([gs.gaussian_kl(m, S, gs.TOY_MEAN, gs.TOY_COV) for m, S in zip(ms, Ss)])
    assert np.all(kl <= kl[0] * np.exp(-rate * t) * (1 + 1e-8))


def test_ratio_fit_recovers_slope_and_correlation():
    x = torch.linspace(-3, 3, 101)
    fit = ratio.ratio_fit(0.5 * x + 2.0, x)
    assert fit.slope == pytest.approx(0.5) and fit.intercept == pytest.approx(2.0) and fit.corr == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same number"):
        ratio.ratio_fit(x[:5], x)


def test_mode_precision_tells_blurred_from_sharp():
    g = torch.Generator().manual_seed(0)
    centers = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    sigma = 0.02
    sharp = centers[torch.randint(2, (4000,), generator=g)] + sigma * torch.randn(4000, 2, generator=g)
    blurred = sharp + 0.1 * torch.randn(4000, 2, generator=g)
    a, b = mode_precision(sharp, centers, sigma), mode_precision(blurred, centers, sigma)
    assert a.frac_in == pytest.approx(0.95, abs=0.02) and a.spread_ratio == pytest.approx(1.0, abs=0.08)
    assert b.frac_in < 0.2 and b.spread_ratio == pytest.approx(1 + (0.1 / sigma) ** 2, rel=0.1)
    with pytest.raises(ValueError, match="level"):
        mode_precision(sharp, centers, sigma, level=1.5)


def test_toy_ensemble_exact_ratio_identity_converges_and_chi2_does_not():
    cfg = gt.ToyConfig(iters=300, batch=64, exact_ratio=True, lr_g=1e-2, record_every=100)
    ens = gt.train_toy_ensemble(["reverse_kl", "chi2"], [0, 1], cfg)
    assert ens.kl.shape == (4, 4) and ens.mean.shape == (4, 4, 2) and list(ens.step) == [0, 100, 200, 300]
    good, bad = ens.members("reverse_kl"), ens.members("chi2")
    assert np.all(ens.kl[-1, good] < 0.05 * ens.kl[0, good])
    assert np.all(ens.kl[-1, bad] > 0.3 * ens.kl[0, bad])
    with pytest.raises(ValueError, match="no member"):
        ens.members("js")


def test_toy_ensemble_learned_d_records_ratio_fit_and_sgd_freezes_diverged_members():
    cfg = gt.ToyConfig(iters=40, batch=32, hidden=(16, 16), record_every=20)
    ens = gt.train_toy_ensemble(["identity"], [0, 1], cfg)
    assert np.isnan(ens.d_slope[0]).all() and np.isfinite(ens.d_slope[1:]).all()
    blow = gt.ToyConfig(iters=30, batch=32, exact_ratio=True, optimizer="sgd", lr_g=100.0, record_every=10)
    e2 = gt.train_toy_ensemble(["identity"], [0], blow)
    assert e2.diverged_at[0] >= 0 and np.isfinite(e2.mean).all()
    with pytest.raises(ValueError, match="optimizer"):
        gt.ToyConfig(optimizer="rmsprop")


def test_paper_lr_rule():
    assert gt.paper_lr_d("reverse_kl") == 1e-3 and gt.paper_lr_d("chi2") == 1e-4
    assert gt.PAPER_TOY.hidden == (512, 256) and gt.PAPER_TOY.batch == 32 and gt.PAPER_TOY.iters == 5000
    assert math.isclose(gt.PAPER_TOY.betas[0], 0.9)


def _stacked_pair(n_members, seeds):
    from gantools import nets
    from gantools.ensemble import EnsembleMLP
    Gs, Ds = [], []
    for s in seeds:
        torch.manual_seed(s)
        Gs.append(nets.mlp(2, 2, hidden=16, depth=2))
        Ds.append(nets.mlp(2, 1, hidden=16, depth=2))
    assert len(Gs) == n_members
    return EnsembleMLP.stack(Gs), EnsembleMLP.stack(Ds)


def test_train_monoflow_stacked_k1_losses_agree_and_k_matters():
    from gantools import data
    from gantools.flow import train_monoflow_stacked
    pool = data.sample("8gaussians", 2000, seed=0)
    real = lambda k, g: pool[torch.randint(len(pool), (k,), generator=g)]
    G, D = _stacked_pair(3, [0, 0, 0])
    run = train_monoflow_stacked(G, D, real, z_dim=2, iters=30, loss=["h", "distill", "h"], g_steps=[1, 1, 4],
                                 streams=[0, 0, 0], eps=0.05, batch=64, lr_d=2e-3, lr_g=2e-3, record_every=10)
    z = torch.randn(1, 256, 2).expand(3, -1, -1)
    x = run.G(z).detach()
    # with Adam, -D and the distillation loss give the same run at k = 1 (up to rounding) ...
    assert torch.allclose(x[0], x[1], atol=1e-3)
    # ... and a member taking 4 generator steps per iteration does not
    assert (x[2] - x[0]).abs().max() > 1e-2
    assert run.loss == ["h", "distill", "h"] and run.history["step"] == [0, 10, 20, 30]


def test_train_monoflow_stacked_rejects_bad_arguments():
    from gantools.flow import train_monoflow_stacked
    G, D = _stacked_pair(2, [0, 1])
    real = lambda k, g: torch.randn(k, 2, generator=g)
    with pytest.raises(ValueError, match="one per member"):
        train_monoflow_stacked(G, D, real, z_dim=2, iters=1, loss=["h"])
    with pytest.raises(ValueError, match="distill"):
        train_monoflow_stacked(G, D, real, z_dim=2, iters=1, loss="regress")
    with pytest.raises(ValueError, match="g_steps"):
        train_monoflow_stacked(G, D, real, z_dim=2, iters=1, loss="h", g_steps=[1, 2, 3])
