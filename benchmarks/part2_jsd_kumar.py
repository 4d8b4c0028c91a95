"""The JSD arm of Part II's entropy study with Kumar et al.'s estimator (Part II, notebook 3).

The entropy study (``benchmarks/part2_entropy.py``) trains its JSD arms with the book's statistics
network: the auxiliary network of ``gantools.energy.train_engan`` (two hidden layers of the energy's
width) stepping with the generator's Adam and schedule. Kumar et al.'s code trains a statistics
network of three hidden layers of 512 units on its own Adam at 1e-4 without decay
(``gantools.energy.KUMAR_JSD``). This script trains the JSD arm with *their* estimator
(``gantools.energy.kumar_jsd_arms``: lambda_2 in {0.1, 0.5, 1}; their weight is lambda_2 = 0.5) in
the regimes where the study draws conclusions about JSD -- one energy step per generator step and
batch 32 by default -- with 3 seeds and the study's 10,000 steps, the arms of a regime side by side
in one batched call, and prints per arm and seed: modes captured, high-quality fraction and
balanced mass (``gantools.metrics.mode_balance``).

Writes gantools/results/part2_jsd_kumar_<dataset>.json (gantools.stored), which Part II, notebook 3
shows beside the study.

Run:  python benchmarks/part2_jsd_kumar.py [--jobs 2]
      python benchmarks/part2_jsd_kumar.py --regimes "1 energy step" --seeds 0 --steps 2000
"""
from __future__ import annotations

import argparse
import multiprocessing
import pathlib
import sys
import time

import torch

from gantools import data
from gantools import energy as en
from gantools import metrics
from gantools import stored

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # the sibling script, also when loaded by path
from part2_entropy import regime_report, spot_values  # noqa: E402  (one table and entry for both studies)

# the code whose behaviour the numbers record (stored.save hashes it with the gantools code it reaches)
CODE = (en.train_engan, metrics.mode_balance, en.kumar_jsd_arms, en.engan_balance, data.sample)

DEFAULT_REGIMES = ("1 energy step", "small batch (32)")
"""The regimes of ``gantools.energy.ENTROPY_REGIMES`` this script trains by default."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="25gaussians", choices=["25gaussians", "8gaussians"])
    ap.add_argument("--regimes", nargs="*", default=list(DEFAULT_REGIMES), choices=list(en.ENTROPY_REGIMES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--weights", type=float, nargs="+", default=list(en.ENTROPY_WEIGHTS))
    ap.add_argument("--steps", type=int, default=10000, help="generator steps (the study's 10,000)")
    ap.add_argument("--name", default=None, help="stored result (default part2_jsd_kumar_<dataset>)")
    ap.add_argument("--jobs", type=int, default=1, help="regimes trained in parallel processes (one thread each)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    name = args.name or f"part2_jsd_kumar_{args.dataset}"
    result = dict(dataset=args.dataset, steps=args.steps, seeds=args.seeds, weights=args.weights, threads=1,
                  estimator=dict(en.KUMAR_JSD), regimes={})
    jobs = [(regime, args.dataset, args.seeds, args.weights, args.steps) for regime in args.regimes]
    if args.jobs > 1:  # regimes are independent runs
        with multiprocessing.get_context("spawn").Pool(min(args.jobs, len(jobs)), initializer=torch.set_num_threads,
                                                       initargs=(1,)) as pool:
            done = pool.imap(run_regime, jobs, chunksize=1)
            out = _collect(done, result, name, args)
    else:
        out = _collect(map(run_regime, jobs), result, name, args)
    print(f"wrote {out}")


def _collect(done, result: dict, name: str, args) -> str:
    out = None
    for regime, entry, table in done:
        print(table, flush=True)
        result["regimes"][regime] = entry
        out = stored.save(name, result, code=CODE, settings=vars(args))  # after every regime
    return out


def run_regime(job: tuple) -> tuple[str, dict, str]:
    """Train the Kumar-estimator JSD arms of one regime side by side; return the stored entry and a table."""
    regime, dataset, seeds, weights, steps = job
    c0 = time.process_time()
    run = en.train_engan(lambda n, g: data.sample(dataset, n, seed=g), treatments=en.kumar_jsd_arms(weights),
                         seeds=seeds, steps=steps, aux_hidden=en.KUMAR_JSD["aux_hidden"],
                         aux_depth=en.KUMAR_JSD["aux_depth"], **en.ENTROPY_REGIMES[regime])
    cpu = time.process_time() - c0
    entry, table = regime_report(regime, dataset, steps, seeds, run, cpu)
    return regime, entry, table


SPOT_REGIME = "small batch (32)"
"""The regime :func:`spot_check` reruns (its batch of 32 makes it the cheaper one)."""


def spot_check(record: dict) -> dict:
    """One cell of the stored run to rerun (``tools/spot_check.py``): every arm of the batch-32 regime in
    the first seed (the arms of a regime train side by side, so they rerun together).

    Ten thousand steps of a two-player game amplify the last bits of rounding (a seed trained without
    the other seeds beside it rounds differently), so the tolerance is a training outcome's.
    """
    seed = record["seeds"][0]
    argv = ["--dataset", record["dataset"], "--regimes", SPOT_REGIME, "--seeds", str(seed),
            "--steps", str(record["steps"]), "--weights", *[str(w) for w in record["weights"]]]

    return dict(argv=argv, values=spot_values(seed, SPOT_REGIME), tol={"*": 0.15})


if __name__ == "__main__":
    main()
