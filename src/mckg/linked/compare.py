"""The country comparison: the report's comparative view, regenerated from the graph.

Rows are the countries and regions some fact is about (survey partners first); columns are
the kinds of finding the report compares. Each column is one stored query in
``queries/comparison`` returning ``?jurisdiction ?fact ?value ?detail``; each cell lists the
facts behind it with their provenance from the shared index. A cell is *flagged* when its facts
disagree (different values) — with the conflict nodes that explain the disagreement, where the
data has one — so the reader sees at once that, e.g., the German survey partner and the OECD do
not say the same thing about a German portal.

A survey wave filter keeps only the facts that describe that wave's situation; facts from other
sources (OECD, ENQA, the report's own synthesis) have no wave and are shown only when no wave is
chosen.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from rdflib import Literal

from .describe import Describer
from .index import Link, Provenance


@dataclass(frozen=True)
class Column:
    """One column: its key (CSV, anchors), heading, stored query and what it shows."""

    key: str
    title: str
    query: str
    note: str
    #: Whether a jurisdiction's facts in this column are alternatives (a status), so that two
    #: different values are a disagreement; several funding programmes are not.
    exclusive: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("mc-policy", "Specific micro-credential policy", "compare-mc-policy",
           "Whether a policy supports micro-credentials, specifically or within a broader policy."),
    Column("lll", "Lifelong-learning policy frame", "compare-lll",
           "What frames lifelong learning and short courses in higher education."),
    Column("qa-role", "QA agency role", "compare-qa-role",
           "What the quality-assurance agency does for micro-credentials."),
    Column("accreditation", "External accreditation of micro-credentials", "compare-accreditation",
           "Whether micro-credentials are externally accredited, and how."),
    Column("portal", "National portal", "compare-portal",
           "Whether a national body runs a central micro-credential portal."),
    Column("funding", "Funding programmes", "compare-funding",
           "Programmes that fund micro-credentials, with their budgets.", exclusive=False),
)


@dataclass
class CellFact:
    """One fact in a cell: its value, detail (instrument, agency, portal, budget) and source."""

    fact: Link
    href: str | None
    value: Link
    value_href: str | None
    detail: Link | None
    detail_href: str | None
    amount: str | None
    provenance: Provenance


@dataclass
class Cell:
    """The facts of one jurisdiction in one column."""

    facts: list[CellFact] = field(default_factory=list)
    conflicts: list[Link] = field(default_factory=list)
    exclusive: bool = True

    @property
    def values(self) -> list[str]:
        """The distinct values (IRIs) the facts give."""
        return sorted({f.value.iri for f in self.facts})

    @property
    def sources(self) -> list[str]:
        """The distinct credited sources of the facts."""
        return sorted({c.label for f in self.facts for c in f.provenance.credited})

    @property
    def differs(self) -> bool:
        """True when the facts give different values (or a conflict node links them)."""
        return (self.exclusive and len(self.values) > 1) or bool(self.conflicts)

    @property
    def sources_differ(self) -> bool:
        """True when the facts differ *and* come from different credited sources."""
        return self.differs and len(self.sources) > 1


@dataclass
class Row:
    """One jurisdiction."""

    jurisdiction: Link
    href: str | None
    code: str
    partner: bool
    within: Link | None
    cells: dict[str, Cell]

    @property
    def answered(self) -> int:
        """How many columns have at least one fact for this jurisdiction."""
        return sum(1 for cell in self.cells.values() if cell.facts)


@dataclass
class Wave:
    """A survey wave one can filter on."""

    link: Link
    number: int


@dataclass
class Comparison:
    """The whole table."""

    columns: tuple[Column, ...]
    rows: list[Row]
    waves: list[Wave]
    wave: int | None


def _amount(row: dict) -> str | None:
    amount = row.get("amount")
    if not isinstance(amount, Literal):
        return None
    value = amount.toPython()
    text = f"{value:,.0f}" if value == int(value) else f"{value:,}"
    currency = row.get("currency")
    code = str(currency).rsplit("/", 1)[-1] if currency is not None else ""
    period = row.get("period")
    return f"{code} {text}".strip() + (f" ({period})" if period is not None else "")


def compare(describer: Describer, *, wave: int | None = None) -> Comparison:
    """Build the comparison table, keeping only facts of survey wave ``wave`` if given."""
    index, runner = describer.index, describer.runner
    provenance = index.provenance()
    conflicts = index.conflicts()

    rows: dict[str, Row] = {}
    for r in runner.select("compare-jurisdictions").rows:
        iri = str(r["jurisdiction"])
        if iri in rows:
            continue
        within = r.get("withinCountry")
        partner = r.get("partner")
        rows[iri] = Row(index.link(iri), describer.href(iri), str(r.get("code", "")),
                        bool(partner.toPython()) if isinstance(partner, Literal) else False,
                        index.link(within) if within is not None else None,
                        {c.key: Cell(exclusive=c.exclusive) for c in COLUMNS})

    for column in COLUMNS:
        for r in runner.select(column.query).rows:
            iri = str(r["jurisdiction"])
            if iri not in rows:
                continue  # a supranational area: not a row
            fact = str(r["fact"])
            prov = provenance.get(fact) or Provenance(fact)
            if wave is not None and prov.wave_number != wave:
                continue
            cell = rows[iri].cells[column.key]
            if any(f.fact.iri == fact and f.value.iri == str(r["value"]) for f in cell.facts):
                continue
            detail = r.get("detail")
            cell.facts.append(CellFact(
                index.link(fact), describer.href(fact), index.link(r["value"]),
                describer.href(str(r["value"])),
                index.link(detail) if detail is not None else None,
                describer.href(str(detail)) if detail is not None else None,
                _amount(r), prov))

    for row in rows.values():
        for cell in row.cells.values():
            facts = {f.fact.iri for f in cell.facts}
            cell.facts.sort(key=lambda f: (f.provenance.wave_number is None, f.value.label,
                                           f.fact.label))
            cell.conflicts = [Link(c.iri, c.label) for c in conflicts.values()
                              if len(facts & set(c.sides)) >= 2]

    waves = sorted((Wave(index.link(r["wave"]), int(r["number"].toPython()))
                    for r in runner.select("compare-waves").rows
                    if isinstance(r.get("number"), Literal)), key=lambda w: w.number)
    ordered = sorted(rows.values(), key=lambda r: (not r.partner, r.jurisdiction.label))
    return Comparison(COLUMNS, ordered, waves, wave)


CSV_FIELDS = ("jurisdiction", "jurisdiction_label", "code", "survey_partner", "column", "value",
              "value_label", "detail", "detail_label", "amount", "fact", "fact_label", "credited",
              "credited_iris",
              "sections", "footnotes", "footnote_addresses", "wave", "cell_differs",
              "cell_sources_differ", "conflicts")


def to_csv(comparison: Comparison) -> str:
    """The table in long form: one line per jurisdiction, column and fact (RFC 4180 CSV).

    Long form keeps every fact and its source, so the file can be filtered and pivoted without
    losing the provenance that a one-line-per-country sheet would have to squeeze into a cell.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for row in comparison.rows:
        for column in comparison.columns:
            cell = row.cells[column.key]
            for f in cell.facts:
                p = f.provenance
                writer.writerow([
                    row.jurisdiction.iri, row.jurisdiction.label, row.code,
                    "true" if row.partner else "false", column.key, f.value.iri, f.value.label,
                    f.detail.iri if f.detail else "", f.detail.label if f.detail else "",
                    f.amount or "", f.fact.iri, f.fact.label,
                    "; ".join(c.label for c in p.credited),
                    " ".join(c.iri for c in p.credited),
                    "; ".join(s.label for s in p.sections),
                    "; ".join(n.number for n in p.footnotes),
                    " ".join(n.address or "" for n in p.footnotes).strip(),
                    p.wave.iri if p.wave else "",
                    "true" if cell.differs else "false",
                    "true" if cell.sources_differ else "false",
                    " ".join(c.iri for c in cell.conflicts)])
    return out.getvalue()
