"""Each competency question's stored query gives the answer the report supports, on every store.

The expected answers restate ``docs/competency-questions.md``; the queries come from ``queries/``
and run exactly as a user runs them: on the built graph with rdflib (the library), on the
memory store, and through ``mckg query --store oxigraph:…`` (Oxigraph, natively). The checks
are plain functions of the answers (:data:`CHECKS`), so ``tests/test_virtuoso.py`` runs the
same ones through ``mckg query --store sparql+http://…`` against Virtuoso.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from click.testing import CliRunner
from rdflib import Literal, URIRef
from rdflib.term import Node

from mckg.build.graphs import KnowledgeGraph, canonical_decimal
from mckg.cli import main
from mckg.config import Settings
from mckg.query import stored as queries
from mckg.query.service import query_store
from mckg.rdf.terms import from_json
from mckg.store.memory import MemoryStore

ID = "https://w3id.org/mckg/id/"

Row = dict[str, Node]
#: Runs a stored query (by name) or SPARQL text; returns its rows, unbound variables absent.
Answers = Callable[[str], list[Row]]


def text_of(name_or_text: str) -> str:
    return queries.get(name_or_text).text if name_or_text in queries.catalogue() else name_or_text


def json_rows(body: bytes) -> list[Row]:
    """SPARQL JSON results as rows of rdflib terms.

    Decimals are brought to one lexical form (:func:`mckg.build.graphs.canonical_decimal`): stores
    that keep values, not lexical forms (Oxigraph, Virtuoso), write ``130000000`` for the
    data's ``130000000.0`` — the same number, which is what the questions ask for.
    """
    payload = json.loads(body)
    return [{name: canonical_decimal(from_json(term)) for name, term in row.items()}
            for row in payload["results"]["bindings"]]


def cli_answers(store_url: str) -> Answers:
    """Answers from ``mckg query QUERY --store STORE_URL --format json`` (in process)."""

    def answers(name_or_text: str) -> list[Row]:
        result = CliRunner().invoke(main, ["query", name_or_text, "--store", store_url,
                                           "--format", "json"])
        assert result.exit_code == 0, result.output
        return json_rows(result.stdout_bytes)

    return answers


@pytest.fixture(scope="module")
def memory_store(kg: KnowledgeGraph) -> Iterator[MemoryStore]:
    """The built graph loaded into a memory store (as ``provision`` does, without rebuilding)."""
    store = MemoryStore()
    store.load_dataset(kg.dataset)
    yield store
    store.close()


@pytest.fixture(params=["memory", "oxigraph"])
def answers(request: pytest.FixtureRequest, settings: Settings) -> Answers:
    """The competency queries answered by the memory store and the on-disk Oxigraph store."""
    if request.param == "memory":
        store = request.getfixturevalue("memory_store")

        def from_memory(name_or_text: str) -> list[Row]:
            _, answer = query_store(store, settings, text_of(name_or_text))
            return json_rows(answer.body)

        return from_memory
    return cli_answers(request.getfixturevalue("shipped_oxigraph"))  # conftest: loaded once


def local(term: object) -> str:
    return str(term).removeprefix(ID)


def test_every_question_has_a_query_with_its_question():
    names = [q.name for q in queries.examples()]
    assert names == [f"cq{n:02d}" for n in range(1, 13)]
    for q in queries.examples():
        assert q.meta["question"].endswith("?"), q.name
        assert q.meta["answer"], q.name


def check_cq01_only_spain_has_a_specific_policy(answers: Answers) -> None:
    result = answers("cq01")
    assert {local(r["jurisdiction"]) for r in result} == {"country/ES"}
    assert {local(r["instrument"]) for r in result} == {"programme/plan-microcreds"}
    assert {local(r["wave"]) for r in result} == {"survey/mce-partner-survey-w1"}


def check_cq02_spain_specific_portugal_broader(answers: Answers) -> None:
    result = {local(r["jurisdiction"]): r for r in answers("cq02")}
    assert set(result) == {"country/ES", "country/PT"}
    assert str(result["country/ES"]["kind"]).endswith("/specific-policy")
    assert str(result["country/PT"]["kind"]).endswith("/within-broader-policy")
    assert "Plan Microcreds" in str(result["country/ES"]["instruments"])
    assert "Adult Impulse" in str(result["country/PT"]["instruments"])


def check_cq03_budgets_largest_first(answers: Answers) -> None:
    result = answers("cq03")
    got = [(local(r["programme"]), local(r["jurisdiction"]), r["amount"]) for r in result]
    assert got == [
        ("programme/pt-adult-impulse", "country/PT", Literal(Decimal("130000000.0"))),
        ("programme/vlg-advancement-fund", "region/BE-VLG", Literal(Decimal("60000000.0"))),
        ("programme/plan-microcreds", "country/ES", Literal(Decimal("50000000.0"))),
    ]
    flanders = result[1]
    assert str(flanders["countryName"]) == "Belgium"
    assert "2021-22" in str(flanders["period"]) and "2022-23" in str(flanders["period"])
    assert all(str(r["currency"]).endswith("/currency/EUR") for r in result)


def check_cq04_ten_wave_one_institutions(answers: Answers) -> None:
    got = {(str(r["name"]), str(r["code"])) for r in answers("cq04")}
    assert got == {
        ("FernUniversität in Hagen", "DE"),
        ("Hellenic Open University", "GR"),
        ("International Telematic University UNINETTUNO", "IT"),
        ("Kaunas University of Technology", "LT"),
        ("KU Leuven", "BE-VLG"),
        ("Open Universiteit", "NL"),
        ("Open University of Cyprus", "CY"),
        ("Universidad Nacional de Educación a Distancia", "ES"),
        ("Universidade Aberta", "PT"),
        ("Universitat Oberta de Catalunya", "ES"),
    }


def check_cq05_three_national_portals_per_oecd(answers: Answers) -> None:
    result = {local(r["country"]): r for r in answers("cq05")}
    assert set(result) == {"country/IE", "country/FI", "country/DE"}
    assert str(result["country/IE"]["participation"]) == "Required by funding agreements"
    assert result["country/IE"]["exclusive"] == Literal(True)
    assert str(result["country/FI"]["participation"]) == "Voluntary"
    assert str(result["country/DE"]["participation"]) == "Voluntary"
    assert "formal education" in str(result["country/FI"]["coverage"]).lower()
    assert "further-education" in str(result["country/DE"]["coverage"]).lower()
    assert "Guidance for adult learners" in str(result["country/DE"]["content"])
    assert "Definition of micro-credentials" in str(result["country/IE"]["content"])


def check_cq06_partner_portal_answers(answers: Answers) -> None:
    result = answers("cq06")
    status: dict[str, set[str]] = {}
    for r in result:
        status.setdefault(local(r["jurisdiction"]), set()).add(str(r["status"]).rsplit("/", 1)[1])
    assert status == {
        "country/NL": {"none-experimenting"},
        "country/ES": {"none-provided-in-law"},
        "country/PT": {"none-no-plans"},
        "region/BE-VLG": {"none-no-plans"},
        "country/LT": {"none-no-plans"},
        "country/CY": {"none-no-plans"},
        "country/DE": {"none-no-plans"},
        "country/GR": {"none-no-plans"},
        "country/IT": {"none-no-plans", "observatory-committed"},
    }
    related = {(local(r["jurisdiction"]), local(r["related"])) for r in result if r.get("related")}
    assert ("country/NL", "portal/nl-edubadges") in related
    assert ("country/IT", "body/it-mc-observatory") in related


def check_cq07_lifelong_learning_frames(answers: Answers) -> None:
    got = {local(r["jurisdiction"]): str(r["frame"]).rsplit("/", 1)[1]
           for r in answers("cq07")}
    assert got == {
        "country/ES": "specific-mc-policy",
        "region/BE-VLG": "policy",
        "country/PT": "policy",
        "country/LT": "strategic-guidelines",
        "country/CY": "strategic-guidelines",
        "country/DE": "none",
        "country/NL": "none",
        "country/GR": "none",
        "country/IT": "not-formally-recognised",
    }


def check_cq08_spanish_limit_is_under_15_ects(answers: Answers) -> None:
    result = answers("cq08")
    assert len(result) == 1
    assert result[0]["ectsMaxExclusive"] == Literal(Decimal("15.0"))
    assert result[0].get("ectsMaxInclusive") is None
    assert local(result[0]["definedIn"]) == "programme/plan-microcreds"


def check_cq09_four_enqa_approaches(answers: Answers) -> None:
    result = {local(r["jurisdiction"]): r for r in answers("cq09")}
    assert set(result) == {"region/ES-CT", "country/EE", "country/IE", "country/GB"}
    assert str(result["region/ES-CT"]["agencyName"]) == "AQU Catalunya"
    assert str(result["region/ES-CT"]["since"]) == "2021"
    assert "bachelor" in str(result["region/ES-CT"]["scope"]).lower()
    assert str(result["country/EE"]["agencyName"]) == "HAKA"
    assert str(result["country/EE"]["since"]) == "2022"
    assert "non-formal" in str(result["country/EE"]["scope"]).lower()
    assert str(result["country/IE"]["agencyName"]) == "QQI"
    assert result["country/IE"].get("since") is None
    assert "pandemic" in str(result["country/IE"]["sinceLabel"]).lower()
    assert str(result["country/IE"]["stageLabel"]) == "Standard practice"
    assert result["country/GB"].get("agency") is None


def check_cq10_no_external_accreditation(answers: Answers) -> None:
    got = {local(r["jurisdiction"]): str(r["status"]).rsplit("/", 1)[1]
           for r in answers("cq10")}
    assert got == {
        "country/LT": "no-external-accreditation",
        "country/CY": "no-external-accreditation",
        "country/GR": "no-external-accreditation",
        "country/IT": "no-external-accreditation",
        "country/NL": "programme-level-only",
    }


def check_cq11_plan_microcreds_budget_provenance(answers: Answers) -> None:
    result = answers("cq11")
    assert len(result) == 1
    r = result[0]
    assert local(r["document"]) == "source/mce-rr6-1"
    assert str(r["sectionNumber"]) == "3"
    assert r["footnoteNumber"].toPython() == 1
    assert r["footnoteAddress"] == URIRef(
        "https://www.universidades.gob.es/wp-content/uploads/2023/10/DOC-planmicrocreds_SIN-MARCAS.pdf")
    assert local(r["wave"]) == "survey/mce-partner-survey-w1"


def check_cq11_works_for_other_facts(answers: Answers) -> None:
    for fact in ("amount:pt-adult-impulse-budget", "finding:de-portal-oecd-2023b",
                 "finding:lt-lll-frame-w1"):
        text = queries.get("cq11").text.replace("amount:plan-microcreds-budget", fact).replace(
            "PREFIX amount:", "PREFIX finding: <https://w3id.org/mckg/id/finding/>\nPREFIX amount:")
        result = answers(text)
        assert result, fact
        assert all(row.get("sectionNumber") is not None and row.get("credited") is not None
                   for row in result), fact


def check_cq12_council_recommendation_dates(answers: Answers) -> None:
    result = answers("cq12")
    assert len(result) == 1
    assert result[0]["adopted"] == Literal("2022-06-16", datatype=URIRef(
        "http://www.w3.org/2001/XMLSchema#date"))
    assert str(result[0]["reportBy"]) == "2023-12"
    assert str(result[0]["issuer"]) == "Council of the European Union"


#: Every check, by name: what ``tests/test_virtuoso.py`` runs against Virtuoso too.
CHECKS: dict[str, Callable[[Answers], None]] = {
    name.removeprefix("check_"): check for name, check in sorted(globals().items())
    if name.startswith("check_cq") and callable(check)
}


def test_every_competency_query_is_checked() -> None:
    assert {name[:4] for name in CHECKS} == {q.name for q in queries.examples()}


@pytest.mark.parametrize("check", list(CHECKS))
def test_competency_answers(answers: Answers, check: str) -> None:
    CHECKS[check](answers)
