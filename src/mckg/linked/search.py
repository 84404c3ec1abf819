"""Full-text search over names, statements and notes, facts first, with filters.

The text of every resource (``ld-text``: labels, titles, acronyms, statements, notes,
definitions) goes into an in-memory SQLite FTS5 index built once per server, the first time
someone searches: a real text index (tokens, prefixes, BM25 ranking, accents folded by the
``unicode61`` tokenizer), not a scan in Python. The store does not change while it is served, so
neither does the index.

Ranking: hits with every word first; among them the dataset's facts and things (countries,
programmes…), then concepts, then ontology terms; within each, BM25 with names weighted
over texts, and a resource whose name *is* the query first. Words match as prefixes
(``portal`` finds *portals*). Hits with only some of the words follow, marked as such, so
"digital skills" finds the facts about digital education hubs that never say "skills".

Filters (type, jurisdiction, topic, source, wave) come from the index's facets (``ld-facets``,
the provenance and the types) and are offered with counts for the current query. Matches are
highlighted with ``<mark>``: the text is escaped first and the markers placed after, so data can
never inject markup.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from .index import GraphIndex, Link, fallback_label

#: At most this many hits are returned; a search box is not a query language.
MAX_HITS = 50
#: Queries longer than this are cut (a bound against abuse).
MAX_QUERY = 200
#: At most this many words of a query are used.
MAX_WORDS = 12

_NAME_FIELDS = frozenset({
    "http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2004/02/skos/core#altLabel", "http://purl.org/dc/terms/title",
    "http://xmlns.com/foaf/0.1/name"})
_SHORT_NAME_SUFFIXES = ("#acronym", "#citationKey")
_WORD = re.compile(r"\w+", re.UNICODE)
#: Highlight markers (control characters, removed from indexed text first).
_OPEN, _CLOSE = "\x02", "\x03"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

#: How much a hit of each kind counts (multiplies BM25) among hits of the same tier.
_KIND_WEIGHT = {"fact": 1.0, "thing": 0.9, "concept": 0.5, "term": 0.35, "other": 0.3}
#: Tiers: the dataset's facts and things, then concepts, then ontology terms and the rest.
_KIND_TIER = {"fact": 0, "thing": 0, "concept": 1, "term": 2, "other": 2}
#: How a kind is named on the page.
KIND_LABELS = {"fact": "Fact", "thing": "Resource", "concept": "Concept", "term": "Ontology term",
               "other": "Other"}


def fold(text: str) -> str:
    """Lower case without accents, so ``fernuniversitat`` finds *FernUniversität*."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class Hit:
    """One search result."""

    link: Link
    matched: str
    types: tuple[Link, ...]
    rank: float
    kind: str = "thing"
    title: Markup = field(default_factory=Markup)
    snippet: Markup = field(default_factory=Markup)
    jurisdictions: tuple[Link, ...] = ()
    sources: tuple[Link, ...] = ()
    wave: int | None = None
    sections: tuple[str, ...] = ()
    #: True when the hit has only some of the query's words.
    partial: bool = False
    topics: tuple[Link, ...] = ()

    @property
    def kind_label(self) -> str:
        """What the hit is, in words."""
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class Option:
    """One value a filter can take, with how many hits of the query have it."""

    value: str
    label: str
    count: int


@dataclass
class Results:
    """The hits of one search, the total, the filters and whether words were relaxed."""

    query: str
    hits: list[Hit]
    total: int
    #: True when some hits have only some of the words.
    relaxed: bool = False
    facets: dict[str, list[Option]] = field(default_factory=dict)


@dataclass
class _Doc:
    iri: str
    kind: str
    label: str
    types: list[str] = field(default_factory=list)
    jurisdictions: set[str] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    wave: int | None = None


FILTERS = ("type", "jurisdiction", "topic", "source", "wave")


class UnknownFilter(ValueError):
    """A filter value the index does not know; the message names the parameter."""


def _words(query: str) -> list[str]:
    return [w for w in _WORD.findall(fold(query[:MAX_QUERY]))][:MAX_WORDS]


def _match(words: list[str], operator: str) -> str:
    """An FTS5 query: each word quoted (no FTS syntax from the user) and a prefix."""
    return f" {operator} ".join(f'"{w}"*' for w in words)


