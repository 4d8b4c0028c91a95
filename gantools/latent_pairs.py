r"""Part II, notebook 4's experiment: ways of drawing latents for a trained energy-GAN pair, per seed.

Every seed :math:`s` trains four energy-GAN pairs (:func:`gantools.energy.train_engan`, the recipe with
an energy and a generator of width 64): on the 25-Gaussian grid and on the 8-Gaussian ring, for
2,000 and for 200 generator steps (each with its own decay to 0). Each pair then draws :data:`N`
latents by every method of :data:`METHODS` (:func:`gantools.latent.sample_latents`, a budget of
:data:`BUDGET` evaluations of :math:`U\circ G` per sample, the same prior draws for every method) and its
samples :math:`G(z)` are scored by :func:`gantools.metrics.mode_balance`.

The seeds of one call train side by side, member :math:`m` on its own stream seeded :math:`s`; the
latents of the members of one call are disjoint slices of one stream seeded :data:`SAMPLE_SEED`, so a
seed's samples depend on its place in the call, and every seed's draws are independent of every
other's. :func:`pair_runs` makes the runs; :data:`PAIR_CONDITIONS` states the notebook's claims about them
as per-seed conditions, which ``benchmarks/part2_latent_seeds.py`` counts over many fresh seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from . import data, latent
from . import energy as en
from .calibration import SeedCondition, apply_conditions
from .metrics import ModeBalance, mode_balance

__all__ = ["NAMES", "ARMS", "METHODS", "N", "BUDGET", "SAMPLE_SEED", "WIDTH", "PairOutcomes", "pair_runs", "RUN",
           "PAIR_CONDITIONS", "seed_verdicts"]

#: The toy sets.
NAMES: tuple[str, ...] = ("25gaussians", "8gaussians")
#: Label -> generator steps of the pair.
ARMS: dict[str, int] = {"2,000 steps": 2000, "200 steps": 200}
#: Label -> (method of :func:`gantools.latent.sample_latents`, its keyword arguments). The drift
#: :math:`\tfrac{\varepsilon}{2}\nabla U/T` of the chains is the same at every :math:`T`.
METHODS: dict[str, tuple[str, dict]] = {
    "prior": ("prior", {}),
    "shrink 0.5": ("shrink", dict(psi=0.5)),
    "Langevin T=1": ("langevin", dict(temperature=1.0, step=0.1)),
    "MALA T=1": ("mala", dict(temperature=1.0, step=0.1)),
    "MALA T=1, eps=0.01": ("mala", dict(temperature=1.0, step=0.01)),
    "Langevin T=0.05": ("langevin", dict(temperature=0.05, step=0.005)),
    "MALA T=0.05": ("mala", dict(temperature=0.05, step=0.005)),
    "descent": ("descent", dict(step=0.1)),
    "resample T=1": ("resample", dict(temperature=1.0)),
    "resample T=0.05": ("resample", dict(temperature=0.05)),
}
#: Samples per pair and method, evaluations of :math:`U\circ G` per sample, and the latents' seed.
N: int = 1000
BUDGET: int = 50
SAMPLE_SEED: int = 5
#: Width of the energy's and of the generator's hidden layers (the recipe's is 128).
WIDTH: int = 64


@dataclass(frozen=True)
class PairOutcomes:
    """The notebook's pairs, samples and scores for some seeds.

    Attributes
    ----------
    seeds : tuple of int
    runs : dict
        ``(name, arm)`` -> the :class:`gantools.energy.EnGANRun` of the seeds side by side.
    samples : dict
        ``(name, arm, label)`` -> the :class:`gantools.latent.LatentSamples` of every seed.
    balance : dict
        ``(name, arm, label)`` -> one :class:`gantools.metrics.ModeBalance` per seed.
    """

    seeds: tuple[int, ...]
    runs: dict
    samples: dict
    balance: dict[tuple[str, str, str], list[ModeBalance]]

    def _field(self, name: str, arm: str, label: str, field: str) -> np.ndarray:
        key = (name, arm, label)
        if key not in self.balance:
            raise ValueError(f"no samples for {key}; names {list(NAMES)}, arms {list(ARMS)}, methods {list(METHODS)}")
        return np.array([getattr(b, field) for b in self.balance[key]])

    def hq(self, name: str, arm: str, label: str) -> np.ndarray:
        """High-quality fraction per seed, shape ``(S,)``."""
        return self._field(name, arm, label, "high_quality_fraction")

    def modes(self, name: str, arm: str, label: str) -> np.ndarray:
        """Modes captured per seed, shape ``(S,)``."""
        return self._field(name, arm, label, "modes_captured")

    def balanced_mass(self, name: str, arm: str, label: str) -> np.ndarray:
        """Balanced mass per seed, shape ``(S,)``."""
        return self._field(name, arm, label, "balanced_mass")


def pair_runs(seeds: Sequence[int]) -> PairOutcomes:
    """Train the four pairs of every seed (the seeds side by side) and draw their latents by every method.

    Parameters
    ----------
    seeds : sequence of int

    Returns
    -------
    PairOutcomes

    Raises
    ------
    ValueError
        If ``seeds`` is empty.
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    runs, samples, balance = {}, {}, {}
    for name in NAMES:
        c, s = data.mode_centers(name), data.mode_sigma(name)
        for arm, steps in ARMS.items():
            # one call per dataset and arm: an arm that stops early would otherwise ride along, masked
            runs[name, arm] = run = en.train_engan(lambda n, g, name=name: data.sample(name, n, seed=g),
                                                   treatments=[en.Treatment("none", name=arm)], seeds=seeds,
                                                   steps=steps, hidden=WIDTH, g_hidden=WIDTH)
            for label, (method, kw) in METHODS.items():
                samples[name, arm, label] = out = latent.sample_latents(run, method, n=N, budget=BUDGET,
                                                                        seed=SAMPLE_SEED, **kw)
                balance[name, arm, label] = [mode_balance(out.x[m], c, s) for m in range(len(seeds))]
    return PairOutcomes(seeds=seeds, runs=runs, samples=samples, balance=balance)


