r"""Part III, notebook 4's experiments: the distillation loss against :math:`-D`, per seed.

Two experiments, both on the 8-Gaussian ring (real points drawn from a fixed pool of 20,000):

* **a fixed discriminator** (:func:`start_pair`, :func:`gradient_cosines`, :func:`fixed_d_moves`):
  a generator and a discriminator (two hidden layers of 64 LeakyReLU units each) initialised from
  seed :math:`s`, the discriminator trained for 100 logistic-loss Adam steps against the generator,
  then generator steps against that frozen :math:`D` with the distillation loss or with :math:`-D`;
* **full training** (:func:`full_training`): 200 iterations of one discriminator step and
  :math:`k\in\{1, 4\}` generator steps with either loss (:func:`gantools.flow.train_monoflow_stacked`),
  every ``(k, loss)`` of a seed starting from that seed's networks.

:func:`distill_outcomes` reduces both to per-seed numbers and :data:`DISTILL_CONDITIONS` states the
notebook's claims about them as per-seed conditions, which ``benchmarks/part3_distill_seeds.py``
counts over many fresh seeds.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from . import data, monoflow as mf, nets, ratio
from .calibration import SeedCondition, apply_conditions
from .ensemble import EnsembleMLP
from .flow import StackedMonoFlowRun, train_monoflow_stacked
from .metrics import mode_precision, w2

__all__ = ["RING", "EPS", "ETA_SGD", "LR_ADAM", "KS_SGD", "KS_ADAM", "ITERS", "G_STEPS", "LOSSES",
           "real_sampler", "monitor_latents", "start_pair", "gradient_cosines", "fixed_d_moves", "full_training", "yardsticks",
           "DistillOutcomes", "distill_outcomes", "RUN", "DISTILL_CONDITIONS", "seed_verdicts"]

#: The dataset of both experiments.
RING: str = "8gaussians"
#: Euler step of the distillation targets.
EPS: float = 0.05
#: SGD learning rate of the distillation loss against a fixed D (:math:`-D` steps at ``2 * EPS * ETA_SGD``).
ETA_SGD: float = 0.1
#: Adam learning rate, both losses, both experiments.
LR_ADAM: float = 2e-3
#: Generator steps after which the fixed-D displacement is recorded, SGD and Adam.
KS_SGD: tuple[int, ...] = (1, 2, 4, 8, 16)
KS_ADAM: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: Iterations (discriminator steps) of full training and its generator steps per iteration.
ITERS: int = 200
G_STEPS: tuple[int, ...] = (1, 4)
#: The two generator losses of :func:`gantools.flow.train_monoflow_stacked`.
LOSSES: tuple[str, ...] = ("h", "distill")


def real_sampler() -> Callable[[int, torch.Generator], torch.Tensor]:
    """``sample(k, generator)``: ``k`` points drawn from a fixed pool of 20,000 ring samples (seed 21).

    Returns
    -------
    callable
    """
    pool = data.sample(RING, 20000, seed=21)
    return lambda k, g: pool[torch.randint(len(pool), (k,), generator=g)]


def _networks(seed: int) -> tuple[nn.Sequential, nn.Sequential]:
    """Seed ``seed``'s generator and discriminator, initialised as after ``torch.manual_seed(seed)``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return nets.mlp(2, 2, hidden=64, depth=2), nets.mlp(2, 1, hidden=64, depth=2)


def start_pair(seed: int, *, d_steps: int = 100, batch: int = 256) -> tuple[nn.Module, nn.Module, torch.Tensor]:
    """Seed ``seed``'s generator, its discriminator trained against it, and a batch of latents.

    The networks are initialised from ``seed``; the discriminator takes ``d_steps`` Adam steps
    (learning rate :data:`LR_ADAM`) of the logistic loss on fresh real and generated batches, all
    drawn from one stream seeded ``seed``, which then draws the latents.

    Parameters
    ----------
    seed : int
    d_steps : int
        Discriminator steps.
    batch : int
        Real, generated and returned latent points.

    Returns
    -------
    G, D : torch.nn.Module
    z : torch.Tensor, shape (batch, 2)
    """
    sample_real = real_sampler()
    G, D = _networks(seed)
    g = torch.Generator().manual_seed(int(seed))
    ratio.train_discriminator(D, torch.optim.Adam(D.parameters(), lr=LR_ADAM), lambda: sample_real(batch, g),
                              lambda: G(torch.randn(batch, 2, generator=g)), steps=d_steps)
    return G, D, torch.randn(batch, 2, generator=g)


