"""Smoke test of the notebooks in a real front end: JupyterLab (with jupyterlab-myst) in headless Chromium.

``python tools/lab_smoke.py`` starts a JupyterLab server on 127.0.0.1 (a free port, a random
token, its own settings, workspace and runtime folders) over a temporary copy of a few quick
notebooks, one of each part, opens each in Debian's ``chromium`` through selenium, runs all its
cells (JupyterLab's command ``notebook:run-all-cells``), waits until every cell has run, and checks
what a reader sees:

* no cell ended in an error, and the notebook's figures are images in the outputs (as many image
  outputs as the notebook makes figures, at least one), never a ``<Figure size ...>`` text;
* the Markdown is rendered by MyST: no raw directive or role text (``{exercise}``, ``{solution}``,
  ``{eq}``, ``{cite}``, ``{numref}``, ``{py:func}``, a code fence) is visible in a Markdown cell;
* every solution starts collapsed (its text is not visible) and every exercise is shown;
* every formula is typeset (no undefined macro: ``python tools/myst_forms.py`` expands the book's).

References jupyterlab-myst cannot resolve in a notebook (``{cite}``: it does not read
``references.bib``; ``{numref}`` to a figure named in a code cell's ``mystnb`` metadata) are
counted and printed, not failed: no source form renders them in both the book and JupyterLab.

It prints each notebook's time and the total wall time, and exits 1 with the problems listed.
``--shots DIR`` saves a screenshot of each notebook (top, first exercise) for a human to look at;
``--notebooks A B`` smoke-tests other notebooks (paths relative to the repository).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = [  # one of each part, the quickest (cells: about 10-40 s each on a 2-core CPU)
    "chapters/part1_dynamics/06_explorer.ipynb",
    "chapters/part2_energy/01_energy_likelihood.ipynb",
    "chapters/part3_monoflow/01_wgf_gaussians.ipynb",
    "chapters/part4_ign/02_ign_objective.ipynb",
]
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")
CELL_TIMEOUT = 240.0  # seconds for one notebook's run-all (each is meant to take <= 60 s)

# Raw MyST a reader must never see in a rendered Markdown cell.
RAW_MYST = re.compile(r"\{(?:exercise|solution|eq|cite|cite:[a-z]+|numref|math|py:[a-z]+|admonition|note)\}"
                      r"|```|:::\{|^\(\S+\)=$", re.M)

_STATE = r"""
const app = window.jupyterapp;
const nb = app && app.shell.currentWidget;
if (!nb || !nb.content || !nb.sessionContext) return {ready: false};
const sc = nb.sessionContext;
const kernel = sc.session && sc.session.kernel;
const cells = nb.content.widgets;
return {ready: sc.isReady && !!kernel, status: kernel ? kernel.status : 'none',
        n: cells.length, path: nb.context.path,
        pending: cells.filter(c => c.model.type === 'code' &&
                              (c.promptNode && c.promptNode.textContent.includes('*'))).length,
        unrun: cells.filter(c => c.model.type === 'code' && c.model.sharedModel.getSource().trim() &&
                             c.model.executionCount === null).length};
"""

_REPORT = r"""
const nb = window.jupyterapp.shell.currentWidget;
const out = {images: 0, figure_text: [], errors: [], raw: [], exercises: 0, solutions: 0,
             visible_solutions: [], markdown_unrendered: 0, math_errors: [], unresolved: []};
