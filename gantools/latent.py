r"""Sampling a trained energy GAN in latent space, every method at a matched budget.

After training, member :math:`m` of an :class:`gantools.energy.EnGANRun` owns an energy
:math:`U_m` and a generator :math:`G_m`. The source post proposes to sample :math:`z` from the
latent energy :math:`U_m(G_m(z))/T` by Langevin dynamics or MALA instead of from the prior. This
module runs that and its alternatives for all members at once (one batched call of the ensembles),
each with the same number ``budget`` of evaluations of :math:`U\circ G` per returned sample:

* ``"prior"``: :math:`z\sim N(0, I)` (one evaluation, the baseline);
* ``"shrink"``: :math:`\psi z` (the truncation trick);
* ``"langevin"``, ``"mala"``: ``budget`` steps of :func:`gantools.mcmc.langevin` /
  :func:`gantools.mcmc.mala` on :math:`U(G(z))/T` from prior samples;
* ``"descent"``: ``budget`` steps of gradient descent :math:`z\leftarrow z-\tfrac{\varepsilon}{2}\nabla U(G(z))`
  (Langevin without noise, the :math:`T\to 0` limit);
* ``"resample"``: importance resampling: ``budget`` prior candidates per sample, one drawn with
  probability :math:`\propto e^{-U(G(z))/T}`; it targets :math:`N(z;0,I)\,e^{-U(G(z))/T}`, the
  latent energy *with* the prior term.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ._validate import check_int, check_name, check_positive, make_generator
from .energy import EnGANRun
from .mcmc import langevin, mala

__all__ = ["LATENT_METHODS", "ensemble_latent_energy", "LatentSamples", "sample_latents"]

LATENT_METHODS: tuple[str, ...] = ("prior", "shrink", "langevin", "mala", "descent", "resample")
"""Methods accepted by :func:`sample_latents`."""


def ensemble_latent_energy(run: EnGANRun, n: int) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""The latent energies :math:`U_m(G_m(z))` of every member as one function of stacked latents.

    Parameters
    ----------
    run : EnGANRun
        The trained ensemble (``M`` members).
    n : int
        Chains per member.

    Returns
    -------
    callable
        Maps ``z`` of shape ``(M * n, z_dim)`` (rows ``m*n`` to ``(m+1)*n - 1`` belong to member
        ``m``) to energies of shape ``(M * n,)``; differentiable in ``z``, the networks frozen.
    """
    check_int(n, "n")
    M = len(run.labels)
    for p in list(run.U.parameters()) + list(run.G.parameters()):
        p.requires_grad_(False)

    def energy(z: torch.Tensor) -> torch.Tensor:
        if z.shape != (M * n, run.z_dim):
            raise ValueError(f"z must have shape ({M * n}, {run.z_dim}), got {tuple(z.shape)}")
        return run.U(run.G(z.reshape(M, n, run.z_dim)))[..., 0].reshape(-1)

    return energy


@dataclass
class LatentSamples:
    """What :func:`sample_latents` returns: latents and images of every member.

    ``z`` and ``x`` have shapes ``(M, n, z_dim)`` and ``(M, n, 2)``; ``acceptance`` is MALA's
    acceptance rate (``nan`` for other methods); ``evaluations`` the evaluations of
    :math:`U\\circ G` spent per sample.

    Attributes
    ----------
    method : str
        One of :data:`LATENT_METHODS`.
    z : torch.Tensor, shape (M, n, z_dim)
    x : torch.Tensor, shape (M, n, 2)
    acceptance : float
        MALA's acceptance rate (``nan`` for other methods).
    evaluations : int
        Evaluations of :math:`U\\circ G` per sample.
    """

    method: str
    z: torch.Tensor
    x: torch.Tensor
    acceptance: float
    evaluations: int


def sample_latents(run: EnGANRun, method: str, *, n: int = 1000, budget: int = 50, temperature: float = 1.0,
                   step: float = 0.01, psi: float = 0.5, seed: int = 0) -> LatentSamples:
    r"""Draw ``n`` latents per member by ``method`` (one of :data:`LATENT_METHODS`) and push them through G.

    Parameters
    ----------
    run : EnGANRun
        The trained ensemble.
    method : str
        One of :data:`LATENT_METHODS`.
    n : int
        Samples per member.
    budget : int
        Evaluations of :math:`U\circ G` per sample (steps for the chains, candidates for
        ``"resample"``; ignored by ``"prior"`` and ``"shrink"``).
    temperature : float
        :math:`T` of the target :math:`e^{-U(G(z))/T}` (``"langevin"``, ``"mala"``, ``"resample"``).
    step : float
        :math:`\varepsilon` of the chains and of ``"descent"``.
    psi : float
        Shrink factor of ``"shrink"``.
    seed : int
        Seed of the prior draws and of the chains' noise (the same prior draws for every method).

    Returns
    -------
    LatentSamples
    """
    check_name(method, LATENT_METHODS, "latent sampling method")
    check_int(n, "n")
    check_int(budget, "budget")
    temperature = check_positive(temperature, "temperature")
    step = check_positive(step, "step")
    psi = check_positive(psi, "psi")
    M, d = len(run.labels), run.z_dim
    gen = make_generator(seed)
    z0 = torch.randn(M * n, d, generator=gen)
    energy = ensemble_latent_energy(run, n)
    acc, evals = float("nan"), budget
    if method == "prior":
        z, evals = z0, 1
    elif method == "shrink":
        z, evals = psi * z0, 1
    elif method == "langevin":
        z = langevin(energy, z0, step=step, n_steps=budget, temperature=temperature, seed=gen)
    elif method == "mala":
        z, acc = mala(energy, z0, step=step, n_steps=budget, temperature=temperature, seed=gen)
    elif method == "descent":
        z = z0
        for _ in range(budget):
            zz = z.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(energy(zz).sum(), zz)
            z = (z - 0.5 * step * g).detach()
    else:  # resample
        cand = torch.randn(budget, M * n, d, generator=gen)
        with torch.no_grad():
            u = torch.stack([energy(c) for c in cand])           # (budget, M*n)
        pick = torch.multinomial(torch.softmax(-u / temperature, 0).T, 1, generator=gen)[:, 0]
        z = cand[pick, torch.arange(M * n)]
    z = z.detach().reshape(M, n, d)
    with torch.no_grad():
        x = run.G(z)
    return LatentSamples(method=method, z=z, x=x, acceptance=acc, evaluations=evals)
