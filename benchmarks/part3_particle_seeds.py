"""Part III, notebook 3's particle flows on many seeds: how often each of its claims holds for a fresh seed.

The notebook moves particle clouds with a discriminator's gradient (``gantools.particle_toys``: the
ring and the s-curve, the ring against the starting particles, the s-curve at two other step sizes,
the Gaussian toy with the discriminator regressed on the exact log ratio) on three seeds and claims
how the runs end, one per-seed condition per claim (``gantools.particle_toys.PARTICLE_CONDITIONS``).
This script makes the same runs with many fresh seeds, ``--chunk`` seeds side by side per call, and
stores, for every condition, which seeds pass it and the range of the numbers it compares, in
``gantools/results/part3_particle_seeds.json``; the notebook turns the pass counts into a bound on
the probability that its live claims fail (``gantools.calibration``). A seed's runs cost about
3.5 s of CPU: 300 seeds take about 18 minutes (enough for claims about two of three live seeds).

Run:  python benchmarks/part3_particle_seeds.py [--n-seeds 300] [--chunk 10]
"""
from __future__ import annotations

import argparse

import torch

from gantools.calibration import first_chunk_spot_check, store_chunked_verdicts
from gantools.particle_toys import particle_conditions, particle_outcomes, particle_runs

FIRST_SEED = 1000   # fresh seeds: the notebook's live seeds are 0, 1, 2
CODE = (particle_runs, particle_outcomes, particle_conditions)
CHUNK = 10


def spot_check(record: dict) -> dict:
    """A cell of the stored record to rerun (``tools/spot_check.py``): its first chunk of seeds, every condition."""
    return first_chunk_spot_check(record)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-seeds", type=int, default=300)
    ap.add_argument("--chunk", type=int, default=CHUNK, help="seeds side by side per batched call")
    args = ap.parse_args()
    if args.n_seeds < 1 or args.chunk < 1:
        ap.error("--n-seeds and --chunk must be at least 1")
    torch.set_num_threads(1)
    store_chunked_verdicts("part3_particle_seeds", lambda part: particle_conditions(particle_outcomes(particle_runs(part), part)), range(FIRST_SEED, FIRST_SEED + args.n_seeds), args.chunk,
                           code=CODE, settings=vars(args))


if __name__ == "__main__":
    main()
