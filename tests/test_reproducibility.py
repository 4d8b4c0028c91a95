"""Reproducibility: two runs give the same figures, and nothing reaches the network at run time.

* ``test_notebook_runs_twice_identically`` executes a notebook twice with nbclient, each time with
  a socket guard installed in the kernel first (any connection or DNS look-up off localhost
  raises), and compares every text output (the printed numbers the check cells judge) and every
  PNG figure byte for byte. Default notebook: ``chapters/part1_dynamics/02_linearisation.ipynb``
  (a few seconds per run); ``REPRO_NOTEBOOKS="a.ipynb b.ipynb"`` picks others.
* ``test_sources_do_not_fetch`` scans gantools and every notebook's code for network fetches
  (urllib, requests, http.client, torch.hub, dataset downloads, ...) and for ``torch.load``
  without ``weights_only=True``. The one allowed exception is the setup cell's ``%pip install``,
  which runs on Colab only.
* ``test_gantools_imports_offline`` imports every gantools module under the same socket guard.
"""
from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import pkgutil
import re
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NOTEBOOKS = ["chapters/part1_dynamics/02_linearisation.ipynb"]

# Installed as the first cell of the kernel (and in-process by the tests below).
GUARD = r'''
import socket as _socket
_LOCAL = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "")
def _is_local(host):
    return not isinstance(host, str) or host in _LOCAL or host.startswith("127.")
def _guard_connect(orig):
    def connect(self, address, *a, **k):
        if self.family in (_socket.AF_INET, _socket.AF_INET6) and not _is_local(address[0]):
            raise OSError(f"network access blocked at run time: connect to {address!r}")
        return orig(self, address, *a, **k)
    return connect
def _guard_getaddrinfo(orig):
    def getaddrinfo(host, *a, **k):
        if not _is_local(host if not isinstance(host, bytes) else host.decode()):
            raise OSError(f"network access blocked at run time: DNS look-up of {host!r}")
        return orig(host, *a, **k)
    return getaddrinfo
_socket.socket.connect = _guard_connect(_socket.socket.connect)
_socket.socket.connect_ex = _guard_connect(_socket.socket.connect_ex)
_socket.getaddrinfo = _guard_getaddrinfo(_socket.getaddrinfo)
'''


@pytest.fixture
def socket_guard(monkeypatch):
    """The same guard in this process; undone after the test."""
    ns: dict = {}
    saved = (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)
    exec(GUARD, ns)  # noqa: S102 - our own constant
    yield
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = saved


def test_guard_blocks_network(socket_guard):
    with pytest.raises(OSError, match="blocked"):
        socket.create_connection(("198.51.100.7", 80), timeout=1)   # TEST-NET-2: never routed
    with pytest.raises(OSError, match="blocked"):
        socket.getaddrinfo("example.org", 443)
    # localhost stays reachable
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    cli = socket.create_connection(srv.getsockname(), timeout=1)
    cli.close()
    srv.close()


def test_gantools_imports_offline(socket_guard):
    import gantools

    for mod in pkgutil.iter_modules(gantools.__path__):
        importlib.import_module(f"gantools.{mod.name}")


# ---------------------------------------------------------------------------------------------
def _run(path: Path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(GUARD))
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb.cells[1:]


def _fingerprint(cells) -> list[tuple[int, str, str]]:
    """(cell index, kind, content) for every text output and (hashed) PNG figure.

    Consecutive pieces of one stream in one cell are joined first: how the kernel cuts printed
    text into messages depends on timing (a busy machine splits what a quiet one sends whole),
    not on what the notebook printed.
    """
    out = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            if o["output_type"] == "stream":
                if out and out[-1][0] == i and out[-1][1] == o["name"]:
                    out[-1] = (i, o["name"], out[-1][2] + o["text"])
                else:
                    out.append((i, o["name"], o["text"]))
            elif o["output_type"] in ("execute_result", "display_data"):
                data = o.get("data", {})
                if "image/png" in data:
                    png = base64.b64decode(data["image/png"])
                    out.append((i, "png", hashlib.sha256(png).hexdigest()))
                elif "text/plain" in data:   # object reprs carry memory addresses: mask them
                    out.append((i, "text", re.sub(r" at 0x[0-9a-fA-F]+", " at 0x?", data["text/plain"])))
            elif o["output_type"] == "error":
                out.append((i, "error", f"{o['ename']}: {o['evalue']}"))
    return out


