"""What every page needs about many resources at once, read once per served store.

Labels, asserted types, the provenance of every fact and the conflicts between facts are read
with four stored queries when first needed and kept: the served store does not change while the
server runs (the query service counts its triples once for the same reason). A page then shows
names instead of IRIs and the source of each fact without a query per link.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDFS, SKOS
from rdflib.term import Node

from ..query.table import shortener
from ..rdf.namespaces import MCKG
from .runner import Runner

#: Which label wins when a resource has several (SKOS preferred label first).
_LABEL_ORDER = (SKOS.prefLabel, RDFS.label, DCTERMS.title, FOAF.name, MCKG.citationKey,
                MCKG.acronym)


@dataclass(frozen=True)
class Link:
    """An IRI with the name to show for it."""

    iri: str
    label: str


@dataclass(frozen=True)
class Section:
    """A part of the report: its number (``3``, ``ES``, ``Table 1``) and title."""

    iri: str
    number: str
    title: str

    @property
    def label(self) -> str:
        """``§3 Existing policy on micro-credentials``; non-numbered parts by title alone."""
        if self.number and self.number[0].isdigit():
            return f"§{self.number} {self.title}".strip()
        return self.title or self.number


@dataclass(frozen=True)
class Footnote:
    """A footnote of the report: number and the address it gives."""

    iri: str
    number: str
    address: str | None


@dataclass
class Provenance:
    """Where one fact comes from: the report, its parts, footnotes, credited source and wave."""

    fact: str
    document: Link | None = None
    statement: str | None = None
    sections: list[Section] = field(default_factory=list)
    footnotes: list[Footnote] = field(default_factory=list)
    credited: list[Link] = field(default_factory=list)
    wave: Link | None = None
    wave_number: int | None = None
    status: list[Link] = field(default_factory=list)


@dataclass
class ConflictInfo:
    """A conflict: its kind, explanation and the facts on each side."""

    iri: str
    label: str
    kind: Link | None
    statement: str | None
    sides: list[str] = field(default_factory=list)
    side_status: dict[str, str] = field(default_factory=dict)
    subjects: set[str] = field(default_factory=set)


@dataclass
class Facets:
    """What a resource can be filtered on: the countries or regions and the topics it concerns."""

    jurisdictions: set[str] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)


def _literal_text(term: Node) -> str:
    return str(term)


class GraphIndex:
    """Labels, types, provenance and conflicts of the whole graph, loaded lazily and kept."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._lock = threading.Lock()
        self._labels: dict[str, str] | None = None
        self._label_terms: dict[str, tuple[URIRef, Literal]] = {}
        self._short: dict[str, str] = {}
        self._all_labels: list[tuple[str, str]] | None = None
        self._types: dict[str, list[str]] | None = None
        self._provenance: dict[str, Provenance] | None = None
        self._conflicts: dict[str, ConflictInfo] | None = None
        self._facets: dict[str, Facets] | None = None

    # -- labels and types ----------------------------------------------------------------
    def labels(self) -> dict[str, str]:
        """The label of every labelled IRI (English or untagged; SKOS preferred label first)."""
        if self._labels is None:
            with self._lock:
                if self._labels is None:
                    rank = {str(p): i for i, p in enumerate(_LABEL_ORDER)}
                    best: dict[str, tuple[int, int, str]] = {}
                    shorts: dict[str, tuple[bool, str]] = {}
                    for row in self.runner.select("ld-labels").rows:
                        iri, label = str(row["s"]), row["label"]
                        if row["p"] in (MCKG.citationKey, MCKG.acronym):
                            # Deterministic whatever the store's row order: citation keys
                            # before acronyms, then the first in sort order.
                            short = (row["p"] != MCKG.citationKey, str(label))
                            if iri not in shorts or short < shorts[iri]:
                                shorts[iri] = short
                        lang = label.language if isinstance(label, Literal) else None
                        key = (rank.get(str(row["p"]), 99), 0 if lang else 1, str(label))
                        if iri not in best or key < best[iri]:
                            best[iri] = key
                            if isinstance(label, Literal) and isinstance(row["p"], URIRef):
                                self._label_terms[iri] = (row["p"], label)
                    self._short = {iri: key[1] for iri, key in shorts.items()}
                    self._labels = {iri: key[2] for iri, key in best.items()}
        return self._labels

    def label_term(self, iri: str) -> tuple[URIRef, Literal] | None:
        """The triple's predicate and literal behind :meth:`label` (for RDF documents)."""
        self.labels()
        return self._label_terms.get(iri)

    def all_labels(self) -> list[tuple[str, str]]:
        """Every (IRI, label) pair, for search (a resource may be found by any of its names)."""
        if self._all_labels is None:
            pairs = [(str(r["s"]), str(r["label"])) for r in self.runner.select("ld-labels").rows]
            with self._lock:
                self._all_labels = pairs
        return self._all_labels

    def types(self) -> dict[str, list[str]]:
        """Asserted ``rdf:type`` values of every IRI."""
        if self._types is None:
            with self._lock:
                if self._types is None:
                    out: dict[str, list[str]] = defaultdict(list)
                    for row in self.runner.select("ld-types").rows:
                        out[str(row["s"])].append(str(row["type"]))
                    self._types = {k: sorted(v) for k, v in out.items()}
        return self._types

    def label(self, iri: str | Node) -> str:
        """The label of ``iri``, or a readable rendering of the IRI itself."""
        text = str(iri)
        found = self.labels().get(text)
        if found:
            return found
        return fallback_label(text, self.runner.base)

    def link(self, iri: str | Node) -> Link:
        """``iri`` with its label."""
        return Link(str(iri), self.label(iri))

    def short_link(self, iri: str | Node) -> Link:
        """``iri`` with its short name (citation key, acronym) where it has one."""
        self.labels()
        return Link(str(iri), self._short.get(str(iri)) or self.label(iri))

    # -- provenance ----------------------------------------------------------------------
    def provenance(self) -> dict[str, Provenance]:
        """The provenance of every fact, by fact IRI."""
        if self._provenance is None:
            rows = self.runner.select("ld-provenance").rows
            labels = self.labels()
            facts: dict[str, Provenance] = {}
            for row in rows:
                fact = str(row["fact"])
                p = facts.setdefault(fact, Provenance(fact))
                doc = row.get("document")
                if doc is not None and p.document is None:
                    p.document = self.short_link(doc)
                if "statement" in row and p.statement is None:
                    p.statement = _literal_text(row["statement"])
                section = row.get("section")
                if section is not None and all(s.iri != str(section) for s in p.sections):
                    p.sections.append(Section(str(section), str(row.get("sectionNumber", "")),
                                              labels.get(str(section), "")))
                note = row.get("footnote")
                if note is not None and all(f.iri != str(note) for f in p.footnotes):
                    address = row.get("footnoteAddress")
                    p.footnotes.append(Footnote(str(note), str(row.get("footnoteNumber", "")),
                                                str(address) if address is not None else None))
                status = row.get("status")
                if status is not None and all(s.iri != str(status) for s in p.status):
                    p.status.append(self.link(status))
                credited = row.get("credited")
                if credited is not None and all(c.iri != str(credited) for c in p.credited):
                    p.credited.append(self.short_link(credited))
                wave = row.get("wave")
                if wave is not None and p.wave is None:
                    p.wave = self.link(wave)
                    number = row.get("waveNumber")
                    p.wave_number = int(number.toPython()) if isinstance(number, Literal) else None
            for p in facts.values():
                p.sections.sort(key=lambda s: (not s.number[:1].isdigit(), s.number))
                p.footnotes.sort(key=lambda f: int(f.number) if f.number.isdigit() else 0)
                p.credited.sort(key=lambda c: c.label)
            with self._lock:
                self._provenance = facts
        return self._provenance

    # -- facets --------------------------------------------------------------------------
    def facets(self) -> dict[str, Facets]:
        """The jurisdictions and topics of every resource that has some (``ld-facets``)."""
        if self._facets is None:
            out: dict[str, Facets] = defaultdict(Facets)
            for row in self.runner.select("ld-facets").rows:
                found = out[str(row["s"])]
                if "jurisdiction" in row:
                    found.jurisdictions.add(str(row["jurisdiction"]))
                if "topic" in row:
                    found.topics.add(str(row["topic"]))
            with self._lock:
                self._facets = dict(out)
        return self._facets

    # -- conflicts -----------------------------------------------------------------------
    def conflicts(self) -> dict[str, ConflictInfo]:
        """Every conflict, by IRI."""
        if self._conflicts is None:
            out: dict[str, ConflictInfo] = {}
            for row in self.runner.select("ld-conflicts").rows:
                iri = str(row["conflict"])
                kind = row.get("kind")
                c = out.setdefault(iri, ConflictInfo(
                    iri, self.label(iri), self.link(kind) if kind is not None else None,
                    _literal_text(row["statement"]) if "statement" in row else None))
                side = str(row["side"])
                if side not in c.sides:
                    c.sides.append(side)
                if "sideStatus" in row:
                    c.side_status[side] = str(row["sideStatus"])
                if "sideSubject" in row:
                    c.subjects.add(str(row["sideSubject"]))
            for c in out.values():
                c.sides.sort()
            with self._lock:
                self._conflicts = out
        return self._conflicts

    def conflicts_of(self, iri: str) -> list[ConflictInfo]:
        """Conflicts ``iri`` takes part in: as the conflict, as a side, or as a side's subject."""
        return [c for c in self.conflicts().values()
                if iri == c.iri or iri in c.sides or iri in c.subjects]


_shortener = cache(shortener)


def fallback_label(iri: str, base: str) -> str:
    """A readable name for an unlabelled IRI.

    Ours: the last path segment or fragment (``country/XX`` → ``XX``). Others: a prefixed name
    where the prefix registry has one (``eqf:6``), else the IRI itself — a bare last segment
    such as ``4.0`` of a licence address would tell a reader nothing.
    """
    if not iri.startswith(base):
        short = _shortener(base)(iri)
        return iri if short.startswith("<") else short
    text = iri[len(base):]
    for sep in ("#", "/"):
        if sep in text.rstrip(sep):
            text = text.rstrip(sep).rsplit(sep, 1)[1]
    return text or iri
