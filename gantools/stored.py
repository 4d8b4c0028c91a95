"""Results of the book's long benchmarks, stored with the package and checked against the code.

Some tables of the book (a 39-run ablation, an 84-run entropy study) take many times a notebook's
time budget. Their scripts in ``benchmarks/`` write the numbers to ``gantools/results/<name>.json``
with :func:`save`, together with a SHA-1 of the code that produced them: the functions named, and
every function, class and module-level constant of ``gantools`` they reach (:func:`code_closure`),
so a change to a network, an optimiser or a sampler they call counts too. A notebook shows such a
table with :func:`load` and checks with :func:`is_current` that the stored run came from the code it
imports: once someone changes what any of that code does (editing a docstring or a comment does not
count), the check fails until the benchmark is run again. The files ship with the package, so the
pages also run on Colab.
"""
from __future__ import annotations

import ast
import datetime
import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import platform
import shlex
import sys
import textwrap
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

__all__ = ["code_closure", "source_sha1", "names", "path", "digest", "save", "load", "code_of", "is_intact",
           "is_current", "RESULTS_DIR_ENV", "PROVENANCE"]


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


_TREES: dict[tuple, ast.AST] = {}  # parsed code, keyed by where it lives and its file's state


def _file_state(module_name: str) -> tuple:
    path_ = getattr(sys.modules.get(module_name), "__file__", None)
    try:
        st = os.stat(path_) if path_ else None
    except OSError:
        st = None
    return (path_, st.st_mtime_ns, st.st_size) if st else (path_, None, None)


def _code_tree(obj: Callable | type) -> ast.AST:
    obj = inspect.unwrap(obj)
    key = ("code", obj.__module__, obj.__qualname__, _file_state(obj.__module__))
    if key not in _TREES:
        _TREES[key] = _strip_docstrings(ast.parse(textwrap.dedent(inspect.getsource(obj))))
    return _TREES[key]


def _code_text(obj: Callable | type) -> str:
    """The code of ``obj`` without its docstrings, comments and layout (a dump of its syntax tree)."""
    return ast.dump(_code_tree(obj))


_PACKAGE = __name__.split(".")[0]


def _ours(module_name: str | None) -> bool:
    return bool(module_name) and (module_name == _PACKAGE or module_name.startswith(_PACKAGE + "."))


def _module_tree(module: ModuleType) -> ast.Module:
    key = ("module", module.__name__, _file_state(module.__name__))
    if key not in _TREES:
        _TREES[key] = ast.parse(inspect.getsource(module))
    return _TREES[key]  # type: ignore[return-value]


def _constant_node(module: ModuleType, name: str) -> tuple[ModuleType, ast.stmt] | None:
    """The top-level statement of ``module`` (or the module it imports ``name`` from) binding ``name``."""
    for _ in range(8):  # follow `from .x import name` a few levels
        tree = _module_tree(module)
        source = None
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                return module, stmt
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
                return module, stmt
            if isinstance(stmt, ast.ImportFrom) and any((a.asname or a.name) == name for a in stmt.names):
                source = _import_source(stmt, module)
        if source is None or not _ours(source.__name__):
            return None
        module = source
    return None


def _import_source(node: ast.ImportFrom, module: ModuleType) -> ModuleType | None:
    """The module that ``from ... import`` statement ``node``, written in ``module``, imports from."""
    package = module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]
    try:
        name = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level else node.module
        return importlib.import_module(name or "")
    except (ImportError, ValueError):
        return None


