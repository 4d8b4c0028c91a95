"""The Colab copies of the notebooks (``tools/colab_notebooks.py``): plain Markdown, same code.

Every notebook of ``_toc.yml`` is converted into a temporary folder; no MyST role, directive or
target may be left, every solution must sit inside a collapsed ``<details>``, and the code cells
must equal the source's. Each conversion is also tested on small strings.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("colab_notebooks", ROOT / "tools" / "colab_notebooks.py")
cn = importlib.util.module_from_spec(spec)
sys.modules["colab_notebooks"] = cn  # dataclasses look their module up
spec.loader.exec_module(cn)

MYST_LEFT = re.compile(r"\{py:|\{cite|\{eq\}|\{numref\}|\{ref\}|\{doc\}|```\{|:::\{|^\([A-Za-z0-9_.:-]+\)=\s*$", re.M)
URL = "https://book.example/"


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("colab")
    return out, cn.convert_all(out)


@pytest.fixture(scope="module")
def book():
    b = cn.load_book(ROOT)
    b.url = URL
    return b


def test_every_toc_notebook_is_converted(converted):
    out, written = converted
    want = [d for d in cn.toc_docs(ROOT) if (ROOT / (d + ".ipynb")).is_file()]
    assert want and sorted(p.relative_to(out).with_suffix("").as_posix() for p in written) == sorted(want)


def test_no_myst_left_and_code_unchanged(converted):
    out, written = converted
    problems = []
    for path in written:
        rel = path.relative_to(out)
        src = nbformat.read(ROOT / rel, as_version=4)
        dst = nbformat.read(path, as_version=4)
        nbformat.validate(dst)
        code_src = [(c.get("id"), c.source, c.metadata) for c in src.cells if c.cell_type == "code"]
        code_dst = [(c.get("id"), c.source, c.metadata) for c in dst.cells if c.cell_type == "code"]
        if code_src != code_dst:
            problems.append(f"{rel}: code cells differ from the source")
        n_solutions = sum(len(re.findall(r"^[`:]{3,}\{solution\}", c.source, re.M))
                          for c in src.cells if c.cell_type == "markdown")
        details = 0
        for c in dst.cells:
            if c.cell_type != "markdown":
                continue
            for m in MYST_LEFT.finditer(c.source):
                problems.append(f"{rel}: MyST left: ...{c.source[max(m.start() - 40, 0):m.end() + 40]!r}")
            # every solution is inside a <details> (closed: no "open" attribute)
            for m in re.finditer(r"<summary>Solution[^<]*</summary>", c.source):
                before = c.source[:m.start()]
                if not re.search(r"<details>\s*$", before) or "</details>" not in c.source[m.end():]:
                    problems.append(f"{rel}: a solution outside a closed <details>")
                details += 1
            if "<details open" in c.source:
                problems.append(f"{rel}: a solution starts open")
        if details != n_solutions:
            problems.append(f"{rel}: {n_solutions} solution(s) in the source, {details} <details> in the copy")
    assert not problems, "\n".join(problems[:30])


def test_numbers_follow_the_book(book):
    # one sequence each over the whole book, in table-of-contents order
    for table in (book.equations, book.figures, book.exercises):
        nums = sorted(n for _, n in table.values())
        assert nums == list(range(1, len(nums) + 1))
    order = {d: i for i, d in enumerate(book.docs)}
    for table in (book.equations, book.figures, book.exercises):
        seq = sorted(table.values(), key=lambda v: v[1])
        assert [order[d] for d, _ in seq] == sorted(order[d] for d, _ in seq)


# ------------------------------------------------------------------------------- small strings
def test_py_roles(book):
    md = "Calls {py:func}`gantools.dirac.integrate` and {py:class}`~gantools.explorers.live.Explorer`."
    out = cn.convert_markdown(md, book, "chapters/x/y")
    assert out == ("Calls [`gantools.dirac.integrate`](https://book.example/api.html#gantools.dirac.integrate) "
                   "and [`Explorer`](https://book.example/api.html#gantools.explorers.live.Explorer).")
    titled = cn.convert_markdown("{py:func}`dirac.simulate <gantools.dirac.simulate>`", book)
    assert titled == "[`dirac.simulate`](https://book.example/api.html#gantools.dirac.simulate)"


def test_cite(book):
    key = sorted(book.bib)[0]
    name, year = book.bib[key], book.years[key]
    anchor = cn.make_id("cite-" + key)
    assert cn.convert_markdown(f"as shown {{cite}}`{key}`.", book) == \
        f"as shown \\[[{name}, {year}](https://book.example/bibliography.html#{anchor})\\]."
    assert cn.convert_markdown(f"{{cite:t}}`{key}`", book) == \
        f"[{name} \\[{year}\\]](https://book.example/bibliography.html#{anchor})"
    with pytest.raises(ValueError, match="unknown key"):
        cn.convert_markdown("{cite}`no-such-key`", book)


def test_bib_names():
    names, years = cn._bibliography(ROOT)
    assert names["mescheder2018which"] == "Mescheder et al." and years["mescheder2018which"] == "2018"
    assert "nagarajan2017stable" in names and names["nagarajan2017stable"] == "Nagarajan and Kolter"


def test_eq_numref_and_math(book):
    label, (doc, n) = next(iter(book.equations.items()))
    out = cn.convert_markdown(f"by {{eq}}`{label}`", book, doc)
    assert out == f"by [({n})](https://book.example/{doc}.html#{cn.make_id('equation-' + label)})"
    block = cn.convert_markdown(f"```{{math}}\n:label: {label}\na = b\n```\n", book, doc)
    assert block.strip() == f"$$\na = b \\tag{{{n}}}\n$$"
    assert cn.convert_markdown("```{math}\nc = d\n```", book).strip() == "$$\nc = d\n$$"
    fig, (fdoc, fn) = next(iter(book.figures.items()))
    assert cn.convert_markdown(f"{{numref}}`{fig}`", book) == \
        f"[Fig. {fn}](https://book.example/{fdoc}.html#{cn.make_id(fig)})"
    with pytest.raises(ValueError, match="unknown label"):
        cn.convert_markdown("{numref}`fig-nowhere`", book)
    # math is left alone, even when it holds something role-like
    assert cn.convert_markdown("$a_{eq}$ and $$x$$", book) == "$a_{eq}$ and $$x$$"


def test_exercise_and_solution(book):
    label, (doc, n) = next(iter(book.exercises.items()))
    md = (f"## Exercises\n\n```{{exercise}}\n:label: {label}\nCompute $x$.\n```\n\n"
          f"````{{solution}} {label}\n:class: dropdown\nIt is 2.\n\n```python\nprint(2)\n```\n````\n")
    out = cn.convert_markdown(md, book, doc)
    assert f"**Exercise {n}.**\n\n> Compute $x$." in out
    assert f"<details>\n<summary>Solution to Exercise {n}</summary>\n\nIt is 2.\n\n```python\nprint(2)\n```\n\n</details>" in out
    assert not MYST_LEFT.search(out)
    colon = cn.convert_markdown(f":::{{exercise}}\n:label: {label}\nA.\n:::\n\n::::{{solution}} {label}\nB.\n::::\n", book)
    assert "<details>" in colon and f"**Exercise {n}.**" in colon and not MYST_LEFT.search(colon)


def test_admonitions_targets_and_doc_links(book):
    out = cn.convert_markdown("(my-target)=\n# T\n\n```{note}\nBe careful.\n```\n\n"
                              "```{admonition} Why\nBecause.\n```\n", book)
    assert "(my-target)=" not in out
    assert "> **Note**\n>\n> Be careful." in out and "> **Why**\n>\n> Because." in out
    first = next(d for d in book.docs if d.startswith("chapters/part1_dynamics/0"))
    link = cn.convert_markdown(f"see [](0{Path(first).name[1:]})", book, "chapters/part1_dynamics/06_explorer")
    assert link == f"see [{book.titles[first]}](https://book.example/{first}.html)"


def test_figure_captions_follow_their_cells(converted, book):
    out, written = converted
    path = next(p for p in written if p.name == "06_explorer.ipynb" and "part1" in str(p))
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        fig = (cell.metadata.get("mystnb") or {}).get("figure")
        if cell.cell_type == "code" and fig:
            n = book.figures[fig["name"]][1]
            assert nb.cells[i + 1].cell_type == "markdown"
            assert nb.cells[i + 1].source.startswith(f"**Fig. {n}.** ")


def test_config_is_the_one_source():
    cfg = cn.read_config(ROOT)
    assert cfg["url"].startswith("https://") and cfg["url"].endswith("/")
    assert cfg["repo"].startswith("https://github.com/")
    book = cn.load_book(ROOT)
    url = cn.colab_url(book, "chapters/part1_dynamics/01_dirac_gan_ode")
    assert url == (f"https://colab.research.google.com/github/{cfg['repo'].split('github.com/')[1]}"
                   "/blob/gh-pages/colab/chapters/part1_dynamics/01_dirac_gan_ode.ipynb")


def test_macros_expanded_in_copies(converted, book):
    out, written = converted
    pat = re.compile(r"(?<!\\)\\(" + "|".join(map(re.escape, book.macros)) + r")(?![A-Za-z])")
    for path in written:
        for c in nbformat.read(path, as_version=4).cells:
            if c.cell_type == "markdown":
                m = pat.search(c.source)
                assert not m, f"{path.name}: book macro left: {c.source[max(m.start() - 30, 0):m.end() + 30]!r}"


# ------------------------------------------------------------------------------- tools/myst_forms.py
mf = sys.modules["myst_forms"]  # imported by colab_notebooks


def test_myst_forms_macros():
    macros = mf.book_macros(ROOT)
    assert macros["E"] == ("\\mathbb{E}", 0) and macros["norm"][1] == 1
    text = "$\\E_x\\norm{a_{1}}^2 + \\KL(p\\Vert q)$, `\\E` in code, $a \\\\E$\n```python\nprint('\\N{BULLET}')\n```\n"
    out, n = mf.expand_macros(text, macros)
    assert n == 3
    assert out.startswith("$\\mathbb{E}_x\\left\\lVert a_{1} \\right\\rVert^2 + \\mathrm{KL}(p\\Vert q)$")
    assert "`\\E` in code" in out and "$a \\\\E$" in out and "\\N{BULLET}" in out
    # inside a MyST math directive (a fence that is not code) macros are expanded
    out, n = mf.expand_macros("```{math}\n:label: x\n\\E[a]\n```\n", macros)
    assert n == 1 and "\\mathbb{E}[a]" in out
    with pytest.raises(ValueError, match="braced argument"):
        mf.expand_macros("$\\norm x$", macros)


def test_myst_forms_roles_and_links_idempotent():
    here = ROOT / "chapters" / "part1_dynamics" / "06_explorer.ipynb"
    text = ("see {py:func}`dirac.simulate <gantools.dirac.simulate>` and {py:func}`gantools.dirac.integrate`; "
            "[](04_ode_to_gradient_descent) and [](04_ode_to_gradient_descent.ipynb)")
    out, counts = mf.rewrite_markdown(text, here, mf.book_macros(ROOT))
    title = mf._title(here.parent / "04_ode_to_gradient_descent.ipynb")
    assert out == ("see {py:func}`gantools.dirac.simulate` and {py:func}`gantools.dirac.integrate`; "
                   f"[{title}](04_ode_to_gradient_descent.ipynb) and [](04_ode_to_gradient_descent.ipynb)")
    assert counts == {"macros": 0, "titled py roles": 1, "doc links": 1}
    again, counts = mf.rewrite_markdown(out, here, mf.book_macros(ROOT))
    assert again == out and sum(counts.values()) == 0
    with pytest.raises(ValueError, match="no notebook or page"):
        mf.rewrite_markdown("[](no_such_page)", here, {})


def test_myst_forms_check_mode(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T\n$\\E[x]$"),
                                         nbformat.v4.new_code_cell("x = '\\\\E'")])
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    before = path.read_text()
    assert mf.main(["--check", str(path)]) == 1 and path.read_text() == before
    assert mf.main([str(path)]) == 0
    new = nbformat.read(path, as_version=4)
    assert new.cells[0].source == "# T\n$\\mathbb{E}[x]$" and new.cells[1].source == nb.cells[1].source
    assert [c.id for c in new.cells] == [c.id for c in nb.cells]
    assert mf.main(["--check", str(path)]) == 0


def test_count_myst():
    src = ("{py:func}`a.b` {cite}`k` [](x)\n\n```{exercise}\n:label: e\nSee {eq}`q`.\n```\n\n"
           "````{solution} e\n```{math}\n:label: q\na\n```\n````\n")
    assert cn.count_myst(src) == {"{py:func}": 1, "{cite}": 1, "{eq}": 1, "[](doc) links": 1,
                                  "{exercise}": 1, "{solution}": 1, "{math} (labelled)": 1}


def test_colab_button_points_at_the_copy():
    class App:
        srcdir = str(ROOT)

    ctx = {"header_buttons": [{"label": "launch-buttons", "buttons": [
        {"text": "Binder", "url": "https://mybinder.org/x"},
        {"text": "Colab", "url": "https://colab.research.google.com/github/o/r/blob/main/chapters/part1_dynamics/06_explorer.ipynb"}]}]}
    cn._colab_button(App(), "chapters/part1_dynamics/06_explorer", "page.html", ctx, None)
    urls = {b["text"]: b["url"] for b in ctx["header_buttons"][0]["buttons"]}
    assert urls["Colab"].endswith("/blob/gh-pages/colab/chapters/part1_dynamics/06_explorer.ipynb")
    assert urls["Binder"] == "https://mybinder.org/x"
    page = {"header_buttons": []}
    cn._colab_button(App(), "intro", "page.html", page, None)  # a page without launch buttons
    assert page == {"header_buttons": []}


def test_numbers_from_built_html(tmp_path, book):
    import copy

    b = copy.deepcopy(book)
    (eq, (doc, n)), (fig, (fdoc, fn)), (ex, (edoc, en)) = (next(iter(t.items())) for t in (b.equations, b.figures, b.exercises))
    pages = {doc: "", fdoc: "", edoc: ""}
    pages[doc] += f'<div class="math" id="{cn.make_id("equation-" + eq)}">\n<span class="eqno">({n + 5})<a>¶</a></span>'
    pages[fdoc] += (f'<figure id="{cn.make_id(fig)}">\n<img src="x.png" />\n<figcaption>\n<p>'
                    f'<span class="caption-number">Fig. {fn} </span>')
    pages[edoc] += (f'<div class="exercise admonition" id="{cn.make_id(ex)}">\n\n<p class="admonition-title">'
                    f'<span class="caption-number">Exercise {en + 1} </span></p>')
    for d, text in pages.items():
        (tmp_path / d).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / (d + ".html")).write_text(text)
    changed = cn.numbers_from_html(b, tmp_path)
    assert changed == {eq: n + 5, ex: en + 1}
    assert b.equations[eq] == (doc, n + 5) and b.figures[fig] == (fdoc, fn) and b.exercises[ex] == (edoc, en + 1)
