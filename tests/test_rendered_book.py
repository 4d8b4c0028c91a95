"""The rendered book as a reader meets it: every page of ``_build/html`` opened in headless Chromium.

The built HTML is served on localhost and every page is loaded in Debian's ``chromium`` (driven by
selenium through ``/usr/bin/chromedriver``) with the network cut off: a proxy that points nowhere
catches every request that is not to localhost, and Chrome's own background traffic is switched
off by flags. A page fails when

* it asked for anything off localhost (the book must work offline: MathJax, RequireJS and the
  ipywidgets manager come from ``_static/``; see ``tools/fetch_static_assets.py``), or a local
  request failed (a missing script, style sheet, font or image);
* it has math that MathJax did not typeset (a ``.math`` element without an ``mjx-container``),
  math that MathJax typeset as an error or an undefined macro (red text: the macros of
  ``_config.yml`` must apply), or raw TeX left in the prose (``$$``, ``\\(``, ``$..\\cmd..$``; code and API signatures excepted);
* an image did not load (``naturalWidth == 0``), an animation saved with ``to_jshtml`` is missing
  where the notebook made one, or a saved widget view was not rendered;
* a local link does not resolve to an existing file (and, with a ``#fragment``, to an element
  with that id in the target page).

And no page shows a figure as its text ``<Figure size ...>`` instead of an image (read from the
HTML files, without the browser).

Run it after a build::

    jupyter-book build . && pytest tests/test_rendered_book.py
    BOOK_HTML=/tmp/jb/_build/html pytest tests/test_rendered_book.py   # another build folder

Without a build (or without Chromium/selenium) the test is skipped, so plain ``pytest`` passes
before a build; ``BOOK_BROWSER_TEST=1`` (set by ``.ci/run``) turns every skip into a failure.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
REQUIRED = os.environ.get("BOOK_BROWSER_TEST", "") not in ("", "0")
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", ".doctrees", "_panels_static"}


def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"BOOK_BROWSER_TEST is set but {reason}")
    pytest.skip(reason)


def _pages() -> list[str]:
    if not (HTML / "index.html").is_file():
        return []
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if not (set(p.relative_to(HTML).parts[:-1]) & SKIP_DIRS))


PAGES = _pages()


# ---------------------------------------------------------------------------------------------
# a quiet static server and one browser for the whole module
# ---------------------------------------------------------------------------------------------
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D401 - silence the access log
        pass


@pytest.fixture(scope="module")
def server():
    if not PAGES:
        _skip_or_fail(f"no built book at {HTML} (run `jupyter-book build .` first)")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(server):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _skip_or_fail("selenium is not installed (pip install -r requirements.txt)")
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        _skip_or_fail(f"no Chromium ({CHROMIUM}) or chromedriver ({CHROMEDRIVER}); "
                      "on Debian: apt-get install chromium chromium-driver")
    profile = tempfile.mkdtemp(prefix="book-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
                 "--metrics-recording-only", "--no-default-browser-check", "--mute-audio",
                 "--window-size=1280,1024", f"--user-data-dir={profile}",
                 # every request that is not to localhost goes to a proxy that does not exist
                 "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1;localhost"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# what to expect from the source of a page
# ---------------------------------------------------------------------------------------------
def _source_notebook(page: str) -> Path | None:
    nb = ROOT / Path(page).with_suffix(".ipynb")
    return nb if nb.is_file() else None


def _expected_animations(page: str) -> int:
    """Number of code cells of the page's notebook that display a ``to_jshtml`` animation."""
    nb = _source_notebook(page)
    if nb is None:
        return 0
    cells = json.loads(nb.read_text())["cells"]
    return sum("to_jshtml(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")


@functools.lru_cache(maxsize=None)
def _ids(path: Path) -> frozenset:
    html = path.read_text(errors="replace")
    return frozenset(re.findall(r'\b(?:id|name)="([^"]+)"', html))


