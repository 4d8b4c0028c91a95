"""Print each notebook's execution time as recorded by jupyter-book's execution cache."""
from __future__ import annotations

import pathlib
import sys

from jupyter_cache import get_cache


def main(path: str) -> int:
    cache = get_cache(path)
    rows = []
    for rec in cache.list_cache_records():
        secs = (rec.data or {}).get("execution_seconds")
        rows.append((str(pathlib.Path(rec.uri).relative_to(pathlib.Path.cwd())) if rec.uri.startswith(str(pathlib.Path.cwd())) else rec.uri, secs))
    if not rows:
        print("no executed notebooks found in", path)
        return 1
    print("notebook execution times (jupyter-book build):")
    over = 0
    for uri, secs in sorted(rows):
        flag = ""
        if secs is not None and secs > 60:
            flag, over = "  <-- over the 60 s budget", over + 1
        print(f"  {secs:7.1f} s  {uri}{flag}" if secs is not None else f"     ?      {uri}")
    print(f"{len(rows)} notebooks, {over} over 60 s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "_build/.jupyter_cache"))
