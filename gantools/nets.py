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
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class EnsembleMLP(nn.Module):
    r"""``n_members`` independent MLPs evaluated in one batched call.

    Member :math:`m` computes the same map as :func:`mlp` with its own weights:
    input ``(n_members, batch, in_dim)`` -> output ``(n_members, batch, out_dim)``, each hidden
    layer :math:`h \mapsto \mathrm{act}(h W_m + b_m)` done for all members by one
    :func:`torch.baddbmm`. Members share no parameters, so a loss that *sums* the members'
    losses gives each member exactly the gradient of its own loss, and Adam (elementwise)
    then trains them as independent runs -- several seeds for the price of about one.

    Parameters
    ----------
    n_members, in_dim, out_dim, hidden, depth, act
        As in :func:`mlp`.
    seeds : sequence of int, optional
        One initialisation seed per member (PyTorch's default ``nn.Linear`` initialisation,
        :math:`U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`); default ``0..n_members-1``.
    """

    def __init__(self, n_members: int, in_dim: int, out_dim: int, *, hidden: int = 64,
                 depth: int = 2, act: str = "leaky_relu", seeds=None):
        super().__init__()
        import torch

        check_int(n_members, "n_members")
        check_int(in_dim, "in_dim")
        check_int(out_dim, "out_dim")
        check_int(hidden, "hidden")
        check_int(depth, "depth", minimum=0)
        self.act_name = check_name(act, ACTIVATIONS, "activation")
        seeds = list(range(n_members)) if seeds is None else [int(s) for s in seeds]
        if len(seeds) != n_members:
            raise ValueError(f"seeds must hold n_members={n_members} ints, got {len(seeds)}")
        self.n_members, self.in_dim, self.out_dim = n_members, in_dim, out_dim
        self.hidden, self.depth = hidden, depth
        widths = [in_dim] + [hidden] * depth + [out_dim]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            bound = fan_in ** -0.5
            w = torch.stack([(torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound for g in gens])
            b = torch.stack([(torch.rand(1, fan_out, generator=g) * 2 - 1) * bound for g in gens])
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))
        self.act = nn.LeakyReLU(0.2) if act == "leaky_relu" else ACTIVATIONS[act]()

    def forward(self, x):
        import torch

        if x.ndim != 3 or x.shape[0] != self.n_members or x.shape[2] != self.in_dim:
            raise ValueError(f"EnsembleMLP expects shape ({self.n_members}, batch, {self.in_dim}), "
                             f"got {tuple(x.shape)}")
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)  # b + h @ w, one matmul per member
            if i < last:
                h = self.act(h)
        return h

    def member(self, i: int) -> nn.Sequential:
        """A standalone :func:`mlp` holding a detached copy of member ``i``'s weights."""
        import torch

        if not 0 <= i < self.n_members:
            raise ValueError(f"member index must be in [0, {self.n_members}), got {i}")
        net = mlp(self.in_dim, self.out_dim, hidden=self.hidden, depth=self.depth, act=self.act_name)
        linears = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, w, b in zip(linears, self.weights, self.biases):
                lin.weight.copy_(w[i].T)
                lin.bias.copy_(b[i, 0])
        return net