def _flat(grads: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in grads])


def gradient_cosines(G: nn.Module, D: nn.Module, z: torch.Tensor, *, eps: float = EPS, steps: int = 6,
                     lr: float = ETA_SGD) -> list[float]:
    r"""Cosine between :math:`\nabla_\theta\mathcal L_{\text{distill}}` and :math:`\nabla_\theta(-D(G_\theta))`
    after 0, 1, ..., ``steps - 1`` SGD steps of the distillation loss (targets fixed at :math:`\theta_t`).

    Parameters
    ----------
    G, D : torch.nn.Module
        The generator at :math:`\theta_t` (left unchanged) and the discriminator.
    z : torch.Tensor, shape (n, 2)
    eps : float
        Euler step of the targets.
    steps : int
    lr : float
        SGD learning rate.

    Returns
    -------
    list of float
        One cosine per step, the first at :math:`\theta = \theta_t`.
    """
    G1 = copy.deepcopy(G)
    y = mf.particle_step(G(z).detach(), D, eps)
    params = list(G1.parameters())
    opt = torch.optim.SGD(params, lr=lr)
    cosines = []
    for _ in range(steps):
        gd = _flat(torch.autograd.grad(mf.distill_loss(G1, z, y), params))
        gg = _flat(torch.autograd.grad(mf.generator_loss(D(G1(z))), params))
        cosines.append(float(torch.nn.functional.cosine_similarity(gd, gg, dim=0)))
        opt.zero_grad()
        mf.distill_loss(G1, z, y).backward()
        opt.step()
    return cosines


def fixed_d_moves(G: nn.Module, D: nn.Module, *, eps: float = EPS, n_eval: int = 1024,
                  batch: int = 256) -> tuple[float, dict[tuple[str, str], dict[int, float]]]:
    r"""How far generator steps against a frozen :math:`D` move the samples, for both losses and optimisers.

    From a copy of ``G`` (:math:`G_{\theta_t}`), take SGD steps (:data:`KS_SGD`; learning rate
    :data:`ETA_SGD` on the distillation loss, :math:`2\varepsilon\,` :data:`ETA_SGD` on :math:`-D`)
    and Adam steps (:data:`KS_ADAM`, :data:`LR_ADAM` on both), each on a fresh batch of latents
    (stream seeded 6), the distillation targets :math:`G_{\theta_t}(z) + \varepsilon\nabla D` fixed
    at :math:`\theta_t`; after each recorded ``k`` measure the mean displacement
    :math:`\mathbb E|G_\theta(z) - G_{\theta_t}(z)|` on ``n_eval`` latents (seed 5).

    Parameters
    ----------
    G, D : torch.nn.Module
        Left unchanged.
    eps : float
    n_eval, batch : int

    Returns
    -------
    step_len : float
        The Euler step's mean length :math:`\varepsilon\,\mathbb E|\nabla D|` on the evaluation latents.
    moves : dict
        ``(optimizer, loss)`` -> ``{k: displacement}``, optimizer ``"sgd"``/``"adam"``, loss in :data:`LOSSES`.
    """
    z_eval = torch.randn(n_eval, 2, generator=torch.Generator().manual_seed(5))
    x_t = G(z_eval).detach()
    step_len = float((mf.particle_step(x_t, D, eps) - x_t).norm(dim=1).mean())
    G_t = copy.deepcopy(G).requires_grad_(False)

    def run(loss: str, optimizer: str, lr: float, ks: Sequence[int]) -> dict[int, float]:
        Gk = copy.deepcopy(G)
        opt = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(Gk.parameters(), lr=lr)
        gz, res = torch.Generator().manual_seed(6), {}
        for k in range(1, ks[-1] + 1):
            zb = torch.randn(batch, 2, generator=gz)
            lk = (mf.distill_loss(Gk, zb, mf.particle_step(G_t(zb), D, eps)) if loss == "distill"
                  else mf.generator_loss(D(Gk(zb))))
            opt.zero_grad()
            lk.backward()
            opt.step()
            if k in ks:
                res[k] = float((Gk(z_eval).detach() - x_t).norm(dim=1).mean())
        return res

    moves = {("sgd", "distill"): run("distill", "sgd", ETA_SGD, KS_SGD),
             ("sgd", "h"): run("h", "sgd", 2 * eps * ETA_SGD, KS_SGD),
             ("adam", "distill"): run("distill", "adam", LR_ADAM, KS_ADAM),
             ("adam", "h"): run("h", "adam", LR_ADAM, KS_ADAM)}
    return step_len, moves


