r"""GAN losses written on the discriminator's raw output (the logit), and the penalties and single-loss forms built on them.

Every pair follows the book's convention: the discriminator :math:`D_\phi` is larger on
real data, and each player *minimises* its loss (batch means over real :math:`x\sim p` and
fake :math:`\tilde x = G_\theta(z)`):

.. list-table::
   :header-rows: 1

   * - name
     - discriminator loss :math:`\mathcal L_D`
     - generator loss :math:`\mathcal L_G`
   * - ``"ns"``
     - :math:`\mathrm{sp}(-D(x)) + \mathrm{sp}(D(\tilde x))`
     - :math:`\mathrm{sp}(-D(\tilde x))` (non-saturating)
   * - ``"saturating"``
     - same as ``"ns"``
     - :math:`-\mathrm{sp}(D(\tilde x))`
   * - ``"wgan"``
     - :math:`D(\tilde x) - D(x)`
     - :math:`-D(\tilde x)`
   * - ``"hinge"``
     - :math:`\max(0,1-D(x)) + \max(0,1+D(\tilde x))`
     - :math:`-D(\tilde x)`

Here :math:`\mathrm{sp}(t)=\log(1+e^t)` is the softplus. The module also holds the
zero-centred gradient penalty (R1) and Part IV's WGAN written as one scalar for both players.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_name

__all__ = ["GAN_LOSSES", "d_loss", "g_loss", "zero_centred_penalty", "penalty_at", "COPY_METHODS",
           "wgan_single_loss", "wgan_single_loss_copies"]

GAN_LOSSES: tuple[str, ...] = ("ns", "saturating", "wgan", "hinge")
"""Names accepted by :func:`d_loss` and :func:`g_loss`."""


def d_loss(name: str, d_real: torch.Tensor, d_fake: torch.Tensor, *, members: bool = False) -> torch.Tensor:
    r"""Discriminator loss (a scalar, averaged over the batch) for the pair ``name``.

    .. math::

       \mathcal L_D =
       \begin{cases}
       \overline{\mathrm{sp}(-D(x))} + \overline{\mathrm{sp}(D(\tilde x))}
         & \texttt{"ns"}, \texttt{"saturating"},\\
       \overline{D(\tilde x)} - \overline{D(x)} & \texttt{"wgan"},\\
       \overline{\max(0, 1 - D(x))} + \overline{\max(0, 1 + D(\tilde x))} & \texttt{"hinge"},
       \end{cases}

    where the bar is the mean over the batch and :math:`\mathrm{sp}` the softplus.
    NaN logits give a NaN loss (as in torch); :func:`gantools.train.train_gan` turns that into a
    :class:`~gantools.errors.DivergenceError` naming the step.

    Parameters
    ----------
    name : str
        A name from :data:`GAN_LOSSES`.
    d_real : torch.Tensor, shape (n, 1) or (n,)
        Discriminator logits :math:`D(x)` on real data (any shape; all entries are averaged).
    d_fake : torch.Tensor, shape (m, 1) or (m,)
        Discriminator logits :math:`D(\tilde x)` on generated samples.
    members : bool
        If true, the first axis of both tensors indexes independent members (shapes
        ``(M, n, ...)`` and ``(M, m, ...)``) and each member's loss is averaged over its own
        entries only.

    Returns
    -------
    torch.Tensor, shape () or (M,)
        The loss (one per member with ``members=True``), differentiable with respect to both
        logit tensors.

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists :data:`GAN_LOSSES`).
    TypeError
        If a logit argument is not a floating ``torch.Tensor``.
    """
    check_name(name, GAN_LOSSES, "GAN loss")
    _check_logits(d_real, "d_real", members)
    _check_logits(d_fake, "d_fake", members)
    mean = _member_mean if members else torch.mean
    if name in ("ns", "saturating"):
        return mean(F.softplus(-d_real)) + mean(F.softplus(d_fake))
    if name == "wgan":
        return mean(d_fake) - mean(d_real)
    return mean(F.relu(1 - d_real)) + mean(F.relu(1 + d_fake))


def g_loss(name: str, d_fake: torch.Tensor, *, members: bool = False) -> torch.Tensor:
    r"""Generator loss (a scalar, averaged over the batch) for the pair ``name``.

    .. math::

       \mathcal L_G =
       \begin{cases}
       \overline{\mathrm{sp}(-D(\tilde x))} & \texttt{"ns"} \text{ (non-saturating)},\\
       -\overline{\mathrm{sp}(D(\tilde x))} & \texttt{"saturating"},\\
       -\overline{D(\tilde x)} & \texttt{"wgan"}, \texttt{"hinge"},
       \end{cases}

    where the bar is the mean over the batch and :math:`\mathrm{sp}` the softplus.

    Parameters
    ----------
    name : str
        A name from :data:`GAN_LOSSES`.
    d_fake : torch.Tensor, shape (m, 1) or (m,)
        Discriminator logits :math:`D(G(z))` on generated samples (all entries are averaged).
    members : bool
        If true, the first axis indexes independent members (shape ``(M, m, ...)``) and each
        member's loss is averaged over its own entries only.

    Returns
    -------
    torch.Tensor, shape () or (M,)
        The loss (one per member with ``members=True``), differentiable with respect to ``d_fake``.

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists :data:`GAN_LOSSES`).
    TypeError
        If ``d_fake`` is not a floating ``torch.Tensor``.
    """
    check_name(name, GAN_LOSSES, "GAN loss")
    _check_logits(d_fake, "d_fake", members)
    mean = _member_mean if members else torch.mean
    if name == "ns":
        return mean(F.softplus(-d_fake))
    if name == "saturating":
        return -mean(F.softplus(d_fake))
    return -mean(d_fake)


def _member_mean(t: torch.Tensor) -> torch.Tensor:
    """The mean of each member's entries, shape ``(M,)`` (member axis first)."""
    return t.flatten(1).mean(1)


