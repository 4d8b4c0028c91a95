r"""The batched-member engine: independent runs side by side in one computation.

A multi-seed, multi-setting experiment trains :math:`M` networks that share nothing. Stacking
their weights, :math:`W \in \mathbb R^{M\times \text{in}\times \text{out}}`, turns the
:math:`M` forward passes into one batched product (:func:`torch.baddbmm`)

.. math:: h^{(m)}_{\text{next}} = \mathrm{act}\big(h^{(m)} W^{(m)} + b^{(m)}\big),
   \qquad m = 1, \dots, M,

and a loss that *sums* the members' losses gives each member exactly the gradient of its own
loss (the members' parameters are disjoint slices). With an elementwise optimiser the members
then train as separate runs would, for about the price of one run on a CPU.

Three pieces, one home each, used by every batched trainer of the book:

* :class:`EnsembleMLP` -- ``M`` MLPs as one module, seeded per member, or stacked from
  existing ``nn.Sequential`` MLPs (:meth:`EnsembleMLP.stack`); :class:`VmapEnsemble` does the
  same for any network (convolutions, skips) with :func:`torch.func.vmap`.
* :class:`MemberOptimizer` -- Adam or SGD over stacked parameters with a learning rate and a
  step count per member and an *active* mask: an inactive member's parameters **and** moments
  stay exactly as they are, so a diverged member is frozen and a member with its own schedule
  follows exactly the optimiser of a run alone.
* :class:`MemberStreams` -- one random stream per member (data and noise), so that what a member
  sees depends on its own seed only: a member trained in a batch is the same run as the member
  trained alone (the tests check this for every trainer).

Every piece takes ``device=`` (CPU by default).
"""
from __future__ import annotations

import copy
from typing import Callable, Iterable, Sequence

import torch
from torch import nn

from ._validate import check_int, check_name
from .nets import mlp

__all__ = ["EnsembleMLP", "VmapEnsemble", "MemberOptimizer", "MemberStreams", "OPTIMIZERS",
           "per_member"]

OPTIMIZERS = ("adam", "sgd")
"""Names accepted by :class:`MemberOptimizer`."""


def per_member(values, n: int, name: str, *, device=None) -> torch.Tensor:
    """A scalar or a length-``n`` sequence as a float tensor of shape ``(n,)``.

    Parameters
    ----------
    values : float or sequence of float or torch.Tensor
        One value for all members, or one per member.
    n : int
        Number of members.
    name : str
        The argument's name, for the message.
    device : torch.device or str, optional

    Returns
    -------
    torch.Tensor, shape (n,)

    Raises
    ------
    ValueError
        If a sequence does not hold ``n`` values.
    """
    if isinstance(values, (int, float)) and not isinstance(values, bool):
        return torch.full((n,), float(values), device=device)
    t = torch.as_tensor(values, dtype=torch.float32, device=device).flatten()
    if t.numel() != n:
        raise ValueError(f"{name} must be a number or hold one value per member ({n}), got {t.numel()}")
    return t




