"""The ``mckg`` command line, run in-process with click's runner."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
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
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # Oxigraph keeps values, not lexical forms: the data's 130000000.0 comes back canonical.
    assert [Decimal(r["amount"]) for r in rows] == [130000000, 60000000, 50000000]
    result = runner.invoke(main, ["query", "ASK { ?x a mckg:NationalPortal }", "--format", "json"])
    assert json.loads(result.stdout)["boolean"] is True


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
    doc = json.loads(result.stdout)
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
    stats = json.loads(result.stdout)
    assert stats["facts"] == stats["facts_with_provenance"] > 250
    assert stats["ontology_classes"] > 40


# ---- the same commands on a store (--store) ---------------------------------------------------

@pytest.fixture
def oxigraph_url(shipped_oxigraph: str) -> str:
    """An Oxigraph store holding the shipped graph (``conftest.py``: loaded once per run)."""
    return shipped_oxigraph


def test_query_on_a_store_loads_the_graph_once(runner, tmp_path):
    url = f"oxigraph:{tmp_path / 'store'}"
    first = runner.invoke(main, ["query", "ASK { ?s ?p ?o }", "--store", url])
    assert first.exit_code == 0 and "loaded the graph into" in first.output, first.output
    again = runner.invoke(main, ["query", "ASK { ?s ?p ?o }", "--store", url])
    assert again.stdout == "true\n" and "loaded" not in again.output


def test_query_on_a_store(runner, oxigraph_url):
    """(Without --store, ``mckg query`` runs on the memory store: the tests above.)"""
    store_url = oxigraph_url
    result = runner.invoke(main, ["query", "cq03", "--format", "csv", "--store", store_url])
    assert result.exit_code == 0, result.output
    amounts = [Decimal(r["amount"]) for r in csv.DictReader(io.StringIO(result.stdout))]
    assert amounts == [130_000_000, 60_000_000, 50_000_000]  # Oxigraph writes 130000000
    result = runner.invoke(main, ["query", "cq03", "--store", store_url])
    assert "programme:pt-adult-impulse" in result.stdout and "(3 rows)" in result.stdout
    result = runner.invoke(main, ["query", "ASK { ?x a mckg:NationalPortal }", "--format", "json",
                                  "--store", store_url])
    assert json.loads(result.stdout)["boolean"] is True
    result = runner.invoke(main, ["query", "SELECT ?x WHERE { ?x ?y }", "--store", store_url])
    assert result.exit_code == 2 and "line 1" in result.output and "column" in result.output


def test_query_on_a_store_without_inferences(runner, kg, oxigraph_url):
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    totals = {}
    for flag in ("--inferred", "--no-inferred"):
        result = runner.invoke(main, ["query", count, "--format", "csv", flag, "--store", oxigraph_url])
        assert result.exit_code == 0, result.output
        totals[flag] = int(result.stdout.split()[-1])
    assert totals["--inferred"] == len(kg.union(list(kg.counts())))
    assert totals["--no-inferred"] == len(kg.union([layer for layer in kg.counts() if layer != "inferred"]))


def built_dataset(kg) -> Dataset:
    """What the source files build, layer by layer, with rdflib: what every export must hold."""
    out = Dataset()
    for layer in kg.counts():
        target = out.graph(kg.graph(layer).identifier)
        for triple in kg.graph(layer):
            target.add(triple)
    return out


@pytest.mark.parametrize("fmt", ["turtle", "nt", "xml", "json-ld", "trig", "nquads"])
def test_export_from_a_store_is_the_build(runner, kg, oxigraph_url, fmt):
    stored = runner.invoke(main, ["export", "--format", fmt, "--inferred", "--store", oxigraph_url])
    assert stored.exit_code == 0, stored.output
    rdflib_format = {"nquads": "nquads", "trig": "trig"}.get(fmt, fmt)
    if fmt in ("trig", "nquads"):
        b = Dataset()
        b.parse(data=stored.stdout_bytes, format=rdflib_format)
        graphs = {str(g.identifier): g for g in built_dataset(kg).graphs() if len(g)}
        assert graphs.keys() == {str(g.identifier) for g in b.graphs() if len(g)}
        for g in b.graphs():
            if len(g):
                assert isomorphic(g, graphs[str(g.identifier)]), g.identifier
    else:
        assert isomorphic(kg.union(list(kg.counts())),
                          Graph().parse(data=stored.stdout_bytes, format=rdflib_format))
    if fmt == "json-ld":
        assert "@context" in json.loads(stored.stdout)  # compacted with the project's context


def test_stats_count_what_the_files_build(runner, kg, oxigraph_url):
    from rdflib import OWL, RDF
    from rdflib.namespace import SKOS

    from mckg.build.provenance import FACT_CLASSES, has_provenance, subclasses_of

    stored = runner.invoke(main, ["stats", "--json", "--store", oxigraph_url])
    assert stored.exit_code == 0, stored.output
    stats = json.loads(stored.stdout)
    assert stats["triples"] == kg.counts()
    assert stats["ontology_classes"] == len(set(kg.graph("ontology").subjects(RDF.type, OWL.Class)))
    assert stats["concepts"] == len(set(kg.graph("vocabularies").subjects(RDF.type, SKOS.Concept)))
    data = kg.graph("data")
    facts = {s for c in subclasses_of(kg.graph("ontology"), FACT_CLASSES)
             for s in data.subjects(RDF.type, c)}
    assert stats["facts"] == len(facts) > 250
    assert stats["facts_with_provenance"] == sum(1 for f in facts if has_provenance(data, f))
    assert sum(stats["instances"].values()) == len(list(data.subject_objects(RDF.type)))
    memory = runner.invoke(main, ["stats", "--json", "--store", "memory"])
    assert json.loads(memory.stdout) == stats  # the same engine in memory


def test_the_stats_query_counts_the_fact_classes():
    from mckg.build.provenance import FACT_CLASSES
    from mckg.query.stored import get

    values = get("stats-facts").text.split("VALUES ?root {", 1)[1].split("}", 1)[0]
    assert sorted(values.split()) == sorted(f"mckg:{c.split('#')[1]}" for c in FACT_CLASSES)


def test_loaded_data_is_queried_counted_and_exported(runner, tmp_path):
    url = f"oxigraph:{tmp_path / 'store'}"
    extra = tmp_path / "extra.nt"
    extra.write_text("".join(f'<http://example.org/s{i}> <http://example.org/p> "{i}" .\n'
                             for i in range(25)), encoding="utf-8")
    result = runner.invoke(main, ["load", str(extra), "--store", url])
    assert result.exit_code == 0, result.output
    mine = tmp_path / "mine.ttl"  # what --file adds: the "user" layer, with the loaded graph
    mine.write_text('<http://example.org/me> <http://example.org/p> "me" .\n', encoding="utf-8")
    options = ["--no-shipped", "--file", str(mine)]  # (the shipped graph: tests above)
    stats = json.loads(runner.invoke(main, [*options, "stats", "--json", "--store", url]).stdout)
    assert stats["triples"] == {"user": 1, "https://w3id.org/mckg/graph/loaded": 25}
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s <http://example.org/p> ?o }"
    result = runner.invoke(main, [*options, "query", count, "--format", "csv", "--store", url])
    assert result.stdout.split()[-1] == "26"
    user = runner.invoke(main, [*options, "export", "--format", "nt", "--layer", "user", "--store", url])
    assert len(Graph().parse(data=user.stdout_bytes, format="nt")) == 26


def test_distinct_aggregate_over_unbound_optional(runner, tmp_path):
    """GROUP_CONCAT(DISTINCT ?x) where OPTIONAL left ?x unbound answers instead of failing."""
    data = tmp_path / "d.ttl"
    data.write_text('@prefix ex: <http://x/> .\nex:a ex:p 1 ; ex:q "l" .\nex:b ex:p 2 .\n')
    query = ("SELECT ?s (GROUP_CONCAT(DISTINCT ?l) AS ?ls) (COUNT(DISTINCT ?l) AS ?n) "
             "WHERE { ?s <http://x/p> ?o OPTIONAL { ?s <http://x/q> ?l } } GROUP BY ?s ORDER BY ?s")
    result = runner.invoke(main, ["--no-shipped", "--file", str(data), "query", query, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["s"], r["ls"], r["n"]) for r in rows] == [("http://x/a", "l", "1"), ("http://x/b", "", "0")]


def test_reading_commands_build_once_and_rebuild_once_per_change(runner, tmp_path):
    """query, export and stats share mckg's default store: one build, reused until a source
    changes, then exactly one rebuild (the store is keyed by the sources' fingerprint)."""
    data = tmp_path / "facts.ttl"
    data.write_text('<http://example.org/a> <http://example.org/p> "1" .\n', encoding="utf-8")
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s <http://example.org/p> ?o }"
    options = ["--no-shipped", "--file", str(data)]

    def run(*args: str) -> tuple[str, bool]:
        result = runner.invoke(main, [*options, *args])
        assert result.exit_code == 0, result.output
        return result.stdout, "loaded the graph into" in result.stderr

    outputs = [run("query", count, "--format", "csv"), run("stats", "--json"),
               run("export", "--format", "nt")]
    assert [rebuilt for _, rebuilt in outputs] == [True, False, False]
    assert outputs[0][0].split()[-1] == "1"
    data.write_text('<http://example.org/a> <http://example.org/p> "1" , "2" .\n', encoding="utf-8")
    again = [run("query", count, "--format", "csv"), run("query", count, "--format", "csv")]
    assert [rebuilt for _, rebuilt in again] == [True, False]
    assert again[1][0].split()[-1] == "2"


def test_export_table_gives_one_row_per_fact_as_csv_and_xlsx(runner, tmp_path, shipped_oxigraph):
    """``mckg export --table`` is the fact table of /downloads: CSV and XLSX hold the same
    rows, read back by pandas with numbers as numbers; a filter keeps what it names."""
    import io

    import pandas as pd

    from mckg.linked.facts import FIELDS

    done = runner.invoke(main, ["export", "--store", shipped_oxigraph, "--table", "csv"])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(io.StringIO(done.stdout))
    assert list(table.columns) == list(FIELDS)
    assert len(table) > 200 and table["fact"].is_unique
    assert table["number"].dtype.kind == "f" and table["number"].notna().sum() > 5
    workbook = tmp_path / "facts.xlsx"
    done = runner.invoke(main, ["export", "--store", shipped_oxigraph, "--table", "xlsx",
                                "-o", str(workbook)])
    assert done.exit_code == 0, done.output
    sheet = pd.read_excel(workbook)
    assert sorted(sheet["fact"]) == sorted(table["fact"])
    spain = runner.invoke(main, ["export", "--store", shipped_oxigraph, "--table", "csv",
                                 "--filter", "country=ES"])
    rows = pd.read_csv(io.StringIO(spain.stdout))
    assert 0 < len(rows) < len(table)
    assert all("ES" in codes.split("; ") for codes in rows["jurisdiction_code"])
    bad = runner.invoke(main, ["export", "--store", shipped_oxigraph, "--table", "csv",
                               "--filter", "country=ZZ"])
    assert bad.exit_code == 2 and "no fact has country 'ZZ'" in bad.output
    alone = runner.invoke(main, ["export", "--filter", "country=ES"])
    assert alone.exit_code == 2 and "--table" in alone.output
