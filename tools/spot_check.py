"""Rerun one cell of every stored long result and compare it with the stored numbers.

A stored result (``gantools/results/<name>.json``, written by a script in ``benchmarks/`` through
``gantools.stored.save``) records the command that produced it. Each such script defines

``spot_check(record) -> dict(argv=[...], values=callable, tol={...})``

which says how to rerun one cell of the table (one row x one seed, at the full length of the
stored run, unless the script says how it is shortened): ``argv`` are the script's arguments for that
cell, ``values(record)`` picks the cell's numbers (a flat ``{label: number}``) out of a record, the
stored one or the rerun's, and ``tol`` gives the absolute tolerance per label (``"*"`` for the
rest). Members of a batched run share nothing (each draws from its own random stream), so a cell
run alone repeats the stored cell; the tolerance only absorbs other CPUs' rounding.

This script runs each cell in a fresh interpreter with ``GANTOOLS_RESULTS_DIR`` pointing at a
temporary folder (the shipped results are never touched), compares, prints one line per value
and exits non-zero if any value is outside its tolerance or any stored result has no spot check.

Usage::

    python tools/spot_check.py [NAME ...] [--list]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gantools import stored  # noqa: E402


def script_of(record: dict) -> pathlib.Path:
    """The benchmark script that wrote ``record`` (from its recorded command)."""
    words = shlex.split(record.get("command", ""))
    if len(words) < 2 or not words[1].endswith(".py"):
        raise ValueError(f"the record holds no command to rerun (command={record.get('command')!r})")
    return ROOT / words[1]


def shown(path: pathlib.Path) -> str:
    """``path`` relative to the repository where it lies inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def load_script(path: pathlib.Path):
    """Import a benchmark script as a module (its ``main`` is not run)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "spot_check"):
        raise ValueError(f"{shown(path)} defines no spot_check(record)")
    return module


def compare(stored_values: dict, rerun_values: dict, tol: dict) -> list[tuple[str, float, float, float, bool]]:
    """Rows ``(label, stored, rerun, tolerance, ok)``; a label missing from the rerun fails."""
    rows = []
    for label, a in stored_values.items():
        b = rerun_values.get(label, math.nan)
        t = float(tol.get(label, tol.get("*", 0.0)))
        ok = math.isfinite(b) and abs(float(a) - float(b)) <= t + 1e-12
        rows.append((label, float(a), float(b), t, ok))
    return rows


def spot(name: str) -> tuple[bool, float]:
    """Rerun one cell of stored result ``name``; print the comparison; return (ok, seconds)."""
    record = stored.load(name)
    script = script_of(record)
    spec = load_script(script).spot_check(record)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, stored.RESULTS_DIR_ENV: tmp, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        cmd = [sys.executable, str(script), *spec["argv"]]
        t0 = time.perf_counter()
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if run.returncode:
            print(f"✗ {name}: the rerun failed ({' '.join(cmd[1:])}):\n{run.stderr[-2000:]}")
            return False, seconds
        outs = list(pathlib.Path(tmp).glob("*.json"))
        if len(outs) != 1:
            print(f"✗ {name}: the rerun wrote {len(outs)} results, expected 1")
            return False, seconds
        rerun = json.loads(outs[0].read_text())
    rows = compare(spec["values"](record), spec["values"](rerun), spec.get("tol", {}))
    ok = bool(rows) and all(r[-1] for r in rows)
    print(f"{'✓' if ok else '✗'} {name}: one cell rerun in {seconds:.0f} s "
          f"(python {shown(script)} {' '.join(spec['argv'])})")
    for label, a, b, t, good in rows:
        print(f"    {'ok ' if good else 'BAD'} {label}: stored {a:.6g}, rerun {b:.6g}, tolerance {t:g}")
    return ok, seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="stored results (default: all)")
    ap.add_argument("--list", action="store_true", help="print each result's cell command and exit")
    args = ap.parse_args()
    names = args.names or stored.names()
    if args.list:
        for n in names:
            rec = stored.load(n)
            spec = load_script(script_of(rec)).spot_check(rec)
            print(f"{n}: python {shown(script_of(rec))} {' '.join(spec['argv'])}")
        return 0
    results, total = [], 0.0
    for n in names:
        try:
            ok, sec = spot(n)
        except ValueError as err:
            print(f"✗ {n}: {err}")
            ok, sec = False, 0.0
        results.append(ok)
        total += sec
    print(f"{sum(results)} of {len(results)} stored results repeat within tolerance ({total:.0f} s of reruns)")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
