"""Unit tests of gantools.energy (grid likelihood, phases, EnGAN training, latent densities)
and of gantools.ensemble.EnsembleMLP."""
from __future__ import annotations

import math

import pytest
import torch

from gantools import data
from gantools import energy as en
from gantools.ensemble import EnsembleMLP
from gantools.nets import mlp
from gantools.errors import DivergenceError



CENTERS = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])


def test_mixture_energy_is_normalised_on_the_grid():
    U = en.mixture_energy(CENTERS, 0.3)
    assert abs(en.log_partition(U, 2.5, 96).item()) < 1e-3
    # and equals the Gaussian-mixture log-density
    x = torch.randn(7, 2)
    comps = torch.distributions.MultivariateNormal(CENTERS, 0.09 * torch.eye(2).expand(3, 2, 2))
    ref = torch.logsumexp(comps.log_prob(x[:, None, :]), 1) - math.log(3)
    assert torch.allclose(-U(x), ref, atol=1e-5)


def test_log_partition_of_a_gaussian_energy():
    # U = |x|^2 / (2 s^2): Z = 2π s^2
    s = 0.4
    Z = en.log_partition(lambda x: x.pow(2).sum(1) / (2 * s * s), 2.5, 128)
    assert abs(Z.item() - math.log(2 * math.pi * s * s)) < 1e-3


def test_phase_gradient_equals_autograd_of_exact_nll():
    torch.manual_seed(0)
    U = mlp(2, 1, hidden=16, depth=2, act="silu")
    x = en.sample_mixture(CENTERS, 0.3, 300, seed=0)
    auto = torch.autograd.grad(en.exact_nll(U, x, 2.0, 48), list(U.parameters()))
    pts, w = en.grid_density(U, 2.0, 48)
    phase = en.phase_gradients(U, x, pts, w)
    for a, b in zip(auto, phase):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)


def test_grid_sample_follows_the_grid_density():
    U = en.mixture_energy(CENTERS, 0.3)
    x = en.grid_sample(U, 20000, 2.5, 64, seed=0)
    ref = en.sample_mixture(CENTERS, 0.3, 20000, seed=1)
    assert torch.allclose(x.mean(0), ref.mean(0), atol=0.03)
    assert torch.allclose(x.std(0), ref.std(0), atol=0.03)


def test_fit_energy_exact_lowers_the_nll_and_rejects_unknown_phase():
    torch.manual_seed(0)
    x = en.sample_mixture(CENTERS, 0.3, 500, seed=0)
    fit = en.fit_energy(mlp(2, 1, hidden=16, depth=2, act="silu"), x, negative="exact", steps=60,
                        lim=2.5, n_grid=32, log_every=30)
    assert fit.nll[-1] < fit.nll[0] - 0.3
    with pytest.raises(ValueError, match="exact"):
        en.fit_energy(mlp(2, 1), x, negative="mcmc", steps=1)


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("negative", ["exact", "grid_samples", "langevin"])
def test_fit_energy_on_a_device_is_the_same_run(device, negative):
    x = en.sample_mixture(CENTERS, 0.3, 300, seed=0)
    fits = []
    for dev in (None, device):
        torch.manual_seed(0)
        fits.append(en.fit_energy(mlp(2, 1, hidden=8, depth=1, act="silu"), x, negative=negative, steps=6,
                                  lim=2.5, n_grid=16, n_neg=32, langevin_steps=3, log_every=3, device=dev))
    assert fits[1].nll == pytest.approx(fits[0].nll, abs=1e-4)
    assert next(fits[1].energy.parameters()).device.type == device


@pytest.mark.parametrize("device", DEVICES)
def test_train_engan_on_a_device_is_the_same_run(device):
    a = en.train_engan(_sampler, treatments=["none", "jsd"], seeds=[0], **{**EQ_KW, "steps": 5})
    b = en.train_engan(_sampler, treatments=["none", "jsd"], seeds=[0], device=device, **{**EQ_KW, "steps": 5})
    assert b.G.weights[0].device.type == device
    assert torch.allclose(a.sample_all(50), b.sample_all(50), atol=1e-4)


def test_jsd_bound_is_maximised_by_the_log_ratio():
    # for T = log-density ratio the estimator equals 2 JS - 2 log 2 <= 0, and random T gives less
    t_joint, t_marg = torch.full((10,), 3.0), torch.full((10,), -3.0)
    good = en.jsd_mi_lower_bound(t_joint, t_marg)
    bad = en.jsd_mi_lower_bound(-t_joint, -t_marg)
    assert good > bad and good <= 0


