"""The audit trail: every accepted write as a PROV-O activity in its own named graph.

Each write is a ``prov:Activity`` (and a ``cur:Write``) in ``{base}graph/audit``, associated
with the token's name as a ``prov:Agent``, with its start and end times, what was asked (the
update text, or the Graph Store operation and its graph), the triples added and removed —
counted, and as N-Quads, so that it can be reverted and the trail replayed — the graphs it
dropped whole, and the SHACL outcome of its focus nodes. A revert is a write like any other,
pointing at the write it undoes with ``cur:reverts``.

The record is part of the write's own transaction (:meth:`mckg.store.base.Store.apply_change`),
so the trail and the data cannot disagree: a write is in the trail if and only if it was
committed. Tokens are never recorded, only their names.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyoxigraph as ox
from rdflib import Literal

from ..linked.runner import prepare as bind
from ..query.check import inspect_query
from ..query.stored import get as stored_query
from ..rdf.terms import from_oxigraph
from ..store.base import Store
from .tokens import audit_graph
from .transaction import Change, Prepared

PROV = "http://www.w3.org/ns/prov#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD = "http://www.w3.org/2001/XMLSchema#"
#: Largest update text kept whole in the trail (the rest is summarised by its length).
MAX_TEXT = 256 * 1024


def vocabulary(base: str) -> str:
    """The namespace of the trail's own terms."""
    return f"{base}def/curation#"


def new_id() -> str:
    """A write's id: its UTC time (so ids sort by time) and 32 random bits."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)


@dataclass(frozen=True)
class Record:
    """What the trail says of one write."""

    id: str
    agent: str
    started: datetime
    ended: datetime
    operation: str
    text: str
    target: str | None
    prepared: Prepared
    reverts: str | None = None


def write_iri(base: str, write_id: str) -> str:
    """The IRI of the write ``write_id``."""
    return f"{base}id/curation/write/{write_id}"


def record_quads(base: str, record: Record) -> list[ox.Quad]:
    """The PROV-O description of ``record``, in the audit graph."""
    cur = vocabulary(base)
    graph = ox.NamedNode(audit_graph(base))
    write = ox.NamedNode(write_iri(base, record.id))
    agent = ox.NamedNode(f"{base}id/curation/agent/{_slug(record.agent)}")
    change: Change = record.prepared.change
    report = record.prepared.report

    def lit(value: Any, datatype: str | None = None) -> ox.Literal:
        return ox.Literal(str(value).lower() if isinstance(value, bool) else str(value),
                          datatype=ox.NamedNode(XSD + datatype) if datatype else None)

    def when(moment: datetime) -> ox.Literal:
        return lit(moment.isoformat(timespec="milliseconds"), "dateTime")

    text = record.text if len(record.text) <= MAX_TEXT else \
        record.text[:MAX_TEXT] + f"\n# … ({len(record.text)} characters in all)"
    statements: list[tuple[ox.NamedNode, str, ox.NamedNode | ox.Literal]] = [
        (write, RDF_TYPE, ox.NamedNode(PROV + "Activity")),
        (write, RDF_TYPE, ox.NamedNode(cur + "Write")),
        (write, cur + "writeId", lit(record.id)),
        (write, PROV + "wasAssociatedWith", agent),
        (agent, RDF_TYPE, ox.NamedNode(PROV + "Agent")),
        (agent, RDFS_LABEL, lit(record.agent)),
        (write, PROV + "startedAtTime", when(record.started)),
        (write, PROV + "endedAtTime", when(record.ended)),
        (write, cur + "operation", lit(record.operation)),
        (write, cur + "request", lit(text)),
        (write, cur + "triplesAdded", lit(change.n_added, "integer")),
        (write, cur + "triplesRemoved", lit(change.n_removed, "integer")),
        (write, cur + "addedQuads", lit(change.added.decode("utf-8"))),
        (write, cur + "removedQuads", lit(change.removed.decode("utf-8"))),
        (write, cur + "removedBlankNodes", lit(change.removed_blank, "boolean")),
        (write, cur + "shaclConforms", lit(report.conforms, "boolean")),
        (write, cur + "focusNodes", lit(record.prepared.focus, "integer")),
        (write, cur + "shaclResults", lit(len(report.violations), "integer")),
        (write, cur + "validationSeconds",
         lit(f"{record.prepared.seconds.get('validation', 0.0):.3f}", "decimal")),
    ]
    statements += [(write, cur + "graphChanged", ox.NamedNode(g)) for g in change.graphs]
    statements += [(write, cur + "droppedGraph", ox.NamedNode(g)) for g in change.dropped]
    if record.target:
        statements.append((write, cur + "target", ox.NamedNode(record.target)))
    if record.reverts:
        statements.append((write, cur + "reverts", ox.NamedNode(write_iri(base, record.reverts))))
    return [ox.Quad(s, ox.NamedNode(p), o, graph) for s, p, o in statements]


def _slug(name: str) -> str:
    """A token's name as an IRI path segment."""
    return "".join(c if c.isalnum() or c in "-._~" else "_" for c in name) or "_"


@dataclass(frozen=True)
class WriteLookup:
    """What the trail holds about one write, for a revert."""

    added: bytes
    removed: bytes
    dropped: tuple[str, ...]
    removed_blank: bool


def lookup(store: Store, base: str, write_id: str,
           prefixes: Mapping[str, str] | None = None) -> WriteLookup | None:
    """The quads write ``write_id`` added and removed, read from ``store``; None if unknown."""
    text = bind(stored_query("curation-write").text, base, {"id": Literal(write_id)})
    result = store.query(text, inspect_query(text), prefixes=prefixes)
    assert result.solutions is not None
    for row in result.solutions:
        values = {name: "" if row[name] is None else str(from_oxigraph(row[name]))
                  for name in ("added", "removed", "drops", "blank")}
        return WriteLookup(added=values["added"].encode("utf-8"),
                           removed=values["removed"].encode("utf-8"),
                           dropped=tuple(values["drops"].split()),
                           removed_blank=values["blank"] == "true")
    return None
