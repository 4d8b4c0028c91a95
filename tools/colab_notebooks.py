"""Copies of the book's notebooks that read well in Colab and plain Jupyter: MyST turned into Markdown/HTML.

    python tools/colab_notebooks.py                 # -> _build/colab/chapters/<part>/<nb>.ipynb
    python tools/colab_notebooks.py --out DIR

Every notebook of ``_toc.yml`` is written with the same code cells (and cell ids and metadata);
its Markdown is rewritten so that a front end without MyST shows what the book shows:

* ``{py:func}`target``` (and ``py:class``, ``py:mod``, ... with an optional ``title <target>``
  or ``~target``) -> a link to the target on the online API page, ``<book>/api.html#<target>``;
* ``{cite}`k1,k2``` -> ``[Author, year; ...]`` (``{cite:t}``: ``Author [year]``), as the book prints them, each linked to
  its entry on the online bibliography page (``#cite-<key>``, the ids ``_config.yml`` gives);
* ``{eq}`label``` and ``{numref}`label``` -> the number the book prints (``(n)``, ``Fig. n``),
  linked to the equation or figure on its online page; ``{ref}`` to an exercise -> ``Exercise n``;
* a labelled ``{math}`` block -> ``$$ ... \\tag{n} $$``; unlabelled -> ``$$ ... $$``;
* ``{exercise}`` -> a bold numbered heading with its text in a quote; ``{solution}`` -> the same
  text inside a collapsed ``<details><summary>Solution to Exercise n</summary> ... </details>``;
* ``{admonition}`` / ``{note}`` / ``{tip}`` / ``{warning}`` ... -> a quote with a bold title;
  ``(label)=`` targets are dropped; ``[](doc)`` -> ``[title of doc](<book>/doc.html)``;
* the book's TeX macros (``\\E``, ``\\KL``, ... of ``_config.yml``) -> their definitions, which
  every front end's MathJax/KaTeX knows (``tools/myst_forms.py`` does the same to the sources);
* a code cell's figure caption (``mystnb.figure``) -> a Markdown cell ``**Fig. n.** caption``
  after the cell.

The numbers are those of the book: read from the built book (``_build/html``) when there is one,
else computed as Sphinx computes them: with ``numfig`` on and no numbered table of contents, it
numbers equations, captioned figures and exercises in one sequence each over the whole book, in
table-of-contents order. The book's address (``html.baseurl``) and the repository (``repository``)
are read from ``_config.yml``; nothing else holds them.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from myst_forms import book_macros, expand_macros  # noqa: E402  (the one copy of the macro expansion)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "_build" / "colab"
FIG_FORMAT = "Fig. {n}"
ADMONITIONS = ("admonition", "note", "tip", "hint", "important", "warning", "caution", "attention",
               "danger", "error", "seealso")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>[a-zA-Z:-]+)\}[ \t]*(?P<arg>[^\n]*)$")
_ROLE = re.compile(r"\{(?P<role>[a-z]+(?::[a-z]+)?)\}`(?P<text>[^`]*)`")
_TARGET = re.compile(r"^\([A-Za-z0-9_.:-]+\)=[ \t]*\n?", re.M)
_DOCLINK = re.compile(r"\[\]\((?P<doc>[^)\s#]+)(?:#(?P<frag>[^)\s]+))?\)")


def make_id(text: str) -> str:
    """The HTML id Sphinx/docutils gives a label (``docutils.nodes.make_id``)."""
    from docutils.nodes import make_id as _make_id

    return _make_id(text)


# ---------------------------------------------------------------------------------------- config
@dataclass
class Book:
    """What the conversion needs to know about the whole book."""

    url: str                                                # online book, ends with "/"
    repo: str                                               # https://github.com/org/name
    branch: str
    docs: list[str]                                         # toc order, without suffix
    titles: dict[str, str] = field(default_factory=dict)    # doc -> first heading
    equations: dict[str, tuple[str, int]] = field(default_factory=dict)  # label -> (doc, n)
    figures: dict[str, tuple[str, int]] = field(default_factory=dict)
    exercises: dict[str, tuple[str, int]] = field(default_factory=dict)
    bib: dict[str, str] = field(default_factory=dict)       # key -> "Author" ("A and B", "A et al.")
    years: dict[str, str] = field(default_factory=dict)
    macros: dict[str, tuple[str, int]] = field(default_factory=dict)  # TeX macros of _config.yml

    def page(self, doc: str, anchor: str = "") -> str:
        return f"{self.url}{doc}.html" + (f"#{anchor}" if anchor else "")


def read_config(root: Path = ROOT) -> dict:
    """``_config.yml``'s book address, repository and branch (``ValueError`` when one is missing)."""
    cfg = yaml.safe_load((root / "_config.yml").read_text())
    url = (cfg.get("html") or {}).get("baseurl", "")
    repo = (cfg.get("repository") or {}).get("url", "")
    if not url or not repo:
        raise ValueError("_config.yml must set html.baseurl (the online book) and repository.url")
    return {"url": url.rstrip("/") + "/", "repo": repo.rstrip("/"),
            "branch": (cfg.get("repository") or {}).get("branch", "main")}