def test_ensemble_members_are_independent_and_match_mlp():
    net = EnsembleMLP(3, 2, 1, hidden=8, depth=2, seeds=[5, 6, 7])
    x = torch.randn(3, 4, 2)
    y = net(x)
    for i in range(3):
        assert torch.allclose(net.member(i)(x[i]), y[i], atol=1e-6)
    # the gradient of member 0's output touches only member 0's slice of the weights
    y[0].sum().backward()
    assert net.weights[0].grad[1:].abs().sum() == 0 and net.weights[0].grad[0].abs().sum() > 0
    # same seed -> same initial weights
    other = EnsembleMLP(1, 2, 1, hidden=8, depth=2, seeds=[6])
    assert torch.equal(other.weights[0][0], net.weights[0][1])
    with pytest.raises(ValueError, match=r"\(3, batch, 2\)"):
        net(torch.randn(4, 2))


# Equivalence of the batched trainer: a member trained in a batch is the member trained alone
# (same seed, same treatment). Tolerance: every parameter of the energy, the generator and the
# auxiliary network within EQ_ATOL after a short run (measured: at most 7.5e-8 over 12-15 steps; the
# batch changes only the order of floating-point reductions).
EQ_ATOL = 1e-5
EQ_KW = dict(hidden=16, depth=1, g_hidden=16, g_depth=2, batch=32, log_every=5, steps=15)


def _sampler(n, g):
    return data.sample("25gaussians", n, seed=g)


def _max_param_diff(run_a, m_a, run_b, m_b):
    nets = [(run_a.U, run_b.U), (run_a.G, run_b.G)]
    if run_a.aux is not None and run_b.aux is not None:
        nets.append((run_a.aux, run_b.aux))
    return max(float((p[m_a] - q[m_b]).detach().abs().max()) for a, b in nets
               for p, q in zip(a.parameters(), b.parameters()))


def _assert_members_equal_solo(arms, seeds, **kw):
    kw = {**EQ_KW, **kw}
    both = en.train_engan(_sampler, treatments=arms, seeds=seeds, **kw)
    for arm in arms:
        label = arm.label if isinstance(arm, en.Treatment) else arm
        for s in seeds:
            solo = en.train_engan(_sampler, treatments=[arm], seeds=[s], **kw)
            diff = _max_param_diff(both, both.index(label, s), solo, 0)
            assert diff <= EQ_ATOL, (label, s, diff)
    return both


def test_seeds_in_a_batch_equal_solo_runs():
    both = _assert_members_equal_solo(["none"], [0, 1, 5])
    # a member's run depends on its own seed only: seed 1 alone or beside others is the same run
    assert both.labels == [("none", 0), ("none", 1), ("none", 5)]


def test_entropy_treatments_in_a_batch_equal_solo_runs():
    # none, InfoGAN and JSD share one batch (and one auxiliary ensemble) but train as if alone
    both = _assert_members_equal_solo(["none", "infogan", "jsd"], [0, 2])
    assert [t for t, _ in both.labels] == ["none"] * 2 + ["infogan"] * 2 + ["jsd"] * 2
    stats = en.engan_mode_stats(both, "25gaussians", n=200)
    assert set(stats) == set(both.labels)


def test_arm_settings_in_a_batch_equal_solo_runs():
    # arms that differ in entropy weight, u_steps, steps, decay, penalty and learning rates
    # (the axes of the ablation and of the entropy study) share one batch but train as if alone
    arms = [en.Treatment("none", name="a", u_steps=1, decay=False),
            en.Treatment("jsd", name="b", u_steps=3, steps=7, gp=0.5, weight=0.3),
            en.Treatment("infogan", name="c", weight=0.2, lr_u=1e-3, lr_g=3e-3),
            en.Treatment("none", name="d", gp=1.0, steps=11)]
    _assert_members_equal_solo(arms, [1, 3])


def test_arm_overrides_equal_the_same_settings_as_arguments():
    # a Treatment's fields are the train_engan arguments of the run alone
    arm = en.Treatment("jsd", name="b", u_steps=3, steps=7, gp=0.5, weight=0.3, lr_g=1e-3)
    both = en.train_engan(_sampler, treatments=["none", arm], seeds=[0, 1], **EQ_KW)
    solo = en.train_engan(_sampler, treatments=["jsd"], seeds=[1], **{**EQ_KW, **dict(
        u_steps=3, steps=7, gp=0.5, jsd_weight=0.3, lr_g=1e-3)})
    assert _max_param_diff(both, both.index("b", 1), solo, 0) <= EQ_ATOL
    with pytest.raises(ValueError, match="unique"):
        en.train_engan(_sampler, treatments=["none", en.Treatment("jsd", name="none")], steps=1)


