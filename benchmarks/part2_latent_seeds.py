"""Part II, notebook 4's pairs on many seeds: how often each of its claims holds for a fresh seed.

The notebook trains energy-GAN pairs of width 64 on the grid and on the ring, for 2,000 and for 200 generator
steps, draws their latents by ten methods (``gantools.latent_pairs``) on a few seeds, and claims how the
samples compare, one per-seed condition per claim (``gantools.latent_pairs.PAIR_CONDITIONS``). This script
makes the same pairs with many fresh seeds, ``--chunk`` seeds side by side per call (``--jobs`` processes, each
taking whole chunks; keep ``--chunk``, since the latents of a call are slices of one stream), and stores, for
every condition, which seeds pass it and the range of the numbers it compares, in
``gantools/results/part2_latent_seeds.json``; the notebook turns the pass counts into a bound on the
probability that its live claims fail (``gantools.calibration``).

Run:  python benchmarks/part2_latent_seeds.py [--n-seeds 200] [--chunk 10] [--jobs 2]
"""
from __future__ import annotations

from gantools import latent_pairs as it
from gantools.calibration import first_chunk_spot_check, seed_benchmark_main

FIRST_SEED = 1000   # fresh seeds: the notebook's live seeds are 0, 1, 2
CODE = (it.seed_verdicts,)
CHUNK = 10
N_SEEDS = 200


def spot_check(record: dict) -> dict:
    """A cell of the stored record to rerun (``tools/spot_check.py``): its first chunk of seeds, every condition."""
    return first_chunk_spot_check(record, "--jobs", "1")


def main() -> None:
    seed_benchmark_main("part2_latent_seeds", it.seed_verdicts, doc=__doc__, code=CODE, chunk=CHUNK, jobs=2,
                        n_seeds=N_SEEDS, first_seed=FIRST_SEED)


if __name__ == "__main__":
    main()
