"""Converting RDF terms between rdflib (files, SHACL, reasoning), pyoxigraph (every query) and
SPARQL 1.1 Query Results JSON (what a query answers).

rdflib parses the shipped files and the formats that need :mod:`mckg.rdf.files`'s guards (JSON-LD,
RDF/XML); everything is queried in Oxigraph. This is the one crossing between the two.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Convert one rdflib term to pyoxigraph.

    :raise ValueError: the term is not a valid RDF term (e.g. an IRI with spaces).
    """
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise ValueError(f"not an RDF term: {term!r}")


def from_oxigraph(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> Node:
    """Convert one pyoxigraph term to rdflib (blank node labels kept).

    :raise ValueError: the term is not an IRI, blank node or literal (RDF-star triples).
    """
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value, datatype=None if datatype == _XSD_STRING else URIRef(datatype))
    raise ValueError(f"not an RDF term: {term!r}")


def from_json(value: Mapping[str, str]) -> Node:
    """An rdflib term from one value of the SPARQL 1.1 Query Results JSON format.

    :raise ValueError: the value is of no known type.
    """
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    if kind in ("literal", "typed-literal"):
        datatype = value.get("datatype")
        return Literal(value["value"], lang=value.get("xml:lang"),
                       datatype=URIRef(datatype) if datatype else None)
    raise ValueError(f"unknown term type {kind!r} in SPARQL JSON results")
