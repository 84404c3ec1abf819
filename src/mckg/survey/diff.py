"""What changed between two survey waves, per jurisdiction and dimension.

The comparison itself is one stored query, ``queries/waves/wave-diff.rq``: waves are kept as
named graphs (or, for the curated first wave, in the data graph) and every fact names its wave,
so SPARQL compares them. This module runs it through the query service and shapes the answer
for people (a table), programs (CSV) and the graph (a change set in RDF).

Dimensions are the keys of the comparison's columns (``mc-policy``, ``lll``, ``qa-role``,
``accreditation``, ``portal``, ``funding``) plus ``mc-policy-instrument``, ``lll-instrument``,
``qa-agency`` and ``remarks``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV
from rdflib.term import Node

from ..linked.runner import Runner, ServiceRunner
from ..query.service import QueryService
from ..query.table import shortener, table_from_json
from .errors import Problem, SurveyError

#: The Changeset vocabulary (cs:ChangeSet, cs:addition, cs:removal, cs:changeReason).
CS = Namespace("http://purl.org/vocab/changeset/schema#")

#: What each dimension is, for people (the first six are the comparison's columns).
DIMENSIONS = {"mc-policy": "Specific micro-credential policy",
              "mc-policy-instrument": "Micro-credential policy documents",
              "lll": "Lifelong-learning policy frame",
              "lll-instrument": "Lifelong-learning policy documents",
              "qa-role": "QA agency role",
              "accreditation": "External accreditation of micro-credentials",
              "qa-agency": "QA agency or accreditation body",
              "portal": "National portal",
              "funding": "Funding programmes",
              "remarks": "Remarks"}

#: The property that carries each dimension's value in the model (for the change set).
_PROPERTY = {"mc-policy": "status", "lll": "status", "accreditation": "status",
             "portal": "status", "mc-policy-instrument": "instrument",
             "lll-instrument": "instrument", "qa-role": "qaRole", "qa-agency": "agency",
             "funding": "budget"}


@dataclass(frozen=True)
class Wave:
    """A survey wave: its IRI, number and label."""

    iri: str
    number: int
    label: str

    @property
    def id(self) -> str:
        """``w2``."""
        return f"w{self.number}"


@dataclass(frozen=True)
class Value:
    """One value of a cell on one side, with where it comes from."""

    value: str
    label: str
    source: str
    graph: str


@dataclass
class Change:
    """One changed cell: a jurisdiction's answer to one dimension, before and after."""

    jurisdiction: str
    jurisdiction_label: str
    dimension: str
    change: str
    before: list[Value] = field(default_factory=list)
    after: list[Value] = field(default_factory=list)


def waves(runner: Runner) -> list[Wave]:
    """Every survey wave the store knows, in order."""
    out = []
    for row in runner.select("waves").rows:
        number = row.get("number")
        if isinstance(number, Literal):
            out.append(Wave(str(row["wave"]), int(number.toPython()),
                            str(row.get("label") or row["wave"])))
    return sorted(out, key=lambda w: w.number)


def resolve_wave(runner: Runner, text: str) -> Wave:
    """The wave ``text`` names: ``w2``, ``2`` or the wave's IRI.

    :raise SurveyError: no such wave (the message lists the known ones).
    """
    known = waves(runner)
    key = text.strip()
    for wave in known:
        if key in (wave.iri, wave.id, wave.id.upper(), str(wave.number)):
            return wave
    names = ", ".join(w.id for w in known) or "none"
    raise SurveyError([Problem("wave", f"no survey wave {text!r}; known waves: {names}")])


def previous_wave(runner: Runner, wave: Wave) -> Wave | None:
    """The wave just before ``wave`` (by number), or None for the first."""
    earlier = [w for w in waves(runner) if w.number < wave.number]
    return earlier[-1] if earlier else None


def has_data(runner: Runner, wave: Wave) -> bool:
    """Whether any fact names ``wave`` yet (a scheduled wave has none until it is ingested)."""
    return bool(runner.select("wave-facts", wave=URIRef(wave.iri)).rows)


def diff(runner: Runner, before: Wave, after: Wave) -> list[Change]:
    """The changed cells from wave ``before`` to wave ``after``, by jurisdiction label, then
    dimension."""
    cells: dict[tuple[str, str], Change] = {}
    rows = runner.select("wave-diff", **{"from": URIRef(before.iri), "to": URIRef(after.iri)}).rows
    for row in rows:
        key = (str(row["jurisdiction"]), str(row["dimension"]))
        if key not in cells:
            cells[key] = Change(key[0], str(row["jurisdictionLabel"]), key[1],
                                str(row["change"]))
        value = Value(str(row["value"]), str(row["valueLabel"]), str(row["source"]),
                      str(row["graph"]))
        side = cells[key].before if str(row["side"]) == "from" else cells[key].after
        if value not in side:
            side.append(value)
    return sorted(cells.values(), key=lambda c: (c.jurisdiction_label, c.dimension))


