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

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_name

GAN_LOSSES: tuple[str, ...] = ("ns", "saturating", "wgan", "hinge")
"""Names accepted by :func:`d_loss` and :func:`g_loss`."""


def d_loss(name: str, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss (a scalar, averaged over the batch) for the pair ``name``."""
    check_name(name, GAN_LOSSES, "GAN loss")
    if name in ("ns", "saturating"):
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    if name == "wgan":
        return d_fake.mean() - d_real.mean()
    return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()


def g_loss(name: str, d_fake: torch.Tensor) -> torch.Tensor:
    """Generator loss (a scalar, averaged over the batch) for the pair ``name``."""
    check_name(name, GAN_LOSSES, "GAN loss")
    if name == "ns":
        return F.softplus(-d_fake).mean()
    if name == "saturating":
        return -F.softplus(d_fake).mean()
    return -d_fake.mean()


def zero_centred_penalty(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    r"""Zero-centred gradient penalty :math:`\mathbb E_x \lVert \nabla_x D(x)\rVert^2` (R1 on real data).

    The graph is kept so that the penalty can be differentiated with respect to
    the discriminator's parameters.
    """
    x = x.detach().requires_grad_(True)
    out = D(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()
