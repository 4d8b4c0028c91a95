"""The complete ablation of the energy-GAN recipe (Part II, notebook 3), 3 seeds a row.

Every row of ``gantools.energy.ABLATION_ROWS`` changes one ingredient of ``train_engan``'s default
recipe (generator activation and depth, energy steps per generator step, learning-rate decay,
steps, the energy's width, penalty weight). Rows that share an architecture train side by side in
one batched call. The script prints, per row, modes captured, the high-quality fraction, the
balanced mass of ``gantools.metrics.mode_balance`` per seed, and the wall seconds of the call that
trained it.

Writes gantools/results/part2_ablation_<dataset>.json (gantools.stored), which Part II, notebook 3
shows, with the command line and the settings it ran with.

Run:  python benchmarks/part2_ablation.py                       (25 Gaussians, entropy "none")
      python benchmarks/part2_ablation.py --dataset 8gaussians --rows 0 4
      python benchmarks/part2_ablation.py --seeds 0 1 2 3 4 5 6 7 8 --rows 0 10 --name part2_recipe_seeds_25gaussians
      python benchmarks/part2_ablation.py --seeds $(seq -s ' ' 0 59) --rows 0 --name part2_recipe_60seeds_25gaussians
      python benchmarks/part2_ablation.py --scale paper --device cuda

``--scale paper`` trains every row from Kumar et al.'s toy settings instead of the recipe
(``gantools.energy.PAPER_SCALE``: networks of three hidden layers of 512 units, batch 256, five
energy steps per generator step, 100,000 steps, Adam 1e-4 without decay), each row still changing
one setting; its result is stored under the name with ``_paper`` appended. ``--device`` (default
cpu) is where the networks train; the random draws are made on the CPU.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from gantools import data
from gantools import energy as en
from gantools import metrics
from gantools import stored


# the code whose behaviour the numbers record: every gantools function the script calls (stored.save
# hashes them with the gantools code they reach)
CODE = (en.train_engan, metrics.mode_balance, en.run_ablation, data.sample)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="25gaussians", choices=["25gaussians", "8gaussians"])
    ap.add_argument("--treatment", default="none", choices=list(en.ENTROPY_TREATMENTS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rows", type=int, nargs="*", default=None, help="indices into ABLATION_ROWS")
    ap.add_argument("--name", default=None, help="stored result (default part2_ablation_<dataset>)")
    ap.add_argument("--scale", default="book", choices=["book", "paper"])
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = en.ABLATION_ROWS if args.rows is None else [en.ABLATION_ROWS[i] for i in args.rows]
    scale = dict(en.PAPER_SCALE) if args.scale == "paper" else {}
    c0, t0 = time.process_time(), time.perf_counter()
    res = en.run_ablation(lambda n, g: data.sample(args.dataset, n, seed=g), args.dataset, rows=rows,
                          seeds=args.seeds, treatment=args.treatment, device=args.device, **scale)
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
    name = args.name or f"part2_ablation_{args.dataset}"
    out = stored.save(name + ("_paper" if args.scale == "paper" and args.name is None else ""), dict(
        dataset=args.dataset, treatment=args.treatment, seeds=args.seeds, cpu_seconds=cpu, wall_seconds=wall,
        threads=1, device=args.device,
        rows=[dict(name=r.row.name, arch=dict(r.row.arch), arm=dict(r.row.arm), seconds=r.seconds,
                   members_in_call=r.members_in_call,
                   stats={str(s): dataclasses.asdict(r.stats[s]) for s in args.seeds}) for r in res]),
        code=CODE, settings=dict(vars(args), **scale))
    print(f"wrote {out}")


def spot_check(record: dict) -> dict:
    """One cell of a stored ablation to rerun (``tools/spot_check.py``): its first row, first seed.

    The cell trains alone, not beside the other members of its batched call; it draws the same
    data and latents, but the floating-point rounding of a batch of one differs in the last bits
    and ten thousand steps of a two-player game amplify that, so the tolerance is a training
    outcome's, not rounding's.
    """
    row, seed = record["rows"][0]["name"], record["seeds"][0]
    idx = [r.name for r in en.ABLATION_ROWS].index(row)
    settings = record.get("settings", {})
    argv = ["--dataset", record["dataset"], "--treatment", record["treatment"], "--seeds", str(seed),
            "--rows", str(idx), "--scale", settings.get("scale", "book")]

    def values(rec: dict) -> dict:
        st = next(r for r in rec["rows"] if r["name"] == row)["stats"][str(seed)]
        return {"modes": st["modes_captured"], "hq": st["high_quality_fraction"], "balanced_mass": st["balanced_mass"]}

    return dict(argv=argv, values=values, tol={"modes": 3, "hq": 0.15, "balanced_mass": 0.15})


if __name__ == "__main__":
    main()
