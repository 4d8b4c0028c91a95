"""Write ``api.md``, the book's API page: every public gantools module, rendered by autodoc.

Run ``python tools/make_api_page.py`` after adding or removing a module;
``tests/test_build_config.py`` fails when a module is missing from the page.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import gantools

ROOT = Path(__file__).resolve().parents[1]
GROUPS: list[tuple[str, tuple[str, ...]]] = [(part, tuple(mods)) for part, mods in gantools.MODULES.items()]
"""The API page's sections: the parts of :data:`gantools.MODULES`, in order."""


def public_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(gantools.__path__, "gantools.")
                  if not m.name.rsplit(".", 1)[-1].startswith("_"))


def main() -> None:
    mods = public_modules()
    placed: set[str] = set()
    lines = ["# API reference", "",
             "Every function and class the notebooks call, rendered from `gantools`' docstrings: what it",
             "computes (the equation), its parameters with their shapes, what it returns and what it",
             "raises. The package is written one concept per module; the groups follow the book's parts.", ""]
    groups = list(GROUPS)
    rest = [m for m in mods if not any(m == f"gantools.{n}" or m.startswith(f"gantools.{n}.")
                                       for _, names in GROUPS for n in names)]
    if rest:
        groups.append(("Other modules", tuple(m.removeprefix("gantools.") for m in rest)))
    for title, names in groups:
        members = [m for n in names for m in mods
                   if (m == f"gantools.{n}" or m.startswith(f"gantools.{n}.")) and m not in placed]
        if not members:
            continue
        lines += [f"## {title}", ""]
        for m in members:
            placed.add(m)
            importlib.import_module(m)  # fail here, not in the build, if a module does not import
            lines += [f"### `{m}`", "", "```{eval-rst}", f".. automodule:: {m}", "```", ""]
    (ROOT / "api.md").write_text("\n".join(lines).rstrip() + "\n")
    print(f"api.md: {len(placed)} modules")


if __name__ == "__main__":
    main()