def test_ablation_rows_in_a_batch_equal_solo_runs():
    # the rows of one architecture group train side by side in run_ablation
    # (the rows' step counts scaled from the recipe's 10,000 steps to this run's 12)
    rows = [r for r in en.ABLATION_ROWS if not r.arch]
    assert len(rows) >= 5
    short = {r.name: {k: (max(1, v * 12 // 10000) if k == "steps" else v) for k, v in r.arm} for r in rows}
    arms = [en.Treatment("none", name=r.name, **short[r.name]) for r in rows]
    kw = {**EQ_KW, "steps": 12}
    both = en.train_engan(_sampler, treatments=arms, seeds=[0], **kw)
    for r in rows:
        alone = en.train_engan(_sampler, treatments=["none"], seeds=[0], **{**kw, **short[r.name]})
        assert _max_param_diff(both, both.index(r.name, 0), alone, 0) <= EQ_ATOL, r.name


def test_fixed_energy_members_equal_solo_runs():
    U = en.mixture_energy(data.mode_centers("25gaussians"), 0.3)
    _assert_members_equal_solo(["none", "infogan"], [0, 1], fixed_energy=U)


def test_recipe_defaults_are_the_best_measured_setting():
    import inspect

    sig = inspect.signature(en.train_engan).parameters
    assert sig["hidden"].default == 128 and sig["g_hidden"].default == 128 and sig["g_depth"].default == 3
    assert en.ABLATION_ROWS[0].name == "recipe" and not en.ABLATION_ROWS[0].arch
    assert ("hidden", 64) in dict((r.name, r) for r in en.ABLATION_ROWS)["energy width 64"].arch


def test_train_engan_validates_and_detects_divergence():
    sampler = lambda n, g: data.sample("8gaussians", n, seed=g)
    with pytest.raises(ValueError, match="infogan"):
        en.train_engan(sampler, treatments=["entropy"], steps=1)
    with pytest.raises(DivergenceError, match="loss"):
        en.train_engan(lambda n, g: torch.full((n, 2), float("nan")), treatments=["none"], steps=2,
                       hidden=8, depth=1, batch=8)


def test_latent_log_density_and_jacobian():
    A = torch.tensor([[2.0, 0.5], [0.0, 1.5]])
    G = lambda z: torch.tanh(z) + z @ A.T
    z = torch.randn(20, 2)
    from torch.func import jacrev, vmap
    J = vmap(jacrev(lambda v: G(v[None])[0]))(z)
    assert torch.allclose(en.log_abs_det_jacobian(G, z), torch.linalg.slogdet(J)[1], atol=1e-5)
    U = en.mixture_energy(CENTERS, 0.5)
    diff = en.latent_log_density(U, G, z) - en.latent_log_density(U, G, z, jacobian=False)
    assert torch.allclose(diff, en.log_abs_det_jacobian(G, z), atol=1e-5)
    with pytest.raises(ValueError, match="R\\^d to R\\^d"):
        en.log_abs_det_jacobian(lambda v: v.sum(1, keepdim=True).expand(-1, 3), z)


def test_shape_errors():
    U = en.mixture_energy(CENTERS, 0.3)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        en.exact_nll(U, torch.zeros(5, 3))
    with pytest.raises(ValueError, match="shape"):
        en.log_partition(lambda x: x, 1.0, 8)


def test_decay_reaches_zero_learning_rate():
    """Linear decay: generator step t of S uses lr (1 - t/S). Step 0 is undecayed, so one-step runs
    agree exactly; the second of two steps uses lr/2, and Adam's update is proportional to its
    learning rate, so that step moves the generator half as far as without decay."""
    sampler = lambda n, g: data.sample("8gaussians", n, seed=g)
    kw = dict(treatments=["none"], seeds=[0, 1, 2, 3, 4], hidden=8, depth=1, g_depth=1, batch=16)

    def flat(run, m):
        return torch.cat([p.detach().flatten() for p in run.generator(m).parameters()])

    one = en.train_engan(sampler, decay=True, steps=1, **kw)
    one_plain = en.train_engan(sampler, decay=False, steps=1, **kw)
    two = en.train_engan(sampler, decay=True, steps=2, **kw)
    two_plain = en.train_engan(sampler, decay=False, steps=2, **kw)
    for m in range(5):
        assert torch.equal(flat(one, m), flat(one_plain, m))
        ratio = float((flat(two, m) - flat(one, m)).norm() / (flat(two_plain, m) - flat(one, m)).norm())
        assert abs(ratio - 0.5) < 0.02, (m, ratio)   # measured 0.496-0.502 over these seeds


def test_mode_balance_tells_a_smear_from_a_balanced_sampler():
    from gantools.metrics import mode_balance

    c = data.mode_centers("25gaussians")
    s = data.mode_sigma("25gaussians")
    good = mode_balance(data.sample("25gaussians", 5000, seed=0), c, s)
    assert good.modes_captured == 25 and good.high_quality_fraction > 0.95 and good.balanced_mass > 0.9
    smear = mode_balance((torch.rand(5000, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1) * 1.6, c, s)
    assert smear.balanced_mass < 0.1 and smear.high_quality_fraction < 0.1
    collapse = mode_balance(c[:5].repeat(1000, 1), c, s)
    assert collapse.modes_captured == 5 and abs(collapse.balanced_mass - 0.2) < 1e-9
    assert abs(collapse.kl_hq - math.log(5)) < 1e-9


def test_run_ablation_groups_rows_by_architecture():
    sampler = lambda n, g: data.sample("8gaussians", n, seed=g)
    rows = [en.AblationRow("r"), en.AblationRow("u1", arm=(("u_steps", 1),)),
            en.AblationRow("w8", arch=(("hidden", 8),))]
    res = en.run_ablation(sampler, "8gaussians", rows=rows, seeds=[0, 1], n_eval=100, steps=3, hidden=16,
                          g_hidden=16, depth=1, batch=16)
    assert [r.row.name for r in res] == ["r", "u1", "w8"]
    assert [r.members_in_call for r in res] == [4, 4, 2]
    assert set(res[0].stats) == {0, 1}


def test_kumar_estimator_arms_in_a_batch_equal_solo_runs():
    # the statistics network's own optimiser (lr_aux) and its width/depth: a JSD arm with Kumar et
    # al.'s estimator beside the book's JSD and InfoGAN arms trains as if alone
    arms = [en.Treatment("jsd", name="book jsd", weight=0.5),
            en.Treatment("jsd", name="kumar", weight=0.5, lr_aux=1e-4),
            en.Treatment("infogan", name="info own", weight=0.2, lr_aux=3e-3, u_steps=1)]
    both = _assert_members_equal_solo(arms, [0, 2], aux_hidden=24, aux_depth=3)
    assert [w.shape[-1] for w in both.aux.weights] == [24, 24, 24, 3]


def test_own_auxiliary_optimiser_steps_at_its_constant_rate():
    # Adam's first step moves each parameter by about its learning rate: the auxiliary network of an
    # arm with lr_aux by lr_aux (not by the generator's rate), the others by lr_g
    kw = {**EQ_KW, "steps": 1, "u_steps": 1, "lr_g": 1e-2}
    start = en.train_engan(_sampler, treatments=["jsd"], seeds=[0], **kw)
    own = en.train_engan(_sampler, treatments=[en.Treatment("jsd", lr_aux=1e-4)], seeds=[0], **kw)
    init = en._networks(en._resolve_members([en.Treatment("jsd")], [0], dict(
        steps=1, u_steps=1, gp=0.1, decay=True, lr_u=1e-3, lr_g=1e-2, infogan_weight=1.0, jsd_weight=1.0), None),
        2, dict(hidden=16, depth=1, act="leaky_relu", g_hidden=16, g_depth=2, g_act="relu",
                aux_hidden=None, aux_depth=None), None)[2]
    moved = lambda run: max(float((p - q).detach().abs().max()) for p, q in zip(run.aux.parameters(), init.parameters()))  # noqa: E731
    assert 0.9e-2 < moved(start) <= 1.0001e-2
    assert 0.9e-4 < moved(own) <= 1.0001e-4
    with pytest.raises(ValueError, match="lr_aux"):
        en.train_engan(_sampler, treatments=[en.Treatment("jsd", lr_aux=-1.0)], steps=1)


def test_kumar_weight_is_their_cross_entropy_with_weight_one():
    # their generator adds BCE(T(x, z) -> 1, T(x, z_shuffled) -> 0), a mean over 2B pairs; the book's
    # generator subtracts lambda_2 * I_JSD: the two are equal for lambda_2 = KUMAR_JSD["weight"]
    t_joint, t_marg = torch.randn(64), torch.randn(64)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.cat([t_joint, t_marg]), torch.cat([torch.ones(64), torch.zeros(64)]))
    assert torch.allclose(bce, -en.KUMAR_JSD["weight"] * en.jsd_mi_lower_bound(t_joint, t_marg), atol=1e-6)
    arms = en.kumar_jsd_arms()
    assert [a.label for a in arms] == ["jsd-kumar 0.1", "jsd-kumar 0.5", "jsd-kumar 1"]
    assert all(a.entropy == "jsd" and a.lr_aux == en.KUMAR_JSD["lr_aux"] for a in arms)
