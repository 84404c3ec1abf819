"""``mckg ingest survey``: a form export becomes one survey wave's named graph (issue 10).

End to end through the command line on a persistent Oxigraph store: the first wave's export
reproduces the curated partner facts; each kind of bad export is refused with its row and
column and leaves the store byte for byte as it was; a re-ingest replaces the wave; a dry run
writes nothing. The second-wave export used here is fictional (tests/data/survey/README.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner, Result
from rdflib import URIRef

from mckg.cli import main
from mckg.config import Settings
from mckg.linked.runner import ServiceRunner
from mckg.query.service import QueryService
from mckg.resources import resource_dir
from mckg.store import open_store
from mckg.survey.mapping import load_mapping
from mckg.survey.matching import Vocabulary, normalise

FIXTURES = Path(__file__).parent / "data" / "survey"
WAVE_1 = resource_dir("data") / "survey" / "wave-1.csv"
WAVE_2 = FIXTURES / "wave-2-fictional.csv"
BASE = Settings().base
W1 = f"{BASE}id/survey/mce-partner-survey-w1"
W2 = f"{BASE}id/survey/mce-partner-survey-w2"
GRAPH_W1 = f"{BASE}graph/wave/w1"
GRAPH_W2 = f"{BASE}graph/wave/w2"


def ingest(url: str, export: Path, wave: str, *extra: str) -> Result:
    """``mckg ingest survey EXPORT --wave WAVE --store URL …`` in this process."""
    return CliRunner().invoke(main, ["ingest", "survey", str(export), "--wave", wave,
                                     "--store", url, *extra])


def snapshot(url: str) -> tuple[int, dict[str, int], str]:
    """The store's triple count, its triples per graph, and a hash of every quad it holds."""
    with open_store(url, read_only=True) as store:
        total, counts = store.triple_count(), store.counts()
        dump = store.native.dump(format=ox.RdfFormat.N_QUADS) or b""
    return total, counts, hashlib.sha256(b"\n".join(sorted(dump.splitlines()))).hexdigest()


