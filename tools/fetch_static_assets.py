#!/usr/bin/env python3
"""Fetch the JavaScript the rendered book needs, so that it works with no network.

The built book (``_build/html``) must not load anything from a CDN: MathJax, RequireJS and the
ipywidgets HTML manager (which renders the widgets saved in the explorer notebooks) are served from
the book's own ``_static/`` folder. This script fetches the pinned npm packages with the ordinary
npm client (``npm pack NAME@VERSION``: Node.js and npm must be installed), checks each tarball's
``sha512`` against the pinned integrity value, and unpacks the files the book uses into ``_assets/``
(git-ignored). ``_config.yml``
lists ``_assets`` in ``html_static_path``, so Sphinx copies it to ``_build/html/_static/`` and the
pages reference ``_static/mathjax/...``, ``_static/requirejs/...`` and ``_static/html-manager/...``.

Idempotent: a package whose files are already present (recorded in ``_assets/<name>/.version``)
is not downloaded again. Run it once after ``pip install`` and before ``jupyter-book build``::

    python tools/fetch_static_assets.py            # fetch what is missing
    python tools/fetch_static_assets.py --check    # exit 1 if anything is missing, fetch nothing

The reader's browser then needs no network to display math, animations or widgets.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "_assets"

# name -> (npm package spec, npm "integrity" sha512)
PACKAGES = {
    "mathjax": (
        "mathjax@3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
    ),
    "html-manager": (
        "@jupyter-widgets/html-manager@1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
    ),
    "requirejs": (
        "requirejs@2.3.8",
        "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
    ),
}

# The files each page references (relative to _assets/); --check looks for these.
ENTRY_POINTS = [
    "mathjax/tex-mml-chtml.js",
    "mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
    "html-manager/embed-amd.js",
    "html-manager/@jupyter-widgets/html-manager/dist/1551f4f60c37af51121f.woff2",
    "html-manager/@jupyter-widgets/1551f4f60c37af51121f.woff2",
    "requirejs/require.js",
]

_MATHJAX_SKIP = ("tex-svg", "tex-mml-svg", "mml-svg", "mml-chtml", "tex-chtml-full", "node-main",
                 "output/svg")
_FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".eot", ".svg")


def _target(name: str, member: str) -> str | None:
    """Map a tarball member (``package/...``) to its path under ``_assets/<name>/``, or None."""
    if not member.startswith("package/"):
        return None
    rel = member[len("package/"):]
    if name == "mathjax":
        if rel == "LICENSE":
            return rel
        if not rel.startswith("es5/") or rel.endswith(".map"):
            return None
        rel = rel[len("es5/"):]
        if rel.startswith(_MATHJAX_SKIP):
            return None
        return rel
    if name == "html-manager":
        if rel == "dist/embed-amd.js":
            return "embed-amd.js"
        if rel.startswith("dist/") and rel.endswith(_FONT_SUFFIXES):
            # where the bundle's CSS asks for them, relative to RequireJS's baseUrl, which
            # tools/static/book-offline.js sets to _static/html-manager/
            return "@jupyter-widgets/html-manager/" + rel
        if rel == "LICENSE":
            return rel
        return None
    if name == "requirejs":
        return rel if rel in ("require.js", "LICENSE") else None
    raise ValueError(f"unknown package {name!r}")


def _also(name: str, rel: str) -> tuple[str, ...]:
    """Further paths for a file: the widget manager's bundle sometimes resolves its icon fonts
    against its package folder (``@jupyter-widgets/<hash>.woff2``) rather than its ``dist/``
    folder (seen as 404s in the browser test), so each font is placed at both."""
    prefix = "@jupyter-widgets/html-manager/dist/"
    if name == "html-manager" and rel.startswith(prefix):
        return ("@jupyter-widgets/" + rel[len(prefix):],)
    return ()


def _check_integrity(data: bytes, integrity: str, spec: str) -> None:
    algo, _, expected = integrity.partition("-")
    got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if got != expected:
        raise SystemExit(f"integrity check failed for {spec}: expected {integrity}, got {algo}-{got}")


def _npm_pack(spec: str) -> bytes:
    """The tarball of ``spec`` (``name@version``) as bytes, fetched by ``npm pack``."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm was not found: install Node.js and npm (e.g. `apt-get install npm`), "
                         "then run this script again")
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([npm, "pack", spec, "--pack-destination", tmp, "--json", "--silent"],
                             capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            raise SystemExit(f"`npm pack {spec}` failed:\n{res.stderr.strip()}")
        filename = json.loads(res.stdout)[0]["filename"]
        return (Path(tmp) / filename).read_bytes()


def fetch(name: str, *, force: bool = False) -> bool:
    """Download and unpack one package into ``_assets/<name>``; return True if it was fetched."""
    spec, integrity = PACKAGES[name]
    out = DEST / name
    stamp = out / ".version"
    if (not force and stamp.is_file() and stamp.read_text().strip() == spec
            and not any(p.startswith(name + "/") for p in missing())):
        return False
    data = _npm_pack(spec)  # the one network access, at install time
    _check_integrity(data, integrity, spec)
    tmp = DEST / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    n = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            rel = _target(name, member.name)
            if rel is None or not member.isfile() or ".." in Path(rel).parts:
                continue
            src = tar.extractfile(member)
            assert src is not None
            body = src.read()
            for rel_i in (rel, *_also(name, rel)):
                path = tmp / rel_i
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
            n += 1
    (tmp / ".version").write_text(spec + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"fetched {name}: {n} files -> {out.relative_to(ROOT)}")
    return True


def missing() -> list[str]:
    """Entry points that are not in ``_assets/`` yet."""
    return [p for p in ENTRY_POINTS if not (DEST / p).is_file()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only report missing files (exit 1)")
    ap.add_argument("--force", action="store_true", help="download again even if present")
    args = ap.parse_args(argv)
    if args.check:
        miss = missing()
        for p in miss:
            print(f"missing: _assets/{p}")
        return 1 if miss else 0
    DEST.mkdir(exist_ok=True)
    for name in PACKAGES:
        fetch(name, force=args.force)
    miss = missing()
    if miss:
        print("still missing after fetch: " + ", ".join(miss), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
