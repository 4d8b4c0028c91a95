"""The MonoFlow authors' Gaussian toy at their full settings, discriminator 2-512-256-1.

Part III, notebook 5 runs the authors' toy (Adam with betas (0.9, 0.999), generator lr 1e-3,
discriminator lr 1e-3 for the reverse-KL loss and 1e-4 otherwise, batch 32, one D step per G
step, 5,000 iterations) with a 2-64-32-1 discriminator, because the paper's 2-512-256-1 costs
about 400 s of CPU time for the six losses x three seeds (measured with ``time.process_time``),
six times the notebook's whole budget. This script runs the paper's width (or any other) with
every loss of ``gantools.monoflow.PAPER_LOSSES`` and every seed side by side in one batched call
(``gantools.gaussian_toy.train_toy_ensemble``) and prints the notebook's table, with the wall
and CPU time.

Run:  python benchmarks/part3_paper_toy.py                       (paper width, 3 seeds, 5,000 iterations)
      python benchmarks/part3_paper_toy.py --hidden 64 32         (the notebook's width)
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from gantools import monoflow as mf
from gantools.gaussian_toy import PAPER_TOY, ToyConfig, train_toy_ensemble


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, nargs="+", default=list(PAPER_TOY.hidden))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--iters", type=int, default=PAPER_TOY.iters)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = ToyConfig(iters=args.iters, batch=PAPER_TOY.batch, hidden=tuple(args.hidden), optimizer="adam",
                    betas=PAPER_TOY.betas, lr_g=PAPER_TOY.lr_g, lr_d=None, record_every=500)
    losses = list(mf.PAPER_LOSSES)
    t0, c0 = time.perf_counter(), time.process_time()
    ens = train_toy_ensemble(losses, args.seeds, cfg)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    width = "-".join(str(w) for w in (2, *cfg.hidden, 1))
    print(f"## Authors' toy, discriminator {width}, {cfg.iters} iterations, seeds {args.seeds}: "
          f"wall {wall:.0f} s, CPU {cpu:.0f} s")
    print("| paper loss | h' changes sign? | final mu (per seed) | KL start | KL end (per seed) | stopped at |")
    print("|---|---|---|---|---|---|")
    for h in losses:
        i = ens.members(h)
        mus = "; ".join(f"({m[0]:+.2f}, {m[1]:+.2f})" for m in ens.mean[-1, i])
        kls = ", ".join(f"{k:.3g}" for k in ens.kl[-1, i])
        stop = ", ".join(str(s) for s in ens.diverged_at[i] if s >= 0) or "no"
        print(f"| {h} | {'no' if mf.PAPER_LOSSES[h].monotone else 'yes'} | {mus} | {np.mean(ens.kl[0, i]):.2f} | {kls} | {stop} |")


if __name__ == "__main__":
    main()
