"""Part II, notebook 2's learned pairs on many seeds: how often each of its claims about them holds for a fresh seed.

The notebook trains energy-GAN pairs of width 64 with each entropy treatment on the grid and on the ring
(``gantools.energy_wells.pair_runs``) on one live seed and claims what their energies learn, one per-seed
condition per claim (``gantools.energy_wells.PAIR_CONDITIONS``). This script makes the same runs with many
fresh seeds, ``--chunk`` seeds side by side per call (``--jobs`` processes, each taking whole chunks; a seed's
numbers do not depend on its neighbours in a call), and stores, for every condition, which seeds pass it and
the range of the numbers it compares, in ``gantools/results/part2_wells_seeds.json``; the notebook turns the
pass counts into a bound on the probability that its live claims fail (``gantools.calibration``).

Run:  python benchmarks/part2_wells_seeds.py [--n-seeds 300] [--chunk 5] [--jobs 2]
"""
from __future__ import annotations

from gantools import energy_wells as it
from gantools.calibration import first_chunk_spot_check, seed_benchmark_main

FIRST_SEED = 1000   # fresh seeds: the notebook's live seed is 0
CODE = (it.pair_verdicts,)
CHUNK = 5
N_SEEDS = 300


def spot_check(record: dict) -> dict:
    """A cell of the stored record to rerun (``tools/spot_check.py``): its first chunk of seeds, every condition."""
    return first_chunk_spot_check(record, "--jobs", "1")


def main() -> None:
    seed_benchmark_main("part2_wells_seeds", it.pair_verdicts, doc=__doc__, code=CODE, chunk=CHUNK, jobs=2,
                        n_seeds=N_SEEDS, first_seed=FIRST_SEED)


if __name__ == "__main__":
    main()
