"""``mckg diff`` and ``/waves/diff``: what changed between two survey waves (issue 10).

The fictional second wave (tests/data/survey/README.md) plants nine changes against the
curated first wave; the command line (table, CSV, RDF), the page, its CSV, the stored query at
the SPARQL endpoint and :func:`mckg.survey.diff.changed_cells` must each find exactly those.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result
from rdflib import RDF, Graph, URIRef
from serving import ServerProcess, start_server

from mckg.cli import main
from mckg.config import Settings
from mckg.linked.runner import prepare
from mckg.query.service import QueryService
from mckg.query.stored import get as stored_query
from mckg.resources import resource_dir
from mckg.store import open_store
from mckg.survey.diff import CS, changed_cells

FIXTURES = Path(__file__).parent / "data" / "survey"
BASE = Settings().base
C, R = f"{BASE}id/country/", f"{BASE}id/region/"

#: The changes planted in wave-2-fictional.csv, and nothing else.
PLANTED = {
    (f"{C}PT", "mc-policy", "changed"),       # within a broader policy → specific policy
    (f"{C}DE", "portal", "changed"),          # no portal, no plans → national portal
    (f"{C}DE", "accreditation", "added"),     # no answer → no external accreditation
    (f"{C}DE", "qa-role", "added"),           # no answer → no role
    (f"{C}IT", "portal", "changed"),          # the "no portal, no plans" half dropped
    (f"{C}NL", "remarks", "added"),           # a remark
    (f"{R}BE-VLG", "funding", "removed"),     # the Advancement Fund no longer reported
    (f"{C}ES", "funding", "changed"),         # Plan Microcreds: 50 → 55 million
    (f"{C}LT", "lll", "changed"),             # strategic guidelines → policy
}


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A persistent store with the shipped graph (wave 1 curated) and the fictional wave 2."""
    url = f"oxigraph:{tmp_path_factory.mktemp('waves') / 'store'}"
    result = cli("ingest", "survey", str(FIXTURES / "wave-2-fictional.csv"), "--wave", "w2",
                 "--store", url)
    assert result.exit_code == 0, result.output
    return url


def csv_cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_cli_diff_lists_exactly_the_planted_changes(store_url: str) -> None:
    result = cli("diff", "--from", "w1", "--to", "w2", "--format", "csv", "--store", store_url)
    assert result.exit_code == 0, result.output
    rows = csv_cells(result.stdout)
    assert {(r["jurisdiction"], r["dimension"], r["change"]) for r in rows} == PLANTED
    assert len(rows) == len(PLANTED)
    by_cell = {(r["jurisdiction"], r["dimension"]): r for r in rows}
    portal = by_cell[(f"{C}DE", "portal")]
    assert portal["from_labels"] == "No portal and no plans"
    assert portal["from_sources"] == f"{BASE}id/finding/de-portal-w1"  # the curated finding
    assert portal["to_labels"] == "National portal in place"
    assert portal["to_sources"] == f"{BASE}id/finding/de-portal-national-portal-w2"
    funding = by_cell[(f"{C}ES", "funding")]
    assert (funding["from_labels"], funding["to_labels"]) == (
        "Plan Microcreds: EUR 50000000", "Plan Microcreds: EUR 55000000")
    italy = by_cell[(f"{C}IT", "portal")]
    assert set(italy["from_labels"].split(" | ")) == {"No portal and no plans",
                                                       "Observatory committed"}
    assert italy["to_labels"] == "Observatory committed"
    assert by_cell[(f"{C}NL", "remarks")]["to_labels"].startswith("FICTIONAL")


def test_cli_diff_table_and_change_set(store_url: str) -> None:
    table = cli("diff", "--from", "1", "--to", "w2", "--store", store_url)
    assert table.exit_code == 0, table.output
    assert re.search(r"Germany\s+\| portal\s+\| changed\s+\| No portal and no plans\s+\| "
                     r"National portal in place", table.stdout)
    assert "(9 rows)" in table.stdout
    rdf = cli("diff", "--from", "w1", "--to", "w2", "--format", "turtle", "--store", store_url)
    assert rdf.exit_code == 0, rdf.output
    graph = Graph().parse(data=rdf.stdout, format="turtle")
    changeset = URIRef(f"{BASE}id/changeset/w1-w2")
    assert (changeset, RDF.type, CS.ChangeSet) in graph
    removals = set(graph.objects(changeset, CS.removal))
    additions = set(graph.objects(changeset, CS.addition))
    assert (len(removals), len(additions)) == (7, 8)  # Italy's portal drops one of two values
    cells = {(str(graph.value(n, RDF.subject)), str(graph.value(n, URIRef(
        "http://purl.org/dc/terms/type")))) for n in removals | additions}
    assert cells == {(j, d) for j, d, _ in PLANTED}


def test_same_wave_has_no_changes_and_unknown_wave_is_refused(store_url: str) -> None:
    same = cli("diff", "--from", "w2", "--to", "w2", "--format", "csv", "--store", store_url)
    assert same.exit_code == 0, same.output
    assert csv_cells(same.stdout) == []
    unknown = cli("diff", "--from", "w1", "--to", "w7", "--store", store_url)
    assert unknown.exit_code == 2
    assert "no survey wave 'w7'; known waves: w1, w2" in unknown.output


