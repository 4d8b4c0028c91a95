"""The explorers (gantools.explorers): their fast models agree with the book's reference code,
and every explorer builds, redraws on a slider move and reports bad settings in place."""
import math

import numpy as np
import pytest
import torch

from gantools import dirac
from gantools.explorers import EXPLORERS
from gantools.explorers import dirac as xd
from gantools.explorers import ign as xi
from gantools.explorers import monoflow as xm
from gantools.explorers import sampler as xs
from gantools.explorers.live import Explorer

HP = {"vanilla": {}, "saturating": {}, "wgan": {}, "wgan_gp": {"lam": 0.3, "c": 0.7}, "gan_qp": {"lam": 0.6}}


# ----------------------------------------------------------------------------- Part I
@pytest.mark.parametrize("variant", xd.VARIANTS)
@pytest.mark.parametrize("l2", [0.0, 0.2])
def test_closed_field_equals_autograd_field(variant, l2):
    assert set(xd.VARIANTS) == set(dirac.VARIANTS), "a new Dirac variant needs its closed form here"
    g = torch.Generator().manual_seed(7)
    states = torch.randn(20, 4, generator=g, dtype=torch.float64) * 1.3  # generic directions, not axes
    f = xd.closed_field(variant, l2=l2, **HP[variant])
    for s in states:
        dp, dt = dirac.vector_field(variant, s[:2], s[2:], l2=l2, **HP[variant])
        want = torch.cat([dp, dt]).numpy()
        got = np.array(f(*map(float, s)))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("variant", xd.VARIANTS)
@pytest.mark.parametrize("method", xd.METHODS)
def test_run_matches_dirac_simulate(variant, method):
    kw = dict(t_end=3.0, lr=0.05, phi0=(0.3, -0.5), theta0=(0.7, 0.2))
    r = xd.run(variant, method=method, **kw, **HP[variant])
    tr = dirac.simulate(variant, [0.3, -0.5], [0.7, 0.2], t_end=3.0, dt=0.05, method=method, **HP[variant])
    np.testing.assert_allclose(r.theta, tr.theta.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r.phi, tr.phi.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r.ema, dirac.ema(tr.theta, 0.99).numpy(), rtol=1e-9, atol=1e-12)


def test_run_is_cached_and_stops_when_it_diverges():
    a = xd.run("wgan_gp", lr=0.22, method="sim_gd", t_end=600.0)
    assert xd.run("wgan_gp", lr=0.22, method="sim_gd", t_end=600.0) is a
    assert a.radius[-1] > 10 * a.radius[0]  # just above the threshold lr* = 2 lam: grows
    c = xd.run("wgan_gp", lr=1.0, method="sim_gd", t_end=600.0)
    assert c.diverged_at is not None and c.t[-1] == pytest.approx(c.diverged_at) and c.t[-1] < 600
    b = xd.run("wgan_gp", lr=0.18, method="sim_gd", t_end=600.0)
    assert b.diverged_at is None and b.radius[-1] < 1e-2 * b.radius[0]


def test_dirac_run_rejects_bad_settings():
    with pytest.raises(ValueError, match="expected one of"):
        xd.run("lsgan")
    with pytest.raises(ValueError, match="rk4"):
        xd.run("vanilla", method="scheme")
    with pytest.raises(ValueError, match="lr"):
        xd.run("vanilla", lr=float("nan"))
    with pytest.raises(ValueError, match="steps"):
        xd.run("vanilla", lr=1e-4, t_end=400.0)


