"""Unit tests of gantools.twotimescale: the fast-discriminator Dirac GAN and the quadratic game."""
import math

import numpy as np
import pytest
import torch

from gantools import dirac, twotimescale as tts
from gantools.gaussian import gaussian_kl_torch
from gantools.errors import DivergenceError

torch.set_num_threads(1)


# ----------------------------------------------------------------------------- Dirac GAN
def test_field_with_k1_is_dirac_vanilla_and_k_scales_phi_only():
    g = torch.Generator().manual_seed(0)
    phi = torch.randn(6, 2, generator=g, dtype=torch.float64)
    theta = torch.randn(6, 2, generator=g, dtype=torch.float64)
    for l2 in (0.0, 0.3):
        a = tts.dirac_field(phi, theta, k=1.0, l2=l2)
        b = dirac.vector_field("vanilla", phi, theta, l2=l2)
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)
    dp, dt = tts.dirac_field(phi, theta, k=7.0, l2=0.3)
    dp1, dt1 = tts.dirac_field(phi, theta, k=1.0, l2=0.3)
    torch.testing.assert_close(dp, 7.0 * dp1)
    torch.testing.assert_close(dt, dt1)


def test_field_takes_per_run_k_and_l2():
    phi, theta = torch.ones(3, 2), torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    dp, _ = tts.dirac_field(phi, theta, k=[1.0, 2.0, 3.0], l2=[0.0, 0.1, 0.2])
    for j, (k, l2) in enumerate([(1.0, 0.0), (2.0, 0.1), (3.0, 0.2)]):
        dpj, _ = tts.dirac_field(phi[j], theta[j], k=k, l2=l2)
        torch.testing.assert_close(dp[j], dpj[0])


def test_angular_momentum_law_and_limit_cycle():
    phi0, theta0 = np.array([[0.1, 0.2], [0.5, -0.3]]), np.array([[0.2, 0.1], [-0.2, 0.6]])
    L0 = theta0[:, 0] * phi0[:, 1] - theta0[:, 1] * phi0[:, 0]
    k = 10.0
    r = tts.simulate_dirac(np.vstack([phi0, phi0]), np.vstack([theta0, theta0]), k=k,
                           l2=[0.0, 0.0, 0.02, 0.02], t_end=250.0, dt=0.1, save_every=10)
    L = r.angular_momentum
    assert (L[:, :2] / torch.as_tensor(L0) - 1).abs().max() < 2e-3          # conserved without L2
    expected = torch.as_tensor(L0)[None] * torch.exp(-k * 0.02 * r.t)[:, None]
    torch.testing.assert_close(L[:, 2:], expected, rtol=2e-3, atol=1e-12)  # L0 exp(-k l2 t) with L2
    for j in range(2):
        assert r.theta_norm[-1, j] == pytest.approx(tts.limit_cycle(L0[j], k).theta_radius, rel=0.02)
    assert (r.lyapunov[1:, :2] <= r.lyapunov[:-1, :2] + 1e-12).all()      # V is non-increasing
    assert (r.cycle_gap[:, :2] >= -1e-9).all()


def test_alternating_gd_conserves_L_for_any_number_of_d_steps():
    phi0, theta0 = [[0.3, -0.2], [0.1, 0.4]], [[0.5, 0.5], [-0.3, 0.2]]
    for d_steps in (1, 7):
        r = tts.alternating_dirac(phi0, theta0, lr=0.1, d_steps=d_steps, g_steps=100, lr_d=0.05)
        L = r.angular_momentum
        assert (L / L[0] - 1).abs().max() < 1e-12
        assert r.k[0] == pytest.approx(d_steps * 0.5)
        assert r.step[-1] == 100 and r.t[-1] == pytest.approx(10.0)
    r = tts.alternating_dirac(phi0, theta0, lr=0.1, d_steps=3, g_steps=50, l2=0.1)
    assert r.angular_momentum[-1].abs().max() < r.angular_momentum[0].abs().max()


def test_laws():
    law = tts.limit_cycle(-0.04, 16.0)
    assert law.theta_radius == pytest.approx(0.1)
    assert law.phi_radius == pytest.approx(0.4)
    assert law.omega == pytest.approx(2.0)
    assert law.approach_rate == pytest.approx(4 * 0.04 / 2)
    assert tts.equilibrium_rate(10.0, 0.01) == pytest.approx(0.05)
    assert tts.equilibrium_rate(10.0, 0.0) == pytest.approx(0.0, abs=1e-12)
    k, l2 = 4.0, 1.0                                                  # overdamped: k l2^2 > 1
    assert tts.equilibrium_rate(k, l2) == pytest.approx((k * l2 - math.sqrt(k * k * l2 * l2 - k)) / 2)


