"""Bad input across gantools: every public entry point, fed a wrong name, shape, dtype or a
non-finite value, must raise a clear ``ValueError``/``TypeError`` at the call site -- never
return a silent NaN, never crash deep inside torch with an unrelated message.

Each case is ``(module, label, call)``; ``call`` receives the imported module. The expected
exception is ``ValueError`` or ``TypeError``. Loss terms evaluated inside training loops
(``losses.d_loss``/``g_loss``, ``energy.jsd_mi_lower_bound``, ``monoflow.generator_loss``) map NaN
logits to a NaN loss as torch does, by design: the training functions turn it into a
``DivergenceError`` naming the step (cases marked ``"divergence"`` check that). The message must mention what was wrong: the
argument's name, or for unknown names the list of valid ones. Modules that do not exist yet are
skipped. ``KNOWN`` would list known failures (marked xfail, not strict); it is empty.
"""
from __future__ import annotations

import importlib
import math

import pytest
import torch
import torch.nn as nn

NAN = float("nan")
INF = float("inf")


def _pts(n=8, d=2, fill=None, dtype=torch.float32):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(0)).to(dtype)
    if fill is not None:
        x[0, 0] = fill
    return x


def _mlp(i=2, o=1):
    return nn.Sequential(nn.Linear(i, 8), nn.Tanh(), nn.Linear(8, o))


def _sampler(n, g):
    return torch.randn(n, 2, generator=g)


def _energy(m):
    return m.mixture_energy(torch.zeros(1, 2), 0.5)


