r"""Small network builders shared by the chapters: the MLP, and an ensemble of MLPs run as one batch.

Every network here is a multilayer perceptron with :math:`L` = ``depth`` hidden layers,

.. math::

   h_0 = x, \qquad h_\ell = a(W_\ell h_{\ell-1} + b_\ell)\ (\ell = 1,\dots,L), \qquad
   f(x) = W_{L+1} h_L + b_{L+1},

with activation :math:`a` from :data:`ACTIVATIONS` and a linear output layer.
"""
from __future__ import annotations

from torch import nn

from ._validate import check_int, check_name

__all__ = ["ACTIVATIONS", "mlp", "n_params", "EnsembleMLP"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
}
"""Activation names accepted by :func:`mlp` and :class:`EnsembleMLP`, mapped to their modules."""


def mlp(in_dim: int, out_dim: int, *, hidden: int = 64, depth: int = 2,
        act: str = "leaky_relu") -> nn.Sequential:
    r"""A fully connected network ``in_dim -> hidden (x depth) -> out_dim``.

    ``depth`` counts hidden layers; each is followed by the activation ``act``
    (one of :data:`ACTIVATIONS`; ``leaky_relu`` uses slope 0.2). The output layer is linear:

    .. math::

       h_0 = x, \qquad h_\ell = a(W_\ell h_{\ell-1} + b_\ell)\ (\ell = 1,\dots,\mathrm{depth}),
       \qquad f(x) = W_{\mathrm{depth}+1} h_{\mathrm{depth}} + b_{\mathrm{depth}+1}.

    Weights use PyTorch's default ``nn.Linear`` initialisation (torch's global generator).

    Parameters
    ----------
    in_dim : int
        Input dimension.
    out_dim : int
        Output dimension.
    hidden : int
        Width of every hidden layer.
    depth : int
        Number of hidden layers (0 gives one linear layer).
    act : str
        A name from :data:`ACTIVATIONS`.

    Returns
    -------
    torch.nn.Sequential
        Maps a batch of shape ``(n, in_dim)`` to shape ``(n, out_dim)``.

    Raises
    ------
    TypeError
        If a size is not an int.
    ValueError
        If a size is below its minimum (1; 0 for ``depth``) or ``act`` is unknown (the message
        lists :data:`ACTIVATIONS`).
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
    r"""Number of trainable parameters, :math:`\sum_{p:\ \mathrm{requires\_grad}} \mathrm{numel}(p)`.

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    int
        Total number of scalar entries of the parameters that require a gradient.

    Raises
    ------
    TypeError
        If ``module`` is not a ``torch.nn.Module``.
    """
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

    .. math::

       h^{(m)}_\ell = a\big(h^{(m)}_{\ell-1} W^{(m)}_\ell + b^{(m)}_\ell\big), \qquad
       m = 1,\dots,M,

    with :math:`W^{(m)}_\ell` of shape ``(fan_in, fan_out)``, stacked over members into one
    parameter of shape ``(n_members, fan_in, fan_out)``; the last layer has no activation.

    Parameters
    ----------
    n_members : int
        Number :math:`M` of independent members.
    in_dim : int
        Input dimension of each member.
    out_dim : int
        Output dimension of each member.
    hidden : int
        Width of every hidden layer.
    depth : int
        Number of hidden layers.
    act : str
        A name from :data:`ACTIVATIONS`.
    seeds : sequence of int, optional
        One initialisation seed per member (PyTorch's default ``nn.Linear`` initialisation,
        :math:`U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`); default ``0..n_members-1``.

    Attributes
    ----------
    weights : torch.nn.ParameterList
        Layer :math:`\ell`'s weights, shape ``(n_members, fan_in, fan_out)``.
    biases : torch.nn.ParameterList
        Layer :math:`\ell`'s biases, shape ``(n_members, 1, fan_out)``.

    Raises
    ------
    TypeError
        If a size is not an int.
    ValueError
        If a size is below its minimum, ``act`` is unknown, or ``seeds`` does not hold
        ``n_members`` values.
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
        r"""Evaluate every member on its own batch: :math:`y^{(m)} = f_m(x^{(m)})`.

        Parameters
        ----------
        x : torch.Tensor, shape (n_members, batch, in_dim)
            Row ``m`` is member ``m``'s input batch.

        Returns
        -------
        torch.Tensor, shape (n_members, batch, out_dim)
            Each member's output.

        Raises
        ------
        ValueError
            If ``x`` does not have shape ``(n_members, batch, in_dim)``.
        """
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
        """A standalone :func:`mlp` holding a detached copy of member ``i``'s weights.

        Parameters
        ----------
        i : int
            Member index, ``0 <= i < n_members``.

        Returns
        -------
        torch.nn.Sequential
            Maps ``(n, in_dim)`` to ``(n, out_dim)`` exactly as member ``i`` does.

        Raises
        ------
        ValueError
            If ``i`` is out of range.
        """
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
