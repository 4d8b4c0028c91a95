r"""GAN losses written on the discriminator's raw output (the logit).

Every pair follows the book's convention: the discriminator :math:`D_\phi` is larger on
real data, and each player *minimises* its loss.

======================  =============================================  =====================================
name                    discriminator loss                             generator loss
======================  =============================================  =====================================
``"ns"``                :math:`\mathrm{sp}(-D(x)) + \mathrm{sp}(D(\tilde x))`  :math:`\mathrm{sp}(-D(\tilde x))` (non-saturating)
``"saturating"``        same as ``"ns"``                                :math:`-\mathrm{sp}(D(\tilde x))`
``"wgan"``              :math:`D(\tilde x) - D(x)`                      :math:`-D(\tilde x)`
``"hinge"``             :math:`\max(0,1-D(x)) + \max(0,1+D(\tilde x))`  :math:`-D(\tilde x)`
======================  =============================================  =====================================

Here :math:`\mathrm{sp}(t)=\log(1+e^t)` is the softplus and :math:`\tilde x = G(z)`.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_name

GAN_LOSSES: tuple[str, ...] = ("ns", "saturating", "wgan", "hinge")
"""Names accepted by :func:`d_loss` and :func:`g_loss`."""


def d_loss(name: str, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss (a scalar, averaged over the batch) for the pair ``name``.

    NaN logits give a NaN loss (as in torch); :func:`gantools.train.train_gan` turns that into a
    ``DivergenceError`` naming the step.
    """
    check_name(name, GAN_LOSSES, "GAN loss")
    _check_logits(d_real, "d_real")
    _check_logits(d_fake, "d_fake")
    if name in ("ns", "saturating"):
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    if name == "wgan":
        return d_fake.mean() - d_real.mean()
    return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()


def g_loss(name: str, d_fake: torch.Tensor) -> torch.Tensor:
    """Generator loss (a scalar, averaged over the batch) for the pair ``name``."""
    check_name(name, GAN_LOSSES, "GAN loss")
    _check_logits(d_fake, "d_fake")
    if name == "ns":
        return F.softplus(-d_fake).mean()
    if name == "saturating":
        return -F.softplus(d_fake).mean()
    return -d_fake.mean()


def _check_logits(t: Any, name: str) -> None:
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        what = f"dtype {t.dtype}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise TypeError(f"{name} must be a floating torch.Tensor of discriminator outputs, got {what}")


def zero_centred_penalty(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    r"""Zero-centred gradient penalty :math:`\mathbb E_x \lVert \nabla_x D(x)\rVert^2` (R1 on real data).

    The graph is kept so that the penalty can be differentiated with respect to
    the discriminator's parameters.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 2 or x.shape[0] == 0:
        got = f"shape {tuple(x.shape)}, dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a floating tensor of shape (n, ...) with n >= 1, got {got}")
    x = x.detach().requires_grad_(True)
    try:
        out = D(x)
    except RuntimeError as err:
        raise ValueError(f"D does not accept x of shape {tuple(x.shape)}: {err}") from err
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


# --- Part IV: one loss for two players -------------------------------------------------------

COPY_METHODS: tuple[str, ...] = ("functional", "deepcopy")
"""How :func:`wgan_single_loss_copies` makes its frozen copies."""


def _scores(D: nn.Module, t: torch.Tensor) -> torch.Tensor:
    return D(t).reshape(t.shape[0], -1).mean(1)


def wgan_single_loss(D: nn.Module, G: nn.Module, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""WGAN as one scalar, stop-gradient form.

    With the book's convention (:math:`D` larger on real data, both players *descend*):

    .. math::
       S(\phi,\theta) = -D_\phi(x) + 2\,D_\phi(\mathrm{sg}(G_\theta(z))) - D_\phi(G_\theta(z))

    (batch means). Its value equals the critic loss :math:`D(G(z)) - D(x)`, and one backward
    pass gives :math:`\nabla_\phi S = \nabla_\phi[D_\phi(G(z)) - D_\phi(x)]` (the critic's
    WGAN gradient) and :math:`\nabla_\theta S = \nabla_\theta[-D(G_\theta(z))]` (the
    generator's), so a single optimiser step on :math:`(\phi,\theta)` is simultaneous gradient
    descent on the two WGAN losses. In terms of the energy :math:`U=-D` this is the source post's
    :math:`U(x) - 2U(\mathrm{sg}(G(z))) + U(G(z))`. ``G(z)`` is evaluated once.
    """
    fake = G(z)
    return (-_scores(D, x).mean() + 2 * _scores(D, fake.detach()).mean()
            - _scores(D, fake).mean())


def _frozen_call(module: nn.Module, method: str):
    if method == "deepcopy":
        import copy

        twin = copy.deepcopy(module)
        for p in twin.parameters():
            p.requires_grad_(False)
        return twin
    from torch.func import functional_call

    params = {k: v.detach() for k, v in module.named_parameters()}
    buffers = dict(module.named_buffers())
    return lambda t: functional_call(module, (params, buffers), (t,))


def wgan_single_loss_copies(D: nn.Module, G: nn.Module, x: torch.Tensor, z: torch.Tensor, *,
                            copy: str = "functional") -> torch.Tensor:
    r"""WGAN as one scalar, frozen-copy form.

    .. math::
       S(\phi,\theta) = -D_\phi(x) + D_\phi(G_{\theta'}(z)) - D_{\phi'}(G_\theta(z)),

    where :math:`\phi'\equiv\phi` and :math:`\theta'\equiv\theta` hold the same values but carry
    no gradient. Same gradients as :func:`wgan_single_loss`; the values differ (here the two
    fake terms cancel and the value is :math:`-D(x)`): only the gradients carry meaning. ``copy`` selects how
    the copies are made: ``"functional"`` (:func:`torch.func.functional_call` with detached
    parameters, no memory copied) or ``"deepcopy"`` (:func:`copy.deepcopy` of both networks
    every call, the literal reading).
    """
    check_name(copy, COPY_METHODS, "copy method")
    D_frozen = _frozen_call(D, copy)
    G_frozen = _frozen_call(G, copy)
    with torch.no_grad():
        fake_frozen = G_frozen(z)
    return (-_scores(D, x).mean() + _scores(D, fake_frozen).mean()
            - _scores(D_frozen, G(z)).mean())