def toc_docs(root: Path = ROOT) -> list[str]:
    """The documents of ``_toc.yml`` in reading order (paths without suffix)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    out = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                out.append(str(Path(e["file"]).with_suffix("")))
            walk(e.get("sections"))
            walk(e.get("chapters"))
            for p in e.get("parts", []) or []:
                walk(p.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return out


def _source(root: Path, doc: str) -> Path | None:
    for suf in (".ipynb", ".md"):
        if (root / (doc + suf)).is_file():
            return root / (doc + suf)
    return None


def _cells(path: Path) -> list[dict]:
    """The cells of a notebook, or one Markdown cell holding a ``.md`` page."""
    if path.suffix == ".ipynb":
        return nbformat.read(path, as_version=4).cells
    return [nbformat.v4.new_markdown_cell(path.read_text())]


def _bibliography(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    from pybtex.database import parse_file

    names, years = {}, {}
    for key, entry in parse_file(str(root / "references.bib")).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        last = [re.sub(r"[{}\\]", "", " ".join(p.last_names)) for p in people]
        if not last:
            names[key] = re.sub(r"[{}]", "", entry.fields.get("title", key))
        elif len(last) == 1:
            names[key] = last[0]
        elif len(last) == 2:
            names[key] = f"{last[0]} and {last[1]}"
        else:
            names[key] = f"{last[0]} et al."
        years[key] = entry.fields.get("year", "n.d.")
    return names, years


def load_book(root: Path = ROOT) -> Book:
    """Read ``_config.yml``, ``_toc.yml``, ``references.bib`` and number the book's labels."""
    cfg = read_config(root)
    book = Book(url=cfg["url"], repo=cfg["repo"], branch=cfg["branch"], docs=toc_docs(root))
    book.bib, book.years = _bibliography(root)
    book.macros = book_macros(root)
    counters = {"eq": 0, "fig": 0, "ex": 0}
    for doc in book.docs:
        path = _source(root, doc)
        if path is None:
            continue
        for cell in _cells(path):
            if cell.cell_type == "code":
                fig = (cell.metadata.get("mystnb") or {}).get("figure") or {}
                name = fig.get("name")
                if name and fig.get("caption"):  # Sphinx numbers captioned figures only
                    counters["fig"] += 1
                    book.figures[name] = (doc, counters["fig"])
                continue
            if cell.cell_type != "markdown":
                continue
            src = cell.source
            if doc not in book.titles:
                m = re.search(r"^#\s+(.+)$", src, re.M)
                if m:
                    book.titles[doc] = m.group(1).strip()
            for d in _directives(src):
                label = d.options.get("label") or (d.arg.strip() if d.name == "figure" else "")
                if d.name == "math" and d.options.get("label"):
                    counters["eq"] += 1
                    book.equations[d.options["label"]] = (doc, counters["eq"])
                elif d.name == "figure" and d.options.get("name") and d.body.strip():
                    counters["fig"] += 1
                    book.figures[d.options["name"]] = (doc, counters["fig"])
                elif d.name == "exercise" and "nonumber" not in d.options:
                    counters["ex"] += 1
                    if label:
                        book.exercises[label] = (doc, counters["ex"])
    return book


_HTML_NUMBER = re.compile(r'<span class="eqno">\((?P<eq>[\d.]+)\)|<span class="caption-number">[^<\d]*(?P<cap>[\d.]+)')


def numbers_from_html(book: Book, html: Path) -> dict[str, int]:
    """Correct the book's numbers from a built book (``_build/html``); the labels whose number changed.

    Each label's page is read and the number printed next to its id taken (``(n)`` of an equation,
    ``Fig. n`` / ``Exercise n`` of a caption). Labels the build does not have keep their computed number.
    """
    changed: dict[str, int] = {}
    pages: dict[str, str] = {}
    for table, prefix in ((book.equations, "equation-"), (book.figures, ""), (book.exercises, "")):
        for label, (doc, n) in list(table.items()):
            page = html / (doc + ".html")
            if doc not in pages:
                pages[doc] = page.read_text(errors="replace") if page.is_file() else ""
            text = pages[doc]
            i = text.find(f'id="{make_id(prefix + label)}"')
            m = _HTML_NUMBER.search(text, i, i + 800) if i >= 0 else None
            if m is None:
                continue
            got = m.group("eq") or m.group("cap")
            if got.isdigit() and int(got) != n:
                table[label] = (doc, int(got))
                changed[label] = int(got)
    return changed


