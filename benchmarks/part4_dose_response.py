"""Benchmark: IGN's dose-response on the 8x8 digits, the complete grid.

lam_tight / lam_rec in {0.1, 0.3, 0.5, 0.7, 1} x tanh clamp a in {none, 1, 1.5, 3} x seeds 0, 1, 2,
plus seeds 3, 4, 5 at the recommended point (ratio 1, a = 1): 63 runs of
``digits.autoencoder("mlp")`` trained side by side by ``ign.train_ign_ensemble`` with the recipe's
optimiser (Adam 3e-4, batch 128), 2000 steps (twice the recipe's length). Every 250 steps each run's coverage is recorded
(1000 noise draws), and at the end: coverage, confidence, KL to uniform, sharpness/real,
diversity (0 = f(z) constant, the post's joint failure) and divergence.

Prints a table (min..max over seeds per cell) and writes gantools/results/part4_dose_response.json
(gantools.stored, with a SHA-1 of the code in CODE), which Part IV, notebook 5 shows.  About 5 CPU minutes (63 runs side by side in chunks of 21).

Run:  python benchmarks/part4_dose_response.py [--steps 2000] [--chunk 21]
"""
from __future__ import annotations

import argparse
import time

import torch

from gantools import data, digits, ign, metrics, stored

RATIOS = (0.1, 0.3, 0.5, 0.7, 1.0)
CLAMPS = (None, 1.0, 1.5, 3.0)
# the code whose behaviour the stored numbers record (Part IV, notebook 5 checks it is current)
CODE = (ign.ign_loss, ign.train_ign_ensemble, digits.autoencoder,  # and every gantools function the script calls
        digits.sampler, digits.score_samples, digits.stacked_autoencoders, metrics.digit_scores, data.digits)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--chunk", type=int, default=21)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cpu0 = time.process_time()
    x, _ = data.digits(seed=0)
    sample_real = digits.sampler(x)
    configs = [(r, a, s) for r in RATIOS for a in CLAMPS for s in (0, 1, 2)] + [(1.0, 1.0, s) for s in (3, 4, 5)]
    rows = []
    t_all = time.perf_counter()
    for c0 in range(0, len(configs), args.chunk):
        chunk = configs[c0:c0 + args.chunk]
        f = digits.stacked_autoencoders([s for _, _, s in chunk])
        z = torch.randn(len(chunk), 1000, 64, generator=torch.Generator().manual_seed(123))
        cov_t: list[list[int]] = []
        steps_t: list[int] = []

        def cb(step, f):
            out = f(z)
            steps_t.append(step)
            cov_t.append([metrics.digit_scores(out[m]).coverage for m in range(len(chunk))])

        run = ign.train_ign_ensemble(f, sample_real, steps=args.steps, lam_tight=[r for r, _, _ in chunk],
                                     clamp=[a for _, a, _ in chunk], log_every=250, callback=cb,
                                     on_divergence="record", seed=c0)
        with torch.no_grad():
            out = f(z)
        for m, (r, a, s) in enumerate(chunk):
            sc = digits.score_samples(out[m], x) if run.diverged[m] is None else None
            rows.append(dict(ratio=r, clamp=a, seed=s, diverged=run.diverged[m],
                             coverage_over_steps=dict(zip(steps_t, [c[m] for c in cov_t])),
                             **({} if sc is None else sc.__dict__)))
        print(f"chunk {c0 // args.chunk + 1}: {len(chunk)} runs in {run.seconds:.0f} s", flush=True)
    total = time.perf_counter() - t_all
    print(f"\n{len(configs)} runs, {args.steps} steps each, in {total:.0f} s "
          f"({total / len(configs):.1f} s per run)\n")
    print("coverage (min..max over seeds); rows lam_tight/lam_rec, columns clamp a")
    print("ratio  " + "".join(f"{str(a):>12s}" for a in CLAMPS))
    for r in RATIOS:
        cells = []
        for a in CLAMPS:
            cov = [row.get("coverage", 0) for row in rows if row["ratio"] == r and row["clamp"] == a]
            cells.append(f"{min(cov)}..{max(cov)} (n={len(cov)})")
        print(f"{r:5.1f}  " + "".join(f"{c:>12s}" for c in cells))
    const = [(row["ratio"], row["clamp"], row["seed"]) for row in rows if row.get("diversity", 0) < 0.1]
    print("runs with f(z) constant (diversity < 0.1) or diverged:", const)
    out = stored.save("part4_dose_response", dict(steps=args.steps, seconds=total, threads=1,
                                                  cpu_seconds=time.process_time() - cpu0, rows=rows), code=CODE, settings=vars(args))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
