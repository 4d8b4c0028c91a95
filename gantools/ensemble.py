r"""Independent runs side by side: several MLPs stacked into one batched network.

A multi-seed, multi-setting experiment trains :math:`M` networks that share nothing. Stacking
their weights, :math:`W \in \mathbb R^{M\times \text{in}\times \text{out}}`, turns the
:math:`M` forward passes into one batched product (:func:`torch.baddbmm`)

.. math:: h^{(m)}_{\text{next}} = \mathrm{act}\big(h^{(m)} W^{(m)} + b^{(m)}\big),
   \qquad m = 1, \dots, M,

and a loss that *sums* the members' losses gives each member exactly the gradient of its own
loss (the members' parameters are disjoint slices). With an elementwise optimiser (Adam) the
members then train exactly as separate runs would, for about the price of one run on a CPU.

:class:`StackedSequential` stacks any ``nn.Sequential`` of ``nn.Linear`` layers and elementwise
activations (the book's :func:`gantools.nets.mlp`, :func:`gantools.digits.autoencoder` with
``"mlp"``, :func:`gantools.digits.gan_pair`); :func:`train_gan_stacked` trains stacked GANs
(alternating steps, optional R1 penalty) as :func:`gantools.train.train_gan` trains one.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_int, check_positive, make_generator
from .errors import DivergenceError

__all__ = ["StackedSequential", "StackedGANRun", "VmapEnsemble", "train_gan_stacked"]


class StackedSequential(nn.Module):
    r"""``M`` networks of one ``nn.Sequential`` architecture evaluated in one batched call.

    Input ``(M, batch, in_dim)``, output ``(M, batch, out_dim)``; member ``m`` computes exactly
    what ``nets[m]`` computes on ``x[m]``.

    Parameters
    ----------
    nets : sequence of nn.Sequential
        The members, all of the same architecture, made only of ``nn.Linear`` layers and
        parameter-free elementwise modules (activations). Their current weights are copied.
    """

    def __init__(self, nets: Sequence[nn.Sequential]):
        super().__init__()
        nets = list(nets)
        if not nets:
            raise ValueError("StackedSequential needs at least one network")
        template = nets[0]
        if not isinstance(template, nn.Sequential):
            raise TypeError(f"members must be nn.Sequential, got {type(template).__name__}")
        kinds = [type(m).__name__ for m in template]
        for i, net in enumerate(nets):
            if [type(m).__name__ for m in net] != kinds:
                raise ValueError(f"member {i} has layers {[type(m).__name__ for m in net]}, expected {kinds}")
        self.template = copy.deepcopy(template)
        for p in self.template.parameters():
            p.requires_grad_(False)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self._ops: list[object] = []      # int: index of a linear layer; module: elementwise op
        for j, layer in enumerate(template):
            if isinstance(layer, nn.Linear):
                if layer.bias is None:
                    raise ValueError("linear layers without bias are not supported")
                with torch.no_grad():
                    self.weights.append(nn.Parameter(torch.stack([n[j].weight.T.clone() for n in nets])))
                    self.biases.append(nn.Parameter(torch.stack([n[j].bias[None].clone() for n in nets])))
                self._ops.append(len(self.weights) - 1)
            elif any(True for _ in layer.parameters()):
                raise ValueError(f"layer {j} ({type(layer).__name__}) has parameters; only nn.Linear may")
            else:
                self._ops.append(layer)
        self.n_members = len(nets)
        self.in_dim = self.weights[0].shape[1]
        self.out_dim = self.weights[-1].shape[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[0] != self.n_members or x.shape[2] != self.in_dim:
            raise ValueError(f"StackedSequential expects shape ({self.n_members}, batch, {self.in_dim}), "
                             f"got {tuple(x.shape)}")
        h = x
        for op in self._ops:
            if isinstance(op, int):
                h = torch.baddbmm(self.biases[op], h, self.weights[op])
            else:
                h = op(h)
        return h

    def member(self, i: int) -> nn.Sequential:
        """A standalone copy of member ``i`` (same architecture as the stacked networks).

        Parameters
        ----------
        i : int
            Member index, ``0 <= i < n_members``.

        Returns
        -------
        nn.Sequential
            A new network holding member ``i``'s current weights (trainable, detached).
        """
        if not 0 <= int(i) < self.n_members:
            raise ValueError(f"member index must be in [0, {self.n_members}), got {i}")
        net = copy.deepcopy(self.template)
        k = 0
        with torch.no_grad():
            for layer in net:
                if isinstance(layer, nn.Linear):
                    layer.weight.copy_(self.weights[k][i].T)
                    layer.bias.copy_(self.biases[k][i, 0])
                    k += 1
        for p in net.parameters():
            p.requires_grad_(True)
        return net


def _members(values, n: int, name: str) -> torch.Tensor:
    """A scalar or a length-``n`` sequence -> float tensor of shape ``(n,)``."""
    if isinstance(values, (int, float)):
        return torch.full((n,), float(values))
    t = torch.as_tensor(values, dtype=torch.float32).flatten()
    if t.numel() != n:
        raise ValueError(f"{name} must be a number or hold one value per member ({n}), got {t.numel()}")
    return t


@dataclass
class StackedGANRun:
    """What :func:`train_gan_stacked` returns.

    Attributes
    ----------
    G, D : StackedSequential
        The trained stacked generators and critics.
    history : dict of str to list
        ``"step"`` and, per logged step, ``"d_loss"`` and ``"g_loss"`` as lists of ``M`` floats.
    seconds : float
        Wall-clock training time.
    """

    G: StackedSequential
    D: StackedSequential
    history: dict[str, list] = field(default_factory=dict)
    seconds: float = 0.0


def train_gan_stacked(
    G: StackedSequential,
    D: StackedSequential,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    *,
    z_dim: int,
    steps: int,
    batch: int = 128,
    lr_d: float = 2e-4,
    lr_g: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    r1: float | Sequence[float] = 0.0,
    seed: int | torch.Generator | None = 0,
    log_every: int = 100,
    callback: Callable[[int, StackedSequential], None] | None = None,
) -> StackedGANRun:
    r"""Train ``M`` non-saturating GANs side by side (one critic step, then one generator step).

    Member :math:`m` minimises, on its own batch,

    .. math::

       L_D^{(m)} = \mathbb E_x \operatorname{softplus}(-D_m(x)) + \mathbb E_z
       \operatorname{softplus}(D_m(G_m(z))) + \gamma_m\,\mathbb E_x \lVert\nabla_x D_m(x)\rVert^2,
       \qquad L_G^{(m)} = \mathbb E_z \operatorname{softplus}(-D_m(G_m(z))),

    the losses of :func:`gantools.train.train_gan` with ``loss="ns"``, ``d_steps=1`` and
    ``r1`` :math:`=\gamma_m`; the sums over members are minimised by Adam.

    Parameters
    ----------
    G : StackedSequential
        ``M`` generators, ``(M, n, z_dim) -> (M, n, d)``.
    D : StackedSequential
        ``M`` critics, ``(M, n, d) -> (M, n, 1)`` (logits).
    sample_real : callable
        ``sample_real(n, generator)`` returns ``n`` real points, shape ``(n, d)``; each member
        gets its own ``batch`` of them per step.
    z_dim, steps, batch : int
        Latent dimension, training steps, batch per member.
    lr_d, lr_g : float
        Adam learning rates.
    betas : tuple of float
        Adam's betas.
    r1 : float or sequence of float
        R1 weight :math:`\gamma`, one for all or one per member.
    seed : int, torch.Generator or None
        Seeds the data and noise stream (initialisations are the members' own).
    log_every : int
        Logging period; ``callback(step, G)`` is called at every logged step and at the end.
    callback : callable, optional
        Called as ``callback(step, G)`` (no gradient) for evaluations during training.

    Returns
    -------
    StackedGANRun
        The trained networks and the loss history.

    Raises
    ------
    DivergenceError
        If a member's loss becomes NaN or infinite (the message names the member and step).
    """
    check_int(z_dim, "z_dim")
    check_int(steps, "steps")
    check_int(batch, "batch")
    check_int(log_every, "log_every")
    check_positive(lr_d, "lr_d")
    check_positive(lr_g, "lr_g")
    M = G.n_members
    if D.n_members != M:
        raise ValueError(f"G has {M} members, D has {D.n_members}")
    gamma = _members(r1, M, "r1")
    if (gamma < 0).any():
        raise ValueError("r1 must be non-negative")
    gen = make_generator(seed)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas)
    history: dict[str, list] = {"step": [], "d_loss": [], "g_loss": []}
    t0 = time.perf_counter()
    for step in range(steps):
        x = sample_real(M * batch, gen).reshape(M, batch, -1)
        with torch.no_grad():
            fake = G(torch.randn(M, batch, z_dim, generator=gen))
        if gamma.any():
            x = x.detach().requires_grad_(True)
        d_real = D(x)
        ld = (F.softplus(-d_real).mean((1, 2)) + F.softplus(D(fake)).mean((1, 2)))
        if gamma.any():
            (grad,) = torch.autograd.grad(d_real.sum(), x, create_graph=True)
            ld = ld + gamma * grad.pow(2).sum(-1).mean(1)
        opt_d.zero_grad(set_to_none=True)
        ld.sum().backward()
        opt_d.step()
        lg = F.softplus(-D(G(torch.randn(M, batch, z_dim, generator=gen)))).mean((1, 2))
        opt_g.zero_grad(set_to_none=True)
        lg.sum().backward()
        opt_g.step()
        bad = ~(torch.isfinite(ld) & torch.isfinite(lg))
        if bad.any():
            raise DivergenceError(f"stacked GAN: member {int(bad.nonzero()[0])} diverged at step {step}")
        if step % log_every == 0 or step == steps - 1:
            history["step"].append(step)
            history["d_loss"].append(ld.detach().tolist())
            history["g_loss"].append(lg.detach().tolist())
            if callback is not None:
                with torch.no_grad():
                    callback(step, G)
    return StackedGANRun(G=G, D=D, history=history, seconds=time.perf_counter() - t0)


class VmapEnsemble(nn.Module):
    r"""``M`` copies of any network, evaluated together with :func:`torch.func.vmap`.

    The members' parameters are stacked (:func:`torch.func.stack_module_state`) into parameters
    of shape ``(M, ...)``; the forward pass maps ``(M, batch, ...)`` to ``(M, batch, ...)`` by
    vmapping :func:`torch.func.functional_call` of one stateless copy over the member axis. Use
    it for networks that :class:`StackedSequential` cannot stack (convolutions, skips). The
    network must have no buffers that change in training (no BatchNorm statistics).

    Parameters
    ----------
    nets : sequence of nn.Module
        The members, all of one architecture; their current weights are copied.
    """

    def __init__(self, nets: Sequence[nn.Module]):
        super().__init__()
        from torch.func import stack_module_state

        nets = list(nets)
        if not nets:
            raise ValueError("VmapEnsemble needs at least one network")
        params, buffers = stack_module_state(nets)
        if buffers:
            raise ValueError("VmapEnsemble does not support networks with buffers")
        self._names = list(params)
        self.stacked = nn.ParameterList([nn.Parameter(params[k].detach().clone()) for k in self._names])
        self.n_members = len(nets)
        self._base = copy.deepcopy(nets[0])
        for p in self._base.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from torch.func import functional_call, vmap

        if x.shape[0] != self.n_members:
            raise ValueError(f"VmapEnsemble expects shape ({self.n_members}, batch, ...), got {tuple(x.shape)}")

        def one(p, xi):
            return functional_call(self._base, dict(zip(self._names, p)), (xi,))

        return vmap(one)(tuple(self.stacked), x)

    def member(self, i: int) -> nn.Module:
        """A standalone copy of member ``i`` with its current weights."""
        if not 0 <= int(i) < self.n_members:
            raise ValueError(f"member index must be in [0, {self.n_members}), got {i}")
        net = copy.deepcopy(self._base)
        with torch.no_grad():
            for name, p in zip(self._names, self.stacked):
                net.get_parameter(name).copy_(p[i])
        for p in net.parameters():
            p.requires_grad_(True)
        return net
