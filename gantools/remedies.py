r"""The post's two remedies on real networks: slight L2 on the discriminator, EMA of the weights (Part I).

Two batched experiments, each a set of independent runs trained side by side as members of
:class:`gantools.ensemble.EnsembleMLP` (a loss *summed* over members gives every member exactly the
gradient of its own loss, and Adam is elementwise, so the members are independent runs):

- :func:`train_gan_ensemble`: a non-saturating MLP GAN on a 2-D toy mixture, one member per
  (L2 weight, seed), the discriminator's loss carrying :math:`\tfrac{l_2}{2}\lVert\phi\rVert^2`;
- :func:`train_classifier_ensemble`: an MLP classifier on the 8x8 digits with a constant learning
  rate (the post's supervised example), one member per seed.

Both keep exponential moving averages of the trained weights (:func:`gantools.train.ema_model`):

.. math::
    \bar w_k=\beta\,\bar w_{k-1}+(1-\beta)\,w_k .
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel

from ._validate import check_int, check_positive, make_generator
from .data import digits as _digits
from .data import sample as _sample
from .errors import DivergenceError
from .ensemble import EnsembleMLP
from .train import ema_model

__all__ = ["GANEnsembleRun", "train_gan_ensemble", "ClassifierEnsembleRun", "train_classifier_ensemble",
           "ema_window", "ema_design_decay"]


def ema_window(decay: float) -> float:
    r"""The averaging window of an EMA, :math:`N=1/(1-\beta)` steps.

    Parameters
    ----------
    decay : float
        :math:`\beta\in(0,1)`.

    Returns
    -------
    float
    """
    beta = check_positive(decay, "decay")
    if not beta < 1:
        raise ValueError(f"decay must be in (0, 1), got {decay}")
    return 1.0 / (1.0 - beta)


def ema_design_decay(period_steps: float, shrink: float) -> float:
    r"""The decay whose EMA shrinks a circular oscillation of the given period by ``shrink``.

    For a rotation by :math:`\alpha=2\pi/P` per step and :math:`\alpha\ll1`, the EMA's gain is
    :math:`g\approx1/\sqrt{1+(N\alpha)^2}` with :math:`N=1/(1-\beta)`; solving for :math:`N`:

    .. math::
        N=\frac{P}{2\pi}\sqrt{g^{-2}-1},\qquad \beta=1-1/N .

    Parameters
    ----------
    period_steps : float
        The oscillation's period :math:`P` in steps.
    shrink : float
        The wanted gain :math:`g\in(0,1)` (e.g. 0.1 for a ten-fold smaller orbit).

    Returns
    -------
    float
        The decay :math:`\beta`.
    """
    p = check_positive(period_steps, "period_steps")
    g = check_positive(shrink, "shrink")
    if not g < 1:
        raise ValueError(f"shrink must be in (0, 1), got {shrink}")
    n = p / (2 * torch.pi) * (g ** -2 - 1) ** 0.5
    if n <= 1:
        raise ValueError(f"no EMA is needed: a window of {n:.3g} <= 1 step already gives the shrink")
    return 1.0 - 1.0 / n


def _l2_per_member(net: EnsembleMLP) -> torch.Tensor:
    """Squared norm of each member's parameters, shape (n_members,)."""
    total = 0
    for w, b in zip(net.weights, net.biases):
        total = total + w.pow(2).sum((1, 2)) + b.pow(2).sum((1, 2))
    return total


@dataclass
class GANEnsembleRun:
    """What :func:`train_gan_ensemble` returns.

    Attributes
    ----------
    G, D : EnsembleMLP
        The trained generators and discriminators, one member per run.
    emas : dict[float, AveragedModel]
        EMA copies of ``G`` by decay (all members averaged elementwise, i.e. per member).
    l2 : torch.Tensor, shape (n_members,)
        Each member's L2 weight.
    seed : torch.Tensor, shape (n_members,)
        Each member's seed.
    snapshots : torch.Tensor, shape (n_snapshots, n_members, n_fixed, 2)
        ``G(z_fixed)`` every ``snapshot_every`` steps (how much the generator still moves).
    history : dict[str, list[float]]
        ``step``, ``d_loss`` and ``g_loss`` (summed over members).
    """

    G: EnsembleMLP
    D: EnsembleMLP
    emas: dict[float, AveragedModel]
    l2: torch.Tensor
    seed: torch.Tensor
    snapshots: torch.Tensor
    history: dict[str, list[float]] = field(default_factory=dict)


