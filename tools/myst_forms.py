r"""Rewrite the notebooks' Markdown to the MyST forms that render both in the book and in JupyterLab.

    python tools/myst_forms.py                  # rewrite every notebook of _toc.yml in place
    python tools/myst_forms.py --check          # exit 1 if a notebook still has an old form
    python tools/myst_forms.py chapters/part1_dynamics/06_explorer.ipynb   # only these

JupyterLab renders the notebooks' MyST with ``jupyterlab-myst`` (requirements.txt). Three forms the
book renders do not render there; each is rewritten to a form that renders the same in the book
and correctly in JupyterLab (and, for the first, in Colab and on GitHub too):

1. **The book's TeX macros** (``\E``, ``\KL``, ``\norm{x}``, ... from ``_config.yml``'s
   ``mathjax3_config``) exist only in the book's MathJax: JupyterLab shows the formula as raw TeX
   with a warning. They are replaced by their definitions (``\mathbb{E}``, ``\mathrm{KL}``,
   ``\left\lVert x \right\rVert``), read from ``_config.yml``; code is left alone.
2. **A Python role with a title**, ``{py:func}`dirac.simulate <gantools.dirac.simulate>```:
   JupyterLab prints ``dirac.simulate <gantools.dirac.simulate>``. It becomes
   ``{py:func}`gantools.dirac.simulate``` (the book then shows the full name).
3. **A link to another page without text and suffix**, ``[](02_linearisation)``: JupyterLab shows
   the bare name, and the link opens nothing. It becomes ``[<that page's title>](02_linearisation.ipynb)``,
   which the book resolves to the same page (with the same title) and JupyterLab opens.

Only Markdown cells change; cell ids, metadata, code and outputs are kept. Running it twice
changes nothing the second time.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent

_TITLED_PY = re.compile(r"\{(?P<role>py:[a-z]+)\}`(?P<title>[^`<]*?)\s*<(?P<target>[^`<>]+)>`")
_DOCLINK = re.compile(r"\[\]\((?P<doc>[A-Za-z0-9_./-]+)\)")


def book_macros(root: Path = ROOT) -> dict[str, tuple[str, int]]:
    """The TeX macros of ``_config.yml`` (``sphinx.config.mathjax3_config.tex.macros``): name -> (body, n_args)."""
    cfg = yaml.safe_load((root / "_config.yml").read_text())
    macros = ((((cfg.get("sphinx") or {}).get("config") or {}).get("mathjax3_config") or {})
              .get("tex") or {}).get("macros") or {}
    out = {}
    for name, val in macros.items():
        if isinstance(val, str):
            out[name] = (val, 0)
        elif isinstance(val, list) and len(val) >= 2:
            out[name] = (str(val[0]), int(val[1]))
        else:
            raise ValueError(f"_config.yml: macro {name!r} must be a string or [body, n_args], not {val!r}")
    return out


def _arg(text: str, i: int) -> tuple[str, int] | None:
    """The braced argument starting at ``text[i]`` (after spaces): (content, index after it)."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text) or text[i] != "{":
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{" and text[j - 1] != "\\":
            depth += 1
        elif text[j] == "}" and text[j - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[i + 1:j], j + 1
    return None


def _expand_in(text: str, macros: dict[str, tuple[str, int]]) -> tuple[str, int]:
    pat = re.compile(r"(?<!\\)\\(" + "|".join(sorted(map(re.escape, macros), key=len, reverse=True)) + r")(?![A-Za-z])")
    n = 0
    while True:
        m = pat.search(text)
        if not m:
            return text, n
        body, nargs = macros[m.group(1)]
        end = m.end()
        args = []
        for _ in range(nargs):
            got = _arg(text, end)
            if got is None:
                raise ValueError(f"macro \\{m.group(1)} takes {nargs} braced argument(s): "
                                 f"...{text[m.start():m.start() + 60]!r}")
            args.append(got[0])
            end = got[1]
        for k, a in enumerate(args, 1):
            body = body.replace(f"#{k}", a)
        text = text[:m.start()] + body + text[end:]
        n += 1


def _code_blocks(text: str) -> list[tuple[int, int]]:
    """Character spans of the fenced code blocks (not MyST directives) and inline code spans."""
    spans, stack, pos = [], [], 0
    code_start = None
    for line in text.splitlines(keepends=True):
        m = re.match(r"^[ \t]*(`{3,}|~{3,}|:{3,})(.*)$", line.rstrip("\n"))
        if m:
            fence, info = m.group(1), m.group(2).strip()
            if stack and not info and fence[0] == stack[-1][0][0] and len(fence) >= len(stack[-1][0]):
                _, kind = stack.pop()
                if kind == "code":
                    spans.append((code_start, pos + len(line)))
            elif not (stack and stack[-1][1] == "code"):
                kind = "directive" if info.startswith("{") or fence[0] == ":" else "code"
                stack.append((fence, kind))
                if kind == "code":
                    code_start = pos
        pos += len(line)
    if stack and stack[-1][1] == "code":  # an unclosed code block runs to the end
        spans.append((code_start, len(text)))
    inline = []
    prev = 0
    for a, b in spans + [(len(text), len(text))]:
        inline += [(prev + m.start(), prev + m.end()) for m in re.finditer(r"`[^`\n]+`", text[prev:a])]
        prev = b
    return sorted(spans + inline)


def _outside_code(text: str, fn) -> tuple[str, int]:
    """Apply ``fn(segment) -> (segment, count)`` to the parts of ``text`` outside code blocks and spans."""
    out, total, pos = [], 0, 0
    for a, b in _code_blocks(text):
        seg, n = fn(text[pos:a])
        out += [seg, text[a:b]]
        total += n
        pos = b
    seg, n = fn(text[pos:])
    out.append(seg)
    return "".join(out), total + n


def expand_macros(text: str, macros: dict[str, tuple[str, int]]) -> tuple[str, int]:
    """Replace the book's TeX macros by their definitions (outside code); (text, replacements)."""
    if not macros:
        return text, 0
    return _outside_code(text, lambda s: _expand_in(s, macros))


def untitle_py_roles(text: str) -> tuple[str, int]:
    """``{py:func}`title <target>``` -> ``{py:func}`target```; (text, replacements)."""
    return _TITLED_PY.subn(lambda m: f"{{{m.group('role')}}}`{m.group('target')}`", text)


def _title(path: Path) -> str | None:
    if path.suffix == ".ipynb":
        for c in nbformat.read(path, as_version=4).cells:
            if c.cell_type == "markdown":
                m = re.search(r"^#\s+(.+?)\s*$", c.source, re.M)
                if m:
                    return m.group(1)
        return None
    m = re.search(r"^#\s+(.+?)\s*$", path.read_text(), re.M)
    return m.group(1) if m else None


def titled_doc_links(text: str, here: Path) -> tuple[str, int]:
    """``[](doc)`` -> ``[Title](doc.ipynb)`` for a page next to ``here`` (``.ipynb`` or ``.md``)."""
    changed = 0

    def repl(m: re.Match) -> str:
        nonlocal changed
        doc = m.group("doc")
        if Path(doc).suffix in (".ipynb", ".md"):
            return m.group(0)
        for suf in (".ipynb", ".md"):
            target = (here.parent / (doc + suf))
            if target.is_file():
                title = _title(target)
                if title is None:
                    raise ValueError(f"{here}: [{doc}] links to {target}, which has no '# title'")
                title = title.replace("[", "\\[").replace("]", "\\]")
                changed += 1
                return f"[{title}]({doc}{suf})"
        raise ValueError(f"{here}: [](" + doc + ") links to no notebook or page next to it")
    text = _outside_code(text, lambda s: (_DOCLINK.sub(repl, s), 0))[0]
    return text, changed


RULES = ("macros", "titled py roles", "doc links")


def rewrite_markdown(text: str, here: Path, macros: dict[str, tuple[str, int]]) -> tuple[str, dict[str, int]]:
    """All three rewrites of one Markdown string; (new text, replacements per rule)."""
    counts = {}
    text, counts["macros"] = expand_macros(text, macros)
    text, counts["titled py roles"] = untitle_py_roles(text)
    text, counts["doc links"] = titled_doc_links(text, here)
    return text, counts


def rewrite_notebook(path: Path, macros: dict[str, tuple[str, int]], write: bool) -> dict[str, int]:
    """Rewrite one notebook's Markdown cells (in place when ``write``); the replacements per rule."""
    nb = nbformat.read(path, as_version=4)
    total = dict.fromkeys(RULES, 0)
    changed = False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        new, counts = rewrite_markdown(cell.source, path, macros)
        for k, v in counts.items():
            total[k] += v
        if new != cell.source:
            cell.source = new
            changed = True
    if changed and write:
        nbformat.write(nb, path)
    return total


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks of ``_toc.yml``, in order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = re.findall(r"'file': '([^']+)'", repr(toc))
    return [root / (f + ".ipynb") for f in files if (root / (f + ".ipynb")).is_file()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook of _toc.yml")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if an old form is left")
    args = ap.parse_args(argv)
    macros = book_macros()
    paths = [p.resolve() for p in args.notebooks] or toc_notebooks()
    grand = dict.fromkeys(RULES, 0)
    left = []
    for path in paths:
        counts = rewrite_notebook(path, macros, write=not args.check)
        n = sum(counts.values())
        for k, v in counts.items():
            grand[k] += v
        if n:
            left.append(path)
            rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            detail = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
            print(f"{'has old forms' if args.check else 'rewrote'}: {rel} ({detail})")
    summary = ", ".join(f"{v} {k}" for k, v in grand.items())
    if args.check:
        if left:
            print(f"myst_forms --check: {len(left)} notebook(s) still use forms JupyterLab does not render "
                  f"({summary}); run `python tools/myst_forms.py`", file=sys.stderr)
            return 1
        print(f"myst_forms --check: {len(paths)} notebooks use only forms that render in the book and JupyterLab")
        return 0
    print(f"myst_forms: {len(left)} of {len(paths)} notebooks rewritten ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
