"""The micro-credential checker: the library on a store holding the graph, and
``mckg check-credential`` as a user runs it (issue 9, "Done when").

The profiles are generated from the graph's facts, so these tests also hold that a changed fact
changes the check. The examples in ``examples/credentials/`` are the fixtures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from mckg.config import Settings
from mckg.credentials import CredentialError, ProfileError, Rules, check_credential, read_credential
from mckg.linked.runner import ServiceRunner
from mckg.query.service import QueryService
from mckg.store import Store
from mckg.store.provision import provision

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "credentials"
GOOD = EXAMPLES / "annex1-description.json"
CLI = [sys.executable, "-c", "from mckg.cli import main; main()"]
ID = "https://w3id.org/mckg/id/"
EU_DEFINITION = ID + "definition/eu-council-rec-2022"
ES_DEFINITION = ID + "definition/es-university-mc"
MCEL = "https://w3id.org/mckg/vocab/mc-element/"
ANNEX_I_MANDATORY = {
    "learner-identification": "identification of the learner",
    "title": "title of the micro-credential",
    "issuer-country": "country or region of the issuer",
    "awarding-body": "awarding body",
    "date-of-issue": "date of issuing",
    "learning-outcomes": "learning outcomes",
    "workload": "notional workload",
    "level": "level (eqf/nqf)",
    "assessment": "type of assessment",
    "participation-form": "form of participation",
    "quality-assurance": "type of quality assurance",
}


def rules_for(store: Store) -> Rules:
    settings = Settings()
    return Rules(ServiceRunner(QueryService.inline(settings, store), settings.base))


@pytest.fixture(scope="module")
def rules() -> Iterator[Rules]:
    store, _ = provision(Settings(), "memory")
    yield rules_for(store)
    store.close()


def check(rules: Rules, document: dict[str, object], country: str | None = None):  # type: ignore[no-untyped-def]
    text = json.dumps(document, indent=1).encode("utf-8")
    return check_credential(read_credential(text, "description.json", rules), rules, country=country)


def verdict(result, profile: str):  # type: ignore[no-untyped-def]
    return next(v for v in result.verdicts if v.profile == profile)


def test_profiles_come_from_the_definitions(rules: Rules) -> None:
    profiles = {p.iri: p for p in rules.profiles}
    assert list(profiles)[:1] == [EU_DEFINITION]
    assert ES_DEFINITION in profiles
    spain = profiles[ES_DEFINITION]
    assert (spain.code, spain.part, spain.instrument_label) == ("ES", "3", "Plan Microcreds")
    assert spain.eu_authority == "http://publications.europa.eu/resource/authority/country/ESP"
    eu = profiles[EU_DEFINITION]
    assert eu.instrument == ID + "policy/council-rec-2022" and eu.part == "1"
    assert {e.notation for e in rules.required(eu)} == set(ANNEX_I_MANDATORY)


def test_the_good_description_meets_the_eu_and_spain(rules: Rules) -> None:
    result = check(rules, json.loads(GOOD.read_text()))
    assert [v.profile for v in result.verdicts] == [EU_DEFINITION, ES_DEFINITION]  # ES: the awarding country
    assert result.conforms
    # Annex I's optional elements the description leaves out are reported, for information
    eu = verdict(result, EU_DEFINITION)
    assert {(f.element, f.severity) for f in eu.findings} == {
        (MCEL + n, "Info") for n in ("prerequisites", "supervision-identity", "grade",
                                     "stackability", "further-information")}
    assert all("the credential may also state" in f.message for f in eu.findings)
    spain = verdict(result, ES_DEFINITION)
    assert spain.not_checked == ["Required elements of the certificate: no ELM property carries it, "
                                 "so no credential can show it"]


@pytest.mark.parametrize("notation", sorted(ANNEX_I_MANDATORY))
def test_each_annex_i_element_removed_fails_that_element(rules: Rules, notation: str) -> None:
    document = json.loads(GOOD.read_text())
    del document[notation]
    eu = verdict(check(rules, document), EU_DEFINITION)
    assert not eu.conforms
    violations = [f for f in eu.findings if f.severity == "Violation"]
    assert [f.element for f in violations] == [MCEL + notation]
    message = violations[0].message
    assert message.startswith("European Union (Council Recommendation on a European approach to "
                              "micro-credentials for lifelong learning and employability, report §1, "
                              f"fact {EU_DEFINITION}): the credential does not state ")
    assert ANNEX_I_MANDATORY[notation] in message.lower()
    assert violations[0].expected and "stated (ELM " in violations[0].expected


def test_18_ects_fails_spain_and_passes_the_eu(rules: Rules) -> None:
    result = check(rules, json.loads((EXAMPLES / "annex1-description-18ects.json").read_text()))
    assert verdict(result, EU_DEFINITION).conforms
    spain = verdict(result, ES_DEFINITION)
    assert not spain.conforms
    assert [(f.element, f.value, f.expected) for f in spain.findings] == [
        (MCEL + "workload", "18", "a workload under 15 ECTS")]
    assert spain.findings[0].message == (
        f"Spain (Plan Microcreds, report §3, fact {ES_DEFINITION}): workload 18 ECTS is not under 15")


@pytest.mark.parametrize(("workload", "conforms"), [(14.5, True), (15, False), (0.5, True)])
def test_the_bound_is_exclusive(rules: Rules, workload: float, conforms: bool) -> None:
    document = dict(json.loads(GOOD.read_text()), workload=workload)
    assert verdict(check(rules, document), ES_DEFINITION).conforms is conforms


def test_a_changed_fact_changes_the_check() -> None:
    """Spain's bound raised to 20 and an element added: the next check follows the data."""
    store, _ = provision(Settings(), "memory")
    try:
        long = json.loads((EXAMPLES / "annex1-description-18ects.json").read_text())
        assert not verdict(check(rules_for(store), long), ES_DEFINITION).conforms
        # the data graph and the store's merged default graph, as a rebuild would leave them
        store.update(f"""
            PREFIX mckg: <https://w3id.org/mckg/def#>
            DELETE {{ GRAPH ?g {{ <{ES_DEFINITION}> mckg:ectsMaxExclusive ?bound }} }}
            INSERT {{ GRAPH ?g {{ <{ES_DEFINITION}> mckg:ectsMaxExclusive 20.0 ;
                                   mckg:requiresElement <{MCEL}grade> }} }}
            WHERE {{ GRAPH ?g {{ <{ES_DEFINITION}> mckg:ectsMaxExclusive ?bound }} }} ;
            DELETE {{ <{ES_DEFINITION}> mckg:ectsMaxExclusive ?bound }}
            INSERT {{ <{ES_DEFINITION}> mckg:ectsMaxExclusive 20.0 ;
                         mckg:requiresElement <{MCEL}grade> }}
            WHERE {{ <{ES_DEFINITION}> mckg:ectsMaxExclusive ?bound }}""")
        spain = verdict(check(rules_for(store), long), ES_DEFINITION)
        assert [f.element for f in spain.findings] == [MCEL + "grade"]  # 18 < 20 now
        assert "does not state grade achieved" in spain.findings[0].message
    finally:
        store.close()


