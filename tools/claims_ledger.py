"""Sphinx extension: the book's *Claims* page, built from every check cell's output.

:func:`gantools.check.claim` prints each claim that held as an HTML line carrying its data
(``<div class="gantools-claim" data-claim="{json}">``). While Sphinx reads the executed notebooks,
this extension collects those lines with the section they sit in; the directive
``{claims-ledger}`` (on ``claims.md``) is replaced, once every page has been read, by the
ledger: per notebook, each claim with its measured values and tolerance, linked to its section.
"""
from __future__ import annotations

import html
import json
import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.docutils import SphinxDirective

_CLAIM = re.compile(r'class="gantools-claim" data-claim="([^"]*)"')


class claims_ledger(nodes.General, nodes.Element):
    """Placeholder replaced by the ledger when the page is resolved."""


class ClaimsLedgerDirective(SphinxDirective):
    """``{claims-ledger}``: where the ledger of checked claims goes."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        return [claims_ledger("")]


def _section_of(node: nodes.Node) -> tuple[str, str]:
    """The id and title of the innermost section holding ``node`` ('' if none)."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.section) and parent.get("ids"):
            title = parent.next_node(nodes.title)
            return parent["ids"][0], title.astext() if title is not None else ""
        parent = parent.parent
    return "", ""


def _collect(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    docname = env.docname
    found: list[dict[str, Any]] = []
    for raw in doctree.findall(nodes.raw):
        for m in _CLAIM.finditer(raw.astext()):
            data = json.loads(html.unescape(m.group(1)))
            sec_id, sec_title = _section_of(raw)
            found.append({**data, "section_id": sec_id, "section": sec_title})
    store = getattr(env, "gantools_claims", {})
    if found:
        store[docname] = found
    else:
        store.pop(docname, None)
    env.gantools_claims = store


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "gantools_claims", {}).pop(docname, None)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    store = getattr(env, "gantools_claims", {})
    store.update({d: v for d, v in getattr(other, "gantools_claims", {}).items() if d in docnames})
    env.gantools_claims = store


def _values(d: dict[str, str]) -> nodes.Node:
    para = nodes.paragraph()
    for i, (k, v) in enumerate(d.items()):
        if i:
            para += nodes.Text("; ")
        para += nodes.literal(text=f"{k} = {v}")
    return para


def _fill(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    env = app.env
    store: dict[str, list[dict[str, Any]]] = getattr(env, "gantools_claims", {})
    order = {d: i for i, d in enumerate(_toc_order(env))}
    for node in list(doctree.findall(claims_ledger)):
        out: list[nodes.Node] = []
        total = sum(len(v) for v in store.values())
        summary = nodes.paragraph(text=f"{total} claims in {len(store)} pages, every one checked "
                                       "when the book was built.")
        out.append(summary)
        for doc in sorted(store, key=lambda d: (order.get(d, 10**6), d)):
            title = env.titles[doc].astext() if doc in env.titles else doc
            sec = nodes.section(ids=[nodes.make_id(f"claims-{doc}")])
            heading = nodes.title()
            ref = nodes.reference("", title, internal=True,
                                  refuri=app.builder.get_relative_uri(docname, doc))
            heading += ref
            sec += heading
            table = nodes.table(classes=["claims-table"])
            tgroup = nodes.tgroup(cols=4)
            table += tgroup
            for w in (40, 30, 15, 15):
                tgroup += nodes.colspec(colwidth=w)
            thead = nodes.thead()
            row = nodes.row()
            for h in ("claim", "measured", "tolerance", "section"):
                row += nodes.entry("", nodes.paragraph(text=h))
            thead += row
            tgroup += thead
            tbody = nodes.tbody()
            for c in store[doc]:
                row = nodes.row()
                row += nodes.entry("", nodes.paragraph(text="✓ " + c["text"]))
                row += nodes.entry("", _values(c.get("measured", {})))
                row += nodes.entry("", _values(c.get("tolerance", {})))
                uri = app.builder.get_relative_uri(docname, doc)
                if c.get("section_id"):
                    uri += "#" + c["section_id"]
                link = nodes.paragraph()
                link += nodes.reference("", c.get("section") or title, internal=True, refuri=uri)
                row += nodes.entry("", link)
                tbody += row
            tgroup += tbody
            sec += table
            out.append(sec)
        node.replace_self(out)


def _toc_order(env: BuildEnvironment) -> list[str]:
    """Documents in reading order (the master toctree), for a ledger that follows the book."""
    seen: list[str] = []

    def walk(doc: str) -> None:
        if doc in seen:
            return
        seen.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    return seen


def _rewrite_ledger(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Have the ledger page written again after every read (its content depends on all pages)."""
    return ["claims"] if "claims" in env.found_docs else []


def setup(app: Sphinx) -> dict:
    app.add_node(claims_ledger)
    app.add_directive("claims-ledger", ClaimsLedgerDirective)
    app.connect("doctree-read", _collect)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-updated", _rewrite_ledger)
    app.connect("doctree-resolved", _fill)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
