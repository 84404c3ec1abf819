"""The one table of formats: RDF serializations and SPARQL query results.

Each row says everything mckg needs about a format in one place: its short name, media type
(and the other names clients send for it), file suffixes, the rdflib plugin that parses it, the
pyoxigraph format that writes it, and its W3C format IRI for service descriptions. Negotiation,
file loading, exports and answers all look formats up here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

_W3C = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class RdfFormat:
    """One RDF serialization."""

    name: str
    #: rdflib's plugin name, for serializing what rdflib builds (files are read by
    #: :mod:`mckg.rdf.files`: Oxigraph's parser, or rdflib's hardened JSON-LD and RDF/XML ones).
    rdflib: str
    media_type: str
    suffix: str
    quads: bool = False
    #: pyoxigraph's writer; None where rdflib writes it (JSON-LD: compacted with our context).
    oxigraph: ox.RdfFormat | None = None
    #: Read by Oxigraph's streaming parser, by every reader (load, build, validate), with
    #: line positions. JSON-LD and RDF/XML are parsed whole by rdflib's hardened parsers
    #: instead (:mod:`mckg.rdf.files`): nobody ships millions of triples in them.
    streamed: bool = False
    #: The format's IRI in the W3C registry.
    iri: str = ""
    #: Other media types clients use for it (matched only when named exactly).
    aliases: tuple[str, ...] = ()
    #: Other file suffixes and short names.
    suffixes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResultFormat:
    """A SPARQL query results serialization (SELECT and ASK answers)."""

    name: str
    media_type: str
    suffix: str
    oxigraph: ox.QueryResultsFormat
    iri: str
    aliases: tuple[str, ...] = field(default=())


FORMATS: tuple[RdfFormat, ...] = (
    RdfFormat("turtle", "turtle", "text/turtle", ".ttl", oxigraph=ox.RdfFormat.TURTLE,
              streamed=True, iri=_W3C + "Turtle",
              aliases=("application/x-turtle", "text/n3", "text/rdf+n3"), suffixes=(".n3",),
              names=("ttl", "n3")),
    RdfFormat("nt", "nt", "application/n-triples", ".nt", oxigraph=ox.RdfFormat.N_TRIPLES,
              streamed=True, iri=_W3C + "N-Triples", aliases=("text/plain",),
              suffixes=(".ntriples",), names=("ntriples", "n-triples")),
    RdfFormat("json-ld", "json-ld", "application/ld+json", ".jsonld", iri=_W3C + "JSON-LD",
              aliases=("application/json",), suffixes=(".json",), names=("jsonld",)),
    RdfFormat("xml", "xml", "application/rdf+xml", ".rdf", oxigraph=ox.RdfFormat.RDF_XML,
              iri=_W3C + "RDF_XML", aliases=("application/xml", "text/xml"),
              suffixes=(".owl", ".xml"), names=("rdfxml", "rdf/xml", "rdf", "rdf+xml", "owl")),
    RdfFormat("trig", "trig", "application/trig", ".trig", quads=True,
              oxigraph=ox.RdfFormat.TRIG, streamed=True, iri=_W3C + "TriG"),
    RdfFormat("nquads", "nquads", "application/n-quads", ".nq", quads=True,
              oxigraph=ox.RdfFormat.N_QUADS, streamed=True, iri=_W3C + "N-Quads",
              suffixes=(".nquads",), names=("n-quads", "nq")),
)

RESULT_FORMATS: tuple[ResultFormat, ...] = (
    ResultFormat("json", "application/sparql-results+json", ".srj", ox.QueryResultsFormat.JSON,
                 _W3C + "SPARQL_Results_JSON", aliases=("application/json", "text/json")),
    ResultFormat("xml", "application/sparql-results+xml", ".srx", ox.QueryResultsFormat.XML,
                 _W3C + "SPARQL_Results_XML", aliases=("application/xml", "text/xml")),
    ResultFormat("csv", "text/csv", ".csv", ox.QueryResultsFormat.CSV,
                 _W3C + "SPARQL_Results_CSV"),
    ResultFormat("tsv", "text/tab-separated-values", ".tsv", ox.QueryResultsFormat.TSV,
                 _W3C + "SPARQL_Results_TSV"),
)

_RDF_BY_NAME = {n: f for f in FORMATS for n in (f.name, *f.names)}
_RDF_BY_SUFFIX = {s: f for f in FORMATS for s in (f.suffix, *f.suffixes)}
#: Exact media types first, then aliases (an alias never shadows a format's own type).
_RDF_BY_MEDIA_TYPE = ({a: f for f in FORMATS for a in f.aliases}
                      | {f.media_type: f for f in FORMATS})
RESULT_MEDIA_TYPES: dict[str, ResultFormat] = {f.media_type: f for f in RESULT_FORMATS}


def rdf_format(name: str) -> RdfFormat:
    """The RDF format called ``name`` (``turtle``, ``nt``, ``json-ld``, ``xml``, ``trig``…).

    :raise ValueError: the name is unknown.
    """
    fmt = _RDF_BY_NAME.get(name.lower())
    if fmt is None:
        known = ", ".join(f.name for f in FORMATS)
        raise ValueError(f"unknown RDF format {name!r}; expected one of {known}")
    return fmt


def rdf_format_for_media_type(media_type: str) -> RdfFormat | None:
    """The RDF format for ``media_type`` or one of its aliases (parameters ignored), or None."""
    return _RDF_BY_MEDIA_TYPE.get(media_type.split(";")[0].strip().lower())


def rdf_format_for_suffix(suffix: str) -> RdfFormat | None:
    """The RDF format files ending in ``suffix`` (``.ttl``…) are written in, or None."""
    return _RDF_BY_SUFFIX.get(suffix.lower())


def result_format(media_type: str) -> ResultFormat | None:
    """The results format of ``media_type`` (exactly; parameters ignored), or None."""
    return RESULT_MEDIA_TYPES.get(media_type.split(";")[0].strip().lower())
