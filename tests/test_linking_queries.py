"""The links into ELM, EQF and ESCO (issue 9) and the cross queries that use them.

The shipped graph is loaded into a memory store with the example credentials beside it (as
``mckg load`` adds them), and every question goes through the query service, as ``mckg
query`` asks it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from mckg.config import Settings
from mckg.query.service import query_store
from mckg.query.stored import get as stored_query
from mckg.store import Store
from mckg.store.loading import load_files
from mckg.store.provision import provision

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "credentials"
MCEL = "https://w3id.org/mckg/vocab/mc-element/"
ESCO_SCHEME = "http://data.europa.eu/esco/concept-scheme/"


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    opened, _ = provision(Settings(), "memory")
    load_files(opened, [EXAMPLES / "es-digital-teaching.jsonld",
                        EXAMPLES / "europass-annex1-sample.jsonld"],
               graph="http://example.org/credentials")
    yield opened
    opened.close()


def rows(store: Store, text: str) -> list[dict[str, str]]:
    _, answer = query_store(store, Settings(), text, results="text/csv")
    return list(csv.DictReader(io.StringIO(answer.body.decode("utf-8"))))


def test_every_element_is_mapped_to_elm_or_says_why_not(store: Store) -> None:
    found = rows(store, """
        SELECT ?element ?property ?path ?note WHERE {
          ?element skos:inScheme <https://w3id.org/mckg/vocab/mc-element> .
          OPTIONAL { ?element mckg:elmProperty ?property }
          OPTIONAL { ?element mckg:elmPath ?path }
          OPTIONAL { ?element skos:note ?note } }""")
    by_element: dict[str, list[dict[str, str]]] = {}
    for row in found:
        by_element.setdefault(row["element"], []).append(row)
    assert len(by_element) == 20
    for element, element_rows in by_element.items():
        if element == MCEL + "certificate-elements":  # the report does not list them
            assert not element_rows[0]["property"]
            assert any("No single ELM property" in r["note"] for r in element_rows)
        else:
            assert element_rows[0]["property"].startswith(("http://data.europa.eu/snb/model/elm/",
                                                          "https://www.w3.org/2018/credentials#",
                                                          "http://purl.org/dc/terms/")), element
            assert element_rows[0]["path"], element


def test_national_elements_match_annex_i(store: Store) -> None:
    found = rows(store, """
        SELECT ?element ?relation ?annex WHERE {
          VALUES ?relation { skos:closeMatch skos:broadMatch skos:relatedMatch }
          ?element skos:inScheme <https://w3id.org/mckg/vocab/mc-element> ; ?relation ?annex .
          ?annex skos:inScheme <https://w3id.org/mckg/vocab/mc-element> }""")
    pairs = {(r["element"][len(MCEL):], r["relation"].rsplit("#", 1)[-1], r["annex"][len(MCEL):])
             for r in found}
    assert ("modularity", "closeMatch", "stackability") in pairs
    assert ("accreditation-process", "broadMatch", "quality-assurance") in pairs
    assert {a for e, _, a in pairs if e == "certificate-elements"} == {
        "learner-identification", "title", "issuer-country", "awarding-body", "date-of-issue"}


def test_definitions_carry_levels_and_bounds(store: Store) -> None:
    found = rows(store, """
        SELECT ?definition (COUNT(DISTINCT ?level) AS ?levels) (SAMPLE(?framework) AS ?scheme)
               (SAMPLE(?cap) AS ?max) (COUNT(DISTINCT ?required) AS ?required)
               (COUNT(DISTINCT ?optional) AS ?optional) WHERE {
          ?definition a mckg:MicroCredentialDefinition .
          OPTIONAL { ?definition mckg:eqfLevel ?level }
          OPTIONAL { ?definition mckg:levelFramework ?framework }
          OPTIONAL { ?definition mckg:ectsMaxExclusive ?cap }
          OPTIONAL { ?definition mckg:requiresElement ?required }
          OPTIONAL { ?definition mckg:optionalElement ?optional }
        } GROUP BY ?definition ORDER BY ?definition""")
    table = {r["definition"].rsplit("/", 1)[-1]: r for r in found}
    eu, es = table["eu-council-rec-2022"], table["es-university-mc"]
    assert (eu["levels"], eu["required"], eu["optional"], eu["max"]) == ("8", "11", "5", "")
    assert (es["levels"], es["required"], es["max"]) == ("0", "9", "15")
    assert eu["scheme"] == es["scheme"] == "http://data.europa.eu/snb/eqf/25831c2"


def test_topics_and_lithuania_link_into_esco_concept_schemes_that_resolve(store: Store) -> None:
    found = rows(store, """
        SELECT ?subject ?target ?label WHERE {
          VALUES ?subject { topic:digital-education topic:upskilling-reskilling
                            portal:lt-qualifications-databases }
          ?subject skos:relatedMatch ?target .
          OPTIONAL { ?target a skos:ConceptScheme ; skos:prefLabel ?label } }""")
    links = {(r["subject"].rsplit("/", 1)[-1], r["target"][len(ESCO_SCHEME):]): r["label"]
             for r in found}
    assert links == {
        ("digital-education", "digcomp"): "DigComp",
        ("digital-education", "6c930acd-c104-4ece-acf7-f44fd7333036"): "Digital",
        ("upskilling-reskilling", "skill-transversal-groups"): "ESCO transversal skill groups",
        ("lt-qualifications-databases", "skills"): "ESCO skills",
        ("lt-qualifications-databases", "occupations"): "ESCO Occupations",
    }
    tagged = rows(store, "SELECT ?finding WHERE { ?finding mckg:topic topic:digital-education }")
    assert {r["finding"].rsplit("/", 1)[-1] for r in tagged} == {
        "be-vlg-advancement-fund-w1", "it-mc-observatory-required-w1"}


def test_cross_query_digital_skills_at_eqf6_where_the_workload_is_capped(store: Store) -> None:
    found = rows(store, stored_query("cross-digital-eqf6-capped").text)
    assert [(r["credential"], r["country"], r["cap"], r["digitalSkills"]) for r in found] == [
        ("urn:credential:mckg-example-es-digital-teaching", "https://w3id.org/mckg/id/country/ES",
         "15", "2")]
    assert sorted(found[0]["skills"].split()) == [  # creatively use …, develop digital content
        "http://data.europa.eu/esco/skill/1a4cc54f-1e53-442b-a6d2-1682dc8ef8f9",
        "http://data.europa.eu/esco/skill/5fd5c985-eaaa-47aa-8314-62359c54505a"]
    # the official sample teaches a DigComp skill at EQF 6 too, but Ireland caps nothing
    assert "urn:credential:3ef0ac26" not in str(found)


def test_cross_query_what_spain_adds_to_and_leaves_out_of_annex_i(store: Store) -> None:
    found = rows(store, stored_query("cross-annex-elements").text)
    changes = {(r["change"], r["element"][len(MCEL):], r["annexCounterpart"]) for r in found}
    assert {r["jurisdiction"] for r in found} == {"Spain"}
    assert changes == {
        ("adds", "accreditation-process", "Type of quality assurance"),
        ("adds", "certificate-elements", ""),
        ("adds", "modularity", "Integration and stackability options"),
        ("adds", "target-audience", ""),
        ("leaves out", "awarding-body", ""),
        ("leaves out", "date-of-issue", ""),
        ("leaves out", "issuer-country", ""),
        ("leaves out", "learner-identification", ""),
        ("leaves out", "participation-form", ""),
        ("leaves out", "title", ""),
    }


def test_cross_query_topics_and_esco_collections(store: Store) -> None:
    found = rows(store, stored_query("cross-topics-esco").text)
    counts = {(r["topic"].rsplit("/", 1)[-1], r["collectionLabel"]): (int(r["skills"]), int(r["findings"]))
              for r in found}
    assert counts == {  # the bundled ESCO sample's collections
        ("digital-education", "Digital"): (5, 2),
        ("digital-education", "DigComp"): (26, 2),
        ("upskilling-reskilling", "ESCO transversal skill groups"): (96, 3),
    }