# (module, label, call, words that must appear in the message (any of them))
CASES = [
    # ---- dirac --------------------------------------------------------------------------
    ("dirac", "vector_field: unknown variant", lambda m: m.vector_field("nope", [0.1], [0.2]), ["vanilla"]),
    ("dirac", "vector_field: phi/theta shapes differ", lambda m: m.vector_field("vanilla", [0.1, 0.2], [0.2]), ["shape", "phi", "theta"]),
    ("dirac", "vector_field: NaN state", lambda m: m.vector_field("vanilla", [NAN], [0.2]), ["finite", "nan"]),
    ("dirac", "vector_field: string state", lambda m: m.vector_field("vanilla", "abc", [0.2]), ["phi", "number"]),
    ("dirac", "closed_form_field: unknown variant", lambda m: m.closed_form_field("nope", [0.1], [0.2]), ["vanilla"]),
    ("dirac", "simulate: unknown method", lambda m: m.simulate("vanilla", [0.1], [0.2], t_end=1.0, dt=0.1, method="nope"), ["rk4"]),
    ("dirac", "simulate: negative dt", lambda m: m.simulate("vanilla", [0.1], [0.2], t_end=1.0, dt=-0.1), ["dt"]),
    ("dirac", "simulate: NaN t_end", lambda m: m.simulate("vanilla", [0.1], [0.2], t_end=NAN, dt=0.1), ["t_end"]),
    ("dirac", "simulate: inf start", lambda m: m.simulate("vanilla", [INF], [0.2], t_end=1.0, dt=0.1), ["finite", "phi"]),
    ("dirac", "jacobian: unknown variant", lambda m: m.jacobian("nope"), ["vanilla"]),
    ("dirac", "jacobian: dim 0", lambda m: m.jacobian("vanilla", dim=0), ["dim"]),
    ("dirac_gd", "spectral_radius: unknown method", lambda m: m.spectral_radius("vanilla", 0.1, method="nope"), ["sim_gd"]),
    ("dirac_gd", "spectral_radius: NaN lr", lambda m: m.spectral_radius("vanilla", NAN), ["lr"]),
    ("dirac_gd", "critical_learning_rate: unknown variant", lambda m: m.critical_learning_rate("nope"), ["vanilla"]),
    ("dirac", "angular_momentum: shapes differ", lambda m: m.angular_momentum([[0.1, 0.2]], [[0.1]]), ["shape", "phi", "theta"]),
    ("dirac", "squared_norm: NaN", lambda m: m.squared_norm([NAN], [0.1]), ["finite", "nan"]),
    ("dirac", "ema: decay > 1", lambda m: m.ema(torch.randn(10, 2), 1.5), ["decay"]),
    ("dirac", "ema: NaN input", lambda m: m.ema(torch.tensor([[NAN, 0.0]]), 0.9), ["finite", "x"]),
    ("dirac", "ema_gain: NaN omega", lambda m: m.ema_gain(0.9, NAN, 0.1), ["omega"]),
    # ---- data ---------------------------------------------------------------------------
    ("data", "sample: unknown dataset", lambda m: m.sample("nope", 10), ["8gaussians"]),
    ("data", "sample: n = 0", lambda m: m.sample("8gaussians", 0), ["n"]),
    ("data", "sample: float n", lambda m: m.sample("8gaussians", 2.5), ["n"]),
    ("data", "sample: bad seed", lambda m: m.sample("8gaussians", 10, seed="x"), ["seed"]),
    ("data", "mode_centers: unknown", lambda m: m.mode_centers("nope"), ["8gaussians"]),
    ("data", "mode_sigma: unknown", lambda m: m.mode_sigma("nope"), ["8gaussians"]),
    # ---- metrics ------------------------------------------------------------------------
    ("metrics", "mode_stats: wrong dim", lambda m: m.mode_stats(_pts(d=3), _pts(4, 2), 0.1), ["shape", "samples", "centers"]),
    ("metrics", "mode_stats: NaN samples", lambda m: m.mode_stats(_pts(fill=NAN), _pts(4, 2), 0.1), ["finite"]),
    ("metrics", "mode_stats: sigma <= 0", lambda m: m.mode_stats(_pts(), _pts(4, 2), -1.0), ["sigma"]),
    ("metrics", "w2: dims differ", lambda m: m.w2(_pts(d=2), _pts(d=3)), ["shape", "dim"]),
    ("metrics", "w2: NaN", lambda m: m.w2(_pts(fill=NAN), _pts()), ["finite"]),
    ("metrics", "w2: 1-D input", lambda m: m.w2(torch.randn(8), torch.randn(8)), ["shape"]),
    ("metrics", "mmd: inf", lambda m: m.mmd(_pts(fill=INF), _pts()), ["finite"]),
    ("metrics", "mmd: negative bandwidth", lambda m: m.mmd(_pts(), _pts(), bandwidths=(-1.0,)), ["bandwidth"]),
    ("metrics", "mmd: complex dtype", lambda m: m.mmd(_pts().to(torch.complex64), _pts()), ["dtype", "real"]),
    ("metrics", "digit_scores: wrong shape", lambda m: m.digit_scores(torch.zeros(5, 7)), ["shape", "64"]),
    ("metrics", "digit_scores: NaN", lambda m: m.digit_scores(torch.full((5, 64), NAN)), ["finite"]),
    # ---- nets ---------------------------------------------------------------------------
    ("nets", "mlp: unknown activation", lambda m: m.mlp(2, 1, act="nope"), ["relu"]),
    ("nets", "mlp: in_dim 0", lambda m: m.mlp(0, 1), ["in_dim"]),
    ("nets", "mlp: float width", lambda m: m.mlp(2, 1, hidden=2.5), ["hidden"]),
    ("nets", "n_params: not a module", lambda m: m.n_params("x"), ["module", "Module"]),
    # ---- losses -------------------------------------------------------------------------
    ("losses", "d_loss: unknown", lambda m: m.d_loss("nope", torch.zeros(4, 1), torch.zeros(4, 1)), ["ns"]),
    ("losses", "g_loss: unknown", lambda m: m.g_loss("nope", torch.zeros(4, 1)), ["ns"]),
    ("losses", "g_loss: integer logits", lambda m: m.g_loss("ns", torch.zeros(4, 1, dtype=torch.long)), ["d_fake"]),
    ("losses", "d_loss: list input", lambda m: m.d_loss("ns", [[0.0]], torch.zeros(4, 1)), ["tensor", "d_real"]),
    ("losses", "zero_centred_penalty: wrong x dim", lambda m: m.zero_centred_penalty(_mlp(2), _pts(d=3)), ["shape", "x"]),
    # ---- train --------------------------------------------------------------------------
    ("train", "check_finite_value: NaN", lambda m: m.check_finite_value(NAN, where="here"), ["here"], "divergence"),
    ("train", "train_gan: NaN data", lambda m: m.train_gan(_mlp(2, 2), _mlp(), lambda n, g: torch.full((n, 2), NAN), z_dim=2, steps=2, batch=8), ["step 0"], "divergence"),
    ("train", "ema_model: decay > 1", lambda m: m.ema_model(_mlp(), 1.5), ["decay"]),
    ("train", "train_gan: unknown loss", lambda m: m.train_gan(_mlp(2, 2), _mlp(), _sampler, z_dim=2, steps=2, loss="nope"), ["ns"]),
    ("train", "train_gan: z_dim mismatch", lambda m: m.train_gan(_mlp(3, 2), _mlp(), _sampler, z_dim=2, steps=2), ["z_dim", "shape"]),
    ("train", "train_gan: steps 0", lambda m: m.train_gan(_mlp(2, 2), _mlp(), _sampler, z_dim=2, steps=0), ["steps"]),
    ("train", "train_gan: NaN lr", lambda m: m.train_gan(_mlp(2, 2), _mlp(), _sampler, z_dim=2, steps=2, lr_d=NAN), ["lr_d"]),
    # ---- energy -------------------------------------------------------------------------
    ("energy", "mixture_energy: NaN centers", lambda m: m.mixture_energy(_pts(fill=NAN), 0.5), ["finite", "centers"]),
    ("energy", "mixture_energy: sigma 0", lambda m: m.mixture_energy(_pts(), 0.0), ["sigma"]),
    ("energy", "sample_mixture: n 0", lambda m: m.sample_mixture(_pts(), 0.5, 0), ["n"]),
    ("energy", "grid: n 1", lambda m: m.grid(2.0, 1), ["n"]),
    ("energy", "grid: NaN lim", lambda m: m.grid(NAN, 16), ["lim"]),
    ("energy", "exact_nll: wrong dim", lambda m: m.exact_nll(_energy(m), _pts(d=3)), ["shape", "x"]),
    ("energy", "exact_nll: NaN", lambda m: m.exact_nll(_energy(m), _pts(fill=NAN)), ["finite"]),
    ("energy", "fit_energy: unknown negative", lambda m: m.fit_energy(_mlp(), _pts(), negative="nope", steps=1), ["exact"]),
    ("energy", "fit_energy: NaN data", lambda m: m.fit_energy(_mlp(), _pts(fill=NAN), steps=1), ["finite", "data"]),
    ("energy", "train_engan: unknown treatment", lambda m: m.train_engan(_sampler, treatments=("nope",), steps=1), ["treatment"]),
    # ---- mcmc ---------------------------------------------------------------------------
    ("mcmc", "langevin: NaN start", lambda m: m.langevin(_energy(importlib.import_module("gantools.energy")), _pts(fill=NAN), step=0.1, n_steps=2), ["finite", "z0"]),
    ("mcmc", "langevin: negative step", lambda m: m.langevin(_energy(importlib.import_module("gantools.energy")), _pts(), step=-0.1, n_steps=2), ["step"]),
    ("mcmc", "langevin: float n_steps", lambda m: m.langevin(_energy(importlib.import_module("gantools.energy")), _pts(), step=0.1, n_steps=2.5), ["n_steps"]),
    ("mcmc", "mala: temperature 0", lambda m: m.mala(_energy(importlib.import_module("gantools.energy")), _pts(), step=0.1, n_steps=2, temperature=0.0), ["temperature"]),
    ("mcmc", "mala: 1-D start", lambda m: m.mala(_energy(importlib.import_module("gantools.energy")), torch.zeros(3), step=0.1, n_steps=2), ["shape", "z0"]),
    # ---- the explorers' run functions ---------------------------------------------------
    ("explorers.dirac", "run: unknown variant", lambda m: m.run("nope"), ["vanilla"]),
    ("explorers.dirac", "run: unknown method", lambda m: m.run("vanilla", method="nope"), ["rk4"]),
    ("explorers.dirac", "run: NaN lr", lambda m: m.run("vanilla", lr=NAN), ["lr"]),
    ("explorers.sampler", "run: negative step", lambda m: m.run(step=-0.1, n_steps=2, n_chains=4), ["step"]),
    ("explorers.ign", "run: unknown dataset", lambda m: m.run(dataset="nope"), ["8gaussians"]),
    ("explorers.monoflow", "run: unknown h", lambda m: m.run("nope", iters=2), ["identity"]),
    # ---- monoflow (Part III) ------------------------------------------------------------
    ("monoflow", "get_h: unknown", lambda m: m.get_h("nope"), ["identity"]),
    ("monoflow", "generator_loss: unknown h", lambda m: m.generator_loss(torch.zeros(4, 1), "nope"), ["identity"]),
    ("ratio", "f_gan_d_loss: unknown divergence", lambda m: m.f_gan_d_loss(torch.zeros(4), torch.zeros(4), "nope"), ["gan"]),
    ("gaussian", "gaussian_kl: non-PD covariance", lambda m: m.gaussian_kl([0.0, 0.0], [[1.0, 0.0], [0.0, -1.0]], [0.0, 0.0], torch.eye(2).tolist()), ["positive", "cov"]),
    ("gaussian", "gaussian_kl: shapes differ", lambda m: m.gaussian_kl([0.0, 0.0, 0.0], torch.eye(2).tolist(), [0.0, 0.0], torch.eye(2).tolist()), ["shape"]),
    ("gaussian", "gaussian_w2: NaN mean", lambda m: m.gaussian_w2([NAN, 0.0], torch.eye(2).tolist(), [0.0, 0.0], torch.eye(2).tolist()), ["finite"]),
    ("gaussian", "empirical_moments: 1-D", lambda m: m.empirical_moments(torch.zeros(5)), ["shape"]),
    ("monoflow", "particle_step: negative eps", lambda m: m.particle_step(_pts(), lambda x: x.sum(-1), -0.1), ["eps"]),
    # ---- ign (Part IV) ------------------------------------------------------------------
    ("ign", "ign_loss: x/z shapes differ", lambda m: m.ign_loss(_mlp(2, 2), _pts(d=2), _pts(d=3)), ["shape"]),
    ("ign", "ign_loss: NaN x", lambda m: m.ign_loss(_mlp(2, 2), _pts(fill=NAN), _pts()), ["finite"]),
    ("ign", "ign_loss: negative weight", lambda m: m.ign_loss(_mlp(2, 2), _pts(), _pts(), lam_rec=-1.0), ["lam_rec"]),
    ("ign", "apply_n: n 0", lambda m: m.apply_n(_mlp(2, 2), _pts(), 0), ["n"]),
    ("ign", "reconstruction_error: NaN", lambda m: m.reconstruction_error(_mlp(2, 2), _pts(fill=NAN)), ["finite"]),
    ("ign", "idempotence_error: wrong dim", lambda m: m.idempotence_error(_mlp(2, 2), _pts(d=3)), ["shape"]),
    # ---- digits (Part IV) ---------------------------------------------------------------
    ("digits", "predict_proba: wrong shape", lambda m: m.predict_proba(torch.zeros(5, 7)), ["shape", "64"]),
    ("digits", "predict_proba: NaN", lambda m: m.predict_proba(torch.full((5, 64), NAN)), ["finite"]),
    ("digits", "sharpness: wrong shape", lambda m: m.sharpness(torch.zeros(5, 7)), ["shape", "64"]),
    ("digits", "autoencoder: unknown arch", lambda m: m.autoencoder("nope"), ["mlp"]),
    ("digits", "nearest_real_distance: dims differ", lambda m: m.nearest_real_distance(torch.zeros(5, 64), torch.zeros(5, 63)), ["shape"]),
]

