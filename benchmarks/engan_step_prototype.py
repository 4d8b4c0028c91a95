"""How much of the energy GAN's training step is overhead a rewrite could remove (a timing prototype).

    python benchmarks/engan_step_prototype.py [MEMBERS] [STEPS]      # default 3 500

Not the book's code and not used by it: the step of the recipe as it was when this was timed (energy
2x64 LeakyReLU(0.2); the recipe's energy is now 2x128, so it calls train_engan with hidden=64), generator
3x128 ReLU, two energy steps with the zero-centred gradient penalty 0.1, batch 128, Adam (0.5, 0.9)
at 2e-3 with linear decay, MEMBERS runs side by side) written as lean as it gets -- each network's
parameters in one flat buffer with one Adam over it, one vectorised sampler for all members, no
per-step finiteness check -- and timed against ``gantools.energy.train_engan`` in interleaved pairs.
On the 2-core machine (2026-12-03, against train_engan as it was then, with its own Adam before the
ensemble engine's MemberOptimizer; 3 members, 500 steps, eight pairs: four on one thread, four on
two) it ran 1.13 times as fast (median; range 0.92-1.52): little of train_engan's step is overhead
that a rewrite removes (benchmarks/README.md). It does the same work: trained for the recipe's
10,000 steps its three members reached 25, 23 and 25 modes with HQ fractions 0.86, 0.59 and 0.87,
the recipe's kind of outcome (Part II, notebook 3).
"""
from __future__ import annotations

import math
import sys
import time

import torch
import torch.nn.functional as F

from gantools import data


def layout(sizes):
    out, o = [], 0
    for i, j in zip(sizes[:-1], sizes[1:]):
        out.append((o, i, j))
        o += i * j + j
    return out, o


def init(M, sizes, gen):
    lay, P = layout(sizes)
    flat = torch.empty(M, P)
    for (o, i, j) in lay:
        b = 1 / math.sqrt(i)
        flat[:, o:o + i * j + j].uniform_(-b, b, generator=gen)
    return flat.requires_grad_(True), lay


def forward(flat, lay, x, act):
    M = x.shape[0]
    h = x
    for k, (o, i, j) in enumerate(lay):
        W = flat[:, o:o + i * j].view(M, i, j)
        b = flat[:, o + i * j:o + i * j + j].view(M, 1, j)
        h = torch.baddbmm(b, h, W)
        if k < len(lay) - 1:
            h = act(h)
    return h


class Adam:
    """Adam on one flat parameter buffer (no weight decay), one learning rate for all members."""

    def __init__(self, p, betas=(0.5, 0.9), eps=1e-8):
        self.p, (self.b1, self.b2), self.eps = p, betas, eps
        self.m, self.v, self.t = torch.zeros_like(p), torch.zeros_like(p), 0

    @torch.no_grad()
    def step(self, lr):
        self.t += 1
        g = self.p.grad
        self.m.lerp_(g, 1 - self.b1)
        self.v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
        denom = (self.v / (1 - self.b2 ** self.t)).sqrt_().add_(self.eps)
        self.p.addcdiv_(self.m, denom, value=-lr / (1 - self.b1 ** self.t))
        self.p.grad = None


def train(M, steps, B=128, seed=0):
    gen = torch.Generator().manual_seed(seed)
    U, lu = init(M, [2, 64, 64, 1], gen)
    G, lg = init(M, [2, 128, 128, 128, 2], gen)
    ou, og = Adam(U), Adam(G)
    def lrelu(h):
        return F.leaky_relu(h, 0.2)

    centers, sig = data.mode_centers("25gaussians"), data.mode_sigma("25gaussians")
    K = centers.shape[0]

    def real():
        idx = torch.randint(K, (M, B), generator=gen)
        return centers[idx] + sig * torch.randn(M, B, 2, generator=gen)

    for step in range(steps):
        frac = 1 - step / steps
        for _ in range(2):
            x = real().requires_grad_(True)
            with torch.no_grad():
                fake = forward(G, lg, torch.randn(M, B, 2, generator=gen), torch.relu)
            ur = forward(U, lu, x, lrelu)[..., 0]
            uf = forward(U, lu, fake, lrelu)[..., 0]
            (gx,) = torch.autograd.grad(ur.sum(), x, create_graph=True)
            loss = (ur.mean(1) - uf.mean(1) + 0.1 * gx.pow(2).sum(-1).mean(1)).sum()
            loss.backward()
            ou.step(2e-3 * frac)
        xg = forward(G, lg, torch.randn(M, B, 2, generator=gen), torch.relu)
        U.requires_grad_(False)
        lg_ = forward(U, lu, xg, lrelu)[..., 0].mean(1).sum()
        lg_.backward()
        U.requires_grad_(True)
        og.step(2e-3 * frac)
        if step % 100 == 0 and not torch.isfinite(loss):
            raise RuntimeError(f"diverged at step {step}")
    return U, lu, G, lg


if __name__ == "__main__":
    M = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    from gantools import energy as en
    for _rep in range(4):
        t0 = time.perf_counter(); train(M, steps); t1 = time.perf_counter()
        # hidden=64: the energy width the prototype (and its quoted timings) was written for
        en.train_engan(lambda n, g: data.sample("25gaussians", n, seed=g), seeds=list(range(M)), steps=steps,
                       hidden=64)
        t2 = time.perf_counter()
        print(f"M={M} steps={steps}: lean {t1 - t0:.2f} s, train_engan {t2 - t1:.2f} s, ratio {(t2 - t1) / (t1 - t0):.2f}", flush=True)
