"""Part III, notebook 4's distillation experiments on many seeds: how often each of its claims holds for a fresh seed.

The notebook trains a discriminator against a generator and takes generator steps against it, frozen,
with the distillation loss and with -D (SGD and Adam), then trains both losses in full at k = 1 and
k = 4 generator steps per discriminator step (``gantools.distill_toys``), on three seeds, and claims
how the runs end, one per-seed condition per claim (``gantools.distill_toys.DISTILL_CONDITIONS``).
This script makes the same runs with many fresh seeds (the full training ``--chunk`` seeds side by
side per call) and stores, for every condition, which seeds pass it and the range of the numbers it
compares, in ``gantools/results/part3_distill_seeds.json``; the notebook turns the pass counts into a
bound on the probability that its live claims fail (``gantools.calibration``). A seed costs about
2.4 s of CPU: 900 seeds take about 35 minutes (enough for claims about every one of three live seeds
where no stored seed fails).

Run:  python benchmarks/part3_distill_seeds.py [--n-seeds 900] [--chunk 10]
"""
from __future__ import annotations

from gantools import distill_toys as dt
from gantools.calibration import first_chunk_spot_check, seed_benchmark_main

FIRST_SEED = 1000   # fresh seeds: the notebook's live seeds are 0, 1, 2
CODE = (dt.seed_verdicts,)
CHUNK = 10


def spot_check(record: dict) -> dict:
    """A cell of the stored record to rerun (``tools/spot_check.py``): its first chunk of seeds, every condition."""
    return first_chunk_spot_check(record)


def main() -> None:
    seed_benchmark_main("part3_distill_seeds", dt.seed_verdicts, doc=__doc__, code=CODE, chunk=CHUNK,
                        first_seed=FIRST_SEED)


if __name__ == "__main__":
    main()
