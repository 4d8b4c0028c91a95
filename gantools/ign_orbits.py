r"""Part IV, notebook 6's MLP runs: IGN with its recipe and with the listing's weights, and what repeated
application does to noise and to real digits, per seed.

Every seed :math:`s` trains two IGN runs of :data:`STEPS` steps (:func:`gantools.ign.train_ign_ensemble`,
the recipe's learning rate and batch) of the MLP autoencoder :math:`64\to256\to32\to256\to64` initialised
from seed :math:`s` (:func:`gantools.digits.stacked_autoencoders`): one with the recipe's ``lam_tight`` and
clamp (:data:`gantools.ign.RECIPE`), one with the listing's (:data:`gantools.ign.LISTING`). Each run draws
its data and noise from its own stream seeded :math:`s`. Both runs of a seed are then followed along the
orbits :math:`z, f(z), f^2(z), f^3(z)` of the seed's own 1,000 noise vectors (:func:`eval_noise`) and
:math:`x, f(x), f^2(x), f^3(x)` of the first 1,000 digits, and their critic is read on both.

:func:`orbit_runs` trains many seeds side by side; :func:`orbit_outcomes` reduces the runs to per-seed
numbers and :data:`ORBIT_CONDITIONS` states the notebook's claims about them as per-seed conditions, which
``benchmarks/part4_orbits_seeds.py`` counts over many fresh seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from . import data, digits, ign, metrics
from .calibration import SeedCondition, apply_conditions

__all__ = ["STEPS", "EVAL_N", "SETTINGS", "GRAD_N", "eval_noise", "OrbitRuns", "orbit_runs", "Relative", "relative_stats",
           "references", "log_log_slope", "OrbitOutcomes", "orbit_outcomes", "RUN", "ORBIT_CONDITIONS", "seed_verdicts"]

#: Steps of every run.
STEPS: int = 400
#: Noise vectors and real digits each run's orbits start from.
EVAL_N: int = 1000
#: The two weightings: name -> ``lam_tight`` and ``clamp`` (the rest is the recipe's).
SETTINGS: dict[str, dict] = {name: {k: s[k] for k in ("lam_tight", "clamp")}
                             for name, s in (("recipe", ign.RECIPE), ("listing", ign.LISTING))}
#: Samples of :math:`f(z)` on which the critic's per-sample gradient is measured.
GRAD_N: int = 200

_EVAL_SEED = 20_000_000


def eval_noise(seed: int) -> torch.Tensor:
    """The noise whose orbits seed ``seed``'s runs are measured on (its own generator, seeded ``2·10**7 + seed``).

    Parameters
    ----------
    seed : int

    Returns
    -------
    torch.Tensor, shape (EVAL_N, 64)
    """
    return torch.randn(EVAL_N, 64, generator=torch.Generator().manual_seed(_EVAL_SEED + int(seed)))


@dataclass
class OrbitRuns:
    """The runs of :func:`orbit_runs` and their orbits.

    Attributes
    ----------
    seeds : tuple of int
    keys : list of (str, int)
        ``(setting, seed)`` of each member of ``run.f``, every setting's seeds in order.
    run : gantools.ign.IGNEnsembleRun
    orbit_z, orbit_x : list of torch.Tensor, each of shape (len(keys), EVAL_N, 64)
        :math:`f^k(z)` and :math:`f^k(x)` for :math:`k = 0..3`, member by member (``z`` the member's
        seed's :func:`eval_noise`, ``x`` the first :data:`EVAL_N` digits).
    """

    seeds: tuple[int, ...]
    keys: list[tuple[str, int]]
    run: ign.IGNEnsembleRun
    orbit_z: list[torch.Tensor]
    orbit_x: list[torch.Tensor]


def orbit_runs(seeds: Sequence[int], x: torch.Tensor | None = None) -> OrbitRuns:
    """Both weightings for ``seeds``, side by side, and the orbits of every run.

    Parameters
    ----------
    seeds : sequence of int
    x : torch.Tensor, shape (1797, 64), optional
        The digits (default :func:`gantools.data.digits` with seed 0, as the notebook loads them).

    Returns
    -------
    OrbitRuns

    Raises
    ------
    ValueError
        If ``seeds`` is empty.
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    x = data.digits(seed=0)[0] if x is None else x
    keys = [(name, s) for name in SETTINGS for s in seeds]
    f = digits.stacked_autoencoders([s for _, s in keys])
    run = ign.train_ign_ensemble(f, digits.sampler(x), steps=STEPS, lam_tight=[SETTINGS[n]["lam_tight"] for n, _ in keys],
                                 clamp=[SETTINGS[n]["clamp"] for n, _ in keys], seeds=[s for _, s in keys])
    orbit_z = [torch.stack([eval_noise(s) for _, s in keys])]
    orbit_x = [x[:EVAL_N].expand(len(keys), -1, -1).contiguous()]
    with torch.no_grad():
        for _ in range(3):
            orbit_z.append(f(orbit_z[-1]))
            orbit_x.append(f(orbit_x[-1]))
    return OrbitRuns(seeds=seeds, keys=keys, run=run, orbit_z=orbit_z, orbit_x=orbit_x)


@dataclass(frozen=True)
class Relative:
    """Three statistics of a set of digits, each relative to the real digits' value.

    Attributes
    ----------
    sharp : float
        Sharpness (:func:`gantools.digits.sharpness`).
    shape : float
        Sharpness after projection onto the real digits' principal subspace
        (:func:`gantools.digits.principal_projection`), which pixel noise barely moves.
    off : float
        RMS of what lies off that subspace.
    """

    sharp: float
    shape: float
    off: float


def relative_stats(x: torch.Tensor) -> Callable[[torch.Tensor], Relative]:
    """The statistics of :class:`Relative`, relative to those of the real digits ``x``.

    Parameters
    ----------
    x : torch.Tensor, shape (N, 64)
        Real digits.

    Returns
    -------
    callable
        ``stats(y) -> Relative`` for digits ``y`` of shape ``(n, 64)``.
    """
    P = digits.principal_projection
    sharp_real = float(digits.sharpness(x).mean())
    shape_real = float(digits.sharpness(P(x)).mean())
    off_real = float((x - P(x)).pow(2).mean().sqrt())

    def stats(y: torch.Tensor) -> Relative:
        return Relative(float(digits.sharpness(y).mean()) / sharp_real, float(digits.sharpness(P(y)).mean()) / shape_real,
                        float((y - P(y)).pow(2).mean().sqrt()) / off_real)
    return stats


def references(x: torch.Tensor, labels: torch.Tensor) -> dict[str, Relative]:
    """The statistics of real digits with pixel noise (std 0.3, seed 3), with a 3x3 blur, and of 1000
    blends of two digits of different classes (seed 1), relative to the real digits ``x``.

    Parameters
    ----------
    x : torch.Tensor, shape (N, 64)
    labels : torch.Tensor, shape (N,)

    Returns
    -------
    dict of str to Relative
        Keys ``"real + noise (std 0.3)"``, ``"real, 3x3 blur"`` and ``"blends of two digits"``.
    """
    stats = relative_stats(x)
    blur3 = torch.nn.functional.avg_pool2d(x.reshape(-1, 1, 8, 8), 3, 1, 1, count_include_pad=False).reshape(-1, 64)
    return {"real + noise (std 0.3)": stats(x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(3))),
            "real, 3x3 blur": stats(blur3),
            "blends of two digits": stats(digits.blends(x, labels, 1000, seed=1))}


