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
chosen. A wave the data names but holds no facts for yet (a scheduled follow-up) gives an
empty table, which the page says in words.

Each cell has a *grade* (:mod:`.grades`: yes, partly, planned, no, several values, no data) shown
as a symbol and a word, and colours the map. With a wave chosen, a cell that wave answers
differently from the wave before it is *marked* (:func:`mark_changes`): which cells changed is
the survey diff's answer (:func:`mckg.survey.diff.changed_cells`), what the earlier wave said is
that wave's own cell, so the page can show both. :func:`select` narrows the table to chosen
countries and columns (the page keeps the choice in its URL), and the CSV and XLSX files are
written from that same view.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from urllib.parse import urlencode

from rdflib import Literal

from . import grades
from .describe import Describer
from .grades import Grade
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
    grade: Grade = grades.REPORTED


@dataclass(frozen=True)
class WaveChanges:
    """The comparison cells survey wave ``wave`` answers differently from the wave before it.

    Kept per data version with the comparison (:class:`mckg.linked.site.LinkedData`): the
    cells are the survey diff's answer, read once, not recomputed per request.
    """

    wave: int
    #: The wave before (by number), or None for the first wave (nothing to change from).
    previous: int | None
    #: ``(jurisdiction IRI, column key)`` of each changed cell.
    cells: frozenset[tuple[str, str]] = frozenset()

    @property
    def diff_query(self) -> str:
        """The query string of the page listing these changes (``/waves/diff``)."""
        return urlencode({"from": f"w{self.previous}", "to": f"w{self.wave}"})

    def changed(self, jurisdiction: str, column: str) -> bool:
        """Whether the cell of ``jurisdiction`` in ``column`` changed in this wave."""
        return (jurisdiction, column) in self.cells


@dataclass
class Cell:
    """The facts of one jurisdiction in one column."""

    facts: list[CellFact] = field(default_factory=list)
    conflicts: list[Link] = field(default_factory=list)
    exclusive: bool = True
    #: The same cell in the previous wave, when the chosen wave changed it (else None).
    previous: Cell | None = None

    @property
    def changed(self) -> bool:
        """Whether the chosen wave answers this differently from the wave before it."""
        return self.previous is not None

    @property
    def change(self) -> str:
        """``added``, ``removed`` or ``changed`` (the survey diff's words), or ``""``."""
        if self.previous is None:
            return ""
        if not self.previous.facts:
            return "added"
        return "changed" if self.facts else "removed"

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

    @property
    def grade(self) -> Grade:
        """The cell at a glance: its facts' common grade, *sources differ* / *several values*
        when they disagree, *no data* when it has none."""
        if not self.facts:
            return grades.NONE
        found = {f.grade for f in self.facts}
        if self.differs and len(found) > 1:
            return grades.DIFFERS if self.sources_differ else grades.SEVERAL
        return min(found, key=lambda g: g.rank)


@dataclass
class Row:
    """One jurisdiction."""

    jurisdiction: Link
    href: str | None
    code: str
    partner: bool
    within: Link | None
    cells: dict[str, Cell]

    #: Regions inside this country that are rows of their own (Flanders in Belgium).
    regions: list[Link] = field(default_factory=list)

    @property
    def answered(self) -> int:
        """How many columns have at least one fact for this jurisdiction."""
        return sum(1 for cell in self.cells.values() if cell.facts)

    @property
    def empty(self) -> bool:
        """True when no column has a fact for this jurisdiction."""
        return self.answered == 0

    @property
    def changed(self) -> bool:
        """Whether a cell of this row changed since the previous wave (a row whose answers
        were all removed is then shown cell by cell, not as "the report says nothing")."""
        return any(cell.changed for cell in self.cells.values())


@dataclass
class Wave:
    """A survey wave one can filter on, and its stage (completed, scheduled…)."""

    link: Link
    number: int
    stage: Link | None = None


@dataclass
class Comparison:
    """The whole table (or a selection of it, :func:`select`)."""

    columns: tuple[Column, ...]
    rows: list[Row]
    waves: list[Wave]
    wave: int | None
    #: What the chosen wave changed since the one before (None: no wave chosen, or no data).
    changes: WaveChanges | None = None

    @property
    def empty(self) -> bool:
        """True when no cell has a fact (a wave with no data yet)."""
        return all(row.empty for row in self.rows)

    @property
    def changed_cells(self) -> int:
        """How many shown cells changed since the previous wave."""
        return sum(1 for row in self.rows for c in self.columns if row.cells[c.key].changed)

    @property
    def chosen_wave(self) -> Wave | None:
        """The wave filtered on, if any."""
        return next((w for w in self.waves if w.number == self.wave), None)

    def column(self, key: str) -> Column:
        """The column ``key``.

        :raise KeyError: no such column.
        """
        for c in COLUMNS:
            if c.key == key:
                return c
        raise KeyError(key)


def select(table: Comparison, countries: list[str] | None = None,
           columns: list[str] | None = None) -> Comparison:
    """The table narrowed to the jurisdictions with these codes and these column keys, in the
    table's own order (None: all).

    :raise ValueError: a code or key the table does not have (named, with the known ones).
    """
    codes = {r.code for r in table.rows}
    keys = [c.key for c in table.columns]
    unknown = sorted(set(countries or []) - codes)
    if unknown:
        raise ValueError(f"country: unknown code(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(codes))}")
    unknown = sorted(set(columns or []) - set(keys))
    if unknown:
        raise ValueError(f"column: unknown column(s) {', '.join(unknown)}; known: {', '.join(keys)}")
    rows = [r for r in table.rows if not countries or r.code in countries]
    cols = tuple(c for c in table.columns if not columns or c.key in columns)
    return Comparison(cols, rows, table.waves, table.wave, table.changes)


