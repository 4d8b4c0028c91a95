"""Give a stored result new provenance without rerunning it, only where the code provably is the same.

When the *rule* of provenance changes (what ``gantools.stored.source_sha1`` hashes, or which
functions a benchmark declares in its ``CODE``), the stored SHA-1s no longer match although no code
changed. Rerunning an hour of benchmarks for that would also move their numbers (the last bits of
floating point differ between CPUs). This script instead checks out the commit at which the result
was written, computes there, with the *present* ``gantools.stored`` rule, the code closure
(:func:`gantools.stored.code_closure`) of the functions named, and compares it, entry by entry (each
keyed by its name without the module, so code that only moved counts as the same), with the
closure in the working tree. Only when every entry is identical does it rewrite the result's
``code``, ``source_sha1`` and ``digest`` (with ``--write``), recording the old ones and the commit under
``restamped``. Any difference is printed and nothing is written: then the benchmark must run again.

Usage::

    python tools/restamp_stored.py NAME COMMIT QUALNAME [QUALNAME ...] [--write]

e.g. ``python tools/restamp_stored.py part2_entropy_25gaussians dadfaeb gantools.energy.train_engan
gantools.metrics.mode_balance gantools.energy.entropy_arms gantools.energy.engan_balance
gantools.data.sample --write``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]

# run in a fresh interpreter with the gantools of ROOT_ARG first on sys.path and the present
# stored.py loaded beside it: prints {qualified name: sha1 of its syntax tree}
_PROBE = r"""
import hashlib, importlib, importlib.util, json, sys
root, rule, names = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, root)
import gantools
assert gantools.__file__.startswith(root), gantools.__file__
spec = importlib.util.spec_from_file_location("gantools._stored_rule", rule)
st = importlib.util.module_from_spec(spec); sys.modules[spec.name] = st; spec.loader.exec_module(st)
objs = []
for q in names:
    mod, _, name = q.rpartition(".")
    objs.append(getattr(importlib.import_module(mod), name))
closure = st.code_closure(*objs)
portable = getattr(st, "_portable", lambda k: k)  # keyed without the module: a moved function is the same
print(json.dumps(dict(sha=st.source_sha1(*objs),
                      closure={portable(k): hashlib.sha1(v.encode()).hexdigest() for k, v in closure.items()})))
"""


def closure_at(root: pathlib.Path, names: list[str]) -> dict:
    """The code closure of ``names`` in the gantools under ``root``, by the present rule."""
    out = subprocess.run([sys.executable, "-c", _PROBE, str(root), str(ROOT / "gantools" / "stored.py"), *names],
                         capture_output=True, text=True, cwd=tempfile.gettempdir())
    if out.returncode:
        raise SystemExit(f"computing the closure under {root} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", help="stored result (gantools/results/<name>.json)")
    ap.add_argument("commit", help="the commit at which the result was written")
    ap.add_argument("code", nargs="+", help="qualified names of the code the result records, in order")
    ap.add_argument("--write", action="store_true", help="rewrite the result when the code is the same")
    args = ap.parse_args()
    path = ROOT / "gantools" / "results" / f"{args.name}.json"
    if not path.is_file():
        names = sorted(p.stem for p in path.parent.glob("*.json"))
        raise SystemExit(f"no stored result {args.name!r}; stored: {', '.join(names)}")
    commit = subprocess.run(["git", "rev-parse", "--verify", args.commit + "^{commit}"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.strip()
    now = closure_at(ROOT, args.code)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["git", "worktree", "add", "-q", "--detach", tmp, commit], cwd=ROOT, check=True)
        try:
            then = closure_at(pathlib.Path(tmp), args.code)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", tmp], cwd=ROOT, check=True)
    keys = list(dict.fromkeys([*then["closure"], *now["closure"]]))
    differ = [k for k in keys if then["closure"].get(k) != now["closure"].get(k)]
    print(f"{args.name}: {len(now['closure'])} pieces of code now, {len(then['closure'])} at {commit[:10]}")
    if differ or then["sha"] != now["sha"]:
        for k in differ:
            state = "added" if k not in then["closure"] else "removed" if k not in now["closure"] else "changed"
            print(f"  {state} since {commit[:10]}: {k}")
        raise SystemExit(f"{args.name}: the code differs; run its benchmark again instead")
    res = json.loads(path.read_text())
    print(f"  identical; SHA-1 {res['source_sha1'][:12]} -> {now['sha'][:12]}")
    if args.write:
        res.setdefault("restamped", []).append(dict(
            date=datetime.date.today().isoformat(), written_at=commit, old_code=res["code"],
            old_source_sha1=res["source_sha1"], reason="same code by the present provenance rule"))
        res["code"], res["source_sha1"] = list(args.code), now["sha"]
        sys.path.insert(0, str(ROOT))
        from gantools import stored
        res["digest"] = stored.digest(res)
        path.write_text(json.dumps(res, indent=1) + "\n")
        print(f"  wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
