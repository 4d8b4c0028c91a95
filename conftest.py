"""pytest hooks for the notebooks run by nbval.

* Print how long each notebook took (its cells' run time summed).
* Run in parallel: ``pytest`` starts two workers (pytest-xdist, ``-n 2 --dist loadfile`` in
  ``pyproject.toml``: all cells of a notebook run on one worker, in order) and hands out the slowest
  notebooks first (:data:`_EXPECTED_SECONDS`), so that the workers finish together. A worker
  reports each notebook when its last cell is done (``report.user_properties``); the controller
  prints the times at the end. The same hooks work without xdist (``-n 0``).
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
_NB_DONE: list[dict] = []  # one entry per finished notebook (the controller's copy under xdist)

# Rough seconds each slow notebook takes on one thread, rounded; only their order matters: the
# run starts with the slowest, so that the workers finish together. Other notebooks count 5 s;
# the unit-test files come after every notebook.
_EXPECTED_SECONDS = {
    "part2_energy/02_gan_analysis_sampling.ipynb": 150,
    "part2_energy/03_entropy_table.ipynb": 95,
    "part3_monoflow/06_explorer.ipynb": 40,
    "part2_energy/04_latent_mcmc.ipynb": 35,
    "part2_energy/06_sampler_explorer.ipynb": 30,
    "part2_energy/05_jacobian_caveat.ipynb": 30,
    "part3_monoflow/05_monoflow_family.ipynb": 20,
    "part4_ign/05_seeds_and_analysis.ipynb": 20,
    "part1_dynamics/05_remedies_l2_ema.ipynb": 20,
    "part4_ign/03_ign_2d.ipynb": 15,
    "part4_ign/04_ign_digits.ipynb": 15,
    "part4_ign/06_autoencoder_vs_unet.ipynb": 15,
    "part3_monoflow/03_particle_flow.ipynb": 10,
    "part3_monoflow/02_ratio_estimation.ipynb": 10,
    "part3_monoflow/04_distillation.ipynb": 10,
}


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


def _expected_seconds(file_id: str) -> float:
    """How long the test file ``file_id`` (a node id's path part) is expected to take: notebooks only."""
    if not file_id.endswith(".ipynb"):
        return 0.0
    return next((s for name, s in _EXPECTED_SECONDS.items() if file_id.endswith(name)), 5.0)


def pytest_collection_modifyitems(items):
    for item in items:
        if "::Cell " in item.nodeid:
            _NB_ITEMS[str(item.path)] += 1
    # slowest notebooks first, then the other files in collection order; a file's items keep their order
    first: dict[str, tuple[float, int]] = {}
    for i, item in enumerate(items):
        file_id = item.nodeid.split("::")[0]
        first.setdefault(file_id, (-_expected_seconds(file_id), i))
    items.sort(key=lambda item: first[item.nodeid.split("::")[0]])


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """Mark a notebook's last cell on this worker: its teardown report carries the notebook's result."""
    if "::Cell " in item.nodeid:
        item._gantools_last_cell = nextitem is None or nextitem.path != item.path


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
    if report.when == "teardown" and getattr(item, "_gantools_last_cell", False):
        report.user_properties.append(("gantools_notebook", _finish_notebook(path, report.nodeid.split("::")[0])))


def _finish_notebook(path: str, nodeid: str) -> dict:
    """Store a notebook whose cells are done in the execution cache; its time and what was stored."""
    import time

    seconds = _NB_TIMES.get(nodeid, 0.0)
    cells = _NB_CELLS.pop(path, {})
    status = ""
    if not os.environ.get("GANTOOLS_NO_NB_CACHE"):
        if _NB_ITEMS.get(path) != len(cells):
            status = "not cached (not every cell ran)"
        for attempt in range(3) if not status else ():
            try:
                status = _cache_notebook(path, cells, seconds)
                break
            except Exception as err:  # the cache is an optimisation: never fail the tests on it
                status = f"not cached ({type(err).__name__}: {err})"
                if "locked" not in str(err):  # the other worker writing the cache's database: retry
                    break
                time.sleep(1 + attempt)
    _NB_WIDGETS.pop(path, None)
    return {"notebook": nodeid, "seconds": seconds, "status": status}


def pytest_runtest_logreport(report):
    """Collect the notebooks' results (on the controller, from every worker)."""
    for key, value in getattr(report, "user_properties", ()):
        if key == "gantools_notebook":
            _NB_DONE.append(dict(value))


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


# the book's time goals (benchmarks/README.md, "The whole book"): every notebook within EACH_S, at most
# LONG_COUNT of them within LONG_S, all of them within BOOK_S of notebook time (2-core CPU, quiet)
EACH_S, LONG_S, LONG_COUNT, BOOK_S = 45.0, 90.0, 2, 240.0


def pytest_terminal_summary(terminalreporter):
    if not _NB_DONE:
        return
    terminalreporter.section("notebook execution times (nbval, cells summed)")
    total = 0.0
    for done in sorted(_NB_DONE, key=lambda d: d["notebook"]):
        secs, nodeid, note = done["seconds"], done["notebook"], done["status"]
        total += secs
        flag = (f"  <-- over {LONG_S:.0f} s" if secs > LONG_S else f"  <-- over {EACH_S:.0f} s" if secs > EACH_S else "")
        terminalreporter.write_line(f"{secs:7.1f} s  {nodeid}{flag}  [{note}]" if note else f"{secs:7.1f} s  {nodeid}{flag}")
    terminalreporter.write_line(f"{total:7.1f} s  all notebooks")
    if len(_NB_DONE) > 1:
        secs = [d["seconds"] for d in _NB_DONE]
        long, over = sum(s > EACH_S for s in secs), sum(s > LONG_S for s in secs)
        ok = total <= BOOK_S and over == 0 and long <= LONG_COUNT
        terminalreporter.write_line(
            f"goal: all notebooks within {BOOK_S:.0f} s ({total / BOOK_S:.2f}x), each within {EACH_S:.0f} s except at "
            f"most {LONG_COUNT} within {LONG_S:.0f} s ({long} over {EACH_S:.0f} s, {over} over {LONG_S:.0f} s): "
            f"{'met' if ok else 'not met'} (a quiet machine's figure; a shared one reads slower)")