def _local(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _marked(text: str) -> Markup:
    """Escape ``text`` and turn the FTS markers into ``<mark>`` (markers never nest)."""
    html = str(escape(text))
    return Markup(html.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>"))


class TextIndex:
    """The FTS5 index of the graph's text, with what search filters on, built on first use."""

    def __init__(self, index: GraphIndex) -> None:
        self.index = index
        self.runner = index.runner
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._docs: dict[str, _Doc] = {}

    # -- building ------------------------------------------------------------------------
    def _kind(self, iri: str, provenance: dict) -> str:
        base = self.runner.base
        if iri in provenance and (provenance[iri].statement or provenance[iri].status):
            return "fact"
        if iri.startswith(base + "def"):
            return "term"
        if iri.startswith(base + "vocab/"):
            return "concept"
        if iri.startswith(base):
            return "thing"
        return "other"

    def _build(self) -> sqlite3.Connection:
        provenance = self.index.provenance()
        types = self.index.types()
        names: dict[str, list[str]] = defaultdict(list)
        texts: dict[str, list[str]] = defaultdict(list)
        for row in self.runner.select("ld-text").rows:
            iri, p, text = str(row["s"]), str(row["p"]), _CONTROL.sub(" ", str(row["text"]))
            target = names if p in _NAME_FIELDS or p.endswith(_SHORT_NAME_SUFFIXES) else texts
            if text not in target[iri]:
                target[iri].append(text)
        for iri in types:
            if iri.startswith(self.runner.base):
                names[iri].append(fallback_label(iri, self.runner.base))
        docs: dict[str, _Doc] = {}
        for iri in set(names) | set(texts):
            doc = _Doc(iri, self._kind(iri, provenance), self.index.label(iri),
                       types.get(iri, []))
            p = provenance.get(iri)
            if p is not None:
                doc.sources = {c.iri for c in p.credited}
                doc.wave = p.wave_number
            docs[iri] = doc
        for iri, facets in self.index.facets().items():
            doc = docs.get(iri)
            if doc is not None:
                doc.jurisdictions |= facets.jurisdictions
                doc.topics |= facets.topics
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.execute("CREATE VIRTUAL TABLE text USING fts5(iri UNINDEXED, name, body, topics, "
                   "tokenize = 'unicode61 remove_diacritics 2')")
        db.executemany("INSERT INTO text VALUES (?, ?, ?, ?)", [
            (iri, " · ".join(names.get(iri, [])), " ".join(texts.get(iri, [])),
             " ".join(self.index.label(t) for t in sorted(docs[iri].topics)))
            for iri in sorted(docs)])
        self._docs = docs
        return db

    def db(self) -> sqlite3.Connection:
        """The index (built now if it is not yet)."""
        if self._db is None:
            with self._lock:
                if self._db is None:
                    self._db = self._build()
        return self._db

    # -- searching -----------------------------------------------------------------------
    def _rows(self, match: str) -> list[tuple[str, float, str, str]]:
        with self._lock:  # one connection: SQLite serialises its use anyway
            return self.db().execute(
                "SELECT iri, bm25(text, 0.0, 4.0, 1.0, 1.5), "
                f"highlight(text, 1, '{_OPEN}', '{_CLOSE}'), "
                f"snippet(text, 2, '{_OPEN}', '{_CLOSE}', ' … ', 28) "
                "FROM text WHERE text MATCH ? LIMIT 5000", (match,)).fetchall()

    def _accepts(self, doc: _Doc, filters: dict[str, str]) -> bool:
        for name, value in filters.items():
            if name == "type" and value not in {_local(t) for t in doc.types}:
                return False
            if name == "jurisdiction" and value not in {self._code(j) for j in doc.jurisdictions}:
                return False
            if name == "topic" and value not in {_local(t) for t in doc.topics}:
                return False
            if name == "source" and value not in {_local(s) for s in doc.sources}:
                return False
            if name == "wave" and str(doc.wave) != value:
                return False
        return True

    def _code(self, jurisdiction: str) -> str:
        return _local(jurisdiction)

    def check(self, filters: dict[str, str]) -> None:
        """:raise UnknownFilter: a filter value no resource has (the parameter named)."""
        self.db()
        known: dict[str, set[str]] = defaultdict(set)
        for doc in self._docs.values():
            known["type"] |= {_local(t) for t in doc.types}
            known["jurisdiction"] |= {self._code(j) for j in doc.jurisdictions}
            known["topic"] |= {_local(t) for t in doc.topics}
            known["source"] |= {_local(s) for s in doc.sources}
            if doc.wave is not None:
                known["wave"].add(str(doc.wave))
        for name, value in filters.items():
            if name not in FILTERS:
                raise UnknownFilter(f"{name}: not a search filter; filters: {', '.join(FILTERS)}")
            if value not in known[name]:
                raise UnknownFilter(f"{name}: no resource has {name} {value!r}")

    def search(self, query: str, filters: dict[str, str] | None = None, *,
               limit: int = MAX_HITS) -> Results:
        """Resources matching every word of ``query`` (else any word), filtered, best first.

        :raise UnknownFilter: a filter value no resource has.
        """
        filters = {k: v for k, v in (filters or {}).items() if v}
        self.check(filters)
        words = _words(query)
        if not words:
            return Results(query, [], 0)
        every = self._rows(_match(words, "AND"))
        found = {row[0] for row in every}
        some = [row for row in self._rows(_match(words, "OR")) if row[0] not in found] \
            if len(words) > 1 else []
        needle = " ".join(words)
        scored = []
        for tier, rows in ((0, every), (1, some)):
            for iri, bm25, title, snippet in rows:
                doc = self._docs[iri]
                score = bm25 * _KIND_WEIGHT[doc.kind]
                if doc.kind in ("fact", "thing", "concept") and \
                        " ".join(_words(doc.label)) == needle:
                    score -= 1000.0  # the thing called exactly that
                scored.append((tier, _KIND_TIER[doc.kind], score, doc.label.casefold(), iri,
                               title, snippet))
        scored.sort()
        partial = {row[4] for row in scored if row[0] == 1}
        matching = [(s, iri, t, sn) for _, _, s, _, iri, t, sn in scored
                    if self._accepts(self._docs[iri], filters)]
        facets = self._facets([self._docs[iri] for _, iri, _, _ in matching])
        hits = [self._hit(iri, score, title, snippet, iri in partial)
                for score, iri, title, snippet in matching[:limit]]
        return Results(query, hits, len(matching), any(h.partial for h in hits), facets)

    def _hit(self, iri: str, score: float, title: str, snippet: str, partial: bool) -> Hit:
        doc = self._docs[iri]
        provenance = self.index.provenance().get(iri)
        name = title.split(" · ", 1)[0] if title else doc.label
        shown = _marked(name) if _OPEN in name else Markup(escape(doc.label))
        body = _marked(snippet) if snippet.strip() else Markup("")
        return Hit(self.index.link(iri), name.replace(_OPEN, "").replace(_CLOSE, ""),
                   tuple(self.index.link(t) for t in doc.types), score, doc.kind, shown, body,
                   tuple(self.index.link(j) for j in sorted(doc.jurisdictions)),
                   tuple(provenance.credited) if provenance else (),
                   doc.wave,
                   tuple(s.label.split(" ", 1)[0] if s.label.startswith("§") else s.label
                         for s in provenance.sections) if provenance else (), partial,
                   tuple(self.index.link(t) for t in sorted(doc.topics)))

    def _facets(self, docs: list[_Doc]) -> dict[str, list[Option]]:
        counts: dict[str, Counter[str]] = {name: Counter() for name in FILTERS}
        labels: dict[tuple[str, str], str] = {}
        for doc in docs:
            for t in doc.types:
                counts["type"][_local(t)] += 1
                labels["type", _local(t)] = self.index.label(t)
            for j in doc.jurisdictions:
                counts["jurisdiction"][self._code(j)] += 1
                labels["jurisdiction", self._code(j)] = self.index.label(j)
            for t in doc.topics:
                counts["topic"][_local(t)] += 1
                labels["topic", _local(t)] = self.index.label(t)
            for s in doc.sources:
                counts["source"][_local(s)] += 1
                labels["source", _local(s)] = self.index.short_link(s).label
            if doc.wave is not None:
                counts["wave"][str(doc.wave)] += 1
                labels["wave", str(doc.wave)] = f"Wave {doc.wave}"
        return {name: sorted((Option(v, labels[name, v], n) for v, n in c.items()),
                             key=lambda o: (-o.count, o.label.casefold()))
                for name, c in counts.items()}


def search(index: GraphIndex, query: str, *, limit: int = MAX_HITS) -> list[Hit]:
    """Resources matching ``query``, best first (a fresh index; servers keep theirs in
    :class:`~mckg.linked.site.LinkedData`)."""
    return TextIndex(index).search(query, limit=limit).hits