def mark_changes(table: Comparison, earlier: Comparison | None, changes: WaveChanges) -> None:
    """Mark the cells of ``table`` (wave ``changes.wave``) that ``changes`` lists, each with
    the same cell of ``earlier`` (the previous wave's table, None for the first wave), so a
    reader sees both answers."""
    before = {row.jurisdiction.iri: row for row in earlier.rows} if earlier is not None else {}
    for row in table.rows:
        for key, cell in row.cells.items():
            if changes.changed(row.jurisdiction.iri, key):
                old = before.get(row.jurisdiction.iri)
                cell.previous = old.cells[key] if old is not None else Cell()
    table.changes = changes


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
                _amount(r), prov, grades.grade_of(str(r["value"]), runner.base)))

    for row in rows.values():
        for cell in row.cells.values():
            facts = {f.fact.iri for f in cell.facts}
            cell.facts.sort(key=lambda f: (f.provenance.wave_number is None, f.value.label,
                                           f.fact.label))
            cell.conflicts = [Link(c.iri, c.label) for c in conflicts.values()
                              if len(facts & set(c.sides)) >= 2]

    for row in rows.values():
        if row.within is not None and row.within.iri in rows:
            rows[row.within.iri].regions.append(row.jurisdiction)

    waves = sorted((Wave(index.link(r["wave"]), int(r["number"].toPython()),
                         index.link(r["stage"]) if "stage" in r else None)
                    for r in runner.select("compare-waves").rows
                    if isinstance(r.get("number"), Literal)), key=lambda w: w.number)
    ordered = sorted(rows.values(), key=lambda r: (not r.partner, r.jurisdiction.label))
    return Comparison(COLUMNS, ordered, waves, wave)


CSV_FIELDS = ("jurisdiction", "jurisdiction_label", "code", "survey_partner", "column", "grade",
              "value",
              "value_label", "detail", "detail_label", "amount", "fact", "fact_label", "credited",
              "credited_iris",
              "sections", "footnotes", "footnote_addresses", "wave", "cell_differs",
              "cell_sources_differ", "conflicts", "changed_since_previous_wave",
              "previous_wave_values")


def _previous_values(cell: Cell) -> str:
    """What the previous wave said in a changed cell, as on the page (``; `` between values)."""
    if cell.previous is None:
        return ""
    return "; ".join(dict.fromkeys(f.value.label + (f" ({f.amount})" if f.amount else "")
                                   for f in cell.previous.facts))


def long_rows(comparison: Comparison) -> list[list[str]]:
    """The table in long form: one row per jurisdiction, column and fact (:data:`CSV_FIELDS`).

    Long form keeps every fact and its source, so the file can be filtered and pivoted without
    losing the provenance that a one-line-per-country sheet would have to squeeze into a cell.
    With a wave chosen, ``changed_since_previous_wave`` flags the cells that wave changed
    (``true``/``false``; empty without a wave) and ``previous_wave_values`` says what the wave
    before said; a cell whose answer the wave removed has one line without a fact, so that
    change is in the file too.
    """
    out: list[list[str]] = []
    waved = comparison.changes is not None
    for row in comparison.rows:
        for column in comparison.columns:
            cell = row.cells[column.key]
            flags = ["true" if cell.changed else "false" if waved else "", _previous_values(cell)]
            if not cell.facts and cell.changed:
                out.append([row.jurisdiction.iri, row.jurisdiction.label, row.code,
                            "true" if row.partner else "false", column.key, cell.grade.key,
                            *[""] * 13, "false", "false", "", *flags])
                continue
            for f in cell.facts:
                p = f.provenance
                out.append([
                    row.jurisdiction.iri, row.jurisdiction.label, row.code,
                    "true" if row.partner else "false", column.key, f.grade.key,
                    f.value.iri, f.value.label,
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
                    " ".join(c.iri for c in cell.conflicts), *flags])
    return out


def to_csv(comparison: Comparison) -> str:
    """:func:`long_rows` as RFC 4180 CSV with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    writer.writerows(long_rows(comparison))
    return out.getvalue()


#: The changed-cell marker: a symbol for the eye, always followed by words.
CHANGED_SYMBOL = "Δ"


def changed_note(cell: Cell, changes: WaveChanges | None) -> str:
    """The marker of a changed cell in words, with what the previous wave said (the
    workbook's grid; the page writes the same words around its links)."""
    if changes is None or not cell.changed:
        return ""
    was = _previous_values(cell) or "no answer"
    return f"{CHANGED_SYMBOL} changed since wave {changes.previous} (was: {was})"


def grid_rows(comparison: Comparison) -> list[list[str]]:
    """The table as it looks on the page: one row per jurisdiction, per column the grade's
    word and the values (with budgets), separated by ``; ``, and the changed-cell marker."""
    out = []
    for row in comparison.rows:
        line = [row.jurisdiction.label, row.code, "yes" if row.partner else "no"]
        for column in comparison.columns:
            cell = row.cells[column.key]
            values = "; ".join(f.value.label + (f" ({f.amount})" if f.amount else "")
                               for f in cell.facts)
            note = changed_note(cell, comparison.changes)
            line.append(cell.grade.word + (f": {values}" if values else "")
                        + (f" — {note}" if note else ""))
        out.append(line)
    return out


def to_xlsx(comparison: Comparison) -> bytes:
    """The view as a workbook: the grid as on the page, and the facts in long form."""
    from .sheets import Sheet, workbook

    grid = Sheet("Comparison", ["Country or region", "Code", "Survey partner",
                                *(c.title for c in comparison.columns)], grid_rows(comparison))
    facts = Sheet("Facts", list(CSV_FIELDS), long_rows(comparison))
    return workbook([grid, facts])
