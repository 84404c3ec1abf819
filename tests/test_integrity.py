"""The data is internally sound: provenance on every fact, no undefined terms, no dangling links."""

from __future__ import annotations

import json

import pytest
from rdflib import OWL, RDF, RDFS, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, PROV, QB, SKOS, VOID, XSD, DefinedNamespace

from mckg.build.provenance import FACT_CLASSES, has_provenance, subclasses_of
from mckg.rdf.namespaces import CANONICAL_BASE

#: Terms of vocabularies that rdflib does not ship as closed namespaces.
BIBO = "http://purl.org/ontology/bibo/"
BIBO_TERMS = {"authorList", "doi", "number", "pages", "editor", "Report", "Chapter", "pageStart"}
CLOSED: tuple[type[DefinedNamespace], ...] = (RDF, RDFS, OWL, SKOS, DCTERMS, PROV, FOAF, ORG, QB,
                                              DCAT, VOID, XSD)


def _is_defined_standard(iri: str) -> bool | None:
    """True/False for terms of known vocabularies, None for vocabularies we do not check."""
    if iri.startswith(BIBO):
        return iri[len(BIBO):] in BIBO_TERMS
    for ns in CLOSED:
        base = str(ns._NS)
        if iri.startswith(base):
            return URIRef(iri) in ns
    return None


def test_every_fact_node_has_provenance(kg):
    data = kg.graph("data")
    classes = subclasses_of(kg.graph("ontology"), FACT_CLASSES)
    facts = {s for c in classes for s in data.subjects(RDF.type, c)}
    assert len(facts) > 250
    missing = sorted(str(f) for f in facts if not has_provenance(data, f))
    assert missing == []


def test_provenance_points_at_sources_sections_and_footnotes(kg):
    data = kg.graph("data")
    mckg = CANONICAL_BASE + "def#"
    for fact, part in data.subject_objects(URIRef(mckg + "section")):
        assert (part, RDF.type, URIRef(mckg + "ReportPart")) in data, (fact, part)
    for fact, note in data.subject_objects(URIRef(mckg + "footnote")):
        assert (note, RDF.type, URIRef(mckg + "Footnote")) in data, (fact, note)
    for fact, src in data.subject_objects(PROV.wasDerivedFrom):
        assert (src, RDF.type, None) in data, (fact, src)


def test_no_predicate_or_class_is_undefined(kg):
    """Every predicate and class used in data is defined in the ontology or a known vocabulary."""
    ontology = kg.graph("ontology")
    data = kg.union(["data", "vocabularies"])
    used = set(data.predicates()) | {o for o in data.objects(None, RDF.type)}
    problems = []
    for term in sorted(used):
        iri = str(term)
        if iri.startswith(CANONICAL_BASE + "def#"):
            if (term, RDF.type, None) not in ontology:
                problems.append(f"{iri} is not defined in ontology/mckg.ttl")
            continue
        verdict = _is_defined_standard(iri)
        if verdict is False:
            problems.append(f"{iri} is not a term of its vocabulary")
        elif verdict is None and not iri.startswith(("http://data.europa.eu/", "http://rdfs.org/",
                                                      "https://schema.org/", "http://www.w3.org/ns/")):
            problems.append(f"{iri} comes from a vocabulary the project does not use")
    assert problems == []


def test_controlled_values_and_project_iris_resolve(kg):
    """Every project IRI used as an object is described somewhere in the graph."""
    subjects = set(kg.union(["ontology", "vocabularies", "data", "reference", "esco-sample"]).subjects())
    dangling = sorted(
        f"{s} -> {o}" for s, p, o in kg.union(["vocabularies", "data"])
        if isinstance(o, URIRef) and str(o).startswith(CANONICAL_BASE) and o not in subjects
        and not str(o).endswith(("#", "/"))  # namespace IRIs, e.g. void:vocabulary
    )
    assert dangling == []


def test_labels_are_english_and_single(kg):
    data = kg.graph("data")
    problems = []
    for subject in set(data.subjects(RDF.type, None)):
        labels = [lab for lab in data.objects(subject, RDFS.label) if isinstance(lab, Literal)]
        if any(lab.language != "en" for lab in labels):
            problems.append(f"{subject}: label without @en")
        if len([lab for lab in labels if lab.language == "en"]) > 1:
            problems.append(f"{subject}: more than one English label")
    assert problems == []


@pytest.mark.parametrize("conflict_kind", ["sources-disagree", "passages-disagree"])
def test_disagreeing_statements_are_both_kept(kg, conflict_kind):
    """A conflict keeps at least two sides, each a node of its own with its own provenance."""
    data = kg.graph("data")
    mckg = CANONICAL_BASE + "def#"
    kind = URIRef(f"{CANONICAL_BASE}vocab/conflict-kind/{conflict_kind}")
    conflicts = list(data.subjects(URIRef(mckg + "conflictKind"), kind))
    assert conflicts
    for conflict in conflicts:
        sides = list(data.objects(conflict, URIRef(mckg + "side")))
        assert len(sides) >= 2, conflict
        for side in sides:
            assert (side, RDF.type, None) in data, side


def test_germany_portal_both_sources_kept(settings):
    """Survey partner and OECD disagree on Germany's portal: both findings stay."""
    from mckg.query.service import query_store
    from mckg.store.provision import provision

    text = """
    SELECT ?status ?source WHERE {
      ?f a mckg:PortalFinding ; mckg:about country:DE ; mckg:status ?status ; mckg:reportedBy ?source .
      ?c a mckg:Conflict ; mckg:side ?f .
    }"""
    store, _ = provision(settings, "memory")
    with store:
        _, answer = query_store(store, settings, text)
    got = {(row["status"]["value"].rsplit("/", 1)[1], row["source"]["value"].rsplit("/", 1)[1])
           for row in json.loads(answer.body)["results"]["bindings"]}
    assert ("none-no-plans", "mce-partner-survey-w1") in got
    assert ("national-portal", "oecd-2023b") in got
