r"""Entropy surrogates for a deterministic generator: the InfoGAN bound and the JSD estimator.

A generator :math:`x = G(z)` with :math:`z\sim N(0, I)` has an intractable entropy
:math:`H(X)`. Blurring it with small noise, :math:`x = G(z) + \sigma\epsilon`, gives

.. math:: H(X) = I(X; Z) + H(X\mid Z), \qquad H(X\mid Z) = \tfrac d2\log(2\pi e\sigma^2),

a constant in the generator's parameters, so maximising :math:`H(X)` is maximising
:math:`I(X;Z)`. As :math:`\sigma\to 0` both :math:`I(X;Z)\to+\infty` and
:math:`H(X\mid Z)\to-\infty`: for a deterministic continuous :math:`G` the mutual information is
infinite, and the two estimators below are finite *proxies*, not estimates of it.

* :func:`infogan_bound`: :math:`I(X;Z)\ge \mathbb E[\log r(z\mid x)] + H(Z)` for any posterior
  :math:`r`; with :math:`r(z\mid x) = N(z; E(x), s^2 I)` the bound is, up to constants,
  :math:`-\mathbb E\lVert z - E(G(z))\rVert^2/(2s^2)`.
* :func:`jsd_mi_lower_bound`: the Jensen-Shannon estimator of Deep InfoMax, a monotone function of
  :math:`\mathrm{JS}(q(x,z)\,\Vert\,q(x)q(z))`, bounded by :math:`0` whatever :math:`G` does.

:func:`jsd_estimate` trains a statistics network against a *fixed* generator and returns the
estimate; it shows what the surrogate responds to.

Why not estimate :math:`H(X) = -\mathbb E[\log q_\theta(x)]` by sampling? Besides needing
:math:`\log q_\theta`, a gradient of an expectation over the generator's own samples is either
pathwise (through :math:`x = G_\theta(z)`) or a score-function (REINFORCE) estimate;
:func:`gaussian_gradient_samples` draws both for a Gaussian, where everything is known.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from ._validate import check_int, check_name, check_positive, make_generator

__all__ = ["jsd_mi_lower_bound", "infogan_bound", "jsd_estimate", "quantiser_jsd", "GRADIENT_ESTIMATORS",
           "gaussian_gradient_samples"]


def jsd_mi_lower_bound(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
    r"""Jensen-Shannon mutual-information estimate of Deep InfoMax, averaged over the last axis.

    .. math:: \hat I_{\mathrm{JSD}} = \mathbb E_{(x,z)\sim q(x,z)}[-\mathrm{sp}(-T(x,z))]
              - \mathbb E_{(x,\tilde z)\sim q(x)q(z)}[\mathrm{sp}(T(x,\tilde z))],

    :math:`\mathrm{sp}` the softplus. Maximised over :math:`T` it equals
    :math:`2\,\mathrm{JS}(q(x,z)\,\Vert\, q(x)q(z)) - 2\log 2`, a monotone proxy of :math:`I(X;Z)`
    that lies in :math:`[-2\log 2, 0]`.

    Parameters
    ----------
    t_joint : torch.Tensor, shape (..., batch)
        Statistics network on joint pairs :math:`(G(z), z)`.
    t_marginal : torch.Tensor, shape (..., batch)
        Statistics network on shuffled pairs :math:`(G(z), \tilde z)`.

    Returns
    -------
    torch.Tensor, shape (...)
    """
    return -F.softplus(-t_joint).mean(-1) - F.softplus(t_marginal).mean(-1)


def infogan_bound(z: torch.Tensor, z_hat: torch.Tensor, s: float = 1.0) -> torch.Tensor:
    r"""InfoGAN lower bound on :math:`I(X;Z)` with a Gaussian posterior of fixed variance.

    .. math:: \hat I = H(Z) + \mathbb E\big[\log N(z; E(x), s^2 I)\big]
              = \tfrac d2\log(2\pi e) - \tfrac d2\log(2\pi s^2) - \frac{\mathbb E\lVert z - E(x)\rVert^2}{2s^2}

    for :math:`z\sim N(0, I_d)`; the gap to :math:`I(X;Z)` is
    :math:`\mathbb E_x\,\mathrm{KL}(q(z\mid x)\,\Vert\,r(z\mid x))\ge 0`.

    Parameters
    ----------
    z : torch.Tensor, shape (..., batch, d)
        Latents.
    z_hat : torch.Tensor, shape (..., batch, d)
        Encoder outputs :math:`E(G(z))`.
    s : float
        Posterior standard deviation.

    Returns
    -------
    torch.Tensor, shape (...)
    """
    s = check_positive(s, "s")
    d = z.shape[-1]
    sq = (z - z_hat).pow(2).sum(-1).mean(-1)
    return 0.5 * d * math.log(2 * math.pi * math.e) - 0.5 * d * math.log(2 * math.pi * s * s) - sq / (2 * s * s)


def jsd_estimate(G: Callable[[torch.Tensor], torch.Tensor], *, z_dim: int = 2, steps: int = 1500,
                 batch: int = 256, hidden: int = 64, lr: float = 1e-3,
                 seed: int | torch.Generator | None = 0) -> float:
    r"""Train a statistics network :math:`T(x, z)` against a fixed generator; return :math:`\hat I_{\mathrm{JSD}}`.

    :math:`T` is an MLP (two hidden layers of ``hidden`` LeakyReLU units) trained by Adam to
    maximise :func:`jsd_mi_lower_bound` on pairs :math:`(G(z), z)` against
    :math:`(G(z), \tilde z)`, :math:`\tilde z` a shuffle of the batch. The value returned is the
    estimate on 20 fresh batches of 4,096.

    Parameters
    ----------
    G : callable
        Maps ``(n, z_dim)`` latents to ``(n, d)`` points (not trained).
    z_dim, steps, batch, hidden, lr : int or float
        Latent dimension and the training settings of :math:`T`.
    seed : int, torch.Generator or None
        Seed of the latents and of :math:`T`'s initialisation.

    Returns
    -------
    float
        The estimate, in :math:`[-2\log 2, 0]` (``0`` when :math:`z` is recoverable from
        :math:`x`, ``-2 log 2`` when :math:`x` and :math:`z` are independent).
    """
    from .nets import mlp

    check_int(z_dim, "z_dim")
    check_int(steps, "steps")
    check_int(batch, "batch", minimum=2)
    gen = make_generator(seed)
    with torch.no_grad():
        d = G(torch.zeros(1, z_dim)).shape[1]
    state = torch.random.get_rng_state()
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
    T = mlp(d + z_dim, 1, hidden=hidden, depth=2)
    torch.random.set_rng_state(state)
    opt = torch.optim.Adam(T.parameters(), lr=lr)

    def estimate(n: int) -> torch.Tensor:
        z = torch.randn(n, z_dim, generator=gen)
        with torch.no_grad():
            x = G(z)
        z_shuf = z[torch.randperm(n, generator=gen)]
        return jsd_mi_lower_bound(T(torch.cat([x, z], 1))[:, 0], T(torch.cat([x, z_shuf], 1))[:, 0])

    for _ in range(steps):
        loss = -estimate(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(torch.stack([estimate(4096) for _ in range(20)]).mean())


def quantiser_jsd(k: int) -> float:
    r"""The optimal value of :func:`jsd_mi_lower_bound` for a generator that quantises :math:`z` onto ``k`` equiprobable points.

    With :math:`x = a_j` on a latent cell :math:`A_j` of probability :math:`1/k`, the joint law of
    :math:`(x, z)` has density :math:`q(z)\,1[z\in A_j]` on :math:`\{a_j\}\times\mathbb R^d` and the
    product law :math:`q(z)/k`. Splitting the Jensen-Shannon divergence over the region where the
    joint lives (product mass :math:`1/k`) and its complement gives

    .. math:: \mathrm{JS} = \tfrac12\Big[\log\frac{2k}{k+1} + \frac1k\log\frac{2}{k+1}
              + \Big(1-\frac1k\Big)\log 2\Big],

    and the estimator's supremum is :math:`2\,\mathrm{JS} - 2\log 2`: :math:`-2\log 2` for
    :math:`k=1` (a constant), rising to 0 as :math:`k\to\infty` (every injective :math:`G`).

    Parameters
    ----------
    k : int
        Number of points.

    Returns
    -------
    float
    """
    check_int(k, "k")
    js = 0.5 * (math.log(2 * k / (k + 1)) + math.log(2 / (k + 1)) / k + (1 - 1 / k) * math.log(2))
    return 2 * js - 2 * math.log(2)


GRADIENT_ESTIMATORS: tuple[str, ...] = ("reparam", "score")
"""Estimators of :func:`gaussian_gradient_samples`: the pathwise (reparameterised) one and the
score-function (REINFORCE) one."""


def gaussian_gradient_samples(f: Callable[[torch.Tensor], torch.Tensor], mu, log_s: float, n: int, *,
                              estimator: str = "reparam",
                              seed: int | torch.Generator | None = 0) -> torch.Tensor:
    r"""Per-sample estimates of :math:`\nabla_{(\mu,\log s)}\,\mathbb E_{x\sim N(\mu, s^2I)}[f(x)]`.

    With :math:`x = \mu + s\epsilon`, :math:`\epsilon\sim N(0, I_d)`, each row is an unbiased estimate
    of the gradient with respect to :math:`(\mu, \log s)`:

    * ``"reparam"`` (pathwise): :math:`\nabla_{(\mu,\log s)} f(\mu + s\epsilon)`, i.e.
      :math:`(\nabla f(x),\ s\epsilon\cdot\nabla f(x))`;
    * ``"score"`` (REINFORCE): :math:`f(x)\,\nabla_{(\mu,\log s)}\log N(x;\mu,s^2I)
      = f(x)\,\big((x-\mu)/s^2,\ \lVert x-\mu\rVert^2/s^2 - d\big)`, which needs :math:`\log q` of
      the sampler but no gradient of :math:`f`.

    The mean of the rows estimates the gradient; their variance is the estimator's variance per sample.

    Parameters
    ----------
    f : callable
        ``(n, d) -> (n,)``; differentiable for ``"reparam"``.
    mu : array-like, shape (d,)
        Mean of the Gaussian.
    log_s : float
        Log of its standard deviation.
    n : int
        Number of samples.
    estimator : str
        One of :data:`GRADIENT_ESTIMATORS`.
    seed : int, torch.Generator or None
        Seed of :math:`\epsilon`.

    Returns
    -------
    torch.Tensor, shape (n, d + 1)
        Per-sample gradients, the last column with respect to :math:`\log s`.
    """
    check_name(estimator, GRADIENT_ESTIMATORS, "gradient estimator")
    check_int(n, "n")
    mu = torch.as_tensor(mu, dtype=torch.float32).reshape(-1)
    d = mu.shape[0]
    s = math.exp(float(log_s))
    eps = torch.randn(n, d, generator=make_generator(seed))
    x = mu + s * eps
    if estimator == "score":
        with torch.no_grad():
            fx = f(x).reshape(n)
        return fx[:, None] * torch.cat([eps / s, (eps.pow(2).sum(1) - d)[:, None]], 1)
    xr = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(xr).sum(), xr)
    return torch.cat([g, (s * eps * g).sum(1, keepdim=True)], 1)
