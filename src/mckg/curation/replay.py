"""Replaying the audit trail: the proof that nothing was lost and nothing is partial.

Every committed write is in the trail with the exact quads it removed and added (and the
graphs it dropped whole), in the same transaction as the write itself. So applying the
trail's changes, in order, to a copy of the graph as it was before the first write must give
exactly the graph as it is now, audit graph aside. The crash tests and the load benchmark
check this.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from ..linked.runner import prepare as bind
from ..query.check import inspect_query
from ..query.stored import get as stored_query
from ..rdf.terms import from_oxigraph
from ..store.oxigraph import OxigraphEngine
from .tokens import audit_graph


@dataclass(frozen=True)
class Entry:
    """One write of the trail, as replayed."""

    id: str
    added: bytes
    removed: bytes
    dropped: tuple[str, ...]


def trail(store: OxigraphEngine, base: str) -> list[Entry]:
    """Every write in ``store``'s audit trail, oldest first (ids sort by time)."""
    text = bind(stored_query("curation-trail").text, base, {})
    result = store.query(text, inspect_query(text))
    assert result.solutions is not None
    entries = []
    for row in result.solutions:
        values = {name: "" if row[name] is None else str(from_oxigraph(row[name]))
                  for name in ("id", "added", "removed", "drops")}
        entries.append(Entry(values["id"], values["added"].encode("utf-8"),
                             values["removed"].encode("utf-8"), tuple(values["drops"].split())))
    return sorted(entries, key=lambda e: e.id)


def replay(start: OxigraphEngine, entries: list[Entry]) -> None:
    """Apply ``entries`` to ``start``, in order, as they were committed."""
    for entry in entries:
        start.apply_change(entry.removed, entry.added, dropped=entry.dropped)


def state(store: OxigraphEngine, base: str) -> dict[str, frozenset[str]]:
    """Every named graph's triples (as N-Quads lines), the audit graph and empty graphs aside."""
    skip = audit_graph(base)
    out: dict[str, set[str]] = {}
    for q in store.native.quads_for_pattern(None, None, None, None):
        if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value != skip:
            out.setdefault(q.graph_name.value, set()).add(f"{q.subject} {q.predicate} {q.object}")
    return {g: frozenset(t) for g, t in out.items()}
