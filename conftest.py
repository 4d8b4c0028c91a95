"""pytest hooks for the notebooks run by nbval.

* Print how long each notebook took (its cells' run time summed).
* Share that one execution with the book build: when every cell of a notebook passed, the
  notebook with the outputs nbval collected is stored in jupyter-book's execution cache
  (``_build/.jupyter_cache``), keyed by its code as jupyter-cache keys it. ``jupyter-book build``
  (``execute_notebooks: cache``) then renders those outputs instead of running the notebook again.
  For notebooks with live widgets the widgets' state is read from the kernel after the last cell
  (``ipywidgets.Widget.get_manager_state``) and stored in the notebook's metadata, as nbclient
  stores it, so the rendered page shows them too. Set ``GANTOOLS_NO_NB_CACHE=1`` to skip this.
"""
from __future__ import annotations

import os
import pathlib
import re
from collections import defaultdict
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parent
CACHE = ROOT / "_build" / ".jupyter_cache"

_NB_TIMES: dict[str, float] = defaultdict(float)
_NB_CELLS: dict[str, dict[int, tuple[bool, Any]]] = defaultdict(dict)
_NB_ITEMS: dict[str, int] = defaultdict(int)
_NB_WIDGETS: dict[str, dict] = {}
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_STATE_MARK = "@@GANTOOLS-WIDGET-STATE@@"


def _quiet(source: str) -> bool:
    """Whether Jupyter would hide the cell's result: its last token is ``;``.

    IPython decides this from the cell in its history; nbval executes with ``store_history=False``,
    so its kernel shows the result of a cell ending in ``;`` (e.g. a check cell's last ``claim``)
    that Jupyter, and the book's own executor, would hide.
    """
    from IPython.core.displayhook import DisplayHook

    try:
        return DisplayHook.semicolon_at_end_of_expression(source)
    except Exception:  # a cell that does not tokenize (cell magics): leave its outputs alone
        return False


def pytest_collection_modifyitems(items):
    for item in items:
        if "::Cell " in item.nodeid:
            _NB_ITEMS[str(item.path)] += 1


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if "::Cell " not in report.nodeid:
        return
    path = str(item.path)
    if report.when == "call":
        _NB_TIMES[report.nodeid.split("::")[0]] += report.duration
        outs = getattr(item, "test_outputs", None)
        if report.passed and figure_as_text(outs):
            report.outcome = "failed"
            report.longrepr = (f"the cell shows a figure as text ({figure_as_text(outs)!r}) instead of an "
                               "image: the figure's class has no image formatter in the kernel (see "
                               "gantools.plot.NotebookFigure)")
        _NB_CELLS[path][item.cell_num] = (report.passed, outs)
        last = sum(c.cell_type == "code" for c in item.parent.nb.cells) - 1
        has_widgets = any(_WIDGET_MIME in o.get("data", {}) for _, os_ in _NB_CELLS[path].values()
                          for o in (os_ or []))
        if report.passed and item.cell_num == last and has_widgets and not os.environ.get("GANTOOLS_NO_NB_CACHE"):
            try:
                _NB_WIDGETS[path] = _widget_state(item.parent.kernel)
            except Exception:  # then the build executes the notebook itself
                pass
    elif report.failed:  # setup or teardown error: never cache
        _NB_CELLS[path][-1] = (False, None)


_FIGURE_TEXT = re.compile(r"<\w*Figure size [^>]*>")


def figure_as_text(outputs: Any) -> str:
    """The ``<Figure size ...>`` text of a cell output that shows a figure as text, else ``""``.

    A figure the kernel cannot render as an image (e.g. a ``matplotlib.figure.Figure`` made
    outside pyplot before the inline backend registered its formatter) is displayed as its
    ``text/plain`` repr only; the book and JupyterLab then show that text where the figure
    should be. An output with an image beside the text is fine.
    """
    for out in outputs or []:
        data = out.get("data", {}) if hasattr(out, "get") else {}
        text = data.get("text/plain", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        match = _FIGURE_TEXT.search(text)
        if match and not any(k.startswith("image/") for k in data):
            return match.group(0)
    return ""


def _widget_state(kernel: Any, timeout: float = 60) -> dict:
    """The kernel's widget state, as nbclient saves it in ``metadata.widgets``."""
    import json

    code = ("import json as _gj, ipywidgets as _gw\n"
            f"print({_STATE_MARK!r} + _gj.dumps(_gw.Widget.get_manager_state(drop_defaults=False)))")
    msg_id = kernel.execute_cell_input(code, allow_stdin=False)
    kernel.await_reply(msg_id, timeout=timeout)
    text = ""
    while True:
        msg = kernel.get_message(stream="iopub", timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            text += msg["content"]["text"]
        elif msg["msg_type"] == "error":
            raise RuntimeError(msg["content"].get("evalue", "widget state"))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    return json.loads(text.split(_STATE_MARK, 1)[1])


def _cache_notebook(path: str, cells: dict[int, tuple[bool, Any]], seconds: float) -> str:
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if len(cells) != len(code) or not all(ok and outs is not None for ok, outs in cells.values()):
        return "not cached (a cell failed, was skipped or did not run)"
    widgets = any(_WIDGET_MIME in o.get("data", {}) for _, outs in cells.values() for o in outs)
    if widgets:
        if path not in _NB_WIDGETS:
            return "not cached (widget state not read: the build runs it and records it)"
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": _NB_WIDGETS[path]}
    for i, cell in enumerate(code):
        outs = cells[i][1]
        cell.outputs = [nbformat.from_dict(dict(o)) for o in outs]
        if _quiet(cell.source):  # nbval runs cells without history, so IPython ignores a final ';'
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "execute_result"]
        cell.execution_count = i + 1
        for o in cell.outputs:
            if o.get("output_type") == "execute_result":
                o["execution_count"] = i + 1
    CACHE.mkdir(parents=True, exist_ok=True)
    get_cache(str(CACHE)).cache_notebook_bundle(
        CacheBundleIn(nb, str(pathlib.Path(path).resolve()), data={"execution_seconds": seconds}),
        check_validity=False, overwrite=True)
    return "cached for the build" + (" with its widget state" if widgets else "")


def pytest_terminal_summary(terminalreporter):
    if not _NB_TIMES:
        return
    status: dict[str, str] = {}
    if not os.environ.get("GANTOOLS_NO_NB_CACHE"):
        for path, cells in _NB_CELLS.items():
            if _NB_ITEMS.get(path) != len(cells):
                status[path] = "not cached (not every cell ran)"
                continue
            rel = str(pathlib.Path(path).resolve().relative_to(ROOT)) if path.startswith(str(ROOT)) else path
            try:
                status[path] = _cache_notebook(path, cells, _NB_TIMES.get(rel, 0.0) or _NB_TIMES.get(path, 0.0))
            except Exception as err:  # the cache is an optimisation: never fail the tests on it
                status[path] = f"not cached ({type(err).__name__}: {err})"
    terminalreporter.section("notebook execution times (nbval, cells summed)")
    total = 0.0
    for nodeid, secs in sorted(_NB_TIMES.items()):
        total += secs
        flag = "  <-- over the 60 s budget" if secs > 60 else ""
        note = next((s for p, s in status.items() if p.endswith(nodeid)), "")
        terminalreporter.write_line(f"{secs:7.1f} s  {nodeid}{flag}  [{note}]" if note else f"{secs:7.1f} s  {nodeid}{flag}")
    terminalreporter.write_line(f"{total:7.1f} s  all notebooks")
