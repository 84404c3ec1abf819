"""Documentation of the ontology, generated from the ontology itself.

The ontology IRI (``{base}def``) serves this as HTML, one anchor per term, so every hash IRI
``{base}def#Term`` lands on its own entry; the same IRI serves the ontology as RDF by
negotiation. Nothing is written by hand: labels, definitions, super- and sub-classes, domains,
ranges, inverses, characteristics and alignments (``skos:closeMatch``/``exactMatch``, OWL
equivalences) are read from the ``ontology`` named graph, the concept schemes from the
``vocabularies`` graph. We chose our own small templates over pyLODE: no extra dependency, no
network access, and the pages share the site's layout and search box.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDFS, SKOS, VANN
from rdflib.term import Node

from .describe import Describer
from .index import Link

_CHARACTERISTICS = {
    OWL.FunctionalProperty: "functional", OWL.InverseFunctionalProperty: "inverse functional",
    OWL.TransitiveProperty: "transitive", OWL.SymmetricProperty: "symmetric",
    OWL.AsymmetricProperty: "asymmetric", OWL.ReflexiveProperty: "reflexive",
    OWL.IrreflexiveProperty: "irreflexive",
}
_MATCHES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch,
            SKOS.relatedMatch, OWL.equivalentClass, OWL.equivalentProperty)


@dataclass
class Ref:
    """A link to a term here or elsewhere."""

    link: Link
    href: str | None


@dataclass
class Usage:
    """A property as the instances of one class use it in the data: on how many, an example,
    and whether the ontology declares that class (or a super-class) as its domain."""

    property: Ref
    count: int
    example: Ref
    value: str
    declared: bool


@dataclass
class Term:
    """One class or property of the ontology."""

    iri: str
    anchor: str
    label: str
    kind: str
    definition: str | None
    notes: list[str] = field(default_factory=list)
    parents: list[Ref] = field(default_factory=list)
    children: list[Ref] = field(default_factory=list)
    domain: list[list[Ref]] = field(default_factory=list)
    range: list[list[Ref]] = field(default_factory=list)
    inverse: list[Ref] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)
    matches: list[tuple[str, Ref]] = field(default_factory=list)
    in_domain_of: list[Ref] = field(default_factory=list)
    in_range_of: list[Ref] = field(default_factory=list)
    #: Classes: how many instances the data has, and the properties they carry.
    instances: int = 0
    used: list[Usage] = field(default_factory=list)
    #: Properties: the classes whose instances carry it, with counts.
    used_on: list[tuple[Ref, int]] = field(default_factory=list)


@dataclass
class Scheme:
    """A SKOS concept scheme of the controlled vocabularies."""

    ref: Ref
    definition: str | None
    concepts: list[Ref]


@dataclass
class OntologyDoc:
    """Everything the ontology page shows."""

    iri: str
    title: str
    description: str | None
    metadata: list[tuple[str, list[Ref | str]]]
    classes: list[Term]
    object_properties: list[Term]
    datatype_properties: list[Term]
    annotation_properties: list[Term]
    schemes: list[Scheme]
    version: str | None = None
    truncated: bool = False


def _text(graph: Graph, node: Node, *preds: URIRef) -> str | None:
    for p in preds:
        values = [o for o in graph.objects(node, p) if isinstance(o, Literal)]
        if values:
            return str(sorted(values, key=lambda v: (v.language not in (None, "en"), str(v)))[0])
    return None


class OntologyDocumenter:
    """Builds :class:`OntologyDoc` from the ``ontology`` and ``vocabularies`` named graphs."""

    def __init__(self, describer: Describer) -> None:
        self.describer = describer
        self.index = describer.index
        self.site = describer.site

    def ref(self, iri: Node) -> Ref:
        """A link to ``iri`` with its label (anchors for our own terms)."""
        return Ref(self.index.link(iri), self.describer.href(str(iri)))

    def graph(self, layer: str) -> tuple[Graph, bool]:
        """The named graph ``layer`` and whether the result limit cut it."""
        answer = self.describer.runner.construct("ld-named-graph",
                                                 graph=URIRef(self.site.graph_iri(layer)))
        assert answer.graph is not None
        return answer.graph, answer.truncated

    def _expression(self, graph: Graph, node: Node) -> list[Ref]:
        """A class expression as links: a named class, or the members of an ``owl:unionOf``."""
        if isinstance(node, URIRef):
            return [self.ref(node)]
        if isinstance(node, BNode):
            union = graph.value(node, OWL.unionOf)
            if union is not None:
                return [self.ref(m) for m in Collection(graph, union) if isinstance(m, URIRef)]
        return []

    def _usage(self, terms: dict[str, Term], graph: Graph) -> None:
        """Fill in what the data does with each class and property (``ld-class-usage``,
        ``ld-class-counts``): the question "what do instances of X carry?" is answered by the
        data, not only by the domains the ontology declares."""
        runner = self.describer.runner
        for row in runner.select("ld-class-counts").rows:
            term = terms.get(str(row["class"]))
            if term is not None:
                term.instances = int(row["instances"].toPython())
        supers: dict[str, set[str]] = {}

        def ancestors(iri: str) -> set[str]:
            if iri not in supers:
                supers[iri] = {iri}
                for parent in graph.objects(URIRef(iri), RDFS.subClassOf):
                    if isinstance(parent, URIRef):
                        supers[iri] |= ancestors(str(parent))
            return supers[iri]

        for row in runner.select("ld-class-usage").rows:
            cls, prop = str(row["class"]), row["property"]
            term, pterm = terms.get(cls), terms.get(str(prop))
            count = int(row["instances"].toPython())
            if term is not None and prop != RDF.type:
                domains = {r.link.iri for expr in (pterm.domain if pterm else []) for r in expr}
                value = row.get("exampleValue")
                shown = self.index.label(value) if isinstance(value, URIRef) else str(value or "")
                term.used.append(Usage(self.ref(prop), count, self.ref(row["example"]),
                                       shown[:80], bool(domains & ancestors(cls))))
            if pterm is not None and term is not None:
                pterm.used_on.append((self.ref(URIRef(cls)), count))
        for term in terms.values():
            term.used.sort(key=lambda u: (-u.count, u.property.link.label.casefold()))
            term.used_on.sort(key=lambda u: (-u[1], u[0].link.label.casefold()))

    def document(self) -> OntologyDoc:
        """Document the ontology."""
        graph, truncated = self.graph("ontology")
        vocab, vocab_truncated = self.graph("vocabularies")
        ontology = URIRef(self.site.ontology_iri())
        ns = ontology + "#"

        def ours(node: Node) -> bool:
            return isinstance(node, URIRef) and str(node).startswith(ns)

        kinds = {OWL.Class: "class", OWL.ObjectProperty: "object property",
                 OWL.DatatypeProperty: "datatype property",
                 OWL.AnnotationProperty: "annotation property"}
        terms: dict[str, Term] = {}
        for rdf_type, kind in kinds.items():
            for s in graph.subjects(RDF.type, rdf_type):
                if ours(s) and str(s) not in terms:
                    terms[str(s)] = Term(
                        iri=str(s), anchor=str(s)[len(ns):], label=self.index.label(s), kind=kind,
                        definition=_text(graph, s, SKOS.definition, RDFS.comment),
                        notes=sorted(str(n) for n in graph.objects(s, SKOS.note)))
        children: dict[str, list[Ref]] = defaultdict(list)
        in_domain: dict[str, list[Ref]] = defaultdict(list)
        in_range: dict[str, list[Ref]] = defaultdict(list)
        for iri, term in terms.items():
            s = URIRef(iri)
            for parent_p in (RDFS.subClassOf, RDFS.subPropertyOf):
                for parent in graph.objects(s, parent_p):
                    if isinstance(parent, URIRef):
                        term.parents.append(self.ref(parent))
                        children[str(parent)].append(self.ref(s))
            for d in graph.objects(s, RDFS.domain):
                expr = self._expression(graph, d)
                term.domain.append(expr)
                for r in expr:
                    in_domain[r.link.iri].append(self.ref(s))
            for r_ in graph.objects(s, RDFS.range):
                expr = self._expression(graph, r_)
                term.range.append(expr)
                for r in expr:
                    in_range[r.link.iri].append(self.ref(s))
            term.inverse = [self.ref(o) for o in graph.objects(s, OWL.inverseOf)] + [
                self.ref(o) for o in graph.subjects(OWL.inverseOf, s)]
            term.characteristics = sorted(name for t, name in _CHARACTERISTICS.items()
                                          if (s, RDF.type, t) in graph)
            term.matches = [(self.index.label(p), self.ref(o)) for p in _MATCHES
                            for o in sorted(graph.objects(s, p)) if isinstance(o, URIRef)]
        self._usage(terms, graph)
        for iri, term in terms.items():
            key = lambda r: r.link.label.casefold()  # noqa: E731 - a sort key
            term.parents.sort(key=key)
            term.children = sorted(children.get(iri, []), key=key)
            term.in_domain_of = sorted(in_domain.get(iri, []), key=key)
            term.in_range_of = sorted(in_range.get(iri, []), key=key)

        def of(kind: str) -> list[Term]:
            return sorted((t for t in terms.values() if t.kind == kind),
                          key=lambda t: t.label.casefold())

        metadata: list[tuple[str, list[Ref | str]]] = []
        for p in (OWL.versionInfo, OWL.versionIRI, DCTERMS.created, DCTERMS.modified,
                  DCTERMS.creator, DCTERMS.publisher, DCTERMS.license, DCTERMS.source,
                  VANN.preferredNamespacePrefix, VANN.preferredNamespaceUri, RDFS.seeAlso):
            values: list[Ref | str] = [self.ref(o) if isinstance(o, URIRef) else str(o)
                                       for o in sorted(graph.objects(ontology, p))]
            if values:
                metadata.append((self.index.label(p), values))

        schemes = []
        for s in sorted(vocab.subjects(RDF.type, SKOS.ConceptScheme)):
            concepts = sorted((self.ref(c) for c in vocab.subjects(SKOS.inScheme, s)),
                              key=lambda r: r.link.label.casefold())
            schemes.append(Scheme(self.ref(s), _text(vocab, s, SKOS.definition), concepts))
        schemes.sort(key=lambda sc: sc.ref.link.label.casefold())

        return OntologyDoc(
            iri=str(ontology), title=_text(graph, ontology, DCTERMS.title) or "Ontology",
            description=_text(graph, ontology, DCTERMS.description), metadata=metadata,
            classes=of("class"), object_properties=of("object property"),
            datatype_properties=of("datatype property"),
            annotation_properties=of("annotation property"), schemes=schemes,
            version=_text(graph, ontology, OWL.versionInfo),
            truncated=truncated or vocab_truncated)
