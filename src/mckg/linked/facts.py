"""The facts as one table: one row per fact, for spreadsheets, pandas and R.

Researchers work in tables. Every fact (a resource with provenance and a statement, a status or
an amount) becomes one row: the jurisdictions it concerns, what it is about (its dimension: the
measure of a figure, else its kind), its value (the status it reports, or its number) and unit,
its statement, credited source, report section, footnote address, survey wave and IRI. Values
are plain — numbers are numbers, labels are strings — so ``pandas.read_csv``, ``read_excel`` and
``read_json`` give the right dtypes without an RDF or JSON-LD processor.

Read from the stored queries ``ld-fact-values``, ``ld-facets``, ``ld-types`` and
``ld-provenance`` (the last three shared with the pages through the index), once per server.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rdflib import Literal

from .index import GraphIndex
from .sheets import Sheet, workbook

#: The columns, in order (CSV header, XLSX header, JSON keys).
FIELDS = ("jurisdiction", "jurisdiction_code", "dimension", "value", "number", "unit",
          "statement", "source", "section", "footnote_url", "wave", "topic", "label", "fact")
#: Filters of :meth:`FactTable.select` (and ``/api/facts``).
FILTERS = ("country", "topic", "source", "wave", "dimension")


class UnknownFilter(ValueError):
    """A filter value no fact has; the message names the parameter."""


@dataclass
class FactRow:
    """One fact as plain values."""

    fact: str
    label: str
    jurisdictions: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    dimension: str = ""
    value: str = ""
    number: int | float | None = None
    unit: str = ""
    statement: str = ""
    sources: list[str] = field(default_factory=list)
    source_keys: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    footnote_urls: list[str] = field(default_factory=list)
    wave: int | None = None
    topics: list[str] = field(default_factory=list)
    topic_keys: list[str] = field(default_factory=list)

    def values(self) -> dict[str, Any]:
        """The row by :data:`FIELDS`, lists joined with ``"; "``, missing values None."""
        return {
            "jurisdiction": "; ".join(self.jurisdictions) or None,
            "jurisdiction_code": "; ".join(self.codes) or None,
            "dimension": self.dimension or None, "value": self.value or None,
            "number": self.number, "unit": self.unit or None,
            "statement": self.statement or None, "source": "; ".join(self.sources) or None,
            "section": "; ".join(self.sections) or None,
            "footnote_url": " ".join(self.footnote_urls) or None, "wave": self.wave,
            "topic": "; ".join(self.topics) or None, "label": self.label, "fact": self.fact}


def _local(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _number(term: Literal) -> int | float | None:
    value = term.toPython()
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return int(value) if value == int(value) else float(value)


class FactTable:
    """Every fact as a :class:`FactRow`, read once."""

    def __init__(self, index: GraphIndex) -> None:
        self.index = index
        self._lock = threading.Lock()
        self._rows: list[FactRow] | None = None

    def rows(self) -> list[FactRow]:
        """All facts, by jurisdiction, then dimension, then label."""
        if self._rows is None:
            rows = self._read()
            with self._lock:
                self._rows = rows
        return self._rows

    def _read(self) -> list[FactRow]:
        index = self.index
        provenance, types, facets = index.provenance(), index.types(), index.facets()
        found: dict[str, FactRow] = {}
        statuses: dict[str, list[str]] = defaultdict(list)
        for r in index.runner.select("ld-fact-values").rows:
            iri = str(r["fact"])
            row = found.get(iri)
            if row is None:
                row = found[iri] = FactRow(iri, index.label(iri))
                kinds = [index.label(t) for t in types.get(iri, [])]
                row.dimension = "; ".join(kinds)
            if "status" in r and index.label(r["status"]) not in statuses[iri]:
                statuses[iri].append(index.label(r["status"]))
            if isinstance(r.get("number"), Literal) and row.number is None:
                row.number = _number(r["number"])
            if "measure" in r:
                row.dimension = index.label(r["measure"])
            if "currency" in r:
                row.unit = _local(str(r["currency"]))
        for iri, row in found.items():
            row.value = "; ".join(statuses[iri]) or (
                f"{row.number:,}" if row.number is not None else "")
            p = provenance.get(iri)
            if p is not None:
                row.statement = p.statement or ""
                row.sources = [c.label for c in p.credited]
                row.source_keys = [_local(c.iri) for c in p.credited]
                row.sections = [s.label for s in p.sections]
                row.footnote_urls = [n.address for n in p.footnotes if n.address]
                row.wave = p.wave_number
            f = facets.get(iri)
            if f is not None:
                ordered = sorted(f.jurisdictions, key=lambda j: index.label(j))
                row.jurisdictions = [index.label(j) for j in ordered]
                row.codes = [_local(j) for j in ordered]
                row.topics = sorted(index.label(t) for t in f.topics)
                row.topic_keys = sorted(_local(t) for t in f.topics)
        return sorted(found.values(), key=lambda r: (r.jurisdictions == [], r.jurisdictions,
                                                     r.dimension, r.label.casefold()))

    def select(self, filters: dict[str, str]) -> list[FactRow]:
        """The facts matching every filter (``country`` a code, ``topic`` and ``source`` the
        last segment of their IRIs, ``wave`` a number, ``dimension`` a dimension as shown).

        :raise UnknownFilter: a filter no fact has (the parameter named).
        """
        rows = self.rows()
        keys = {"country": lambda r: r.codes, "topic": lambda r: r.topic_keys,
                "source": lambda r: r.source_keys,
                "wave": lambda r: [str(r.wave)] if r.wave is not None else [],
                "dimension": lambda r: [r.dimension]}
        for name, value in filters.items():
            if name not in keys:
                raise UnknownFilter(f"{name}: not a filter; filters: {', '.join(FILTERS)}")
            get = keys[name]
            if not any(value in get(r) for r in rows):
                raise UnknownFilter(f"{name}: no fact has {name} {value!r}")
            rows = [r for r in rows if value in get(r)]
        return rows


def to_csv(rows: list[FactRow]) -> str:
    """RFC 4180 CSV with a header line; empty cells for missing values."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for row in rows:
        values = row.values()
        writer.writerow(["" if values[f] is None else values[f] for f in FIELDS])
    return out.getvalue()


def to_xlsx(rows: list[FactRow]) -> bytes:
    """One sheet, ``Facts``, numbers stored as numbers."""
    return workbook([Sheet("Facts", list(FIELDS),
                           [[row.values()[f] for f in FIELDS] for row in rows])])
