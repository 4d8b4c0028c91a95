"""Unit tests of gantools.dirac: fields, integrators, Jacobians, invariants, bad input."""
import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from gantools import dirac, dirac_gd
from gantools.errors import DivergenceError

PHI0, THETA0 = [0.1, 0.2], [0.2, 0.1]
CASES = [("vanilla", {}), ("saturating", {}), ("wgan", {}), ("wgan_gp", {"c": 0.0}), ("wgan_gp", {"c": 1.0}),
         ("gan_qp", {}), ("gan_qp", {"l2": 0.1}), ("vanilla", {"l2": 0.3}), ("wgan_gp", {"c": 0.5, "l2": 0.2})]


@pytest.mark.parametrize("variant,hp", CASES)
def test_autograd_field_matches_closed_form(variant, hp):
    g = torch.Generator().manual_seed(0)
    phi, theta = torch.randn(64, 3, generator=g), torch.randn(64, 3, generator=g)
    a = dirac.vector_field(variant, phi, theta, **hp)
    b = dirac.closed_form_field(variant, phi, theta, **hp)
    for x, y in zip(a, b):
        assert x.dtype == torch.float64 and x.shape == (64, 3)
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)


def test_field_is_batched_over_any_leading_shape():
    phi = torch.randn(4, 5, 2, dtype=torch.float64)
    theta = torch.randn(4, 5, 2, dtype=torch.float64)
    dp, dt = dirac.vector_field("gan_qp", phi, theta)
    dp1, dt1 = dirac.vector_field("gan_qp", phi[2, 3], theta[2, 3])
    torch.testing.assert_close(dp[2, 3], dp1)
    torch.testing.assert_close(dt[2, 3], dt1)


def test_wgan_gp_c0_is_finite_at_phi_zero_and_linear():
    dp, dt = dirac.vector_field("wgan_gp", [0.0, 0.0], [0.3, -0.2], lam=0.5, c=0.0)
    assert torch.isfinite(dp).all()
    torch.testing.assert_close(dp, torch.tensor([-0.3, 0.2], dtype=torch.float64))
    torch.testing.assert_close(dt, torch.zeros(2, dtype=torch.float64))


def test_post_closed_forms_by_hand():
    # vanilla at the post's start: s = theta.phi = 0.04
    s = 0.04
    sig = 1 / (1 + math.exp(-s))
    dp, dt = dirac.vector_field("vanilla", PHI0, THETA0)
    torch.testing.assert_close(dp, -sig * torch.tensor(THETA0, dtype=torch.float64))
    torch.testing.assert_close(dt, (1 - sig) * torch.tensor(PHI0, dtype=torch.float64))
    # GAN-QP with l2 = 0.1: -theta - s*theta/(lam |theta|) - 0.1 phi
    dp, _ = dirac.vector_field("gan_qp", PHI0, THETA0, l2=0.1)
    th, ph = np.array(THETA0), np.array(PHI0)
    want = -th - s * th / np.linalg.norm(th) - 0.1 * ph
    np.testing.assert_allclose(dp.numpy(), want, rtol=1e-12)