def test_fingerprint_joins_split_streams():
    import nbformat

    whole = nbformat.v4.new_code_cell("print('a'); print('b')")
    whole.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a\nb\n")]
    split = nbformat.v4.new_code_cell("print('a'); print('b')")
    split.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                     nbformat.v4.new_output("stream", name="stdout", text="b\n")]
    assert _fingerprint([whole]) == _fingerprint([split]) == [(0, "stdout", "a\nb\n")]
    other = nbformat.v4.new_code_cell("print('a')")
    other.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a\nc\n")]
    assert _fingerprint([whole]) != _fingerprint([other])     # different text still differs


NOTEBOOKS = os.environ.get("REPRO_NOTEBOOKS", " ".join(DEFAULT_NOTEBOOKS)).split()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_twice_identically(notebook):
    path = ROOT / notebook
    first, second = _fingerprint(_run(path)), _fingerprint(_run(path))
    assert first, f"{notebook} printed nothing to compare"
    assert any(kind != "png" for _, kind, _ in first), f"{notebook}: no text output to compare"
    diffs = [(a, b) for a, b in zip(first, second) if a != b]
    assert len(first) == len(second) and not diffs, (
        f"{notebook}: two runs differ ({len(first)} vs {len(second)} outputs); first differences:\n"
        + "\n".join(f"  cell {a[0]} {a[1]}: {a[2][:200]!r}\n    vs {b[2][:200]!r}" for a, b in diffs[:5]))


# ---------------------------------------------------------------------------------------------
FETCH = re.compile(
    r"\burllib\.request\b|\burlopen\s*\(|\bimport\s+requests\b|\brequests\.(get|post|Session)\b"
    r"|\bhttp\.client\b|\bhttpx\b|\baiohttp\b|\btorch\.hub\b|\bload_state_dict_from_url\b"
    r"|\bdownload\s*=\s*True|\bfetch_openml\b|\bload_dataset\s*\(|\bfrom_pretrained\s*\("
    r"|\bhf_hub_download\b|\bwget\b|\bcurl\s|\bsocket\.create_connection\b|!pip\b|%pip\b")
TORCH_LOAD = re.compile(r"\btorch\.load\s*\((?![^)]*weights_only\s*=\s*True)")


def _sources():
    for py in sorted((ROOT / "gantools").glob("*.py")):
        yield py.relative_to(ROOT).as_posix(), py.read_text()
    for nb_path in sorted((ROOT / "chapters").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb_path.parts:
            continue
        cells = json.loads(nb_path.read_text())["cells"]
        for i, c in enumerate(cells):
            if c["cell_type"] != "code":
                continue
            src = "".join(c["source"])
            if "google.colab" in src:   # the setup cell: its %pip install runs on Colab only
                src = "\n".join(line for line in src.splitlines()
                                if not line.strip().startswith("%pip install"))
            yield f"{nb_path.relative_to(ROOT).as_posix()} cell {i}", src


def test_sources_do_not_fetch():
    bad = []
    for where, src in _sources():
        for lineno, line in enumerate(src.splitlines(), 1):
            code = line.split("#", 1)[0]
            if FETCH.search(code):
                bad.append(f"{where} line {lineno}: network fetch: {line.strip()}")
            if TORCH_LOAD.search(code):
                bad.append(f"{where} line {lineno}: torch.load without weights_only=True: "
                           f"{line.strip()}")
    assert not bad, "run-time network access or unsafe loading:\n  " + "\n  ".join(bad)