def _local_imports(tree: ast.AST, module: ModuleType) -> dict[str, Any]:
    """Names bound by the ``import`` statements inside ``tree`` (a function importing lazily)."""
    bound: dict[str, Any] = {}
    for node in ast.walk(tree):
        try:
            if isinstance(node, ast.ImportFrom):
                source = _import_source(node, module)
                if source is None:
                    continue
                for alias in node.names:
                    if alias.name != "*" and hasattr(source, alias.name):
                        bound[alias.asname or alias.name] = getattr(source, alias.name)
                    elif alias.name != "*":  # a submodule: from . import data
                        bound[alias.asname or alias.name] = importlib.import_module(f"{source.__name__}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        bound[alias.asname] = importlib.import_module(alias.name)
        except ImportError:
            continue
    return bound


def code_closure(*objects: Callable | type) -> dict[str, str]:
    """The code of ``objects`` and of everything in ``gantools`` they reach, by qualified name.

    Starting from ``objects``, every name in their code that resolves to a function or class defined
    in ``gantools`` (``mode_balance``, ``ensemble.EnsembleMLP``, ``data.sample``) or to a module-level
    constant of a ``gantools`` module (a table of activations, a default) is added, and so on from
    there. Names resolve in the globals of the module that defines the code; a local variable that
    shadows a global only adds that global, never drops code; ``import`` statements inside a function
    count as well. Code outside ``gantools`` (torch, numpy) is not followed: its version is recorded
    by :func:`save` instead; nor is code reached only through a string (``getattr(module, name)``).

    Parameters
    ----------
    *objects : function or class
        Where to start.

    Returns
    -------
    dict of str to str
        Qualified name (``module.name``; ``module:NAME`` for a constant) to the dump of its syntax
        tree without docstrings, in the order found.
    """
    found: dict[str, str] = {}
    todo: list[tuple[ModuleType, ast.AST]] = []  # code whose names are still to follow

    def visit_object(obj: Any) -> None:
        obj = inspect.unwrap(obj) if callable(obj) else obj
        key = f"{obj.__module__}.{obj.__qualname__}"
        if key in found:
            return
        tree = _code_tree(obj)
        found[key] = ast.dump(tree)
        todo.append((sys.modules[obj.__module__], tree))

    def visit_constant(module: ModuleType, name: str) -> None:
        hit = _constant_node(module, name)
        if hit is None:
            return
        home, stmt = hit
        key = f"{home.__name__}:{name}"
        if key in found:
            return
        found[key] = ast.dump(stmt)
        todo.append((home, stmt))

    def resolve(value: Any, module: ModuleType, name: str | None) -> None:
        if isinstance(value, ModuleType):
            return
        if inspect.isfunction(value) and value.__name__ == "<lambda>":  # bound by an assignment
            if name is not None and _ours(module.__name__):
                visit_constant(module, name)
        elif (inspect.isfunction(value) or inspect.isclass(value)) and _ours(getattr(value, "__module__", None)):
            visit_object(value)
        elif name is not None and not callable(value) and _ours(module.__name__):
            visit_constant(module, name)

    for obj in objects:
        visit_object(obj)
    while todo:
        module, tree = todo.pop(0)
        scope = {**vars(module), **_local_imports(tree, module)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in scope:
                resolve(scope[node.id], module, node.id)
            elif isinstance(node, ast.Attribute):  # mod.name or mod.sub.name with mod one of ours
                chain, base = [node.attr], node.value
                while isinstance(base, ast.Attribute):
                    chain.append(base.attr)
                    base = base.value
                if not isinstance(base, ast.Name) or not isinstance(scope.get(base.id), ModuleType):
                    continue
                owner: Any = scope[base.id]
                for part in reversed(chain):
                    if not isinstance(owner, ModuleType) or not _ours(owner.__name__) or not hasattr(owner, part):
                        owner = None
                        break
                    parent, owner = owner, getattr(owner, part)
                if owner is not None:
                    resolve(owner, parent, chain[0])
    return found


def source_sha1(*objects: Callable | type) -> str:
    """SHA-1 of the code of ``objects`` and of the ``gantools`` code they reach.

    The syntax trees of :func:`code_closure` without docstrings and comments, each under its name
    without the module (so moving a function, unchanged, to another module keeps the SHA-1):
    editing a docstring, a comment or the layout of the code leaves it unchanged; any change to
    what the code does (a statement, a default value, a name), in ``objects`` or in a helper they
    call, changes it.

    Parameters
    ----------
    *objects : function or class
        The code whose output is stored, e.g. ``energy.train_engan, metrics.mode_balance``.

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
    closure = code_closure(*objects)
    return hashlib.sha1("\n".join(f"{_portable(k)}\n{v}" for k, v in closure.items()).encode()).hexdigest()


def _portable(key: str) -> str:
    """A closure key without its module: ``gantools.energy.train_engan`` -> ``train_engan``,
    ``gantools.nets:ACTIVATIONS`` -> ``ACTIVATIONS``; moving code to another module keeps its hash."""
    if ":" in key:
        return key.partition(":")[2]
    parts = key.split(".")
    # the module part is every leading component that names a module of the package
    for i in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:i]) in sys.modules:
            return ".".join(parts[i:])
    return key


RESULTS_DIR_ENV = "GANTOOLS_RESULTS_DIR"
"""Environment variable that sends :func:`save` and :func:`load` to another folder (a spot check's
rerun writes there, never over the shipped results)."""


def _folder() -> Path:
    other = os.environ.get(RESULTS_DIR_ENV)
    return Path(other) if other else Path(str(resources.files("gantools") / "results"))


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


PROVENANCE = ("code", "source_sha1", "command", "settings", "torch", "python", "machine", "date")
"""Keys :func:`save` adds to a result, beside ``digest``."""


def _command() -> str:
    """The command that is running, as a user would type it from the repository's root."""
    script = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    root = Path(__file__).resolve().parents[1]
    try:
        shown = str(script.relative_to(root)) if script else "?"
    except ValueError:
        shown = str(script)
    return shlex.join(["python", shown, *sys.argv[1:]])


def _edited_since_import(code: Sequence[Callable | type]) -> list[str]:
    """Files of the modules in ``code``'s closure modified after ``gantools`` was imported."""
    import gantools

    started = getattr(gantools, "_IMPORTED_AT", None)
    if started is None:
        return []
    modules = {k.partition(":")[0] if ":" in k else k for k in code_closure(*code)}
    files = set()
    for key in modules:
        parts = key.split(".")
        for i in range(len(parts), 0, -1):
            mod = sys.modules.get(".".join(parts[:i]))
            if mod is not None and getattr(mod, "__file__", None):
                files.add(mod.__file__)
                break
    return sorted(f for f in files if os.stat(f).st_mtime > started)


def digest(result: dict[str, Any]) -> str:
    """SHA-256 of a stored result's numbers, settings and provenance (every key but ``digest``).

    Parameters
    ----------
    result : dict
        As written by :func:`save` or returned by :func:`load`.

    Returns
    -------
    str
        64 hexadecimal digits; any edit of a number, a setting or the command changes it.
    """
    body = {k: v for k, v in result.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def save(name: str, result: dict[str, Any], *, code: Sequence[Callable | type],
         settings: dict[str, Any] | None = None) -> Path:
    """Write ``result`` as ``gantools/results/<name>.json`` with its provenance and digest.

    Adds ``code`` (qualified names), ``source_sha1`` (of their code closure), ``command`` (the
    command line that is running, from the repository's root), ``settings``, ``torch``,
    ``python``, ``machine``, ``date`` and finally ``digest`` (:func:`digest`) to a copy of
    ``result``. The folder is ``gantools/results`` unless :data:`RESULTS_DIR_ENV` names another.

    Parameters
    ----------
    name : str
        See :func:`path`.
    result : dict
        JSON-serialisable numbers of the run.
    code : sequence of function or class
        The functions whose behaviour the numbers record.
    settings : dict, optional
        The run's settings (e.g. ``vars(args)`` of the benchmark's parser); JSON-serialisable.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If ``result`` already uses a key that :func:`save` adds.
    RuntimeError
        If a file of the code's closure changed on disk after ``gantools`` was imported (the
        numbers would come from older code than the SHA-1, computed from the files, records).
    """
    import torch

    clash = sorted(set(result) & {*PROVENANCE, "digest"})
    if clash:
        raise ValueError(f"result keys {clash} are reserved for the provenance that save adds")
    edited = _edited_since_import(code)
    if edited:
        raise RuntimeError(f"{', '.join(edited)} changed on disk while this run was going on, so the "
                           "numbers may come from older code than the SHA-1 would record; run it again")
    out = path(name)
    meta = dict(code=[f"{o.__module__}.{o.__qualname__}" for o in code], source_sha1=source_sha1(*code),
                command=_command(), settings=dict(settings or {}), torch=torch.__version__,
                python=platform.python_version(), machine=platform.machine(),
                date=datetime.date.today().isoformat())
    record = json.loads(json.dumps({**result, **meta}))   # as it will read back
    record["digest"] = digest(record)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
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


def _find(qualified: str) -> Callable | type:
    """Import ``module.qualname``; where the module no longer defines it, the one object of that
    qualified name defined in a ``gantools`` module (code that moved keeps its record)."""
    import pkgutil

    module, _, name = qualified.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        pass
    package = importlib.import_module(_PACKAGE)
    hits = []
    for info in pkgutil.walk_packages(package.__path__, _PACKAGE + "."):
        try:
            mod = importlib.import_module(info.name)
        except ImportError:
            continue
        obj = getattr(mod, name, None)
        if obj is not None and getattr(obj, "__module__", None) == info.name:
            hits.append(obj)
    if len(hits) != 1:
        raise ValueError(f"the stored result's code {qualified!r} no longer exists"
                         + (f" (found {len(hits)} candidates named {name!r})" if hits else ""))
    return hits[0]


def code_of(result: dict[str, Any]) -> list[Callable | type]:
    """The functions and classes whose code ``result`` records, imported by their qualified names.

    A name whose module no longer defines it is looked up in every ``gantools`` module (moved code
    keeps its record, and :func:`source_sha1` does not depend on the module either).

    Parameters
    ----------
    result : dict
        As returned by :func:`load`.

    Returns
    -------
    list of function or class
        In the order :func:`save` was given them.

    Raises
    ------
    ValueError
        If ``result`` records no code, or a name no longer exists anywhere (the message names it).
    """
    names_ = result.get("code")
    if not names_:
        raise ValueError("the result records no code (it was not written by gantools.stored.save)")
    return [_find(q) for q in names_]


def is_intact(result: dict[str, Any]) -> bool:
    """Whether ``result``'s numbers, settings and provenance are as :func:`save` wrote them.

    Parameters
    ----------
    result : dict
        As returned by :func:`load`.

    Returns
    -------
    bool
        ``True`` when the stored ``digest`` equals :func:`digest` of the rest; ``False`` for an
        edited record or one without a digest.
    """
    return isinstance(result.get("digest"), str) and result["digest"] == digest(result)


def is_current(result: dict[str, Any], *code: Callable | type) -> bool:
    """Whether ``result`` is intact and was produced by the present code.

    Parameters
    ----------
    result : dict
        As returned by :func:`load`.
    *code : function or class
        The same functions, in the same order, that were passed to :func:`save`; by default those
        ``result`` names (:func:`code_of`).

    Returns
    -------
    bool
        ``True`` when the record is intact (:func:`is_intact`) and the stored SHA-1 equals
        :func:`source_sha1` of that code now (and of the ``gantools`` code it reaches); ``False``
        also when a recorded name no longer exists.
    """
    if not is_intact(result):
        return False
    if not code:
        try:
            code = tuple(code_of(result))
        except ValueError:
            return False
    return result.get("source_sha1") == source_sha1(*code)
