r"""The post's two remedies on real networks: slight L2 on the discriminator, EMA of the weights (Part I).

Two batched experiments, each a set of independent runs trained side by side as members of
:class:`gantools.ensemble.EnsembleMLP` (a loss *summed* over members gives every member exactly the
gradient of its own loss; :class:`gantools.ensemble.MemberOptimizer` gives each its own Adam and
:class:`gantools.ensemble.MemberStreams` its own batches, so the members are independent runs):

- :func:`train_gan_ensemble`: a non-saturating MLP GAN on a 2-D toy mixture, one member per
  (L2 weight, seed), the discriminator's loss carrying :math:`\tfrac{l_2}{2}\lVert\phi\rVert^2`
  (the networks are built here; :func:`gantools.train.train_gan_stacked` trains them);
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

from ._validate import check_int, check_positive
from .data import digits as _digits
from .data import sample as _sample
from .ensemble import EnsembleMLP, MemberOptimizer, MemberStreams
from .train import ema_model, train_gan_stacked

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
        ``G(z_fixed)`` every ``snapshot_every`` steps, one set of ``n_fixed`` latents for all
        members (how much the generator still moves).
    history : dict[str, list]
        ``step``, and ``d_loss`` (with the L2 term) and ``g_loss`` of each member.
    """

    G: EnsembleMLP
    D: EnsembleMLP
    emas: dict[float, AveragedModel]
    l2: torch.Tensor
    seed: torch.Tensor
    snapshots: torch.Tensor
    history: dict[str, list] = field(default_factory=dict)


def train_gan_ensemble(*, l2s: Sequence[float], n_seeds: int = 3, steps: int = 2000, dataset: str = "8gaussians",
                       hidden: int = 64, depth: int = 2, z_dim: int = 2, batch: int = 128, lr: float = 1e-3,
                       betas: tuple[float, float] = (0.5, 0.999), ema_decays: Sequence[float] = (),
                       snapshot_every: int = 100, n_fixed: int = 256, seed: int = 0,
                       device: torch.device | str | None = None) -> GANEnsembleRun:
    r"""Train one non-saturating MLP GAN per (L2 weight, seed), all in one batched computation.

    Member :math:`m` alternates one discriminator step on

    .. math::

        \mathcal L_D=\overline{\log(1+e^{-D(x)})}+\overline{\log(1+e^{D(G(z))})}+\tfrac{l_{2,m}}{2}\lVert\phi_m\rVert^2

    and one generator step on :math:`\overline{\log(1+e^{-D(G(z))})}`, with Adam: the runs of
    :func:`gantools.train.train_gan_stacked`, which trains them side by side.

    Parameters
    ----------
    l2s : sequence of float
        The L2 weights; each is run with ``n_seeds`` seeds (member index ``i * n_seeds + s``).
    n_seeds : int
        Seeds per L2 weight. Seed ``s`` fixes both networks' initialisation and the member's
        stream of data and latents, the same for every L2 weight, so that the weights are
        compared from the same start on the same batches.
    steps, batch : int
        Training steps and batch size (per member).
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
        Offset of the members' stream seeds (stream ``10000 * seed + s``) and seed of the fixed
        latents.
    device : torch.device or str, optional
        Where to train (CPU by default).

    Returns
    -------
    GANEnsembleRun

    Raises
    ------
    DivergenceError
        If a loss becomes NaN or infinite (the message names the member and the step).
    """
    l2 = torch.tensor([check_positive(v, "l2", allow_zero=True) for v in l2s], dtype=torch.float32)
    n_seeds = check_int(n_seeds, "n_seeds")
    snapshot_every = check_int(snapshot_every, "snapshot_every")
    if l2.numel() == 0:
        raise ValueError("l2s must hold at least one value")
    lr = check_positive(lr, "lr")
    _sample(dataset, 1, seed=0)   # validates the name
    n_members = l2.numel() * n_seeds
    seeds = [s for _ in range(l2.numel()) for s in range(n_seeds)]
    G = EnsembleMLP(n_members, z_dim, 2, hidden=hidden, depth=depth, seeds=[1000 + s for s in seeds], device=device)
    D = EnsembleMLP(n_members, 2, 1, hidden=hidden, depth=depth, seeds=[2000 + s for s in seeds], device=device)
    l2_m = l2.repeat_interleave(n_seeds)
    z_fixed = torch.randn(n_fixed, z_dim, generator=torch.Generator().manual_seed(seed + 1))   # one set for all
    z_fixed = z_fixed.to(G.weights[0].device).expand(n_members, -1, -1)
    snaps: list[torch.Tensor] = []

    def snapshot(step: int, G: EnsembleMLP) -> None:
        snaps.append(G(z_fixed).cpu())

    run = train_gan_stacked(G, D, lambda n, g: _sample(dataset, n, seed=g), z_dim=z_dim, steps=steps, batch=batch,
                            lr_d=lr, lr_g=lr, betas=betas, l2=l2_m.tolist(), ema_decays=ema_decays,
                            seeds=[10_000 * seed + s for s in seeds], device=device, log_every=snapshot_every,
                            callback=snapshot)
    return GANEnsembleRun(run.G, run.D, run.emas, l2_m, torch.tensor(seeds), torch.stack(snaps), run.history)


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
                              eval_every: int = 50, n_test: int = 597, seed: int = 0,
                              device: torch.device | str | None = None) -> ClassifierEnsembleRun:
    r"""Train MLP classifiers on the 8x8 digits with Adam at a constant learning rate, keeping EMAs.

    The digits are split once into ``1797 - n_test`` training and ``n_test`` test images; member
    :math:`m` minimises the cross-entropy on its own mini-batches (its own stream) from its own
    initialisation, with Adam (:class:`gantools.ensemble.MemberOptimizer`): a member is the run
    it would be alone.

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
        Seed of the split; member ``s`` draws its batches from stream ``10000 * seed + s``.
    device : torch.device or str, optional
        Where to train (CPU by default).

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
    net = EnsembleMLP(n_seeds, 64, 10, hidden=hidden, depth=1, seeds=[3000 + s for s in range(n_seeds)], device=device)
    dev = net.weights[0].device
    x_te, y_te, x_tr, y_tr = x[:n_test].to(dev), y[:n_test].to(dev), x[n_test:].to(dev), y[n_test:].to(dev)
    opt = MemberOptimizer(net.parameters(), lr=check_positive(lr, "lr"))
    emas = {float(b): ema_model(net, b) for b in ema_decays}
    streams = MemberStreams([10_000 * seed + s for s in range(n_seeds)], device=dev)
    hist: dict[str, list] = {"step": [], "test_acc": [], "test_loss": [],
                             "ema_acc": {float(b): [] for b in ema_decays}, "ema_loss": {float(b): [] for b in ema_decays}}

    def evaluate(model) -> tuple[list[float], list[float]]:
        with torch.no_grad():
            logits = model(x_te.expand(n_seeds, -1, -1))
            loss = F.cross_entropy(logits.transpose(1, 2), y_te.expand(n_seeds, -1), reduction="none")
            acc = (logits.argmax(-1) == y_te).float().mean(1)
        return acc.tolist(), loss.mean(1).tolist()

    for step in range(steps):
        idx = streams.sample(lambda n, g: torch.randint(len(y_tr), (n,), generator=g), batch)
        loss = F.cross_entropy(net(x_tr[idx]).transpose(1, 2), y_tr[idx], reduction="none")
        opt.zero_grad()
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
