"""Part IV, notebook 4's runs on many seeds: how often each of its claims holds for a fresh seed.

The notebook trains IGN with its recipe and a matched GAN on 8x8 digits (``gantools.ign_digits``) on a
few seeds and claims how the runs end, one per-seed condition per claim
(``gantools.ign_digits.DIGIT_CONDITIONS``). This script makes the same runs with many
fresh seeds, ``--chunk`` seeds side by side per call (``--jobs`` processes, each taking whole chunks, so
the numbers do not depend on it), and stores, for every condition, which seeds pass it and the range of
the numbers it compares, in ``gantools/results/part4_digits_seeds.json``; the notebook turns the pass counts
into a bound on the probability that its live claims fail (``gantools.calibration``).

Run:  python benchmarks/part4_digits_seeds.py [--n-seeds 900] [--chunk 20] [--jobs 2]
"""
from __future__ import annotations

import argparse

import torch

from gantools import ign_digits as it
from gantools.calibration import first_chunk_spot_check, store_chunked_verdicts

FIRST_SEED = 1000   # fresh seeds: the notebook's live seeds are 0, 1, 2
CODE = (it.seed_verdicts,)
CHUNK = 20


def spot_check(record: dict) -> dict:
    """A cell of the stored record to rerun (``tools/spot_check.py``): its first chunk of seeds, every condition."""
    return first_chunk_spot_check(record, "--jobs", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-seeds", type=int, default=900)
    ap.add_argument("--chunk", type=int, default=CHUNK, help="seeds side by side per batched call")
    ap.add_argument("--jobs", type=int, default=2, help="processes, each taking whole chunks")
    args = ap.parse_args()
    if args.n_seeds < 1 or args.chunk < 1 or args.jobs < 1:
        ap.error("--n-seeds, --chunk and --jobs must be at least 1")
    torch.set_num_threads(1)
    store_chunked_verdicts("part4_digits_seeds", it.seed_verdicts, range(FIRST_SEED, FIRST_SEED + args.n_seeds), args.chunk,
                           code=CODE, settings=vars(args), jobs=args.jobs)


if __name__ == "__main__":
    main()