def _members(seeds: Sequence[int]) -> list[tuple[int, str, int]]:
    return [(k, loss, int(s)) for k in G_STEPS for loss in LOSSES for s in seeds]


def monitor_latents() -> torch.Tensor:
    """The 512 latents (seed 7) full training's samples are drawn from for every measurement.

    Returns
    -------
    torch.Tensor, shape (512, 2)
    """
    return torch.randn(512, 2, generator=torch.Generator().manual_seed(7))


def full_training(seeds: Sequence[int], *, monitor: Callable[[nn.Module], dict] | None = None,
                  record_every: int = 25) -> tuple[list[tuple[int, str, int]], StackedMonoFlowRun]:
    r"""Full training for ``seeds``: every ``(k, loss, seed)`` side by side in one batched call.

    :data:`ITERS` iterations of one discriminator step and ``k`` generator steps (:data:`G_STEPS`)
    with either loss (:data:`LOSSES`), Adam at :data:`LR_ADAM` for both players, batch 128,
    :math:`\varepsilon` = :data:`EPS`; member ``(k, loss, s)`` starts from seed ``s``'s networks
    and draws from stream ``s``, so the losses of one seed see the same data.

    Parameters
    ----------
    seeds : sequence of int
    monitor : callable, optional
        Passed to :func:`gantools.flow.train_monoflow_stacked`.
    record_every : int

    Returns
    -------
    members : list of (int, str, int)
        ``(k, loss, seed)`` of each member, in the run's order.
    run : StackedMonoFlowRun
    """
    if not len(seeds):
        raise ValueError("seeds must hold at least one seed")
    members = _members(seeds)
    pairs = [_networks(s) for _, _, s in members]
    run = train_monoflow_stacked(EnsembleMLP.stack([g for g, _ in pairs]), EnsembleMLP.stack([d for _, d in pairs]),
                                 real_sampler(), z_dim=2, iters=ITERS, loss=[m[1] for m in members],
                                 g_steps=[m[0] for m in members], streams=[m[2] for m in members], eps=EPS,
                                 batch=128, lr_d=LR_ADAM, lr_g=LR_ADAM, record_every=record_every, monitor=monitor)
    return members, run


def yardsticks() -> tuple[torch.Tensor, dict[str, dict[str, np.ndarray]]]:
    r"""The target sample and what exact and blurred samplers score against it.

    Returns
    -------
    target : torch.Tensor, shape (512, 2)
        The ring sample (seed 22) :math:`W_2` is measured against.
    ref : dict
        ``"fresh"`` (ten fresh ring samples, seeds 200-209) and ``"blurred"`` (ten more, seeds
        300-309, plus Gaussian noise of standard deviation 0.1): each ``"w2"`` to the target,
        ``"frac_in"`` and ``"spread"`` (:func:`gantools.metrics.mode_precision`), arrays of 10.
    """
    target = data.sample(RING, 512, seed=22)
    centres, sig = data.mode_centers(RING), data.mode_sigma(RING)
    fresh = [data.sample(RING, 512, seed=200 + k) for k in range(10)]
    blurred = [data.sample(RING, 512, seed=300 + k)
               + 0.1 * torch.randn(512, 2, generator=torch.Generator().manual_seed(400 + k)) for k in range(10)]
    ref = {}
    for name, xs in (("fresh", fresh), ("blurred", blurred)):
        prec = [mode_precision(x, centres, sig) for x in xs]
        ref[name] = dict(w2=np.array([w2(x, target) for x in xs]), frac_in=np.array([p.frac_in for p in prec]),
                         spread=np.array([p.spread_ratio for p in prec]))
    return target, ref


