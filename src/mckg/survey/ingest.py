"""Ingesting one survey wave: export → findings → SHACL → its own named graph, atomically.

The order is the point: the export is read and mapped completely, every answer matched, the
new wave's graph built and validated with the SHACL shapes **before** the store is touched.
Then one :meth:`~mckg.store.base.Store.replace_graph` makes the wave's graph
(``{base}graph/wave/{id}``) hold exactly the new triples: a first ingest adds it, a re-ingest
replaces it, and any problem leaves the store exactly as it was.

What is minted (IRIs under the configured base, ``{w}`` the wave id such as ``w2``):

- ``source/mce-partner-survey-{w}-export`` — the export as a source document, and one part per
  row (``…/row-{n}``), so every fact names the rows it comes from (``mckg:section``);
- ``response/{w}-{institution}-form`` — each row's survey response, with its date and remarks;
- ``finding/{jurisdiction}-{question}-{value}-{w}`` — one finding per answer value and
  jurisdiction (two institutions of one country giving the same answer make one finding with
  both rows), so a wave's findings sit beside the curated ones instead of over them;
- ``amount/{programme}-budget-{w}`` — a programme's budget as that wave reports it.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV

from ..build.graphs import canonical_decimal
from ..build.validation import load_shapes, validate_graph
from ..linked.runner import ServiceRunner
from ..query.service import QueryService
from ..rdf.files import serialize
from ..rdf.formats import rdf_format
from ..store.base import Store
from .errors import Problem, SurveyError
from .mapping import Mapping, Question
from .matching import Vocabulary
from .reader import Export, Row, read_export

_WAVE_ID = re.compile(r"^[wW]?([1-9][0-9]{0,2})$")
_DATE = re.compile(r"^(\d{4})[-/](\d{2})[-/](\d{2})(?:[ T].*)?$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_AMOUNT = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


def wave_id(text: str) -> str:
    """``2``, ``w2`` or ``W2`` → ``w2``.

    :raise SurveyError: not a wave number.
    """
    match = _WAVE_ID.match(text.strip())
    if not match:
        raise SurveyError([Problem("--wave", f"{text!r} is not a wave: write w1, w2 …")])
    return f"w{int(match.group(1))}"


def wave_graph(base: str, wave: str) -> str:
    """The named graph that holds wave ``wave`` (``w2``)."""
    return f"{base}graph/wave/{wave}"


def _slug(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].lower()


@dataclass
class _Fact:
    """One finding (or budget) being assembled from one or more rows."""

    node: URIRef
    jurisdiction: str
    question: Question
    value: str
    rows: list[int] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    respondents: list[str] = field(default_factory=list)
    amount: Decimal | None = None


@dataclass
class WavePlan:
    """A mapped wave: its graph, ready to validate and store, and where each node came from."""

    wave: str
    wave_iri: str
    graph_iri: str
    graph: Graph
    #: node → (row, column index) of the cell it comes from, for shape violations.
    origins: dict[str, tuple[int, int]]
    rows: int
    facts: int


class _Mapper:
    """Maps the rows of one export to one wave's graph, collecting every problem on the way."""

    def __init__(self, export: Export, mapping: Mapping, vocab: Vocabulary, base: str,
                 wave: str, described: bool) -> None:
        self.export, self.mapping, self.vocab, self.base = export, mapping, vocab, base
        self.wave = wave
        self.wave_iri = mapping.wave_iri(wave)
        self.described = described  # the wave is described outside its own graph
        self.problems: list[Problem] = []
        self.g = Graph()
        self.origins: dict[str, tuple[int, int]] = {}
        self.mckg = Namespace(f"{base}def#")
        self.number = int(wave[1:])
        self.export_iri = URIRef(f"{base}id/source/mce-partner-survey-{wave}-export")

    # -- problems ------------------------------------------------------------------------
    def problem(self, row: Row | int | None, column: str | None, message: str) -> None:
        number = row.number if isinstance(row, Row) else row
        index = self.export.index(column) if column in self.export.header else None
        self.problems.append(Problem(self.export.file, message, row=number, column=column,
                                     index=index))

    def matched(self, row: Row, column: str, kind: str, synonyms: dict[str, str],
                multiple: bool, *, miss: str = "unmatched answer") -> list[str]:
        """The terms the cell's answers match (empty cell: none); misses are problems,
        reported as ``miss``."""
        cell = row.cells.get(column, "")
        if not cell:
            return []
        answers = [a.strip() for a in cell.split(self.mapping.separator)] if multiple else [cell]
        terms = []
        for answer in (a for a in answers if a):
            match = self.vocab.match(kind, answer, synonyms)
            if match.term is None:
                self.problem(row, column, f"{miss}: {match.problem}")
            elif match.term not in terms:
                terms.append(match.term)
        return terms

    # -- rows ----------------------------------------------------------------------------
    def date(self, row: Row) -> Literal | None:
        text = row.cells.get(self.mapping.timestamp, "")
        day, month = _DATE.match(text), _MONTH.match(text)
        if day:
            return Literal(f"{day.group(1)}-{day.group(2)}-{day.group(3)}", datatype=XSD.date)
        if month:
            return Literal(text, datatype=XSD.gYearMonth)
        self.problem(row, self.mapping.timestamp,
                     f"{text!r} is not a date: write YYYY-MM-DD (or YYYY-MM), or "
                     "YYYY/MM/DD hh:mm:ss as the form exports it" if text else "no date")
        return None

    def amount(self, row: Row, column: str) -> Decimal | None:
        text = row.cells.get(column, "").replace(" ", "").replace("\u00a0", "")
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        if not _AMOUNT.match(text):
            self.problem(row, column, f"{row.cells.get(column, '')!r} is not an amount in "
                                      "euros (write 50000000 or 50,000,000)")
            return None
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            return None

    def run(self) -> WavePlan:
        m = self.mapping
        facts: dict[tuple[str, str, str], _Fact] = {}
        respondents: dict[str, int] = {}
        dates: list[Literal] = []
        finding_questions = [q for q in m.questions if q.kind == "finding"]
        for row in self.export.rows:
            org = self.matched(row, m.respondent, "organisation",
                               m.synonyms.get("organisation", {}), False,
                               miss="unknown institution (describe it in data/organisations.ttl)")
            jur = self.matched(row, m.jurisdiction, "jurisdiction",
                               m.synonyms.get("jurisdiction", {}), False,
                               miss="unknown jurisdiction")
            if not row.cells.get(m.respondent):
                self.problem(row, m.respondent, "no institution: every row needs one")
            if not row.cells.get(m.jurisdiction):
                self.problem(row, m.jurisdiction, "no country or region: every row needs one")
            date = self.date(row)
            if org and org[0] in respondents:
                self.problem(row, m.respondent, f"duplicate respondent: "
                             f"{self.vocab.label('organisation', org[0])} already answered in "
                             f"row {respondents[org[0]]}; keep one row per institution")
                continue
            if not (org and jur and date is not None):
                for q in m.questions:  # still report this row's unmatched answers
                    if q.kind in ("finding", "link"):
                        self.matched(row, q.column, q.match, q.synonyms, q.multiple)
                continue
            respondents[org[0]] = row.number
            dates.append(date)
            self.response(row, org[0], jur[0], date)
            by_question: dict[str, list[_Fact]] = {}
            for q in finding_questions:
                terms = self.matched(row, q.column, q.match, q.synonyms, q.multiple)
                if len(terms) > 1 and not q.multiple:
                    self.problem(row, q.column, "one answer expected")
                by_question[q.key] = [self.fact(facts, row, q, jur[0], t, org[0]) for t in terms]
            for q in m.questions:
                if q.kind == "link":
                    self.link(row, q, by_question.get(q.on, []))
                elif q.kind == "budget":
                    self.budget(facts, row, q, jur[0], org[0])
        self.wave_node(dates)
        for fact in facts.values():
            self.emit(fact)
        plan = WavePlan(self.wave, self.wave_iri, wave_graph(self.base, self.wave), self.g,
                        self.origins, len(self.export.rows), len(facts))
        if self.problems:
            raise SurveyError(self.problems)
        return plan

    # -- nodes ---------------------------------------------------------------------------
    def provenance(self, node: URIRef, rows: list[int]) -> None:
        g, mckg = self.g, self.mckg
        g.add((node, PROV.wasDerivedFrom, self.export_iri))
        for n in rows:
            g.add((node, mckg.section, URIRef(f"{self.export_iri}/row-{n}")))
        g.add((node, mckg.reportedBy, URIRef(self.wave_iri)))
        g.add((node, mckg.wave, URIRef(self.wave_iri)))

    def response(self, row: Row, org: str, jur: str, date: Literal) -> None:
        g, mckg = self.g, self.mckg
        node = URIRef(f"{self.base}id/response/{self.wave}-{_slug(org)}-form")
        name = self.vocab.label("organisation", org)
        place = self.vocab.label("jurisdiction", jur)
        g.add((node, RDF.type, mckg.SurveyResponse))
        g.add((node, RDFS.label, Literal(f"{name}: wave {self.number} answers (form export)",
                                         lang="en")))
        g.add((node, mckg.respondent, URIRef(org)))
        g.add((node, mckg.respondedTo, URIRef(self.wave_iri)))
        g.add((node, mckg.represents, URIRef(jur)))
        g.add((node, DCTERMS.date, date))
        for q in self.mapping.questions:
            if q.kind == "text" and row.cells.get(q.column):
                g.add((node, RDFS.comment, Literal(row.cells[q.column])))
        self.provenance(node, [row.number])
        self.origins[str(node)] = (row.number, self.export.index(self.mapping.respondent))
        part = URIRef(f"{self.export_iri}/row-{row.number}")
        g.add((part, RDF.type, mckg.ReportPart))
        g.add((part, DCTERMS.title, Literal(f"Row {row.number}: {name} ({place})", lang="en")))
        g.add((part, mckg.inReport, self.export_iri))
        g.add((part, mckg.partNumber, Literal(f"row {row.number}")))

    def fact(self, facts: dict[tuple[str, str, str], _Fact], row: Row, q: Question, jur: str,
             value: str, org: str) -> _Fact:
        key = (jur, q.key, value)
        if key not in facts:
            node = URIRef(f"{self.base}id/finding/{_slug(jur)}-{q.key}-{_slug(value)}-{self.wave}")
            facts[key] = _Fact(node, jur, q, value)
        fact = facts[key]
        fact.rows.append(row.number)
        fact.answers.append(row.cells[q.column])
        fact.respondents.append(org)
        self.origins.setdefault(str(fact.node), (row.number, self.export.index(q.column)))
        return fact

    def link(self, row: Row, q: Question, targets: list[_Fact]) -> None:
        terms = self.matched(row, q.column, q.match, q.synonyms, q.multiple)
        if len(terms) > 1 and not q.multiple:
            self.problem(row, q.column, "one answer expected")
        if terms and not targets:
            self.problem(row, q.column, f"answered, but the question it completes "
                         f"({self.mapping.question(q.on).column!r}) has no answer")
            return
        for fact in targets[:1] if q.attach == "first" else targets:
            for term in terms:
                self.g.add((fact.node, URIRef(q.property), URIRef(term)))

    def budget(self, facts: dict[tuple[str, str, str], _Fact], row: Row, q: Question,
               jur: str, org: str) -> None:
        programmes = self.matched(row, q.column, q.match, q.synonyms, False)
        has_amount = bool(row.cells.get(q.amount_column))
        if not programmes:
            if has_amount and not row.cells.get(q.column):
                self.problem(row, q.amount_column, "a budget without a programme")
            return
        if not has_amount:
            self.problem(row, q.amount_column, "a programme without its budget")
            return
        amount = self.amount(row, q.amount_column)
        if amount is None:
            return
        key = (programmes[0], q.key, "budget")
        if key in facts and facts[key].amount != amount:
            self.problem(row, q.amount_column, f"row {facts[key].rows[0]} gives another budget "
                         f"for {self.vocab.label('funding', programmes[0])} "
                         f"({facts[key].amount}); one budget per programme and wave")
            return
        if key not in facts:
            node = URIRef(f"{self.base}id/amount/{_slug(programmes[0])}-budget-{self.wave}")
            facts[key] = _Fact(node, jur, q, programmes[0], amount=amount)
        fact = facts[key]
        fact.rows.append(row.number)
        fact.respondents.append(org)
        self.origins.setdefault(str(fact.node), (row.number, self.export.index(q.amount_column)))

    def wave_node(self, dates: list[Literal]) -> None:
        g, mckg = self.g, self.mckg
        wave = URIRef(self.wave_iri)
        if not self.described:  # a wave the data does not describe (yet)
            g.add((wave, RDF.type, mckg.SurveyWave))
            g.add((wave, RDFS.label, Literal(f"MCE partner survey, wave {self.number}",
                                             lang="en")))
            g.add((wave, mckg.ofSurvey, URIRef(self.mapping.survey)))
            g.add((wave, mckg.waveNumber, Literal(self.number)))
            g.add((URIRef(self.mapping.survey), mckg.hasWave, wave))
        doc = self.export_iri
        g.add((doc, RDF.type, mckg.SourceDocument))
        g.add((doc, RDF.type, mckg.Report))
        g.add((doc, DCTERMS.title, Literal(f"MCE partner survey, wave {self.number}: form "
                                           f"export ({Path(self.export.file).name})", lang="en")))
        for creator in self.mapping.creators:
            g.add((doc, DCTERMS.creator, URIRef(creator)))
        if dates:
            g.add((doc, DCTERMS.issued, max(dates, key=str)))
        g.add((doc, PROV.wasGeneratedBy, wave))

    def emit(self, fact: _Fact) -> None:
        g, q = self.g, fact.question
        jur = self.vocab.label("jurisdiction", fact.jurisdiction)
        who = ", ".join(dict.fromkeys(self.vocab.label("organisation", o)
                                      for o in fact.respondents))
        if q.kind == "budget":
            name = self.vocab.label("funding", fact.value)
            amount = canonical_decimal(Literal(str(fact.amount), datatype=XSD.decimal))
            g.add((fact.node, RDF.type, self.mckg.MonetaryAmount))
            g.add((fact.node, RDFS.label, Literal(f"{name}: EUR {fact.amount:,} (wave "
                                                  f"{self.number})", lang="en")))
            g.add((fact.node, self.mckg.amount, amount))
            g.add((fact.node, self.mckg.currency, URIRef(q.currency)))
            g.add((URIRef(fact.value), self.mckg.budget, fact.node))
        else:
            value = self.vocab.label(q.match, fact.value)
            answers = "; ".join(dict.fromkeys(fact.answers))
            g.add((fact.node, RDF.type, URIRef(q.cls)))
            g.add((fact.node, RDF.type, self.mckg.Finding))  # no OWL RL closure for waves
            g.add((fact.node, RDFS.label, Literal(f"{jur}: {value} (wave {self.number})",
                                                  lang="en")))
            g.add((fact.node, self.mckg.about, URIRef(fact.jurisdiction)))
            g.add((fact.node, URIRef(q.property), URIRef(fact.value)))
            g.add((fact.node, self.mckg.statement, Literal(
                f"In wave {self.number} of the MCE partner survey, {who} answered "
                f"'{answers}' to the question '{q.column}' for {jur}.", lang="en")))
        self.provenance(fact.node, fact.rows)


