"""Benchmark: IGN with a DCGAN-style conv autoencoder and with a U-Net, recipe against listing.

``digits.autoencoder("conv")`` (strided convolutions to a 32-dimensional bottleneck) and
``digits.autoencoder("unet")`` (skips at 8x8 and 4x4, no bottleneck), each with the recipe
(``ign.train_ign_ensemble``'s defaults, ``ign.RECIPE``) and with the listing's weights
(``ign.LISTING``: 1, 1, 0.1 without clamp), seeds 0, 1, 2; Adam 3e-4, batch 128, 2000 steps by
default. The three seeds of a setting train side by side in one ``ensemble.VmapEnsemble``
(``torch.func.vmap`` over stacked parameters); seed ``s`` is initialised with ``s`` and draws its
data and noise from its own stream seeded ``s``. Reports per run: reconstruction RMS,
delta(noise)/delta(data), and coverage (``metrics.digit_scores``, confidently recognised classes)
and sharpness/real of f(z), f(f(z)), f(f(f(z))), and writes gantools/results/part4_architectures.json
(gantools.stored). This is the full-scale version of the illustration in Part IV, notebook 6.

Slow on a CPU (convolutions at 8x8 are overhead-bound): roughly 0.1 s per step per setting on one
core, i.e. about 15 min per setting at 2000 steps; the stored result is the 1000-step run.

``--scale paper`` trains with the IGN paper's optimiser and weights (``ign.PAPER``: Adam 1e-4,
batch 256, weights 20, 20, 2.5, clamp a = 1.5) in place of the recipe, and writes
part4_architectures_paper.json, which the book does not show.

Run:  python benchmarks/part4_architectures.py [--steps 2000] [--arch conv unet] [--settings recipe listing] [--seeds 0 1 2]
      [--jobs 1] [--device cpu] [--scale book|paper]
"""
from __future__ import annotations

import argparse
import multiprocessing
import time

import torch

from gantools import data, digits, ensemble, ign, metrics, stored

SETTINGS = {"recipe": {}, "listing": ign.LISTING}     # {}: train_ign_ensemble's defaults, the recipe
ARCHS = {"conv": dict(arch="conv", ch=16, latent=32), "unet": dict(arch="unet", ch=8)}
SEEDS = (0, 1, 2)


# the code whose behaviour the numbers record: every gantools function the script calls (stored.save
# hashes them with the gantools code they reach)
CODE = (ign.ign_loss, ign.train_ign_ensemble, digits.autoencoder, ign.apply_n, ign.reconstruction_error,
        digits.sampler, digits.sharpness, metrics.digit_scores, data.digits, ensemble.VmapEnsemble)


def train_setting(arch: str, name: str, kw: dict, x: torch.Tensor, args: argparse.Namespace) -> list[dict]:
    """Train the three seeds of one architecture and setting side by side; one row per seed."""
    dev = torch.device(args.device)
    z = torch.randn(1000, 64, generator=torch.Generator().manual_seed(99)).to(dev)
    probe = torch.randn(500, 64, generator=torch.Generator().manual_seed(5)).to(dev)
    sharp_real = float(digits.sharpness(x).mean())
    f = ensemble.VmapEnsemble([digits.autoencoder(**ARCHS[arch], seed=s) for s in args.seeds])
    t0 = time.perf_counter()
    run = ign.train_ign_ensemble(f, digits.sampler(x), steps=args.steps, log_every=max(1, args.steps // 10),
                                 seeds=args.seeds, device=dev, on_divergence="record", **kw)
    secs = time.perf_counter() - t0
    rows = []
    for m, s in enumerate(args.seeds):
        g = run.member(m)
        with torch.no_grad():
            orbit = [o.cpu() for o in ign.apply_n(g, z, 3)]
            ratio = float(ign.reconstruction_error(g, probe).mean() / ign.reconstruction_error(g, x[:500].to(dev)).mean())
        rows.append(dict(arch=arch, setting=name, seed=s, seconds=secs, diverged=run.diverged[m],
                         rec_rms=[h[m] for h in run.history["rec_rms"]], critic_ratio=ratio,
                         coverage=[metrics.digit_scores(o).coverage for o in orbit[1:]],
                         sharpness=[float(digits.sharpness(o).mean()) / sharp_real for o in orbit[1:]]))
        r = rows[-1]
        print(f"{arch:5s} {name:8s} seed {s}: rec RMS {r['rec_rms'][0]:.3f} -> {r['rec_rms'][-1]:.3f}, "
              f"critic ratio {ratio:.1f}, coverage f,f2,f3 {r['coverage']}, sharpness "
              f"{' '.join(f'{v:.2f}' for v in r['sharpness'])} ({secs:.0f} s for 3 seeds)", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--arch", nargs="+", default=list(ARCHS), choices=list(ARCHS))
    ap.add_argument("--name", default="part4_architectures", help="stored result (gantools.stored)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--scale", default="book", choices=("book", "paper"))
    ap.add_argument("--jobs", type=int, default=1, help="settings trained in parallel processes (one thread each)")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="a subset of SEEDS")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    args = ap.parse_args()
    settings = {k: (ign.PAPER if args.scale == "paper" and k == "recipe" else SETTINGS[k]) for k in args.settings}
    torch.set_num_threads(1)
    x, _ = data.digits(seed=0)
    tasks = [(arch, name, kw, x, args) for arch in args.arch for name, kw in settings.items()]
    if args.jobs > 1:       # the settings are independent runs
        with multiprocessing.get_context("spawn").Pool(args.jobs, initializer=torch.set_num_threads,
                                                       initargs=(1,)) as pool:
            rows = [row for part in pool.starmap(train_setting, tasks) for row in part]
    else:
        rows = [row for task in tasks for row in train_setting(*task)]
    used = {n: dict({k: ign.RECIPE[k] for k in ("lam_rec", "lam_idem", "lam_tight", "clamp")}, **kw)
            for n, kw in settings.items()}
    name = args.name + ("" if args.scale == "book" else f"_{args.scale}")
    out = stored.save(name, dict(steps=args.steps, seeds=list(args.seeds), archs={a: ARCHS[a] for a in args.arch},
                                 ign_settings=used, threads=1, device=str(args.device), rows=rows),
                      code=CODE, settings=vars(args))
    print(f"wrote {out}")


def spot_check(record: dict) -> dict:
    """One cell of the stored runs to rerun (``tools/spot_check.py``): the conv autoencoder with the
    recipe, seed 0, full length.

    The seed trains alone (a ``VmapEnsemble`` of one), with its own data stream, so it repeats the
    stored member up to rounding, which a thousand steps can amplify: the tolerances are a
    training outcome's.
    """
    arch, setting, seed = "conv", "recipe", 0

    def values(rec: dict) -> dict:
        row = next(r for r in rec["rows"] if (r["arch"], r["setting"], r["seed"]) == (arch, setting, seed))
        return {"coverage_f": row["coverage"][0], "rec_rms_end": row["rec_rms"][-1], "sharpness_f": row["sharpness"][0]}

    argv = ["--arch", arch, "--settings", setting, "--seeds", str(seed), "--steps", str(record["steps"]),
            "--scale", record.get("settings", {}).get("scale", "book")]
    return dict(argv=argv, values=values, tol={"coverage_f": 2, "rec_rms_end": 0.02, "sharpness_f": 0.05})


if __name__ == "__main__":
    main()