class EnsembleMLP(nn.Module):
    r"""``M`` independent MLPs evaluated in one batched call.

    Input ``(M, batch, in_dim)``, output ``(M, batch, out_dim)``; member :math:`m` computes

    .. math::

       h^{(m)}_\ell = a\big(h^{(m)}_{\ell-1} W^{(m)}_\ell + b^{(m)}_\ell\big), \qquad
       m = 1,\dots,M,

    with :math:`W^{(m)}_\ell` of shape ``(fan_in, fan_out)``, stacked over members into one
    parameter of shape ``(M, fan_in, fan_out)``; the last layer is linear (or followed by
    ``out_act``).

    Parameters
    ----------
    n_members : int
        Number :math:`M` of members.
    in_dim, out_dim : int
        Input and output dimension of each member.
    hidden : int or sequence of int
        Width of every hidden layer (an int, repeated ``depth`` times), or the widths themselves.
    depth : int
        Number of hidden layers when ``hidden`` is an int.
    act : str
        A name from :data:`gantools.nets.ACTIVATIONS` (``leaky_relu`` has slope 0.2).
    seeds : sequence of int, optional
        One initialisation seed per member, default ``0..M-1``. Member ``m`` is initialised
        exactly as :func:`gantools.nets.mlp` is after ``torch.manual_seed(seeds[m])`` (PyTorch's
        ``nn.Linear`` default), so :meth:`member` of a fresh ensemble equals that network.
    device : torch.device or str, optional
        Where the parameters live (CPU by default).

    Attributes
    ----------
    weights : torch.nn.ParameterList
        Layer :math:`\ell`'s weights, shape ``(M, fan_in, fan_out)``.
    biases : torch.nn.ParameterList
        Layer :math:`\ell`'s biases, shape ``(M, 1, fan_out)``.
    n_members : int
    """

    def __init__(self, n_members: int, in_dim: int, out_dim: int, *, hidden: int | Sequence[int] = 64,
                 depth: int = 2, act: str = "leaky_relu", seeds: Sequence[int] | None = None,
                 device: torch.device | str | None = None):
        super().__init__()
        check_int(n_members, "n_members")
        check_int(in_dim, "in_dim")
        check_int(out_dim, "out_dim")
        mlp(in_dim, out_dim, hidden=hidden, depth=depth, act=act)   # validates the sizes and act
        seeds = list(range(n_members)) if seeds is None else [int(s) for s in seeds]
        if len(seeds) != n_members:
            raise ValueError(f"seeds must hold n_members={n_members} ints, got {len(seeds)}")
        nets = []
        for s in seeds:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(s)
                nets.append(mlp(in_dim, out_dim, hidden=hidden, depth=depth, act=act))
        self._build(nets)
        self.act_name = act
        if device is not None:
            self.to(device)

    @classmethod
    def stack(cls, nets: Sequence[nn.Sequential], *, device: torch.device | str | None = None) -> "EnsembleMLP":
        """Stack existing MLPs of one architecture (their current weights are copied).

        Parameters
        ----------
        nets : sequence of nn.Sequential
            The members, all of one architecture, made only of ``nn.Linear`` layers (with
            bias) and parameter-free elementwise modules (activations).
        device : torch.device or str, optional

        Returns
        -------
        EnsembleMLP
            Member ``m`` computes exactly what ``nets[m]`` computes.

        Raises
        ------
        ValueError
            If ``nets`` is empty, the architectures differ, or a layer other than ``nn.Linear``
            has parameters.
        """
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self._build(list(nets))
        self.act_name = None
        if device is not None:
            self.to(device)
        return self

    def _build(self, nets: list[nn.Sequential]) -> None:
        if not nets:
            raise ValueError("EnsembleMLP needs at least one network")
        template = nets[0]
        if not isinstance(template, nn.Sequential):
            raise TypeError(f"members must be nn.Sequential, got {type(template).__name__}")
        kinds = [type(m).__name__ for m in template]
        for i, net in enumerate(nets):
            if [type(m).__name__ for m in net] != kinds:
                raise ValueError(f"member {i} has layers {[type(m).__name__ for m in net]}, expected {kinds}")
        self._template = (copy.deepcopy(template).requires_grad_(False),)   # a tuple: not a submodule
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
        if not self.weights:
            raise ValueError("the networks hold no nn.Linear layer")
        self.n_members = len(nets)
        self.in_dim = self.weights[0].shape[1]
        self.out_dim = self.weights[-1].shape[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate every member on its own batch.

        Parameters
        ----------
        x : torch.Tensor, shape (M, batch, in_dim)

        Returns
        -------
        torch.Tensor, shape (M, batch, out_dim)

        Raises
        ------
        ValueError
            If ``x`` does not have shape ``(M, batch, in_dim)``.
        """
        if x.ndim != 3 or x.shape[0] != self.n_members or x.shape[2] != self.in_dim:
            raise ValueError(f"EnsembleMLP expects shape ({self.n_members}, batch, {self.in_dim}), "
                             f"got {tuple(x.shape)}")
        h = x
        for op in self._ops:
            h = torch.baddbmm(self.biases[op], h, self.weights[op]) if isinstance(op, int) else op(h)
        return h

    def member(self, i: int) -> nn.Sequential:
        """A standalone copy of member ``i`` (an ``nn.Sequential`` of the members' architecture).

        Parameters
        ----------
        i : int
            Member index, ``0 <= i < n_members``.

        Returns
        -------
        nn.Sequential
            A new network holding member ``i``'s current weights (trainable, detached), on the
            ensemble's device.

        Raises
        ------
        ValueError
            If ``i`` is out of range.
        """
        if not 0 <= int(i) < self.n_members:
            raise ValueError(f"member index must be in [0, {self.n_members}), got {i}")
        net = copy.deepcopy(self._template[0]).to(self.weights[0].device)
        k = 0
        with torch.no_grad():
            for layer in net:
                if isinstance(layer, nn.Linear):
                    layer.weight.copy_(self.weights[k][i].T)
                    layer.bias.copy_(self.biases[k][i, 0])
                    k += 1
        return net.requires_grad_(True)


class VmapEnsemble(nn.Module):
    r"""``M`` copies of any network, evaluated together with :func:`torch.func.vmap`.

    The members' parameters are stacked (:func:`torch.func.stack_module_state`) into parameters
    of shape ``(M, ...)``; the forward pass maps ``(M, batch, ...)`` to ``(M, batch, ...)`` by
    vmapping :func:`torch.func.functional_call` of one stateless copy over the member axis. Use
    it for networks that :class:`EnsembleMLP` cannot stack (convolutions, skips). The network
    must have no buffers that change in training (no BatchNorm statistics).

    Parameters
    ----------
    nets : sequence of nn.Module
        The members, all of one architecture; their current weights are copied.
    device : torch.device or str, optional
    """

    def __init__(self, nets: Sequence[nn.Module], *, device: torch.device | str | None = None):
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
        self._base = (copy.deepcopy(nets[0]).requires_grad_(False),)   # a tuple: not a submodule
        if device is not None:
            self.to(device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Member ``m`` applied to ``x[m]``; ``x`` of shape ``(M, batch, ...)``."""
        from torch.func import functional_call, vmap

        if x.shape[0] != self.n_members:
            raise ValueError(f"VmapEnsemble expects shape ({self.n_members}, batch, ...), got {tuple(x.shape)}")

        def one(p, xi):
            return functional_call(self._base[0], dict(zip(self._names, p)), (xi,))

        return vmap(one)(tuple(self.stacked), x)

    def member(self, i: int) -> nn.Module:
        """A standalone copy of member ``i`` with its current weights."""
        if not 0 <= int(i) < self.n_members:
            raise ValueError(f"member index must be in [0, {self.n_members}), got {i}")
        net = copy.deepcopy(self._base[0]).to(self.stacked[0].device)
        with torch.no_grad():
            for name, p in zip(self._names, self.stacked):
                net.get_parameter(name).copy_(p[i])
        return net.requires_grad_(True)


class MemberOptimizer:
    r"""Adam or SGD over stacked parameters (leading axis = member), one run per member.

    Member :math:`m` keeps its own step count :math:`t_m` and learning rate :math:`\eta_m`.
    With gradient :math:`g` of an *active* member, Adam does exactly what
    :class:`torch.optim.Adam` (no weight decay) does for a run alone,

    .. math::

       m \leftarrow \beta_1 m + (1-\beta_1) g, \quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,
       \quad t_m \leftarrow t_m + 1, \quad
       \theta \leftarrow \theta - \frac{\eta_m}{1-\beta_1^{t_m}}
       \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^{t_m}} + \epsilon},

    and SGD does :math:`\theta \leftarrow \theta - \eta_m g`. An inactive member's parameters,
    moments and step count stay exactly as they are (even when its gradient is NaN), so a
    diverged member is frozen and a member that steps on its own schedule follows exactly the
    optimiser of a run alone.

    Parameters
    ----------
    params : iterable of torch.Tensor
        Stacked parameters, each of shape ``(M, ...)``.
    kind : str
        ``"adam"`` or ``"sgd"`` (:data:`OPTIMIZERS`).
    lr : float or sequence of float
        One learning rate for all members or one per member.
    betas : tuple of float
        Adam's betas.
    eps : float
        Adam's :math:`\epsilon`.

    Attributes
    ----------
    steps : torch.Tensor, shape (M,)
        Steps taken by each member.
    """

    def __init__(self, params: Iterable[torch.Tensor], *, kind: str = "adam", lr=1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        if not self.params:
            raise ValueError("MemberOptimizer needs at least one parameter")
        self.kind = check_name(kind, OPTIMIZERS, "optimizer")
        M = self.params[0].shape[0]
        for p in self.params:
            if p.ndim == 0 or p.shape[0] != M:
                raise ValueError(f"every parameter must have the member axis first (M={M}), got {tuple(p.shape)}")
        dev = self.params[0].device
        self.n_members = M
        self.lr = per_member(lr, M, "lr", device=dev)
        if (self.lr < 0).any():
            raise ValueError("learning rates must be non-negative")
        self.b1, self.b2 = (float(b) for b in betas)
        self.eps = float(eps)
        self.steps = torch.zeros(M, device=dev)
        if self.kind == "adam":
            self.m = [torch.zeros_like(p) for p in self.params]
            self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to ``None``."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor | None] | None = None, *, active: torch.Tensor | None = None,
             lr=None) -> None:
        """One step for every active member.

        Parameters
        ----------
        grads : sequence of torch.Tensor or None, optional
            One gradient per parameter (``None``: that parameter is not updated); default the
            parameters' ``.grad``.
        active : torch.Tensor of bool or float, shape (M,), optional
            Which members step (default all). Inactive members are left exactly as they are.
        lr : float or sequence of float, optional
            This step's learning rates (a schedule), instead of the ones given at construction.
        """
        grads = [p.grad for p in self.params] if grads is None else list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"expected {len(self.params)} gradients, got {len(grads)}")
        M = self.n_members
        dev = self.steps.device
        on = torch.ones(M, dtype=torch.bool, device=dev) if active is None else active.to(dev).bool().reshape(M)
        eta = self.lr if lr is None else per_member(lr, M, "lr", device=dev)
        self.steps += on.float()
        if self.kind == "adam":
            t = self.steps.clamp(min=1)
            step_size = eta / (1 - self.b1 ** t)
            bc2_sqrt = (1 - self.b2 ** t).sqrt()
        for k, (p, g) in enumerate(zip(self.params, grads)):
            if g is None:
                continue
            shape = (M,) + (1,) * (p.ndim - 1)
            mask = on.view(shape)
            if self.kind == "sgd":
                p.sub_(torch.where(mask, eta.view(shape) * g, 0.0))
                continue
            m, v = self.m[k], self.v[k]
            m.copy_(torch.where(mask, m.lerp(g, 1 - self.b1), m))
            v.copy_(torch.where(mask, v * self.b2 + (1 - self.b2) * g * g, v))
            denom = v.sqrt() / bc2_sqrt.view(shape) + self.eps
            p.sub_(torch.where(mask, step_size.view(shape) * m / denom, 0.0))


class MemberStreams:
    """One random stream per member: what a member draws depends on its own seed only.

    Parameters
    ----------
    seeds : sequence of int
        One seed per member.
    device : torch.device or str, optional
        Where the drawn tensors are placed (they are drawn on the CPU, so a run is the same on
        every device).
    """

    def __init__(self, seeds: Sequence[int], *, device: torch.device | str | None = None):
        seeds = [int(s) for s in seeds]
        if not seeds:
            raise ValueError("MemberStreams needs at least one seed")
        self.seeds = seeds
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.device = torch.device("cpu") if device is None else torch.device(device)

    def __len__(self) -> int:
        return len(self.generators)

    def randn(self, *shape: int) -> torch.Tensor:
        """Standard normal draws, shape ``(M, *shape)``, member ``m`` from its own stream."""
        return torch.stack([torch.randn(*shape, generator=g) for g in self.generators]).to(self.device)

    def rand(self, *shape: int) -> torch.Tensor:
        """Uniform draws on [0, 1), shape ``(M, *shape)``."""
        return torch.stack([torch.rand(*shape, generator=g) for g in self.generators]).to(self.device)

    def sample(self, sampler: Callable[[int, torch.Generator], torch.Tensor], n: int) -> torch.Tensor:
        """``sampler(n, generator)`` for each member, stacked to shape ``(M, n, ...)``."""
        return torch.stack([sampler(n, g) for g in self.generators]).to(self.device)
