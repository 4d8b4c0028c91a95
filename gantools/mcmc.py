r"""Gradient-based MCMC for an energy: unadjusted Langevin and MALA.

Both samplers target :math:`\pi(z) \propto e^{-U(z)/T}` (temperature :math:`T`, default 1)
and run many chains at once: ``z0`` has shape ``(n_chains, d)`` and ``energy`` maps a
``(n, d)`` batch to ``n`` energies. The gradient comes from autograd, unless the energy carries
an attribute ``value_and_grad``: a function returning :math:`U` and :math:`\nabla U` in closed form
(e.g. :func:`gantools.explorers.sampler.ring_energy`), which the samplers then call instead.

The Langevin proposal with step :math:`\varepsilon` is

.. math::  z' = z - \tfrac{\varepsilon}{2}\nabla U(z) + \sqrt{\varepsilon}\,\xi,\qquad \xi\sim N(0, I),

so :math:`q(z'\mid z) = N\big(z';\ z - \tfrac{\varepsilon}{2}\nabla U(z),\ \varepsilon I\big)` and

.. math::  \log q(z'\mid z) = -\frac{\lVert z' - z + \tfrac{\varepsilon}{2}\nabla U(z)\rVert^2}{2\varepsilon} + \text{const}.

(In the parametrisation :math:`z' = z - \tau\nabla U + \sqrt{2\tau}\,\xi` used by Roberts and
Tweedie, :math:`\tau=\varepsilon/2`, this is the familiar :math:`\lVert\cdot\rVert^2/(4\tau)`.)
MALA accepts :math:`z'` with probability
:math:`\min\{1, \pi(z')q(z\mid z')/[\pi(z)q(z'\mid z)]\}`.

Kumar et al.'s code (``MALA_corrected_sampler``, with :math:`\alpha=\varepsilon/2`) writes the
proposal density with the *unsquared* norm, :math:`-\lVert z' - z + \alpha\nabla U(z)\rVert/(4\alpha)`;
``correction="kumar"`` reproduces it. Its chain is no longer reversible with respect to the target:
on a unit Gaussian it settles at a variance near 0.7 instead of 1 (Part II, notebook 4, measures it).
"""
from __future__ import annotations

from typing import Callable

import torch

from ._validate import check_int, check_name, check_points, check_positive, make_generator
from .errors import DivergenceError

__all__ = ["langevin", "mala_log_proposal", "mala", "MALA_CORRECTIONS"]

MALA_CORRECTIONS: tuple[str, ...] = ("exact", "kumar")
"""Proposal densities accepted by :func:`mala`: the Langevin proposal's own log-density, or Kumar et
al.'s variant with the unsquared norm."""

Energy = Callable[[torch.Tensor], torch.Tensor]


