"""Unit tests of the Dirac GAN's fields: the hand-written default of simulate, instance noise,
consensus optimisation, and the hand-derived eigenvalues at the equilibrium."""
import numpy as np
import pytest
import torch

from gantools import dirac

PHI0, THETA0 = dirac.PHI0, dirac.THETA0
SMOOTH = [("vanilla", {}), ("saturating", {}), ("wgan_gp", {"c": 0.0}), ("wgan_gp", {"c": 0.0, "lam": 1.7}),
          ("gan_qp", {}), ("vanilla", {"l2": 0.3}), ("gan_qp", {"l2": 0.1}),
          ("vanilla", {"noise": 0.5}), ("saturating", {"noise": 1.3, "l2": 0.1}),
          ("vanilla", {"consensus": 0.7}), ("wgan_gp", {"c": 0.0, "consensus": 0.3}),
          ("gan_qp", {"consensus": 2.0, "l2": 0.2}), ("vanilla", {"noise": 0.8, "consensus": 0.5})]


@pytest.mark.parametrize("variant,hp", [("vanilla", {}), ("saturating", {}), ("wgan", {}), ("wgan_gp", {"c": 1.0}),
                                        ("gan_qp", {"l2": 0.1})])
def test_simulate_defaults_to_the_hand_written_field_equal_to_autograd(variant, hp):
    g = torch.Generator().manual_seed(3)
    phi = 0.3 + torch.rand(5, 2, generator=g, dtype=torch.float64)
    theta = torch.randn(5, 2, generator=g, dtype=torch.float64)
    default = dirac.simulate(variant, phi, theta, t_end=3.0, dt=0.05, **hp)
    closed = dirac.simulate(variant, phi, theta, t_end=3.0, dt=0.05, field="closed", **hp)
    auto = dirac.simulate(variant, phi, theta, t_end=3.0, dt=0.05, field="autograd", **hp)
    assert torch.equal(default.theta, closed.theta) and torch.equal(default.phi, closed.phi)
    torch.testing.assert_close(auto.theta, closed.theta, rtol=0, atol=1e-12)
    torch.testing.assert_close(auto.phi, closed.phi, rtol=0, atol=1e-12)


def test_models_without_a_hand_written_field_default_to_autograd_and_refuse_closed():
    m = dirac.DiracGAN("vanilla", noise=0.5)
    assert not m.has_closed_form and dirac.DiracGAN("vanilla", l2=0.1).has_closed_form
    a = m.simulate(PHI0, THETA0, t_end=1.0, dt=0.1)
    b = m.simulate(PHI0, THETA0, t_end=1.0, dt=0.1, field="autograd")
    assert torch.equal(a.theta, b.theta)
    with pytest.raises(ValueError, match="no hand-written field"):
        m.simulate(PHI0, THETA0, t_end=1.0, dt=0.1, field="closed")
    with pytest.raises(ValueError, match="no hand-written field"):
        dirac.DiracGAN("gan_qp", consensus=1.0).closed_field(PHI0, THETA0)


@pytest.mark.parametrize("variant,hp", SMOOTH)
def test_equilibrium_eigenvalues_equal_the_autograd_jacobian(variant, hp):
    for dim in (1, 2, 3):
        want = dirac.equilibrium_eigenvalues(variant, dim=dim, **hp)
        got = dirac.jacobian_eigenvalues(variant, dim=dim, **hp)
        assert want.shape == got.shape == (2 * dim,)
        assert float((want - got).abs().max()) < 1e-10


def test_remedy_eigenvalues_in_closed_form():
    # instance noise: -sigma^2/4 +- i sqrt(1/4 - sigma^4/16); consensus: -gamma/4 +- i/2 (vanilla)
    ev = dirac.equilibrium_eigenvalues("vanilla", dim=1, noise=0.6)
    assert ev.real.max() == pytest.approx(-0.6**2 / 4) and ev.imag.abs().max() == pytest.approx(np.sqrt(0.25 - 0.6**4 / 16))
    ev = dirac.equilibrium_eigenvalues("vanilla", dim=1, consensus=0.8)
    assert ev.real.max() == pytest.approx(-0.2) and ev.imag.abs().max() == pytest.approx(0.5)


def test_instance_noise_field_is_the_expectation_over_blurred_points():
    # d = 1: the expectation over eps_r, eps_f ~ N(0, sigma^2) by a fine 1-D quadrature, written out by hand
    sigma, phi, theta = 0.9, 0.7, -0.4
    u, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    a = sigma * phi
    dphi = -(w * (-sigma * u * sig(-a * u) + sig(phi * theta + a * u) * (theta + sigma * u))).sum()
    dtheta = (w * (1 - sig(phi * theta + a * u)) * phi).sum()
    got = dirac.vector_field("vanilla", [phi], [theta], noise=sigma)
    assert float(got[0][0]) == pytest.approx(dphi, abs=1e-9)
    assert float(got[1][0]) == pytest.approx(dtheta, abs=1e-9)
    plain = dirac.vector_field("saturating", [phi, 0.2], [theta, 0.1])
    zero = dirac.vector_field("saturating", [phi, 0.2], [theta, 0.1], noise=0.0)
    for x, y in zip(plain, zero):
        assert torch.equal(x, y)


def test_consensus_field_is_v_minus_gamma_J_transpose_v():
    g = torch.Generator().manual_seed(0)
    m0 = dirac.DiracGAN("vanilla", l2=0.1)
    m = dirac.DiracGAN("vanilla", l2=0.1, consensus=0.6)
    for _ in range(5):
        x = torch.randn(4, generator=g, dtype=torch.float64)
        v = torch.cat(m0.field(x[:2], x[2:]))
        J = torch.autograd.functional.jacobian(lambda y: torch.cat(dirac._graph_field(m0)(y[:2], y[2:])), x)
        want = v - 0.6 * J.T @ v
        torch.testing.assert_close(torch.cat(m.field(x[:2], x[2:])), want, rtol=1e-12, atol=1e-12)


def test_l2_on_phi_is_the_zero_centred_gradient_penalty():
    # grad_x D = phi for D(x) = phi.x, so (gamma/2)|grad_x D|^2 at any x is (gamma/2)|phi|^2
    gamma = 0.4
    sp = torch.nn.functional.softplus

    def loss_d(p, t):
        x = torch.zeros_like(t, requires_grad=True)          # R1: at the real point
        (gx,) = torch.autograd.grad((p * x).sum(), x, create_graph=True)
        return sp((t * p).sum(-1)) + 0.5 * gamma * (gx * gx).sum(-1)

    def loss_g(p, t):
        return sp(-(t * p).sum(-1))

    g = torch.Generator().manual_seed(1)
    phi, theta = torch.randn(50, 2, generator=g), torch.randn(50, 2, generator=g)
    r1 = dirac.field_from_losses(loss_d, loss_g, phi, theta)
    l2 = dirac.vector_field("vanilla", phi, theta, l2=gamma)
    for a, b in zip(r1, l2):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("bad,match", [
    (lambda: dirac.DiracGAN("gan_qp", noise=0.1), "instance noise is defined for the variants"),
    (lambda: dirac.DiracGAN("vanilla", noise=-0.1), "noise must be"),
    (lambda: dirac.DiracGAN("vanilla", consensus=-1.0), "consensus must be"),
    (lambda: dirac.simulate("vanilla", PHI0, THETA0, t_end=1.0, dt=0.1, field="exact"), "expected one of"),
    (lambda: dirac.equilibrium_eigenvalues("wgan"), "not differentiable"),
])
def test_bad_input_raises(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()