@dataclass(frozen=True)
class OrbitOutcomes:
    r"""Per-seed numbers of the notebook's runs: for each setting (:data:`SETTINGS`) an array with one row per seed.

    Attributes
    ----------
    seeds : tuple of int
    sharp, shape, off : dict of str to numpy.ndarray, shape (S, 3)
        The :class:`Relative` statistics of :math:`f(z), f^2(z), f^3(z)`.
    coverage : dict of str to numpy.ndarray, shape (S, 3)
        Classes covered by :math:`f^k(z)`, :math:`k=1,2,3` (:func:`gantools.metrics.digit_scores`).
    x_drift : dict of str to numpy.ndarray, shape (S, 3)
        RMS distance of :math:`f^k(x)` from :math:`x`.
    x_keep : dict of str to numpy.ndarray, shape (S, 3)
        Share of real digits whose predicted class under :math:`f^k` is their label.
    d_fz, d_fx, d_x, d_z : dict of str to numpy.ndarray, shape (S,)
        Median critic :math:`\delta_\theta` on :math:`f(z)`, :math:`f(x)`, :math:`x` and :math:`z`.
    slope : dict of str to numpy.ndarray, shape (S,)
        Fitted slope of :math:`\log\lVert\nabla_\theta\delta_\theta\rVert` against :math:`\log\delta_\theta`
        on the first :data:`GRAD_N` samples :math:`f(z)` (:func:`gantools.ign.critic_gradient_norms`,
        :func:`log_log_slope`; NaN for a run whose samples are exact fixed points).
    refs : dict of str to Relative
        :func:`references`.
    """

    seeds: tuple[int, ...]
    sharp: dict[str, np.ndarray]
    shape: dict[str, np.ndarray]
    off: dict[str, np.ndarray]
    coverage: dict[str, np.ndarray]
    x_drift: dict[str, np.ndarray]
    x_keep: dict[str, np.ndarray]
    d_fz: dict[str, np.ndarray]
    d_fx: dict[str, np.ndarray]
    d_x: dict[str, np.ndarray]
    d_z: dict[str, np.ndarray]
    slope: dict[str, np.ndarray]
    refs: dict[str, Relative]