# ---------------------------------------------------------------------------------------- directives
@dataclass
class Directive:
    name: str
    arg: str
    options: dict[str, str]
    body: str
    start: int      # character span in the source, fences included
    end: int


def _directives(src: str) -> list[Directive]:
    """The top-level MyST directives of a Markdown string (backtick and colon fences)."""
    out = []
    lines = src.splitlines(keepends=True)
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln))
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i].rstrip("\n"))
        if not m:
            i += 1
            continue
        fence = m.group("fence")
        j = i + 1
        while j < len(lines):
            s = lines[j].strip()
            if s and set(s) == {fence[0]} and len(s) >= len(fence):
                break
            j += 1
        body_lines = lines[i + 1:j]
        options: dict[str, str] = {}
        k = 0
        while k < len(body_lines) and re.match(r"^\s*:[A-Za-z_-]+:", body_lines[k]):
            key, _, val = body_lines[k].strip()[1:].partition(":")
            options[key] = val.strip()
            k += 1
        body = "".join(body_lines[k:]).strip("\n")
        out.append(Directive(m.group("name"), m.group("arg"), options, body, offsets[i],
                             offsets[min(j + 1, len(lines))]))
        i = j + 1
    return out


def _quote(text: str) -> str:
    return "\n".join("> " + ln if ln.strip() else ">" for ln in text.splitlines())


