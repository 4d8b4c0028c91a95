"""Benchmark: the energy GAN's training step against the matrix-multiply limit of this CPU.

The recipe (``gantools.energy.train_engan``'s defaults: energy 2x128 LeakyReLU(0.2), generator 3x128
ReLU, batch 128, two energy steps with the zero-centred gradient penalty per generator step, Adam,
10,000 generator steps) trains three seeds side by side, as the goal counts them. This script:

1. times ``--steps`` generator steps of that call (after a short warm-up) on one thread and on two,
   and extrapolates to the recipe's 10,000 steps: seconds per run and for the three seeds, against
   the goal of 15 s per run (45 s for three);
2. counts the step's floating-point operations: every matrix product of one generator step (two
   energy steps and the generator's, forward, backward and the penalty's double backward) is
   recorded with its shapes and strides by a ``TorchDispatchMode`` (the ops of ``steps=3`` minus
   those of ``steps=2``), 2 m n k FLOPs each;
3. times those same matrix products alone, on tensors of the recorded shapes and strides, in a loop:
   the *matmul floor*, what the step would take if everything but its matrix products cost nothing;
4. prints the achieved FLOP/s of the step, the FLOP/s of its matrix products alone, and their
   ratio (how close the step runs to the limit), with a plain 1024 x 1024 product for reference.

With ``--lever BATCH STEPS [BATCH STEPS ...]`` it also measures the lever "batch size against
steps": the recipe with another batch and number of generator steps (the decay spread over them),
nine seeds side by side on one thread, with the seconds per run and how many seeds reach the paper's
level (>= 24 of 25 modes, >= 75% high-quality samples; ``gantools.energy.engan_balance``), against
the recipe's own nine stored seeds. A setting that is faster *and* keeps the level in at least 8 of 9
seeds is a candidate for the recipe (it would then need the stored runs redone); the script decides
nothing by itself.

Run:  python benchmarks/bench_engan.py [--steps 300] [--members 3] [--threads 1 2] [--lever 64 10000]
on an otherwise quiet machine.
"""
from __future__ import annotations

import argparse
import collections
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from gantools import data
from gantools import energy as en

GOAL_PER_RUN = 15.0   # seconds for one run of the recipe (10,000 generator steps)
RECIPE_STEPS = 10_000
_MATMULS = {"aten.bmm.default", "aten.baddbmm.default", "aten.mm.default", "aten.addmm.default"}


def _sample(n: int, g: torch.Generator) -> torch.Tensor:
    return data.sample("25gaussians", n, seed=g)


class _Recorder(TorchDispatchMode):
    """Counts every matrix product by (op, operand shapes and strides)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: collections.Counter = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func)
        if name in _MATMULS:
            ts = tuple((tuple(a.shape), tuple(a.stride())) for a in args if isinstance(a, torch.Tensor))
            self.calls[(name, ts)] += 1
        return func(*args, **(kwargs or {}))


def _flops(name: str, ts) -> int:
    """2 m n k (plus the bias add of baddbmm/addmm, which is negligible and not counted)."""
    (a, _), (b, _) = ts[-2], ts[-1]
    batch = a[0] if len(a) == 3 else 1
    return 2 * batch * a[-2] * a[-1] * b[-1]


def one_step_matmuls(members: int) -> collections.Counter:
    """The matrix products of one generator step of the recipe (``steps=3`` minus ``steps=2``)."""
    counts = []
    for steps in (2, 3):
        with _Recorder() as rec:
            en.train_engan(_sample, seeds=list(range(members)), steps=steps)
        counts.append(rec.calls)
    step = counts[1] - counts[0]
    if any(v < 0 for v in (counts[1] - counts[0]).values()) or not step:
        raise RuntimeError("could not isolate one step's matrix products")
    return step


def _time(fn, min_seconds: float = 0.3) -> float:
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_seconds:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n


def matmul_floor(step: collections.Counter) -> float:
    """Seconds the step's matrix products take alone, each on operands of its recorded shapes and strides."""
    total = 0.0
    for (name, ts), count in step.items():
        ops = [torch.empty_strided(s, st).normal_() for s, st in ts]
        op = {"aten.bmm.default": torch.bmm, "aten.mm.default": torch.mm,
              "aten.baddbmm.default": torch.baddbmm, "aten.addmm.default": torch.addmm}[name]
        total += count * _time(lambda op=op, ops=ops: op(*ops), 0.05)
    return total


def step_seconds(members: int, steps: int) -> float:
    """Seconds per generator step of ``train_engan``'s recipe with ``members`` seeds side by side."""
    en.train_engan(_sample, seeds=list(range(members)), steps=20)   # warm-up
    run = en.train_engan(_sample, seeds=list(range(members)), steps=steps)
    return run.seconds / steps


def lever(batch: int, steps: int, seeds=tuple(range(9))) -> None:
    """Train the recipe at ``batch`` and ``steps`` on nine seeds side by side; print time and quality."""
    torch.set_num_threads(1)
    run = en.train_engan(_sample, seeds=list(seeds), batch=batch, steps=steps)
    st = en.engan_balance(run, "25gaussians")
    rows = [st["none", s] for s in seeds]
    level = sum(b.modes_captured >= 24 and b.high_quality_fraction >= 0.75 for b in rows)
    print(f"| batch {batch}, {steps} steps | {run.seconds / len(seeds):.1f} s | "
          f"{', '.join(str(b.modes_captured) for b in rows)} | "
          f"{', '.join(f'{b.high_quality_fraction:.2f}' for b in rows)} | {level} of {len(seeds)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--lever", type=int, nargs="+", default=[], metavar="BATCH STEPS",
                    help="pairs of batch size and generator steps to train on nine seeds")
    args = ap.parse_args()
    if len(args.lever) % 2:
        ap.error("--lever takes pairs: BATCH STEPS [BATCH STEPS ...]")
    M = args.members
    torch.set_num_threads(1)
    step = one_step_matmuls(M)
    flops = sum(c * _flops(n, ts) for (n, ts), c in step.items())
    print(f"one generator step, {M} members: {sum(step.values())} matrix products, "
          f"{flops / 1e6:.0f} MFLOP ({flops / M / 1e6:.0f} MFLOP per member)")
    print("| threads | step | per run (10,000 steps) | three runs | goal 15 s per run | achieved GFLOP/s | "
          "matmul floor | matmul GFLOP/s | ratio | 1024x1024 mm GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for th in args.threads:
        torch.set_num_threads(th)
        t = step_seconds(M, args.steps)
        floor = matmul_floor(step)
        a = torch.randn(1024, 1024)
        big = 2 * 1024 ** 3 / _time(lambda a=a: a @ a)
        call = t * RECIPE_STEPS   # the members train side by side in one call
        per_run = call / M
        print(f"| {th} | {t * 1e3:.2f} ms | {per_run:.1f} s | {call:.1f} s | "
              f"{per_run / GOAL_PER_RUN:.2f}x the goal | {flops / t / 1e9:.1f} | {floor * 1e3:.2f} ms | "
              f"{flops / floor / 1e9:.1f} | {floor / t:.2f} | {big / 1e9:.0f} |")
    print("ratio = achieved FLOP/s / the FLOP/s of the step's own matrix products alone (1 = at the limit)")
    if args.lever:
        print("\n| setting (nine seeds side by side, one thread) | per run | modes (per seed) | HQ (per seed) | at the level |")
        print("|---|---|---|---|---|")
        for b, n in zip(args.lever[::2], args.lever[1::2]):
            lever(b, n)


if __name__ == "__main__":
    main()
