"""Results of the book's long benchmarks, stored with the package and checked against the code.

Some tables of the book (a 39-run ablation, an 84-run entropy study) take many times a notebook's
time budget. Their scripts in ``benchmarks/`` write the numbers to ``gantools/results/<name>.json``
with :func:`save`, together with a SHA-1 of the code of the functions that produced them. A
notebook shows such a table with :func:`load` and checks with :func:`is_current` that the stored
run came from the code it imports: once someone changes what one of those functions does (editing
a docstring or a comment does not count), the check fails until the benchmark is run again. The files ship with the package, so the pages also run on Colab.
"""
from __future__ import annotations

import ast
import datetime
import hashlib
import inspect
import json
import platform
import textwrap
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["source_sha1", "names", "path", "save", "load", "is_current"]


def _code_text(obj: Callable | type) -> str:
    """The code of ``obj`` without its docstrings, comments and layout (a dump of its syntax tree)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree)


def source_sha1(*objects: Callable | type) -> str:
    """SHA-1 of the code of ``objects``: their syntax trees without docstrings and comments.

    Editing a docstring, a comment or the layout of the code leaves it unchanged; any change to
    what the code does (a statement, a default value, a name) changes it.

    Parameters
    ----------
    *objects : function or class
        The code whose output is stored, e.g. ``energy.train_engan, energy.mode_balance``.

    Returns
    -------
    str
        40 hexadecimal digits.

    Raises
    ------
    ValueError
        If no object is given.
    """
    if not objects:
        raise ValueError("source_sha1 needs at least one function or class")
    return hashlib.sha1("\n".join(_code_text(o) for o in objects).encode()).hexdigest()


def _folder() -> Path:
    return Path(str(resources.files("gantools") / "results"))


def names() -> list[str]:
    """Names of the stored results (file names without ``.json``), sorted.

    Returns
    -------
    list of str
    """
    return sorted(p.stem for p in _folder().glob("*.json"))


def path(name: str) -> Path:
    """The file of stored result ``name`` (it need not exist yet).

    Parameters
    ----------
    name : str
        File name without ``.json``: letters, digits, ``_`` and ``-``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        If ``name`` has other characters.
    """
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"a stored result's name has letters, digits, '_' and '-' only, got {name!r}")
    return _folder() / f"{name}.json"


def save(name: str, result: dict[str, Any], *, code: Sequence[Callable | type]) -> Path:
    """Write ``result`` as ``gantools/results/<name>.json`` with its provenance.

    Adds ``code`` (qualified names), ``source_sha1`` (of their source), ``torch``, ``python``,
    ``machine`` and ``date`` to a copy of ``result``.

    Parameters
    ----------
    name : str
        See :func:`path`.
    result : dict
        JSON-serialisable numbers of the run.
    code : sequence of function or class
        The functions whose behaviour the numbers record.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    import torch

    out = path(name)
    meta = dict(code=[f"{o.__module__}.{o.__qualname__}" for o in code], source_sha1=source_sha1(*code),
                torch=torch.__version__, python=platform.python_version(), machine=platform.machine(),
                date=datetime.date.today().isoformat())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**result, **meta}, indent=1) + "\n")
    return out


def load(name: str) -> dict[str, Any]:
    """Read stored result ``name``.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    dict
        The numbers and their provenance (see :func:`save`).

    Raises
    ------
    ValueError
        If no result of that name is stored; the message lists those that are.
    """
    p = path(name)
    if not p.is_file():
        raise ValueError(f"no stored result {name!r}; stored: {', '.join(names()) or 'none'}")
    return json.loads(p.read_text())


def is_current(result: dict[str, Any], *code: Callable | type) -> bool:
    """Whether ``result`` was produced by the present source of ``code``.

    Parameters
    ----------
    result : dict
        As returned by :func:`load`.
    *code : function or class
        The same functions, in the same order, that were passed to :func:`save`.

    Returns
    -------
    bool
        ``True`` when the stored SHA-1 equals :func:`source_sha1` of ``code`` now.
    """
    return result.get("source_sha1") == source_sha1(*code)
