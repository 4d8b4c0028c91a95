r"""Small network builders shared by the chapters: the MLP and its parameter count.

Many MLPs trained side by side as one batch are :class:`gantools.ensemble.EnsembleMLP`.

Every network here is a multilayer perceptron with :math:`L` = ``depth`` hidden layers,

.. math::

   h_0 = x, \qquad h_\ell = a(W_\ell h_{\ell-1} + b_\ell)\ (\ell = 1,\dots,L), \qquad
   f(x) = W_{L+1} h_L + b_{L+1},

with activation :math:`a` from :data:`ACTIVATIONS` and a linear output layer.
"""
from __future__ import annotations

from typing import Sequence

from torch import nn

from ._validate import check_int, check_name

__all__ = ["ACTIVATIONS", "mlp", "n_params"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
}
"""Activation names accepted by :func:`mlp` and :class:`gantools.ensemble.EnsembleMLP`, mapped to their modules."""


def mlp(in_dim: int, out_dim: int, *, hidden: int | Sequence[int] = 64, depth: int = 2,
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
    hidden : int or sequence of int
        Width of every hidden layer (repeated ``depth`` times), or the list of widths (then
        ``depth`` is ignored).
    depth : int
        Number of hidden layers when ``hidden`` is an int (0 gives one linear layer).
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
    if not isinstance(hidden, (list, tuple)):
        check_int(hidden, "hidden")
        check_int(depth, "depth", minimum=0)
        widths = [hidden] * depth
    else:
        widths = [check_int(w, "hidden width") for w in hidden]
    check_name(act, ACTIVATIONS, "activation")
    layers: list[nn.Module] = []
    width = in_dim
    for w in widths:
        layers.append(nn.Linear(width, w))
        layers.append(nn.LeakyReLU(0.2) if act == "leaky_relu" else ACTIVATIONS[act]())
        width = w
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