def _validate(plan: WavePlan, context: Graph, export: Export, base: str) -> None:
    """SHACL on the wave's own nodes, with ``context`` for types, schemes and the ontology.

    Nodes of the rest of the graph that the wave mentions are in the context only as types;
    their own completeness is ``mckg validate``'s business, so results about them are left out
    unless they concern a statement the wave makes about them.

    :raise SurveyError: a violation, placed at the row and column its node comes from.
    """
    data = Graph()
    for triple in plan.graph:
        data.add(triple)
    mentioned = {str(o) for o in plan.graph.objects()} | {str(s) for s in plan.graph.subjects()}
    for s, p, o in context:
        if str(s) in mentioned:
            data.add((s, p, o))
    report = validate_graph(data, context, shapes=load_shapes(base))
    own = {str(s) for s in plan.graph.subjects(RDF.type, None)}
    stated = {(str(s), str(p)) for s, p, _ in plan.graph}
    problems = []
    for v in report.errors:
        if v.focus not in own and (v.focus, v.path or "") not in stated:
            continue
        row, index = plan.origins.get(v.focus, (None, None))
        column = export.header[index] if index is not None else None
        detail = f" (value {v.value})" if v.value else ""
        problems.append(Problem(export.file, f"shape violation on {v.focus}: {v.message}{detail}",
                                row=row, column=column, index=index))
    if problems:
        raise SurveyError(problems)


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did (or, dry, would do)."""

    wave: str
    graph: str
    rows: int
    facts: int
    triples_before: int
    triples_after: int
    added: list[str]
    removed: list[str]
    changed: list[str]
    written: bool


def ingest(store: Store, service: QueryService, base: str, path: Path, wave: str,
           mapping: Mapping, *, dry_run: bool = False) -> IngestReport:
    """Map, check and store the export at ``path`` as wave ``wave`` (``w2``).

    Nothing is written unless everything is right; ``dry_run`` writes nothing at all and
    reports what would change, node by node.

    :raise SurveyError: any problem with the export, with its row and column.
    :raise StoreError: the store failed or cannot replace a graph atomically.
    """
    wave = wave_id(wave)
    runner = ServiceRunner(service, base)
    export = read_export(path, mapping)
    vocab = Vocabulary.from_rows(
        (str(r["kind"]), str(r["term"]), str(r["label"]), str(r["name"]) if "name" in r else None)
        for r in runner.select("wave-terms").rows)
    wave_iri = URIRef(mapping.wave_iri(wave))
    described = runner.ask("wave-described", wave=wave_iri, graph=URIRef(wave_graph(base, wave)))
    plan = _Mapper(export, mapping, vocab, base, wave, described).run()
    _validate(plan, runner.construct("wave-context").graph or Graph(), export, base)
    before = runner.construct("wave-graph", graph=URIRef(plan.graph_iri)).graph or Graph()
    added, removed, changed = _node_changes(before, plan.graph)
    if not dry_run:
        store.replace_graph(plan.graph_iri, serialize(plan.graph, rdf_format("nt")))
        _record(store, plan, path)
    return IngestReport(wave, plan.graph_iri, plan.rows, plan.facts, len(before),
                        len(plan.graph), added, removed, changed, not dry_run)


def _record(store: Store, plan: WavePlan, path: Path) -> None:
    """Note the ingest in the store's marker (``waves``: file, its hash, triples, time).

    The marker is what the served data's version is derived from (entity tags, the answer
    cache: :attr:`mckg.query.service.QueryService.version`), so a server started after an
    ingest does not answer "not modified" with pages of the wave before. A store without a
    marker holds no complete load yet and is left alone.
    """
    marker = store.read_marker()
    if marker is None:
        return
    waves = dict(marker.get("waves") or {})
    waves[plan.wave] = {
        "graph": plan.graph_iri, "file": str(path.resolve()),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "triples": len(plan.graph),
        "ingested": datetime.now(UTC).isoformat(timespec="seconds")}
    store.write_marker({**marker, "waves": waves})


def _node_changes(before: Graph, after: Graph) -> tuple[list[str], list[str], list[str]]:
    """Subjects that are new, gone, or described differently."""
    def by_subject(g: Graph) -> dict[str, set[tuple[str, str]]]:
        out: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for s, p, o in g:
            out[str(s)].add((str(p), o.n3()))
        return out

    old, new = by_subject(before), by_subject(after)
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(s for s in set(old) & set(new) if old[s] != new[s])
    return added, removed, changed
