"""Part IV, notebook 6's MLP runs on many seeds: how often each of its claims holds for a fresh seed.

The notebook trains IGN with its recipe and with the listing's weights on 8x8 digits, follows the orbits
of noise and of real digits under repeated application of f (``gantools.ign_orbits``) on three seeds and
claims what they show, one per-seed condition per claim (``gantools.ign_orbits.ORBIT_CONDITIONS``).
This script makes the same runs with many
fresh seeds, ``--chunk`` seeds side by side per call (``--jobs`` processes, each taking whole chunks, so
the numbers do not depend on it), and stores, for every condition, which seeds pass it and the range of
the numbers it compares, in ``gantools/results/part4_orbits_seeds.json``; the notebook turns the pass counts
into a bound on the probability that its live claims fail (``gantools.calibration``).

Run:  python benchmarks/part4_orbits_seeds.py [--n-seeds 900] [--chunk 20] [--jobs 2]
"""
from __future__ import annotations

from gantools import ign_orbits as it
from gantools.calibration import first_chunk_spot_check, seed_benchmark_main

FIRST_SEED = 1000   # fresh seeds: the notebook's live seeds are 0, 1, 2
CODE = (it.seed_verdicts,)
CHUNK = 20


def spot_check(record: dict) -> dict:
    """A cell of the stored record to rerun (``tools/spot_check.py``): its first chunk of seeds, every condition."""
    return first_chunk_spot_check(record, "--jobs", "1")


def main() -> None:
    seed_benchmark_main("part4_orbits_seeds", it.seed_verdicts, doc=__doc__, code=CODE, chunk=CHUNK, jobs=2,
                        first_seed=FIRST_SEED)


if __name__ == "__main__":
    main()
