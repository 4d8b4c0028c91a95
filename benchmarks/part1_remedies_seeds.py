"""Part I, notebook 5's runs on many seeds: how often each of its claims holds for a fresh seed.

The notebook trains an MLP GAN with four L2 weights on the discriminator and EMA copies of the
generator (``gantools.remedies.REMEDY_GAN``, five seeds) and MLP classifiers with EMAs
(``REMEDY_CLASSIFIER``, three seeds), and claims how they end, one per-seed condition per claim
(``gantools.remedies.REMEDY_CONDITIONS``). This script trains the same runs on many fresh seeds side
by side and stores, for every condition, which seeds pass and the range of the numbers it compares,
and for the GAN the mean and standard error of the paired differences that decide whether a slight
L2 (1e-3) changes the score, in ``gantools/results/part1_remedies_<group>_seeds.json``; the notebook
turns the pass counts into bounds on the probability that its live claims fail
(``gantools.calibration``).

Run:  python benchmarks/part1_remedies_seeds.py --group gan          (200 seeds, about 11 min of CPU)
      python benchmarks/part1_remedies_seeds.py --group classifier   (1,000 seeds, about 3 min of CPU)
"""
from __future__ import annotations

import argparse
import math
import time

import torch

from gantools import stored
from gantools.calibration import condition_record, first_seeds_spot_check
from gantools.remedies import paired_difference, remedy_conditions, remedy_outcomes

GROUPS = {"gan": 200, "classifier": 1000}
FIRST_SEED = 100   # fresh seeds: the notebook's live seeds are 0-4
CODE = (remedy_outcomes, remedy_conditions, paired_difference)
SPOT_SEEDS = {"gan": 3, "classifier": 20}


def spot_check(record: dict) -> dict:
    """A cell of a stored record to rerun (``tools/spot_check.py``): its first seeds, every condition.

    The first ``SPOT_SEEDS`` seeds train alone instead of beside the others; each draws its own
    batches, so only the last bits of rounding differ, and a seed on a condition's threshold may
    flip: the tolerance is one seed per condition, or
    more where the stored pass rate makes flips likely on another kind of CPU
    (``calibration.first_seeds_spot_check``).
    """
    group = record["settings"]["group"]
    k = SPOT_SEEDS[group]

    return first_seeds_spot_check(["--group", group, "--n-seeds", str(k)], k, record)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--group", choices=list(GROUPS), required=True)
    ap.add_argument("--n-seeds", type=int, default=None, help="default: 200 (gan) or 1000 (classifier)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    n = args.n_seeds or GROUPS[args.group]
    seeds = list(range(FIRST_SEED, FIRST_SEED + n))
    t0, c0 = time.perf_counter(), time.process_time()
    outcomes = remedy_outcomes(seeds, runs=[args.group])
    conditions = condition_record(remedy_conditions(outcomes))
    for name, c in conditions.items():
        print(f"{name}: {c['passed']} of {n}", flush=True)
    result = dict(seeds=seeds, conditions=conditions, threads=1)
    if args.group == "gan":
        result["paired_slight_l2"] = {}
        for key in ("mmd_raw", "mmd_ema_0.99"):
            d = paired_difference(outcomes["gan"], key, 1e-3)
            result["paired_slight_l2"][key] = {"mean": float(d.mean()), "se": float(d.std(ddof=1) / math.sqrt(len(d))),
                                               "lower_in": int((d < 0).sum()), "n": len(d)}
    result.update(wall_seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0)
    path = stored.save(f"part1_remedies_{args.group}_seeds", result, code=CODE, settings=vars(args))
    print(f"wrote {path} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
