"""Part IV, notebook 5's live grid on many seeds: how often each of its claims holds for a fresh seed.

The notebook trains IGN on 8x8 digits at five weight ratios rho without clamp and at rho = 1 with two
clamps, seven runs per seed (``gantools.ign_dose``), on a few seeds, and claims how the runs end, one
per-seed condition per claim (``gantools.ign_dose.DOSE_CONDITIONS``). This script makes the same runs with
many fresh seeds, ``--chunk`` seeds side by side per call (``--jobs`` processes, each taking whole chunks, so
the numbers do not depend on it), and stores, for every condition, which seeds pass it and the range of the
numbers it compares, in ``gantools/results/part4_dose_seeds.json``; the notebook turns the pass counts into a
bound on the probability that its live claims fail (``gantools.calibration``).

Run:  python benchmarks/part4_dose_seeds.py [--n-seeds 300] [--chunk 5] [--jobs 2]
"""
from __future__ import annotations

from gantools import ign_dose as it
from gantools.calibration import first_chunk_spot_check, seed_benchmark_main

FIRST_SEED = 1000   # fresh seeds: the notebook's live seeds are 0, 1, 2
CODE = (it.seed_verdicts,)
CHUNK = 5
N_SEEDS = 300


def spot_check(record: dict) -> dict:
    """A cell of the stored record to rerun (``tools/spot_check.py``): its first chunk of seeds, every condition."""
    return first_chunk_spot_check(record, "--jobs", "1")


def main() -> None:
    seed_benchmark_main("part4_dose_seeds", it.seed_verdicts, doc=__doc__, code=CODE, chunk=CHUNK, jobs=2,
                        n_seeds=N_SEEDS, first_seed=FIRST_SEED)


if __name__ == "__main__":
    main()