def _check_link(page: str, href: str) -> str | None:
    """None if the local link ``href`` (absolute URL on the test server) resolves, else why not."""
    parts = urllib.parse.urlsplit(href)
    path = urllib.parse.unquote(parts.path).lstrip("/")
    target = HTML / path
    if path == "" or target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return f"{href} -> no file {target.relative_to(HTML) if target.is_relative_to(HTML) else target}"
    frag = urllib.parse.unquote(parts.fragment)
    if frag and target.suffix == ".html" and frag not in _ids(target):
        return f"{href} -> no element with id {frag!r} in {target.relative_to(HTML)}"
    return None


# ---------------------------------------------------------------------------------------------
# in the page
# ---------------------------------------------------------------------------------------------
_WAIT_MATHJAX = """
const done = arguments[arguments.length - 1];
const hasMath = document.querySelector('.math') !== null;
if (!hasMath) { done('no-math'); return; }
const t0 = Date.now();
(function poll() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done('ok'), (e) => done('error: ' + e));
  } else if (Date.now() - t0 > 20000) { done('MathJax never loaded');
  } else { setTimeout(poll, 50); }
})();
"""

_MATH_REPORT = """
const out = {n_math: 0, untypeset: [], errors: []};
const maths = document.querySelectorAll('.math');
out.n_math = maths.length;
maths.forEach(el => {
  if (!el.querySelector('mjx-container')) out.untypeset.push(el.textContent.slice(0, 80));
});
if (window.MathJax && MathJax.startup && MathJax.startup.document && MathJax.startup.toMML) {
  for (const item of MathJax.startup.document.math) {
    const mml = MathJax.startup.toMML(item.root);
    if (/<merror|mathcolor="red"/.test(mml)) out.errors.push(String(item.math).slice(0, 80));
  }
}
out.n_mjx = document.querySelectorAll('mjx-container').length;
// prose text, without code, outputs and typeset math
const clone = document.querySelector('main') ? document.querySelector('main').cloneNode(true)
                                             : document.body.cloneNode(true);
clone.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml, .math, .output, dt.sig')
     .forEach(e => e.remove());
out.prose = clone.textContent;
return out;
"""

_IMG_REPORT = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.querySelectorAll('img'));
imgs.forEach(img => { img.loading = 'eager'; });
const timeout = new Promise(r => setTimeout(r, 15000));
Promise.race([Promise.all(imgs.map(img => img.decode().catch(() => null))), timeout]).then(() => {
  done({
    n: imgs.length,
    broken: imgs.filter(img => !(img.complete && img.naturalWidth > 0))
                .map(img => (img.getAttribute('src') || '').slice(0, 120)),
    animations: Array.from(document.querySelectorAll('div.animation')).map(div => {
      const img = div.querySelector('img');
      return img !== null && img.naturalWidth > 0 && div.querySelector('input[type=range]') !== null;
    }),
  });
});
"""

_WAIT_WIDGETS = """
const done = arguments[arguments.length - 1];
const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
const t0 = Date.now();
(function poll() {
  const rendered = document.querySelectorAll('.jupyter-widgets.widget-container, .jupyter-widgets.widget-inline-hbox, .jupyter-widgets.widget-inline-vbox, .jupyter-widgets.widget-box, .jupyter-widgets');
  const ok = views.length === 0 || rendered.length > 0;
  if (ok || Date.now() - t0 > 20000) {
    done({views: views.length, rendered: rendered.length,
          unrendered: Array.from(views).filter(s => !(s.parentElement &&
                         s.parentElement.querySelector('.jupyter-widgets'))).length});
  } else { setTimeout(poll, 100); }
})();
"""


def _network_problems(driver, origin: str) -> list[str]:
    """Requests off localhost, and local requests that failed, from Chrome's performance log."""
    problems, urls = [], {}
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            if url.startswith(("http:", "https:", "ws:", "wss:")) and not url.startswith(origin):
                problems.append(f"network request off localhost: {url[:160]}")
        elif method == "Network.responseReceived":
            status = params["response"]["status"]
            if status >= 400 and not params["response"]["url"].endswith("/favicon.ico"):
                problems.append(f"HTTP {status}: {params['response']['url'][:160]}")
        elif method == "Network.loadingFailed":
            url = urls.get(params.get("requestId"), "?")
            if url.startswith(origin) and not params.get("canceled"):
                problems.append(f"failed to load {url[:160]}: {params.get('errorText')}")
    return problems


