"""A small Sphinx extension that keeps the rendered book offline-complete (see _config.yml).

* MathJax is loaded on every page, not only on pages with equations: titles with math appear in
  the navigation sidebar of every page, and they must be typeset there too.
* The build stops with a clear message when the vendored scripts are missing (they are fetched
  at install time by ``python tools/fetch_static_assets.py``), instead of producing pages that
  silently fail to show math and widgets.
"""
from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ConfigError

ENTRY_POINTS = ("mathjax/tex-mml-chtml.js", "html-manager/embed-amd.js", "requirejs/require.js")


def _check_assets(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    roots = [Path(app.confdir) / p for p in app.config.html_static_path]
    missing = [e for e in ENTRY_POINTS if not any((r / e).is_file() for r in roots)]
    if missing:
        raise ConfigError("the book's offline scripts are missing (" + ", ".join(missing)
                          + "): run `python tools/fetch_static_assets.py` before building")


def setup(app: Sphinx) -> dict:
    app.set_html_assets_policy("always")
    app.connect("builder-inited", _check_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
