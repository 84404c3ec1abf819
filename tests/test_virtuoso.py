"""Integration with a real triple store: the shipped graph in Virtuoso, the competency questions
answered through ``mckg query --store sparql+http://…`` (issue 4).

Needs the Virtuoso that ``.ci/virtuoso.sh`` starts (``MCKG_VIRTUOSO_URL``); skips without one,
fails instead when ``MCKG_REQUIRE_VIRTUOSO`` is set, as ``.ci/run`` does. The expected answers are
those of ``tests/test_competency.py``, imported, not restated. All Virtuoso tests share one
server and mckg's bookkeeping graphs in it, so they run on one test worker (``conftest.py``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from rdflib import Graph
from stores import require_virtuoso
from test_competency import CHECKS, cli_answers

from mckg.build.graphs import KnowledgeGraph
from mckg.cli import main
from mckg.store.remote import RemoteStore

pytestmark = pytest.mark.virtuoso

#: Loading the shipped graph through the SPARQL endpoint must stay well inside CI's budget.
LOAD_SECONDS = 60


@pytest.fixture(scope="module")
def virtuoso() -> Iterator[str]:
    """``sparql+http://…`` of a Virtuoso holding the shipped graph, loaded by ``mckg query``."""
    url = require_virtuoso()
    with RemoteStore(url, timeout=60) as store:
        store.clear()  # what earlier tests loaded: mckg's graphs only, never the server's own
    started = time.monotonic()
    result = CliRunner().invoke(main, ["query", "ASK { ?s ?p ?o }", "--store", "sparql+" + url])
    seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "loaded the graph into" in result.output and result.stdout.strip() == "true"
    assert seconds < LOAD_SECONDS, f"loading the shipped graph into Virtuoso took {seconds:.0f} s"
    yield "sparql+" + url
    with RemoteStore(url, timeout=60) as store:
        store.clear()


def test_the_graph_is_loaded_once(virtuoso: str) -> None:
    with RemoteStore(virtuoso.removeprefix("sparql+"), timeout=60) as store:
        marker = store.read_marker()
        counts = store.counts()
    assert marker is not None and marker.get("fingerprint")
    assert counts == marker["graphs"]
    assert {"https://w3id.org/mckg/graph/data", "https://w3id.org/mckg/graph/inferred"} <= set(counts)
    again = CliRunner().invoke(main, ["query", "ASK { ?s ?p ?o }", "--store", virtuoso])
    assert again.exit_code == 0 and "loaded the graph" not in again.output  # the marker matched


@pytest.mark.parametrize("check", list(CHECKS))
def test_competency_answers_from_virtuoso(virtuoso: str, check: str) -> None:
    CHECKS[check](cli_answers(virtuoso))


def test_stats_and_export_from_virtuoso(virtuoso: str, kg: KnowledgeGraph,
                                       shipped_oxigraph: str) -> None:
    """Virtuoso, the second engine, counts what Oxigraph counts."""
    runner = CliRunner()
    stats = runner.invoke(main, ["stats", "--json", "--store", virtuoso])
    assert stats.exit_code == 0, stats.output
    reference = runner.invoke(main, ["stats", "--json", "--store", shipped_oxigraph])
    assert reference.exit_code == 0, reference.output
    got, built = json.loads(stats.stdout), json.loads(reference.stdout)
    assert got["triples"] == built["triples"] == kg.counts() and got["facts"] == built["facts"]
    assert got["facts_with_provenance"] == built["facts_with_provenance"]
    exported = runner.invoke(main, ["export", "--format", "nt", "--layer", "data", "--store", virtuoso])
    assert exported.exit_code == 0, exported.output
    assert len(Graph().parse(data=exported.stdout_bytes, format="nt")) == len(kg.graph("data"))