const visible = el => {
  if (!el) return false;
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return false;
  for (let e = el; e; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.display === 'none' || s.visibility === 'hidden') return false;
    if (e.tagName === 'DETAILS' && !e.open && e !== el && !el.closest('summary')) return false;
  }
  return true;
};
for (const cell of nb.content.widgets) {
  const node = cell.node;
  if (cell.model.type === 'code') {
    node.querySelectorAll('.jp-OutputArea-output').forEach(o => {
      out.images += o.querySelectorAll('img').length;
      const t = o.innerText || '';
      const m = t.match(/<\w*Figure size [^>]*>/);
      if (m && !o.querySelector('img')) out.figure_text.push(m[0]);
      if (o.classList.contains('jp-RenderedText') && o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr'
          && /Error|Traceback/.test(t)) out.errors.push(t.slice(0, 300));
    });
    node.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
        .forEach(o => out.errors.push((o.innerText || '').slice(0, 300)));
  } else if (cell.model.type === 'markdown') {
    if (!cell.rendered) out.markdown_unrendered += 1;
    const md = (node.querySelector('.jp-MarkdownOutput, .jp-RenderedMarkdown, .myst') || node).cloneNode(true);
    md.querySelectorAll('.katex, .katex-display, mjx-container, math, script, style').forEach(e => e.remove());
    out.raw.push(md.textContent || '');
    // jupyterlab-myst marks what it could not render: a formula (undefined macro), a reference, a citation
    node.querySelectorAll('.myst span.text-yellow-600[title]').forEach(w => {
      const title = w.getAttribute('title');
      (/control sequence|KaTeX|math/i.test(title) ? out.math_errors : out.unresolved).push(
        title.split(':')[0] + ': ' + (w.textContent || '').slice(0, 80));
    });
    // jupyterlab-myst: admonition-like boxes carry the directive's kind in their classes
    node.querySelectorAll('aside, details, div').forEach(box => {
      const cls = (box.className && box.className.baseVal === undefined) ? box.className : '';
      if (/\bexercise\b/.test(cls) || box.getAttribute('data-kind') === 'exercise') out.exercises += 1;
    });
  }
}
return out;
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _count_figures(nb_path: Path) -> int:
    """Code cells of the notebook that make a figure (``plt.show()``, a returned static view, ...)."""
    cells = json.loads(nb_path.read_text())["cells"]
    pat = re.compile(r"plt\.show\(\)|\.plot_run\(|plt\.subplots\(|\.figure\(\)|to_jshtml\(")
    return sum(bool(pat.search("".join(c["source"]))) for c in cells if c["cell_type"] == "code")


def _solutions(nb_path: Path) -> list[str]:
    """The first words of each solution of the notebook (to find them on the page)."""
    texts = []
    for c in json.loads(nb_path.read_text())["cells"]:
        if c["cell_type"] != "markdown":
            continue
        src = "".join(c["source"])
        bodies = [m.group(2) for m in re.finditer(r"^(`{3,}|:{3,})\{solution\}[^\n]*\n(.*?)^\1\s*$", src, re.M | re.S)]
        bodies += re.findall(r"<details>\s*<summary>[^<]*</summary>(.*?)</details>", src, re.S)  # a converted copy
        for text in bodies:
            # a run of plain words (no math, roles or markup) that the page would show verbatim
            plain = re.sub(r"^(`{3,}|~{3,}).*?^\1[ \t]*$|\$\$.*?\$\$|\$[^$\n]*\$|\{[a-z:]+\}`[^`\n]*`|`[^`\n]*`"
                           r"|<[^>\n]+>|^:[^\n]*$", "|", text, flags=re.S | re.M)
            runs = [r.strip() for r in re.split(r"[|\n*_\[\]()]", plain) if len(r.strip()) >= 16]
            if runs:
                texts.append(" ".join(runs[0].split()[:6]))
    return texts


