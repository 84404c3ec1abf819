"""Rendering query results for people (a text table) and for programs (CSV, TSV, JSON, XML).

Formats themselves are described in :mod:`mckg.rdf.formats`.
"""

from __future__ import annotations

import json

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from ..rdf.namespaces import rebase_prefixes
from ..rdf.terms import from_json


def shortener(base: str):
    """Return a function that writes an IRI as a prefixed name where the registry allows."""
    prefixes = sorted(rebase_prefixes(base).items(), key=lambda kv: -len(kv[1]))

    def shorten(iri: str) -> str:
        for name, ns in prefixes:
            if iri.startswith(ns):
                local = iri[len(ns):]
                if local and all(c.isalnum() or c in "-_." for c in local):
                    return f"{name}:{local}"
        return f"<{iri}>"

    return shorten


def term_text(term: Node | None, shorten) -> str:
    """A readable rendering of one RDF term."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return shorten(str(term))
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, Literal):
        if term.language:
            return f'"{term}"@{term.language}'
        return str(term)
    return str(term)


def table_from_json(body: bytes, base: str) -> str:
    """A fixed-width text table of an answer in SPARQL 1.1 Query Results JSON (``true`` or
    ``false`` for ASK)."""
    payload = json.loads(body)
    if "boolean" in payload:
        return ("true" if payload["boolean"] else "false") + "\n"
    shorten = shortener(base)
    names = list(payload.get("head", {}).get("vars", []))
    rows = [[term_text(from_json(b[n]) if n in b else None, shorten) for n in names]
            for b in payload.get("results", {}).get("bindings", [])]
    return _table(names, rows)


def _table(names: list[str], rows: list[list[str]]) -> str:
    widths = [min(60, max([len(n)] + [len(r[i]) for r in rows])) for i, n in enumerate(names)]

    def line(cells: list[str]) -> str:
        return " | ".join(c[:60].ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(names), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out) + "\n"
