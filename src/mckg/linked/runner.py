"""Running the stored linked-data queries on a graph or on the served store.

The queries live in ``queries/linked`` and ``queries/comparison`` and are written with the
canonical base IRI, so each file runs as it is in any SPARQL tool. Two things are done to the
text before it runs, both textual and both safe:

- the canonical base is replaced by the configured one (the data was rebased the same way when
  it was loaded, see :func:`mckg.build.graphs.rebase`);
- each ``$name`` parameter is replaced by the N-Triples form of the term bound to it. Terms are
  checked first (:func:`safe_term`), so no request text can change the shape of a query — the
  rule that no IRI is pasted into SPARQL with an f-string is kept by serialising terms, never
  strings.

:class:`ServiceRunner` goes through a :class:`~mckg.query.service.QueryService` (the server's, or one
the CLI and tests open inline on a store), so the store's engine, the worker processes and the
time limit apply to linked-data pages exactly as to ``/sparql``: there is no other way to ask.

Decimals are brought to the project's canonical form (``50000000.0``,
:func:`mckg.build.graphs.canonical_decimal`) whatever the store returns — Oxigraph writes XSD 1.1's
``50000000`` — so documents, dumps and exports of the same fact compare equal term by term.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from ..build.graphs import canonical_decimal
from ..query.service import QueryService
from ..query.stored import get as get_query
from ..rdf.namespaces import CANONICAL_BASE
from ..rdf.terms import from_json

Row = dict[str, Node]

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
#: Characters that may not appear in an IRI written between ``<`` and ``>`` (RFC 3987 plus
#: SPARQL's IRIREF production): refusing them keeps a bound IRI from closing the ``<…>``.
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')


class UnsafeTerm(ValueError):
    """A term cannot be written into a query safely (e.g. an IRI with a space or ``>``)."""


def safe_term(term: Node) -> str:
    """The SPARQL/N-Triples form of ``term``.

    :raise UnsafeTerm: an IRI with characters that IRIs may not contain, or a blank node
        (blank node labels do not survive from one query to the next).
    """
    if isinstance(term, URIRef):
        if _IRI_FORBIDDEN.search(str(term)):
            raise UnsafeTerm(f"not a valid IRI: {str(term)!r}")
        return f"<{term}>"
    if isinstance(term, Literal):
        return term.n3()
    raise UnsafeTerm(f"cannot bind {type(term).__name__} {term!r} in a query")


def prepare(text: str, base: str, bindings: Mapping[str, Node]) -> str:
    """Return ``text`` moved under ``base`` with every ``$name`` replaced by its bound term.

    :raise KeyError: the query uses a parameter that is not bound.
    :raise UnsafeTerm: a bound term cannot be written safely.
    """
    if base != CANONICAL_BASE:
        text = text.replace(CANONICAL_BASE, base)
    written = {name: safe_term(term) for name, term in bindings.items()}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in written:
            raise KeyError(f"query parameter ${name} is not bound")
        return written[name]

    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return _PARAM.sub(substitute, body)


@dataclass
class Answer:
    """Rows of a SELECT, or the graph of a CONSTRUCT, and whether the result limit cut it."""

    rows: list[Row] = field(default_factory=list)
    graph: Graph | None = None
    truncated: bool = False


class Runner(Protocol):
    """Runs stored queries by name with bound parameters."""

    base: str

    def select(self, name: str, **bindings: Node) -> Answer:
        """Rows of the SELECT query ``name``."""
        ...

    def construct(self, name: str, **bindings: Node) -> Answer:
        """The graph of the CONSTRUCT query ``name``."""
        ...

    def ask(self, name: str, **bindings: Node) -> bool:
        """The answer of the ASK query ``name``."""
        ...


#: Rows a linked-data query may return. The endpoint's result limit is for queries strangers
#: send; ours are the server's own, bounded by design (the index reads every label once), and
#: a page built from a cut answer would silently miss labels or facts.
INTERNAL_LIMIT = 1_000_000


class ServiceRunner:
    """Runs stored queries through the server's query service (its store, workers, time limit).

    Queries run with :data:`INTERNAL_LIMIT` instead of the public result limit.
    """

    _SELECT = "application/sparql-results+json"
    _GRAPH = "application/n-triples"

    def __init__(self, service: QueryService, base: str) -> None:
        self.service = service
        self.base = base

    def _run(self, name: str, bindings: Mapping[str, Node], media_type: str) -> tuple[bytes, bool]:
        text = prepare(get_query(name).text, self.base, bindings)
        info = self.service.check(text)
        answer = self.service.run(text, info, media_type, limit=INTERNAL_LIMIT)
        return answer.body, answer.truncated

    def select(self, name: str, **bindings: Node) -> Answer:
        """Rows of the SELECT query ``name``, read from SPARQL JSON results."""
        body, truncated = self._run(name, bindings, self._SELECT)
        doc = json.loads(body)
        rows = [{k: canonical_decimal(from_json(v)) for k, v in binding.items()}
                for binding in doc.get("results", {}).get("bindings", [])]
        return Answer(rows=rows, truncated=truncated)

    def construct(self, name: str, **bindings: Node) -> Answer:
        """The graph of the CONSTRUCT query ``name``, read from N-Triples."""
        body, truncated = self._run(name, bindings, self._GRAPH)
        parsed = Graph()
        if body.strip():
            parsed.parse(data=body, format="nt")
        graph = Graph()
        for s, p, o in parsed:
            graph.add((s, p, canonical_decimal(o)))
        return Answer(graph=graph, truncated=truncated)

    def ask(self, name: str, **bindings: Node) -> bool:
        """The answer of the ASK query ``name``, read from SPARQL JSON results."""
        body, _ = self._run(name, bindings, self._SELECT)
        return bool(json.loads(body).get("boolean"))