#: The key under which the conditions read the outcomes (:func:`gantools.calibration.apply_conditions`).
RUN: str = "latent"
_GRID, _RING, _LONG, _SHORT = "25gaussians", "8gaussians", "2,000 steps", "200 steps"


def _cond(text: str, test: Callable[[PairOutcomes], dict]) -> SeedCondition:
    return SeedCondition(text, (RUN,), lambda o: test(o[RUN]))


def _both(test: Callable[[str], np.ndarray]) -> np.ndarray:
    return test(_GRID) & test(_RING)


def _descent_best(o: PairOutcomes) -> dict:
    others = [m for m in METHODS if m != "descent"]
    margin = {nm: o.hq(nm, _LONG, "descent") - np.max([o.hq(nm, _LONG, m) for m in others], axis=0) for nm in NAMES}
    return {"pass": (margin[_GRID] > 0) & (margin[_RING] > 0), "margin_grid": margin[_GRID],
            "margin_ring": margin[_RING]}


def _short_pair_fails(o: PairOutcomes) -> dict:
    best = np.max([o.hq(nm, _SHORT, m) for nm in NAMES for m in METHODS], axis=0)
    return {"pass": best < 0.15, "highest_hq": best}


PAIR_CONDITIONS: dict[str, SeedCondition] = {
    "ring_mala_lowers": _cond(
        "on the ring, latent MALA at T = 1 with step 0.1 lowers the HQ fraction below the prior's by more than 0.15 "
        "(2,000-step pair)",
        lambda o: {"pass": o.hq(_RING, _LONG, "prior") - o.hq(_RING, _LONG, "MALA T=1") > 0.15,
                   "hq_prior": o.hq(_RING, _LONG, "prior"), "hq_mala": o.hq(_RING, _LONG, "MALA T=1")}),
    "ring_mala_small_step": _cond(
        "on the ring, latent MALA at T = 1 with step 0.01 stays within 0.05 of the prior's HQ fraction or above it "
        "(2,000-step pair)",
        lambda o: {"pass": o.hq(_RING, _LONG, "MALA T=1, eps=0.01") - o.hq(_RING, _LONG, "prior") > -0.05,
                   "hq_mala_step_001": o.hq(_RING, _LONG, "MALA T=1, eps=0.01")}),
    "grid_far_from_level": _cond(
        "on the grid the 2,000-step pair's prior samples have an HQ fraction below 0.3 and at most 20 of 25 modes",
        lambda o: {"pass": (o.hq(_GRID, _LONG, "prior") < 0.3) & (o.modes(_GRID, _LONG, "prior") <= 20),
                   "hq": o.hq(_GRID, _LONG, "prior"), "modes": o.modes(_GRID, _LONG, "prior")}),
    "cold_mala_helps": _cond(
        "latent MALA at T = 0.05 raises the HQ fraction above the prior's on both datasets (2,000-step pair)",
        lambda o: {"pass": _both(lambda nm: o.hq(nm, _LONG, "MALA T=0.05") > o.hq(nm, _LONG, "prior")),
                   "gain_grid": o.hq(_GRID, _LONG, "MALA T=0.05") - o.hq(_GRID, _LONG, "prior"),
                   "gain_ring": o.hq(_RING, _LONG, "MALA T=0.05") - o.hq(_RING, _LONG, "prior")}),
    "descent_best": _cond(
        "plain gradient descent on U(G(z)) gives a higher HQ fraction than every other method at the same budget "
        "on both datasets (2,000-step pair)",
        _descent_best),
    "descent_keeps_modes": _cond(
        "descent captures at least as many modes as the prior on both datasets (2,000-step pair)",
        lambda o: {"pass": _both(lambda nm: o.modes(nm, _LONG, "descent") >= o.modes(nm, _LONG, "prior")),
                   "modes_gained_grid": o.modes(_GRID, _LONG, "descent") - o.modes(_GRID, _LONG, "prior"),
                   "modes_gained_ring": o.modes(_RING, _LONG, "descent") - o.modes(_RING, _LONG, "prior")}),
    "shrink_lowers": _cond(
        "shrinking z by 0.5 lowers the HQ fraction below the prior's on both datasets (2,000-step pair)",
        lambda o: {"pass": _both(lambda nm: o.hq(nm, _LONG, "shrink 0.5") < o.hq(nm, _LONG, "prior")),
                   "change_grid": o.hq(_GRID, _LONG, "shrink 0.5") - o.hq(_GRID, _LONG, "prior"),
                   "change_ring": o.hq(_RING, _LONG, "shrink 0.5") - o.hq(_RING, _LONG, "prior")}),
    "resample_unbalances": _cond(
        "importance resampling at T = 0.05 lowers the ring's balanced mass by more than 0.2 below the prior's and "
        "drops at least one of its 8 modes (2,000-step pair)",
        lambda o: {"pass": (o.balanced_mass(_RING, _LONG, "resample T=0.05") < o.balanced_mass(_RING, _LONG, "prior") - 0.2)
                   & (o.modes(_RING, _LONG, "resample T=0.05") <= 7),
                   "balanced_mass": o.balanced_mass(_RING, _LONG, "resample T=0.05"),
                   "balanced_mass_prior": o.balanced_mass(_RING, _LONG, "prior"),
                   "modes": o.modes(_RING, _LONG, "resample T=0.05")}),
    "short_pair_fails": _cond(
        "no method rescues a 200-step pair: HQ fraction below 0.15 for every method on both datasets",
        _short_pair_fails),
}
"""The notebook's claims about its pairs, one verdict per seed (outcomes under the key :data:`RUN`)."""


def seed_verdicts(seeds: Sequence[int]) -> dict[str, dict]:
    """The notebook's pairs for ``seeds`` and every condition of :data:`PAIR_CONDITIONS` on them.

    Parameters
    ----------
    seeds : sequence of int

    Returns
    -------
    dict of str to dict
        Condition name -> ``"pass"`` (one bool per seed) and the numbers it compares
        (:func:`gantools.calibration.apply_conditions`).
    """
    return apply_conditions(PAIR_CONDITIONS, {RUN: pair_runs(seeds)})
