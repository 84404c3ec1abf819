"""Exporting the graph: choose layers, then serialize in any of the formats of :mod:`rdfio`."""

from __future__ import annotations

from collections.abc import Sequence

from rdflib import Dataset, Graph

from .graphs import ASSERTED_LAYERS, KnowledgeGraph, graph_iri
from .namespaces import rebase_prefixes
from .rdfio import RdfFormat, project_context, serialize


def select(kg: KnowledgeGraph, *, inferred: bool = False,
           layers: Sequence[str] | None = None) -> list[str]:
    """Return the layer names an export includes."""
    chosen = list(layers or (*ASSERTED_LAYERS, "user"))
    if inferred and "inferred" not in chosen:
        chosen.append("inferred")
    if not inferred and "inferred" in chosen and layers is None:
        chosen.remove("inferred")
    return chosen


def bind_prefixes(graph: Graph | Dataset, base: str) -> None:
    """Bind the project's prefix registry (moved under ``base``) on ``graph``."""
    for prefix, iri in rebase_prefixes(base).items():
        graph.bind(prefix, iri, override=True, replace=True)


def export_graph(kg: KnowledgeGraph, fmt: RdfFormat, *, inferred: bool = False,
                 layers: Sequence[str] | None = None) -> Graph | Dataset:
    """Return the graph (or, for quad formats, the dataset) to serialize."""
    chosen = select(kg, inferred=inferred, layers=layers)
    if fmt.quads:
        out = Dataset()
        for layer in chosen:
            src = kg.graph(layer)
            if len(src):
                target = out.graph(graph_iri(kg.base, layer))
                for triple in src:
                    target.add(triple)
        if "user" in chosen:
            for ctx in kg.dataset.graphs():
                ident = str(ctx.identifier)
                if not ident.startswith(kg.base + "graph/") and ident != "urn:x-rdflib:default":
                    target = out.graph(ctx.identifier)
                    for triple in ctx:
                        target.add(triple)
        bind_prefixes(out, kg.base)
        return out
    graph = kg.union(chosen)
    bind_prefixes(graph, kg.base)
    return graph


def export_bytes(kg: KnowledgeGraph, fmt: RdfFormat, *, inferred: bool = False,
                 layers: Sequence[str] | None = None) -> bytes:
    """Serialize the chosen layers of ``kg`` as ``fmt`` (JSON-LD compacted with our context)."""
    graph = export_graph(kg, fmt, inferred=inferred, layers=layers)
    context = project_context()["@context"] if fmt.name == "json-ld" else None
    return serialize(graph, fmt, context=context)
