"""Exporting what a store holds: choose layers, then serialize in any format of :mod:`rdfio`.

Everything is read from the store by its own engine (an Oxigraph store with a million loaded
triples exports without rdflib ever holding them) and written by pyoxigraph, except JSON-LD,
whose compaction with the project's context is rdflib's (:func:`mckg.linked.context.to_jsonld`).

Decimals come out in the project's canonical form (``15.0``; Oxigraph keeps values and writes
XSD 1.1's ``15``), so every export of the same fact compares equal term by term.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import Dataset, Graph, Literal, URIRef

from ..build.graphs import ASSERTED_LAYERS, LAYERS, canonical_decimal, graph_iri
from ..linked.context import to_jsonld
from ..query.check import inspect_query
from ..rdf.formats import RdfFormat
from ..rdf.namespaces import rebase_prefixes
from ..store import Store
from ..store.results import used_prefixes

_XSD_DECIMAL = "http://www.w3.org/2001/XMLSchema#decimal"


def chosen_layers(*, inferred: bool = False, layers: Sequence[str] | None = None) -> list[str]:
    """The layer names an export includes (all asserted ones and ``user`` by default)."""
    chosen = list(layers or (*ASSERTED_LAYERS, "user"))
    if inferred and "inferred" not in chosen:
        chosen.append("inferred")
    return chosen


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
        fixed = canonical_decimal(Literal(term.value, datatype=URIRef(_XSD_DECIMAL)))
        if str(fixed) != term.value:
            return ox.Literal(str(fixed), datatype=term.datatype)
    return term


def _construct(store: Store, text: str) -> Iterator[ox.Triple]:
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


@dataclass(frozen=True)
class Exported:
    """One export: its bytes, its statements and the named graphs it keeps apart."""

    data: bytes
    statements: int
    graphs: tuple[str, ...]


def export_graphs(store: Store, graphs: Sequence[str], fmt: RdfFormat, *, base: str,
                  embed_context: bool = True) -> Exported:
    """Serialize ``graphs`` of ``store`` as ``fmt``: apart for quad formats, merged otherwise.

    JSON-LD is compacted with the project's context, embedded (the file parses offline) or,
    with ``embed_context=False``, referenced by its published IRI.
    """

    if fmt.quads:
        lines = ox.serialize(store_quads(store, graphs), format=ox.RdfFormat.N_QUADS) or b""
        syntax = ox.RdfFormat.N_QUADS
    else:
        lines = ox.serialize(store_triples(store, graphs), format=ox.RdfFormat.N_TRIPLES) or b""
        syntax = ox.RdfFormat.N_TRIPLES
    statements = lines.count(b"\n")
    named = tuple(g for g in graphs if f"<{g}>".encode() in lines) if fmt.quads else ()
    if fmt.oxigraph is None:  # JSON-LD: compacted by rdflib with our context
        graph: Graph | Dataset = Dataset() if fmt.quads else Graph()
        graph.parse(data=lines, format="nquads" if fmt.quads else "nt")
        return Exported(to_jsonld(graph, base, reference=not embed_context), statements, named)
    if fmt.oxigraph == syntax:
        return Exported(lines, statements, named)
    # Declare only the prefixes the data uses, as rdflib's writers do.
    used = used_prefixes(lines, rebase_prefixes(base))
    data = ox.serialize(ox.parse(lines, syntax), format=fmt.oxigraph, prefixes=used) or b""
    return Exported(data, statements, named)


def export_store(store: Store, fmt: RdfFormat, *, base: str, inferred: bool = False,
                 layers: Sequence[str] | None = None) -> bytes:
    """Serialize the chosen layers of what ``store`` holds as ``fmt``."""
    graphs = store_graphs(store, base, inferred=inferred, layers=layers)
    return export_graphs(store, graphs, fmt, base=base).data
