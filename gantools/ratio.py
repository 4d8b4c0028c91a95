r"""Log density-ratio estimation: the logistic (vanilla GAN) discriminator and f-GAN critics.

A logistic discriminator trained on samples of :math:`p` (label 1) and :math:`q` (label 0) has
the optimal logit :math:`D^* = \log r`, :math:`r = p/q`; an f-GAN critic's optimum is another
function of :math:`r` (:data:`F_DIVERGENCES`). :func:`ratio_fit` measures how well a learned
:math:`D` tracks the exact :math:`\log r` (slope and correlation), the quantity Part III's flow
argument assumes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_int, check_name, check_points, make_generator
from .ensemble import EnsembleMLP, MemberOptimizer
from .errors import DivergenceError
from .utils import descend

__all__ = ["FDivergence", "F_DIVERGENCES", "as_logits", "f_gan_d_loss", "train_discriminator",
           "fit_log_ratio", "fit_log_ratios", "RatioFit", "ratio_fit"]


def as_logits(d: torch.Tensor, what: str) -> torch.Tensor:
    """Flatten discriminator outputs of shape ``(n,)`` or ``(n, 1)`` to ``(n,)``, and the outputs
    ``(M, n, 1)`` of ``M`` stacked discriminators (:class:`~gantools.ensemble.EnsembleMLP`) to ``(M, n)``.

    Parameters
    ----------
    d : torch.Tensor, shape (n,), (n, 1) or (M, n, 1)
    what : str
        Name used in the error message.

    Returns
    -------
    torch.Tensor, shape (n,) or (M, n)
    """
    if d.ndim in (2, 3) and d.shape[-1] == 1:
        return d[..., 0]
    if d.ndim != 1:
        raise ValueError(f"{what} must have shape (n,), (n, 1) or (M, n, 1), got {tuple(d.shape)}")
    return d


@dataclass(frozen=True)
class FDivergence:
    r"""An f-GAN discriminator (Nowozin et al., 2016), written on a raw output :math:`v`.

    The discriminator maximises :math:`\mathbb E_p[g(v)] - \mathbb E_q[f^*(g(v))]`; its optimum is
    :math:`g(v^*) = f'(r)`, so :math:`v^*` is a function of the ratio :math:`r=p/q`;
    ``log_ratio(v)`` inverts that function.

    Attributes
    ----------
    name : str
    activation : callable
        The output activation :math:`g`.
    conjugate : callable
        The convex conjugate :math:`f^*`.
    log_ratio : callable
        :math:`v \mapsto \log r` at the optimum.
    optimum : str
        :math:`v^*` as a function of :math:`r`, in LaTeX.
    """

    name: str
    activation: Callable[[torch.Tensor], torch.Tensor]
    conjugate: Callable[[torch.Tensor], torch.Tensor]
    log_ratio: Callable[[torch.Tensor], torch.Tensor]
    optimum: str


F_DIVERGENCES: dict[str, FDivergence] = {
    # vanilla GAN: g(v) = log sigma(v), f*(g(v)) = softplus(v): the logistic loss; v* = log r
    "gan": FDivergence("gan", lambda v: -F.softplus(-v), lambda t: -torch.log1p(-torch.exp(t)),
                       lambda v: v, r"u^* = \log r"),
    "kl": FDivergence("kl", lambda v: v, lambda t: torch.exp(t - 1), lambda v: v - 1,
                      r"u^* = 1 + \log r"),
    "reverse_kl": FDivergence("reverse_kl", lambda v: -torch.exp(-v), lambda t: -1 - torch.log(-t),
                              lambda v: v, r"u^* = \log r\;(g(u^*) = -1/r)"),
    "pearson": FDivergence("pearson", lambda v: v, lambda t: 0.25 * t * t + t,
                           lambda v: torch.log(torch.clamp(1 + v / 2, min=1e-6)), r"u^* = 2(r-1)"),
    "hellinger": FDivergence("hellinger", lambda v: 1 - torch.exp(-v), lambda t: t / (1 - t),
                             lambda v: 2 * v, r"u^* = \tfrac12\log r\;(g(u^*) = 1 - r^{-1/2})"),
}
"""f-GAN discriminators: name -> :class:`FDivergence`."""


def f_gan_d_loss(v_real: torch.Tensor, v_fake: torch.Tensor, divergence: str = "gan") -> torch.Tensor:
    r"""Discriminator loss (to minimise) of an f-GAN critic.

    .. math:: \mathcal L_D = -\big(\mathbb E_p[g(v)] - \mathbb E_q[f^*(g(v))]\big)

    For ``"gan"`` this equals the logistic loss :math:`\mathrm{sp}(-D(x)) + \mathrm{sp}(D(\tilde x))`.
    Outputs of ``M`` stacked critics, shape ``(M, n, 1)``, give the *sum* of the members' losses,
    so that each member receives the gradient of its own loss.

    Parameters
    ----------
    v_real : torch.Tensor, shape (n,), (n, 1) or (M, n, 1)
        Raw outputs on real samples.
    v_fake : torch.Tensor, shape (m,), (m, 1) or (M, m, 1)
        Raw outputs on generated samples.
    divergence : str
        One of :data:`F_DIVERGENCES`.

    Returns
    -------
    torch.Tensor, shape ()
    """
    fd = F_DIVERGENCES[check_name(divergence, F_DIVERGENCES, "f-divergence")]
    vr, vf = as_logits(v_real, "v_real"), as_logits(v_fake, "v_fake")
    if vr.shape[:-1] != vf.shape[:-1]:
        raise ValueError(f"v_real and v_fake must come from as many critics, got shapes {tuple(v_real.shape)} "
                         f"and {tuple(v_fake.shape)}")
    if divergence == "gan":  # numerically stable form of the same expression
        return (F.softplus(-vr).mean(-1) + F.softplus(vf).mean(-1)).sum()
    return -(fd.activation(vr).mean(-1) - fd.conjugate(fd.activation(vf)).mean(-1)).sum()


def train_discriminator(D: nn.Module, opt: torch.optim.Optimizer,
                        sample_real: Callable[[], torch.Tensor], sample_fake: Callable[[], torch.Tensor],
                        *, steps: int, divergence: str = "gan", where: str = "") -> float:
    """Take ``steps`` optimizer steps on :func:`f_gan_d_loss`, with fresh batches each step.

    Each step evaluates ``D`` once, on the real and the fake batch stacked along the batch axis
    (the first, or the second behind a member axis); ``D`` must treat rows independently, as an
    MLP does.

    Parameters
    ----------
    D : torch.nn.Module
        Maps ``(n, d)`` to ``(n,)`` or ``(n, 1)``.
    opt : torch.optim.Optimizer
        Over ``D``'s parameters.
    sample_real, sample_fake : callable
        ``() -> torch.Tensor`` of shape ``(n, d)``.
    steps : int
    divergence : str
        One of :data:`F_DIVERGENCES`.
    where : str
        Appended to the :class:`~gantools.errors.DivergenceError` message.

    Returns
    -------
    float
        The last loss.
    """
    check_int(steps, "steps")
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        real, fake = sample_real(), sample_fake().detach()
        rows, n = real.ndim - 2, real.shape[-2]    # the batch axis: 0, or 1 behind a member axis
        out = D(torch.cat([real, fake], rows))     # one pass over both batches
        loss = f_gan_d_loss(out.narrow(rows, 0, n), out.narrow(rows, n, fake.shape[-2]), divergence)
        descend(opt, loss)
    v = float(loss.detach())
    if v != v or v in (float("inf"), float("-inf")):
        raise DivergenceError(f"training diverged: discriminator loss{where} is {v}")
    return v


def _batch_sampler(x: torch.Tensor, batch: int, gen: torch.Generator) -> Callable[[], torch.Tensor]:
    def draw() -> torch.Tensor:
        return x[torch.randint(x.shape[0], (batch,), generator=gen)]
    return draw


def fit_log_ratio(D: nn.Module, x_p: torch.Tensor, x_q: torch.Tensor, *, steps: int = 1000,
                  lr: float = 1e-3, batch: int = 256, divergence: str = "gan",
                  seed: int | torch.Generator | None = 0) -> nn.Module:
    r"""Train ``D`` with Adam to separate samples of :math:`p` from samples of :math:`q`.

    With ``divergence="gan"`` (the logistic loss) the optimum is :math:`D^* = \log p/q`; for the
    other :data:`F_DIVERGENCES` it is the function of :math:`r` named in ``optimum``.

    Parameters
    ----------
    D : torch.nn.Module
        Maps ``(n, d)`` to ``(n, 1)``; trained in place.
    x_p : torch.Tensor, shape (n_p, d)
    x_q : torch.Tensor, shape (n_q, d)
    steps, lr, batch : int, float, int
    divergence : str
    seed : int or torch.Generator or None

    Returns
    -------
    torch.nn.Module
        ``D`` itself.
    """
    xp = check_points(x_p, "x_p")
    xq = check_points(x_q, "x_q", dim=xp.shape[1])
    check_name(divergence, F_DIVERGENCES, "f-divergence")
    gen = make_generator(seed)
    opt = torch.optim.Adam(D.parameters(), lr=lr)
    train_discriminator(D, opt, _batch_sampler(xp, batch, gen), _batch_sampler(xq, batch, gen),
                        steps=steps, divergence=divergence)
    return D


def fit_log_ratios(x_p: torch.Tensor, x_q: torch.Tensor, divergences: Sequence[str], seeds: Sequence[int], *,
                   hidden: int = 64, depth: int = 2, steps: int = 1000, lr: float = 1e-3,
                   batch: int = 256) -> EnsembleMLP:
    r"""Train one MLP critic per (divergence, seed) pair side by side, as :func:`fit_log_ratio` would.

    Member :math:`m` is the network ``nets.mlp(d, 1, hidden=hidden, depth=depth)`` initialised
    after ``torch.manual_seed(seeds[m])``, trained with Adam (learning rate ``lr``) on
    :func:`f_gan_d_loss` for ``divergences[m]``, with batches drawn from its own generator seeded
    ``seeds[m]`` in the order :func:`fit_log_ratio` draws them (``seed=seeds[m]``). The members
    are one :class:`~gantools.ensemble.EnsembleMLP`; summing their losses gives each member the
    gradient of its own loss, so member :math:`m` is the run ``fit_log_ratio`` makes alone, up to
    floating-point rounding.

    Parameters
    ----------
    x_p : torch.Tensor, shape (n_p, d)
        Samples of :math:`p` (label "real").
    x_q : torch.Tensor, shape (n_q, d)
        Samples of :math:`q`.
    divergences : sequence of str
        One name from :data:`F_DIVERGENCES` per member.
    seeds : sequence of int
        One seed per member (initialisation and batches).
    hidden, depth : int
        Width and number of hidden layers of every member.
    steps, lr, batch : int, float, int
        Adam steps, learning rate and batch size (the same for all members).

    Returns
    -------
    EnsembleMLP
        Input ``(M, n, d)``, output ``(M, n, 1)``: member ``m`` is the critic of
        ``divergences[m]`` trained with ``seeds[m]`` (:meth:`EnsembleMLP.member` gives it alone).

    Raises
    ------
    ValueError
        If a divergence is unknown or ``divergences`` and ``seeds`` differ in length.
    """
    xp = check_points(x_p, "x_p")
    xq = check_points(x_q, "x_q", dim=xp.shape[1])
    divs = [check_name(d, F_DIVERGENCES, "f-divergence") for d in divergences]
    seeds = [int(s) for s in seeds]
    if len(divs) != len(seeds) or not divs:
        raise ValueError(f"divergences and seeds must hold one entry per member (>= 1), got {len(divs)} and {len(seeds)}")
    check_int(steps, "steps")
    check_int(batch, "batch")
    D = EnsembleMLP(len(divs), xp.shape[1], 1, hidden=hidden, depth=depth, seeds=seeds)
    opt = MemberOptimizer(D.parameters(), kind="adam", lr=lr)
    gens = [make_generator(s) for s in seeds]
    for _ in range(steps):
        idx = [(torch.randint(xp.shape[0], (batch,), generator=g), torch.randint(xq.shape[0], (batch,), generator=g))
               for g in gens]
        v_real = D(torch.stack([xp[i] for i, _ in idx]))
        v_fake = D(torch.stack([xq[j] for _, j in idx]))
        loss = sum(f_gan_d_loss(v_real[m], v_fake[m], d) for m, d in enumerate(divs))
        opt.zero_grad()
        loss.backward()
        opt.step()
    last = float(loss.detach())
    if last != last or last in (float("inf"), float("-inf")):
        raise DivergenceError(f"training diverged: the summed critic loss is {last}")
    return D


@dataclass(frozen=True)
class RatioFit:
    r"""How a learned logit :math:`D` tracks the exact :math:`\log r` on a set of points.

    Attributes
    ----------
    slope : float
        Least-squares slope :math:`b` of :math:`D \approx a + b\log r` (1 when :math:`D=\log r`).
    intercept : float
        :math:`a`.
    corr : float
        Pearson correlation of :math:`D` and :math:`\log r`.
    """

    slope: float
    intercept: float
    corr: float


def ratio_fit(d: torch.Tensor, log_r: torch.Tensor) -> RatioFit:
    r"""Regress a discriminator's logits on the exact log ratio at the same points.

    .. math:: b = \frac{\operatorname{cov}(D, \log r)}{\operatorname{var}(\log r)}, \qquad
              \rho = \frac{\operatorname{cov}(D, \log r)}{\sigma_D\,\sigma_{\log r}}

    Parameters
    ----------
    d : torch.Tensor, shape (n,) or (n, 1)
        Discriminator logits.
    log_r : torch.Tensor, shape (n,)
        Exact :math:`\log p/q` at the same points.

    Returns
    -------
    RatioFit
    """
    d = as_logits(torch.as_tensor(d), "d").detach().double()
    lr_ = as_logits(torch.as_tensor(log_r), "log_r").detach().double()
    if d.shape != lr_.shape or d.numel() < 3:
        raise ValueError(f"d and log_r must hold the same number (>= 3) of values, got {d.numel()} and {lr_.numel()}")
    dc, rc = d - d.mean(), lr_ - lr_.mean()
    cov = (dc * rc).mean()
    slope = cov / rc.pow(2).mean()
    corr = cov / (dc.pow(2).mean().sqrt() * rc.pow(2).mean().sqrt())
    return RatioFit(float(slope), float(d.mean() - slope * lr_.mean()), float(corr))