def _energy_and_grad(energy: Energy, z: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``U(z)/T`` (shape ``(n,)``) and its gradient with respect to ``z`` (shape ``(n, d)``).

    ``energy.value_and_grad(z)``, where the energy carries one, gives :math:`U` and
    :math:`\nabla U` in closed form; otherwise autograd differentiates ``energy(z)``.
    """
    closed = getattr(energy, "value_and_grad", None)
    if closed is not None:
        u, g = closed(z.detach())
        if u.shape != (z.shape[0],) or g.shape != z.shape:
            raise ValueError(f"energy.value_and_grad must return shapes ({z.shape[0]},) and {tuple(z.shape)}, "
                             f"got {tuple(u.shape)} and {tuple(g.shape)}")
        return u / temperature, g / temperature
    with torch.enable_grad():
        zz = z.detach().requires_grad_(True)
        u = energy(zz)
        if u.ndim == 2 and u.shape[1] == 1:
            u = u[:, 0]
        if u.shape != (z.shape[0],):
            raise ValueError(f"energy must map a ({z.shape[0]}, d) batch to shape ({z.shape[0]},), "
                             f"got {tuple(u.shape)}")
        u = u / temperature
        (g,) = torch.autograd.grad(u.sum(), zz)
    return u.detach(), g.detach()


def _check_args(z0, step, n_steps, temperature) -> tuple[torch.Tensor, float, int, float]:
    z = check_points(z0, "z0")
    step = check_positive(step, "step")
    check_int(n_steps, "n_steps", minimum=0)
    temperature = check_positive(temperature, "temperature")
    return z, step, n_steps, temperature


def langevin(energy: Energy, z0, *, step: float, n_steps: int, temperature: float = 1.0,
             seed: int | torch.Generator | None = None, return_path: bool = False):
    r"""Unadjusted Langevin algorithm :math:`z \leftarrow z - \tfrac{\varepsilon}{2}\nabla U(z)/T + \sqrt{\varepsilon}\,\xi`.

    Parameters
    ----------
    energy : callable
        Maps a ``(n, d)`` tensor to ``n`` energies :math:`U` (shape ``(n,)`` or ``(n, 1)``).
    z0 : array-like, shape (n_chains, d)
        Starting points, one per chain.
    step : float
        Step size :math:`\varepsilon > 0` (the noise variance per step).
    n_steps : int
        Number of updates (0 returns ``z0``).
    temperature : float
        Samples target :math:`e^{-U/T}`.
    seed : int, torch.Generator or None
        Source of the Gaussian noise.
    return_path : bool
        Also return every state, shape ``(n_steps + 1, n_chains, d)``.

    Returns
    -------
    torch.Tensor
        Final states, shape ``(n_chains, d)`` (and the path if asked). The chain has a
        stationary law only approximately equal to the target: the bias is
        :math:`O(\varepsilon)`; :func:`mala` removes it.
    """
    z, step, n_steps, temperature = _check_args(z0, step, n_steps, temperature)
    gen = make_generator(seed)
    path = [z.clone()] if return_path else None
    for _ in range(n_steps):
        _, g = _energy_and_grad(energy, z, temperature)
        z = z - 0.5 * step * g + step ** 0.5 * torch.randn(z.shape, generator=gen, dtype=z.dtype)
        if not torch.isfinite(z).all():
            raise DivergenceError("langevin: a chain reached NaN/inf; lower the step size")
        if path is not None:
            path.append(z.clone())
    return (z, torch.stack(path)) if return_path else z


def mala_log_proposal(z_to: torch.Tensor, z_from: torch.Tensor, grad_from: torch.Tensor,
                      step: float, correction: str = "exact") -> torch.Tensor:
    r"""Log-density (up to a constant) of the Langevin proposal, one value per chain.

    .. math:: \log q(z_{to}\mid z_{from}) = -\frac{\lVert z_{to} - z_{from} + \tfrac{\varepsilon}{2}\nabla U(z_{from})\rVert^2}{2\varepsilon}

    Note the *squared* norm and the factor :math:`\varepsilon/2` on the gradient, both
    fixed by the proposal :math:`z' = z - \tfrac{\varepsilon}{2}\nabla U(z) + \sqrt{\varepsilon}\,\xi`.
    ``correction="kumar"`` returns Kumar et al.'s expression instead,
    :math:`-\lVert z_{to} - z_{from} + \tfrac{\varepsilon}{2}\nabla U(z_{from})\rVert/(2\varepsilon)`
    (their :math:`-\lVert\cdot\rVert/(4\alpha)` with :math:`\alpha = \varepsilon/2`): not the
    proposal's density.

    Parameters
    ----------
    z_to, z_from : torch.Tensor, shape (n_chains, d)
    grad_from : torch.Tensor, shape (n_chains, d)
        :math:`\nabla U(z_{from})`.
    step : float
        :math:`\varepsilon`.
    correction : str
        One of :data:`MALA_CORRECTIONS`.

    Returns
    -------
    torch.Tensor, shape (n_chains,)
    """
    check_name(correction, MALA_CORRECTIONS, "MALA correction")
    diff = z_to - z_from + 0.5 * step * grad_from
    if correction == "kumar":
        return -diff.norm(dim=1) / (2.0 * step)
    return -diff.pow(2).sum(1) / (2.0 * step)


def mala(energy: Energy, z0, *, step: float, n_steps: int, temperature: float = 1.0,
         seed: int | torch.Generator | None = None, return_path: bool = False, correction: str = "exact"):
    r"""Metropolis-adjusted Langevin algorithm.

    Each step proposes :math:`z' = z - \tfrac{\varepsilon}{2}\nabla U(z) + \sqrt{\varepsilon}\,\xi`
    (with :math:`U/T` in place of :math:`U`) and accepts it with probability

    .. math:: \alpha = \min\Big\{1,\ \exp\big(-U(z') + U(z) + \log q(z\mid z') - \log q(z'\mid z)\big)\Big\},

    with :math:`\log q` from :func:`mala_log_proposal`. The target :math:`e^{-U/T}` is then
    exactly invariant for any step size. ``correction="kumar"`` uses Kumar et al.'s proposal
    density (unsquared norm), which leaves a different law invariant.

    Parameters
    ----------
    energy : callable
        Maps a ``(n, d)`` tensor to ``n`` energies :math:`U` (shape ``(n,)`` or ``(n, 1)``).
    z0 : array-like, shape (n_chains, d)
        Starting points, one per chain.
    step : float
        Step size :math:`\varepsilon > 0` of the proposal.
    n_steps : int
        Number of proposals (0 returns ``z0``).
    temperature : float
        Samples target :math:`e^{-U/T}`.
    seed : int, torch.Generator or None
        Source of the proposals' noise and of the acceptance tests.
    return_path : bool
        Also return every state, shape ``(n_steps + 1, n_chains, d)``.
    correction : str
        One of :data:`MALA_CORRECTIONS` (``"exact"``: the proposal's own density).

    Returns
    -------
    samples : torch.Tensor, shape (n_chains, d)
        Final states (and the path ``(n_steps + 1, n_chains, d)`` if ``return_path``).
    acceptance : float
        Fraction of accepted proposals over all chains and steps (``nan`` if ``n_steps == 0``).
    """
    z, step, n_steps, temperature = _check_args(z0, step, n_steps, temperature)
    check_name(correction, MALA_CORRECTIONS, "MALA correction")
    gen = make_generator(seed)
    path = [z.clone()] if return_path else None
    u, g = _energy_and_grad(energy, z, temperature)
    accepted = 0.0
    for _ in range(n_steps):
        prop = z - 0.5 * step * g + step ** 0.5 * torch.randn(z.shape, generator=gen, dtype=z.dtype)
        u_p, g_p = _energy_and_grad(energy, prop, temperature)
        log_alpha = (-u_p + u + mala_log_proposal(z, prop, g_p, step, correction)
                     - mala_log_proposal(prop, z, g, step, correction))
        log_alpha = torch.nan_to_num(log_alpha, nan=-float("inf"))
        accept = torch.rand(z.shape[0], generator=gen, dtype=z.dtype).log() < log_alpha
        z = torch.where(accept[:, None], prop, z)
        u = torch.where(accept, u_p, u)
        g = torch.where(accept[:, None], g_p, g)
        accepted += float(accept.double().mean())
        if path is not None:
            path.append(z.clone())
    rate = accepted / n_steps if n_steps > 0 else float("nan")
    samples = (z, torch.stack(path)) if return_path else z
    return samples, rate
