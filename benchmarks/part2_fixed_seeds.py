"""Part II, notebook 2's generators against the exact grid energy on many seeds: how often they end in one mode.

The notebook trains a generator against the exact 25-Gaussian energy with five arms (no entropy term, InfoGAN
and JSD at lambda_2 = 1 and 100; ``gantools.energy_wells.fixed_runs``) on three live seeds and claims that
every run ends in exactly one mode (``gantools.energy_wells.FIXED_CONDITIONS``). This script makes the same
runs with many fresh seeds, ``--chunk`` seeds side by side per call (``--jobs`` processes, each taking whole
chunks), and stores which seeds pass and the range of the mode counts in
``gantools/results/part2_fixed_seeds.json``; the notebook turns the pass count into a bound on the probability
that its live claim fails (``gantools.calibration``).

Run:  python benchmarks/part2_fixed_seeds.py [--n-seeds 900] [--chunk 30] [--jobs 2]
"""
from __future__ import annotations

from gantools import energy_wells as it
from gantools.calibration import first_chunk_spot_check, seed_benchmark_main

FIRST_SEED = 1000   # fresh seeds: the notebook's live seeds are 0, 1, 2
CODE = (it.fixed_verdicts,)
CHUNK = 30
N_SEEDS = 900


def spot_check(record: dict) -> dict:
    """A cell of the stored record to rerun (``tools/spot_check.py``): its first chunk of seeds, every condition."""
    return first_chunk_spot_check(record, "--jobs", "1")


def main() -> None:
    seed_benchmark_main("part2_fixed_seeds", it.fixed_verdicts, doc=__doc__, code=CODE, chunk=CHUNK, jobs=2,
                        n_seeds=N_SEEDS, first_seed=FIRST_SEED)


if __name__ == "__main__":
    main()
