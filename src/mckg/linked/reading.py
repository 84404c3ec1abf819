"""A resource page for readers: the summary first, then the facts by topic, then the data.

A policy researcher opening Spain wants to know, in a few lines, what the report says about
Spain on the questions it compares, and where it says it — not the IRI, the ``rdf:type`` and
the alignments. This module turns a :class:`~mckg.linked.describe.Description` and the
country's row of the comparison into that reading order:

- **summary**: one generated sentence per comparison column (the grade in words, the values,
  the credited source and section), or what the report does not say, each marked when the
  latest survey wave with data answers it differently from the wave before (a reader
  tracking progress looks for exactly that);
- **one wave**: with a survey wave chosen (``?wave=N``), the summary and the facts are that
  wave's answers only and the marker says what *that* wave changed, so a reader can step
  through the waves; a wave with nothing for the resource is an explicit empty state
  (:attr:`Reading.empty`), not a page that looks as if the report said nothing;
- **groups**: the facts by the report section they come from (the report is organised by
  topic: policy, quality assurance, portals, lifelong learning…), each conflict shown in the
  group of the facts it opposes;
- **related**: things the page's facts name (programmes, bodies, laws), listed compactly;
- **citation**: how to cite what the page shows (:mod:`.cite`).

The data-engineering view (IRI, types, alignments, all properties) stays in the description
and is shown below, folded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import RDF, RDFS, URIRef
from rdflib.namespace import DCTERMS, OWL, SKOS

from ..rdf.namespaces import MCKG
from .cite import Citations, Work
from .compare import Column, Comparison, Row, WaveChanges
from .describe import (
    ALIGNMENT_PREDICATES,
    DESCRIPTION_PREDICATES,
    ConflictView,
    Description,
    FactView,
    PropertyValues,
)
from .grades import Grade
from .index import Link, Section


@dataclass
class SummaryLine:
    """One sentence of the summary: a column's answer for this jurisdiction."""

    column: Column
    grade: Grade
    values: list[str]
    sources: list[str]
    sections: list[Section]
    conflicts: list[Link]
    #: Whether the latest survey wave with data changed this answer (see Reading.changes).
    changed: bool = False

    @property
    def sentence(self) -> str:
        """The answer as a sentence (without its source, which the page shows as links)."""
        if not self.values:
            return "The report says nothing on this."
        return "; ".join(self.values) + "."


@dataclass
class FactGroup:
    """The facts of one report section (or the facts with no section)."""

    key: str
    title: str
    facts: list[FactView] = field(default_factory=list)
    conflicts: list[ConflictView] = field(default_factory=list)


@dataclass
class PageCitation:
    """How to cite a page: the report, the sections the page draws on, and the page's IRI."""

    report: Work | None
    sections: list[str]
    iri: str

    @property
    def text(self) -> str:
        """One line to paste."""
        parts = [self.report.citation.rstrip(".") + "." if self.report else ""]
        if self.sections:
            parts.append(", ".join(self.sections) + ".")
        parts.append(f"Structured record: {self.iri}")
        return " ".join(p for p in parts if p)


