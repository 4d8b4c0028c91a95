"""Training utilities: divergence checks, weight EMA, and an alternating GAN loop."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from ._validate import check_int, check_name, check_positive, make_generator
from .losses import GAN_LOSSES, d_loss, g_loss, zero_centred_penalty


class DivergenceError(RuntimeError):
    """A training run produced NaN or infinity; the message says where and when."""


def check_finite_value(value: torch.Tensor | float, *, where: str) -> float:
    """Return ``value`` as a float, or raise :class:`DivergenceError` naming ``where``."""
    v = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
    if not math.isfinite(v):
        raise DivergenceError(f"training diverged: {where} is {v}")
    return v


def ema_model(model: nn.Module, decay: float) -> AveragedModel:
    r"""Exponential moving average of a model's weights.

    After each call to ``.update_parameters(model)`` the average becomes
    :math:`\bar w \leftarrow \beta \bar w + (1-\beta) w` with :math:`\beta` = ``decay``
    (the first call copies the weights). Built on :mod:`torch.optim.swa_utils`.
    """
    decay = check_positive(decay, "decay")
    if not decay < 1:
        raise ValueError(f"decay must be in (0, 1), got {decay}")
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))


@dataclass
class GANRun:
    """What :func:`train_gan` returns."""

    G: nn.Module
    D: nn.Module
    emas: dict[float, AveragedModel]
    history: dict[str, list[float]] = field(default_factory=dict)


def train_gan(
    G: nn.Module,
    D: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    *,
    z_dim: int,
    steps: int,
    loss: str = "ns",
    batch: int = 256,
    lr_d: float = 1e-3,
    lr_g: float = 1e-3,
    betas: tuple[float, float] = (0.5, 0.999),
    d_steps: int = 1,
    r1: float = 0.0,
    l2: float = 0.0,
    ema_decays: tuple[float, ...] = (),
    seed: int | torch.Generator | None = 0,
    log_every: int = 50,
    progress: bool = False,
) -> GANRun:
    r"""Alternating GAN training with Adam.

    Each iteration takes ``d_steps`` discriminator steps on
    ``d_loss(loss) + r1 * E_p||∇D||² + (l2/2)||φ||²`` and then one generator step on
    ``g_loss(loss)``; after the generator step every EMA copy of ``G`` is updated.
    ``sample_real(n, generator)`` must return ``n`` real points. Latents are
    :math:`z \sim N(0, I_{z\_dim})` from a generator seeded by ``seed``.
    Raises :class:`DivergenceError` if a loss becomes NaN or infinite.
    """
    check_name(loss, GAN_LOSSES, "GAN loss")
    check_int(steps, "steps")
    check_int(batch, "batch")
    check_int(d_steps, "d_steps")
    check_int(z_dim, "z_dim")
    check_positive(r1, "r1", allow_zero=True)
    check_positive(l2, "l2", allow_zero=True)
    check_positive(lr_d, "lr_d")
    check_positive(lr_g, "lr_g")
    modes = (G.training, D.training)
    try:  # a shape probe in eval mode (no BatchNorm statistics change)
        G.eval()
        D.eval()
        with torch.no_grad():
            D(G(torch.zeros(2, z_dim)))
    except RuntimeError as err:
        raise ValueError(f"G must take z of shape (n, z_dim={z_dim}) and D must take G's output: {err}"
                         ) from err
    finally:
        G.train(modes[0])
        D.train(modes[1])
    gen = make_generator(seed)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas)
    emas = {float(b): ema_model(G, b) for b in ema_decays}
    history: dict[str, list[float]] = {"step": [], "d_loss": [], "g_loss": []}
    for step in tqdm(range(steps), disable=not progress, desc="GAN"):
        for _ in range(d_steps):
            x = sample_real(batch, gen)
            with torch.no_grad():
                fake = G(torch.randn(batch, z_dim, generator=gen))
            ld = d_loss(loss, D(x), D(fake))
            if r1 > 0:
                ld = ld + r1 * zero_centred_penalty(D, x)
            if l2 > 0:
                ld = ld + 0.5 * l2 * sum(p.pow(2).sum() for p in D.parameters())
            opt_d.zero_grad(set_to_none=True)
            ld.backward()
            opt_d.step()
        lg = g_loss(loss, D(G(torch.randn(batch, z_dim, generator=gen))))
        opt_g.zero_grad(set_to_none=True)
        lg.backward()
        opt_g.step()
        for avg in emas.values():
            avg.update_parameters(G)
        ld_v = check_finite_value(ld, where=f"discriminator loss at step {step}")
        lg_v = check_finite_value(lg, where=f"generator loss at step {step}")
        if step % log_every == 0 or step == steps - 1:
            history["step"].append(step)
            history["d_loss"].append(ld_v)
            history["g_loss"].append(lg_v)
    return GANRun(G=G, D=D, emas=emas, history=history)
