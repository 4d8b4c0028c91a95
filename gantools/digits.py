r"""Tools for the 8x8 digits (``gantools.data.digits``): a reference classifier, a sharpness
statistic and the projection onto the digits' principal subspace that makes it blind to pixel
noise, a batch sampler, and small networks that map 8x8 images to 8x8 images.

The classifier is trained once per process, deterministically, on the real digits and kept in
memory (nothing is written to disk). :func:`gantools.metrics.digit_scores` and
:func:`gantools.metrics.score_samples` build on it (this module imports nothing from :mod:`gantools.metrics`).
"""
from __future__ import annotations

import functools
from typing import Callable

import torch
from torch import nn
import torch.nn.functional as F

from ._validate import check_int, check_name

__all__ = ["ARCHITECTURES", "DIM", "SIDE", "as_images", "autoencoder", "blends", "classifier", "classifier_accuracy",
           "gan_pair", "nearest_real_distance", "predict_proba", "principal_projection", "sampler", "sharpness",
           "stacked_autoencoders", "stacked_gan_pairs"]

SIDE = 8
DIM = SIDE * SIDE


def as_images(x, name: str = "images") -> torch.Tensor:
    """Digits as a float tensor of shape ``(n, 64)``.

    Parameters
    ----------
    x : torch.Tensor or array-like, shape (n, 64), (n, 8, 8) or (n, 1, 8, 8)
        Images.
    name : str
        The argument's name, for the message.

    Returns
    -------
    torch.Tensor, shape (n, 64)

    Raises
    ------
    ValueError
        If the shape is another one or an entry is NaN or infinite.
    """
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x, dtype=torch.float32)
    if x.ndim < 2 or x.shape[0] == 0 or x[0].numel() != DIM:
        raise ValueError(f"{name} must have shape (n, 64), (n, 8, 8) or (n, 1, 8, 8), got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite; it holds NaN/inf entries")
    return x.reshape(x.shape[0], DIM).float()


