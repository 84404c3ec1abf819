"""Describing the service and the dataset: SPARQL 1.1 Service Description and VoID/DCAT.

Both are built as rdflib graphs from the counts the service computed once at start-up and the
server's configured public address (never a request's ``Host``: any client can forge that), so
they are true for whatever data and store are served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDFS, VOID

from ..build.graphs import esco_present
from ..rdf.formats import FORMATS as RDF_FORMATS
from ..rdf.formats import RESULT_FORMATS
from ..rdf.namespaces import rebase_prefixes

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")

#: The report every fact comes from.
SOURCE_DOI = "https://doi.org/10.5281/zenodo.13850890"
LICENSE = "https://creativecommons.org/licenses/by-sa/4.0/"

def dataset_iri(base: str) -> URIRef:
    """The IRI of the mckg dataset under ``base``."""
    return URIRef(f"{base}id/dataset/mckg")


def _bind(graph: Graph, base: str) -> Graph:
    for prefix, iri in rebase_prefixes(base).items():
        graph.bind(prefix, iri, override=True, replace=True)
    return graph


def service_description(endpoint: str, *, base: str, counts: Mapping[str, int],
                        triples: int, federated: bool = False, void_url: str | None = None) -> Graph:
    """The SPARQL 1.1 Service Description of the endpoint at ``endpoint``.

    ``counts`` are triples per named graph; ``triples`` those of the default graph (their merge).
    """
    g = _bind(Graph(), base)
    service = URIRef(endpoint + "#service")
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, URIRef(endpoint)))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    if federated:
        g.add((service, SD.feature, SD.BasicFederatedQuery))
    g.add((service, SD.defaultEntailmentRegime,
           URIRef("http://www.w3.org/ns/entailment/Simple")))
    for fmt in RESULT_FORMATS:
        g.add((service, SD.resultFormat, URIRef(fmt.iri)))
    for rdf in RDF_FORMATS:
        g.add((service, SD.resultFormat,
               URIRef(rdf.iri)))
    g.add((service, DCTERMS.title, Literal("mckg SPARQL endpoint", lang="en")))
    g.add((service, RDFS.comment, Literal(
        "Read-only SPARQL 1.1 endpoint of the mckg knowledge graph. The default graph is the "
        "RDF merge of all named graphs; OWL 2 RL inferences are materialized in their own "
        "named graph, so queries run under simple entailment.", lang="en")))
    if void_url:
        g.add((service, RDFS.seeAlso, URIRef(void_url)))
    dataset = BNode()
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    g.add((dataset, DCTERMS.source, dataset_iri(base)))
    default = BNode()
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, VOID.triples, Literal(triples, datatype=XSD.integer)))
    for name, n in sorted(counts.items()):
        named, graph = BNode(), BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(name)))
        g.add((named, SD.graph, graph))
        g.add((graph, RDF.type, SD.Graph))
        g.add((graph, VOID.triples, Literal(n, datatype=XSD.integer)))
    return g


def void_description(*, base: str, endpoint: str, counts: Mapping[str, int], triples: int,
                     examples: Iterable[str] = (), stored: Graph | None = None) -> Graph:
    """A VoID and DCAT description of the served dataset.

    ``stored`` is the dataset's own description from the data (``data/dataset.ttl``), merged
    in when present; licence, source, counts, examples and the endpoint are always stated.
    """
    g = _bind(Graph(), base)
    ds = dataset_iri(base)
    if stored is not None:
        for triple in stored.triples((ds, None, None)):
            g.add(triple)
    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, RDF.type, DCAT.Dataset))
    if (ds, DCTERMS.title, None) not in g:
        g.add((ds, DCTERMS.title, Literal("mckg: a knowledge graph of European micro-credential "
                                          "policy", lang="en")))
    g.add((ds, DCTERMS.license, URIRef(LICENSE)))
    g.add((ds, DCTERMS.source, URIRef(SOURCE_DOI)))
    g.add((ds, FOAF.page, URIRef(SOURCE_DOI)))
    g.add((ds, VOID.sparqlEndpoint, URIRef(endpoint)))
    g.add((ds, VOID.triples, Literal(triples, datatype=XSD.integer)))
    g.add((ds, VOID.uriSpace, Literal(f"{base}id/")))
    for example in examples:
        g.add((ds, VOID.exampleResource, URIRef(example)))
    distribution = URIRef(endpoint + "#distribution")
    g.add((ds, DCAT.distribution, distribution))
    g.add((distribution, RDF.type, DCAT.Distribution))
    g.add((distribution, DCAT.accessURL, URIRef(endpoint)))
    g.add((distribution, DCTERMS.title, Literal("SPARQL 1.1 endpoint", lang="en")))
    g.add((distribution, DCTERMS.license, URIRef(LICENSE)))
    service = URIRef(endpoint + "#service")
    g.add((distribution, DCAT.accessService, service))
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCAT.endpointURL, URIRef(endpoint)))
    g.add((service, DCTERMS.conformsTo, URIRef("https://www.w3.org/TR/sparql11-protocol/")))
    g.add((service, DCAT.servesDataset, ds))
    esco = esco_present(counts, base)  # which ESCO is served: the sample or a release
    for name, n in sorted(counts.items()):
        subset = URIRef(f"{ds}#graph-{name.rstrip('/').rsplit('/', 1)[-1]}") \
            if name.startswith(base) else BNode()
        g.add((ds, VOID.subset, subset))
        g.add((subset, RDF.type, VOID.Dataset))
        g.add((subset, SD.name, URIRef(name)))
        g.add((subset, VOID.triples, Literal(n, datatype=XSD.integer)))
        g.add((subset, VOID.sparqlEndpoint, URIRef(endpoint)))
        if name in esco:
            g.add((subset, DCTERMS.title, Literal(esco[name], lang="en")))
    return g
