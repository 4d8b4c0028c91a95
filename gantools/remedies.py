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

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel

from ._validate import check_int, check_name, check_positive
from .calibration import SeedCondition
from .data import digits as _digits
from .data import sample as _sample
from .ensemble import EnsembleMLP, MemberOptimizer, MemberStreams
from .train import ema_model, train_gan_stacked

__all__ = ["GANEnsembleRun", "train_gan_ensemble", "ClassifierEnsembleRun", "train_classifier_ensemble",
           "ema_window", "ema_design_decay", "REMEDY_GAN", "REMEDY_CLASSIFIER", "gan_outcomes", "classifier_outcomes",
           "remedy_outcomes", "paired_difference", "REMEDY_CONDITIONS", "remedy_conditions"]


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
    """``seeds`` as a list: an int ``n`` is ``0..n-1``; a sequence must hold distinct non-negative ints."""
    if isinstance(seeds, (int,)) and not isinstance(seeds, bool):
        return list(range(check_int(seeds, "seeds")))
    out = [int(s) for s in seeds]
    if not out or len(set(out)) != len(out) or min(out) < 0:
        raise ValueError(f"seeds must be a positive int or distinct non-negative ints, got {seeds!r}")
    return out


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


def train_gan_ensemble(*, l2s: Sequence[float], seeds: int | Sequence[int] = 3, steps: int = 2000, dataset: str = "8gaussians",
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
        The L2 weights; each is run with every seed (member index ``i * len(seeds) + j`` for
        weight ``i`` and the ``j``-th seed).
    seeds : int or sequence of int
        The seeds of every L2 weight (an int ``n``: seeds ``0..n-1``). Seed ``s`` fixes both
        networks' initialisation and the member's stream of data and latents, the same for every
        L2 weight, so that the weights are compared from the same start on the same batches.
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
    seed_list = _seed_list(seeds)
    n_seeds = len(seed_list)
    snapshot_every = check_int(snapshot_every, "snapshot_every")
    if l2.numel() == 0:
        raise ValueError("l2s must hold at least one value")
    lr = check_positive(lr, "lr")
    _sample(dataset, 1, seed=0)   # validates the name
    n_members = l2.numel() * n_seeds
    seeds = [s for _ in range(l2.numel()) for s in seed_list]
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


def train_classifier_ensemble(*, seeds: int | Sequence[int] = 3, steps: int = 1500, hidden: int = 64, batch: int = 32,
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
    seeds : int or sequence of int
        The runs' seeds (an int ``n``: seeds ``0..n-1``); seed ``s`` initialises its classifier and
        draws its batches from its own stream.
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
    seed_list = _seed_list(seeds)
    n_seeds = len(seed_list)
    steps = check_int(steps, "steps")
    batch = check_int(batch, "batch")
    x, y = _digits(seed=seed)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    x, y = x[perm], y[perm]
    net = EnsembleMLP(n_seeds, 64, 10, hidden=hidden, depth=1, seeds=[3000 + s for s in seed_list], device=device)
    dev = net.weights[0].device
    x_te, y_te, x_tr, y_tr = x[:n_test].to(dev), y[:n_test].to(dev), x[n_test:].to(dev), y[n_test:].to(dev)
    opt = MemberOptimizer(net.parameters(), lr=check_positive(lr, "lr"))
    emas = {float(b): ema_model(net, b) for b in ema_decays}
    streams = MemberStreams([10_000 * seed + s for s in seed_list], device=dev)
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


# ----------------------------------------------------------------------------- Part I, notebook 5's runs and claims
REMEDY_GAN: dict = dict(l2s=(0.0, 1e-3, 1e-2, 1e-1), steps=800, lr=2e-3, ema_decays=(0.99, 0.999))
"""The MLP-GAN runs of Part I, notebook 5 (:func:`train_gan_ensemble` keyword arguments besides ``seeds``)."""

REMEDY_CLASSIFIER: dict = dict(steps=1500, lr=1e-2, ema_decays=(0.99, 0.999))
"""Its supervised runs (:func:`train_classifier_ensemble` keyword arguments besides ``seeds``)."""


def _readouts(run: GANEnsembleRun) -> dict[str, torch.nn.Module]:
    return {"raw": run.G} | {f"ema_{b:g}": avg for b, avg in run.emas.items()}


def gan_outcomes(run: GANEnsembleRun, *, dataset: str = "8gaussians", n: int = 1000) -> dict[str, np.ndarray]:
    """How each GAN of a :func:`train_gan_ensemble` run ends, per (L2 weight, seed).

    Every readout (the raw generator ``raw`` and each EMA, ``ema_<decay>``) is scored on ``n``
    samples from latents of the member's own seed (generator seed ``500 + seed``) against ``n``
    held-out data points (seed 10,000): the squared MMD (:func:`gantools.metrics.mmd`) and the
    high-quality fraction (:func:`gantools.metrics.mode_stats`); ``movement`` is how far the
    samples of the fixed latents moved between consecutive snapshots, averaged over the last five.

    Parameters
    ----------
    run : GANEnsembleRun
    dataset : str
        The mixture the run was trained on.
    n : int
        Samples per readout and held-out points.

    Returns
    -------
    dict of str to numpy.ndarray
        ``l2`` (the weights, shape ``(L,)``), ``seeds`` (shape ``(S,)``), and ``mmd_<readout>``,
        ``hq_<readout>``, ``movement``, each of shape ``(L, S)``.
    """
    from .data import mode_centers, mode_sigma
    from .metrics import mmd, mode_stats

    l2s = list(dict.fromkeys(run.l2.tolist()))
    seeds = list(dict.fromkeys(run.seed.tolist()))
    shape = (len(l2s), len(seeds))
    held_out = _sample(dataset, n, seed=10_000)
    centers, sigma = mode_centers(dataset), mode_sigma(dataset)
    z = torch.stack([torch.randn(n, run.G.in_dim, generator=torch.Generator().manual_seed(500 + int(s)))
                     for s in run.seed.tolist()]).to(run.G.weights[0].device)
    out: dict[str, np.ndarray] = {"l2": np.array(l2s), "seeds": np.array(seeds)}
    for name, net in _readouts(run).items():
        with torch.no_grad():
            x = net(z).cpu()
        out[f"mmd_{name}"] = np.array([float(mmd(xi, held_out)) for xi in x]).reshape(shape)
        out[f"hq_{name}"] = np.array([mode_stats(xi, centers, sigma).high_quality_fraction for xi in x]).reshape(shape)
    moves = (run.snapshots[1:] - run.snapshots[:-1]).norm(dim=-1).mean(-1)[-5:].mean(0)
    out["movement"] = moves.numpy().reshape(shape)
    return out


def classifier_outcomes(run: ClassifierEnsembleRun, *, last: int = 10, level: float = 0.15) -> dict[str, np.ndarray]:
    """How each classifier of a :func:`train_classifier_ensemble` run ends, per seed and readout.

    For the raw weights (``raw``) and each EMA (``ema_<decay>``), over the last ``last``
    evaluations: ``<readout>_loss`` and ``<readout>_acc`` (mean test cross-entropy and accuracy),
    ``<readout>_wiggle`` (standard deviation of the loss's second differences) and
    ``<readout>_slope`` (least-squares trend of the loss per step); and ``<readout>_first``, the first
    evaluated step with test loss below ``level`` (``inf`` if none).

    Parameters
    ----------
    run : ClassifierEnsembleRun
    last : int
        Evaluations at the end that the means, wiggle and trend use.
    level : float
        The test loss whose first crossing is recorded.

    Returns
    -------
    dict of str to numpy.ndarray
        Each of shape ``(n_seeds,)``.
    """
    h = run.history
    steps = np.array(h["step"], dtype=float)
    series = {"raw": (h["test_loss"], h["test_acc"])} | {f"ema_{b:g}": (h["ema_loss"][b], h["ema_acc"][b]) for b in h["ema_loss"]}
    out: dict[str, np.ndarray] = {}
    tail = slice(-last, None)
    for name, (loss, acc) in series.items():
        L, A = np.array(loss), np.array(acc)
        below = L < level
        out[f"{name}_loss"] = L[tail].mean(0)
        out[f"{name}_acc"] = A[tail].mean(0)
        out[f"{name}_first"] = np.where(below.any(0), steps[np.argmax(below, 0)], np.inf)
        out[f"{name}_wiggle"] = np.diff(L[tail], 2, axis=0).std(0)
        out[f"{name}_slope"] = np.polyfit(steps[tail], L[tail], 1)[0]
    return out


def remedy_outcomes(seeds: Sequence[int], runs: Sequence[str] = ("gan", "classifier")) -> dict[str, dict]:
    """Train Part I, notebook 5's runs (:data:`REMEDY_GAN`, :data:`REMEDY_CLASSIFIER`) on ``seeds``.

    Parameters
    ----------
    seeds : sequence of int
        The runs' seeds (each trained with every L2 weight for the GAN).
    runs : sequence of str
        Which of ``"gan"`` and ``"classifier"`` to train.

    Returns
    -------
    dict
        ``"gan"`` -> :func:`gan_outcomes`, ``"classifier"`` -> :func:`classifier_outcomes` (those named).
    """
    runs = [check_name(r, ("gan", "classifier"), "run") for r in runs]
    out = {}
    if "gan" in runs:
        out["gan"] = gan_outcomes(train_gan_ensemble(seeds=seeds, **REMEDY_GAN))
    if "classifier" in runs:
        out["classifier"] = classifier_outcomes(train_classifier_ensemble(seeds=seeds, **REMEDY_CLASSIFIER))
    return out


def paired_difference(gan: dict[str, np.ndarray], key: str, l2: float) -> np.ndarray:
    """``key`` with L2 weight ``l2`` minus without L2, seed by seed.

    Parameters
    ----------
    gan : dict
        :func:`gan_outcomes`.
    key : str
        An outcome of shape ``(L, S)``, e.g. ``"mmd_ema_0.99"``.
    l2 : float
        The L2 weight compared with 0.

    Returns
    -------
    numpy.ndarray, shape (S,)

    Raises
    ------
    ValueError
        If the outcomes hold no run with that weight.
    """
    return _at(gan, key, l2) - _at(gan, key, 0.0)


def _at(gan: dict, key: str, l2: float) -> np.ndarray:
    """Row of ``key`` for L2 weight ``l2`` (the weights are stored in float32: matched to 1e-6)."""
    idx = np.flatnonzero(np.isclose(gan["l2"], l2, rtol=1e-6, atol=0.0))
    if idx.size != 1:
        raise ValueError(f"no run with L2 weight {l2}; the outcomes hold {[float(w) for w in gan['l2']]}")
    return gan[key][idx[0]]


def _gan(text: str, test) -> SeedCondition:
    return SeedCondition(text, ("gan",), lambda o: test(o["gan"]))


def _cls(text: str, test) -> SeedCondition:
    return SeedCondition(text, ("classifier",), lambda o: test(o["classifier"]))


def _all(*conds) -> np.ndarray:
    return np.logical_and.reduce([np.asarray(c, dtype=bool) for c in conds])


REMEDY_CONDITIONS: dict[str, SeedCondition] = {
    "l2_large_worse": _gan(
        "L2 of 1e-2 or more makes the generator worse than no L2 (EMA readout's MMD^2); at 1e-1 the raw generator too",
        lambda g: (lambda d: {"pass": _all(*(v > 0 for v in d.values())), **d})(
            {"mmd_increase_ema_1e-2": paired_difference(g, "mmd_ema_0.99", 1e-2),
             "mmd_increase_ema_1e-1": paired_difference(g, "mmd_ema_0.99", 1e-1),
             "mmd_increase_raw_1e-1": paired_difference(g, "mmd_raw", 1e-1)})),
    "l2_freezes": _gan(
        "with L2 = 0.1 the generator stops moving (under 5% of the movement without L2)",
        lambda g: (lambda r: {"pass": r < 0.05, "movement_ratio": r})(_at(g, "movement", 1e-1) / _at(g, "movement", 0.0))),
    "ema_helps": _gan(
        "EMA (decay 0.99) lowers the MMD^2 and raises the high-quality fraction (L2 = 0 and 1e-3)",
        lambda g: {"pass": _all(*(_at(g, "mmd_raw", w) > _at(g, "mmd_ema_0.99", w) for w in (0.0, 1e-3)),
                                *(_at(g, "hq_ema_0.99", w) > _at(g, "hq_raw", w) for w in (0.0, 1e-3))),
                   "mmd_drop_l2_0": _at(g, "mmd_raw", 0.0) - _at(g, "mmd_ema_0.99", 0.0),
                   "hq_gain_l2_0": _at(g, "hq_ema_0.99", 0.0) - _at(g, "hq_raw", 0.0)}),
    "ema_not_on_modes": _gan(
        "after 800 steps fewer than half of the EMA's samples lie within 3 sigma of a mode (L2 = 0 and 1e-3)",
        lambda g: (lambda hq: {"pass": hq < 0.5, "max_hq_ema": hq})(
            np.maximum(_at(g, "hq_ema_0.99", 0.0), _at(g, "hq_ema_0.99", 1e-3)))),
    "ema_long_window_worse": _gan(
        "EMA with a window longer than the run (decay 0.999) is worse than the raw generator (L2 = 0 and 1e-3)",
        lambda g: (lambda d: {"pass": d > 0, "min_mmd_increase": d})(
            np.minimum(*(_at(g, "mmd_ema_0.999", w) - _at(g, "mmd_raw", w) for w in (0.0, 1e-3))))),
    "cls_ema_lower_and_falling": _cls(
        "supervised: the EMA (decay 0.999) has a lower test loss than the raw weights over the last 10 evaluations, "
        "and it is still falling there",
        lambda c: {"pass": (c["ema_0.999_loss"] < c["raw_loss"]) & (c["ema_0.999_slope"] < 0),
                   "loss_gap": c["raw_loss"] - c["ema_0.999_loss"], "ema_trend": c["ema_0.999_slope"]}),
    "cls_accuracy_unchanged": _cls(
        "supervised: the EMA (decay 0.999) changes the test accuracy by less than one percentage point",
        lambda c: (lambda d: {"pass": np.abs(d) < 0.01, "accuracy_change": d})(c["ema_0.999_acc"] - c["raw_acc"])),
    "cls_ema_not_faster": _cls(
        "supervised: the EMA (decay 0.999) reaches a test loss of 0.15 later than the raw weights",
        lambda c: {"pass": c["ema_0.999_first"] > c["raw_first"], "first_raw": c["raw_first"],
                   "first_ema": c["ema_0.999_first"]}),
    "cls_longer_smoother_slower": _cls(
        "supervised: the longer the window the smoother and the slower: wiggle raw > EMA 0.99 > EMA 0.999, and "
        "EMA 0.99 reaches 0.15 before EMA 0.999",
        lambda c: {"pass": _all(c["raw_wiggle"] > c["ema_0.99_wiggle"], c["ema_0.99_wiggle"] > c["ema_0.999_wiggle"],
                                c["ema_0.99_first"] < c["ema_0.999_first"]),
                   "wiggle_raw": c["raw_wiggle"], "wiggle_099": c["ema_0.99_wiggle"], "wiggle_0999": c["ema_0.999_wiggle"]}),
}
"""The per-seed conditions behind Part I, notebook 5's claims about how its runs end
(``benchmarks/part1_remedies_seeds.py`` stores how many fresh seeds pass each)."""


def remedy_conditions(outcomes: dict[str, dict]) -> dict[str, dict]:
    """Every condition of :data:`REMEDY_CONDITIONS` whose runs ``outcomes`` holds, evaluated per seed.

    Parameters
    ----------
    outcomes : dict
        ``"gan"`` and/or ``"classifier"`` outcomes (:func:`remedy_outcomes`).

    Returns
    -------
    dict of str to dict
        Condition name -> its result (``"pass"`` and the compared numbers, one entry per seed).
    """
    return {k: c(outcomes) for k, c in REMEDY_CONDITIONS.items() if all(r in outcomes for r in c.runs)}
