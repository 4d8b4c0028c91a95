"""The complete ablation of the energy-GAN recipe (Part II, notebook 3), 3 seeds a row.

Every row of ``gantools.energy.ABLATION_ROWS`` changes one ingredient of ``train_engan``'s default
recipe (generator activation and depth, energy steps per generator step, learning-rate decay,
steps, width, penalty weight). Rows that share an architecture train side by side in one batched
call. The script prints, per row, modes captured, the high-quality fraction, the balanced mass of
``gantools.energy.mode_balance`` per seed, and the CPU and wall seconds of the call that trained it.

Writes gantools/results/part2_ablation_<dataset>.json (gantools.stored), which Part II, notebook 3 shows.

Run:  python benchmarks/part2_ablation.py                       (25 Gaussians, entropy "none")
      python benchmarks/part2_ablation.py --treatment jsd --dataset 8gaussians
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from gantools import data
from gantools import energy as en
from gantools import stored


# the code whose behaviour the numbers record: every gantools function the script calls (stored.save
# hashes them with the gantools code they reach)
CODE = (en.train_engan, en.mode_balance, en.run_ablation, data.sample)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="25gaussians", choices=["25gaussians", "8gaussians"])
    ap.add_argument("--treatment", default="none", choices=list(en.ENTROPY_TREATMENTS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rows", type=int, nargs="*", default=None, help="indices into ABLATION_ROWS")
    ap.add_argument("--name", default=None, help="stored result (default part2_ablation_<dataset>)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = en.ABLATION_ROWS if args.rows is None else [en.ABLATION_ROWS[i] for i in args.rows]
    c0, t0 = time.process_time(), time.perf_counter()
    res = en.run_ablation(lambda n, g: data.sample(args.dataset, n, seed=g), args.dataset, rows=rows,
                          seeds=args.seeds, treatment=args.treatment)
    print(f"| {args.dataset}, entropy {args.treatment} | modes (per seed) | HQ fraction (per seed) | "
          "balanced mass (per seed) | wall s of its call (members) |")
    print("|---|---|---|---|---|")
    for r in res:
        st = [r.stats[s] for s in args.seeds]
        print(f"| {r.row.name} | {', '.join(str(b.modes_captured) for b in st)} | "
              f"{', '.join(f'{b.high_quality_fraction:.2f}' for b in st)} | "
              f"{', '.join(f'{b.balanced_mass:.2f}' for b in st)} | {r.seconds:.0f} ({r.members_in_call}) |")
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    print(f"total: CPU {cpu:.0f} s, wall {wall:.0f} s")
    out = stored.save(args.name or f"part2_ablation_{args.dataset}", dict(
        dataset=args.dataset, treatment=args.treatment, seeds=args.seeds, cpu_seconds=cpu, wall_seconds=wall,
        threads=1, rows=[dict(name=r.row.name, arch=dict(r.row.arch), arm=dict(r.row.arm), seconds=r.seconds,
                              members_in_call=r.members_in_call,
                              stats={str(s): dataclasses.asdict(r.stats[s]) for s in args.seeds}) for r in res]),
        code=CODE, settings=vars(args))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