def test_a_wave_without_data_says_so() -> None:
    result = cli("diff", "--from", "w1", "--to", "w2", "--format", "csv", "--store", "memory")
    assert result.exit_code == 0, result.output
    assert "note: no data for MCE partner survey, wave 2" in result.stderr
    rows = csv_cells(result.stdout)
    assert rows and {r["change"] for r in rows} == {"removed"}
    assert {r["to_values"] for r in rows} == {""}


def test_changed_cells_for_the_comparison_marker(store_url: str) -> None:
    with open_store(store_url, read_only=True) as store:
        service = QueryService.inline(Settings(), store)
        assert changed_cells(service, BASE, "w2") == {(j, d) for j, d, _ in PLANTED}
        assert changed_cells(service, BASE, "w1") == set()  # the first wave has no previous


@pytest.fixture(scope="module")
def wave_server(store_url: str,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``mckg serve`` on the store the command line ingested into (read-only, as deployed)."""
    proc = start_server(["serve", "--port", "0", "--store", store_url],
                        workdir=tmp_path_factory.mktemp("waves-server"))
    yield proc
    proc.stop()


def test_page_lists_the_planted_changes_with_both_values(wave_server: ServerProcess) -> None:
    response = requests.get(wave_server.url + "waves/diff", params={"from": "w1", "to": "w2"},
                            timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    html = response.text
    rows = set(re.findall(r'<tr class="(added|removed|changed)" data-jurisdiction="([^"]+)" '
                          r'data-dimension="([^"]+)"', html))
    assert {(j, d, c) for c, j, d in rows} == PLANTED
    assert '<a href="/id/finding/de-portal-w1">No portal and no plans</a>' in html
    assert ('<a href="/id/finding/de-portal-national-portal-w2">National portal in place</a>'
            in html)
    # without parameters: the latest wave against the one before
    default = requests.get(wave_server.url + "waves/diff", timeout=30)
    assert default.status_code == 200 and "9 changed answers" in default.text


def test_page_csv_and_turtle_and_bad_wave(wave_server: ServerProcess) -> None:
    data = requests.get(wave_server.url + "waves/diff.csv", params={"from": "w1", "to": "w2"},
                        timeout=30)
    assert data.status_code == 200 and data.headers["Content-Type"].startswith("text/csv")
    assert {(r["jurisdiction"], r["dimension"], r["change"])
            for r in csv_cells(data.text)} == PLANTED
    turtle = requests.get(wave_server.url + "waves/diff.ttl", timeout=30)
    assert turtle.status_code == 200
    graph = Graph().parse(data=turtle.text, format="turtle")
    assert len(set(graph.subjects(RDF.type, RDF.Statement))) == 15
    bad = requests.get(wave_server.url + "waves/diff", params={"from": "w9"}, timeout=30)
    assert bad.status_code == 400
    assert "no survey wave 'w9'; known waves: w1, w2" in bad.text


def test_stored_query_answers_the_same_at_the_endpoint(wave_server: ServerProcess) -> None:
    text = prepare(stored_query("wave-diff").text, BASE, {
        "from": URIRef(f"{BASE}id/survey/mce-partner-survey-w1"),
        "to": URIRef(f"{BASE}id/survey/mce-partner-survey-w2")})
    response = requests.post(wave_server.sparql, data={"query": text},
                             headers={"Accept": "application/sparql-results+json"}, timeout=60)
    assert response.status_code == 200, response.text
    bindings = response.json()["results"]["bindings"]
    assert {(b["jurisdiction"]["value"], b["dimension"]["value"], b["change"]["value"])
            for b in bindings} == PLANTED


def test_ingest_while_a_server_reads_the_store_is_refused(wave_server: ServerProcess,
                                                          store_url: str) -> None:
    def state() -> tuple[int, dict[str, int]]:
        with open_store(store_url, read_only=True) as store:
            return store.triple_count(), store.counts()

    before = state()
    wave_1 = resource_dir("data") / "survey" / "wave-1.csv"
    result = cli("ingest", "survey", str(wave_1), "--wave", "w2", "--store", store_url)
    assert result.exit_code == 2
    assert "in use" in result.output
    assert state() == before
    # and the server still answers with the wave it had
    page = requests.get(wave_server.url + "waves/diff", timeout=30)
    assert "9 changed answers" in page.text


def test_page_says_when_a_wave_has_no_data_yet(server: ServerProcess) -> None:
    """The session's server holds the shipped graph only: wave 2 is scheduled, not ingested."""
    response = requests.get(server.url + "waves/diff", timeout=30)
    assert response.status_code == 200
    assert "No data for MCE partner survey, wave 2" in response.text
    rows = re.findall(r'<tr class="(added|removed|changed)"', response.text)
    assert rows and set(rows) == {"removed"}  # every wave-1 answer, none in wave 2 yet
