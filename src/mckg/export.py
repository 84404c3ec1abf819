"""Exporting the graph: choose layers, then serialize in any of the formats of :mod:`rdfio`.

Two sources: a built :class:`~mckg.graphs.KnowledgeGraph` (rdflib, :func:`export_bytes`), or
whatever a store holds (:func:`export_store`, queried natively — an Oxigraph store with a
million loaded triples exports without rdflib ever holding them, except for JSON-LD, whose
compaction with the project's context is rdflib's).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import Dataset, Graph

from .graphs import ASSERTED_LAYERS, LAYERS, KnowledgeGraph, canonical_decimal, graph_iri
from .namespaces import rebase_prefixes
from .rdfio import RdfFormat, project_context, serialize

if TYPE_CHECKING:
    from .store import Store

_XSD_DECIMAL = "http://www.w3.org/2001/XMLSchema#decimal"
_NATIVE = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,
           "xml": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG, "nquads": ox.RdfFormat.N_QUADS}


def chosen_layers(*, inferred: bool = False, layers: Sequence[str] | None = None) -> list[str]:
    """The layer names an export includes (all asserted ones and ``user`` by default)."""
    chosen = list(layers or (*ASSERTED_LAYERS, "user"))
    if inferred and "inferred" not in chosen:
        chosen.append("inferred")
    return chosen


def bind_prefixes(graph: Graph | Dataset, base: str) -> None:
    """Bind the project's prefix registry (moved under ``base``) on ``graph``."""
    for prefix, iri in rebase_prefixes(base).items():
        graph.bind(prefix, iri, override=True, replace=True)


def export_graph(kg: KnowledgeGraph, fmt: RdfFormat, *, inferred: bool = False,
                 layers: Sequence[str] | None = None) -> Graph | Dataset:
    """Return the graph (or, for quad formats, the dataset) to serialize."""
    chosen = chosen_layers(inferred=inferred, layers=layers)
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


# ---- exporting what a store holds ----------------------------------------------------------------

def store_graphs(store: Store, base: str, *, inferred: bool = False,
                 layers: Sequence[str] | None = None) -> list[str]:
    """The named graphs of ``store`` an export of ``layers`` includes.

    A layer is its graph ``{base}graph/{layer}``; ``user`` stands for every graph that is no
    layer's: ``--file`` data, the graphs of TriG/N-Quads files and what ``mckg load`` added.
    """
    chosen = chosen_layers(inferred=inferred, layers=layers)
    by_iri = {str(graph_iri(base, layer)): layer for layer in LAYERS}
    return [g for g in store.named_graphs() if by_iri.get(g, "user") in chosen]


def _canonical(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Decimals in the project's canonical form (Oxigraph writes ``15`` for ``15.0``)."""
    if isinstance(term, ox.Literal) and term.datatype.value == _XSD_DECIMAL:
        from rdflib import Literal, URIRef

        fixed = canonical_decimal(Literal(term.value, datatype=URIRef(_XSD_DECIMAL)))
        if str(fixed) != term.value:
            return ox.Literal(str(fixed), datatype=term.datatype)
    return term


def _construct(store: Store, text: str) -> Iterator[ox.Triple]:
    from .sparql import inspect_query

    result = store.query(text, inspect_query(text))
    try:
        for triple in result.triples or ():
            yield ox.Triple(triple.subject, triple.predicate,
                            _canonical(triple.object))  # type: ignore[arg-type]
    finally:
        result.release()


def store_quads(store: Store, graphs: Iterable[str]) -> Iterator[ox.Quad]:
    """Every triple of ``graphs``, as quads (asked with SPARQL, so any store will do)."""
    for graph in graphs:
        name = ox.NamedNode(graph)
        text = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {name} {{ ?s ?p ?o }} }}"
        for triple in _construct(store, text):
            yield ox.Quad(triple.subject, triple.predicate, triple.object, name)


def store_triples(store: Store, graphs: Sequence[str]) -> Iterator[ox.Triple]:
    """The RDF merge of ``graphs`` (a set: a triple in two graphs comes once)."""
    if sorted(graphs) == store.named_graphs():  # the default graph is the merge of all
        yield from _construct(store, "CONSTRUCT WHERE { ?s ?p ?o }")
        return
    if not graphs:
        return
    values = " ".join(str(ox.NamedNode(g)) for g in graphs)
    yield from _construct(store, "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o "
                                 f"WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} }}")


def export_store(store: Store, fmt: RdfFormat, *, base: str, inferred: bool = False,
                 layers: Sequence[str] | None = None) -> bytes:
    """Serialize the chosen layers of what ``store`` holds as ``fmt``.

    Written by pyoxigraph with the project's prefixes where it has a writer; JSON-LD is
    compacted with the project's context by rdflib, as :func:`export_bytes` does.
    """
    from .store.results import _used_prefixes

    graphs = store_graphs(store, base, inferred=inferred, layers=layers)
    if fmt.quads:
        lines = ox.serialize(store_quads(store, graphs), format=ox.RdfFormat.N_QUADS) or b""
        syntax = ox.RdfFormat.N_QUADS
    else:
        lines = ox.serialize(store_triples(store, graphs), format=ox.RdfFormat.N_TRIPLES) or b""
        syntax = ox.RdfFormat.N_TRIPLES
    if fmt.name in ("nt", "nquads"):
        return lines
    if fmt.name == "json-ld":
        graph = Graph()
        graph.parse(data=lines, format="nt")
        bind_prefixes(graph, base)
        return serialize(graph, fmt, context=project_context()["@context"])
    # Declare only the prefixes the data uses, as rdflib's writers do.
    used = _used_prefixes(lines, rebase_prefixes(base))
    return ox.serialize(ox.parse(lines, syntax), format=_NATIVE[fmt.name], prefixes=used) or b""
