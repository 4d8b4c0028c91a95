r"""Part IV, notebook 4's experiment: IGN with its recipe against a matched GAN on 8×8 digits, per seed.

Every seed :math:`s` trains two runs of :data:`STEPS` Adam steps (:math:`\beta=(0.5, 0.999)`, batch 128) on
scikit-learn's digits scaled to :math:`[-1, 1]` (:func:`gantools.data.digits`):

* IGN with its recipe (:data:`gantools.ign.RECIPE`, the defaults of :func:`gantools.ign.train_ign_ensemble`),
  :math:`f` the MLP autoencoder :math:`64\to256\to32\to256\to64` initialised from seed :math:`s`
  (:func:`gantools.digits.stacked_autoencoders`);
* a non-saturating GAN at learning rate :math:`10^{-3}` whose generator is that autoencoder's decoder half and
  whose critic is its encoder half with a scalar head (:func:`gantools.digits.stacked_gan_pairs`, seed :math:`s`).

Each run draws its data and noise from its own stream seeded :math:`s`, and is measured on its own
evaluation noise (:func:`eval_noise`, seeded :math:`10^7 + s`): the seeds trained beside it change a
seed's numbers only by rounding (a batched product rounds differently with another number of members),
which grows over training as a change of CPU does. :func:`matched_runs` trains many seeds side by side and records each run's
class coverage every :data:`EVAL_EVERY` steps; :func:`digit_outcomes` reduces the runs to per-seed numbers
and :data:`DIGIT_CONDITIONS` states the notebook's claims about them as per-seed conditions, which
``benchmarks/part4_digits_seeds.py`` counts over many fresh seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from . import data, digits, ign, metrics, train
from .calibration import SeedCondition, apply_conditions
from .ensemble import EnsembleMLP

__all__ = ["STEPS", "EVAL_EVERY", "EVAL_N", "LR_GAN", "MODELS", "eval_noise", "DigitRuns", "matched_runs",
           "References", "references", "DigitOutcomes", "digit_outcomes", "RUN", "DIGIT_CONDITIONS", "seed_verdicts"]

#: Adam steps of every run, and the interval (in steps) at which class coverage is recorded.
STEPS: int = 600
EVAL_EVERY: int = 100
#: Noise samples each run is scored on.
EVAL_N: int = 1000
#: The GAN's learning rate (both players).
LR_GAN: float = 1e-3
#: The two models.
MODELS: tuple[str, ...] = ("IGN", "GAN")

_EVAL_SEED = 10_000_000


def eval_noise(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The evaluation noise of seed ``seed``'s runs (its own generator, seeded ``10**7 + seed``).

    Parameters
    ----------
    seed : int

    Returns
    -------
    z_img : torch.Tensor, shape (EVAL_N, 64)
        IGN's noise, which has the data's shape.
    z_lat : torch.Tensor, shape (EVAL_N, 32)
        The GAN's noise, in its latent space.
    """
    gen = torch.Generator().manual_seed(_EVAL_SEED + int(seed))
    z_img = torch.randn(EVAL_N, 64, generator=gen)
    return z_img, torch.randn(EVAL_N, 32, generator=gen)


@dataclass
class DigitRuns:
    """The runs of :func:`matched_runs`.

    Attributes
    ----------
    seeds : tuple of int
    ign : gantools.ign.IGNEnsembleRun
        The IGN runs, one member per seed in order (``ign.f``).
    gan : gantools.train.StackedGANRun
        The GAN runs, one member per seed in order (``gan.G``, ``gan.D``).
    z_img, z_lat : torch.Tensor, shapes (S, EVAL_N, 64) and (S, EVAL_N, 32)
        Each seed's evaluation noise (:func:`eval_noise`).
    steps : list of int
        The steps at which coverage was recorded.
    coverage : dict of str to numpy.ndarray, shape (len(steps), S)
        Model -> classes covered (of 10) by each seed's samples at those steps
        (:func:`gantools.metrics.digit_scores`).
    """

    seeds: tuple[int, ...]
    ign: ign.IGNEnsembleRun
    gan: train.StackedGANRun
    z_img: torch.Tensor
    z_lat: torch.Tensor
    steps: list[int]
    coverage: dict[str, np.ndarray]


