"""When does the entropy term matter? The complete study behind Part II, notebook 3.

For each regime of ``gantools.energy.ENTROPY_REGIMES`` (the recipe, one energy step per generator
step, a generator with three times the learning rate, batch 32) this trains the arms of
``gantools.energy.entropy_arms()`` -- no entropy, InfoGAN and JSD at lambda_2 in {0.1, 0.5, 1} --
with 3 seeds each, all arms of a regime side by side in one batched call, and prints per arm and
seed: modes captured, high-quality fraction, and the balance of ``gantools.energy.mode_balance``
(KL among the high-quality samples and the balanced mass, which a uniform smear cannot score high).

Writes gantools/results/part2_entropy_<dataset>.json (gantools.stored), which Part II, notebook 3 shows.

Run:  python benchmarks/part2_entropy.py                     (all regimes, 25 Gaussians)
      python benchmarks/part2_entropy.py --regimes "1 energy step" --steps 5000
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from gantools import data
from gantools import energy as en
from gantools import stored


# the code whose behaviour the numbers record: every gantools function the script calls (stored.save
# hashes them with the gantools code they reach)
CODE = (en.train_engan, en.mode_balance, en.entropy_arms, en.engan_balance, data.sample)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="25gaussians", choices=["25gaussians", "8gaussians"])
    ap.add_argument("--regimes", nargs="*", default=list(en.ENTROPY_REGIMES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--name", default=None, help="stored result (default part2_entropy_<dataset>)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    name = args.name or f"part2_entropy_{args.dataset}"
    result = dict(dataset=args.dataset, steps=args.steps, seeds=args.seeds, threads=1, regimes={})
    for regime in args.regimes:
        c0 = time.process_time()
        run = en.train_engan(lambda n, g: data.sample(args.dataset, n, seed=g), treatments=en.entropy_arms(),
                             seeds=args.seeds, steps=args.steps, **en.ENTROPY_REGIMES[regime])
        st = en.engan_balance(run, args.dataset)
        print(f"\n## {regime} ({args.dataset}, {args.steps} steps): wall {run.seconds:.0f} s, "
              f"CPU {time.process_time() - c0:.0f} s, {len(run.labels)} members")
        print("| arm | modes (per seed) | HQ fraction | KL among HQ | balanced mass | mean balanced mass |")
        print("|---|---|---|---|---|---|")
        for arm in run.treatments:
            b = [st[arm.label, s] for s in args.seeds]
            print(f"| {arm.label} | {', '.join(str(x.modes_captured) for x in b)} | "
                  f"{', '.join(f'{x.high_quality_fraction:.2f}' for x in b)} | "
                  f"{', '.join(f'{x.kl_hq:.3f}' for x in b)} | {', '.join(f'{x.balanced_mass:.2f}' for x in b)} | "
                  f"{statistics.mean(x.balanced_mass for x in b):.3f} |", flush=True)
        result["regimes"][regime] = dict(
            settings=en.ENTROPY_REGIMES[regime], wall_seconds=run.seconds, cpu_seconds=time.process_time() - c0,
            arms={arm.label: {str(s): dataclasses.asdict(st[arm.label, s]) for s in args.seeds} for arm in run.treatments})
        out = stored.save(name, result, code=CODE, settings=vars(args))  # after every regime
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
