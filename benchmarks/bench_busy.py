"""Benchmark: notebooks on a busy machine (a second torch process beside them).

A reader runs two notebooks at once in JupyterLab; a CI machine is shared. Each notebook named
here is executed twice (in a fresh kernel, as the book's executor runs it, every cell, from the
notebook's folder):

* **alone**: nothing else of ours runs;
* **busy**: beside a *neighbour*, a separate Python process that multiplies 512 x 512 matrices
  with torch in a loop, on torch's default thread count (one per physical core), for the whole
  execution.

The notebooks run with the book's thread policy (``gantools.utils.seed_all``: one thread unless
``GANTOOLS_THREADS`` says otherwise; ``--threads 0`` gives torch's own choice, for comparison).
``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` are removed from the environment of the kernels and of
the neighbour, so that each gets what a reader's machine gives it. With ``--repeat k`` the alone and
busy runs alternate k times and the medians are compared.

Prints, per notebook, the wall time alone and busy (kernel start included), their ratio and
whether it meets the goal (busy <= 2.5 x alone), then the largest ratio. Run it on an otherwise
quiet machine: a third process would load both measurements.

Run:  python benchmarks/bench_busy.py [--notebooks PATH ...] [--repeat 1] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
GOAL = 2.5  # busy / alone, per notebook
NOTEBOOKS = ["chapters/part1_dynamics/01_dirac_gan_ode.ipynb", "chapters/part2_energy/01_energy_likelihood.ipynb",
             "chapters/part3_monoflow/01_wgf_gaussians.ipynb", "chapters/part4_ign/02_ign_objective.ipynb"]
NEIGHBOUR = ("import torch\n"
             "a = torch.randn(512, 512)\n"
             "while True:\n"
             "    a = torch.tanh(a @ a / 32)\n")


def _env(threads: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MPLBACKEND")}
    env.pop("GANTOOLS_THREADS", None)
    if threads is not None:
        env["GANTOOLS_THREADS"] = str(threads)
    return env


def run_notebook(path: pathlib.Path, threads: int | None, timeout: float) -> float:
    """Execute every cell of ``path`` in a fresh kernel; the wall time in seconds (kernel start included)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute(env=_env(threads))  # the kernel's environment
    return time.perf_counter() - t0


def start_neighbour() -> subprocess.Popen:
    """The busy neighbour: a CPU-bound torch loop on torch's default threads, warmed up for 2 s."""
    proc = subprocess.Popen([sys.executable, "-c", NEIGHBOUR], env=_env(None), stdout=subprocess.DEVNULL)
    time.sleep(2.0)
    if proc.poll() is not None:
        raise RuntimeError("the neighbour process exited at once")
    return proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notebooks", nargs="+", default=NOTEBOOKS, help="notebooks, relative to the repository")
    ap.add_argument("--repeat", type=int, default=1, help="alone/busy pairs per notebook (medians compared)")
    ap.add_argument("--threads", type=int, default=None,
                    help="GANTOOLS_THREADS for the kernels (default: unset, the book's policy; 0: torch's choice)")
    ap.add_argument("--timeout", type=float, default=600, help="per cell, seconds")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    paths = [ROOT / p for p in args.notebooks]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        ap.error(f"no such notebook: {', '.join(missing)}")
    policy = "the book's policy (GANTOOLS_THREADS unset)" if args.threads is None else f"GANTOOLS_THREADS={args.threads}"
    print(f"kernels: {policy}; neighbour: torch's default threads; {os.cpu_count()} CPUs; repeat {args.repeat}")
    rows = []
    for path in paths:
        alone, busy = [], []
        for _ in range(args.repeat):
            alone.append(run_notebook(path, args.threads, args.timeout))
            neighbour = start_neighbour()
            try:
                busy.append(run_notebook(path, args.threads, args.timeout))
            finally:
                neighbour.terminate()
                neighbour.wait()
        a, b = statistics.median(alone), statistics.median(busy)
        rows.append((path.relative_to(ROOT), a, b, b / a))
        print(f"  {path.relative_to(ROOT)}: alone {' '.join(f'{t:.1f}' for t in alone)} s, "
              f"busy {' '.join(f'{t:.1f}' for t in busy)} s", flush=True)
    print(f"\n{'notebook':52s} {'alone':>8s} {'busy':>8s} {'ratio':>6s}  goal <= {GOAL}x")
    for name, a, b, r in rows:
        print(f"{str(name):52s} {a:7.1f}s {b:7.1f}s {r:5.2f}x  {'ok' if r <= GOAL else 'OVER'}")
    worst = max(r for *_, r in rows)
    print(f"largest ratio {worst:.2f}x: {worst / GOAL:.2f} of the goal ({GOAL}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
