"""Docstring standard of the core modules: every public name has numpydoc sections.

The API page renders these docstrings (autodoc + napoleon, warnings as errors); this test
catches a new public function without ``Parameters`` / ``Returns`` before the build does.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import gantools

# every module of the package, private helpers included
CORE = sorted(m.name.removeprefix("gantools.") for m in pkgutil.walk_packages(gantools.__path__, "gantools."))


def test_the_module_map_names_every_public_module_once():
    """gantools.MODULES (read by tools/make_api_page.py) is the one map of modules to parts."""
    listed = [m for mods in gantools.MODULES.values() for m in mods]
    assert len(listed) == len(set(listed)), "a module is listed under two parts"
    top = {m.split(".")[0] for m in CORE if not m.split(".")[-1].startswith("_")}
    assert set(listed) == top, f"missing: {sorted(top - set(listed))}; not a module: {sorted(set(listed) - top)}"


def _public(modname: str):
    mod = importlib.import_module(f"gantools.{modname}")
    for name in mod.__all__:
        obj = getattr(mod, name)
        if getattr(obj, "__module__", mod.__name__) != mod.__name__:
            continue  # a re-export (train.DivergenceError); documented where it is defined
        yield name, obj


@pytest.mark.parametrize("modname", CORE)
def test_all_lists_exactly_the_public_definitions(modname):
    mod = importlib.import_module(f"gantools.{modname}")
    assert len(set(mod.__all__)) == len(mod.__all__)
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"gantools.{modname}.__all__ names missing objects: {missing}"
    defined = {n for n, o in vars(mod).items()
               if not n.startswith("_") and (inspect.isfunction(o) or inspect.isclass(o))
               and o.__module__ == mod.__name__}
    assert defined <= set(mod.__all__), f"public but not in __all__: {defined - set(mod.__all__)}"


@pytest.mark.parametrize("modname", CORE)
def test_public_callables_have_numpydoc_sections(modname):
    mod = importlib.import_module(f"gantools.{modname}")
    assert mod.__doc__ and mod.__doc__.strip(), f"gantools.{modname} has no module docstring"
    bad = []
    for name, obj in _public(modname):
        if inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            has_params = len(inspect.signature(obj).parameters) > 0
            if (has_params and "Parameters\n----------" not in doc) or "Returns\n-------" not in doc:
                bad.append(name)
        elif inspect.isclass(obj) and not issubclass(obj, BaseException):  # an error's docstring says when
            doc = inspect.getdoc(obj) or ""
            if "Parameters\n----------" not in doc and "Attributes\n----------" not in doc:
                bad.append(name)
    assert not bad, f"gantools.{modname}: no Parameters/Returns (or Attributes) section in {bad}"


def test_math_blocks_are_raw_and_separated():
    """A ``.. math::`` directive is followed by a blank line and an indented body."""
    import re

    for modname in CORE:
        src = inspect.getsource(importlib.import_module(f"gantools.{modname}"))
        for m in re.finditer(r"\.\. math::\n(.*)\n(.*)\n", src):
            assert m.group(1).strip() == "" and m.group(2).startswith(" "), (
                f"gantools.{modname}: malformed math block near {m.group(0)!r}")