def matched_runs(seeds: Sequence[int], x: torch.Tensor | None = None) -> DigitRuns:
    """Both models for ``seeds``: the IGN runs side by side, then the GAN runs side by side.

    Parameters
    ----------
    seeds : sequence of int
    x : torch.Tensor, shape (1797, 64), optional
        The digits (default :func:`gantools.data.digits` with seed 0, as the notebook loads them).

    Returns
    -------
    DigitRuns

    Raises
    ------
    ValueError
        If ``seeds`` is empty.
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    x = data.digits(seed=0)[0] if x is None else x
    sample_real = digits.sampler(x)
    noise = [eval_noise(s) for s in seeds]
    z_img, z_lat = torch.stack([a for a, _ in noise]), torch.stack([b for _, b in noise])
    steps: dict[str, list[int]] = {m: [] for m in MODELS}
    cov: dict[str, list[list[int]]] = {m: [] for m in MODELS}

    def tracker(name: str, z: torch.Tensor) -> Callable[[int, EnsembleMLP], None]:
        def record(step: int, net: EnsembleMLP) -> None:
            with torch.no_grad():
                out = net(z)
            steps[name].append(int(step))
            cov[name].append([metrics.digit_scores(out[m]).coverage for m in range(len(seeds))])
        return record

    ign_run = ign.train_ign_ensemble(digits.stacked_autoencoders(seeds), sample_real, steps=STEPS,
                                     log_every=EVAL_EVERY, callback=tracker("IGN", z_img), seeds=seeds)
    G, D = digits.stacked_gan_pairs(seeds)
    gan_run = train.train_gan_stacked(G, D, sample_real, z_dim=32, steps=STEPS, lr_d=LR_GAN, lr_g=LR_GAN,
                                      log_every=EVAL_EVERY, callback=tracker("GAN", z_lat), seeds=seeds)
    if steps["IGN"] != steps["GAN"]:
        raise RuntimeError(f"the two models logged different steps: {steps['IGN']} and {steps['GAN']}")
    return DigitRuns(seeds=seeds, ign=ign_run, gan=gan_run, z_img=z_img, z_lat=z_lat, steps=steps["IGN"],
                     coverage={m: np.array(cov[m]) for m in MODELS})


@dataclass(frozen=True)
class References:
    """What the samples are compared with: held-out real digits and blends of two digits.

    Attributes
    ----------
    real, blends : gantools.metrics.SampleScores
        :func:`gantools.metrics.score_samples` of the 297 held-out digits (against the first 1500)
        and of 1000 blends of two digits of different classes (seed 1; against all digits).
    shape_off : dict of str to tuple of float
        ``"real"``, ``"blends"`` -> (sharpness on the real digits' principal subspace, RMS off it),
        each relative to the real digits' (:func:`shape_off`).
    """

    real: metrics.SampleScores
    blends: metrics.SampleScores
    shape_off: dict[str, tuple[float, float]]


def _subspace_stats(x: torch.Tensor) -> Callable[[torch.Tensor], tuple[float, float]]:
    P = digits.principal_projection
    shape_real, off_real = float(digits.sharpness(P(x)).mean()), float((x - P(x)).pow(2).mean().sqrt())

    def shape_off(y: torch.Tensor) -> tuple[float, float]:
        return float(digits.sharpness(P(y)).mean()) / shape_real, float((y - P(y)).pow(2).mean().sqrt()) / off_real
    return shape_off


def references(x: torch.Tensor, labels: torch.Tensor) -> References:
    """The reference scores (see :class:`References`) for the digits ``x`` with ``labels``.

    Parameters
    ----------
    x : torch.Tensor, shape (1797, 64)
    labels : torch.Tensor, shape (1797,)

    Returns
    -------
    References
    """
    blend = digits.blends(x, labels, 1000, seed=1)
    shape_off = _subspace_stats(x)
    return References(real=metrics.score_samples(x[1500:], x[:1500]), blends=metrics.score_samples(blend, x),
                      shape_off={"real": shape_off(x[1500:]), "blends": shape_off(blend)})


@dataclass(frozen=True)
class DigitOutcomes:
    """Per-seed numbers of the notebook's runs (every array has one entry per seed).

    Attributes
    ----------
    seeds : tuple of int
    steps : list of int
        Where coverage was recorded.
    coverage : dict of str to numpy.ndarray, shape (len(steps), S)
        Model -> classes covered at each recorded step.
    scores : dict of str to list of gantools.metrics.SampleScores
        Model -> the final samples' scores, one per seed.
    sharpness, confidence, nearest, kl : dict of str to numpy.ndarray
        Model -> those fields of ``scores``.
    on_subspace, off_subspace : dict of str to numpy.ndarray
        Model -> sharpness on the real digits' principal subspace and RMS off it, relative to the
        real digits'.
    refs : References
    """

    seeds: tuple[int, ...]
    steps: list[int]
    coverage: dict[str, np.ndarray]
    scores: dict[str, list]
    sharpness: dict[str, np.ndarray]
    confidence: dict[str, np.ndarray]
    nearest: dict[str, np.ndarray]
    kl: dict[str, np.ndarray]
    on_subspace: dict[str, np.ndarray]
    off_subspace: dict[str, np.ndarray]
    refs: References

    def classes_lost_after(self, step: int) -> np.ndarray:
        """IGN's best coverage from ``step`` on minus its final coverage, per seed.

        Parameters
        ----------
        step : int
            A recorded step.

        Returns
        -------
        numpy.ndarray of int, shape (S,)
        """
        c = self.coverage["IGN"][self.steps.index(step):]
        return c.max(0) - c[-1]


def digit_outcomes(runs: DigitRuns, x: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> DigitOutcomes:
    """Reduce :func:`matched_runs`'s runs to per-seed numbers.

    Parameters
    ----------
    runs : DigitRuns
    x, labels : torch.Tensor, optional
        The digits and their labels (default :func:`gantools.data.digits` with seed 0).

    Returns
    -------
    DigitOutcomes
    """
    if x is None or labels is None:
        x, labels = data.digits(seed=0)
    with torch.no_grad():
        out = {"IGN": runs.ign.f(runs.z_img), "GAN": runs.gan.G(runs.z_lat)}
    shape_off = _subspace_stats(x)
    scores = {k: [metrics.score_samples(v[m], x) for m in range(len(runs.seeds))] for k, v in out.items()}
    so = {k: np.array([shape_off(v[m]) for m in range(len(runs.seeds))]) for k, v in out.items()}
    field = lambda name: {k: np.array([getattr(r, name) for r in v]) for k, v in scores.items()}  # noqa: E731
    return DigitOutcomes(seeds=runs.seeds, steps=list(runs.steps), coverage=runs.coverage, scores=scores,
                         sharpness=field("sharpness"), confidence=field("confidence"), nearest=field("nearest"),
                         kl=field("kl_to_uniform"), on_subspace={k: v[:, 0] for k, v in so.items()},
                         off_subspace={k: v[:, 1] for k, v in so.items()}, refs=references(x, labels))


#: The key under which the conditions read the outcomes (:func:`gantools.calibration.apply_conditions`).
RUN: str = "digits"


def _cond(text: str, test: Callable[[DigitOutcomes], dict]) -> SeedCondition:
    return SeedCondition(text, (RUN,), lambda o: test(o[RUN]))


def _closer_to_blends(o: DigitOutcomes) -> dict:
    bl, re_ = o.refs.blends, o.refs.real
    conf, near = o.confidence["IGN"], o.nearest["IGN"]
    ok = (np.abs(conf - bl.confidence) < np.abs(conf - re_.confidence)) & (np.abs(near - bl.nearest) < np.abs(near - re_.nearest))
    return {"pass": ok, "confidence_ign": conf, "nearest_ign": near}


DIGIT_CONDITIONS: dict[str, SeedCondition] = {
    "ign_keeps_classes": _cond(
        "IGN (recipe) ends with at least 8 of 10 classes",
        lambda o: {"pass": o.coverage["IGN"][-1] >= 8, "coverage_ign": o.coverage["IGN"][-1]}),
    "ign_no_collapse": _cond(
        "IGN ends at most 1 class below its best coverage from step 300 on",
        lambda o: (lambda lost: {"pass": lost <= 1, "classes_lost": lost})(o.classes_lost_after(300))),
    "gan_keeps_classes": _cond(
        "the GAN ends with at least 8 of 10 classes",
        lambda o: {"pass": o.coverage["GAN"][-1] >= 8, "coverage_gan": o.coverage["GAN"][-1]}),
    "sharper_than_blends": _cond(
        "both the IGN and the GAN run are sharper than blends of two digits",
        lambda o: {"pass": np.minimum(o.sharpness["IGN"], o.sharpness["GAN"]) > o.refs.blends.sharpness,
                   "sharpness_ign": o.sharpness["IGN"], "sharpness_gan": o.sharpness["GAN"]}),
    "nearly_even": _cond(
        "both runs' class histograms have a KL to uniform below 0.15",
        lambda o: {"pass": np.maximum(o.kl["IGN"], o.kl["GAN"]) < 0.15, "kl_ign": o.kl["IGN"], "kl_gan": o.kl["GAN"]}),
    "ign_softer": _cond(
        "IGN's samples are less sharp than the GAN's",
        lambda o: {"pass": o.sharpness["IGN"] < o.sharpness["GAN"]}),
    "subspace_split": _cond(
        "the GAN's samples are sharper than IGN's on the principal subspace and carry more off-subspace detail; "
        "the GAN's off-subspace RMS is within 20% of real digits', IGN's below 80% of theirs",
        lambda o: {"pass": (o.on_subspace["GAN"] > o.on_subspace["IGN"]) & (o.off_subspace["GAN"] > o.off_subspace["IGN"])
                   & (np.abs(o.off_subspace["GAN"] - 1) < 0.2) & (o.off_subspace["IGN"] < 0.8),
                   "on_subspace_ign": o.on_subspace["IGN"], "on_subspace_gan": o.on_subspace["GAN"],
                   "off_subspace_ign": o.off_subspace["IGN"], "off_subspace_gan": o.off_subspace["GAN"]}),
    "ign_like_blends": _cond(
        "by classifier confidence and by RMS distance to the nearest real digit, IGN's samples are closer to "
        "blends than to held-out real digits",
        _closer_to_blends),
}
"""The notebook's claims about its runs, one verdict per seed (outcomes under the key :data:`RUN`)."""


def seed_verdicts(seeds: Sequence[int]) -> dict[str, dict]:
    """The notebook's runs for ``seeds`` and every condition of :data:`DIGIT_CONDITIONS` on them.

    Parameters
    ----------
    seeds : sequence of int

    Returns
    -------
    dict of str to dict
        Condition name -> ``"pass"`` (one bool per seed) and the numbers it compares
        (:func:`gantools.calibration.apply_conditions`).
    """
    return apply_conditions(DIGIT_CONDITIONS, {RUN: digit_outcomes(matched_runs(seeds))})
