r"""Part IV, notebook 3's experiment: IGN and a GAN of the same size on the 8-Gaussian ring, per seed.

Every seed :math:`s` trains three runs of 1,200 Adam steps (learning rate :math:`10^{-3}`, batch 128):

* IGN with the paper's listing weights :math:`(\lambda_{\text{rec}},\lambda_{\text{idem}},\lambda_{\text{tight}})
  = (1, 1, 0.1)` and no clamp, and IGN with the balanced weights :math:`(1, 1, 1)` and the tanh clamp
  :math:`a = 1` (:func:`gantools.ign.train_ign_ensemble`), :math:`f` an MLP with three hidden layers of 64
  units initialised from seed :math:`s`;
* a non-saturating GAN with the zero-centred R1 penalty :math:`\lambda_{\text{R1}} = 0.1`
  (:func:`gantools.train.train_gan_stacked`), generator and critic with two hidden layers of 64 units
  initialised from seeds :math:`s` and :math:`100 + s`, so that :math:`|\theta_f|\approx|\theta_G| + |\phi_D|`.

Each run draws its data and noise from its own stream seeded :math:`s`; :func:`ring_runs` trains the runs of
many seeds side by side. :func:`ring_outcomes` reduces them to per-seed numbers and :data:`RING_CONDITIONS`
states the notebook's claims about them as per-seed conditions, which ``benchmarks/part4_ring_seeds.py``
counts over many fresh seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from . import data, ign, metrics, nets, train
from .calibration import SeedCondition, apply_conditions
from .ensemble import EnsembleMLP

__all__ = ["RING", "STEPS", "BATCH", "LR", "IGN_SETTINGS", "LISTING", "BALANCED", "R1", "GAN", "MODELS",
           "real_sampler", "eval_inputs", "RingRuns", "ring_runs", "RingOutcomes", "ring_outcomes", "RUN",
           "RING_CONDITIONS", "seed_verdicts"]

#: The dataset.
RING: str = "8gaussians"
#: Adam steps, batch and learning rate of every run.
STEPS: int = 1200
BATCH: int = 128
LR: float = 1e-3
#: The two IGN weightings: name -> ``lam_tight`` and ``clamp`` (``lam_rec = lam_idem = 1``).
IGN_SETTINGS: dict[str, dict] = {"IGN listing (1, 1, 0.1)": dict(lam_tight=0.1, clamp=None),
                                 "IGN balanced (1, 1, 1), a = 1": dict(lam_tight=1.0, clamp=1.0)}
LISTING, BALANCED = tuple(IGN_SETTINGS)
#: The GAN's R1 weight, and its name.
R1: float = 0.1
GAN: str = "GAN + R1 0.1"
#: Every model, IGN's first.
MODELS: tuple[str, ...] = (LISTING, BALANCED, GAN)


def real_sampler() -> Callable[[int, torch.Generator], torch.Tensor]:
    """``sample(n, generator)``: ``n`` fresh points of the ring.

    Returns
    -------
    callable
    """
    return lambda n, g: data.sample(RING, n, seed=g)


def eval_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fixed inputs every run is measured on.

    Returns
    -------
    z : torch.Tensor, shape (2000, 2)
        Noise (seed 123), mapped by :math:`f` or :math:`G` to the samples that are scored.
    real : torch.Tensor, shape (2000, 2)
        Data (seed 5), where IGN's critic is read on the data.
    plane : torch.Tensor, shape (4000, 2)
        Uniform points of :math:`[-2.2, 2.2]^2` (seed 1), where it is read off the data.
    """
    z = torch.randn(2000, 2, generator=torch.Generator().manual_seed(123))
    real = data.sample(RING, 2000, seed=5)
    plane = 2.2 * (2 * torch.rand(4000, 2, generator=torch.Generator().manual_seed(1)) - 1)
    return z, real, plane


def _seeded_mlp(seed: int, *args, **kw) -> nn.Sequential:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return nets.mlp(*args, **kw)


@dataclass
class RingRuns:
    """The runs of :func:`ring_runs`.

    Attributes
    ----------
    seeds : tuple of int
    ign_keys : list of (str, int)
        ``(weighting, seed)`` of each IGN member, in the order of ``ign.f``'s members.
    ign : gantools.ign.IGNEnsembleRun
    gan : gantools.train.StackedGANRun
        The GAN members, one per seed in order (``gan.G``, ``gan.D``).
    """

    seeds: tuple[int, ...]
    ign_keys: list[tuple[str, int]]
    ign: ign.IGNEnsembleRun
    gan: train.StackedGANRun


