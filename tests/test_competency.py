"""Each competency question's stored query gives the answer the report supports.

The expected answers restate ``docs/competency-questions.md``; the queries come from ``queries/``
and run on the built graph exactly as a user would run them.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from rdflib import Literal, URIRef

from mckg import queries
from mckg.run import run_query

ID = "https://w3id.org/mckg/id/"


def rows(kg, settings, name: str) -> list[dict[str, object]]:
    result = run_query(kg, queries.get(name).text, settings=settings)
    return [{str(k): v for k, v in row.asdict().items()} for row in result]


def local(term: object) -> str:
    return str(term).removeprefix(ID)


def test_every_question_has_a_query_with_its_question():
    names = [q.name for q in queries.examples()]
    assert names == [f"cq{n:02d}" for n in range(1, 13)]
    for q in queries.examples():
        assert q.meta["question"].endswith("?"), q.name
        assert q.meta["answer"], q.name


def test_cq01_only_spain_has_a_specific_policy(kg, settings):
    result = rows(kg, settings, "cq01")
    assert {local(r["jurisdiction"]) for r in result} == {"country/ES"}
    assert {local(r["instrument"]) for r in result} == {"programme/plan-microcreds"}
    assert {local(r["wave"]) for r in result} == {"survey/mce-partner-survey-w1"}


def test_cq02_spain_specific_portugal_broader(kg, settings):
    result = {local(r["jurisdiction"]): r for r in rows(kg, settings, "cq02")}
    assert set(result) == {"country/ES", "country/PT"}
    assert str(result["country/ES"]["kind"]).endswith("/specific-policy")
    assert str(result["country/PT"]["kind"]).endswith("/within-broader-policy")
    assert "Plan Microcreds" in str(result["country/ES"]["instruments"])
    assert "Adult Impulse" in str(result["country/PT"]["instruments"])


def test_cq03_budgets_largest_first(kg, settings):
    result = rows(kg, settings, "cq03")
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


def test_cq04_ten_wave_one_institutions(kg, settings):
    got = {(str(r["name"]), str(r["code"])) for r in rows(kg, settings, "cq04")}
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


def test_cq05_three_national_portals_per_oecd(kg, settings):
    result = {local(r["country"]): r for r in rows(kg, settings, "cq05")}
    assert set(result) == {"country/IE", "country/FI", "country/DE"}
    assert str(result["country/IE"]["participation"]) == "Required by funding agreements"
    assert result["country/IE"]["exclusive"] == Literal(True)
    assert str(result["country/FI"]["participation"]) == "Voluntary"
    assert str(result["country/DE"]["participation"]) == "Voluntary"
    assert "formal education" in str(result["country/FI"]["coverage"]).lower()
    assert "further-education" in str(result["country/DE"]["coverage"]).lower()
    assert "Guidance for adult learners" in str(result["country/DE"]["content"])
    assert "Definition of micro-credentials" in str(result["country/IE"]["content"])


def test_cq06_partner_portal_answers(kg, settings):
    result = rows(kg, settings, "cq06")
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


def test_cq07_lifelong_learning_frames(kg, settings):
    got = {local(r["jurisdiction"]): str(r["frame"]).rsplit("/", 1)[1]
           for r in rows(kg, settings, "cq07")}
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


def test_cq08_spanish_limit_is_under_15_ects(kg, settings):
    result = rows(kg, settings, "cq08")
    assert len(result) == 1
    assert result[0]["ectsMaxExclusive"] == Literal(Decimal("15.0"))
    assert result[0].get("ectsMaxInclusive") is None
    assert local(result[0]["definedIn"]) == "programme/plan-microcreds"


def test_cq09_four_enqa_approaches(kg, settings):
    result = {local(r["jurisdiction"]): r for r in rows(kg, settings, "cq09")}
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


def test_cq10_no_external_accreditation(kg, settings):
    got = {local(r["jurisdiction"]): str(r["status"]).rsplit("/", 1)[1]
           for r in rows(kg, settings, "cq10")}
    assert got == {
        "country/LT": "no-external-accreditation",
        "country/CY": "no-external-accreditation",
        "country/GR": "no-external-accreditation",
        "country/IT": "no-external-accreditation",
        "country/NL": "programme-level-only",
    }


def test_cq11_plan_microcreds_budget_provenance(kg, settings):
    result = rows(kg, settings, "cq11")
    assert len(result) == 1
    r = result[0]
    assert local(r["document"]) == "source/mce-rr6-1"
    assert str(r["sectionNumber"]) == "3"
    assert r["footnoteNumber"].toPython() == 1
    assert r["footnoteAddress"] == URIRef(
        "https://www.universidades.gob.es/wp-content/uploads/2023/10/DOC-planmicrocreds_SIN-MARCAS.pdf")
    assert local(r["wave"]) == "survey/mce-partner-survey-w1"


@pytest.mark.parametrize("fact", ["amount:pt-adult-impulse-budget", "finding:de-portal-oecd-2023b",
                                  "finding:lt-lll-frame-w1"])
def test_cq11_works_for_other_facts(kg, settings, fact):
    text = queries.get("cq11").text.replace("amount:plan-microcreds-budget", fact).replace(
        "PREFIX amount:", "PREFIX finding: <https://w3id.org/mckg/id/finding/>\nPREFIX amount:")
    result = list(run_query(kg, text, settings=settings))
    assert result, fact
    assert all(row.sectionNumber is not None and row.credited is not None for row in result)


def test_cq12_council_recommendation_dates(kg, settings):
    result = rows(kg, settings, "cq12")
    assert len(result) == 1
    assert result[0]["adopted"] == Literal("2022-06-16", datatype=URIRef(
        "http://www.w3.org/2001/XMLSchema#date"))
    assert str(result[0]["reportBy"]) == "2023-12"
    assert str(result[0]["issuer"]) == "Council of the European Union"