def facts(url: str, wave: str) -> dict[str, set[tuple[str, str, str]]]:
    """(jurisdiction, dimension, value) of ``wave`` by the graph that holds them."""
    with open_store(url, read_only=True) as store:
        runner = ServiceRunner(QueryService.inline(Settings(), store), BASE)
        rows = runner.select("wave-facts", wave=URIRef(wave)).rows
    out: dict[str, set[tuple[str, str, str]]] = {}
    for row in rows:
        out.setdefault(str(row["graph"]), set()).add(
            (str(row["jurisdiction"]), str(row["dimension"]), str(row["value"])))
    return out


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A persistent store holding the shipped graph and the fictional wave 2."""
    url = f"oxigraph:{tmp_path_factory.mktemp('survey') / 'store'}"
    result = ingest(url, WAVE_2, "w2")
    assert result.exit_code == 0, result.output
    yield url


def test_first_wave_export_yields_the_curated_partner_facts(store_url: str) -> None:
    result = ingest(store_url, WAVE_1, "w1")
    assert result.exit_code == 0, result.output
    assert f"added <{GRAPH_W1}>: wave w1, 10 row(s)" in result.output
    by_graph = facts(store_url, W1)
    curated, ingested = by_graph[f"{BASE}graph/data"], by_graph[GRAPH_W1]
    assert ingested == curated
    # the cells the report describes for every Table 1 jurisdiction are there
    assert len({j for j, _, _ in curated}) == 9
    assert (f"{BASE}id/country/ES", "mc-policy", f"{BASE}vocab/mc-policy/specific-policy") \
        in ingested
    assert (f"{BASE}id/country/IT", "portal",
            f"{BASE}vocab/portal-status/observatory-committed") in ingested
    assert (f"{BASE}id/region/BE-VLG", "qa-agency", f"{BASE}id/body/nvao") in ingested


def test_ingested_findings_carry_row_level_provenance(store_url: str) -> None:
    result = CliRunner().invoke(main, [
        "query", "--store", store_url, "--format", "csv",
        "SELECT ?section ?title WHERE { GRAPH <" + GRAPH_W2 + "> { "
        "<" + BASE + "id/finding/es-mc-policy-specific-policy-w2> mckg:section ?section ; "
        "prov:wasDerivedFrom ?doc ; mckg:wave <" + W2 + "> . ?section dct:title ?title ; "
        "mckg:inReport ?doc } } ORDER BY ?section"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()[1:]
    # the two Spanish institutions answered alike: one finding, both rows
    assert [line.split(",", 1)[1] for line in lines] == [
        "Row 11: Universitat Oberta de Catalunya (Spain)",
        "Row 9: Universidad Nacional de Educación a Distancia (Spain)"]


BAD = [
    ("bad-encoding.csv", 2, "B", "Institution", "is not valid utf-8"),
    ("missing-column.csv", 1, "", "Which QA agency or accreditation body?", "missing column"),
    ("unknown-jurisdiction.csv", 4, "C", "Country or region",
     "unknown jurisdiction: 'Atlantis'"),
    ("unmatched-answer.csv", 6, "K", "Is there a centralised micro-credential portal",
     "unmatched answer: 'Maybe later'"),
    ("duplicate-respondent.csv", 11, "B", "Institution",
     "duplicate respondent: KU Leuven already answered in row 6"),
    ("shape-violation.csv", 9, "M", "Its budget in euros", "shape violation"),
]


@pytest.mark.parametrize(("name", "row", "letter", "column", "message"), BAD,
                         ids=[b[0] for b in BAD])
def test_bad_export_names_row_and_column_and_changes_nothing(
        store_url: str, name: str, row: int, letter: str, column: str, message: str) -> None:
    before = snapshot(store_url)
    result = ingest(store_url, FIXTURES / name, "w2")
    assert result.exit_code == 2, result.output
    assert "nothing changed" in result.output
    place = f"{name}, row {row}, column {letter + ' ' if letter else ''}\"{column}"
    problem = next(line for line in result.output.splitlines() if place in line)
    assert message in problem
    after = snapshot(store_url)
    assert after == before
    assert before[1][GRAPH_W2] > 0  # the wave it would have replaced is still there


def test_shape_violation_is_found_by_the_shapes_not_the_mapping(store_url: str) -> None:
    result = ingest(store_url, FIXTURES / "shape-violation.csv", "w2", "--dry-run")
    assert result.exit_code == 2
    assert "A monetary amount needs exactly one mckg:amount, an xsd:decimal that is not " \
           "negative" in result.output


def test_reingest_replaces_the_wave_atomically(store_url: str) -> None:
    planted = f"{BASE}id/finding/de-portal-national-portal-w2"
    assert any(planted in line for line in snapshot_lines(store_url, GRAPH_W2))
    result = ingest(store_url, WAVE_1, "w2")  # wave 1's answers, filed as wave 2
    assert result.exit_code == 0, result.output
    assert f"replaced <{GRAPH_W2}>" in result.output
    assert f"gone: {planted}" in result.output
    lines = snapshot_lines(store_url, GRAPH_W2)
    assert not any(planted in line for line in lines)
    same = {(j, d, v) for j, d, v in facts(store_url, W2)[GRAPH_W2]}
    assert same == facts(store_url, W1)[f"{BASE}graph/data"]
    # and back: the graph holds exactly one export's triples, not a mix of both
    result = ingest(store_url, WAVE_2, "w2")
    assert result.exit_code == 0, result.output
    again = snapshot_lines(store_url, GRAPH_W2)
    assert any(planted in line for line in again)
    assert not any(f"{BASE}id/finding/de-portal-none-no-plans-w2" in line for line in again)


def snapshot_lines(url: str, graph: str) -> list[str]:
    """The N-Triples of one named graph."""
    with open_store(url, read_only=True) as store:
        dump = store.native.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
    return (dump or b"").decode("utf-8").splitlines()


def test_dry_run_says_what_would_change_and_writes_nothing(store_url: str) -> None:
    before = snapshot(store_url)
    result = ingest(store_url, WAVE_1, "w2", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would replace <{GRAPH_W2}>" in result.output
    assert f"new: {BASE}id/finding/de-portal-none-no-plans-w2" in result.output
    assert f"gone: {BASE}id/finding/de-portal-national-portal-w2" in result.output
    assert "dry run: nothing written" in result.output
    assert snapshot(store_url) == before


def test_wave_must_be_a_wave_number(store_url: str) -> None:
    result = ingest(store_url, WAVE_2, "second")
    assert result.exit_code == 2
    assert "'second' is not a wave: write w1, w2" in result.output


def test_matching_is_tolerant_but_never_guesses() -> None:
    assert normalise("  Fernuniversität   in Hagen. ") == normalise("FERNUNIVERSITAT IN HAGEN")
    assert normalise("Provider\u2019s QA") == "provider's qa"
    vocab = Vocabulary.from_rows([
        ("scheme:x", "http://ex/a", "Alpha", "Alpha"), ("scheme:x", "http://ex/b", "Beta", None),
        ("scheme:x", "http://ex/b", "b", None), ("scheme:x", "http://ex/c", "Beta", None)])
    assert vocab.match("scheme:x", " alpha ").term == "http://ex/a"
    assert vocab.match("scheme:x", "yes", {"Yes": "ALPHA"}).term == "http://ex/a"
    ambiguous = vocab.match("scheme:x", "beta")
    assert ambiguous.term is None and "ambiguous" in (ambiguous.problem or "")
    missing = vocab.match("scheme:x", "Gamma")
    assert missing.term is None and "matches no value of the scheme x" in (missing.problem or "")


def test_shipped_mapping_names_every_column_of_the_first_wave() -> None:
    mapping = load_mapping()
    header = WAVE_1.read_text(encoding="utf-8").splitlines()[0]
    assert all(column in header for column in mapping.columns())
    assert {q.key for q in mapping.questions} >= {
        "mc-policy", "lll", "qa-role", "accreditation", "portal", "funding", "remarks"}


def test_a_store_that_cannot_replace_atomically_refuses() -> None:
    from mckg.store import StoreError
    from mckg.store.remote import RemoteStore

    remote = RemoteStore("http://127.0.0.1:9/sparql", timeout=1)
    with pytest.raises(StoreError, match="cannot replace a graph in one transaction"):
        remote.replace_graph(GRAPH_W2, b"<http://ex/s> <http://ex/p> <http://ex/o> .\n")


def test_a_new_wave_is_described_by_its_own_graph_and_survives_reingest(
        tmp_path: Path, store_url: str) -> None:
    for _ in range(2):  # the second time, the wave's own description is what is replaced
        result = ingest(store_url, WAVE_2, "w3")
        assert result.exit_code == 0, result.output
        listed = CliRunner().invoke(main, ["query", "--store", store_url, "--format", "csv",
                                           "SELECT ?n WHERE { GRAPH <" + BASE + "graph/wave/w3>"
                                           " { ?w a mckg:SurveyWave ; mckg:waveNumber ?n } }"])
        assert listed.stdout.split() == ["n", "3"]
    diff = CliRunner().invoke(main, ["diff", "--from", "w2", "--to", "w3", "--format", "csv",
                                     "--store", store_url])
    assert diff.exit_code == 0, diff.output
    assert diff.stdout.strip() == ("jurisdiction,jurisdiction_label,dimension,change,from_values,"
                                   "from_labels,from_sources,to_values,to_labels,to_sources")


@pytest.mark.parametrize("kind", ["memory", "oxigraph"])
def test_replace_graph_is_all_or_nothing_and_keeps_the_merge(kind: str, tmp_path: Path) -> None:
    from mckg.store import StoreError

    url = "memory" if kind == "memory" else f"oxigraph:{tmp_path / 'store'}"
    shared = b"<http://ex/s> <http://ex/p> <http://ex/shared> .\n"
    with open_store(url) as store:
        store.load_nquads(shared.replace(b" .", b" <http://ex/g1> .")
                          + b"<http://ex/s> <http://ex/p> <http://ex/old> <http://ex/g2> .\n")
        store.replace_graph("http://ex/g2", shared + b"<http://ex/s> <http://ex/p> <http://ex/new> .\n")
        assert store.counts() == {"http://ex/g1": 1, "http://ex/g2": 2}
        assert store.triple_count() == 2  # the merge: shared once, old gone, new there
        before = store.native.dump(format=ox.RdfFormat.N_QUADS)
        with pytest.raises(StoreError, match="invalid N-Triples"):
            store.replace_graph("http://ex/g2", b"<http://ex/s> <http://ex/p> \"broken .\n")
        assert store.native.dump(format=ox.RdfFormat.N_QUADS) == before
        store.replace_graph("http://ex/g1", b"")
        assert store.counts() == {"http://ex/g2": 2}
        assert store.triple_count() == 2  # shared is still in g2, so still in the merge


def test_ingest_is_recorded_so_the_served_version_changes(store_url: str) -> None:
    def version_and_marker() -> tuple[str | None, dict]:
        with open_store(store_url, read_only=True) as store:
            return QueryService.inline(Settings(), store).version, store.read_marker() or {}

    before, _ = version_and_marker()
    result = ingest(store_url, WAVE_2, "w2")
    assert result.exit_code == 0, result.output
    after, marker = version_and_marker()
    assert after != before  # entity tags and cached answers of the old wave are not reused
    record = marker["waves"]["w2"]
    assert record["graph"] == GRAPH_W2
    assert record["sha256"] == hashlib.sha256(WAVE_2.read_bytes()).hexdigest()
    check = CliRunner().invoke(main, ["store", "check", "--store", store_url])
    assert check.exit_code == 0, check.output  # a recorded wave is no damage


def test_an_export_without_answers_is_refused(store_url: str, tmp_path: Path) -> None:
    header_only = tmp_path / "empty.csv"
    header_only.write_text(WAVE_1.read_text(encoding="utf-8").splitlines()[0] + "\n",
                           encoding="utf-8")
    before = snapshot(store_url)
    result = ingest(store_url, header_only, "w2")
    assert result.exit_code == 2
    assert "empty.csv, row 2: no answer rows" in result.output
    assert snapshot(store_url) == before
