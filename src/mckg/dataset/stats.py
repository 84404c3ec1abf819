"""Counts that describe the graph: triples per graph, classes, properties, facts with provenance.

:func:`compute` counts whatever a store holds with SPARQL run by the store's own engine (so
``mckg stats`` over millions of loaded triples needs no rdflib copy of them).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rdflib import RDF, Graph
from rdflib.namespace import SH

from ..build.graphs import LAYERS, esco_present, graph_iri
from ..config import Settings
from ..linked.runner import ServiceRunner
from ..query.service import QueryService
from ..query.table import shortener

if TYPE_CHECKING:
    from ..store import Store


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
    #: Which ESCO the store holds (graph IRI → title): the bundled sample, a release, or both.
    esco: dict[str, str] = field(default_factory=dict)


def compute(store: Store, base: str, shapes: Graph | None = None) -> GraphStats:
    """Count what ``store`` holds with the stored queries of ``queries/stats``.

    Layers are the graphs ``{base}graph/{layer}``; other graphs (``TriG`` files, ``mckg
    load``) are counted by IRI.
    """
    runner = ServiceRunner(QueryService.inline(Settings(base_iri=base), store), base)

    def count(name: str, variable: str = "n") -> int:
        rows = runner.select(name).rows
        return int(rows[0][variable]) if rows and variable in rows[0] else 0

    counts = store.counts()
    layer_of = {str(graph_iri(base, layer)): layer for layer in LAYERS}
    stats = GraphStats(triples={layer: counts[str(graph_iri(base, layer))] for layer in LAYERS
                                if counts.get(str(graph_iri(base, layer)))})
    stats.triples.update({g: n for g, n in counts.items() if g not in layer_of and n})
    stats.esco = esco_present(counts, base)
    stats.ontology_classes = count("stats-classes")
    stats.ontology_properties = count("stats-properties")
    stats.concepts = count("stats-concepts")
    if shapes is not None:
        stats.shapes = len(set(shapes.subjects(RDF.type, SH.NodeShape)))
    shorten = shortener(base)
    for row in runner.select("stats-instances").rows:
        stats.instances[shorten(str(row["c"]))] += int(row["n"])
    stats.facts, stats.facts_with_provenance = count("stats-facts", "facts"), count("stats-facts", "with")
    return stats