def test_jacobian_eigenvalues_match_theory():
    ev = dirac.jacobian_eigenvalues("vanilla")
    np.testing.assert_allclose(sorted(ev.imag.tolist()), [-0.5, -0.5, 0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(ev.real.numpy(), 0, atol=1e-12)
    lam = 0.1
    ev = dirac.jacobian_eigenvalues("wgan_gp", lam=lam)
    np.testing.assert_allclose(ev.real.numpy(), -lam, atol=1e-12)
    np.testing.assert_allclose(np.abs(ev.imag.numpy()), math.sqrt(1 - lam**2), atol=1e-12)
    ev = dirac.jacobian_eigenvalues("gan_qp", l2=0.1)
    np.testing.assert_allclose(ev.real.numpy(), -0.05, atol=1e-12)


def test_gan_qp_jacobian_agrees_with_finite_differences():
    jac = dirac.jacobian("gan_qp", dim=2)
    h = 1e-6
    num = torch.zeros(4, 4, dtype=torch.float64)
    for j in range(4):
        e = torch.zeros(4, dtype=torch.float64)
        e[j] = h
        fp = torch.cat(dirac.closed_form_field("gan_qp", e[:2], e[2:]))
        fm = torch.cat(dirac.closed_form_field("gan_qp", -e[:2], -e[2:]))
        num[:, j] = (fp - fm) / (2 * h)
    torch.testing.assert_close(jac, num, atol=1e-6, rtol=0)


@pytest.mark.parametrize("variant,hp", [("wgan", {}), ("wgan_gp", {"c": 1.0})])
def test_jacobian_refuses_non_differentiable_fields(variant, hp):
    with pytest.raises(ValueError, match="not differentiable"):
        dirac.jacobian_eigenvalues(variant, **hp)


@pytest.mark.parametrize("variant,hp", CASES)
def test_rk4_agrees_with_scipy(variant, hp):
    tr = dirac.simulate(variant, PHI0, THETA0, t_end=5.0, dt=0.01, **hp)

    def rhs(_, y):
        dp, dt = dirac.closed_form_field(variant, y[:2], y[2:], **hp)
        return np.concatenate([dp.numpy(), dt.numpy()])

    ref = solve_ivp(rhs, (0, 5.0), PHI0 + THETA0, method="DOP853", rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(tr.theta[-1].numpy(), ref.y[2:, -1], atol=1e-6)
    np.testing.assert_allclose(tr.phi[-1].numpy(), ref.y[:2, -1], atol=1e-6)


def test_simulate_shapes_and_save_every():
    tr = dirac.simulate("vanilla", torch.zeros(7, 2) + 0.1, torch.zeros(7, 2) + 0.2, t_end=1.0, dt=0.1,
                        save_every=3)
    assert tr.t.tolist() == pytest.approx([0.0, 0.3, 0.6, 0.9, 1.0])
    assert tr.phi.shape == (5, 7, 2) and tr.theta.shape == (5, 7, 2)
    assert tr.radius.shape == (5, 7)


def test_sim_gd_is_euler_and_alt_gd_uses_the_new_phi():
    a = dirac.simulate("gan_qp", PHI0, THETA0, t_end=1.0, dt=0.1, method="sim_gd")
    b = dirac.simulate("gan_qp", PHI0, THETA0, t_end=1.0, dt=0.1, method="euler")
    torch.testing.assert_close(a.theta, b.theta)
    c = dirac.simulate("wgan_gp", PHI0, THETA0, t_end=0.1, dt=0.1, method="alt_gd")
    phi1 = torch.tensor(PHI0, dtype=torch.float64) + 0.1 * dirac.vector_field("wgan_gp", PHI0, THETA0)[0]
    torch.testing.assert_close(c.phi[-1], phi1)
    torch.testing.assert_close(c.theta[-1], torch.tensor(THETA0, dtype=torch.float64) + 0.1 * phi1)


def test_closed_field_is_the_default_and_matches_autograd():
    a = dirac.simulate("wgan", PHI0, THETA0, t_end=2.0, dt=0.01, field="autograd")
    b = dirac.simulate("wgan", PHI0, THETA0, t_end=2.0, dt=0.01, field="closed")
    c = dirac.simulate("wgan", PHI0, THETA0, t_end=2.0, dt=0.01)
    torch.testing.assert_close(a.theta, b.theta, rtol=0, atol=1e-12)
    assert torch.equal(b.theta, c.theta)


def test_invariants():
    tr = dirac.simulate("gan_qp", PHI0, THETA0, t_end=20.0, dt=0.01, save_every=50)
    L = dirac.angular_momentum(tr.phi, tr.theta)
    assert float((L - L[0]).abs().max()) < 1e-9
    E = dirac.squared_norm(tr.phi, tr.theta)
    assert bool((E[1:] <= E[:-1] + 1e-12).all())
    tr = dirac.simulate("wgan", PHI0, THETA0, t_end=20.0, dt=0.005, save_every=50, field="closed")
    H = dirac.wgan_invariant(tr.phi, tr.theta)
    rho = torch.linalg.vector_norm(tr.phi, dim=-1)
    assert float((H - H[0]).abs().max()) < 1e-6
    assert float((rho - rho[0]).abs().max()) < 1e-6


def test_critical_learning_rates_match_formulas():
    for lam in (0.1, 0.4):
        assert dirac_gd.critical_learning_rate("wgan_gp", lam=lam) == pytest.approx(2 * lam, rel=1e-7)
        alt = 2 * (math.sqrt(lam**2 + 1) - lam)
        assert dirac_gd.critical_learning_rate("wgan_gp", method="alt_gd", lam=lam) == pytest.approx(alt, rel=1e-7)
    assert dirac_gd.critical_learning_rate("vanilla") == 0.0


def test_ema_matches_recursion_and_gain():
    x = torch.randn(50, 2, dtype=torch.float64)
    out = dirac.ema(x, 0.9)
    ref = x[0].clone()
    for k in range(1, 50):
        ref = 0.9 * ref + 0.1 * x[k]
    torch.testing.assert_close(out[-1], ref)
    k = torch.arange(4000, dtype=torch.float64)
    rot = torch.stack([torch.cos(0.5 * 0.1 * k), torch.sin(0.5 * 0.1 * k)], 1)
    amp = torch.linalg.vector_norm(dirac.ema(rot, 0.99)[-500:], dim=-1)
    assert float(amp.mean()) == pytest.approx(dirac.ema_gain(0.99, 0.5, 0.1), rel=1e-6)


@pytest.mark.parametrize("call,match", [
    (lambda: dirac.vector_field("lsgan", PHI0, THETA0), "expected one of 'vanilla'"),
    (lambda: dirac.vector_field("vanilla", [0.1, 0.2], [0.1, 0.2, 0.3]), "same shape"),
    (lambda: dirac.vector_field("vanilla", [0.1, float("nan")], THETA0), "finite"),
    (lambda: dirac.vector_field("vanilla", PHI0, THETA0, lam=0.1), "takes no"),
    (lambda: dirac.vector_field("wgan", [0.0, 0.0], THETA0), "undefined at phi = 0"),
    (lambda: dirac.vector_field("wgan_gp", PHI0, THETA0, lam=-1.0), "lam must be"),
    (lambda: dirac.simulate("vanilla", PHI0, THETA0, t_end=1, dt=0.1, method="leapfrog"), "rk4"),
    (lambda: dirac.simulate("vanilla", PHI0, THETA0, t_end=1, dt=0.1, gamma=2), "unknown hyper"),
    (lambda: dirac.vector_field("vanilla", 0.1, 0.2), r"shape \(\.\.\., d\)"),
])
def test_bad_input_raises_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_divergence_is_reported_with_the_step():
    with pytest.raises(DivergenceError, match="diverged"):
        dirac.simulate("wgan_gp", [1.0, 1.0], [1.0, 1.0], t_end=5000.0, dt=1.0, method="sim_gd", lam=5.0)


def test_end_state_labels():
    tr = dirac.simulate("wgan_gp", [[0.1, 0.2]] * 2, [[0.2, 0.1]] * 2, t_end=150.0, dt=0.1, c=0.0)
    assert [e.label for e in dirac.end_state(tr)] == ["equilibrium", "equilibrium"]
    tr = dirac.simulate("gan_qp", PHI0, THETA0, t_end=200.0, dt=0.1, field="closed")
    assert [e.label for e in dirac.end_state(tr)] == ["bounded"]
    tr = dirac.simulate("gan_qp", PHI0, THETA0, t_end=40.0, dt=0.2, method="sim_gd")
    assert [e.label for e in dirac.end_state(tr)] == ["grows"]
    # a slow growth (vanilla, simultaneous GD, lr 0.05: |theta| 0.22 -> 1.13 by t = 300) is not "bounded"
    tr = dirac.simulate("vanilla", PHI0, THETA0, t_end=300.0, dt=0.05, method="sim_gd", field="closed", save_every=10)
    assert [e.label for e in dirac.end_state(tr)] == ["grows"]


# --------------------------------------------------------------------------- the parameter object
def test_dirac_gan_validates_once_with_one_policy():
    m = dirac.DiracGAN("wgan_gp", c=1.0)
    assert m.hparams == {"lam": 0.1, "c": 1.0, "l2": 0.0}
    assert dirac.DiracGAN("gan_qp").lam == 1.0 and dirac.DiracGAN("vanilla").lam is None
    for bad, match in [(lambda: dirac.DiracGAN("vanilla", lam=0.1), "takes no 'lam'"),
                       (lambda: dirac.DiracGAN("gan_qp", c=1.0), "takes no 'c'"),
                       (lambda: dirac.DiracGAN("wgan_gp", lam=0.0), "lam must be"),
                       (lambda: dirac.DiracGAN("wgan_gp", c=-1.0), "c must be"),
                       (lambda: dirac.DiracGAN("nope"), "expected one of 'vanilla'"),
                       (lambda: dirac.DiracGAN.from_kwargs("vanilla", gamma=1.0), "unknown hyper")]:
        with pytest.raises(ValueError, match=match):
            bad()
    with pytest.raises(dataclasses_frozen_error()):
        m.lam = 2.0
    # the object and the keywords give the same run
    a = dirac.simulate(m, PHI0, THETA0, t_end=2.0, dt=0.1)
    b = dirac.simulate("wgan_gp", PHI0, THETA0, t_end=2.0, dt=0.1, c=1.0)
    torch.testing.assert_close(a.theta, b.theta)
    with pytest.raises(ValueError, match="not both"):
        dirac.simulate(m, PHI0, THETA0, t_end=2.0, dt=0.1, c=1.0)


def dataclasses_frozen_error():
    import dataclasses
    return dataclasses.FrozenInstanceError


def test_variant_table_is_the_one_source():
    assert dirac.VARIANTS == tuple(dirac.VARIANT_TABLE)
    assert dirac.DEFAULT_HPARAMS["wgan_gp"] == {"lam": 0.1, "c": 0.0}
    md = dirac.variant_table_markdown()
    assert md.count("\n") == len(dirac.VARIANTS) + 1 and "saturating" in md
    assert dirac.PHI0 == (0.1, 0.2) and dirac.THETA0 == (0.2, 0.1)


# --------------------------------------------------------------------------- conservation laws
def test_saturating_conserves_the_squared_norm_in_every_dimension():
    g = torch.Generator().manual_seed(3)
    phi, theta = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    dp, dt = dirac.vector_field("saturating", phi, theta)
    dV = 2 * ((phi * dp).sum(-1) + (theta.double() * dt).sum(-1))
    assert float(dV.abs().max()) < 1e-12
    dp, dt = dirac.vector_field("vanilla", phi, theta)  # non-saturating: dV = 2 s (1 - 2 sigma(s)) <= 0
    s = (phi.double() * theta.double()).sum(-1)
    dV = 2 * ((phi * dp).sum(-1) + (theta.double() * dt).sum(-1))
    torch.testing.assert_close(dV, 2 * s * (1 - 2 * torch.sigmoid(s)))


@pytest.mark.parametrize("variant,hp", [("vanilla", {}), ("saturating", {}), ("gan_qp", {"lam": 0.7})])
def test_antisymmetric_momentum_is_conserved_in_d3(variant, hp):
    g = torch.Generator().manual_seed(4)
    phi, theta = 0.5 * torch.randn(3, generator=g), 0.5 * torch.randn(3, generator=g)
    tr = dirac.simulate(variant, phi, theta, t_end=5.0, dt=0.01, field="closed", **hp)
    A = dirac.angular_momentum_matrix(tr.phi, tr.theta)
    assert A.shape == (len(tr.t), 3, 3)
    assert float((A - A[0]).abs().max()) < 1e-9
    torch.testing.assert_close(A[0], -A[0].T)


def test_wgan_gp_breaks_the_conservation_law():
    tr = dirac.simulate("wgan_gp", PHI0, THETA0, t_end=5.0, dt=0.01, c=0.0)
    L = dirac.angular_momentum(tr.phi, tr.theta)
    torch.testing.assert_close(L, L[0] * torch.exp(-0.2 * tr.t), rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------- gradient descent exactly
def test_alternating_gd_conserves_L_and_simultaneous_multiplies_it():
    g = torch.Generator().manual_seed(5)
    phi, theta = torch.randn(50, 2, generator=g), torch.randn(50, 2, generator=g)
    for variant, hp in [("vanilla", {}), ("saturating", {}), ("gan_qp", {"lam": 0.5})]:
        alt = dirac.simulate(variant, phi, theta, t_end=2.0, dt=0.1, method="alt_gd", **hp)
        L = dirac.angular_momentum(alt.phi, alt.theta)
        assert float(((L - L[0]) / L[0]).abs().max()) < 1e-12
        sim = dirac.simulate(variant, phi, theta, t_end=0.1, dt=0.1, method="sim_gd", **hp)
        L0, L1 = dirac.angular_momentum(sim.phi[0], sim.theta[0]), dirac.angular_momentum(sim.phi[1], sim.theta[1])
        fac = dirac_gd.angular_momentum_factor(variant, phi, theta, 0.1, **hp)
        torch.testing.assert_close(L1, L0 * fac, rtol=1e-12, atol=1e-14)
    s = (phi.double() * theta.double()).sum(-1)
    sig = torch.sigmoid(s)
    torch.testing.assert_close(dirac_gd.angular_momentum_factor("vanilla", phi, theta, 0.1), 1 + 0.01 * sig * (1 - sig))


def test_thresholds_cross_at_one_over_sqrt3():

    lam = dirac_gd.crossover_lambda()
    assert dirac_gd.threshold_simultaneous(lam) == pytest.approx(dirac_gd.threshold_alternating(lam), rel=1e-12)
    assert dirac_gd.threshold_simultaneous(0.9) == pytest.approx(1.8)
    assert dirac_gd.threshold_alternating(0.9) == pytest.approx(0.8908, abs=1e-4)
    assert dirac_gd.critical_learning_rate("wgan_gp", lam=0.9) == pytest.approx(1.8, rel=1e-7)
    assert dirac_gd.critical_learning_rate("wgan_gp", method="alt_gd", lam=0.9) == pytest.approx(
        dirac_gd.threshold_alternating(0.9), rel=1e-7)


def test_envelope_growth_tells_growth_from_a_flat_orbit():
    t = np.linspace(0, 200, 4001)
    flat = 1 + 0.3 * np.abs(np.sin(t))
    grow = np.sqrt(1 + t) * (1 + 0.3 * np.abs(np.sin(t)))
    gf, gg = dirac.envelope_growth(np.stack([flat, grow], 1))
    assert abs(gf - 1) < 0.01 and 1.2 < gg < float(np.sqrt(201 / 101))


def test_field_from_losses_matches_the_variant_fields():
    g = torch.Generator().manual_seed(6)
    phi, theta = torch.randn(8, 3, generator=g), torch.randn(8, 3, generator=g)
    sp = torch.nn.functional.softplus
    a = dirac.field_from_losses(lambda p, t: sp((p * t).sum(-1)), lambda p, t: sp(-(p * t).sum(-1)), phi, theta)
    b = dirac.vector_field("vanilla", phi, theta)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y)


@pytest.mark.parametrize("method", ["sim_gd", "alt_gd"])
@pytest.mark.parametrize("variant,hp", [("vanilla", {}), ("wgan_gp", {"lam": 0.3}), ("gan_qp", {"l2": 0.1})])
def test_update_matrix_equals_jacfwd_of_the_actual_step(method, variant, hp):
    for dim in (1, 2):
        jac = dirac.jacobian(variant, dim=dim, **hp)
        torch.testing.assert_close(dirac_gd.update_matrix(jac, 0.37, method=method),
                                   dirac_gd.update_map_jacobian(variant, 0.37, method=method, dim=dim, **hp))


@pytest.mark.parametrize("field", dirac.FIELDS)
@pytest.mark.parametrize("method", dirac.METHODS)
def test_batched_simulate_equals_each_start_alone(method, field):
    """A batch of starts integrated in one call is each start integrated alone, bit for bit."""
    g = torch.Generator().manual_seed(3)
    phi = 0.5 * torch.randn(4, 2, generator=g, dtype=torch.float64)
    theta = 0.5 * torch.randn(4, 2, generator=g, dtype=torch.float64)
    kw = dict(t_end=2.0, dt=0.05, method=method, field=field, save_every=3, lam=0.5)
    both = dirac.simulate("gan_qp", phi, theta, **kw)
    for j in range(4):
        one = dirac.simulate("gan_qp", phi[j], theta[j], **kw)
        assert torch.equal(both.phi[:, j], one.phi) and torch.equal(both.theta[:, j], one.theta)


def test_integrate_is_one_rule_for_every_state_type():
    """integrate on torch tensors, NumPy arrays and Python complex numbers gives one trajectory."""
    m = dirac.DiracGAN("vanilla", l2=0.1)
    f_np = dirac._closed_np(m)
    p0, t0 = np.array([0.3, -0.5]), np.array([0.7, 0.2])

    def f_c(p, t):
        dp, dt = f_np(np.array([p.real, p.imag]), np.array([t.real, t.imag]))
        return complex(*dp), complex(*dt)

    for method in dirac.METHODS:
        _, ps, ts, stopped = dirac.integrate(f_np, p0, t0, dt=0.1, n_steps=30, method=method)
        _, pc, tc, _ = dirac.integrate(f_c, complex(*p0), complex(*t0), dt=0.1, n_steps=30, method=method)
        tr = dirac.simulate(m, p0, t0, t_end=3.0, dt=0.1, method=method)
        assert stopped is None
        np.testing.assert_allclose(np.array(ts), tr.theta.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(np.array(ps), tr.phi.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(np.array(tc), np.array(ts) @ np.array([1, 1j]), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(np.array(pc), np.array(ps) @ np.array([1, 1j]), rtol=1e-12, atol=1e-14)
    steps, _, _, stopped = dirac.integrate(f_np, p0, t0, dt=0.1, n_steps=30, save_every=4)
    assert steps == [0, 4, 8, 12, 16, 20, 24, 28, 30] and stopped is None
    steps, _, _, stopped = dirac.integrate(f_np, p0, t0, dt=0.1, n_steps=30, save_every=4,
                                           stop=lambda p, t: True)
    assert steps == [0, 4] and stopped == 4
