r"""Part III, notebook 2's experiment: critics trained on samples of two densities whose ratio is known.

:math:`p` is an equal mixture of :math:`\mathcal N((-1, 0.5), 0.6^2 I)` and
:math:`\mathcal N((1, -0.5), 0.6^2 I)`, :math:`q = \mathcal N(0, 1.5^2 I)`, so
:math:`\log r = \log p/q` is known everywhere. :func:`ratio_problem` draws the samples of both and
the evaluation points (from :math:`\tfrac12(p+q)`); :func:`critic_outcomes` trains one critic per
f-divergence of :data:`gantools.ratio.F_DIVERGENCES` and seed side by side
(:func:`gantools.ratio.fit_log_ratios`) and measures, per critic, how well its raw output follows
the optimum :math:`u^*(r)` theory predicts and how well the :math:`\log r` it implies matches the
exact one. :data:`CRITIC_CONDITIONS` are the notebook's claims as per-seed conditions
(:class:`gantools.calibration.SeedCondition`), which ``benchmarks/part3_ratio_seeds.py`` counts
over many fresh seeds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from ._validate import check_int
from .calibration import SeedCondition
from .gaussian import gaussian_log_density
from .ratio import F_DIVERGENCES, fit_log_ratios

__all__ = ["CENTRES", "SD_P", "SD_Q", "FIT", "INSIDE", "OPTIMUM", "CLOSE", "log_p", "log_q", "sample_p", "sample_q",
           "RatioProblem", "ratio_problem", "CriticOutcomes", "critic_outcomes", "CRITIC_CONDITIONS",
           "critic_conditions"]

#: Means of :math:`p`'s two components.
CENTRES: tuple[tuple[float, float], ...] = ((-1.0, 0.5), (1.0, -0.5))
#: Standard deviation of each component of :math:`p`.
SD_P: float = 0.6
#: Standard deviation of :math:`q`.
SD_Q: float = 1.5
#: Training of every critic: Adam steps, learning rate, batch (a 2-64-64-1 LeakyReLU MLP).
FIT: dict = {"steps": 800, "lr": 2e-3, "batch": 512}
#: The overlap region is where :math:`|\log r|` is below this (neither density :math:`e^4` times the other).
INSIDE: float = 4.0

#: :math:`u^*(\log r)`, the optimal raw output of each critic, written out independently of
#: :data:`gantools.ratio.F_DIVERGENCES` (which the fit uses).
OPTIMUM: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "gan": lambda lr: lr, "kl": lambda lr: 1 + lr, "reverse_kl": lambda lr: lr,
    "pearson": lambda lr: 2 * (np.exp(lr) - 1), "hellinger": lambda lr: 0.5 * lr,
}
#: The critics that match their optimum closely at this budget.
CLOSE: tuple[str, ...] = ("gan", "kl", "hellinger", "pearson")


def log_p(x: torch.Tensor) -> torch.Tensor:
    """:math:`\\log p(x)` at the points ``x``.

    Parameters
    ----------
    x : torch.Tensor, shape (n, 2)

    Returns
    -------
    torch.Tensor, shape (n,)
    """
    comps = torch.stack([gaussian_log_density(x, c, SD_P ** 2 * np.eye(2)) for c in CENTRES], 1)
    return torch.logsumexp(comps, 1) - math.log(len(CENTRES))


def log_q(x: torch.Tensor) -> torch.Tensor:
    """:math:`\\log q(x)` at the points ``x``.

    Parameters
    ----------
    x : torch.Tensor, shape (n, 2)

    Returns
    -------
    torch.Tensor, shape (n,)
    """
    return gaussian_log_density(x, np.zeros(2), SD_Q ** 2 * np.eye(2))


def sample_p(n: int, g: torch.Generator) -> torch.Tensor:
    """``n`` samples of :math:`p`.

    Parameters
    ----------
    n : int
    g : torch.Generator

    Returns
    -------
    torch.Tensor, shape (n, 2)
    """
    idx = torch.randint(len(CENTRES), (n,), generator=g)
    return torch.as_tensor(CENTRES, dtype=torch.float32)[idx] + SD_P * torch.randn(n, 2, generator=g)


def sample_q(n: int, g: torch.Generator) -> torch.Tensor:
    """``n`` samples of :math:`q`.

    Parameters
    ----------
    n : int
    g : torch.Generator

    Returns
    -------
    torch.Tensor, shape (n, 2)
    """
    return SD_Q * torch.randn(n, 2, generator=g)


@dataclass(frozen=True)
class RatioProblem:
    """Training samples and evaluation points with their exact log ratio.

    Attributes
    ----------
    x_p, x_q : torch.Tensor, shape (n, 2)
        Training samples of :math:`p` and :math:`q`.
    x_eval : torch.Tensor, shape (2 n_eval, 2)
        Evaluation points, half from :math:`p` and half from :math:`q`.
    log_r : torch.Tensor, shape (2 n_eval,)
        The exact :math:`\\log p/q` there.
    inside : torch.Tensor of bool, shape (2 n_eval,)
        Where :math:`|\\log r| <` :data:`INSIDE`.
    """

    x_p: torch.Tensor
    x_q: torch.Tensor
    x_eval: torch.Tensor
    log_r: torch.Tensor
    inside: torch.Tensor

    @property
    def sd_inside(self) -> float:
        """The standard deviation of the exact :math:`\\log r` over the overlap region."""
        return float(self.log_r[self.inside].std())


def ratio_problem(seed: int = 1, n: int = 20000, n_eval: int = 2000) -> RatioProblem:
    """Draw ``n`` samples of each density and ``n_eval`` evaluation points from each, from one generator.

    Parameters
    ----------
    seed : int
        Seed of the generator (the notebook's data: 1).
    n, n_eval : int

    Returns
    -------
    RatioProblem
    """
    check_int(n, "n")
    check_int(n_eval, "n_eval")
    g = torch.Generator().manual_seed(int(seed))
    x_p, x_q = sample_p(n, g), sample_q(n, g)
    x_eval = torch.cat([sample_p(n_eval, g), sample_q(n_eval, g)])
    log_r = (log_p(x_eval) - log_q(x_eval)).detach()
    return RatioProblem(x_p, x_q, x_eval, log_r, log_r.abs() < INSIDE)


def _corr(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Pearson correlation of each row of ``a`` (S, n) with ``b`` (n,)."""
    return np.array([np.corrcoef(row, b)[0, 1] for row in a.numpy()])


@dataclass(frozen=True)
class CriticOutcomes:
    """How each trained critic ends, per f-divergence and seed.

    Attributes
    ----------
    divergences : tuple of str
        Row order of the ``(K, S)`` arrays (the names of :data:`gantools.ratio.F_DIVERGENCES`).
    seeds : tuple of int
    corr : numpy.ndarray, shape (K, S)
        Correlation of the raw output with the exact :math:`\\log r` in the overlap region.
    rmse : numpy.ndarray, shape (K, S)
        RMSE of the implied :math:`\\log r` (the output mapped back through the inverse of
        :math:`u^*`) in the overlap region.
    rel : numpy.ndarray, shape (K, S)
        RMSE of the raw output against :math:`u^*` in the overlap region, divided by the standard
        deviation of :math:`u^*` there (the best constant scores 1).
    gan_rmse_in, gan_rmse_out, gan_bias_out : numpy.ndarray, shape (S,)
        The logistic critic :math:`D` against :math:`\\log r`: RMSE inside and outside the overlap
        region, and the mean of :math:`D - \\log r` outside it.
    sd_inside : float
        The standard deviation of the exact :math:`\\log r` in the overlap region.
    outputs : torch.Tensor or None, shape (K, S, 2 n_eval)
        The raw outputs at the evaluation points (kept on request).
    """

    divergences: tuple[str, ...]
    seeds: tuple[int, ...]
    corr: np.ndarray
    rmse: np.ndarray
    rel: np.ndarray
    gan_rmse_in: np.ndarray
    gan_rmse_out: np.ndarray
    gan_bias_out: np.ndarray
    sd_inside: float
    outputs: torch.Tensor | None = None

    def of(self, name: str, what: str) -> np.ndarray:
        """The per-seed values of ``what`` (``"corr"``, ``"rmse"`` or ``"rel"``) for divergence ``name``."""
        if name not in self.divergences:
            raise ValueError(f"unknown divergence {name!r}; the outcomes hold {list(self.divergences)}")
        if what not in ("corr", "rmse", "rel"):
            raise ValueError(f"unknown outcome {what!r}; valid: ['corr', 'rmse', 'rel']")
        return getattr(self, what)[self.divergences.index(name)]


def critic_outcomes(seeds: Sequence[int], problem: RatioProblem | None = None, *, keep_outputs: bool = False,
                    chunk: int = 20) -> CriticOutcomes:
    """Train a critic per f-divergence and seed at :data:`FIT` and measure how each ends.

    Every seed's five critics (seed: initialisation and batches; the data are ``problem``'s) train
    side by side with the other seeds', ``chunk`` seeds per batched call.

    Parameters
    ----------
    seeds : sequence of int
    problem : RatioProblem, optional
        The data (default :func:`ratio_problem` with its defaults, the notebook's).
    keep_outputs : bool
        Keep the raw outputs at the evaluation points (for figures).
    chunk : int
        Seeds per batched call.

    Returns
    -------
    CriticOutcomes
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    check_int(chunk, "chunk")
    pb = ratio_problem() if problem is None else problem
    names = tuple(F_DIVERGENCES)
    K, S = len(names), len(seeds)
    out = torch.empty(K, S, pb.x_eval.shape[0])
    for lo in range(0, S, chunk):
        part = seeds[lo:lo + chunk]
        ens = fit_log_ratios(pb.x_p, pb.x_q, [k for k in names for _ in part], [s for _ in names for s in part], **FIT)
        with torch.no_grad():
            v = ens(pb.x_eval.expand(ens.n_members, -1, -1))[..., 0]
        out[:, lo:lo + len(part)] = v.reshape(K, len(part), -1)
    inside, lr = pb.inside, pb.log_r
    lr_np = lr[inside].numpy()
    corr = np.stack([_corr(out[k][:, inside], lr_np) for k in range(K)])
    rmse = np.stack([(F_DIVERGENCES[n].log_ratio(out[k]) - lr)[:, inside].pow(2).mean(1).sqrt().numpy()
                     for k, n in enumerate(names)])
    rel = []
    for k, n in enumerate(names):
        u_star = torch.as_tensor(OPTIMUM[n](lr.numpy()))[inside]
        rel.append(((out[k][:, inside] - u_star).pow(2).mean(1).sqrt() / u_star.std()).numpy())
    err = out[names.index("gan")] - lr
    return CriticOutcomes(
        divergences=names, seeds=seeds, corr=corr, rmse=rmse, rel=np.stack(rel),
        gan_rmse_in=err[:, inside].pow(2).mean(1).sqrt().numpy(),
        gan_rmse_out=err[:, ~inside].pow(2).mean(1).sqrt().numpy(),
        gan_bias_out=err[:, ~inside].mean(1).numpy(), sd_inside=pb.sd_inside,
        outputs=out if keep_outputs else None)


_RUN = "critics"


def _cond(text: str, test: Callable[[CriticOutcomes], dict]) -> SeedCondition:
    return SeedCondition(text, (_RUN,), lambda o: test(o[_RUN]))


def _max_over(o: CriticOutcomes, names: Sequence[str], what: str) -> np.ndarray:
    return np.max([o.of(n, what) for n in names], axis=0)


_NAMES = tuple(F_DIVERGENCES)
_NOT_PEARSON = tuple(n for n in _NAMES if n != "pearson")

CRITIC_CONDITIONS: dict[str, SeedCondition] = {
    "gan_corr_inside": _cond(
        "where |log r| < 4 the logistic logit correlates with log p/q above 0.98",
        lambda o: {"pass": o.of("gan", "corr") > 0.98, "corr": o.of("gan", "corr")}),
    "gan_rmse_inside": _cond(
        "where |log r| < 4 the logistic logit's RMSE is below a fifth of the spread (sd) of log r there",
        lambda o: {"pass": o.gan_rmse_in < 0.2 * o.sd_inside, "rmse_over_sd": o.gan_rmse_in / o.sd_inside}),
    "gan_tails_above": _cond(
        "in the far tails (|log r| >= 4) the logistic logit's RMSE is over 5 times its RMSE where |log r| < 4, "
        "and D sits above log r on average (mean D - log r > 0.5)",
        lambda o: {"pass": (o.gan_rmse_out > 5 * o.gan_rmse_in) & (o.gan_bias_out > 0.5),
                   "rmse_out_over_in": o.gan_rmse_out / o.gan_rmse_in, "bias_out": o.gan_bias_out}),
    "all_follow_optimum": _cond(
        "every critic's output follows u*(r): relative RMSE below 0.8 (the best constant scores 1)",
        lambda o: (lambda w: {"pass": w < 0.8, "max_rel_rmse": w})(_max_over(o, _NAMES, "rel"))),
    "all_increasing": _cond(
        "every critic's output increases with log r: correlation above 0.8 where |log r| < 4",
        lambda o: (lambda w: {"pass": w > 0.8, "min_corr": w})(np.min([o.of(n, "corr") for n in _NAMES], axis=0))),
    "four_close": _cond(
        "the GAN, KL, Hellinger and Pearson critics match their optimum within a relative RMSE of 0.3",
        lambda o: (lambda w: {"pass": w < 0.3, "max_rel_rmse": w})(_max_over(o, CLOSE, "rel"))),
    "reverse_kl_loosest": _cond(
        "the reverse-KL critic matches its optimum more loosely than each of the other four",
        lambda o: {"pass": o.of("reverse_kl", "rel") > _max_over(o, CLOSE, "rel"),
                   "rel_reverse_kl": o.of("reverse_kl", "rel"), "max_rel_others": _max_over(o, CLOSE, "rel")}),
    "pearson_worst_log_r": _cond(
        "the Pearson critic's implied log r has the largest error of the five",
        lambda o: {"pass": o.of("pearson", "rmse") > _max_over(o, _NOT_PEARSON, "rmse"),
                   "rmse_pearson": o.of("pearson", "rmse"), "max_rmse_others": _max_over(o, _NOT_PEARSON, "rmse")}),
}
"""The notebook's claims about trained critics, one verdict per seed."""


def critic_conditions(outcomes: CriticOutcomes) -> dict[str, dict]:
    """Every condition of :data:`CRITIC_CONDITIONS` applied to ``outcomes``.

    Parameters
    ----------
    outcomes : CriticOutcomes

    Returns
    -------
    dict of str to dict
        Condition name -> ``"pass"`` (one bool per seed) and the numbers it compares.
    """
    return {name: c({_RUN: outcomes}) for name, c in CRITIC_CONDITIONS.items()}
