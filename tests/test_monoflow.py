"""Unit tests for gantools.monoflow (h functions, the Euler step) and gaussian, ratio, flow, gaussian_toy."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gantools import flow, gaussian, gaussian_toy, nets, ratio
from gantools import monoflow as mf
from gantools.errors import DivergenceError



def test_h_functions_reproduce_classic_losses():
    d = torch.linspace(-4, 4, 41)
    assert torch.allclose(mf.generator_loss(d, "identity"), -d.mean())
    # non-saturating: softplus(-D) = -log sigmoid(D)
    assert torch.allclose(mf.generator_loss(d, "ns"), -torch.log(torch.sigmoid(d)).mean(), atol=1e-6)
    # saturating: log(1 - sigmoid(D))
    assert torch.allclose(mf.generator_loss(d, "saturating"), torch.log1p(-torch.sigmoid(d)).mean(), atol=1e-6)
    assert torch.allclose(mf.generator_loss(d, "exp"), -torch.exp(d).mean())
    assert torch.allclose(mf.generator_loss(d[:, None], "arcsinh"), -torch.asinh(d).mean())


def test_monotone_flags_match_derivative_sign():
    d = torch.linspace(-6, 6, 241)
    for name, h in mf.H_FUNCTIONS.items():
        dh = h.derivative(d)
        assert bool((dh > 0).all()) == h.monotone, name


def test_unknown_names_and_bad_shapes():
    with pytest.raises(ValueError, match="identity"):
        mf.generator_loss(torch.zeros(3), "nope")
    with pytest.raises(ValueError, match="shape"):
        mf.generator_loss(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="gan"):
        ratio.f_gan_d_loss(torch.zeros(3), torch.zeros(3), "nope")
    with pytest.raises(ValueError, match="shape"):
        mf.particle_step(torch.zeros(3), lambda x: x.sum(1), 0.1)
    G = gaussian_toy.AffineGenerator()
    with pytest.raises(ValueError, match="shape"):
        mf.distill_loss(G, torch.zeros(4, 2), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="shape"):
        G(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="distill"):
        gaussian_toy.gaussian_toy("identity", loss="bad", iters=1)
    with pytest.raises(ValueError, match="sgd"):
        gaussian_toy.gaussian_toy("identity", optimizer="lbfgs", iters=1)


def test_paper_losses_monotone_flags_and_speed_factor():
    d = torch.linspace(-6, 6, 241)
    for name, h in mf.PAPER_LOSSES.items():
        assert bool((h.derivative(d) > 0).all()) == h.monotone, name
    # plug-in divergence losses: h(d) = -f(e^d), so h'(d) = -r f'(r)
    r = torch.exp(d)
    assert torch.allclose(mf.get_h("chi2").derivative(d), -2 * r * (r - 1), rtol=1e-4, atol=1e-4)
    assert torch.allclose(mf.get_h("forward_kl").derivative(d), -r * (1 + d), rtol=1e-4, atol=1e-4)
    assert torch.allclose(mf.get_h("js").derivative(d), -r * torch.log(2 * r / (r + 1)), rtol=1e-4, atol=1e-4)
    assert torch.allclose(mf.get_h("hellinger").derivative(d), -r * (1 - r ** -0.5), rtol=1e-4, atol=1e-4)


def test_readers_names_live_in_monoflow_and_the_forwarder_is_gone():
    assert flow.particle_step is mf.particle_step and flow.distill_loss is mf.distill_loss
    for name in ("H_FUNCTIONS", "generator_loss", "particle_step", "distill_loss"):
        assert name in mf.__all__
    assert not hasattr(mf, "gaussian_kl")          # lives in gantools.gaussian only


def test_particle_step_matches_gradient_of_h():
    x = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    D = lambda y: (y ** 2).sum(1)  # grad = 2y
    out = mf.particle_step(x, D, 0.1)
    assert torch.allclose(out, x + 0.2 * x)
    out_ns = mf.particle_step(x, D, 0.1, h="ns")
    w = torch.sigmoid(-D(x))[:, None]
    assert torch.allclose(out_ns, x + 0.1 * w * 2 * x, atol=1e-6)


def test_distill_gradient_is_2eps_times_generator_loss_gradient():
    torch.manual_seed(0)
    G = nets.mlp(2, 2, hidden=16, depth=1)
    D = nets.mlp(2, 1, hidden=16, depth=1)
    z = torch.randn(64, 2)
    eps = 0.03
    for h in ("identity", "ns"):
        targets = mf.particle_step(G(z).detach(), D, eps, h=h)
        g1 = torch.autograd.grad(mf.distill_loss(G, z, targets), list(G.parameters()))
        g2 = torch.autograd.grad(mf.generator_loss(D(G(z)), h), list(G.parameters()))
        for a, b in zip(g1, g2):
            assert torch.allclose(a, 2 * eps * b, rtol=1e-4, atol=1e-7)


def test_gaussian_log_ratio_and_kl():
    mp, sp = np.zeros(2), gaussian.TOY_COV
    mq, sq = np.array([1.0, -0.5]), np.array([[2.0, 0.3], [0.3, 0.5]])
    x = torch.randn(20000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    xq = torch.as_tensor(mq) + x @ torch.as_tensor(np.linalg.cholesky(sq)).T
    mc = float(-gaussian.gaussian_log_ratio(xq, mp, sp, mq, sq).mean())  # KL(q||p) = E_q[-log r]
    assert mc == pytest.approx(gaussian.gaussian_kl(mq, sq, mp, sp), rel=0.03)
    assert gaussian.gaussian_kl(mp, sp, mp, sp) == pytest.approx(0.0, abs=1e-12)
    assert gaussian.gaussian_w2(mp, sp, mp, sp) == pytest.approx(0.0, abs=1e-6)
    # W2 between Gaussians with equal covariance is the distance of the means
    assert gaussian.gaussian_w2(mq, sp, mp, sp) == pytest.approx(float(np.linalg.norm(mq)), abs=1e-6)


def test_gaussian_wgf_ode_matches_particles_and_kl_decreases():
    mp, sp = np.zeros(2), gaussian.TOY_COV
    x0 = torch.randn(2000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) + 1.0
    m0, s0 = gaussian.empirical_moments(x0)
    eps, steps = 0.01, 100
    means, covs, _ = flow.exact_wgf_particles(x0, mp, sp, eps=eps, steps=steps)
    t = eps * np.arange(steps + 1)
    om, oc = gaussian.solve_gaussian_wgf(m0, s0, mp, sp, t)
    assert np.abs(means - om).max() < 0.02 and np.abs(covs - oc).max() < 0.02
    kl = [gaussian.gaussian_kl(m, s, mp, sp) for m, s in zip(om, oc)]
    assert np.all(np.diff(kl) < 0)
    # dKL/dt = -E_q |grad log r|^2
    dk = (kl[51] - kl[49]) / (2 * eps)
    assert dk == pytest.approx(-gaussian.gaussian_relative_fisher(om[50], oc[50], mp, sp), rel=1e-3)
    # the equilibrium is a fixed point of the ODE
    dm, ds = gaussian.gaussian_wgf_rhs(mp, sp, mp, sp)
    assert np.abs(dm).max() < 1e-12 and np.abs(ds).max() < 1e-12


def test_fit_log_ratio_recovers_gaussian_log_ratio():
    g = torch.Generator().manual_seed(3)
    xp = torch.randn(4000, 1, generator=g) + 1.0
    xq = torch.randn(4000, 1, generator=g)
    torch.manual_seed(0)
    D = nets.mlp(1, 1, hidden=32, depth=1)
    ratio.fit_log_ratio(D, xp, xq, steps=600, lr=1e-2, seed=0)
    grid = torch.linspace(-1, 2, 31)[:, None]
    exact = grid[:, 0] - 0.5  # log N(x;1,1) - log N(x;0,1)
    assert (D(grid)[:, 0].detach() - exact).abs().max() < 0.3


def test_f_gan_gan_loss_equals_logistic_loss():
    v = torch.randn(50)
    w = torch.randn(50)
    fd = ratio.F_DIVERGENCES["gan"]
    ref = -(fd.activation(v).mean() - fd.conjugate(fd.activation(w)).mean())
    assert torch.allclose(ratio.f_gan_d_loss(v, w, "gan"), ref, atol=1e-5)


def test_particle_flow_reduces_w2_and_checks_target():
    g = torch.Generator().manual_seed(4)
    x0 = torch.randn(128, 2, generator=g)
    tgt = torch.randn(128, 2, generator=g) + 2.0
    sample = lambda n, gen: torch.randn(n, 2, generator=gen) + 2.0
    torch.manual_seed(0)
    run = flow.particle_flow(x0, sample, nets.mlp(2, 1, hidden=32, depth=1), steps=60, eps=0.1,
                           d_steps=3, lr_d=5e-3, target=tgt, record_every=30)
    assert run.history["w2"][-1] < 0.5 * run.history["w2"][0]
    with pytest.raises(ValueError, match="128"):
        flow.particle_flow(x0, sample, nets.mlp(2, 1), steps=1, eps=0.1, target=tgt[:5])


def test_particle_flow_raises_divergence_error():
    x0 = torch.randn(16, 2)
    with pytest.raises(DivergenceError, match="step"):
        flow.particle_flow(x0, lambda n, g: torch.randn(n, 2, generator=g), _Exploding(), steps=3, eps=1e30,
                         d_steps=1)


class _Exploding(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.w * torch.exp(x.pow(2).sum(1) * 50)


def test_gaussian_toy_exact_ratio_converges_for_identity_not_for_neg_square():
    ok = gaussian_toy.gaussian_toy("identity", iters=200, exact_ratio=True, record_every=50)
    bad = gaussian_toy.gaussian_toy("neg_square", iters=200, exact_ratio=True, record_every=50)
    assert ok.history["kl"][-1] < 0.01 * ok.history["kl"][0]
    assert bad.history["kl"][-1] > 0.1 * bad.history["kl"][0]
    assert ok.history["step"] == [0, 50, 100, 150, 200]


def test_train_monoflow_k1_adam_losses_agree():
    """With Adam (scale invariant) and one generator step, -D and the distillation loss coincide."""
    runs = [gaussian_toy.gaussian_toy("identity", loss=loss, iters=30, eps=0.05, record_every=30, seed=1)
            for loss in ("h", "distill")]
    a, b = runs[0].history, runs[1].history
    assert np.allclose(a["mean"][-1], b["mean"][-1], atol=1e-4)
    assert np.allclose(a["cov"][-1], b["cov"][-1], atol=1e-4)
    assert math.isfinite(a["w2"][-1])


def test_fit_log_ratios_members_are_the_runs_alone():
    g = torch.Generator().manual_seed(3)
    xp = torch.randn(500, 2, generator=g) + 1.0
    xq = torch.randn(500, 2, generator=g)
    for steps, tol in ((1, 1e-5), (20, 1e-3)):
        ens = ratio.fit_log_ratios(xp, xq, ["gan", "pearson"], [0, 1], steps=steps, lr=2e-3, batch=64)
        x = torch.randn(30, 2, generator=g)
        for m, (div, s) in enumerate((("gan", 0), ("pearson", 1))):
            torch.manual_seed(s)
            D = nets.mlp(2, 1, hidden=64, depth=2)
            ratio.fit_log_ratio(D, xp, xq, steps=steps, lr=2e-3, batch=64, divergence=div, seed=s)
            assert (ens.member(m)(x) - D(x)).abs().max() < tol
    with pytest.raises(ValueError, match="pearson"):
        ratio.fit_log_ratios(xp, xq, ["nope"], [0], steps=1)
    with pytest.raises(ValueError, match="one entry per member"):
        ratio.fit_log_ratios(xp, xq, ["gan", "kl"], [0], steps=1)


def test_f_gan_d_loss_of_stacked_critics_is_the_sum_of_their_losses():
    v, w = torch.randn(3, 40, 1), torch.randn(3, 40, 1)
    for div in ratio.F_DIVERGENCES:
        if div == "pearson":
            continue
        total = ratio.f_gan_d_loss(v, w, div)
        assert torch.allclose(total, sum(ratio.f_gan_d_loss(v[m], w[m], div) for m in range(3)), atol=1e-5)
    with pytest.raises(ValueError, match="as many critics"):
        ratio.f_gan_d_loss(v, w[:2])


def test_particle_flow_stacked_runs_each_member_with_its_own_step():
    from gantools.ensemble import EnsembleMLP
    g = torch.Generator().manual_seed(5)
    x0 = torch.randn(3, 128, 2, generator=g)
    tgt = torch.randn(128, 2, generator=g) + 2.0
    sample = lambda n, gen: torch.randn(n, 2, generator=gen) + 2.0
    D = EnsembleMLP(3, 2, 1, hidden=32, depth=1, seeds=[0, 1, 2])
    run = flow.particle_flow(x0, sample, D, steps=40, eps=[0.05, 0.1, 1e-9], d_steps=3, lr_d=5e-3, target=tgt,
                             record_every=20, snapshot_at=(0,))
    w = torch.tensor(run.history["w2"])              # (records, members)
    assert run.particles.shape == (3, 128, 2) and w.shape == (3, 3)
    assert (w[-1, :2] < 0.7 * w[0, :2]).all()          # the two real steps move the clouds
    assert torch.allclose(run.particles[2], x0[2], atol=1e-4)   # a negligible step leaves member 2 in place
    assert torch.equal(run.snapshots[0], x0)
    with pytest.raises(ValueError, match="n_members"):
        flow.particle_flow(x0, sample, nets.mlp(2, 1), steps=1, eps=0.1)
    with pytest.raises(ValueError, match="one positive number per stacked member"):
        flow.particle_flow(x0, sample, D, steps=1, eps=[0.1, 0.1])


@pytest.mark.parametrize("negatives", ["current", "initial"])
def test_particle_flow_stacked_member_is_the_run_alone(negatives):
    # member m of a stack draws from its own stream: it is the run alone with D.member(m) and that seed
    from gantools.ensemble import EnsembleMLP
    g = torch.Generator().manual_seed(7)
    x0 = torch.randn(3, 96, 2, generator=g)
    tgt = torch.randn(96, 2, generator=g) + 1.0
    sample = lambda n, gen: torch.randn(n, 2, generator=gen) + 1.0
    D = EnsembleMLP(3, 2, 1, hidden=16, depth=1, seeds=[4, 5, 6])
    alone_D = [D.member(m) for m in range(3)]
    kw = dict(steps=12, eps=0.2, d_steps=2, lr_d=5e-3, batch=64, target=tgt, record_every=4, negatives=negatives)
    run = flow.particle_flow(x0, sample, D, seed=[10, 11, 10], **kw)
    for m, s in enumerate([10, 11, 10]):
        one = flow.particle_flow(x0[m], sample, alone_D[m], seed=s, **kw)
        assert torch.allclose(run.particles[m], one.particles, atol=1e-4)
        assert np.allclose(np.array(run.history["w2"])[:, m], one.history["w2"], atol=1e-5)
    # members 0 and 2 share a stream but not their start: different runs; an int seed s gives s, s+1, s+2
    assert not torch.allclose(run.particles[0], run.particles[2])
    by_int = flow.particle_flow(x0, sample, EnsembleMLP(3, 2, 1, hidden=16, depth=1, seeds=[4, 5, 6]), seed=10, **kw)
    by_list = flow.particle_flow(x0, sample, EnsembleMLP(3, 2, 1, hidden=16, depth=1, seeds=[4, 5, 6]),
                                 seed=[10, 11, 12], **kw)
    assert torch.equal(by_int.particles, by_list.particles)
    with pytest.raises(ValueError, match="one seed per member"):
        flow.particle_flow(x0, sample, D, seed=[1, 2], **kw)


def test_particle_flow_with_initial_negatives_trains_d_on_x0_only():
    g = torch.Generator().manual_seed(6)
    x0 = 0.5 * torch.randn(128, 2, generator=g)
    sample = lambda n, gen: torch.randn(n, 2, generator=gen) * 0.5 + 2.0
    torch.manual_seed(0)
    cur = flow.particle_flow(x0, sample, nets.mlp(2, 1, hidden=32, depth=1), steps=40, eps=0.1, d_steps=3, lr_d=5e-3)
    torch.manual_seed(0)
    stale = flow.particle_flow(x0, sample, nets.mlp(2, 1, hidden=32, depth=1), steps=40, eps=0.1, d_steps=3, lr_d=5e-3,
                               negatives="initial")
    target_mean = torch.tensor([2.0, 2.0])
    d_cur = (cur.particles.mean(0) - target_mean).norm()
    d_stale = (stale.particles.mean(0) - target_mean).norm()
    assert d_cur < 1.0 and d_stale > 2.0 and d_stale > 2 * d_cur   # a D of log p/q_0 overshoots the target
    with pytest.raises(ValueError, match="current"):
        flow.particle_flow(x0, sample, nets.mlp(2, 1), steps=1, eps=0.1, negatives="stale")