@dataclass(frozen=True)
class DistillOutcomes:
    """Per-seed numbers of the notebook's experiments (every array has one entry per seed).

    Attributes
    ----------
    seeds : tuple of int
    cosines : numpy.ndarray, shape (6, S)
        :func:`gradient_cosines` of each seed's pair.
    step_len : numpy.ndarray
        The Euler step's mean length.
    moves : dict of (str, str) to numpy.ndarray, shape (len(ks), S)
        :func:`fixed_d_moves`'s displacements (rows in :data:`KS_SGD` or :data:`KS_ADAM` order).
    w2, spread, frac_in : dict of (int, str) to numpy.ndarray
        Full training's final :math:`W_2` to the target and mode precision per ``(k, loss)``.
    paired : numpy.ndarray
        Mean distance between the same latents' samples of the two losses at :math:`k = 1`.
    """

    seeds: tuple[int, ...]
    cosines: np.ndarray
    step_len: np.ndarray
    moves: dict[tuple[str, str], np.ndarray]
    w2: dict[tuple[int, str], np.ndarray]
    spread: dict[tuple[int, str], np.ndarray]
    frac_in: dict[tuple[int, str], np.ndarray]
    paired: np.ndarray


def distill_outcomes(seeds: Sequence[int], *,
                     training: tuple[list[tuple[int, str, int]], StackedMonoFlowRun] | None = None) -> DistillOutcomes:
    """Both experiments for ``seeds`` (full training side by side), reduced to per-seed numbers.

    Parameters
    ----------
    seeds : sequence of int
    training : tuple, optional
        :func:`full_training`'s result for the same ``seeds``, if already made (else it is made here).

    Returns
    -------
    DistillOutcomes

    Raises
    ------
    ValueError
        If ``seeds`` is empty or ``training`` was made for other seeds.
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if training is not None and training[0] != _members(seeds):
        raise ValueError(f"training was made for members {training[0]}, not for seeds {list(seeds)}")
    cos, lens, moves = [], [], []
    for s in seeds:
        G, D, z = start_pair(s)
        cos.append(gradient_cosines(G, D, z))
        step_len, mv = fixed_d_moves(G, D)
        lens.append(step_len)
        moves.append(mv)
    members, run = full_training(seeds) if training is None else training
    target = data.sample(RING, 512, seed=22)
    centres, sig = data.mode_centers(RING), data.mode_sigma(RING)
    with torch.no_grad():
        x_end = run.G(monitor_latents().expand(len(members), -1, -1))
    at = {m: j for j, m in enumerate(members)}
    w, sp, fi = {}, {}, {}
    for k in G_STEPS:
        for loss in LOSSES:
            xs = [x_end[at[k, loss, s]] for s in seeds]
            prec = [mode_precision(x, centres, sig) for x in xs]
            w[k, loss] = np.array([w2(x, target) for x in xs])
            sp[k, loss] = np.array([p.spread_ratio for p in prec])
            fi[k, loss] = np.array([p.frac_in for p in prec])
    paired = np.array([float((x_end[at[1, "h", s]] - x_end[at[1, "distill", s]]).norm(dim=-1).mean()) for s in seeds])
    return DistillOutcomes(
        seeds=seeds, cosines=np.array(cos).T, step_len=np.array(lens),
        moves={key: np.array([[mv[key][k] for mv in moves] for k in moves[0][key]]) for key in moves[0]},
        w2=w, spread=sp, frac_in=fi, paired=paired)


#: The key under which the conditions read the outcomes (:func:`gantools.calibration.apply_conditions`).
RUN: str = "distill"


def _cond(text: str, test: Callable[[DistillOutcomes], dict]) -> SeedCondition:
    return SeedCondition(text, (RUN,), lambda o: test(o[RUN]))


def _moves(o: DistillOutcomes, key: tuple[str, str], k: int | None = None) -> np.ndarray:
    """Displacements of ``key`` in Euler steps: at ``k``, or the largest over every recorded k."""
    ks = KS_SGD if key[0] == "sgd" else KS_ADAM
    v = o.moves[key] / o.step_len
    return v.max(0) if k is None else v[ks.index(k)]


def _blur_spread() -> float:
    return float(yardsticks()[1]["blurred"]["spread"].max())


DISTILL_CONDITIONS: dict[str, SeedCondition] = {
    "cosines_part": _cond(
        "fixed D: after a few SGD steps of the distillation loss its gradient and -D's point in different "
        "directions (cosine below 0.9 within five steps)",
        lambda o: (lambda c: {"pass": c < 0.9, "min_cosine": c})(o.cosines[1:].min(0))),
    "sgd_distill_bounded": _cond(
        "fixed D, SGD: the distillation loss never moves the samples more than 1.2 Euler steps from G_theta_t (16 steps)",
        lambda o: (lambda d: {"pass": d < 1.2, "max_moves_in_euler_steps": d})(_moves(o, ("sgd", "distill")))),
    "sgd_h_runs_away": _cond(
        "fixed D, SGD: -D moves the samples over 10 Euler steps away in 16 steps",
        lambda o: (lambda d: {"pass": d > 10, "moves_at_16_in_euler_steps": d})(_moves(o, ("sgd", "h"), 16))),
    "adam_distill_bounded": _cond(
        "fixed D, Adam: the distillation loss never moves the samples more than 2 Euler steps from G_theta_t (256 steps)",
        lambda o: (lambda d: {"pass": d < 2, "max_moves_in_euler_steps": d})(_moves(o, ("adam", "distill")))),
    "adam_h_grows": _cond(
        "fixed D, Adam: -D keeps moving the samples (over 5 Euler steps at 256 steps and 1.5 times as far as at 64)",
        lambda o: (lambda a, b: {"pass": (b > 5) & (b > 1.5 * a), "moves_at_64": a, "moves_at_256": b})(
            _moves(o, ("adam", "h"), 64), _moves(o, ("adam", "h"), 256))),
    "k1_same_run": _cond(
        "full training, k = 1: the two losses' samples of the same z lie within 0.25 of each other on average",
        lambda o: {"pass": o.paired < 0.25, "mean_distance": o.paired}),
    "k4_distill_beats_h": _cond(
        "full training, k = 4: the distillation loss ends with under half the W2 of -D",
        lambda o: (lambda r: {"pass": r < 0.5, "w2_ratio": r})(o.w2[4, "distill"] / o.w2[4, "h"])),
    "k4_h_degrades": _cond(
        "full training, k = 4: -D ends with over twice its own k = 1 W2",
        lambda o: (lambda r: {"pass": r > 2, "w2_ratio": r})(o.w2[4, "h"] / o.w2[1, "h"])),
    "k4_distill_holds": _cond(
        "full training, k = 4: the distillation loss ends within 10% of its k = 1 W2 or below",
        lambda o: (lambda r: {"pass": r < 1.1, "w2_ratio": r})(o.w2[4, "distill"] / o.w2[1, "distill"])),
    "none_sharp": _cond(
        "full training, 200 iterations: no run is sharp (every (k, loss) blurrier than every blurred data sample and "
        "under 10% inside the 95% radius)",
        lambda o: (lambda s, f: {"pass": (s > _blur_spread()) & (f < 0.1), "min_spread_ratio": s, "max_frac_in": f})(
            np.min([v for v in o.spread.values()], axis=0), np.max([v for v in o.frac_in.values()], axis=0))),
}
"""The notebook's claims about its runs, one verdict per seed (outcomes under the key :data:`RUN`)."""



def seed_verdicts(seeds: Sequence[int]) -> dict[str, dict]:
    """Both experiments for ``seeds`` and every condition of :data:`DISTILL_CONDITIONS` on them.

    Parameters
    ----------
    seeds : sequence of int

    Returns
    -------
    dict of str to dict
        Condition name -> ``"pass"`` (one bool per seed) and the numbers it compares
        (:func:`gantools.calibration.apply_conditions`).
    """
    return apply_conditions(DISTILL_CONDITIONS, {RUN: distill_outcomes(seeds)})
