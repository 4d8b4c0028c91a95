"""The batched-member engine (gantools.ensemble): stacked MLPs, the per-member optimiser and the
per-member random streams, each checked against the one-run object it replaces."""
import copy

import pytest
import torch

from gantools import ensemble, nets
from gantools.ensemble import EnsembleMLP, MemberOptimizer, MemberStreams, VmapEnsemble


def test_seeded_members_are_the_plain_mlp_after_manual_seed():
    E = EnsembleMLP(3, 2, 1, hidden=(16, 8), act="tanh", seeds=[4, 5, 6])
    x = torch.randn(3, 10, 2)
    out = E(x)
    for m, s in enumerate([4, 5, 6]):
        torch.manual_seed(s)
        ref = nets.mlp(2, 1, hidden=(16, 8), act="tanh")
        assert torch.allclose(out[m], ref(x[m]), atol=1e-6)
        assert torch.allclose(E.member(m)(x[m]), ref(x[m]), atol=1e-6)


def test_stack_copies_members_and_checks_architectures():
    a, b = nets.mlp(2, 2, depth=1), nets.mlp(2, 2, depth=1)
    S = EnsembleMLP.stack([a, b])
    x = torch.randn(2, 5, 2)
    assert torch.allclose(S(x)[1], b(x[1]), atol=1e-6)
    with pytest.raises(ValueError, match="expected"):
        EnsembleMLP.stack([nets.mlp(2, 2, depth=1), nets.mlp(2, 2, depth=2)])
    with pytest.raises(ValueError, match="at least one"):
        EnsembleMLP.stack([])
    with pytest.raises(ValueError, match=r"shape \(2, batch, 2\)"):
        S(torch.randn(3, 5, 2))
    with pytest.raises(ValueError, match="activation"):
        EnsembleMLP(2, 2, 2, act="swish")


def _grads_of(loss_fn, params):
    return torch.autograd.grad(loss_fn(), params)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_member_optimizer_equals_torch_optimizer_per_member(kind):
    """Every member, stepping alone with its own learning rate, follows torch.optim exactly."""
    lrs = [1e-2, 3e-3, 5e-2]
    E = EnsembleMLP(3, 2, 1, hidden=8, depth=2, seeds=[0, 1, 2])
    singles = [E.member(m) for m in range(3)]
    opt = MemberOptimizer(E.parameters(), kind=kind, lr=lrs, betas=(0.5, 0.999))
    ref_opts = [(torch.optim.Adam(n.parameters(), lr=lr, betas=(0.5, 0.999)) if kind == "adam"
                 else torch.optim.SGD(n.parameters(), lr=lr)) for n, lr in zip(singles, lrs)]
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        x = torch.randn(3, 16, 2, generator=g)
        opt.zero_grad()
        (E(x) ** 2).mean((1, 2)).sum().backward()
        opt.step()
        for m, (n, o) in enumerate(zip(singles, ref_opts)):
            o.zero_grad()
            (n(x[m]) ** 2).mean().backward()
            o.step()
    for m, n in enumerate(singles):
        assert torch.allclose(E.member(m)(x[m]), n(x[m]), atol=1e-5)


def test_inactive_member_keeps_parameters_moments_and_steps_even_with_nan_gradients():
    p = torch.zeros(3, 4, requires_grad=True)
    opt = MemberOptimizer([p], lr=0.1)
    opt.step([torch.ones(3, 4)])
    before = (p.detach().clone(), opt.m[0].clone(), opt.v[0].clone(), opt.steps.clone())
    g = torch.ones(3, 4)
    g[1] = float("nan")
    opt.step([g], active=torch.tensor([True, False, True]))
    assert torch.equal(p[1], before[0][1]) and torch.equal(opt.m[0][1], before[1][1])
    assert torch.equal(opt.v[0][1], before[2][1])
    assert opt.steps.tolist() == [2.0, 1.0, 2.0]
    assert torch.isfinite(p).all() and not torch.equal(p[0], before[0][0])


def test_member_with_its_own_schedule_follows_adam_alone():
    """A member that steps every other call follows exactly a run alone that steps each call."""
    w = torch.zeros(2, 3, requires_grad=True)
    alone = torch.zeros(3, requires_grad=True)
    opt = MemberOptimizer([w], lr=0.05)
    ref = torch.optim.Adam([alone], lr=0.05)
    target = torch.tensor([1.0, -2.0, 0.5])
    for k in range(10):
        opt.zero_grad()
        ((w - target) ** 2).sum().backward()
        opt.step(active=torch.tensor([True, k % 2 == 0]))
        if k % 2 == 0:
            ref.zero_grad()
            ((alone - target) ** 2).sum().backward()
            ref.step()
    assert torch.allclose(w[1], alone, atol=1e-6)


def test_member_optimizer_bad_input():
    with pytest.raises(ValueError, match="'adam', 'sgd'"):
        MemberOptimizer([torch.zeros(2, 2)], kind="rmsprop")
    with pytest.raises(ValueError, match="one value per member"):
        MemberOptimizer([torch.zeros(2, 2)], lr=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="member axis"):
        MemberOptimizer([torch.zeros(2, 2), torch.zeros(3)])


def test_streams_depend_on_the_members_own_seed_only():
    a = MemberStreams([7, 8, 9])
    b = MemberStreams([8])
    xa, xb = a.randn(5, 2), b.randn(5, 2)
    assert torch.equal(xa[1], xb[0])
    sa = a.sample(lambda n, g: torch.rand(n, 3, generator=g), 4)
    sb = b.sample(lambda n, g: torch.rand(n, 3, generator=g), 4)
    assert sa.shape == (3, 4, 3) and torch.equal(sa[1], sb[0])


def test_vmap_ensemble_matches_its_members():
    nets_ = [nets.mlp(3, 2, depth=1) for _ in range(2)]
    V = VmapEnsemble(nets_)
    x = torch.randn(2, 4, 3)
    assert torch.allclose(V(x)[1], nets_[1](x[1]), atol=1e-6)
    assert torch.allclose(V.member(0)(x[0]), nets_[0](x[0]), atol=1e-6)


def test_per_member():
    assert ensemble.per_member(0.5, 3, "lr").tolist() == [0.5, 0.5, 0.5]
    with pytest.raises(ValueError, match="one value per member"):
        ensemble.per_member([1, 2], 3, "lr")


def test_device_knob_places_parameters_and_draws():
    E = EnsembleMLP(2, 2, 1, hidden=4, device="cpu")
    assert E.weights[0].device.type == "cpu"
    assert MemberStreams([0, 1], device="cpu").randn(3).device.type == "cpu"
    if torch.cuda.is_available():  # pragma: no cover - only where a GPU exists
        Eg = copy.deepcopy(E).to("cuda")
        x = torch.randn(2, 5, 2)
        assert torch.allclose(Eg(x.cuda()).cpu(), E(x), atol=1e-5)