def test_country_selection(rules: Rules) -> None:
    document = json.loads((EXAMPLES / "missing-elements.json").read_text())
    document["issuer-country"] = "PT"  # Portugal: no definition with requirements
    assert [v.profile for v in check(rules, document).verdicts] == [EU_DEFINITION]
    assert [v.profile for v in check(rules, document, "es").verdicts] == [EU_DEFINITION, ES_DEFINITION]
    assert len(check(rules, document, "all").verdicts) == len(rules.profiles)
    with pytest.raises(ProfileError, match=r"no profile for 'DE'.*ES, EU"):
        check(rules, document, "DE")


@pytest.mark.parametrize(("document", "expected"), [
    ({"workload": "five"}, "'workload' must be a number of ECTS credits"),
    ({"workload": -3}, "must be a positive number"),
    ({"level": 9}, "'level' must be an EQF level 1-8"),
    ({"issuer-country": "XX"}, "is not a country code the graph knows"),
    ({"certificate-elements": "all"}, "has no ELM property"),
    ({"learning-outcomes": []}, "an empty list states nothing"),
    ({"title": {"en": "nested"}}, "'title' must be text, an IRI or a list of them"),
    ({"id": "not an iri"}, "'id' must be an IRI"),
])
def test_bad_descriptions_are_refused_with_their_line(rules: Rules, document: dict[str, object],
                                                      expected: str) -> None:
    text = json.dumps({"title": "A title", **document}, indent=1).encode("utf-8")
    with pytest.raises(CredentialError) as caught:
        read_credential(text, "bad.json", rules)
    assert str(caught.value).startswith("bad.json:") and expected in str(caught.value)
    key = next(iter(document))
    assert str(caught.value).startswith(f"bad.json:{3 if key != 'title' else 2}:")


# ---- the command line ---------------------------------------------------------------------

def run(store: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "check-credential", *args, "--store", store], capture_output=True,
                          text=True, timeout=300, check=False)


