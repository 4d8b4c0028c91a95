"""Part III, notebook 2's critics on many seeds: how often each of its claims holds for a fresh seed.

The notebook trains one critic per f-divergence (``gantools.ratio.F_DIVERGENCES``) on samples of two
densities whose log ratio is known (``gantools.known_ratio``), on three seeds, and claims how well
they end, one per-seed condition per claim (``gantools.known_ratio.CRITIC_CONDITIONS``). This script
trains the same critics on the same data with many fresh seeds (initialisation and batches) and
stores, for every condition, which seeds pass it and the range of the numbers it compares, in
``gantools/results/part3_ratio_seeds.json``; the notebook turns the pass counts into a bound on the
probability that its live claims fail (``gantools.calibration``). A seed's five critics cost about
3.5 s of CPU, so 1,000 seeds (enough for claims about every one of three live seeds) take about
an hour.

Run:  python benchmarks/part3_ratio_seeds.py [--n-seeds 1000]
"""
from __future__ import annotations

import argparse
import time

import torch

from gantools import stored
from gantools.calibration import condition_record, first_seeds_spot_check
from gantools.known_ratio import critic_conditions, critic_outcomes

FIRST_SEED = 1000   # fresh seeds: the notebook's live seeds are 0, 1, 2
CODE = (critic_outcomes, critic_conditions)
SPOT_SEEDS = 20


def spot_check(record: dict) -> dict:
    """A cell of the stored record to rerun (``tools/spot_check.py``): its first seeds, every condition.

    The first ``SPOT_SEEDS`` seeds are trained again (in the same chunks of the batched fit, so the
    same numbers up to the last bits); a seed that sits on a condition's threshold may flip, so the
    tolerance is one seed per condition, or more where the stored pass rate makes flips likely on
    another kind of CPU (``calibration.first_seeds_spot_check``).
    """
    return first_seeds_spot_check(["--n-seeds", str(SPOT_SEEDS)], SPOT_SEEDS, record)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-seeds", type=int, default=1000)
    args = ap.parse_args()
    if args.n_seeds < 1:
        ap.error("--n-seeds must be at least 1")
    torch.set_num_threads(1)
    seeds = list(range(FIRST_SEED, FIRST_SEED + args.n_seeds))
    t0, c0 = time.perf_counter(), time.process_time()
    conditions = condition_record(critic_conditions(critic_outcomes(seeds)))
    for name, c in conditions.items():
        print(f"{name}: {c['passed']} of {len(seeds)}", flush=True)
    path = stored.save("part3_ratio_seeds", dict(
        seeds=seeds, conditions=conditions, threads=1,
        wall_seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0),
        code=CODE, settings=vars(args))
    print(f"wrote {path} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