def test_fit_decay_rate_and_envelope():
    t = np.linspace(0, 100, 2001)
    assert tts.fit_decay_rate(t, 3 * np.exp(-0.2 * t), lo=1e-12) == pytest.approx(0.2, rel=1e-9)
    y = np.exp(-0.05 * t) * np.cos(0.5 * t) ** 2 + 1e-300
    assert tts.fit_decay_rate(t, y, lo=1e-30, block=130) == pytest.approx(0.05, rel=0.05)
    with pytest.raises(ValueError, match="fewer than 3"):
        tts.fit_decay_rate(t, np.exp(-0.2 * t), lo=1.0)


def test_batched_runs_equal_runs_alone():
    """One batched simulate_dirac / alternating_dirac call equals each run integrated alone (bit for bit)."""
    phi0 = np.array([[0.1, 0.2], [0.5, -0.3], [-0.4, 0.1]])
    theta0 = np.array([[0.2, 0.1], [-0.2, 0.6], [0.3, 0.3]])
    k, l2 = [1.0, 4.0, 10.0], [0.0, 0.05, 0.02]
    both = tts.simulate_dirac(phi0, theta0, k=k, l2=l2, t_end=20.0, dt=0.05, save_every=7)
    alt = tts.alternating_dirac(phi0, theta0, lr=0.05, d_steps=3, g_steps=300, l2=0.05, save_every=7)
    for j in range(3):
        one = tts.simulate_dirac(phi0[j], theta0[j], k=k[j], l2=l2[j], t_end=20.0, dt=0.05, save_every=7)
        assert torch.equal(both.phi[:, j], one.phi[:, 0]) and torch.equal(both.theta[:, j], one.theta[:, 0])
        one = tts.alternating_dirac(phi0[j], theta0[j], lr=0.05, d_steps=3, g_steps=300, l2=0.05, save_every=7)
        assert torch.equal(alt.phi[:, j], one.phi[:, 0]) and torch.equal(alt.theta[:, j], one.theta[:, 0])


