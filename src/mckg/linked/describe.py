"""Describing one resource: what its page shows and what its RDF document contains.

Both come from the same two queries (``ld-outgoing``, ``ld-incoming``) plus the shared
:class:`~mckg.linked.index.GraphIndex`, so the page and the RDF never disagree: the RDF
document is the resource's own triples (blank-node values and list cells included), the
triples that link to it, and the labels of every IRI in it, so a client can show names without
fetching each neighbour.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, RDFS, SKOS, XSD
from rdflib.term import Node

from ..rdf.namespaces import MCKG
from .index import ConflictInfo, GraphIndex, Link, Provenance
from .iris import Site

#: Predicates that align a resource with an outside table or model (docs/iris.md, "Alignment").
ALIGNMENT_PREDICATES = frozenset(str(p) for p in (
    MCKG.euAuthority, MCKG.eqfLevel, MCKG.deqarId, MCKG.currency, MCKG.elmProperty,
    SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch,
    OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty))
#: Namespaces of the reference tables and models we align with.
ALIGNMENT_NAMESPACES = (
    "http://publications.europa.eu/resource/authority/", "http://data.europa.eu/snb/",
    "http://data.europa.eu/esco/", "https://data.deqar.eu/", "http://data.europa.eu/eli/")
#: Literal properties shown as the page's lead text, first found wins.
DESCRIPTION_PREDICATES = (SKOS.definition, DCTERMS.description, MCKG.statement, RDFS.comment)

_NUMERIC = {XSD.decimal, XSD.integer, XSD.nonNegativeInteger, XSD.positiveInteger, XSD.int}


def readable(term: Literal) -> str:
    """A literal as a reader expects it: numbers with thousands separators and without a
    trailing ``.0`` (``130000000.0`` → ``130,000,000``); other literals as they are. The page
    keeps the datatype and lexical form on hover."""
    if term.datatype in _NUMERIC:
        value = term.toPython()
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            if value == int(value):
                return f"{int(value):,}"
            return f"{value.normalize() if isinstance(value, Decimal) else value:,}"
    return str(term)


@dataclass
class Value:
    """One value of a property, ready to show: a link, a literal, a list or a blank node."""

    kind: str  # "iri", "literal", "list", "bnode"
    text: str
    iri: str | None = None
    href: str | None = None
    language: str | None = None
    datatype: str | None = None
    items: list[Value] = field(default_factory=list)
    properties: list[PropertyValues] = field(default_factory=list)
    #: The literal's lexical form when ``text`` is formatted for reading (numbers).
    lexical: str = ""

    @property
    def external(self) -> bool:
        """True for links that leave this site."""
        return self.href is not None and not self.href.startswith("/")


@dataclass
class PropertyValues:
    """A property and its values on one resource."""

    property: Link
    href: str | None
    values: list[Value]
    graphs: set[str] = field(default_factory=set)


@dataclass
class FactView:
    """A fact node (finding, amount, provision…) with its status, statement and provenance."""

    fact: Link
    href: str | None
    kind: list[Link]
    provenance: Provenance


@dataclass
class ConflictView:
    """A conflict with its sides side by side."""

    conflict: Link
    href: str | None
    kind: Link | None
    statement: str | None
    sides: list[FactView]


@dataclass
class Description:
    """Everything a resource page shows."""

    iri: str
    label: str
    types: list[Link]
    lead: str | None
    properties: list[PropertyValues]
    inferred: list[PropertyValues]
    incoming: list[PropertyValues]
    incoming_truncated: bool
    facts: list[FactView]
    conflicts: list[ConflictView]
    alignments: list[tuple[Link, Value]]
    graphs: list[str]
    graph: Graph
    #: Other resources described in the same document (the dataset's distributions, service).
    parts: list[tuple[Link, str | None, list[PropertyValues]]] = field(default_factory=list)


class Describer:
    """Builds :class:`Description` objects from a runner and the shared index."""

    def __init__(self, index: GraphIndex, site: Site) -> None:
        self.index = index
        self.runner = index.runner
        self.site = site

    # -- links ---------------------------------------------------------------------------
    def href(self, iri: str) -> str | None:
        """Where a link to ``iri`` goes (:meth:`Site.href`: the one allow-list of links)."""
        return self.site.href(iri)

    def value(self, term: Node, cells: dict[BNode, list[tuple[URIRef, Node]]] | None = None,
              depth: int = 0) -> Value:
        """Render one term; blank nodes are opened (lists as lists) down to a bounded depth."""
        if isinstance(term, URIRef):
            return Value("iri", self.index.label(term), iri=str(term), href=self.href(str(term)))
        if isinstance(term, Literal):
            datatype = str(term.datatype) if term.datatype else None
            return Value("literal", readable(term), language=term.language,
                         datatype=self.index.label(datatype) if datatype and
                         term.datatype not in (XSD.string,) else None, lexical=str(term))
        cells = cells or {}
        own = cells.get(term, []) if isinstance(term, BNode) else []
        if depth > 8:
            return Value("bnode", "…")
        first = [o for p, o in own if p == RDF.first]
        if first:
            items, node, seen = [], term, 0
            while isinstance(node, BNode) and seen < 10_000:  # bounded walk down rdf:rest
                seen += 1
                props = dict(cells.get(node, []))
                if RDF.first in props:
                    items.append(self.value(props[RDF.first], cells, depth + 1))
                node = props.get(RDF.rest)  # type: ignore[assignment]
            return Value("list", f"list of {len(items)}", items=items)
        grouped: dict[URIRef, list[Node]] = defaultdict(list)
        for p, o in own:
            grouped[p].append(o)
        props_out = [PropertyValues(self.index.link(p), self.href(str(p)),
                                    [self.value(o, cells, depth + 1) for o in objs])
                     for p, objs in sorted(grouped.items())]
        return Value("bnode", "", properties=props_out)

    def fact_view(self, iri: str, provenance: Provenance) -> FactView:
        """A fact with its kind (asserted types) and provenance."""
        kinds = [self.index.link(t) for t in self.index.types().get(iri, [])]
        return FactView(self.index.link(iri), self.href(iri), kinds, provenance)

    # -- the description -----------------------------------------------------------------
    def exists(self, iri: str) -> bool:
        """True when ``iri`` occurs in the dataset (as subject or object)."""
        return self.runner.ask("ld-exists", resource=URIRef(iri))

    def describe(self, iri: str, *, extra: Graph | None = None) -> Description:
        """Describe ``iri``; ``extra`` is a generated description to use instead of the store's."""
        resource = URIRef(iri)
        # A generated description (``extra``) already holds the stored triples it keeps and
        # replaces the ones it rewrites (a literal publisher becomes an agent), so it wins.
        out_rows = [] if extra is not None else \
            self.runner.select("ld-outgoing", resource=resource).rows
        incoming_answer = self.runner.select("ld-incoming", resource=resource)
        inferred_graph = self.site.graph_iri("inferred")

        asserted: dict[URIRef, list[Node]] = defaultdict(list)
        inferred: dict[URIRef, list[Node]] = defaultdict(list)
        graphs_of: dict[URIRef, set[str]] = defaultdict(set)
        cells: dict[BNode, list[tuple[URIRef, Node]]] = defaultdict(list)
        graph = Graph()
        graphs: set[str] = set()
        for row in out_rows:
            p, o, g = row["p"], row["o"], str(row["g"])
            assert isinstance(p, URIRef)
            graphs.add(g)
            graph.add((resource, p, o))
            target = inferred if g == inferred_graph else asserted
            if o not in target[p]:
                target[p].append(o)
            graphs_of[p].add(g)
            cell = row.get("cell")
            if isinstance(cell, BNode) and isinstance(row.get("cp"), URIRef):
                pair = (row["cp"], row["co"])
                if pair not in cells[cell]:
                    cells[cell].append(pair)  # type: ignore[arg-type]
                    graph.add((cell, row["cp"], row["co"]))
        parts: dict[URIRef, dict[URIRef, list[Node]]] = defaultdict(lambda: defaultdict(list))
        if extra is not None:
            for s, p, o in extra:
                assert isinstance(p, URIRef)
                graph.add((s, p, o))
                if s == resource:
                    if o not in asserted[p]:
                        asserted[p].append(o)
                elif isinstance(s, BNode):
                    cells[s].append((p, o))
                elif isinstance(s, URIRef):
                    parts[s][p].append(o)
        # Inferred values that repeat an asserted one add nothing to show.
        for p in list(inferred):
            inferred[p] = [o for o in inferred[p] if o not in asserted.get(p, [])]
            if not inferred[p]:
                del inferred[p]

        incoming: dict[URIRef, list[URIRef]] = defaultdict(list)
        for row in incoming_answer.rows:
            s, p = row["s"], row["p"]
            assert isinstance(s, URIRef) and isinstance(p, URIRef)
            graphs.add(str(row["g"]))
            graph.add((s, p, resource))
            if s not in incoming[p]:
                incoming[p].append(s)

        provenance = self.index.provenance()
        fact_iris: list[str] = []
        if iri in provenance:
            fact_iris.append(iri)
        for objs in asserted.values():
            fact_iris += [str(o) for o in objs if str(o) in provenance]
        for subjects in incoming.values():
            fact_iris += [str(s) for s in subjects if str(s) in provenance]
        seen: set[str] = set()
        facts = []
        for f in fact_iris:
            if f not in seen:
                seen.add(f)
                facts.append(self.fact_view(f, provenance[f]))
        facts.sort(key=lambda f: (f.fact.iri != iri, [k.label for k in f.kind], f.fact.label))
        incoming_shown = {p: [s for s in subjects if str(s) not in seen]
                          for p, subjects in incoming.items()}

        conflicts = [self.conflict_view(c) for c in self.index.conflicts_of(iri)]
        alignments = [(self.index.link(p), self.value(o)) for p, objs in sorted(asserted.items())
                      for o in objs if isinstance(o, URIRef) and self._aligns(p, o)]

        types = [self.index.link(t) for t in sorted({str(o) for o in asserted.get(RDF.type, [])})]
        lead = None
        for p in DESCRIPTION_PREDICATES:
            texts = [o for o in asserted.get(p, []) if isinstance(o, Literal)]
            if texts:
                lead = str(sorted(texts, key=lambda t: (t.language not in (None, "en"), str(t)))[0])
                break
        self._add_labels(graph, iri)
        return Description(
            iri=iri, label=self.index.label(iri), types=types, lead=lead,
            properties=self._properties(asserted, graphs_of, cells),
            inferred=self._properties(inferred, graphs_of, cells),
            incoming=[PropertyValues(self.index.link(p), self.href(str(p)),
                                     [self.value(s) for s in subjects])
                      for p, subjects in sorted(incoming_shown.items()) if subjects],
            incoming_truncated=incoming_answer.truncated or len(incoming_answer.rows) >= 2000,
            facts=facts, conflicts=conflicts, alignments=alignments, graphs=sorted(graphs),
            graph=graph,
            parts=[(self.index.link(s), self.href(str(s)), self._properties(props, {}, cells))
                   for s, props in sorted(parts.items())])

    def conflict_view(self, c: ConflictInfo) -> ConflictView:
        """A conflict with each side's fact, status and provenance."""
        provenance = self.index.provenance()
        sides = [self.fact_view(s, provenance.get(s) or Provenance(s)) for s in c.sides]
        return ConflictView(Link(c.iri, c.label), self.href(c.iri), c.kind, c.statement, sides)

    # -- helpers -------------------------------------------------------------------------
    def _aligns(self, p: URIRef, o: URIRef) -> bool:
        if str(p) in ALIGNMENT_PREDICATES:
            return True
        return p != RDF.type and str(o).startswith(ALIGNMENT_NAMESPACES)

    def _properties(self, values: dict[URIRef, list[Node]], graphs_of: dict[URIRef, set[str]],
                    cells: dict[BNode, list[tuple[URIRef, Node]]]) -> list[PropertyValues]:
        order = {str(p): i for i, p in enumerate((RDF.type, RDFS.label, SKOS.prefLabel,
                                                   DCTERMS.title, *DESCRIPTION_PREDICATES))}
        out = []
        for p, objs in sorted(values.items(), key=lambda kv: (order.get(str(kv[0]), 99),
                                                                self.index.label(kv[0]).lower())):
            rendered = sorted((self.value(o, cells) for o in objs),
                              key=lambda v: (v.kind != "iri", v.text.lower()))
            out.append(PropertyValues(self.index.link(p), self.href(str(p)), rendered,
                                      graphs_of.get(p, set())))
        return out

    def _add_labels(self, graph: Graph, iri: str) -> None:
        """Add the label triple of every IRI the document mentions (not the resource's own)."""
        mentioned = {t for triple in graph for t in triple if isinstance(t, URIRef)}
        for term in mentioned:
            if str(term) == iri:
                continue
            found = self.index.label_term(str(term))
            if found is not None:
                graph.add((term, found[0], found[1]))


def document_graph(description: Description, site: Site, doc_path: str) -> Graph:
    """The RDF document about a resource, with a note that says what it is about.

    ``doc_path`` is the generic document's path (``/doc/country/ES``), written as an IRI under
    the base so the note reads the same on every host.
    """
    graph = Graph()
    for triple in description.graph:
        graph.add(triple)
    doc = URIRef(site.base + doc_path.lstrip("/"))
    graph.add((doc, RDF.type, FOAF.Document))
    graph.add((doc, FOAF.primaryTopic, URIRef(description.iri)))
    return graph
