"""Every figure a notebook draws reaches the rendered page with a numbered caption, and every check
cell shows its claim's line and nothing else.

A code cell that draws a figure carries myst-nb ``figure`` metadata (caption and label), so the
build wraps its image in a ``<figure>`` with a numbered ``<figcaption>``. This test reads the
built HTML (skipped without a build; ``BOOK_BROWSER_TEST=1``, set by ``.ci/run``, makes it
required) and fails on any notebook image outside such a figure.
"""
from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
REQUIRED = os.environ.get("BOOK_BROWSER_TEST", "") not in ("", "0")


class _Figures(HTMLParser):
    """Collects each output image and whether it sits in a <figure> that has a numbered caption."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict] = []
        self.images: list[tuple[str, dict | None]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure":
            self.stack.append({"captioned": False, "images": []})
        elif tag == "span" and "caption-number" in (a.get("class") or "") and self.stack:
            self.stack[-1]["captioned"] = True
        elif tag == "img" and "_images/" in (a.get("src") or ""):
            fig = self.stack[-1] if self.stack else None
            self.images.append((a["src"], fig))

    def handle_endtag(self, tag):
        if tag == "figure" and self.stack:
            self.stack.pop()


def _pages() -> list[Path]:
    return sorted((HTML / "chapters").rglob("*.html")) if (HTML / "index.html").is_file() else []


def test_there_is_a_build_to_check():
    if not _pages():
        if REQUIRED:
            pytest.fail("BOOK_BROWSER_TEST is set but there is no build in " + str(HTML))
        pytest.skip("no build: run `jupyter-book build .` first")


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(HTML)))
def test_every_notebook_image_has_a_numbered_caption(page):
    parser = _Figures()
    parser.feed(page.read_text(encoding="utf8"))
    bare = [src for src, fig in parser.images if fig is None or not fig["captioned"]]
    assert not bare, (f"{page.relative_to(HTML)}: {len(bare)} of {len(parser.images)} images have no numbered "
                      f"caption ({', '.join(sorted(set(re.sub(r'.*/', '', s) for s in bare))[:4])}); give the cell "
                      "myst-nb figure metadata {\"mystnb\": {\"figure\": {\"caption\": ..., \"name\": ...}}}")


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(HTML)))
def test_check_cells_show_their_line_not_a_repr(page):
    """A check cell shows "✓ claim — values"; the Claim object's repr under it is noise for the reader
    (it appears when a cell's result is not silenced, see conftest._quiet)."""
    text = page.read_text(encoding="utf8")
    n = text.count("Claim(text=")
    assert n == 0, f"{page.relative_to(HTML)}: {n} check cells show a Claim(...) repr under their line"