# ---------------------------------------------------------------------------------------- roles
def _py_role(text: str, book: Book) -> str:
    m = re.match(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", text, re.S)
    if m:
        title, target = m.group("title"), m.group("target")
    else:
        target = text.lstrip("~!")
        title = target.rsplit(".", 1)[-1] if text.startswith("~") else target
    return f"[`{title}`]({book.page('api', target)})"


def _cite(role: str, text: str, book: Book) -> str:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    for k in keys:
        if k not in book.bib:
            raise ValueError(f"{{cite}} of an unknown key {k!r}; references.bib has {sorted(book.bib)}")
    link = lambda k, label: f"[{label}]({book.page('bibliography', make_id('cite-' + k))})"  # noqa: E731
    # as the book prints them (sphinxcontrib-bibtex, author_year): [Su, 2019] and Su [2019]
    if role == "cite:t":
        return "; ".join(link(k, f"{book.bib[k]} \\[{book.years[k]}\\]") for k in keys)
    return "\\[" + "; ".join(link(k, f"{book.bib[k]}, {book.years[k]}") for k in keys) + "\\]"


def _label_ref(kind: str, text: str, book: Book, where: str) -> str:
    m = re.match(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", text, re.S)
    target = m.group("target") if m else text
    title = m.group("title") if m else None
    if kind == "eq":
        table, anchor, fmt = book.equations, make_id("equation-" + target), "({n})"
    elif target in book.figures:
        table, anchor, fmt = book.figures, make_id(target), FIG_FORMAT
    elif target in book.exercises:
        table, anchor, fmt = book.exercises, make_id(target), "Exercise {n}"
    elif target in book.equations:
        table, anchor, fmt = book.equations, make_id("equation-" + target), "({n})"
    else:
        raise ValueError(f"{where}: {{{kind}}} of an unknown label {target!r}")
    if target not in table:
        raise ValueError(f"{where}: {{{kind}}} of an unknown label {target!r}")
    doc, n = table[target]
    label = title.replace("%s", str(n)).replace("{number}", str(n)) if title else fmt.format(n=n)
    return f"[{label}]({book.page(doc, anchor)})"


def convert_roles(src: str, book: Book, where: str = "") -> str:
    """Replace the MyST roles of a Markdown string (not inside code spans or math)."""
    def repl(m: re.Match) -> str:
        role, text = m.group("role"), m.group("text")
        if role.startswith("py:"):
            return _py_role(text, book)
        if role in ("cite", "cite:p", "cite:t", "cite:ps", "cite:ts"):
            return _cite(role.rstrip("s"), text, book)
        if role in ("eq", "numref", "ref"):
            return _label_ref(role, text, book, where)
        if role == "doc":
            doc = text.strip()
            return f"[{book.titles.get(doc, doc)}]({book.page(doc)})"
        if role == "math":
            return f"${text}$"
        raise ValueError(f"{where}: no plain form for the role {{{role}}}")
    return _ROLE.sub(repl, src)


def convert_doclinks(src: str, book: Book, doc: str) -> str:
    """``[](other_doc)`` -> ``[Title of other_doc](<book>/other_doc.html)`` (paths relative to ``doc``)."""
    def repl(m: re.Match) -> str:
        rel = m.group("doc")
        if re.match(r"^[a-z]+:", rel):
            return m.group(0)
        target = str((Path(doc).parent / rel).with_suffix("")) if not rel.startswith("/") else rel.lstrip("/")
        target = str(Path(target)).replace("\\", "/")
        parts = []
        for p in target.split("/"):
            if p == "..":
                parts.pop()
            elif p != ".":
                parts.append(p)
        target = "/".join(parts)
        return f"[{book.titles.get(target, target)}]({book.page(target, m.group('frag') or '')})"
    return _DOCLINK.sub(repl, src)


# ---------------------------------------------------------------------------------------- markdown
def convert_markdown(src: str, book: Book, doc: str = "") -> str:
    """One Markdown cell of ``doc`` in plain Markdown/HTML (see the module docstring)."""
    where = doc or "<markdown>"
    src = expand_macros(src, book.macros)[0]
    pieces, pos = [], 0
    for d in _directives(src):
        pieces.append(_inline(src[pos:d.start], book, doc, where))
        pieces.append(_directive(d, book, doc, where))
        pos = d.end
    pieces.append(_inline(src[pos:], book, doc, where))
    out = "".join(pieces)
    return re.sub(r"\n{3,}", "\n\n", out)


def _inline(text: str, book: Book, doc: str, where: str) -> str:
    text = _TARGET.sub("", text)
    # [](doc) links, outside code spans and math
    parts = re.split(r"(`[^`\n]+`(?!`)|\$\$.*?\$\$|\$[^$\n]+\$)", text, flags=re.S)
    text = "".join(p if i % 2 else convert_doclinks(p, book, doc) for i, p in enumerate(parts))
    # roles contain a code span: convert them on the joined text, outside math only
    chunks = re.split(r"(\$\$.*?\$\$|\$[^$\n]+\$)", text, flags=re.S)
    return "".join(c if i % 2 else convert_roles(c, book, where) for i, c in enumerate(chunks))


def _directive(d: Directive, book: Book, doc: str, where: str) -> str:
    body = lambda: convert_markdown(d.body, book, doc)  # noqa: E731
    if d.name == "math":
        tag = ""
        label = d.options.get("label")
        if label:
            if label not in book.equations:
                raise ValueError(f"{where}: labelled math {label!r} not numbered")
            tag = f" \\tag{{{book.equations[label][1]}}}"
        return f"$$\n{d.body.strip()}{tag}\n$$\n"
    if d.name == "exercise":
        label = d.options.get("label")
        n = book.exercises[label][1] if label in book.exercises else None
        title = f"Exercise {n}" if n else "Exercise"
        if d.arg.strip():
            title += f" ({convert_roles(d.arg.strip(), book, where)})"
        return f"**{title}.**\n\n{_quote(body())}\n"
    if d.name == "solution":
        label = d.arg.strip()
        n = book.exercises[label][1] if label in book.exercises else None
        summary = f"Solution to Exercise {n}" if n else "Solution"
        return f"<details>\n<summary>{summary}</summary>\n\n{body()}\n\n</details>\n"
    if d.name in ADMONITIONS:
        title = d.arg.strip() if d.name == "admonition" else (d.arg.strip() or d.name.capitalize())
        return _quote(f"**{convert_roles(title, book, where)}**\n\n{body()}") + "\n"
    if d.name == "figure":
        caption = body()
        ref = d.options.get("name")
        n = book.figures.get(ref, (None, None))[1]
        alt = d.options.get("alt", "")
        img = d.arg.strip()
        head = f"**{FIG_FORMAT.format(n=n)}.** " if n else ""
        return f"![{alt}]({img})\n\n{head}{caption}\n"
    if d.name in ("code-cell", "glue:figure", "glue:math", "glue"):
        raise ValueError(f"{where}: no plain form for the directive {{{d.name}}}")
    # any other directive (e.g. a fenced code block with a language role): keep its body as a block
    return f"```\n{d.body}\n```\n"


# ---------------------------------------------------------------------------------------- notebooks
def convert_notebook(path: Path, book: Book, doc: str) -> nbformat.NotebookNode:
    """The converted copy of one notebook (code cells unchanged; figure captions added)."""
    nb = nbformat.read(path, as_version=4)
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = convert_markdown(cell.source, book, doc)
            cells.append(cell)
            continue
        cells.append(cell)
        fig = ((cell.metadata.get("mystnb") or {}).get("figure") or {}) if cell.cell_type == "code" else {}
        if fig.get("caption"):
            n = book.figures.get(fig.get("name"), (None, None))[1]
            head = f"**{FIG_FORMAT.format(n=n)}.** " if n else ""
            cap = nbformat.v4.new_markdown_cell(f"{head}{convert_markdown(fig['caption'], book, doc)}")
            cap["id"] = (cell.get("id") or "fig")[:56] + "-cap"
            cells.append(cap)
    out.cells = cells
    out.metadata.setdefault("colab", {})["provenance"] = []
    return out


def convert_all(out_dir: Path, root: Path = ROOT, html: Path | None = None) -> list[Path]:
    """Write the converted copy of every notebook of ``_toc.yml`` under ``out_dir``; the paths written.

    With ``html`` (a built book; default ``_build/html`` when it has an ``index.html``) the numbers
    of equations, figures and exercises are read from it; otherwise they are computed as Sphinx does.
    """
    book = load_book(root)
    html = html if html is not None else root / "_build" / "html"
    if (html / "index.html").is_file():
        changed = numbers_from_html(book, html)
        if changed:
            print(f"note: {len(changed)} number(s) taken from {html} differ from the computed ones: "
                  f"{dict(list(changed.items())[:5])}", file=sys.stderr)
    written = []
    for doc in book.docs:
        src = root / (doc + ".ipynb")
        if not src.is_file():
            continue
        dest = out_dir / (doc + ".ipynb")
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(convert_notebook(src, book, doc), dest)
        written.append(dest)
    return written


def colab_url(book: Book, doc: str, branch: str = "gh-pages", prefix: str = "colab") -> str:
    """Where Colab opens the converted copy of ``doc`` once the book is published.

    The published site (branch ``gh-pages``) holds ``_build/html``, and the build copies the
    converted notebooks into its ``colab/`` folder.
    """
    org_repo = book.repo.split("github.com/", 1)[1]
    return f"https://colab.research.google.com/github/{org_repo}/blob/{branch}/{prefix}/{doc}.ipynb"


# ---------------------------------------------------------------------------------------- Sphinx
def _colab_button(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Point the page's Colab launch button at the converted copy (:func:`colab_url`)."""
    buttons = [b for group in context.get("header_buttons") or [] if group.get("label") == "launch-buttons"
               for b in group.get("buttons", [])]
    colab = [b for b in buttons if b.get("text") == "Colab"]
    if not colab or not (Path(app.srcdir) / (pagename + ".ipynb")).is_file():
        return
    cfg = read_config(Path(app.srcdir))
    book = Book(url=cfg["url"], repo=cfg["repo"], branch=cfg["branch"], docs=[])
    for b in colab:
        b["url"] = colab_url(book, pagename)


def setup(app) -> dict:
    """Sphinx extension (``_config.yml``: ``sphinx.local_extensions``): the book's Colab buttons
    open the converted copies, which the build publishes under ``colab/`` (see the Makefile)."""
    app.connect("html-page-context", _colab_button, priority=502)  # after sphinx-book-theme's (501)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default _build/colab)")
    args = ap.parse_args(argv)
    written = convert_all(args.out)
    counts: dict[str, int] = {}
    for path in written:
        src = ROOT / path.relative_to(args.out) if path.is_relative_to(args.out) else path
        for cell in nbformat.read(src, as_version=4).cells:
            if cell.cell_type == "markdown":
                for kind, n in count_myst(cell.source).items():
                    counts[kind] = counts.get(kind, 0) + n
            elif ((cell.metadata.get("mystnb") or {}).get("figure") or {}).get("caption"):
                counts["figure captions"] = counts.get("figure captions", 0) + 1
    print(f"wrote {len(written)} notebooks under {args.out}; converted: "
          + ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1])))
    return 0


def count_myst(src: str) -> dict[str, int]:
    """How many of each MyST role and directive a Markdown string holds (directives nested in others too)."""
    counts: dict[str, int] = {}
    for m in _ROLE.finditer(src):
        counts["{" + m.group("role") + "}"] = counts.get("{" + m.group("role") + "}", 0) + 1
    if _DOCLINK.search(src):
        counts["[](doc) links"] = len(_DOCLINK.findall(src))
    stack = [src]
    while stack:
        for d in _directives(stack.pop()):
            key = "{" + d.name + "}" + (" (labelled)" if d.name == "math" and d.options.get("label") else "")
            counts[key] = counts.get(key, 0) + 1
            stack.append(d.body)
    return counts


if __name__ == "__main__":
    sys.exit(main())
