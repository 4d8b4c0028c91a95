"""Part IV, notebook 3's runs on many seeds: how often each of its claims holds for a fresh seed.

The notebook trains IGN with two weightings and a GAN of the same size with the R1 penalty on the
8-Gaussian ring (``gantools.ign_toys``) on three seeds and claims how the runs end, one per-seed
condition per claim (``gantools.ign_toys.RING_CONDITIONS``). This script makes the same runs with many
fresh seeds, ``--chunk`` seeds side by side per call (``--jobs`` processes, each taking whole chunks, so
the numbers do not depend on it), and stores, for every condition, which seeds pass it and the range of
the numbers it compares, in ``gantools/results/part4_ring_seeds.json``; the notebook turns the pass counts
into a bound on the probability that its live claims fail (``gantools.calibration``).

Run:  python benchmarks/part4_ring_seeds.py [--n-seeds 900] [--chunk 10] [--jobs 2]
"""
from __future__ import annotations

from gantools import ign_toys as it
from gantools.calibration import first_chunk_spot_check, seed_benchmark_main

FIRST_SEED = 1000   # fresh seeds: the notebook's live seeds are 0, 1, 2
CODE = (it.seed_verdicts,)
CHUNK = 10


def spot_check(record: dict) -> dict:
    """A cell of the stored record to rerun (``tools/spot_check.py``): its first chunk of seeds, every condition."""
    return first_chunk_spot_check(record, "--jobs", "1")


def main() -> None:
    seed_benchmark_main("part4_ring_seeds", it.seed_verdicts, doc=__doc__, code=CODE, chunk=CHUNK, jobs=2,
                        first_seed=FIRST_SEED)


if __name__ == "__main__":
    main()