def test_cli_reads_the_official_annex_i_sample_as_the_official_shapes_do(shipped_oxigraph: str) -> None:
    done = run(shipped_oxigraph, str(EXAMPLES / "europass-annex1-sample.jsonld"), "--format", "json")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["triples"] == 292 and result["kind"] == "rdf"
    edc = next(v for v in result["verdicts"] if v["profile"].endswith("edc-generic-full"))
    assert not edc["conforms"]
    assert sorted((f["path"], f["focus"]) for f in edc["findings"]) == [
        ("cred:issued", "urn:credential:3ef0ac26-9a1f-41c6-871b-2b82e670907b"),
        ("cred:issuer", "urn:credential:3ef0ac26-9a1f-41c6-871b-2b82e670907b")]
    issuer = next(f for f in edc["findings"] if f["path"] == "cred:issuer")
    assert "eidasLegalIdentifier" in issuer["message"]
    # Annex I: the sample lacks the date of issue (added at signing) and any accreditation
    eu = next(v for v in result["verdicts"] if v["profile"] == EU_DEFINITION)
    assert eu["section"] == "https://w3id.org/mckg/id/source/mce-rr6-1/s1"
    assert ID + "source/council-rec-2022" in eu["reported_by"]
    assert sorted((f["element"], f["severity"]) for f in eu["findings"]) == [
        (MCEL + "date-of-issue", "Violation"), (MCEL + "further-information", "Info"),
        (MCEL + "quality-assurance", "Violation")]


def test_cli_text_and_exit_codes(shipped_oxigraph: str) -> None:
    good = run(shipped_oxigraph, str(GOOD))
    assert good.returncode == 0, good.stderr
    assert "EU: micro-credential under the 2022 Council Recommendation" in good.stdout
    assert "Spain: definition of a university micro-credential [Plan Microcreds, report §3" in good.stdout
    long = run(shipped_oxigraph, str(EXAMPLES / "annex1-description-18ects.json"))
    assert long.returncode == 1
    assert "workload 18 ECTS is not under 15" in long.stdout


def test_elm_out_reads_back_to_the_same_graph(shipped_oxigraph: str, tmp_path: Path) -> None:
    out = tmp_path / "credential.jsonld"
    done = run(shipped_oxigraph, str(GOOD), "--elm-out", str(out))
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    assert document["@context"] == ["https://www.w3.org/2018/credentials/v1",
                                    "http://data.europa.eu/snb/model/context/edc-ap"]
    again = run(shipped_oxigraph, str(out), "--no-edc")
    assert again.returncode == 0, again.stdout + again.stderr
    from mckg.rdf.files import read_file
    store, _ = provision(Settings(), "memory")
    try:
        rules = rules_for(store)
        original = read_credential(GOOD.read_bytes(), str(GOOD), rules).graph
    finally:
        store.close()
    assert isomorphic(read_file(out, into=Graph()), original)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("broken.json", '{\n  "title": "x",\n  "workload": 5,,\n}', "broken.json:3: invalid JSON"),
    ("broken.ttl", "@prefix ex: <http://example.org/> .\nex:a ex:b .\n", "broken.ttl:2:"),
    ("unknown.json", (EXAMPLES / "bad-unknown-element.json").read_text(),
     "unknown.json:4: unknown element 'learning-outcome'"),
    ("remote.jsonld", '{\n "@context": "https://example.org/ctx.jsonld",\n "@id": "urn:x"\n}',
     "remote.jsonld:2: remote JSON-LD context 'https://example.org/ctx.jsonld' is not fetched"),
    ("nothing.ttl", "<urn:a> <urn:b> <urn:c> .\n", "no credential found"),
    ("empty.json", "", "empty.json: the file is empty"),
])
def test_cli_bad_files_name_the_line_and_never_a_traceback(shipped_oxigraph: str, tmp_path: Path,
                                                           name: str, content: str,
                                                           expected: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    done = run(shipped_oxigraph, str(path))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert expected in done.stderr and str(path) in done.stderr
    assert done.stdout == ""


def test_cli_prints_the_generated_profiles(shipped_oxigraph: str) -> None:
    done = subprocess.run([*CLI, "credential-profiles", "--store", shipped_oxigraph],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    shapes = Graph().parse(data=done.stdout, format="turtle")
    sh = "http://www.w3.org/ns/shacl#"
    from rdflib import URIRef
    node_shapes = set(shapes.subjects(URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                                      URIRef(sh + "NodeShape")))
    assert {str(s) for s in node_shapes} == {EU_DEFINITION + "#profile", ES_DEFINITION + "#profile"}
    rule = URIRef(ES_DEFINITION + "#ects-max-exclusive")
    assert "< 15)" in str(shapes.value(rule, URIRef(sh + "select")))
    assert str(shapes.value(rule, URIRef("http://purl.org/dc/terms/source"))) == ES_DEFINITION
    unknown = subprocess.run([*CLI, "credential-profiles", "--country", "DE", "--store",
                              shipped_oxigraph], capture_output=True, text=True, timeout=300,
                             check=False)
    assert unknown.returncode == 2 and "no profile for 'DE'" in unknown.stderr


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "deep.json: the JSON nests too deeply"),
    ("big.nt", b"".join(b'<urn:s%d> <urn:p> "x" .\n' % i for i in range(20_001)),
     "big.nt: 20,001 triples: more than a credential"),
])
def test_inputs_that_are_not_credentials_are_refused_before_validation(
        rules: Rules, name: str, data: bytes, expected: str) -> None:
    with pytest.raises(CredentialError, match=expected):
        read_credential(data, name, rules)