def _check_logits(t: Any, name: str, members: bool = False) -> None:
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        what = f"dtype {t.dtype}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise TypeError(f"{name} must be a floating torch.Tensor of discriminator outputs, got {what}")
    if members and t.ndim < 2:
        raise ValueError(f"{name} must have shape (M, n, ...) with members=True, got {tuple(t.shape)}")


def zero_centred_penalty(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    r"""Zero-centred gradient penalty :math:`\mathbb E_x \lVert \nabla_x D(x)\rVert^2` (R1 on real data).

    .. math::

       R_1(\phi) = \frac1n \sum_{i=1}^n \lVert \nabla_x D_\phi(x_i) \rVert^2,

    the gradient taken through ``D(x).sum()``, so that with one output per sample it is each
    sample's own gradient. The graph is kept (``create_graph=True``) so that the penalty can be
    differentiated with respect to the discriminator's parameters.

    Parameters
    ----------
    D : torch.nn.Module
        The discriminator; maps ``(n, ...)`` to ``(n, 1)`` logits.
    x : torch.Tensor, shape (n, ...)
        The points where the penalty is taken (real data for R1); ``n >= 1``. It is detached
        first, so no gradient flows back into whatever produced it.

    Returns
    -------
    torch.Tensor, shape ()
        The penalty, differentiable with respect to ``D``'s parameters.

    Raises
    ------
    ValueError
        If ``x`` is not a floating tensor of shape ``(n, ...)`` with ``n >= 1``, or ``D``
        does not accept it.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 2 or x.shape[0] == 0:
        got = f"shape {tuple(x.shape)}, dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a floating tensor of shape (n, ...) with n >= 1, got {got}")
    x = x.detach().requires_grad_(True)
    try:
        out = D(x)
    except RuntimeError as err:
        raise ValueError(f"D does not accept x of shape {tuple(x.shape)}: {err}") from err
    return penalty_at(out, x)


def penalty_at(d_x: torch.Tensor, x: torch.Tensor, *, members: bool = False) -> torch.Tensor:
    r"""The penalty of :func:`zero_centred_penalty` from outputs ``d_x = D(x)`` already computed.

    A trainer that needs :math:`D(x)` for its loss anyway takes the penalty from the same
    forward pass: :math:`\frac1n\sum_i\lVert\nabla_{x_i}\textstyle\sum_j D(x_j)\rVert^2`.

    Parameters
    ----------
    d_x : torch.Tensor
        ``D(x)``, computed with ``x.requires_grad`` set.
    x : torch.Tensor, shape (n, ...), or (M, n, ...) with ``members=True``
        The points.
    members : bool
        If true, the first axis indexes independent members and the penalty is averaged over
        each member's own points.

    Returns
    -------
    torch.Tensor, shape () or (M,)
        Differentiable with respect to ``D``'s parameters (the graph is kept).
    """
    (grad,) = torch.autograd.grad(d_x.sum(), x, create_graph=True)
    return grad.pow(2).flatten(2 if members else 1).sum(-1).mean(-1)


# --- Part IV: one loss for two players -------------------------------------------------------

COPY_METHODS: tuple[str, ...] = ("functional", "deepcopy")
"""How :func:`wgan_single_loss_copies` makes its frozen copies: ``"functional"`` or ``"deepcopy"``."""


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
    :math:`U(x) - 2U(\mathrm{sg}(G(z))) + U(G(z))`. ``G(z)`` is evaluated once. A
    discriminator with several outputs per sample is averaged over them first.

    Parameters
    ----------
    D : torch.nn.Module
        The critic :math:`D_\phi`; maps ``(n, ...)`` to ``(n, 1)`` (or ``(n, k)``) scores.
    G : torch.nn.Module
        The generator :math:`G_\theta`; maps ``(m, z_dim)`` to samples shaped like ``x[0]``.
    x : torch.Tensor, shape (n, ...)
        A batch of real data.
    z : torch.Tensor, shape (m, z_dim)
        A batch of latents.

    Returns
    -------
    torch.Tensor, shape ()
        :math:`S`; its value is the critic loss, its gradient the two players' WGAN gradients.
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

    Parameters
    ----------
    D : torch.nn.Module
        The critic :math:`D_\phi`; maps ``(n, ...)`` to ``(n, 1)`` (or ``(n, k)``) scores.
    G : torch.nn.Module
        The generator :math:`G_\theta`; maps ``(m, z_dim)`` to samples shaped like ``x[0]``.
    x : torch.Tensor, shape (n, ...)
        A batch of real data.
    z : torch.Tensor, shape (m, z_dim)
        A batch of latents.
    copy : str
        A name from :data:`COPY_METHODS`.

    Returns
    -------
    torch.Tensor, shape ()
        :math:`S`; only its gradient carries meaning.

    Raises
    ------
    ValueError
        If ``copy`` is unknown (the message lists :data:`COPY_METHODS`).
    """
    check_name(copy, COPY_METHODS, "copy method")
    D_frozen = _frozen_call(D, copy)
    G_frozen = _frozen_call(G, copy)
    with torch.no_grad():
        fake_frozen = G_frozen(z)
    return (-_scores(D, x).mean() + _scores(D, fake_frozen).mean()
            - _scores(D_frozen, G(z)).mean())