def log_log_slope(delta: torch.Tensor, grad: torch.Tensor) -> float:
    r"""Least-squares slope of :math:`\log\lVert\nabla_\theta\delta\rVert` against :math:`\log\delta` over samples.

    Only samples where both are finite and positive count: a run whose samples are exact fixed points
    (a collapsed run) has :math:`\delta = 0` there, where the logarithm is :math:`-\infty`.

    Parameters
    ----------
    delta, grad : torch.Tensor, shape (n,)
        Per-sample critic values and gradient norms (:func:`gantools.ign.critic_gradient_norms`).

    Returns
    -------
    float
        The slope, or NaN if fewer than 10 samples count or :math:`\log\delta` takes one value on them.
    """
    d, g = delta.detach().double().numpy(), grad.detach().double().numpy()
    ok = np.isfinite(d) & np.isfinite(g) & (d > 0) & (g > 0)
    if ok.sum() < 10 or np.ptp(np.log(d[ok])) == 0:
        return float("nan")
    return float(np.polyfit(np.log(d[ok]), np.log(g[ok]), 1)[0])


def orbit_outcomes(runs: OrbitRuns, x: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> OrbitOutcomes:
    """Reduce :func:`orbit_runs`'s runs to per-seed numbers.

    Parameters
    ----------
    runs : OrbitRuns
    x, labels : torch.Tensor, optional
        The digits and their labels (default :func:`gantools.data.digits` with seed 0).

    Returns
    -------
    OrbitOutcomes
    """
    if x is None or labels is None:
        x, labels = data.digits(seed=0)
    stats, xr, lab = relative_stats(x), x[:EVAL_N], labels[:EVAL_N]
    per: dict[str, dict[str, list]] = {}
    for m, (name, _) in enumerate(runs.keys):
        rows = per.setdefault(name, {k: [] for k in ("sharp", "shape", "off", "coverage", "x_drift", "x_keep",
                                                     "d_fz", "d_fx", "d_x", "d_z", "slope")})
        st = [stats(runs.orbit_z[k][m]) for k in (1, 2, 3)]
        rows["sharp"].append([s.sharp for s in st])
        rows["shape"].append([s.shape for s in st])
        rows["off"].append([s.off for s in st])
        rows["coverage"].append([metrics.digit_scores(runs.orbit_z[k][m]).coverage for k in (1, 2, 3)])
        rows["x_drift"].append([float((runs.orbit_x[k][m] - xr).pow(2).mean().sqrt()) for k in (1, 2, 3)])
        rows["x_keep"].append([float((digits.predict_proba(runs.orbit_x[k][m]).argmax(1) == lab).float().mean())
                               for k in (1, 2, 3)])
        g = runs.run.member(m)
        with torch.no_grad():
            for key, pts in (("d_fz", runs.orbit_z[1][m]), ("d_fx", runs.orbit_x[1][m]), ("d_x", xr),
                             ("d_z", runs.orbit_z[0][m])):
                rows[key].append(float(ign.reconstruction_error(g, pts).median()))
        rows["slope"].append(log_log_slope(*ign.critic_gradient_norms(g, runs.orbit_z[1][m][:GRAD_N])))
    field = lambda k: {name: np.array(rows[k]) for name, rows in per.items()}  # noqa: E731
    return OrbitOutcomes(seeds=runs.seeds, **{k: field(k) for k in ("sharp", "shape", "off", "coverage", "x_drift",
                                                                     "x_keep", "d_fz", "d_fx", "d_x", "d_z", "slope")},
                         refs=references(x, labels))


#: The key under which the conditions read the outcomes (:func:`gantools.calibration.apply_conditions`).
RUN: str = "orbits"


def _cond(text: str, test: Callable[[OrbitOutcomes], dict]) -> SeedCondition:
    return SeedCondition(text, (RUN,), lambda o: test(o[RUN]))


def _both(test: Callable[[OrbitOutcomes, str], np.ndarray]) -> Callable[[OrbitOutcomes], np.ndarray]:
    return lambda o: test(o, "recipe") & test(o, "listing")


def _softer_than_real(o: OrbitOutcomes) -> dict:
    blend = o.refs["blends of two digits"].sharp
    ok = _both(lambda o, n: (o.sharp[n][:, 0] > blend) & (o.sharp[n][:, 0] < 1.0))(o)
    return {"pass": ok, "sharpness_recipe": o.sharp["recipe"][:, 0], "sharpness_listing": o.sharp["listing"][:, 0]}


def _self_consistent(o: OrbitOutcomes) -> dict:
    ratio = {n: np.maximum(o.d_fz[n], o.d_fx[n]) / o.d_z[n] for n in SETTINGS}
    ok = _both(lambda o, n: (o.x_keep[n][:, 0] > 0.85) & (ratio[n] < 0.1))(o)
    return {"pass": ok, "label_kept_lower": np.minimum(o.x_keep["recipe"][:, 0], o.x_keep["listing"][:, 0]),
            "delta_ratio_higher": np.maximum(ratio["recipe"], ratio["listing"])}


ORBIT_CONDITIONS: dict[str, SeedCondition] = {
    "softer_than_real": _cond(
        "both runs' f(z) are less sharp than real digits and sharper than blends of two digits", _softer_than_real),
    "recipe_softer": _cond(
        "the recipe's f(z) is less sharp than the listing's",
        lambda o: {"pass": o.sharp["recipe"][:, 0] < o.sharp["listing"][:, 0]}),
    "no_further_blur": _cond(
        "in both runs f(f(f(z))) keeps at least 95% of f(z)'s sharpness on the principal subspace",
        lambda o: (lambda r: {"pass": _both(lambda o, n: r[n] > 0.95)(o), "ratio_recipe": r["recipe"],
                              "ratio_listing": r["listing"]})({n: o.shape[n][:, 2] / o.shape[n][:, 0] for n in SETTINGS})),
    "recipe_sharpens_shape": _cond(
        "with the recipe, f(f(f(z)))'s sharpness on the principal subspace exceeds f(z)'s by at least 25%, more than "
        "pixel noise of std 0.3 adds to real digits",
        lambda o: (lambda r: {"pass": (r > 1.25) & (r > o.refs["real + noise (std 0.3)"].shape), "ratio": r})(
            o.shape["recipe"][:, 2] / o.shape["recipe"][:, 0])),
    "shape_without_detail": _cond(
        "both runs' f(z) have at least 85% of real digits' sharpness on the principal subspace and less than 75% of "
        "their off-subspace RMS",
        lambda o: {"pass": _both(lambda o, n: (o.shape[n][:, 0] > 0.85) & (o.off[n][:, 0] < 0.75))(o),
                   "on_subspace_lower": np.minimum(o.shape["recipe"][:, 0], o.shape["listing"][:, 0]),
                   "off_subspace_higher": np.maximum(o.off["recipe"][:, 0], o.off["listing"][:, 0])}),
    "recipe_f3_sharper_than_real": _cond(
        "with the recipe, f(f(f(z))) is sharper on the principal subspace than real digits",
        lambda o: {"pass": o.shape["recipe"][:, 2] > 1.0, "on_subspace_f3": o.shape["recipe"][:, 2]}),
    "labels_fade": _cond(
        "in both runs the share of real digits that keep their label falls with each application of f",
        lambda o: {"pass": _both(lambda o, n: (o.x_keep[n][:, 0] > o.x_keep[n][:, 1]) & (o.x_keep[n][:, 1] > o.x_keep[n][:, 2]))(o)}),
    "digits_drift": _cond(
        "in both runs real digits move further from themselves with each application of f",
        lambda o: {"pass": _both(lambda o, n: (o.x_drift[n][:, 0] < o.x_drift[n][:, 1]) & (o.x_drift[n][:, 1] < o.x_drift[n][:, 2]))(o)}),
    "self_consistent": _cond(
        "in both runs f keeps the class of at least 85% of real digits, and f(z) and f(x) are both left in place at "
        "least 10 times better than noise z (median delta)", _self_consistent),
    "sqrt_gradient": _cond(
        "in both runs the critic's per-sample gradient norm on the samples grows like delta^(1/2): fitted log-log "
        "slope within 0.5 +- 0.15",
        lambda o: {"pass": _both(lambda o, n: np.abs(o.slope[n] - 0.5) < 0.15)(o), "slope_recipe": o.slope["recipe"],
                   "slope_listing": o.slope["listing"]}),
}
"""The notebook's claims about its runs, one verdict per seed (outcomes under the key :data:`RUN`)."""


def seed_verdicts(seeds: Sequence[int]) -> dict[str, dict]:
    """The notebook's runs for ``seeds`` and every condition of :data:`ORBIT_CONDITIONS` on them.

    Parameters
    ----------
    seeds : sequence of int

    Returns
    -------
    dict of str to dict
        Condition name -> ``"pass"`` (one bool per seed) and the numbers it compares
        (:func:`gantools.calibration.apply_conditions`).
    """
    return apply_conditions(ORBIT_CONDITIONS, {RUN: orbit_outcomes(orbit_runs(seeds))})
