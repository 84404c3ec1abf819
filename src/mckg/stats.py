"""Counts that describe the graph: triples per graph, classes, properties, facts with provenance.

:func:`compute` counts whatever a store holds with SPARQL run by the store's own engine (so
``mckg stats`` over millions of loaded triples needs no rdflib copy of them).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rdflib import OWL, RDF, Graph
from rdflib.namespace import SH, SKOS

from .graphs import LAYERS, graph_iri
from .namespaces import CANONICAL_BASE
from .provenance import FACT_CLASSES
from .results import shortener

if TYPE_CHECKING:
    from .store import Store


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


def _rows(store: Store, text: str) -> list[dict[str, str]]:
    """Run a SELECT on ``store``; each row's values as plain strings."""
    from .sparql import inspect_query
    from .store import serialize_result

    result = store.query(text, inspect_query(text))
    body = serialize_result(result, "application/sparql-results+json", limit=10**9).body
    return [{name: term["value"] for name, term in row.items()}
            for row in json.loads(body)["results"]["bindings"]]


def compute(store: Store, base: str, shapes: Graph | None = None) -> GraphStats:
    """Count what ``store`` holds, with SPARQL run by the store's engine.

    Layers are the graphs ``{base}graph/{layer}``; other graphs (``TriG`` files, ``mckg
    load``) are counted by IRI, as :meth:`KnowledgeGraph.counts` does.
    """
    def iri(layer: str) -> str:
        return f"<{graph_iri(base, layer)}>"

    def count(text: str) -> int:
        found = _rows(store, text)
        return int(found[0].get("n", 0)) if found else 0

    counts = store.counts()
    layer_of = {str(graph_iri(base, layer)): layer for layer in LAYERS}
    stats = GraphStats(triples={layer: counts[str(graph_iri(base, layer))] for layer in LAYERS
                                if counts.get(str(graph_iri(base, layer)))})
    stats.triples.update({g: n for g, n in counts.items() if g not in layer_of and n})
    owl, skos = str(OWL), str(SKOS)
    stats.ontology_classes = count(f"SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ GRAPH {iri('ontology')} "
                                   f"{{ ?c a <{owl}Class> }} }}")
    stats.ontology_properties = count(
        f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {{ VALUES ?t {{ <{owl}ObjectProperty> "
        f"<{owl}DatatypeProperty> <{owl}AnnotationProperty> }} GRAPH {iri('ontology')} {{ ?p a ?t }} }}")
    stats.concepts = count(f"SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ GRAPH {iri('vocabularies')} "
                           f"{{ ?c a <{skos}Concept> }} }}")
    if shapes is not None:
        stats.shapes = len(set(shapes.subjects(RDF.type, SH.NodeShape)))
    shorten = shortener(base)
    for row in _rows(store, f"SELECT ?c (COUNT(*) AS ?n) WHERE {{ GRAPH {iri('data')} {{ ?s a ?c }} }} "
                            "GROUP BY ?c"):
        stats.instances[shorten(row["c"])] += int(row["n"])
    roots = " ".join(f"<{base}{str(c)[len(CANONICAL_BASE):]}>" for c in FACT_CLASSES)
    mckg, prov = f"{base}def#", "http://www.w3.org/ns/prov#"
    (row,) = _rows(store, (
        "SELECT (COUNT(DISTINCT ?f) AS ?facts) (COUNT(DISTINCT ?sourced) AS ?with) WHERE { "
        f"VALUES ?root {{ {roots} }} "
        f"GRAPH {iri('ontology')} {{ ?class <http://www.w3.org/2000/01/rdf-schema#subClassOf>* ?root }} "
        f"FILTER(isIRI(?class)) GRAPH {iri('data')} {{ ?f a ?class }} "
        f"OPTIONAL {{ GRAPH {iri('data')} {{ ?f <{prov}wasDerivedFrom> ?a ; <{mckg}section> ?b ; "
        f"<{mckg}reportedBy> ?c }} BIND(?f AS ?sourced) }} }}"))
    stats.facts, stats.facts_with_provenance = int(row.get("facts", 0)), int(row.get("with", 0))
    return stats
