"""Tests for gantools.cost: timing and FLOP counting (parameters are counted by gantools.nets)."""
from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from gantools import cost, digits, ign, nets


def test_step_flops_counts_matmuls_exactly():
    lin = nn.Linear(10, 20, bias=False)
    fl = cost.step_flops(lambda: lin(torch.randn(4, 10)).sum().backward())
    assert fl == 2 * 2 * 4 * 10 * 20  # forward + weight-gradient matmul (input needs no grad)
    w = torch.randn(3, 10, 20)
    assert cost.step_flops(lambda: torch.bmm(torch.randn(3, 4, 10), w)) == 3 * 2 * 4 * 10 * 20


def test_timing_helpers_order_work_and_validate():
    out = cost.compare_seconds({"fast": lambda: None, "slow": lambda: time.sleep(0.002)}, repeat=3, warmup=1)
    assert set(out) == {"fast", "slow"} and out["slow"] > out["fast"]
    assert cost.median_seconds(lambda: time.sleep(0.001), repeat=3, warmup=0) >= 0.001
    with pytest.raises(ValueError, match="at least one"):
        cost.compare_seconds({})
    with pytest.raises(ValueError, match="repeat"):
        cost.median_seconds(lambda: None, repeat=0)


def test_parameters_are_counted_in_one_place():
    f = digits.autoencoder("mlp")
    assert nets.n_params(f) == 64 * 256 + 256 + 256 * 32 + 32 + 32 * 256 + 256 + 256 * 64 + 64
    for mod in (cost, digits, ign):
        assert not hasattr(mod, "n_params")
    assert not hasattr(ign, "median_seconds") and not hasattr(digits, "step_flops")


def test_step_flops_counts_a_gradient_penalty_step():
    """A step through torch.autograd.grad (R1) is counted, and costs more than the plain step."""
    torch.manual_seed(0)
    D = nets.mlp(2, 1, hidden=64, depth=2)
    x = torch.randn(128, 2)

    def plain():
        D(x).mean().backward()

    def r1():
        xr = x.clone().requires_grad_(True)
        out = D(xr)
        (g,) = torch.autograd.grad(out.sum(), xr, create_graph=True)
        (out.mean() + g.pow(2).sum(1).mean()).backward()

    assert cost.step_flops(r1) > cost.step_flops(plain) > 0


def test_step_copies_sees_deepcopy_and_nothing_else():
    import copy

    net = nets.mlp(4, 3, hidden=8, depth=1)
    n_bytes = sum(p.numel() * p.element_size() for p in net.parameters())
    assert cost.step_copies(lambda: copy.deepcopy(net)) == (len(list(net.parameters())), n_bytes)
    assert cost.step_copies(lambda: net(torch.randn(2, 4)).sum().backward()) == (0, 0)
    assert cost.step_copies(lambda: torch.randn(5).clone()) == (1, 20)
