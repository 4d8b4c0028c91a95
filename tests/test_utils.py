"""gantools.utils: seeding, the thread policy (one intra-op thread per notebook unless asked) and `descend`."""
from __future__ import annotations

import pytest
import torch

from gantools import data, utils


@pytest.fixture
def restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def test_seed_all_is_reproducible():
    g = utils.seed_all(5)
    a, b = torch.randn(3), torch.randn(3, generator=g)
    g = utils.seed_all(5)
    torch.testing.assert_close(a, torch.randn(3))
    torch.testing.assert_close(b, torch.randn(3, generator=g))


def test_default_is_one_thread_and_follows_the_setting(restore_threads, monkeypatch):
    monkeypatch.delenv("GANTOOLS_THREADS", raising=False)
    assert utils._threads() == 1                       # the shipped default
    torch.set_num_threads(2)
    monkeypatch.setattr(utils, "THREADS", 1)
    utils.seed_all(0)
    assert torch.get_num_threads() == 1
    monkeypatch.setattr(utils, "THREADS", 2)          # a reader's choice for every later seed_all
    utils.seed_all(0)
    assert torch.get_num_threads() == 2
    utils.seed_all(0, threads=1)                       # the argument wins over the setting
    assert torch.get_num_threads() == 1
    utils.seed_all(0, threads=0)                       # 0: torch's own choice
    assert torch.get_num_threads() == utils.TORCH_THREADS


def test_environment_variable_sets_the_default(monkeypatch):
    monkeypatch.setenv("GANTOOLS_THREADS", "3")
    assert utils._threads() == 3
    monkeypatch.setenv("GANTOOLS_THREADS", "")
    assert utils._threads() == 1
    monkeypatch.setenv("GANTOOLS_THREADS", "many")
    with pytest.raises(ValueError, match="whole number >= 0"):
        utils._threads()


@pytest.mark.parametrize("bad", [-1, 1.5, "two", True])
def test_bad_thread_counts_raise(bad, restore_threads):
    with pytest.raises(ValueError, match="threads must be a whole number >= 0"):
        utils.seed_all(0, threads=bad)


# --- Parts I-III print the same numbers on one thread as on two -------------------------------
# A small batched run of each part's trainer, at the width and batch of the book's recipes (few
# steps), on one thread and on two: every parameter must agree bit for bit.

def _part1():
    from gantools import dirac, remedies
    run = remedies.train_gan_ensemble(l2s=[0.0, 0.1], seeds=2, steps=10, hidden=64, batch=128,
                                      snapshot_every=5)
    y0 = torch.rand(4000, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    tr = dirac.simulate("vanilla", y0[:, :2], y0[:, 2:], t_end=2.0, dt=0.05)  # 4,000 starts at once
    return list(run.G.parameters()) + list(run.D.parameters()) + [run.snapshots, tr.phi, tr.theta]


def _part2():
    from gantools import energy
    run = energy.train_engan(lambda n, g: data.sample("25gaussians", n, seed=g), treatments=["none", "infogan"],
                             seeds=[0, 1], steps=4, log_every=2)
    return list(run.U.parameters()) + list(run.G.parameters()) + list(run.aux.parameters())


def _part3():
    from gantools.ensemble import EnsembleMLP
    from gantools.flow import train_monoflow_stacked
    pool = data.sample("8gaussians", 2000, seed=0)
    G = EnsembleMLP(3, 2, 2, hidden=128, depth=2, seeds=[0, 1, 2])
    D = EnsembleMLP(3, 2, 1, hidden=128, depth=2, seeds=[3, 4, 5])
    run = train_monoflow_stacked(G, D, lambda k, g: pool[torch.randint(len(pool), (k,), generator=g)], z_dim=2,
                                 iters=10, loss=["h", "distill", "h"], g_steps=[1, 1, 2], streams=[0, 1, 2],
                                 batch=256, record_every=5)
    return list(run.G.parameters()) + list(run.D.parameters())


def _on(threads: int, fn):
    torch.set_num_threads(threads)
    return [t.detach().clone() for t in fn()]


def test_two_threads_really_change_a_single_long_sum(restore_threads):
    # the control: on two threads torch splits one long reduction, which changes its last bits,
    # so the equalities below are not equal by construction
    x = torch.randn(4_000_000, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(*[_on(n, lambda: [x.sum()])[0] for n in (1, 2)])


@pytest.mark.parametrize("part", [_part1, _part2, _part3], ids=["part1", "part2", "part3"])
def test_batched_runs_agree_bit_for_bit_on_one_and_two_threads(part, restore_threads):
    one, two = _on(1, part), _on(2, part)
    assert len(one) == len(two) > 0
    for a, b in zip(one, two):
        assert torch.equal(a, b), f"{part.__name__}: differs by {(a - b).abs().max().item():.3g}"


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_descend_is_the_backward_step_bit_for_bit(kind):
    from gantools.flow import make_optimizer
    from gantools.utils import descend

    def run(step):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        unused = torch.nn.Parameter(torch.ones(3))
        opt = make_optimizer(list(net.parameters()) + [unused], kind, 0.05)
        x = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
        for _ in range(5):
            step(opt, net(x).pow(2).mean())
        return [p.detach().clone() for p in net.parameters()] + [unused.detach().clone()]

    def classic(opt, loss):
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    a, b = run(descend), run(classic)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], run(lambda o, l: None)[0])     # the steps moved the weights
    assert torch.equal(a[-1], torch.ones(3))                     # a parameter the loss misses is skipped