# --- reference classifier ----------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _trained_classifier() -> tuple[nn.Module, float]:
    from .data import digits

    x, y = digits(seed=1234)
    n_train = 1500
    with torch.random.fork_rng(), torch.enable_grad():
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(DIM, 128), nn.ReLU(), nn.Linear(128, 10))
        gen = torch.Generator().manual_seed(0)
        opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-4)
        for _ in range(400):  # mini-batch Adam, ~0.5 s
            idx = torch.randint(n_train, (256,), generator=gen)
            # light augmentation: additive noise, so that the classifier is not fooled by
            # off-manifold pixel noise into very confident answers
            xb = x[idx] + 0.1 * torch.randn(256, DIM, generator=gen)
            loss = F.cross_entropy(net(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        acc = float((net(x[n_train:]).argmax(1) == y[n_train:]).float().mean())
    return net, acc


def classifier() -> nn.Module:
    """The reference digit classifier (a 64-128-10 MLP; logits out), trained on first use.

    Trained with a fixed seed on 1500 of the 1797 real digits (shuffled with seed 1234),
    cached in memory for the rest of the process. See :func:`classifier_accuracy`.

    Returns
    -------
    nn.Module
        Maps ``(n, 64)`` images to ``(n, 10)`` logits; frozen (no gradient).
    """
    return _trained_classifier()[0]


def classifier_accuracy() -> float:
    """Accuracy of :func:`classifier` on the 297 held-out real digits.

    Returns
    -------
    float
        Fraction of held-out digits classified correctly.
    """
    return _trained_classifier()[1]


def predict_proba(images) -> torch.Tensor:
    """Class probabilities from the reference classifier.

    Parameters
    ----------
    images : torch.Tensor, shape (n, 64), (n, 8, 8) or (n, 1, 8, 8)
        Digits with values in [-1, 1].

    Returns
    -------
    torch.Tensor, shape (n, 10)
        Softmax probabilities (no gradient).
    """
    x = as_images(images)
    with torch.no_grad():
        return classifier()(x).softmax(1)


# --- image statistics ---------------------------------------------------------------------------

def sharpness(images) -> torch.Tensor:
    r"""Per-image gradient energy, shape ``(n,)``.

    .. math:: s(x) = \frac{1}{|E|}\sum_{(i,j)\in E} (x_i - x_j)^2

    over the set :math:`E` of horizontally and vertically adjacent pixel pairs (112 pairs in
    an 8x8 image). Blurred images have smaller :math:`s`; compare with the real digits' value.

    Parameters
    ----------
    images : torch.Tensor, shape (n, 64), (n, 8, 8) or (n, 1, 8, 8)
        Digits.

    Returns
    -------
    torch.Tensor, shape (n,)
        :math:`s(x_i)` per image.
    """
    x = as_images(images).reshape(-1, SIDE, SIDE)
    dh = (x[:, :, 1:] - x[:, :, :-1]).pow(2).flatten(1)
    dv = (x[:, 1:, :] - x[:, :-1, :]).pow(2).flatten(1)
    return torch.cat([dh, dv], 1).mean(1)


@functools.lru_cache(maxsize=1)
def _principal_axes() -> tuple[torch.Tensor, torch.Tensor]:
    from .data import digits

    x, _ = digits(seed=0)
    mean = x.mean(0)
    _, _, vt = torch.linalg.svd(x - mean, full_matrices=False)
    return mean, vt


def principal_projection(images, k: int = 10) -> torch.Tensor:
    r"""Orthogonal projection onto the real digits' mean plus their first ``k`` principal axes.

    .. math:: P_k(x) = \bar x + V_k^\top V_k\,(x - \bar x)

    with :math:`\bar x` the mean of the 1797 real digits and :math:`V_k` (shape ``(k, 64)``) their
    first ``k`` principal axes (``k = 10`` keeps 74% of their variance). What varies between real
    digits survives the projection; independent pixel noise, spread evenly over all 64 directions,
    mostly does not. So :func:`sharpness` of :math:`P_k(x)` measures edges of digit shape and is
    nearly blind to pixel noise, which raises :func:`sharpness` of :math:`x` itself, and
    :math:`\lVert x - P_k(x)\rVert` measures what lies off the digits' subspace.

    Parameters
    ----------
    images : torch.Tensor, shape (n, 64), (n, 8, 8) or (n, 1, 8, 8)
        Digits with values in [-1, 1].
    k : int
        Number of principal axes kept, ``1 <= k <= 64``.

    Returns
    -------
    torch.Tensor, shape (n, 64)
        :math:`P_k(x_i)` per image.

    Raises
    ------
    ValueError
        If ``k`` is outside ``1..64`` or the images have another shape.
    """
    x = as_images(images)
    check_int(k, "k")
    if k > DIM:
        raise ValueError(f"k must be at most {DIM}, got {k}")
    mean, vt = _principal_axes()
    vk = vt[:k]
    return mean + (x - mean) @ vk.T @ vk


def nearest_real_distance(images, real) -> torch.Tensor:
    r"""RMS distance to the nearest real digit.

    .. math:: d(x) = \min_j \sqrt{\tfrac1{64}\lVert x - x^{real}_j\rVert^2}

    Parameters
    ----------
    images : torch.Tensor, shape (n, 64)
        Digits to place.
    real : torch.Tensor, shape (N, 64)
        Reference digits.

    Returns
    -------
    torch.Tensor, shape (n,)
        :math:`d(x_i)` per image.
    """
    a, b = as_images(images), as_images(real, "real")
    return torch.cdist(a, b).min(1).values / DIM ** 0.5


def sampler(data: torch.Tensor) -> Callable[[int, torch.Generator], torch.Tensor]:
    """A ``sample_real(n, generator)`` callable drawing rows of ``data`` with replacement.

    Parameters
    ----------
    data : torch.Tensor, shape (N, 64)
        The digits to draw from.

    Returns
    -------
    callable
        ``sample_real(n, generator) -> torch.Tensor`` of shape ``(n, 64)``.
    """
    data = as_images(data, "data")

    def sample_real(n: int, gen: torch.Generator) -> torch.Tensor:
        return data[torch.randint(len(data), (n,), generator=gen)]

    return sample_real


# --- image-to-image networks for 8x8 digits -----------------------------------------------------

ARCHITECTURES: tuple[str, ...] = ("mlp", "conv", "unet")
"""Names accepted by :func:`autoencoder`."""


class _Flat(nn.Module):
    """Wrap a ``(n,1,8,8) -> (n,1,8,8)`` network so it maps ``(n,64) -> (n,64)``."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        return torch.tanh(self.body(x.reshape(n, 1, SIDE, SIDE))).reshape(n, DIM)


class _ConvAE(nn.Module):
    """DCGAN-style encoder (strided convs) -> bottleneck vector -> decoder (transposed convs)."""

    def __init__(self, ch: int, latent: int):
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(1, ch, 4, 2, 1), nn.LeakyReLU(0.2),            # 8 -> 4
            nn.Conv2d(ch, 2 * ch, 4, 2, 1), nn.LeakyReLU(0.2),       # 4 -> 2
            nn.Flatten(), nn.Linear(2 * ch * 4, latent))
        self.dec_in = nn.Linear(latent, 2 * ch * 4)
        self.dec = nn.Sequential(
            nn.ReLU(), nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1), nn.ReLU(),  # 2 -> 4
            nn.ConvTranspose2d(ch, 1, 4, 2, 1))                            # 4 -> 8
        self.ch = ch

    def forward(self, x):
        h = self.dec_in(self.enc(x)).reshape(x.shape[0], 2 * self.ch, 2, 2)
        return self.dec(h)


class _TinyUNet(nn.Module):
    """Two down/up levels with skip connections (concatenation) at 8x8 and 4x4."""

    def __init__(self, ch: int):
        super().__init__()
        act = nn.LeakyReLU(0.2)
        self.inc = nn.Sequential(nn.Conv2d(1, ch, 3, 1, 1), act)                  # 8x8
        self.down1 = nn.Sequential(nn.Conv2d(ch, 2 * ch, 4, 2, 1), act)           # 4x4
        self.down2 = nn.Sequential(nn.Conv2d(2 * ch, 4 * ch, 4, 2, 1), act)       # 2x2
        self.up2 = nn.Sequential(nn.ConvTranspose2d(4 * ch, 2 * ch, 4, 2, 1), nn.ReLU())  # 4x4
        self.mix2 = nn.Sequential(nn.Conv2d(4 * ch, 2 * ch, 3, 1, 1), nn.ReLU())
        self.up1 = nn.Sequential(nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1), nn.ReLU())      # 8x8
        self.out = nn.Conv2d(2 * ch, 1, 3, 1, 1)

    def forward(self, x):
        h8 = self.inc(x)
        h4 = self.down1(h8)
        h2 = self.down2(h4)
        u4 = self.mix2(torch.cat([self.up2(h2), h4], 1))
        return self.out(torch.cat([self.up1(u4), h8], 1))


def autoencoder(arch: str = "mlp", *, hidden: int = 256, latent: int = 32, ch: int = 16,
                seed: int | None = None) -> nn.Module:
    r"""An 8x8-image-to-8x8-image network :math:`f:\mathbb R^{64}\to\mathbb R^{64}` with tanh output.

    ``"mlp"``: 64 -> hidden -> latent -> hidden -> 64 (LeakyReLU 0.2), an encoder and a decoder
    the sizes of a GAN's discriminator body and generator. ``"conv"``: a DCGAN-style
    convolutional autoencoder with a ``latent``-dimensional bottleneck. ``"unet"``: a tiny U-Net
    with skip connections at full and half resolution (no bottleneck: the input can reach the
    output through the skips). ``seed`` fixes the initialisation without touching global state.

    Parameters
    ----------
    arch : str
        One of :data:`ARCHITECTURES`.
    hidden, latent, ch : int
        MLP width, bottleneck size, base number of channels.
    seed : int or None
        Initialisation seed.

    Returns
    -------
    nn.Module
        Maps ``(n, 64)`` to ``(n, 64)`` (values in (-1, 1)).
    """
    check_name(arch, ARCHITECTURES, "architecture")
    check_int(hidden, "hidden")
    check_int(latent, "latent")
    check_int(ch, "ch")
    with torch.random.fork_rng():
        if seed is not None:
            torch.manual_seed(seed)
        if arch == "mlp":
            net: nn.Module = nn.Sequential(
                nn.Linear(DIM, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, latent),   # encoder
                nn.Linear(latent, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, DIM),   # decoder
                nn.Tanh())
        elif arch == "conv":
            net = _Flat(_ConvAE(ch, latent))
        else:
            net = _Flat(_TinyUNet(ch))
    return net


def gan_pair(*, hidden: int = 256, latent: int = 32, seed: int | None = None) -> tuple[nn.Module, nn.Module]:
    r"""A GAN of the same size as ``autoencoder("mlp")``: :math:`G`: latent -> hidden -> 64 (tanh)
    is the autoencoder's decoder, :math:`D`: 64 -> hidden -> 1 its encoder with a scalar head.

    Parameters
    ----------
    hidden, latent : int
        Widths, as in :func:`autoencoder`.
    seed : int or None
        Initialisation seed.

    Returns
    -------
    tuple of nn.Sequential
        ``(G, D)``: ``(n, latent) -> (n, 64)`` and ``(n, 64) -> (n, 1)`` (logits).
    """
    check_int(hidden, "hidden")
    check_int(latent, "latent")
    with torch.random.fork_rng():
        if seed is not None:
            torch.manual_seed(seed)
        G = nn.Sequential(nn.Linear(latent, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, DIM), nn.Tanh())
        D = nn.Sequential(nn.Linear(DIM, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))
    return G, D


def stacked_autoencoders(seeds, *, hidden: int = 256, latent: int = 32):
    r"""``len(seeds)`` MLP autoencoders side by side, for :func:`gantools.ign.train_ign_ensemble`.

    Member :math:`m` starts exactly as ``autoencoder("mlp", hidden=hidden, latent=latent,
    seed=seeds[m])``: :math:`64 \to` hidden :math:`\to` latent :math:`\to` hidden
    :math:`\to 64`, LeakyReLU 0.2, tanh output.

    Parameters
    ----------
    seeds : sequence of int
        One initialisation seed per member.
    hidden, latent : int
        Widths, as in :func:`autoencoder`.

    Returns
    -------
    gantools.ensemble.EnsembleMLP
        Maps ``(M, n, 64) -> (M, n, 64)``; ``.member(m)`` returns member ``m`` as a standalone
        ``autoencoder("mlp")``-shaped network.
    """
    from .ensemble import EnsembleMLP

    return EnsembleMLP.stack([autoencoder("mlp", hidden=hidden, latent=latent, seed=int(s)) for s in seeds])


def stacked_gan_pairs(seeds, *, hidden: int = 256, latent: int = 32):
    r"""``len(seeds)`` GANs of :func:`gan_pair`'s architecture side by side.

    Parameters
    ----------
    seeds : sequence of int
        One initialisation seed per member (member :math:`m` starts as ``gan_pair(seed=seeds[m])``).
    hidden, latent : int
        Widths, as in :func:`gan_pair`.

    Returns
    -------
    tuple of gantools.ensemble.EnsembleMLP
        ``(G, D)``: ``(M, n, latent) -> (M, n, 64)`` and ``(M, n, 64) -> (M, n, 1)``, for
        :func:`gantools.train.train_gan_stacked`.
    """
    from .ensemble import EnsembleMLP

    pairs = [gan_pair(hidden=hidden, latent=latent, seed=int(s)) for s in seeds]
    return EnsembleMLP.stack([p[0] for p in pairs]), EnsembleMLP.stack([p[1] for p in pairs])


def blends(x: torch.Tensor, labels: torch.Tensor, n: int, *, seed: int = 0) -> torch.Tensor:
    r"""Pixel-wise averages :math:`\tfrac12(x_i + x_j)` of ``n`` pairs of digits of different classes.

    The reference for "blur": a blend is what an average over two modes looks like.

    Parameters
    ----------
    x : torch.Tensor, shape (N, 64)
        Real digits.
    labels : torch.Tensor, shape (N,)
        Their classes.
    n : int
        Number of blends wanted.
    seed : int
        Seed of the pair draw.

    Returns
    -------
    torch.Tensor, shape (n, 64)
    """
    x = as_images(x, "x")
    check_int(n, "n")
    gen = torch.Generator().manual_seed(seed)
    out = []
    while sum(len(o) for o in out) < n:
        i, j = torch.randint(len(x), (2, 2 * n), generator=gen)
        keep = labels[i] != labels[j]
        out.append(0.5 * (x[i[keep]] + x[j[keep]]))
    return torch.cat(out)[:n]
