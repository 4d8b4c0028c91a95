r"""Tools for the 8x8 digits (``gantools.data.digits``): a reference classifier, a sharpness
statistic, a batch sampler, and small networks that map 8x8 images to 8x8 images.

The classifier is trained once per process, deterministically, on the real digits and kept in
memory (nothing is written to disk). :func:`gantools.metrics.digit_scores` builds on it.
"""
from __future__ import annotations

import functools
from typing import Callable

import torch
from torch import nn
import torch.nn.functional as F

from ._validate import check_int, check_name

SIDE = 8
DIM = SIDE * SIDE


def _as_images(x: torch.Tensor, name: str = "images") -> torch.Tensor:
    """``(n, 64)`` or ``(n, 8, 8)`` or ``(n, 1, 8, 8)`` -> float ``(n, 64)``."""
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
    """
    return _trained_classifier()[0]


def classifier_accuracy() -> float:
    """Accuracy of :func:`classifier` on the 297 held-out real digits."""
    return _trained_classifier()[1]


def predict_proba(images) -> torch.Tensor:
    """Class probabilities ``(n, 10)`` from the reference classifier."""
    x = _as_images(images)
    with torch.no_grad():
        return classifier()(x).softmax(1)


# --- image statistics ---------------------------------------------------------------------------

def sharpness(images) -> torch.Tensor:
    r"""Per-image gradient energy, shape ``(n,)``.

    .. math:: s(x) = \frac{1}{|E|}\sum_{(i,j)\in E} (x_i - x_j)^2

    over the set :math:`E` of horizontally and vertically adjacent pixel pairs (112 pairs in
    an 8x8 image). Blurred images have smaller :math:`s`; compare with the real digits' value.
    """
    x = _as_images(images).reshape(-1, SIDE, SIDE)
    dh = (x[:, :, 1:] - x[:, :, :-1]).pow(2).flatten(1)
    dv = (x[:, 1:, :] - x[:, :-1, :]).pow(2).flatten(1)
    return torch.cat([dh, dv], 1).mean(1)


def nearest_real_distance(images, real) -> torch.Tensor:
    r"""RMS distance :math:`\min_j \sqrt{\frac1{64}\lVert x - x^{real}_j\rVert^2}` to the nearest real digit."""
    a, b = _as_images(images), _as_images(real, "real")
    return torch.cdist(a, b).min(1).values / DIM ** 0.5


def sampler(data: torch.Tensor) -> Callable[[int, torch.Generator], torch.Tensor]:
    """A ``sample_real(n, generator)`` callable drawing rows of ``data`` with replacement."""
    data = _as_images(data, "data")

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
    is the autoencoder's decoder, :math:`D`: 64 -> hidden -> 1 its encoder with a scalar head."""
    check_int(hidden, "hidden")
    check_int(latent, "latent")
    with torch.random.fork_rng():
        if seed is not None:
            torch.manual_seed(seed)
        G = nn.Sequential(nn.Linear(latent, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, DIM), nn.Tanh())
        D = nn.Sequential(nn.Linear(DIM, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))
    return G, D


def step_flops(step: Callable[[], None]) -> int:
    """Floating-point operations of one call of ``step`` (forward and backward), counted by
    :class:`torch.utils.flop_counter.FlopCounterMode` (matrix multiplies and convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return int(counter.get_total_flops())
