"""Benchmark: IGN with a DCGAN-style conv autoencoder and with a U-Net, recipe against listing.

``digits.autoencoder("conv")`` (strided convolutions to a 32-dimensional bottleneck) and
``digits.autoencoder("unet")`` (skips at 8x8 and 4x4, no bottleneck), each with the recipe's
weights (1, 1, 1), clamp a = 1, and with the listing's (1, 1, 0.1) without clamp, seeds 0, 1, 2;
Adam 3e-4, batch 128, 2000 steps by default. The three seeds of a setting train side by side in one
``ensemble.VmapEnsemble`` (``torch.func.vmap`` over stacked parameters). Reports per run:
reconstruction RMS, delta(noise)/delta(data), and coverage and sharpness/real of f(z), f(f(z)),
f(f(f(z))), and writes gantools/results/part4_architectures.json (gantools.stored). This is the
full-scale version of the illustration in Part IV, notebook 6.

Slow on a CPU (convolutions at 8x8 are overhead-bound): roughly 0.1 s per step per setting on one
core, i.e. about 15 min per setting at 2000 steps.

Run:  python benchmarks/part4_architectures.py [--steps 2000] [--arch conv unet]
"""
from __future__ import annotations

import argparse
import time

import torch

from gantools import data, digits, ensemble, ign, metrics, stored

SETTINGS = {"recipe": dict(lam_tight=1.0, clamp=1.0), "listing": dict(lam_tight=0.1, clamp=None)}
ARCHS = {"conv": dict(arch="conv", ch=16, latent=32), "unet": dict(arch="unet", ch=8)}
SEEDS = (0, 1, 2)


# the code whose behaviour the numbers record: every gantools function the script calls (stored.save
# hashes them with the gantools code they reach)
CODE = (ign.ign_loss, ign.train_ign_ensemble, digits.autoencoder, ign.apply_n, ign.reconstruction_error,
        digits.sampler, digits.sharpness, metrics.digit_scores, data.digits, ensemble.VmapEnsemble)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--arch", nargs="+", default=list(ARCHS), choices=list(ARCHS))
    ap.add_argument("--name", default="part4_architectures", help="stored result (gantools.stored)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    x, _ = data.digits(seed=0)
    sample_real = digits.sampler(x)
    z = torch.randn(1000, 64, generator=torch.Generator().manual_seed(99))
    probe = torch.randn(500, 64, generator=torch.Generator().manual_seed(5))
    sharp_real = float(digits.sharpness(x).mean())
    rows = []
    for arch in args.arch:
        for name, kw in SETTINGS.items():
            f = ensemble.VmapEnsemble([digits.autoencoder(**ARCHS[arch], seed=s) for s in SEEDS])
            t0 = time.perf_counter()
            run = ign.train_ign_ensemble(f, sample_real, steps=args.steps, log_every=max(1, args.steps // 10),
                                         on_divergence="record", **kw)
            secs = time.perf_counter() - t0
            for m, s in enumerate(SEEDS):
                g = run.member(m)
                with torch.no_grad():
                    orbit = ign.apply_n(g, z, 3)
                    ratio = float(ign.reconstruction_error(g, probe).mean() / ign.reconstruction_error(g, x[:500]).mean())
                rows.append(dict(arch=arch, setting=name, seed=s, seconds=secs, diverged=run.diverged[m],
                                 rec_rms=[h[m] for h in run.history["rec_rms"]], critic_ratio=ratio,
                                 coverage=[metrics.digit_scores(o).coverage for o in orbit[1:]],
                                 sharpness=[float(digits.sharpness(o).mean()) / sharp_real for o in orbit[1:]]))
                r = rows[-1]
                print(f"{arch:5s} {name:8s} seed {s}: rec RMS {r['rec_rms'][0]:.3f} -> {r['rec_rms'][-1]:.3f}, "
                      f"critic ratio {ratio:.1f}, coverage f,f2,f3 {r['coverage']}, sharpness "
                      f"{' '.join(f'{v:.2f}' for v in r['sharpness'])} ({secs:.0f} s for 3 seeds)", flush=True)
    out = stored.save(args.name, dict(steps=args.steps, seeds=list(SEEDS), archs={a: ARCHS[a] for a in args.arch},
                                      ign_settings=SETTINGS, threads=1, rows=rows),
                      code=CODE, settings=vars(args))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