@pytest.mark.parametrize("l2", [0.0, 0.1])
def test_k1_runs_equal_part_one_dirac_simulate(l2):
    """k = 1: the RK4 run is dirac.simulate's, and one D step per G step is its alternating GD."""
    phi0, theta0 = np.array([[0.1, 0.2], [0.5, -0.3]]), np.array([[0.2, 0.1], [-0.2, 0.6]])
    r = tts.simulate_dirac(phi0, theta0, l2=l2, t_end=10.0, dt=0.05)
    tr = dirac.simulate("vanilla", phi0, theta0, t_end=10.0, dt=0.05, l2=l2)
    torch.testing.assert_close(r.phi, tr.phi, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(r.theta, tr.theta, rtol=1e-12, atol=1e-14)
    a = tts.alternating_dirac(phi0, theta0, lr=0.05, d_steps=1, g_steps=200, l2=l2)
    tr = dirac.simulate("vanilla", phi0, theta0, t_end=10.0, dt=0.05, method="alt_gd", l2=l2)
    torch.testing.assert_close(a.phi, tr.phi, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(a.theta, tr.theta, rtol=1e-12, atol=1e-14)


def test_dirac_bad_input():
    with pytest.raises(ValueError, match="shape"):
        tts.dirac_field(np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="k must be"):
        tts.dirac_field([1.0, 0.0], [0.0, 1.0], k=0.0)
    with pytest.raises(ValueError, match="l2 must be"):
        tts.simulate_dirac([1.0, 0.0], [0.0, 1.0], l2=-1.0, t_end=1.0, dt=0.1)
    with pytest.raises(DivergenceError, match="diverged"):
        tts.simulate_dirac([1.0, 0.0], [0.0, 1.0], l2=1e3, t_end=500.0, dt=1.0)


# ----------------------------------------------------------------------------- quadratic game
def test_gauss_hermite_integrates_moments():
    z, w = tts.gauss_hermite(5, 2)
    assert z.shape == (25, 2) and w.sum() == pytest.approx(1.0)
    assert (w[:, None] * z**2).sum(0).numpy() == pytest.approx([1.0, 1.0])
    assert float((w * z[:, 0] ** 4).sum()) == pytest.approx(3.0)


def test_log_ratio_coefficients_and_kl_match_closed_forms():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(3, 2, generator=g, dtype=torch.float64)
    A = torch.tril(torch.randn(3, 2, 2, generator=g, dtype=torch.float64)) + 2 * torch.eye(2, dtype=torch.float64)
    m = torch.tensor([0.3, -0.1], dtype=torch.float64)
    S = torch.tensor([[1.0, 0.8], [0.8, 0.89]], dtype=torch.float64)
    v = tts.log_ratio_coefficients(mu, A, m, S)
    x = torch.randn(3, 10, 2, generator=g, dtype=torch.float64)
    p = torch.distributions.MultivariateNormal(m, S)
    for b in range(3):
        q = torch.distributions.MultivariateNormal(mu[b], A[b] @ A[b].T)
        torch.testing.assert_close(tts.quadratic_features(x[b]) @ v[b], p.log_prob(x[b]) - q.log_prob(x[b]))
        kl = torch.distributions.kl_divergence(q, p)
        assert float(gaussian_kl_torch(mu[b], A[b] @ A[b].T, m, S)) == pytest.approx(float(kl), rel=1e-10)
    # the game's KL record is that closed form (gantools.gaussian)
    run = tts.train_quadratic_game(mu, A, tts.QuadraticGame(mean_p=m.tolist(), cov_p=S.tolist()), g_steps=1)
    want = [float(torch.distributions.kl_divergence(torch.distributions.MultivariateNormal(mu[b], A[b] @ A[b].T), p))
            for b in range(3)]
    assert run.kl[0].tolist() == pytest.approx(want, rel=1e-10)


def test_hand_gradients_match_autograd():
    """The hand-written D and G steps are gradient steps on the quadrature losses."""
    game = tts.QuadraticGame(lr_d=0.3, lr_g=0.2, nodes=4)
    z, w = tts.gauss_hermite(4, 2)
    m, S = game.tensors()
    x_p = m + z @ torch.linalg.cholesky(S).T
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(2, 2, generator=g, dtype=torch.float64)
    A = torch.tril(torch.randn(2, 2, 2, generator=g, dtype=torch.float64)) + torch.eye(2, dtype=torch.float64)
    v = 0.3 * torch.randn(2, 6, generator=g, dtype=torch.float64)
    state = tts.GameState(mu, A, v)
    new = tts.game_step(state, game, d_steps=1)

    def loss_d(v):
        xq = mu[:, None, :] + z @ A.transpose(-1, -2)
        dp = tts.quadratic_features(x_p) @ v.T                      # (m, B)
        dq = (tts.quadratic_features(xq) * v[:, None, :]).sum(-1)    # (B, m)
        return ((torch.nn.functional.softplus(-dp).T + torch.nn.functional.softplus(dq)) * w).sum()

    v1 = v - game.lr_d * torch.func.grad(loss_d)(v)
    torch.testing.assert_close(new.v, v1)

    def loss_g(mu, A):
        xq = mu[:, None, :] + z @ A.transpose(-1, -2)
        d = (tts.quadratic_features(xq) * v1[:, None, :]).sum(-1)
        return (torch.nn.functional.softplus(-d) * w).sum()

    g_mu, g_A = torch.func.grad(loss_g, argnums=(0, 1))(mu, A)
    torch.testing.assert_close(new.mu, mu - game.lr_g * g_mu)
    torch.testing.assert_close(new.A, A - game.lr_g * torch.tril(g_A))


def test_equilibrium_is_fixed_and_radius_predicts_convergence():
    game = tts.QuadraticGame(lr_d=1.0, lr_g=0.2)
    m, S = game.tensors()
    L = torch.linalg.cholesky(S)
    eq = tts.GameState(m[None].clone(), L[None].clone(), torch.zeros(1, 6, dtype=torch.float64))
    out = tts.game_step(eq, game, d_steps=3)
    torch.testing.assert_close(out.mu, eq.mu, atol=1e-14, rtol=0)
    torch.testing.assert_close(out.A, eq.A, atol=1e-14, rtol=0)
    torch.testing.assert_close(out.v, eq.v, atol=1e-14, rtol=0)
    rho = tts.game_step_radius(game, 25)
    assert rho < 1
    assert tts.game_step_radius(game, "exact") == pytest.approx(rho, abs=1e-3)
    run = tts.train_quadratic_game([[0.4, -0.3]], [[[0.8, 0.0], [0.1, 1.2]]], game, g_steps=200, d_steps=25)
    assert run.kl.shape == (201, 1) and run.tracking.shape == (200, 1)
    assert float(run.kl[-1, 0]) < 1e-9
    rate = tts.fit_decay_rate(run.step, run.kl[:, 0], lo=1e-13, hi=1e-4)
    assert rate == pytest.approx(-2 * math.log(rho), rel=0.1)
    exact = tts.train_quadratic_game([[0.4, -0.3]], [[[0.8, 0.0], [0.1, 1.2]]], game, g_steps=3, d_steps="exact")
    assert float(exact.tracking.abs().max()) < 1e-20


def test_quadratic_game_bad_input():
    with pytest.raises(ValueError, match="positive definite"):
        tts.QuadraticGame(cov_p=((1.0, 2.0), (2.0, 1.0)))
    game = tts.QuadraticGame()
    with pytest.raises(ValueError, match="d_steps"):
        tts.train_quadratic_game([[0.0, 0.0]], [[[1.0, 0.0], [0.0, 1.0]]], game, g_steps=2, d_steps=0)
    with pytest.raises(ValueError, match="shape"):
        tts.train_quadratic_game([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], game, g_steps=2)
    with pytest.raises(ValueError, match="diagonal"):
        tts.train_quadratic_game([[0.0, 0.0]], [[[0.0, 0.0], [0.0, 1.0]]], game, g_steps=2)
    with pytest.raises(DivergenceError, match="diverged"):
        tts.train_quadratic_game([[3.0, 3.0]], [[[1.0, 0.0], [0.0, 1.0]]], tts.QuadraticGame(lr_d=50.0),
                                 g_steps=200, d_steps=5)