# Console errors that do not affect what a reader sees (upstream, not the book's):
_KNOWN_CONSOLE_NOISE = (
    "favicon.ico",                      # the book has no favicon; browsers ask anyway
    # sphinx-thebe 0.3.1 under Sphinx 7 emits its config <script> twice; thebe (live code) is
    # not enabled in this book, so the second declaration's SyntaxError changes nothing
    "Identifier 'THEBE_JS_URL' has already been declared",
    "Got invalid theme mode",            # pydata-sphinx-theme with an empty localStorage
)

_RAW_TEX = [
    (re.compile(r"\$\$"), "raw $$"),
    (re.compile(r"\\\(|\\\)|\\\[|\\\]"), "raw \\( or \\["),
    (re.compile(r"\$[^$\n]{0,200}?\\[A-Za-z]+[^$\n]{0,200}?\$"), "raw $...\\cmd...$"),
]


@pytest.mark.parametrize("page", PAGES or ["<no build>"])
def test_page_renders(page, server, browser):
    t0 = time.perf_counter()
    browser.get_log("performance")  # drop what earlier pages left
    browser.get(server + page)
    problems: list[str] = []

    state = browser.execute_async_script(_WAIT_MATHJAX)
    if state not in ("ok", "no-math"):
        problems.append(f"MathJax: {state}")
    math = browser.execute_script(_MATH_REPORT)
    if math["untypeset"]:
        problems.append(f"{len(math['untypeset'])} of {math['n_math']} math elements not typeset, "
                        f"e.g. {math['untypeset'][0]!r}")
    if math["n_math"] and not math["n_mjx"]:
        problems.append("page has math but no mjx-container")
    for expr in math["errors"][:5]:
        problems.append(f"MathJax error or undefined macro in {expr!r}")
    for rx, what in _RAW_TEX:
        m = rx.search(math["prose"])
        if m:
            s = max(m.start() - 40, 0)
            problems.append(f"{what} left in the text: ...{math['prose'][s:m.end() + 40]!r}")

    imgs = browser.execute_async_script(_IMG_REPORT)
    problems += [f"image not loaded: {src}" for src in imgs["broken"]]
    want = _expected_animations(page)
    got = sum(imgs["animations"])
    if got < want:
        problems.append(f"{want} to_jshtml animation(s) in the notebook, {got} playable on the page "
                        f"({len(imgs['animations'])} animation div(s))")

    widgets = browser.execute_async_script(_WAIT_WIDGETS)
    if widgets["views"] and widgets["unrendered"]:
        problems.append(f"{widgets['unrendered']} of {widgets['views']} saved widget views not rendered")

    hrefs = browser.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);")
    for href in sorted(set(hrefs)):
        if href.startswith(server):
            why = _check_link(page, href)
            if why:
                problems.append(f"broken link: {why}")

    problems += _network_problems(browser, server.rstrip("/"))
    for entry in browser.get_log("browser"):
        msg = entry.get("message", "")
        if entry.get("level") == "SEVERE" and not any(k in msg for k in _KNOWN_CONSOLE_NOISE):
            problems.append(f"console error: {msg[:200]}")

    secs = time.perf_counter() - t0
    assert not problems, f"{page} ({secs:.1f} s):\n  " + "\n  ".join(problems)


_FIGURE_TEXT = re.compile(r"&lt;\w*Figure size [^&]*&gt;|<\w*Figure size [^>]*>")


@pytest.mark.parametrize("page", PAGES or ["<no build>"])
def test_no_figure_shown_as_text(page):
    """No page shows a figure as its text ``<Figure size ...>`` where the image should be.

    A figure the kernel could not render as an image (see ``gantools.plot.NotebookFigure``) is
    stored as its ``text/plain`` repr, and the page prints that text.
    """
    if not PAGES:
        _skip_or_fail(f"no built book at {HTML} (run `jupyter-book build .` first)")
    html = (HTML / page).read_text(errors="replace")
    found = sorted(set(m.group(0) for m in _FIGURE_TEXT.finditer(html)))
    assert not found, f"{page} shows {len(found)} figure(s) as text: {found[:3]}"