def ring_runs(seeds: Sequence[int]) -> RingRuns:
    """Every run of the notebook for ``seeds``: both IGN weightings side by side, then the GANs side by side.

    Parameters
    ----------
    seeds : sequence of int

    Returns
    -------
    RingRuns
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    ign_keys = [(name, s) for name in IGN_SETTINGS for s in seeds]
    f = EnsembleMLP.stack([_seeded_mlp(s, 2, 2, hidden=64, depth=3) for _, s in ign_keys])
    ign_run = ign.train_ign_ensemble(f, real_sampler(), steps=STEPS, batch=BATCH, lr=LR,
                                     lam_tight=[IGN_SETTINGS[n]["lam_tight"] for n, _ in ign_keys],
                                     clamp=[IGN_SETTINGS[n]["clamp"] for n, _ in ign_keys],
                                     seeds=[s for _, s in ign_keys])
    G = EnsembleMLP.stack([_seeded_mlp(s, 2, 2, hidden=64, depth=2) for s in seeds])
    D = EnsembleMLP.stack([_seeded_mlp(100 + s, 2, 1, hidden=64, depth=2) for s in seeds])
    gan_run = train.train_gan_stacked(G, D, real_sampler(), z_dim=2, steps=STEPS, batch=BATCH, lr_d=LR, lr_g=LR,
                                      r1=[R1] * len(seeds), seeds=list(seeds))
    return RingRuns(seeds=seeds, ign_keys=ign_keys, ign=ign_run, gan=gan_run)


@dataclass(frozen=True)
class RingOutcomes:
    """Per-seed numbers of the notebook's runs (every array has one entry per seed).

    Attributes
    ----------
    seeds : tuple of int
    modes, hq, kl : dict of str to numpy.ndarray
        Model (:data:`MODELS`) -> modes captured, high-quality fraction and KL of the mode
        frequencies to uniform of its samples (:func:`gantools.metrics.mode_stats`).
    modes_f3, hq_f3 : dict of str to numpy.ndarray
        IGN weighting -> the same for :math:`f(f(f(z)))`.
    rec_fall : dict of str to numpy.ndarray
        IGN weighting -> its first logged RMS reconstruction error over the smallest of the last five.
    critic_ratio : dict of str to numpy.ndarray
        IGN weighting -> median reconstruction error on the plane over its median on the data.
    """

    seeds: tuple[int, ...]
    modes: dict[str, np.ndarray]
    hq: dict[str, np.ndarray]
    kl: dict[str, np.ndarray]
    modes_f3: dict[str, np.ndarray]
    hq_f3: dict[str, np.ndarray]
    rec_fall: dict[str, np.ndarray]
    critic_ratio: dict[str, np.ndarray]


def ring_outcomes(runs: RingRuns) -> RingOutcomes:
    """Reduce :func:`ring_runs`'s runs to per-seed numbers.

    Parameters
    ----------
    runs : RingRuns

    Returns
    -------
    RingOutcomes
    """
    z, real, plane = eval_inputs()
    centers, sigma = data.mode_centers(RING), data.mode_sigma(RING)
    f = runs.ign.f
    at = {key: m for m, key in enumerate(runs.ign_keys)}
    with torch.no_grad():
        x1 = f(z.expand(len(runs.ign_keys), -1, -1).contiguous())
        x3 = f(f(x1))
        xg = runs.gan.G(z.expand(len(runs.seeds), -1, -1).contiguous())
    rec = np.array(runs.ign.history["rec_rms"])
    fall = rec[0] / rec[-5:].min(0)
    stats = lambda xs: [metrics.mode_stats(x, centers, sigma) for x in xs]  # noqa: E731
    modes, hq, kl, modes3, hq3, rec_fall, ratio = {}, {}, {}, {}, {}, {}, {}
    for name in IGN_SETTINGS:
        idx = [at[name, s] for s in runs.seeds]
        one, three = stats(x1[idx]), stats(x3[idx])
        modes[name] = np.array([st.modes_captured for st in one])
        hq[name] = np.array([st.high_quality_fraction for st in one])
        kl[name] = np.array([st.kl_to_uniform for st in one])
        modes3[name] = np.array([st.modes_captured for st in three])
        hq3[name] = np.array([st.high_quality_fraction for st in three])
        rec_fall[name] = fall[idx]
        with torch.no_grad():
            ratio[name] = np.array([float(ign.reconstruction_error(runs.ign.member(m), plane).median())
                                    / float(ign.reconstruction_error(runs.ign.member(m), real).median()) for m in idx])
    gan = stats(xg)
    modes[GAN] = np.array([st.modes_captured for st in gan])
    hq[GAN] = np.array([st.high_quality_fraction for st in gan])
    kl[GAN] = np.array([st.kl_to_uniform for st in gan])
    return RingOutcomes(seeds=runs.seeds, modes=modes, hq=hq, kl=kl, modes_f3=modes3, hq_f3=hq3,
                        rec_fall=rec_fall, critic_ratio=ratio)


#: The key under which the conditions read the outcomes (:func:`gantools.calibration.apply_conditions`).
RUN: str = "ring"


def _cond(text: str, test: Callable[[RingOutcomes], dict]) -> SeedCondition:
    return SeedCondition(text, (RUN,), lambda o: test(o[RUN]))


RING_CONDITIONS: dict[str, SeedCondition] = {
    "ign_misses_a_mode": _cond(
        "neither IGN weighting captures all eight modes",
        lambda o: {"pass": (o.modes[LISTING] < 8) & (o.modes[BALANCED] < 8), "modes_listing": o.modes[LISTING],
                   "modes_balanced": o.modes[BALANCED]}),
    "balanced_not_more": _cond(
        "the balanced IGN captures no more modes than the listing's",
        lambda o: {"pass": o.modes[BALANCED] <= o.modes[LISTING], "modes_balanced": o.modes[BALANCED],
                   "modes_listing": o.modes[LISTING]}),
    "gan_covers_as_many": _cond(
        "the GAN captures at least as many modes as the balanced IGN",
        lambda o: {"pass": o.modes[GAN] >= o.modes[BALANCED], "modes_gan": o.modes[GAN]}),
    "gan_spreads_evenly": _cond(
        "the GAN spreads its samples more evenly over the modes than either IGN (lower KL to uniform)",
        lambda o: {"pass": o.kl[GAN] < np.minimum(o.kl[LISTING], o.kl[BALANCED]), "kl_gan": o.kl[GAN],
                   "kl_ign_lowest": np.minimum(o.kl[LISTING], o.kl[BALANCED])}),
    "ign_reconstructs": _cond(
        "both IGN runs cut their RMS reconstruction error at least 10-fold",
        lambda o: (lambda r: {"pass": r > 10, "smaller_factor": r})(np.minimum(*o.rec_fall.values()))),
    "ign_critic_separates": _cond(
        "both IGN critics give the plane a median reconstruction error at least 20 times the data's",
        lambda o: (lambda r: {"pass": r > 20, "smaller_ratio": r})(np.minimum(*o.critic_ratio.values()))),
    "repeat_adds_no_mode": _cond(
        "f(f(f(z))) captures no more modes than f(z), for both IGN weightings",
        lambda o: {"pass": (o.modes_f3[LISTING] <= o.modes[LISTING]) & (o.modes_f3[BALANCED] <= o.modes[BALANCED]),
                   "modes_added_listing": o.modes_f3[LISTING] - o.modes[LISTING],
                   "modes_added_balanced": o.modes_f3[BALANCED] - o.modes[BALANCED]}),
}
"""The notebook's claims about its runs, one verdict per seed (outcomes under the key :data:`RUN`)."""


def seed_verdicts(seeds: Sequence[int]) -> dict[str, dict]:
    """The notebook's runs for ``seeds`` and every condition of :data:`RING_CONDITIONS` on them.

    Parameters
    ----------
    seeds : sequence of int

    Returns
    -------
    dict of str to dict
        Condition name -> ``"pass"`` (one bool per seed) and the numbers it compares
        (:func:`gantools.calibration.apply_conditions`).
    """
    return apply_conditions(RING_CONDITIONS, {RUN: ring_outcomes(ring_runs(seeds))})
