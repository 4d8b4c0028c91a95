"""Static checks on the committed notebooks: no outputs, a seeded setup cell, one repository URL."""
from __future__ import annotations

import json
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = (ROOT / "_toc.yml").read_text()


def test_there_are_notebooks():
    assert NOTEBOOKS, "chapters/ should hold the book's notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_setup_cell_seeds_and_uses_the_one_repository_url(path):
    nb = json.loads(path.read_text())
    code = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code"
    setup = code[0]
    assert "seed_all(" in setup, f"{path.name}: the first code cell must seed everything (gantools.utils.seed_all)"
    urls = set(re.findall(r"git\+(https://[^\"'\s]+)", setup))
    assert urls == {CONFIG["repository"]["url"]}, (
        f"{path.name}: the Colab install line must use _config.yml's repository.url, found {urls}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_notebook_is_in_the_toc(path):
    rel = str(path.relative_to(ROOT).with_suffix(""))
    assert rel in TOC, f"{rel} is not listed in _toc.yml (only_build_toc_files would skip it)"


def _cells(path, kind):
    nb = json.loads(path.read_text())
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == kind]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_check_cells_use_claim_not_a_bare_assert(path):
    """A bare assert passes silently and never reaches the Claims page; gantools.check.claim does."""
    bad = [i for i, src in enumerate(_cells(path, "code")) if re.search(r"^\s*assert\b", src, re.M)]
    assert not bad, f"{path.name}: code cells {bad} use a bare assert; use gantools.check.claim(text, ok, **measured)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_notebook_has_exercises_with_solutions(path):
    md = "\n".join(_cells(path, "markdown"))
    exercises = set(re.findall(r"```\{exercise\}[^\n]*\n(?::[^\n]*\n)*?:label:\s*(\S+)", md))
    solutions = set(re.findall(r"```\{solution\}\s*(\S+)", md))
    assert exercises, f"{path.name}: no exercise (sphinx-exercise ```{{exercise}} with a :label:)"
    assert exercises <= solutions, f"{path.name}: exercises without a solution: {sorted(exercises - solutions)}"


SEED_FILE = re.compile(r"\b00[1-4]_(?:[0-9a-f]{6,}|…)")
READER_TEXT = sorted([*NOTEBOOKS, *ROOT.glob("*.md"), *(ROOT / "chapters").rglob("*.md")])


@pytest.mark.parametrize("path", READER_TEXT, ids=lambda p: str(p.relative_to(ROOT)))
def test_reader_text_names_posts_not_seed_files(path):
    """The seed files' names are the team's; the reader meets a post by title, author, date and URL."""
    if path.name == "CONTRIBUTING.md":
        return
    hits = sorted(set(SEED_FILE.findall(path.read_text())))
    assert not hits, f"{path.relative_to(ROOT)} names seed files {hits}; cite the post instead"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_figure_cells_show_only_their_figure(path):
    """A cell with a figure caption becomes one numbered figure: every other rich output it displays (a
    claim's line, a table) would become a second figure with the same label and break the build.
    (Printed text is a stream, not a display, and is rendered beside the figure.)"""
    nb = json.loads(path.read_text())
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] == "code" and c["metadata"].get("mystnb", {}).get("figure"):
            src = "".join(c["source"])
            bad = [w for w in ("claim(", "display(", "Markdown(") if w in src]
            assert not bad, f"{path.name} cell {i} has a figure caption and also calls {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_final_claim_is_silenced(path):
    """``claim`` shows its own line and returns the Claim; a cell ending in a bare ``claim(...)``
    would show the Claim's repr under that line as well."""
    import ast

    bad = []
    for i, src in enumerate(_cells(path, "code")):
        try:
            tree = ast.parse("\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith("%")))
        except SyntaxError:
            continue
        last = tree.body[-1] if tree.body else None
        if (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
                and getattr(last.value.func, "id", None) == "claim" and not src.rstrip().endswith(";")):
            bad.append(i)
    assert not bad, f"{path.name}: code cells {bad} end in claim(...) without ';'"