def _start_lab(work: Path, port: int, token: str, plain: bool = False) -> subprocess.Popen:
    settings = work / ".lab-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    # render every cell (no virtual scrolling), so the checks see the whole notebook
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    apputils = settings / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True)
    (apputils / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    config = work / ".jupyter-config"
    (config / "labconfig").mkdir(parents=True)
    if plain:  # JupyterLab without MyST (CommonMark and MathJax, as Colab and plain Jupyter render)
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"jupyterlab-myst": True}}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(work / ".lab-ws"),
               JUPYTER_RUNTIME_DIR=str(work / ".runtime"), MPLBACKEND="module://matplotlib_inline.backend_inline")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", "--ServerApp.open_browser=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI often run as root
        cmd.append("--allow-root")
    log = open(work / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api/status?token={token}"
    t0 = time.time()
    while time.time() - t0 < 90:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited ({proc.returncode}):\n{(work / 'lab.log').read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("JupyterLab did not answer within 90 s:\n" + (work / "lab.log").read_text()[-3000:])


def _browser(profile: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1800", f"--user-data-dir={profile}",
                 "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1;localhost"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(90)
    driver.set_script_timeout(90)
    return driver


def _wait(driver, predicate, timeout: float, what: str, poll: float = 0.5):
    t0 = time.time()
    last = None
    while time.time() - t0 < timeout:
        last = driver.execute_script(_STATE)
        if predicate(last):
            return last
        time.sleep(poll)
    raise TimeoutError(f"{what} (after {timeout:.0f} s; last state {last})")


def _visible_text(driver) -> str:
    return driver.execute_script(
        "const nb = window.jupyterapp.shell.currentWidget;"
        "return nb.content.widgets.filter(c => c.model.type === 'markdown').map(c => c.node.innerText).join('\\n');")


def _show(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def check_notebook(driver, base: str, token: str, rel: str, src: Path, shots: Path | None) -> list[str]:
    """Open, run and inspect one notebook; the problems found (empty when it passes)."""
    problems: list[str] = []
    driver.get(f"{base}/lab/tree/{rel}?token={token}&reset")
    _wait(driver, lambda s: s.get("ready") and s.get("status") == "idle" and s.get("path") == rel, 120,
          f"{rel}: the notebook or its kernel did not open")
    driver.execute_script("return window.jupyterapp.commands.execute('notebook:run-all-cells');")
    time.sleep(1.0)
    _wait(driver, lambda s: s.get("status") == "idle" and s.get("pending") == 0 and s.get("unrun") == 0,
          CELL_TIMEOUT, f"{rel}: the cells did not finish running")
    time.sleep(1.5)  # let the last outputs and the Markdown typesetting land
    rep = driver.execute_script(_REPORT)
    problems += [f"cell error: {e}" for e in rep["errors"]]
    want = _count_figures(src)
    if rep["images"] < max(want, 1):
        problems.append(f"{rep['images']} image(s) in the outputs, the notebook makes {want} figure(s)")
    problems += [f"figure shown as text: {t}" for t in rep["figure_text"]]
    if rep["markdown_unrendered"]:
        problems.append(f"{rep['markdown_unrendered']} Markdown cell(s) not rendered")
    for text in rep["raw"]:
        for m in RAW_MYST.finditer(text):
            s = max(m.start() - 50, 0)
            problems.append(f"raw MyST visible in a Markdown cell: ...{text[s:m.end() + 50]!r}")
    problems += [f"formula not rendered ({e})" for e in rep["math_errors"][:5]]
    if rep["math_errors"]:
        problems.append(f"{len(rep['math_errors'])} formula(s) not rendered in all: the book's TeX macros "
                        "exist only in its MathJax; `python tools/myst_forms.py` writes them out")
    if rep["unresolved"]:  # known limits of jupyterlab-myst (see the docstring): reported, not failed
        kinds = sorted({u.split(":")[0] for u in rep["unresolved"]})
        print(f"        note: {len(rep['unresolved'])} reference(s) JupyterLab cannot resolve ({', '.join(kinds)})")
    shown = _visible_text(driver)
    n_ex = len(re.findall(r"\{exercise\}", src.read_text()))
    got_ex = len(re.findall(r"^Exercise \d+", shown, re.M))
    if got_ex < n_ex:
        problems.append(f"{n_ex} exercise(s) in the notebook, {got_ex} shown with a number ('Exercise n')")
    for words in _solutions(src):
        if words in re.sub(r"\s+", " ", shown):
            problems.append(f"a solution is visible before it is opened (its text {words!r} shows)")
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
        stem = Path(rel).stem
        driver.save_screenshot(str(shots / f"{stem}_end.png"))
        driver.execute_script(
            "const nb = window.jupyterapp.shell.currentWidget;"
            "const c = nb.content.widgets.find(w => w.model.type === 'markdown' && /\\{exercise\\}/.test(w.model.sharedModel.getSource()));"
            "if (c) c.node.scrollIntoView();")
        time.sleep(0.5)
        driver.save_screenshot(str(shots / f"{stem}_exercise.png"))
        driver.execute_script(
            "const nb = window.jupyterapp.shell.currentWidget;"
            "const c = nb.content.widgets.find(w => w.model.type === 'code' && w.node.querySelector('.jp-OutputArea-output img'));"
            "if (c) c.node.scrollIntoView();")
        time.sleep(0.5)
        driver.save_screenshot(str(shots / f"{stem}_figure.png"))
    driver.execute_script("return window.jupyterapp.commands.execute('kernelmenu:shutdown');")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebooks", nargs="+", default=NOTEBOOKS, help="notebooks, relative to the repository")
    ap.add_argument("--shots", type=Path, default=None, help="save screenshots here")
    ap.add_argument("--plain", action="store_true",
                    help="without jupyterlab-myst (what Colab and plain Jupyter show; e.g. for the Colab copies)")
    args = ap.parse_args(argv)
    t_start = time.time()
    try:
        import selenium  # noqa: F401
    except ImportError:
        print("lab_smoke: selenium is not installed (pip install -r requirements.txt)", file=sys.stderr)
        return 1
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        print(f"lab_smoke: no Chromium ({CHROMIUM}) or chromedriver ({CHROMEDRIVER}); "
              "on Debian: apt-get install chromium chromium-driver", file=sys.stderr)
        return 1
    from importlib.util import find_spec

    if find_spec("jupyterlab_myst") is None:
        print("lab_smoke: jupyterlab-myst is not installed (pip install -r requirements.txt)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="lab-smoke-"))
    profile = tempfile.mkdtemp(prefix="lab-smoke-chromium-")
    failures: dict[str, list[str]] = {}
    proc = driver = None
    try:
        rels = []
        for nb in args.notebooks:
            src = (ROOT / nb).resolve()
            if not src.is_file():
                raise FileNotFoundError(f"no notebook {nb}")
            rel = Path(nb).name if not any(r == Path(nb).name for r, _ in rels) else f"{len(rels)}_{Path(nb).name}"
            shutil.copy(src, work / rel)
            rels.append((rel, src))
        token = secrets.token_hex(16)
        port = _free_port()
        proc = _start_lab(work, port, token, plain=args.plain)
        driver = _browser(profile)
        base = f"http://127.0.0.1:{port}"
        for rel, src in rels:
            t0 = time.time()
            try:
                problems = check_notebook(driver, base, token, rel, src, args.shots)
            except Exception as err:  # a timeout or a browser error: report it, go on
                problems = [f"{type(err).__name__}: {err}"]
            print(f"{time.time() - t0:6.1f} s  {_show(src)}  "
                  f"{'ok' if not problems else 'FAILED'}", flush=True)
            if problems:
                failures[str(_show(src))] = problems
    except Exception as err:
        failures["(setup)"] = [f"{type(err).__name__}: {err}"]
    finally:
        if driver is not None:
            driver.quit()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{time.time() - t_start:6.1f} s  lab smoke test, wall time")
    if failures:
        print("\nlab_smoke FAILED: what a reader of these notebooks sees in JupyterLab is wrong:", file=sys.stderr)
        for nb, problems in failures.items():
            print(f"  {nb}:", file=sys.stderr)
            for p in problems[:20]:
                print(f"    - {p}", file=sys.stderr)
        return 1
    print("lab_smoke: every notebook ran in JupyterLab with its figures, rendered MyST and collapsed solutions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
