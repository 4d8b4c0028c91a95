"""Small network builders shared by the chapters."""
from __future__ import annotations

from torch import nn

from ._validate import check_int, check_name

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
}
"""Activation names accepted by :func:`mlp`."""


def mlp(in_dim: int, out_dim: int, *, hidden: int = 64, depth: int = 2,
        act: str = "leaky_relu") -> nn.Sequential:
    """A fully connected network ``in_dim -> hidden (x depth) -> out_dim``.

    ``depth`` counts hidden layers; each is followed by the activation ``act``
    (one of :data:`ACTIVATIONS`; ``leaky_relu`` uses slope 0.2). The output layer is linear.
    """
    check_int(in_dim, "in_dim")
    check_int(out_dim, "out_dim")
    check_int(hidden, "hidden")
    check_int(depth, "depth", minimum=0)
    check_name(act, ACTIVATIONS, "activation")
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(depth):
        layers.append(nn.Linear(width, hidden))
        layers.append(nn.LeakyReLU(0.2) if act == "leaky_relu" else ACTIVATIONS[act]())
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def n_params(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
