"""The default graph is the RDF merge of the named graphs: each distinct triple exactly once.

A regression: a Turtle file served with ``--file`` was parsed twice (once for its named graph,
once for the merged default graph), so its blank nodes became two different nodes in the
default graph — ``SELECT ?d { ?d foaf:name "Dave" }`` answered two rows. Checked on every store
through ``load_file``, and end to end through a real server with requests and SPARQLWrapper.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from rdflib import Graph
from serving import ServerProcess, start_server
from SPARQLWrapper import JSON, TURTLE, SPARQLWrapper
from stores import SRJ

from mckg.query.check import inspect_query
from mckg.store import Store, serialize_result

DAVE = """@prefix foaf: <http://xmlns.com/foaf/0.1/> .
_:d foaf:name "Dave" ; foaf:mbox <mailto:dave@example.org> ; foaf:age 40 ;
    foaf:nick "dd" ; foaf:knows [ foaf:name "Eve" ] .
"""
NAME_QUERY = 'SELECT ?d WHERE { ?d <http://xmlns.com/foaf/0.1/name> "Dave" }'
MERGE_COUNTS = ("SELECT (COUNT(*) AS ?all) WHERE { ?s ?p ?o }",
                "SELECT (COUNT(*) AS ?distinct) WHERE { SELECT DISTINCT ?s ?p ?o "
                "WHERE { GRAPH ?g { ?s ?p ?o } } }")


def bindings(store: Store, text: str) -> list[dict]:
    body = serialize_result(store.query(text, inspect_query(text)), SRJ, limit=1000).body
    return json.loads(body)["results"]["bindings"]


@pytest.mark.parametrize("suffix", [".ttl", ".nt"])
def test_a_files_blank_nodes_are_one_node_in_the_default_graph(store: Store, tmp_path: Path,
                                                               suffix: str) -> None:
    path = tmp_path / f"dave{suffix}"
    graph = Graph().parse(data=DAVE, format="turtle")
    path.write_bytes(graph.serialize(format="turtle" if suffix == ".ttl" else "nt",
                                     encoding="utf-8"))
    store.load_file(path, graph="http://example.org/g")
    assert len(bindings(store, NAME_QUERY)) == 1
    total = int(bindings(store, MERGE_COUNTS[0])[0]["all"]["value"])
    distinct = int(bindings(store, MERGE_COUNTS[1])[0]["distinct"]["value"])
    assert total == distinct == 6


@pytest.fixture(scope="module", params=["memory", "oxigraph"])
def dave_server(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The file alone (reasoning off: it is streamed into the store, the path that doubled)."""
    workdir = tmp_path_factory.mktemp("dave")
    data = workdir / "dave.ttl"
    data.write_text(DAVE, encoding="utf-8")
    store = "memory" if request.param == "memory" else f"oxigraph:{workdir / 'store'}"
    server = start_server(["--no-shipped", "serve", "--port", "0", "--store", store,
                           "--file", str(data), "--no-reasoning", "--workers", "1"],
                          workdir=workdir)
    yield server
    server.stop()


def test_served_file_blank_nodes_are_not_duplicated(dave_server: ServerProcess) -> None:
    client = SPARQLWrapper(dave_server.sparql)
    client.setReturnFormat(JSON)
    client.setQuery(NAME_QUERY)
    rows = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
    assert len(rows) == 1 and rows[0]["d"]["type"] == "bnode"
    counts = []
    for text in MERGE_COUNTS:
        r = requests.post(dave_server.sparql, data={"query": text}, headers={"Accept": SRJ},
                          timeout=30)
        assert r.status_code == 200, r.text
        (row,) = r.json()["results"]["bindings"]
        counts.append(int(next(iter(row.values()))["value"]))
    assert counts[0] == counts[1] == 6
    client.setReturnFormat(TURTLE)
    client.setQuery("CONSTRUCT { ?d ?p ?o } WHERE { ?d <http://xmlns.com/foaf/0.1/name> \"Dave\" ; "
                    "?p ?o }")
    constructed = Graph().parse(data=client.queryAndConvert(), format="turtle")
    assert len(set(constructed.subjects())) == 1
    assert len(constructed) == len({p for _, p, _ in constructed}) >= 5