def train_gan_ensemble(*, l2s: Sequence[float], n_seeds: int = 3, steps: int = 2000, dataset: str = "8gaussians",
                       hidden: int = 64, depth: int = 2, z_dim: int = 2, batch: int = 128, lr: float = 1e-3,
                       betas: tuple[float, float] = (0.5, 0.999), ema_decays: Sequence[float] = (),
                       snapshot_every: int = 100, n_fixed: int = 256, seed: int = 0) -> GANEnsembleRun:
    r"""Train one non-saturating MLP GAN per (L2 weight, seed), all in one batched computation.

    Member :math:`m` alternates one discriminator step on

    .. math::
        \ell_D=\overline{\log(1+e^{-D(x)})}+\overline{\log(1+e^{D(G(z))})}+\tfrac{l_{2,m}}{2}\lVert\phi_m\rVert^2

    and one generator step on :math:`\overline{\log(1+e^{-D(G(z))})}`, with Adam; every member draws
    its own real batch and latents.

    Parameters
    ----------
    l2s : sequence of float
        The L2 weights; each is run with ``n_seeds`` seeds (member index ``i * n_seeds + s``).
    n_seeds : int
        Seeds per L2 weight (seed ``s`` initialises both networks of its members identically
        across L2 weights, so that the weights are compared from the same start).
    steps, batch : int
        Training steps and batch size.
    dataset : str
        A toy mixture of :func:`gantools.data.sample`.
    hidden, depth, z_dim : int
        Network widths, number of hidden layers, latent dimension.
    lr : float
        Adam's learning rate (both players).
    betas : tuple of float
        Adam's betas.
    ema_decays : sequence of float
        Decays of the EMA copies of ``G``.
    snapshot_every, n_fixed : int
        How often to record ``G`` on ``n_fixed`` fixed latents.
    seed : int
        Seed of the data and latent stream.

    Returns
    -------
    GANEnsembleRun

    Raises
    ------
    DivergenceError
        If a loss becomes NaN or infinite (the message names the step).
    """
    l2 = torch.tensor([check_positive(v, "l2", allow_zero=True) for v in l2s], dtype=torch.float32)
    n_seeds = check_int(n_seeds, "n_seeds")
    steps = check_int(steps, "steps")
    batch = check_int(batch, "batch")
    snapshot_every = check_int(snapshot_every, "snapshot_every")
    if l2.numel() == 0:
        raise ValueError("l2s must hold at least one value")
    lr = check_positive(lr, "lr")
    n_members = l2.numel() * n_seeds
    seeds = [s for _ in range(l2.numel()) for s in range(n_seeds)]
    G = EnsembleMLP(n_members, z_dim, 2, hidden=hidden, depth=depth, seeds=[1000 + s for s in seeds])
    D = EnsembleMLP(n_members, 2, 1, hidden=hidden, depth=depth, seeds=[2000 + s for s in seeds])
    l2_m = l2.repeat_interleave(n_seeds)
    gen = make_generator(seed)
    z_fixed = torch.randn(n_members, n_fixed, z_dim, generator=torch.Generator().manual_seed(seed + 1))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    emas = {float(b): ema_model(G, b) for b in ema_decays}
    snaps = []
    history: dict[str, list[float]] = {"step": [], "d_loss": [], "g_loss": []}
    for step in range(steps):
        x = _sample(dataset, n_members * batch, seed=gen).reshape(n_members, batch, 2)
        with torch.no_grad():
            fake = G(torch.randn(n_members, batch, z_dim, generator=gen))
        d_out = D(torch.cat([x, fake], 1))          # one pass over real and fake
        ld_m = F.softplus(-d_out[:, :batch]).mean((1, 2)) + F.softplus(d_out[:, batch:]).mean((1, 2))
        ld = ld_m.sum() + 0.5 * (l2_m * _l2_per_member(D)).sum()
        opt_d.zero_grad(set_to_none=True)
        ld.backward()
        opt_d.step()
        lg = F.softplus(-D(G(torch.randn(n_members, batch, z_dim, generator=gen)))).mean((1, 2)).sum()
        opt_g.zero_grad(set_to_none=True)
        lg.backward()
        opt_g.step()
        for avg in emas.values():
            avg.update_parameters(G)
        if not (torch.isfinite(ld) and torch.isfinite(lg)):
            raise DivergenceError(f"train_gan_ensemble diverged: a loss became non-finite at step {step}")
        if step % snapshot_every == 0 or step == steps - 1:
            with torch.no_grad():
                snaps.append(G(z_fixed))
            history["step"].append(step)
            history["d_loss"].append(float(ld_m.detach().sum()))
            history["g_loss"].append(float(lg.detach()))
    return GANEnsembleRun(G, D, emas, l2_m, torch.tensor(seeds), torch.stack(snaps), history)