# ----------------------------------------------------------------------------- Part II
def test_ring_energy_equals_mixture_energy_and_its_autograd_gradient():
    from gantools.energy import mixture_energy

    ref = mixture_energy(xs.CENTRES.double(), xs.SIGMA)
    x = (torch.randn(64, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 1.5)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ua, ub = ref(xa), xs.ring_energy(xb)
    (ga,) = torch.autograd.grad(ua.sum(), xa)
    (gb,) = torch.autograd.grad(ub.sum(), xb)
    torch.testing.assert_close(ub, ua.reshape(ub.shape), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(gb, ga, rtol=1e-9, atol=1e-9)


def test_sampler_run_reports_acceptance_and_mmd():
    r = xs.run(step=0.01, n_steps=20, n_chains=50)
    assert 0.9 < r.acceptance <= 1 and r.mmd < 1.0 and r.paths.shape == (21, xs.N_PATHS, 2)
    assert xs.run(step=0.01, n_steps=20, n_chains=50) is r
    assert xs.run(step=0.01, n_steps=20, n_chains=50, use_mala=False).acceptance is None
    with pytest.raises(ValueError, match="step"):
        xs.run(step=-0.1)


# ----------------------------------------------------------------------------- Part III
def test_gaussian_w2_closed_form():
    from scipy.linalg import sqrtm

    a = np.array([[2.0, 0.3], [0.3, 0.5]])
    from gantools.gaussian import TOY_COV, TOY_MEAN, gaussian_w2   # the explorer's W2

    b = TOY_COV
    ra = np.real(sqrtm(a))
    want = math.sqrt(1.25 + np.trace(a + b - 2 * np.real(sqrtm(ra @ b @ ra))))
    assert gaussian_w2(np.array([1.0, 0.5]), a, TOY_MEAN, b) == pytest.approx(want, rel=1e-10)
    assert gaussian_w2(TOY_MEAN, b, TOY_MEAN, b) == pytest.approx(0.0, abs=1e-6)


def test_monoflow_one_g_step_distill_equals_h_loss():
    a = xm.run("identity", loss="distill", iters=20)
    b = xm.run("identity", loss="h", iters=20)
    torch.testing.assert_close(a.mu, b.mu, atol=1e-4, rtol=0)
    assert a.w2[-1] < a.w2[0]
    with pytest.raises(ValueError, match="identity"):
        xm.run("nope", iters=2)


@pytest.mark.parametrize("loss", xm.LOSSES)
def test_monoflow_run_is_train_monoflow_at_the_documented_settings(loss):
    """run() is the book's one trainer, built here from its parts at the settings run() documents
    (SGD lr 0.25 / 2*eps*0.25, D 2-64-64-1 LeakyReLU with Adam 2e-3 (0.5, 0.999), records every
    RECORD_EVERY iterations and at the end). Same code path, same seeds: tolerance 0 (measured 0)."""
    from gantools import nets
    from gantools.flow import train_monoflow
    from gantools.gaussian import TOY_COV, TOY_MEAN, sample_gaussian
    from gantools.gaussian_toy import AffineGenerator, toy_monitor

    kw = dict(h="arcsinh", eps=0.2, d_steps=2, g_steps=3, iters=23, batch=64, seed=3)  # no default, iters % 10 != 0
    got = xm.run(loss=loss, **kw)
    with torch.random.fork_rng():
        torch.manual_seed(kw["seed"])
        D = nets.mlp(2, 1, hidden=64, depth=2, act="leaky_relu")
    want = train_monoflow(AffineGenerator(mean=(1.0, 1.0)), D, sample_gaussian(TOY_MEAN, TOY_COV), z_dim=2,
                          iters=kw["iters"], loss=loss, h=kw["h"], eps=kw["eps"], d_steps=kw["d_steps"],
                          g_steps=kw["g_steps"], batch=kw["batch"], lr_d=2e-3,
                          lr_g=0.25 if loss == "distill" else 2 * kw["eps"] * 0.25, optimizer="sgd",
                          betas=(0.5, 0.999), record_every=xm.RECORD_EVERY, monitor=toy_monitor, seed=kw["seed"])
    np.testing.assert_array_equal(got.step, [0, 10, 20, 23])
    np.testing.assert_array_equal(got.step, want.history["step"])
    for key in ("mean", "cov", "w2"):
        np.testing.assert_array_equal(getattr(got, key), np.asarray(want.history[key]))
    torch.testing.assert_close(got.mu, want.G.mu.detach(), rtol=0, atol=0)
    torch.testing.assert_close(got.L, want.G.L.detach(), rtol=0, atol=0)


def test_monoflow_run_reports_divergence():
    from gantools.errors import DivergenceError

    with pytest.raises(DivergenceError, match="lower eps"):
        xm.run("exp", loss="h", eps=1.0, g_steps=16, iters=50)


# ----------------------------------------------------------------------------- Part IV
def test_member_is_independent_of_its_batch():
    s = xi.Setting(lam_tight=0.2, seed=4)
    alone = xi.train([s], steps=5).member(0)
    together = xi.train([xi.Setting(seed=9), s], steps=5).member(1)
    z = torch.randn(10, 2)
    torch.testing.assert_close(alone(z), together(z), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="toy dataset"):
        xi.run(dataset="mnist")


# ----------------------------------------------------------------------------- the widgets
def _pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_render_png_gives_savefigs_pixels_frame_after_frame():
    import io

    from gantools.explorers.live import DPI, render_png

    fig, ref = xd.figure(), xd.figure()
    for lam in (0.1, 2.0, 0.3):   # limits, ticks and titles change between frames
        for f in (fig, ref):
            xd.plot_run(f, xd.run("wgan_gp", lam=lam, t_end=50.0), f"λ = {lam}")
        buf = io.BytesIO()
        ref.savefig(buf, format="png", dpi=DPI)
        np.testing.assert_array_equal(_pixels(render_png(fig)), _pixels(buf.getvalue()))


def test_ign_explorer_blits_the_pixels_of_a_full_draw():
    from gantools.explorers.live import render_png

    box, ref = xi.explorer(), xi.figure()
    for lam_tight, n_apply in ((0.3, 1), (0.5, 5)):
        box.controls["lam_tight"].value, box.controls["n_apply"].value = lam_tight, n_apply
        xi.update(ref, lam_rec=1.0, lam_idem=1.0, lam_tight=lam_tight, use_clamp=False, a=1.5, n_apply=n_apply)
        np.testing.assert_array_equal(_pixels(box.image.value), _pixels(render_png(ref)))


def test_dirac_explorer_blits_the_pixels_of_a_full_draw():
    # the explorer redraws only its axes and title (the legends stay in the saved background);
    # its limits, ticks and title change at every move, and the frame must still be a full draw's
    from gantools.explorers.live import render_png

    box, ref = xd.explorer(), xd.figure()
    values = box.values()
    for key, value in (("lam", 2.0), ("variant", "vanilla"), ("t_end", 300.0), ("method", "sim_gd")):
        box.controls[key].value = values[key] = value
        xd.update(ref, **values)
        assert not box.message.value
        np.testing.assert_array_equal(_pixels(box.image.value), _pixels(render_png(ref)))


def test_monoflow_explorer_blits_the_pixels_of_a_full_draw():
    from gantools.explorers.live import render_png

    box, ref = xm.explorer(), xm.figure()
    values = box.values()
    for key, value in (("iters", 100), ("eps", 0.3)):
        box.controls[key].value = values[key] = value
        xm.update(ref, **values)
        assert not box.message.value
        np.testing.assert_array_equal(_pixels(box.image.value), _pixels(render_png(ref)))


@pytest.mark.parametrize("name", list(EXPLORERS))
def test_explorer_builds_and_redraws(name):
    box = EXPLORERS[name]()
    assert isinstance(box, Explorer) and box.image.value and not box.message.value
    first = box.image.value
    key, value = box.demo_move
    box.controls[key].value = value
    assert not box.message.value and box.image.value != first
    assert box.last_seconds > 0


def test_explorer_reports_a_bad_setting_and_keeps_its_figure():
    box = EXPLORERS["dirac"]()
    box.controls["variant"].value = "wgan"
    box.controls["ph1"].value, box.controls["ph2"].value = 0.0, 0.0  # WGAN's field is undefined at phi = 0
    assert "phi = 0" in box.message.value and box.image.value
    box.controls["ph1"].value = 0.1
    assert not box.message.value
    assert box.controls["lam"].disabled and box.controls["c"].disabled  # WGAN uses neither