def changed_cells(service: QueryService, base: str, wave: str) -> set[tuple[str, str]]:
    """Which ``(jurisdiction IRI, dimension key)`` cells of wave ``wave`` differ from the wave
    before it — for a "changed since the previous wave" marker on the comparison and country
    pages. Empty for the first wave. ``wave`` is ``w2``, ``2`` or the wave's IRI.

    :raise SurveyError: no such wave.
    """
    runner = ServiceRunner(service, base)
    current = resolve_wave(runner, wave)
    earlier = previous_wave(runner, current)
    if earlier is None:
        return set()
    return {(c.jurisdiction, c.dimension) for c in diff(runner, earlier, current)}


# -- output --------------------------------------------------------------------------------

def _joined(values: Iterable[Value], attr: str) -> str:
    return " | ".join(getattr(v, attr) for v in values)


def to_rows(changes: list[Change]) -> list[dict[str, str]]:
    """One flat record per changed cell (the CSV's and the table's rows)."""
    return [{"jurisdiction": c.jurisdiction, "jurisdiction_label": c.jurisdiction_label,
             "dimension": c.dimension, "change": c.change,
             "from_values": _joined(c.before, "value"), "from_labels": _joined(c.before, "label"),
             "from_sources": _joined(c.before, "source"),
             "to_values": _joined(c.after, "value"), "to_labels": _joined(c.after, "label"),
             "to_sources": _joined(c.after, "source")} for c in changes]


CSV_COLUMNS = ("jurisdiction", "jurisdiction_label", "dimension", "change", "from_values",
               "from_labels", "from_sources", "to_values", "to_labels", "to_sources")


def to_csv(changes: list[Change]) -> str:
    """CSV, one row per changed cell; several values in a cell are joined by `` | ``."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(to_rows(changes))
    return out.getvalue()


def to_table(changes: list[Change], base: str) -> str:
    """A text table for people: jurisdiction, dimension, change, labels and sources."""
    names = ["jurisdiction", "dimension", "change", "from", "to", "from_sources", "to_sources"]
    short = shortener(base)
    bindings = []
    for change, row in zip(changes, to_rows(changes), strict=True):
        row["from_sources"] = " | ".join(short(v.source) for v in change.before)
        row["to_sources"] = " | ".join(short(v.source) for v in change.after)
        cells = {"jurisdiction": row["jurisdiction_label"], "dimension": row["dimension"],
                 "change": row["change"], "from": row["from_labels"], "to": row["to_labels"],
                 "from_sources": row["from_sources"], "to_sources": row["to_sources"]}
        bindings.append({k: {"type": "literal", "value": v} for k, v in cells.items() if v})
    body = json.dumps({"head": {"vars": names}, "results": {"bindings": bindings}})
    return table_from_json(body.encode("utf-8"), base)


def changeset_iri(base: str, before: Wave, after: Wave) -> str:
    """The IRI of the change set from ``before`` to ``after``."""
    return f"{base}id/changeset/{before.id}-{after.id}"


def to_graph(changes: list[Change], base: str, before: Wave, after: Wave) -> Graph:
    """The changes as a change set (the Changeset vocabulary): each value that is no longer
    reported is a ``cs:removal``, each new one a ``cs:addition`` — a changed cell has both —
    as an ``rdf:Statement`` about the jurisdiction, with its dimension (``dct:type``), kind of
    change (``dct:description``), label, wave and source (``prov:wasDerivedFrom``)."""
    mckg = Namespace(f"{base}def#")
    g = Graph()
    for prefix, ns in (("cs", CS), ("mckg", mckg), ("prov", PROV), ("dct", DCTERMS)):
        g.bind(prefix, ns)
    cs = URIRef(changeset_iri(base, before, after))
    g.add((cs, RDF.type, CS.ChangeSet))
    g.add((cs, RDFS.label, Literal(f"Changes from {before.label} to {after.label}", lang="en")))
    g.add((cs, CS.changeReason, Literal(f"What the MCE partner survey's wave {after.number} "
                                        f"reports differently from wave {before.number}, per "
                                        "jurisdiction and dimension.", lang="en")))
    g.add((cs, PROV.wasDerivedFrom, URIRef(before.iri)))
    g.add((cs, PROV.wasDerivedFrom, URIRef(after.iri)))
    for change in changes:
        slug = f"{change.jurisdiction.rstrip('/').rsplit('/', 1)[-1].lower()}-{change.dimension}"
        for side, values, link, wave in (("from", change.before, CS.removal, before),
                                         ("to", change.after, CS.addition, after)):
            for i, value in enumerate(values, start=1):
                node = URIRef(f"{cs}#{slug}-{side}-{i}")
                g.add((cs, link, node))
                g.add((node, RDF.type, RDF.Statement))
                g.add((node, RDF.subject, URIRef(change.jurisdiction)))
                prop = _PROPERTY.get(change.dimension)
                g.add((node, RDF.predicate, mckg[prop] if prop else RDFS.comment))
                obj: Node = (URIRef(value.value) if value.value.startswith(("http://", "https://"))
                             and " " not in value.value else Literal(value.value))
                g.add((node, RDF.object, obj))
                g.add((node, DCTERMS.type, Literal(change.dimension)))
                g.add((node, DCTERMS.description, Literal(change.change)))
                g.add((node, RDFS.label, Literal(value.label)))
                g.add((node, mckg.wave, URIRef(wave.iri)))
                g.add((node, PROV.wasDerivedFrom, URIRef(value.source)))
    return g