@dataclass
class ClassifierEnsembleRun:
    """What :func:`train_classifier_ensemble` returns.

    Attributes
    ----------
    net : EnsembleMLP
        The trained classifiers, one member per seed.
    emas : dict[float, AveragedModel]
        EMA copies by decay.
    history : dict[str, list]
        ``step``; ``test_acc`` and ``test_loss`` of the raw weights and ``ema_acc[decay]``,
        ``ema_loss[decay]`` of each EMA, each entry a list of per-member values.
    """

    net: EnsembleMLP
    emas: dict[float, AveragedModel]
    history: dict[str, list] = field(default_factory=dict)


def train_classifier_ensemble(*, n_seeds: int = 3, steps: int = 1500, hidden: int = 64, batch: int = 32,
                              lr: float = 1e-2, ema_decays: Sequence[float] = (0.99, 0.999),
                              eval_every: int = 50, n_test: int = 597, seed: int = 0) -> ClassifierEnsembleRun:
    r"""Train MLP classifiers on the 8x8 digits with Adam at a constant learning rate, keeping EMAs.

    The digits are split once into ``1797 - n_test`` training and ``n_test`` test images; member
    :math:`m` minimises the cross-entropy on its own mini-batches from its own initialisation.

    Parameters
    ----------
    n_seeds : int
        Number of independent runs.
    steps, batch, hidden : int
        Training steps, batch size, hidden width (one hidden layer).
    lr : float
        Adam's constant learning rate.
    ema_decays : sequence of float
        Decays of the EMA copies.
    eval_every : int
        Test-set evaluation period (steps).
    n_test : int
        Size of the held-out test set.
    seed : int
        Seed of the split and the batch stream.

    Returns
    -------
    ClassifierEnsembleRun
    """
    n_seeds = check_int(n_seeds, "n_seeds")
    steps = check_int(steps, "steps")
    batch = check_int(batch, "batch")
    x, y = _digits(seed=seed)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    x, y = x[perm], y[perm]
    x_te, y_te, x_tr, y_tr = x[:n_test], y[:n_test], x[n_test:], y[n_test:]
    net = EnsembleMLP(n_seeds, 64, 10, hidden=hidden, depth=1, seeds=[3000 + s for s in range(n_seeds)])
    opt = torch.optim.Adam(net.parameters(), lr=check_positive(lr, "lr"))
    emas = {float(b): ema_model(net, b) for b in ema_decays}
    gen = make_generator(seed + 1)
    hist: dict[str, list] = {"step": [], "test_acc": [], "test_loss": [],
                             "ema_acc": {float(b): [] for b in ema_decays}, "ema_loss": {float(b): [] for b in ema_decays}}
    xt = x_te.expand(n_seeds, -1, -1)

    def evaluate(model) -> tuple[list[float], list[float]]:
        with torch.no_grad():
            logits = model(xt)
            loss = F.cross_entropy(logits.reshape(-1, 10), y_te.repeat(n_seeds), reduction="none").reshape(n_seeds, -1)
            acc = (logits.argmax(-1) == y_te).float().mean(1)
        return acc.tolist(), loss.mean(1).tolist()

    for step in range(steps):
        idx = torch.randint(len(y_tr), (n_seeds, batch), generator=gen)
        logits = net(x_tr[idx])
        loss = F.cross_entropy(logits.reshape(-1, 10), y_tr[idx].reshape(-1), reduction="none").reshape(n_seeds, -1)
        opt.zero_grad(set_to_none=True)
        loss.mean(1).sum().backward()
        opt.step()
        for avg in emas.values():
            avg.update_parameters(net)
        if step % eval_every == 0 or step == steps - 1:
            hist["step"].append(step)
            a, l_ = evaluate(net)
            hist["test_acc"].append(a)
            hist["test_loss"].append(l_)
            for b, avg in emas.items():
                a, l_ = evaluate(avg)
                hist["ema_acc"][b].append(a)
                hist["ema_loss"][b].append(l_)
    return ClassifierEnsembleRun(net, emas, hist)
