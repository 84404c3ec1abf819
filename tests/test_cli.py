"""The ``mckg`` command line, run in-process with click's runner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from mckg.cli import main


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_validate_passes_on_shipped_data(runner):
    result = runner.invoke(main, ["validate", "--inference", "none"])
    assert result.exit_code == 0, result.output
    assert "Conforms" in result.output


def test_validate_reports_violation_with_shape_focus_and_file(runner, tmp_path):
    bad = tmp_path / "bad-finding.ttl"
    bad.write_text("""
@prefix mckg: <https://w3id.org/mckg/def#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/mckg/id/finding/xx-test> a mckg:PortalFinding ;
    rdfs:label "A finding with no provenance"@en ;
    mckg:about <https://w3id.org/mckg/id/country/ES> .
""", encoding="utf-8")
    result = runner.invoke(main, ["--file", str(bad), "validate", "--inference", "none"])
    assert result.exit_code == 1, result.output
    assert "finding:xx-test" in result.output
    assert str(bad) in result.output
    assert "Does not conform" in result.output


def test_malformed_file_gives_file_line_and_no_traceback(runner, tmp_path):
    bad = tmp_path / "broken.ttl"
    bad.write_text("<http://x/a> <http://x/b> <http://x/c> .\n<http://x/a> <http://x/b> \"x .\n")
    result = runner.invoke(main, ["--no-shipped", "--file", str(bad), "stats"])
    assert result.exit_code == 2
    assert f"{bad}:2:" in result.output
    assert "Traceback" not in result.output


def test_query_csv_and_json(runner):
    result = runner.invoke(main, ["query", "cq03", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["amount"] for r in rows] == ["130000000.0", "60000000.0", "50000000.0"]
    result = runner.invoke(main, ["query", "ASK { ?x a mckg:NationalPortal }", "--format", "json"])
    assert json.loads(result.output)["boolean"] is True


def test_query_file_and_table(runner, tmp_path):
    query = tmp_path / "q.rq"
    query.write_text("SELECT ?l WHERE { country:ES rdfs:label ?l }")
    result = runner.invoke(main, ["query", str(query)])
    assert result.exit_code == 0, result.output
    assert '"Spain"@en' in result.output and "(1 row)" in result.output


def test_bad_query_is_reported_with_position(runner):
    result = runner.invoke(main, ["query", "SELECT ?x WHERE { ?x ?y }"])
    assert result.exit_code == 2
    assert "line 1" in result.output and "column" in result.output


@pytest.mark.parametrize("fmt", ["turtle", "nt", "xml", "json-ld"])
def test_export_round_trips(runner, tmp_path, fmt):
    out = tmp_path / f"export.{fmt}"
    result = runner.invoke(main, ["export", "--format", fmt, "--layer", "data", "-o", str(out)])
    assert result.exit_code == 0, result.output
    parsed = Graph().parse(out, format=fmt)
    reference = Graph().parse(Path(__file__).resolve().parents[1] / "data" / "survey.ttl")
    assert len(parsed) > 3000
    assert all(t in parsed for t in reference)


def test_export_jsonld_reads_naturally(runner):
    result = runner.invoke(main, ["export", "--format", "json-ld", "--layer", "data"])
    doc = json.loads(result.output)
    assert "@context" in doc
    nodes = {n["id"]: n for n in doc["@graph"]}
    budget = nodes["https://w3id.org/mckg/id/amount/plan-microcreds-budget"]
    assert budget["amount"] == "50000000.0"
    assert budget["currency"] == "EUR"


def test_build_writes_merged_and_inferred(runner, tmp_path):
    result = runner.invoke(main, ["build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    merged = Graph().parse(tmp_path / "mckg.ttl")
    inferred = Graph().parse(tmp_path / "mckg-inferred.ttl")
    assert len(merged) > 4000 and len(inferred) > 100
    assert not any(t in merged for t in inferred)
    ds = Dataset()
    ds.parse(tmp_path / "mckg.trig", format="trig")
    names = {str(g.identifier) for g in ds.graphs() if len(g)}
    assert {"https://w3id.org/mckg/graph/data", "https://w3id.org/mckg/graph/inferred"} <= names
    assert isomorphic(Graph().parse(tmp_path / "mckg.nt"), merged)


def test_stats_counts(runner):
    result = runner.invoke(main, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["facts"] == stats["facts_with_provenance"] > 250
    assert stats["ontology_classes"] > 40