# Failures found in modules this test's author may not edit (reported to their owners).
KNOWN: dict[str, str] = {}  # every case found by this sweep has been fixed


def _module(name: str):
    try:
        return importlib.import_module(f"gantools.{name}")
    except ModuleNotFoundError:
        pytest.skip(f"gantools.{name} does not exist (yet)")


CASES = [c if len(c) == 5 else (*c, "value/type") for c in CASES]


@pytest.mark.parametrize("modname,label,call,words,kind", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_bad_input_is_rejected_clearly(modname, label, call, words, kind, request):
    if f"{modname}: {label}" in KNOWN:
        request.applymarker(pytest.mark.xfail(reason=KNOWN[f"{modname}: {label}"], strict=False))
    m = _module(modname)
    expected = (ValueError, TypeError)
    if kind == "divergence":
        expected = (importlib.import_module("gantools.train").DivergenceError,)
    try:
        result = call(m)
    except expected as err:
        msg = str(err)
        assert any(w.lower() in msg.lower() for w in words), (
            f"{label}: {type(err).__name__} raised, but its message does not say what was wrong "
            f"(expected one of {words}): {msg!r}")
        assert "site-packages" not in msg
        return
    except Exception as err:  # noqa: BLE001 - any other exception is the failure we look for
        want = "/".join(e.__name__ for e in expected)
        pytest.fail(f"{label}: raised {type(err).__name__} instead of {want}: {err}")
    # no exception at all: a silent result
    vals = result if isinstance(result, (tuple, list)) else [result]
    silent_nan = any(isinstance(v, float) and math.isnan(v) for v in vals) or any(
        isinstance(v, torch.Tensor) and v.is_floating_point() and torch.isnan(v).any() for v in vals)
    pytest.fail(f"{label}: accepted the bad input" + (" and returned NaN" if silent_nan else ""))
