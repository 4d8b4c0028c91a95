"""When does the entropy term matter? The complete study behind Part II, notebook 3.

For each regime of ``gantools.energy.ENTROPY_REGIMES`` (the recipe, one energy step per generator
step, a generator with three times the learning rate, batch 32) this trains the arms of
``gantools.energy.entropy_arms()`` -- no entropy, InfoGAN and JSD at lambda_2 in {0.1, 0.5, 1} --
with 3 seeds each, all arms of a regime side by side in one batched call, and prints per arm and
seed: modes captured, high-quality fraction, and the balance of ``gantools.metrics.mode_balance``
(KL among the high-quality samples and the balanced mass, which a uniform smear cannot score high).

Writes gantools/results/part2_entropy_<dataset>.json (gantools.stored), which Part II, notebook 3
shows, with the command line and the settings it ran with.

Run:  python benchmarks/part2_entropy.py [--jobs 4]          (all regimes, 25 Gaussians; --jobs: regimes in
                                                            parallel processes, the same numbers)
      python benchmarks/part2_entropy.py --regimes "1 energy step" --steps 5000
      python benchmarks/part2_entropy.py --scale paper --device cuda

``--scale paper`` starts every regime from Kumar et al.'s toy settings instead of the recipe
(``gantools.energy.PAPER_SCALE``: networks of three hidden layers of 512 units, batch 256, five
energy steps per generator step, 100,000 steps, Adam 1e-4 without decay; a regime still changes one
setting) and stores the result under the name with ``_paper`` appended. ``--device`` (default cpu)
is where the networks train; the random draws are made on the CPU.
"""
from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import statistics
import time

import torch

from gantools import data
from gantools import energy as en
from gantools import metrics
from gantools import stored


# the code whose behaviour the numbers record: every gantools function the script calls (stored.save
# hashes them with the gantools code they reach)
CODE = (en.train_engan, metrics.mode_balance, en.entropy_arms, en.engan_balance, data.sample)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="25gaussians", choices=["25gaussians", "8gaussians"])
    ap.add_argument("--regimes", nargs="*", default=list(en.ENTROPY_REGIMES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=None, help="generator steps (default 10,000; 100,000 at paper scale)")
    ap.add_argument("--name", default=None, help="stored result (default part2_entropy_<dataset>)")
    ap.add_argument("--scale", default="book", choices=["book", "paper"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--jobs", type=int, default=1, help="regimes trained in parallel processes (one thread each)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    scale = dict(en.PAPER_SCALE) if args.scale == "paper" else {"steps": 10000}
    if args.steps is not None:
        scale["steps"] = args.steps
    name = (args.name or f"part2_entropy_{args.dataset}") + ("_paper" if args.scale == "paper" and args.name is None else "")
    result = dict(dataset=args.dataset, steps=scale["steps"], seeds=args.seeds, threads=1, device=args.device,
                  regimes={})
    jobs = [(regime, args.dataset, args.seeds, args.device, scale) for regime in args.regimes]
    if args.jobs > 1:  # regimes are independent runs, so they may train in parallel processes
        with multiprocessing.get_context("spawn").Pool(min(args.jobs, len(jobs)), initializer=torch.set_num_threads,
                                                       initargs=(1,)) as pool:
            done = pool.map(run_regime, jobs, chunksize=1)
    else:
        done = map(run_regime, jobs)
    for regime, entry, table in done:
        print(table, flush=True)
        result["regimes"][regime] = entry
        out = stored.save(name, result, code=CODE, settings=dict(vars(args), **scale))  # after every regime
    print(f"wrote {out}")


def run_regime(job: tuple) -> tuple[str, dict, str]:
    """Train every arm of one regime side by side; return its stored entry and its printed table."""
    regime, dataset, seeds, device, scale = job
    c0 = time.process_time()
    run = en.train_engan(lambda n, g: data.sample(dataset, n, seed=g), treatments=en.entropy_arms(),
                         seeds=seeds, device=device, **{**scale, **en.ENTROPY_REGIMES[regime]})
    cpu = time.process_time() - c0
    entry, table = regime_report(regime, dataset, scale["steps"], seeds, run, cpu)
    return regime, entry, table


def regime_report(regime: str, dataset: str, steps: int, seeds: list[int], run: en.EnGANRun,
                  cpu: float) -> tuple[dict, str]:
    """One trained regime's stored entry (settings, times, every arm's balance per seed) and its
    printed table (modes, HQ fraction, KL among HQ, balanced mass per seed); also used by
    ``part2_jsd_kumar.py``."""
    st = en.engan_balance(run, dataset)
    lines = [f"\n## {regime} ({dataset}, {steps} steps): wall {run.seconds:.0f} s, CPU {cpu:.0f} s, "
             f"{len(run.labels)} members",
             "| arm | modes (per seed) | HQ fraction | KL among HQ | balanced mass | mean balanced mass |",
             "|---|---|---|---|---|---|"]
    for arm in run.treatments:
        b = [st[arm.label, s] for s in seeds]
        lines.append(f"| {arm.label} | {', '.join(str(x.modes_captured) for x in b)} | "
                     f"{', '.join(f'{x.high_quality_fraction:.2f}' for x in b)} | "
                     f"{', '.join(f'{x.kl_hq:.3f}' for x in b)} | {', '.join(f'{x.balanced_mass:.2f}' for x in b)} | "
                     f"{statistics.mean(x.balanced_mass for x in b):.3f} |")
    entry = dict(settings=en.ENTROPY_REGIMES[regime], wall_seconds=run.seconds, cpu_seconds=cpu,
                 arms={arm.label: {str(s): dataclasses.asdict(st[arm.label, s]) for s in seeds} for arm in run.treatments})
    return entry, "\n".join(lines)


SPOT_REGIME = "small batch (32)"
"""The regime :func:`spot_check` reruns (its batch of 32 makes it the cheapest)."""


def spot_check(record: dict) -> dict:
    """One cell of the stored study to rerun (``tools/spot_check.py``): every arm of the batch-32
    regime in the first seed (the arms of a regime train side by side, so they rerun together).

    The seed trains without the other seeds beside it; it draws the same data and latents, but
    the rounding of a smaller batch differs in the last bits and ten thousand steps of a two-player
    game amplify that, so the tolerance is a training outcome's, not rounding's.
    """
    seed = record["seeds"][0]
    settings = record.get("settings", {})
    argv = ["--dataset", record["dataset"], "--regimes", SPOT_REGIME, "--seeds", str(seed),
            "--steps", str(record["steps"]), "--scale", settings.get("scale", "book")]

    return dict(argv=argv, values=spot_values(seed), tol={"*": 0.15})


def spot_values(seed: int, regime: str = SPOT_REGIME):
    """What a spot check compares: every arm's balanced mass in ``seed`` of ``regime`` (also used by
    ``part2_jsd_kumar.py``)."""
    def values(rec: dict) -> dict:
        arms = rec["regimes"][regime]["arms"]
        return {f"{arm}: balanced mass": v[str(seed)]["balanced_mass"] for arm, v in arms.items()}

    return values


if __name__ == "__main__":
    main()