#: Properties a reader does not need up front: types, names (the heading), the lead text,
#: provenance (shown with each fact), alignments and OWL bookkeeping (in the data details).
_NOT_UP_FRONT = frozenset(str(p) for p in (
    RDF.type, RDFS.label, SKOS.prefLabel, SKOS.altLabel, DCTERMS.title, *DESCRIPTION_PREDICATES,
    MCKG.section, MCKG.footnote, MCKG.reportedBy, MCKG.wave, MCKG.status,
    URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"), OWL.sameAs)) | (
        ALIGNMENT_PREDICATES - {str(MCKG.currency), str(MCKG.eqfLevel)})


@dataclass
class Reading:
    """A page in reading order."""

    summary: list[SummaryLine]
    row: Row | None
    groups: list[FactGroup]
    related: list[FactView]
    citation: PageCitation
    #: The resource's own values a reader wants (an amount, a date, a programme's budget).
    details: list[PropertyValues] = field(default_factory=list)
    #: What the latest survey wave with data changed (the summary lines marked ``changed``),
    #: or, with a wave chosen, what that wave changed since the wave before.
    changes: WaveChanges | None = None
    #: The survey wave the page is restricted to (``?wave=N``), or None for all sources.
    wave: int | None = None

    @property
    def changed(self) -> list[SummaryLine]:
        """The summary lines the latest wave changed."""
        return [line for line in self.summary if line.changed]

    @property
    def empty(self) -> bool:
        """Whether the chosen wave has nothing for this resource: no fact, no summary answer and
        no answer it removed (that is a change worth showing). Never true without a wave: all
        sources together are the page as it always was."""
        return (self.wave is not None and not self.groups
                and not any(line.values or line.changed for line in self.summary))

    @property
    def fact_count(self) -> int:
        """How many facts the groups hold."""
        return sum(len(g.facts) for g in self.groups)


def _is_fact(f: FactView) -> bool:
    """A statement the report makes (has a statement or a status), not a thing it names."""
    return bool(f.provenance.statement or f.provenance.status)


def _summary(row: Row, table: Comparison, changes: WaveChanges | None) -> list[SummaryLine]:
    lines = []
    for column in table.columns:
        cell = row.cells[column.key]
        values: list[str] = []
        for f in cell.facts:
            text = f.value.label
            if f.detail is not None and f.detail.iri != f.fact.iri:
                text += f" ({f.detail.label})"
            if f.amount:
                text += f", {f.amount}"
            if text not in values:
                values.append(text)
        sources = sorted({c.label for f in cell.facts for c in f.provenance.credited})
        sections: list[Section] = []
        for f in cell.facts:
            sections += [s for s in f.provenance.sections if s not in sections]
        changed = changes is not None and changes.changed(row.jurisdiction.iri, column.key)
        lines.append(SummaryLine(column, cell.grade, values, sources, sections, cell.conflicts,
                                 changed))
    return lines


def _in_wave(f: FactView, wave: int | None) -> bool:
    """Whether fact ``f`` is shown when ``wave`` is chosen (None: every fact). The rule of the
    comparison's wave filter: a fact of that survey wave; other sources have no wave."""
    return wave is None or f.provenance.wave_number == wave


def reading(d: Description, table: Comparison, citations: Citations,
            report: Work | None, changes: WaveChanges | None = None,
            wave: int | None = None) -> Reading:
    """``d`` in reading order; ``table`` is the comparison of the shown facts (all waves, or
    ``wave``'s, which must then be ``table.wave``), ``changes`` what the latest survey wave
    with data (or ``wave``) changed since the wave before. With ``wave``, only that wave's
    facts are shown, and a conflict only when two of its sides are among them (as in the
    comparison's cells); the things the facts name and the data details stay whole."""
    assert wave is None or table.wave == wave, "the summary must come from the same wave"
    row = next((r for r in table.rows if r.jurisdiction.iri == d.iri), None)
    summary = _summary(row, table, changes) if row is not None else []

    groups: dict[str, FactGroup] = {}
    related: list[FactView] = []
    group_of: dict[str, str] = {}
    for f in d.facts:
        if not _is_fact(f):
            if f.fact.iri != d.iri:
                related.append(f)
            continue
        if not _in_wave(f, wave):
            continue
        sections = f.provenance.sections
        key = sections[0].iri if sections else ""
        if key not in groups:
            groups[key] = FactGroup(key, sections[0].label if sections else "Other facts")
        groups[key].facts.append(f)
        group_of[f.fact.iri] = key
    def order(g: FactGroup) -> tuple[int, str]:
        number = g.title[1:].split(" ", 1)[0] if g.title.startswith("§") else ""
        return (int(number) if number.isdigit() else 99 if g.key else 100, g.title)

    for c in d.conflicts:
        # with the facts it opposes; if they sit in several sections, the first numbered one
        # (a topic section rather than the executive summary)
        keys = {group_of[s.fact.iri] for s in c.sides if s.fact.iri in group_of}
        if wave is not None and sum(s.fact.iri in group_of for s in c.sides) < 2:
            continue  # its sides are not both this wave's answers
        key = min(keys, key=lambda k: order(groups[k])) if keys else ""
        if key not in groups:
            groups[key] = FactGroup(key, "Other facts")
        groups[key].conflicts.append(c)

    pages = citations.pages()
    used: list[str] = []
    for g in sorted(groups.values(), key=order):
        if g.key:
            page = pages.get(g.key)
            used.append(g.title.split(" ", 1)[0] + (f" (p. {page})" if page else "")
                        if g.title.startswith("§") else g.title)
    details = [pv for pv in d.properties if pv.property.iri not in _NOT_UP_FRONT]
    return Reading(summary, row, sorted(groups.values(), key=order), related,
                   PageCitation(report, used, d.iri), details,
                   changes if changes is not None and changes.previous is not None else None,
                   wave)
