"""Part III, notebook 5's runs on many seeds: how often each of its claims holds for a fresh seed.

The notebook trains its Gaussian-toy runs (``gantools.gaussian_toy.FAMILY_RUNS``: the book's family
with the exact ratio under SGD and Adam from two starts, a learned discriminator at the book's
settings, the paper's losses at the authors' settings) on three seeds and claims how they end, one
per-seed condition per claim (``gantools.gaussian_toy.FAMILY_CONDITIONS``). This script trains the
same runs on many fresh seeds side by side and stores, for every condition, which seeds pass it and
the range of the numbers it compares, in ``gantools/results/part3_family_<group>_seeds.json``; the
notebook turns the pass counts into a bound on the probability that its live claims fail
(``gantools.calibration``).

The exact-ratio runs cost about 0.1 s of CPU per seed, so they are run on 1,000 seeds: enough for
claims about *every one* of three live seeds. The learned-discriminator runs cost 2-3 s per seed and
are run on 100: enough for claims about two of three.

Run:  python benchmarks/part3_family_seeds.py --group exact     (1,000 seeds, about 6 min of CPU)
      python benchmarks/part3_family_seeds.py --group learned   (100 seeds, about 11 min of CPU)
"""
from __future__ import annotations

import argparse
import time

import torch

from gantools import stored
from gantools.calibration import condition_record, first_seeds_spot_check
from gantools.gaussian_toy import FAMILY_RUNS, family_conditions, family_outcomes

GROUPS = {"exact": ([k for k in FAMILY_RUNS if k.startswith("exact")], 1000),
          "learned": ([k for k in FAMILY_RUNS if k.startswith("learned")], 100)}
FIRST_SEED = 1000   # fresh seeds: the notebook's live seeds are 0, 1, 2
CODE = (family_outcomes, family_conditions)


SPOT_SEEDS = {"exact": 20, "learned": 5}


def spot_check(record: dict) -> dict:
    """A cell of a stored record to rerun (``tools/spot_check.py``): its first seeds, every condition.

    The first ``SPOT_SEEDS`` seeds train alone instead of beside the others; they draw the same
    batches, so only the last bits of rounding differ, and a seed that sits on a condition's
    threshold may flip: the tolerance is one seed per condition, or
    more where the stored pass rate makes flips likely on another kind of CPU
    (``calibration.first_seeds_spot_check``).
    """
    group = next(g for g, (runs, _) in GROUPS.items() if runs == record["runs"])
    k = SPOT_SEEDS[group]

    return first_seeds_spot_check(["--group", group, "--n-seeds", str(k)], k, record)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--group", choices=list(GROUPS), required=True)
    ap.add_argument("--n-seeds", type=int, default=None, help="default: 1000 (exact) or 100 (learned)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    runs, n = GROUPS[args.group]
    n = args.n_seeds or n
    seeds = list(range(FIRST_SEED, FIRST_SEED + n))
    t0, c0 = time.perf_counter(), time.process_time()
    outcomes = family_outcomes(seeds, runs)
    conditions = condition_record(family_conditions(outcomes))
    for name, c in conditions.items():
        print(f"{name}: {c['passed']} of {n}", flush=True)
    path = stored.save(f"part3_family_{args.group}_seeds", dict(
        seeds=seeds, runs=runs, configs={k: repr(FAMILY_RUNS[k]) for k in runs}, conditions=conditions, threads=1,
        wall_seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0),
        code=CODE, settings=vars(args))
    print(f"wrote {path} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
