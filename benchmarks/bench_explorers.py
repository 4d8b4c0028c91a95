"""How fast each explorer answers a slider move (goal: a median of <= 80 ms of CPU time for the
Dirac GAN and the sampler, <= 0.8 s for the trained explorers, MonoFlow and IGN).

    python benchmarks/bench_explorers.py [--only dirac sampler monoflow ign] [--repeat 3]

For each explorer: build it, then move its controls through a fixed list of new settings (each
one a move a reader makes: a slider to a value not seen before, so the cache of recent runs does
not answer) and time each move from the value change to the new PNG in ``image.value``: the
model run, the drawing and the rendering. Prints wall time and process CPU time per move and
their medians; CPU time is the figure to read on a shared machine (wall time counts other jobs).
With ``--repeat N`` each explorer is built afresh and taken through the moves N times: the verdict
uses the median over all N x moves, and the per-repeat medians show how much the machine varies.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import matplotlib

matplotlib.use("Agg")
import torch  # noqa: E402

from gantools.explorers import EXPLORERS  # noqa: E402

LIMITS = {"dirac": 0.080, "sampler": 0.080, "monoflow": 0.8, "ign": 0.8}

MOVES = {
    "dirac": [("lam", 0.3), ("lam", 1.0), ("l2", 0.1), ("c", 1.0), ("lr", 0.1), ("method", "alt_gd"),
              ("t_end", 200.0), ("th1", 0.5), ("variant", "gan_qp"), ("lam", 0.2), ("variant", "vanilla"),
              ("method", "sim_gd")],
    "sampler": [("step", 0.01), ("step", 0.1), ("n_steps", 200), ("temperature", 0.5), ("use_mala", False),
                ("step", 0.02), ("n_steps", 50), ("temperature", 2.0), ("use_mala", True), ("step", 0.2)],
    "monoflow": [("g_steps", 2), ("eps", 0.3), ("h", "ns"), ("loss", "h"), ("d_steps", 2), ("iters", 200),
                 ("h", "neg_square")],
    "ign": [("lam_tight", 0.3), ("lam_rec", 2.0), ("n_apply", 1), ("use_clamp", True), ("a", 2.5),
            ("lam_idem", 0.5), ("n_apply", 4)],
}


def clear_caches(name: str) -> None:
    """Empty the model caches (``functools.lru_cache``) of explorer ``name``'s module, so a repeat
    computes every move again instead of answering from the runs of the previous repeat."""
    module = sys.modules[EXPLORERS[name].__module__]
    for obj in vars(module).values():
        if callable(getattr(obj, "cache_clear", None)):
            obj.cache_clear()


def measure(name: str) -> tuple[list[float], list[float]]:
    """Build explorer ``name`` (caches emptied) and time each of its moves; print them; return (walls, cpus) in seconds."""
    clear_caches(name)
    t0 = time.perf_counter()
    box = EXPLORERS[name]()
    print(f"\n{name}: built in {time.perf_counter() - t0:.2f} s")
    walls, cpus = [], []
    for key, value in MOVES[name]:
        c0, w0 = time.process_time(), time.perf_counter()
        box.controls[key].value = value
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        walls.append(wall)
        cpus.append(cpu)
        note = f"  ({box.message.value})" if box.message.value else ""
        print(f"  {key:>12} -> {value!s:<10} wall {wall * 1e3:7.0f} ms   cpu {cpu * 1e3:7.0f} ms{note}")
    print(f"  median: wall {statistics.median(walls) * 1e3:.0f} ms, cpu {statistics.median(cpus) * 1e3:.0f} ms "
          f"(limit {LIMITS[name] * 1e3:.0f} ms)")
    return walls, cpus


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=list(EXPLORERS), nargs="*", default=list(EXPLORERS))
    ap.add_argument("--repeat", type=int, default=1, help="build and move each explorer this many times")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    torch.set_num_threads(1)
    summary = []
    for name in args.only:
        walls, cpus, per_repeat = [], [], []
        for _ in range(args.repeat):
            w, c = measure(name)
            walls += w
            cpus += c
            per_repeat.append(statistics.median(c))
        mw, mc = statistics.median(walls), statistics.median(cpus)
        summary.append((name, mw, mc, mc <= LIMITS[name], per_repeat))
    print(f"\nexplorer   median wall   median cpu   limit        (medians over {args.repeat} repeat(s) x moves; "
          "per-repeat cpu medians)")
    for name, mw, mc, ok, per in summary:
        spread = ", ".join(f"{v * 1e3:.0f}" for v in per)
        print(f"{name:9s} {mw * 1e3:9.0f} ms {mc * 1e3:9.0f} ms {LIMITS[name] * 1e3:6.0f} ms  {'ok' if ok else 'OVER':4s}  "
              f"[{spread}] ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
