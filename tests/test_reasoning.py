"""OWL 2 RL inferences are materialised into their own graph, apart from the asserted triples."""

from __future__ import annotations

from rdflib import RDF, Graph, URIRef

from mckg.dataset.export import export_store
from mckg.rdf.formats import rdf_format
from mckg.rdf.namespaces import MCKG
from mckg.store.memory import MemoryStore

ID = "https://w3id.org/mckg/id/"


def test_inferred_and_asserted_graphs_are_disjoint(kg):
    inferred = kg.graph("inferred")
    assert len(inferred) > 100
    asserted = kg.union(["ontology", "vocabularies", "data", "reference", "esco-sample"])
    assert not any(t in asserted for t in inferred)


def test_subclass_inference(kg):
    portal = URIRef(ID + "portal/ie-national-portal")
    assert (portal, RDF.type, MCKG.NationalPortal) in kg.graph("data")
    assert (portal, RDF.type, MCKG.Portal) in kg.graph("inferred")
    assert (portal, RDF.type, MCKG.Portal) not in kg.graph("data")


def test_inverse_property_inference(kg):
    spain = URIRef(ID + "country/ES")
    finding = URIRef(ID + "finding/es-mc-policy-w1")
    assert (finding, MCKG.about, spain) in kg.graph("data")
    assert (spain, MCKG.subjectOf, finding) in kg.graph("inferred")


def test_property_chain_links_regional_findings_to_their_country(kg):
    finding = URIRef(ID + "finding/be-vlg-mc-policy-w1")
    assert (finding, MCKG.concernsCountry, URIRef(ID + "country/BE")) in kg.graph("inferred")


def test_export_includes_or_omits_inferences(kg, settings):
    store = MemoryStore()
    store.load_dataset(kg.dataset)
    fmt = rdf_format("nt")

    def export(inferred: bool) -> Graph:
        data = export_store(store, fmt, base=settings.base, inferred=inferred)
        return Graph().parse(data=data, format="nt")

    without, with_inferred = export(False), export(True)
    triple = (URIRef(ID + "portal/ie-national-portal"), RDF.type, MCKG.Portal)
    assert triple not in without
    assert triple in with_inferred
    assert len(with_inferred) == len(without) + len(kg.graph("inferred"))
