"""Counts that describe the graph: triples per graph, classes, properties, facts with provenance."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rdflib import OWL, RDF, Graph
from rdflib.namespace import SH, SKOS
from rdflib.term import Node

from .graphs import KnowledgeGraph
from .provenance import FACT_CLASSES, has_provenance, subclasses_of
from .results import shortener


@dataclass
class GraphStats:
    """Numbers about one built graph."""

    triples: dict[str, int] = field(default_factory=dict)
    ontology_classes: int = 0
    ontology_properties: int = 0
    concepts: int = 0
    shapes: int = 0
    instances: Counter[str] = field(default_factory=Counter)
    facts: int = 0
    facts_with_provenance: int = 0


def fact_nodes(data: Graph, ontology: Graph) -> set[Node]:
    """Subjects in ``data`` typed with a fact class (Finding, Conflict, MonetaryAmount …)."""
    classes = subclasses_of(ontology, FACT_CLASSES)
    return {s for cls in classes for s in data.subjects(RDF.type, cls)}


def compute(kg: KnowledgeGraph, shapes: Graph | None = None) -> GraphStats:
    """Compute :class:`GraphStats` for ``kg`` (and the node shapes in ``shapes``)."""
    ontology = kg.graph("ontology")
    data = kg.graph("data")
    stats = GraphStats(triples=kg.counts())
    stats.ontology_classes = len(set(ontology.subjects(RDF.type, OWL.Class)))
    stats.ontology_properties = len(
        {s for t in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
         for s in ontology.subjects(RDF.type, t)}
    )
    stats.concepts = len(set(kg.graph("vocabularies").subjects(RDF.type, SKOS.Concept)))
    if shapes is not None:
        stats.shapes = len(set(shapes.subjects(RDF.type, SH.NodeShape)))
    shorten = shortener(kg.base)
    for _s, cls in data.subject_objects(RDF.type):
        stats.instances[shorten(str(cls))] += 1
    facts = fact_nodes(data, ontology)
    stats.facts = len(facts)
    stats.facts_with_provenance = sum(1 for f in facts if has_provenance(data, f))
    return stats
