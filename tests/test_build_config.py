"""The book's configuration: what reaches the build, and where versions are declared."""
from __future__ import annotations

import fnmatch
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def _excluded(rel: str) -> bool:
    # Sphinx matches exclude_patterns against paths relative to the source dir, each path component
    pats = CONFIG["exclude_patterns"]
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(p, pat) for p in prefixes for pat in pats)


def test_virtualenvs_inside_the_repository_never_reach_the_build():
    for venv in (".venv", "venv", ".venv-ci", ".venv-colab", "venv311", "env"):
        for inner in ("lib/python3.11/site-packages/pkg-1.0.dist-info/LICENSE.md",
                      "share/jupyter/kernels/python3/kernel.ipynb"):
            assert _excluded(f"{venv}/{inner}"), f"{venv}/{inner} would be read by the build"
    assert not _excluded("chapters/part1_dynamics/01_dirac_gan_ode.ipynb")
    assert not _excluded("claims.md") and not _excluded("api.md")


def test_version_ranges_are_declared_once():
    """pyproject declares the ranges; requirements.txt only pins the toolchain and installs the package."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    reqs = [ln.split("#")[0].strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()]
    reqs = [r for r in reqs if r]
    ranged = [r for r in reqs if re.search(r">=|<=|~=|>(?!=)|<(?!=)", r)]
    assert not ranged, f"requirements.txt re-declares ranges {ranged}; they live in pyproject.toml"
    assert any(r.startswith("-e .") for r in reqs)
    assert '"ipywidgets>=7.6"' in pyproject, "Colab ships ipywidgets 7.7.1: gantools must accept it"


def test_toc_has_no_authoring_comments():
    toc = (ROOT / "_toc.yml").read_text()
    comments = [ln for ln in toc.splitlines() if ln.strip().startswith("#")]
    assert not comments, f"_toc.yml carries authoring comments: {comments}"


def test_licence_is_stated():
    text = (ROOT / "LICENSE").read_text()
    assert "CC BY 4.0" in text and "MIT" in text


def test_every_gantools_module_is_on_the_api_page():
    import pkgutil

    import gantools

    api = (ROOT / "api.md").read_text()
    mods = {m.name for m in pkgutil.walk_packages(gantools.__path__, "gantools.")
            if not m.name.rsplit(".", 1)[-1].startswith("_")}
    missing = sorted(m for m in mods if f"automodule:: {m}\n" not in api)
    assert not missing, f"api.md does not document {missing}"


def test_readme_is_a_newcomers_page():
    """The README stays short and names the two commands; timing tables live in benchmarks/README.md."""
    readme = (ROOT / "README.md").read_text()
    lines = readme.splitlines()
    assert len(lines) <= 120, f"README.md has {len(lines)} lines (at most 120)"
    for cmd in ("make book", "make test", "make check", "make lab"):
        assert cmd in readme, f"README.md does not name `{cmd}`"
    assert (ROOT / "benchmarks" / "README.md").is_file()


def test_make_targets_and_ci_use_them():
    """CI runs what a contributor runs: `.ci/run` installs system packages, then calls `make test`."""
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    assert {"book", "test", "check", "lab", "colab"} <= targets, f"Makefile targets: {sorted(targets)}"
    assert re.search(r"^book: colab$", makefile, re.M), "`make book` ends with the Colab copies"
    ci = [ln.split("#")[0].strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert any(re.match(r"make test\b", ln) for ln in ci), ".ci/run does not call `make test`"
    assert "TORCH_INDEX_URL ?=" in makefile, "the torch index must stay overridable (CI sets it)"
