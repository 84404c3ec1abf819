"""Curation over HTTP (docs/curation.md), end to end against real ``mckg serve`` processes on
an Oxigraph store, with ``requests``, SPARQLWrapper and rdflib's ``SPARQLUpdateStore``:

- writing is off unless tokens are configured; then a bearer token is needed (401 with
  ``WWW-Authenticate: Bearer``), and it writes only the graphs of its scope (403);
- SPARQL Update (form and direct) and the Graph Store Protocol (GET, HEAD, PUT, POST,
  multipart POST, DELETE) change what the endpoint answers, its entity tags and its cache;
- a write whose result violates the shapes is refused with 422 and the SHACL report (JSON and
  Turtle, focus node and path) and changes nothing (triple count and a graph hash);
- a write to a shipped layer re-runs reasoning for the inferred graph;
- every write is in the PROV-O audit trail (``/curation``, ``mckg history``) and ``mckg revert``
  undoes one, itself audited;
- limits: update size, body size, time per update (503), the writers' queue (503 with
  ``Retry-After``), ``LOAD``/``SERVICE`` refused, no remote JSON-LD context, no DTD.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from serving import ServerProcess, start_server

from mckg.curation.tokens import hash_token

BASE = "https://w3id.org/mckg/"
CURATED = BASE + "graph/curated"
DATA = BASE + "graph/data"
INFERRED = BASE + "graph/inferred"
AUDIT = BASE + "graph/audit"
EX = "https://example.org/"
CURATOR = "curator-secret-token"
EDITOR = "editor-secret-token"
JSON = "application/sparql-results+json"
UPDATE = "application/sparql-update"


def _config(path: Path, **extra: Any) -> Path:
    """A TOML configuration with two tokens (digests only) and ``extra`` settings."""
    lines = ["[mckg]"] + [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    lines += ["[mckg.tokens.curator]", f'sha256 = "{hash_token(CURATOR)[7:]}"',
              f'graphs = ["{CURATED}", "{EX}graph/*", "{BASE}graph/new/*"]',
              "[mckg.tokens.editor]", f'sha256 = "{hash_token(EDITOR)[7:]}"',
              f'graphs = ["{DATA}", "{CURATED}"]']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _serve(workdir: Path, config: Path | None, *extra: str) -> ServerProcess:
    args = (["--config", str(config)] if config else []) + [
        "serve", "--port", "0", "--store", f"oxigraph:{workdir / 'store'}", "--workers", "1",
        "--result-limit", "100000", *extra]
    return start_server(args, workdir=workdir)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("curation")
    config = _config(workdir / "mckg.toml", update_timeout=4.0, write_queue=1, write_wait=20.0,
                     max_update_bytes=4096, max_graph_bytes=65536)
    proc = _serve(workdir, config)
    yield proc
    proc.stop()


def auth(token: str = CURATOR) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def update(server: ServerProcess, text: str, token: str | None = CURATOR,
           **headers: str) -> requests.Response:
    sent = {"Content-Type": UPDATE, **(auth(token) if token else {}), **headers}
    return requests.post(server.url + "update", data=text.encode("utf-8"), headers=sent,
                         timeout=120)


def select(server: ServerProcess, text: str) -> list[dict[str, str]]:
    response = requests.post(server.sparql, data={"query": text}, headers={"Accept": JSON},
                             timeout=60)
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in row.items()}
            for row in response.json()["results"]["bindings"]]


def fingerprint(server: ServerProcess) -> tuple[int, dict[str, int], str]:
    """The default graph's size, triples per graph and a hash of every named graph's triples
    (the audit graph aside): what 'nothing changed' is checked against."""
    total = int(select(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"])
    counts = {r["g"]: int(r["n"]) for r in select(
        server, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    text = (f"SELECT ?g ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER (?g != <{AUDIT}>) }}")
    response = requests.post(server.sparql, data={"query": text},
                             headers={"Accept": "text/tab-separated-values"}, timeout=60)
    lines = sorted(response.text.splitlines()[1:])
    assert len(lines) == sum(n for g, n in counts.items() if g != AUDIT)
    return total, counts, hashlib.sha256("\n".join(lines).encode()).hexdigest()


def without_audit(state: tuple[int, dict[str, int], str]) -> tuple[Any, ...]:
    _total, counts, digest = state
    return ({g: n for g, n in counts.items() if g != AUDIT}, digest)


def history(server: ServerProcess) -> list[dict[str, str]]:
    response = requests.get(server.url + "curation", headers={"Accept": "application/json"},
                            timeout=60)
    assert response.status_code == 200
    writes: list[dict[str, str]] = response.json()["writes"]
    return writes


# ---- off by default ---------------------------------------------------------------------------

def test_writing_is_off_unless_tokens_are_configured(tmp_path: Path) -> None:
    proc = _serve(tmp_path, None)
    try:
        before = fingerprint(proc)
        response = update(proc, f"INSERT DATA {{ GRAPH <{CURATED}> {{ <{EX}a> <{EX}p> 1 }} }}")
        assert response.status_code == 403
        assert "read-only" in response.text and "tokens" in response.text
        put = requests.put(proc.url + f"graphs?graph={CURATED}", data=b"<a:b> <a:c> <a:d> .",
                           headers={"Content-Type": "application/n-triples", **auth()}, timeout=30)
        assert put.status_code == 403
        # Reads stay public: the Graph Store Protocol's GET works without any token.
        got = requests.get(proc.url + f"graphs?graph={DATA}",
                           headers={"Accept": "application/n-triples"}, timeout=60)
        assert got.status_code == 200 and got.text.count("\n") == before[1][DATA]
        assert fingerprint(proc) == before
    finally:
        proc.stop()


# ---- tokens and scopes ------------------------------------------------------------------------

def test_a_write_needs_a_valid_token_in_scope(server: ServerProcess) -> None:
    before = fingerprint(server)
    insert = f"INSERT DATA {{ GRAPH <{CURATED}> {{ <{EX}a> <{EX}p> 1 }} }}"
    missing = update(server, insert, token=None)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].lower().startswith("bearer")
    wrong = update(server, insert, token="not-a-token")
    assert wrong.status_code == 401 and "invalid_token" in wrong.headers["WWW-Authenticate"]
    basic = update(server, insert, token=None, Authorization="Basic YTpi")
    assert basic.status_code == 401
    # The curator's scope: the curated graph and example.org graphs, not the shipped layers.
    for graph in (DATA, INFERRED, BASE + "graph/ontology", AUDIT):
        refused = update(server, f"INSERT DATA {{ GRAPH <{graph}> {{ <{EX}a> <{EX}p> 1 }} }}")
        assert refused.status_code == 403, graph
        assert "curator" in refused.text and ("audit" in refused.text or graph in refused.text)
    # A default-graph delete reaches every graph holding the triples: out of scope, refused.
    wide = update(server, "DELETE WHERE { ?s a ?o }")
    assert wide.status_code == 403
    assert without_audit(fingerprint(server)) == without_audit(before)
    assert fingerprint(server)[0] == before[0]


# ---- SPARQL Update --------------------------------------------------------------------------

def test_an_update_changes_answers_tags_and_the_trail(server: ServerProcess) -> None:
    ask = f"ASK {{ <{EX}thing/1> <{EX}label> \"first\" }}"
    page = requests.get(server.sparql, params={"query": ask}, headers={"Accept": JSON},
                        timeout=30)
    assert page.json()["boolean"] is False
    tag = page.headers["ETag"]
    response = update(server, f"PREFIX ex: <{EX}>\nINSERT DATA {{ <{EX}thing/1> ex:label \"first\" }}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["added"] == 1 and body["removed"] == 0 and body["graphs"] == [CURATED]
    assert response.headers["X-MCKG-Write"] == body["write"]
    again = requests.get(server.sparql, params={"query": ask}, headers={"Accept": JSON,
                         "If-None-Match": tag}, timeout=30)
    assert again.status_code == 200 and again.json()["boolean"] is True
    assert again.headers["ETag"] != tag
    # The default-graph insert went to the curated graph, and the merge holds it once.
    rows = select(server, f"SELECT ?g WHERE {{ GRAPH ?g {{ <{EX}thing/1> ?p ?o }} }}")
    assert rows == [{"g": CURATED}]
    # Form-encoded, as the protocol's first form.
    form = requests.post(server.url + "update", headers=auth(), timeout=60, data={
        "update": f"DELETE DATA {{ GRAPH <{CURATED}> {{ <{EX}thing/1> <{EX}label> \"first\" }} }}"})
    assert form.status_code == 200 and form.json()["removed"] == 1
    assert select(server, f"SELECT * WHERE {{ <{EX}thing/1> ?p ?o }}") == []
    trail = history(server)
    ids = [w["id"] for w in trail]
    assert body["write"] in ids and form.json()["write"] in ids
    mine = next(w for w in trail if w["id"] == body["write"])
    assert mine["agent"] == "curator" and mine["operation"] == "update"
    assert mine["added"] == "1" and mine["conforms"] == "true"
    # The trail is PROV-O in its own graph, queryable by anyone.
    prov = select(server, f"""PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT ?text WHERE {{ GRAPH <{AUDIT}> {{ ?w a prov:Activity ;
        <{BASE}def/curation#writeId> "{body['write']}" ;
        <{BASE}def/curation#request> ?text ; prov:wasAssociatedWith ?a }} }}""")
    assert len(prov) == 1 and 'ex:label "first"' in prov[0]["text"]


def test_a_malformed_update_names_its_line_and_column(server: ServerProcess) -> None:
    before = fingerprint(server)
    response = update(server, "INSERT DATA {\n  <a:b> <a:c> \n}", Accept="application/problem+json")
    assert response.status_code == 400
    assert "1:" in response.text or "2:" in response.text or "3:" in response.text
    assert fingerprint(server) == before


def test_load_and_service_are_refused_before_any_engine(server: ServerProcess) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    before = fingerprint(server)
    try:
        load = update(server, f"LOAD <http://127.0.0.1:{port}/x.ttl> INTO GRAPH <{CURATED}>")
        assert load.status_code == 403 and "LOAD" in load.text
        hidden = update(server, f"# a comment\nload <http://127.0.0.1:{port}/y>")
        assert hidden.status_code == 403 and "line 2" in hidden.text
        service = update(server, f"INSERT {{ GRAPH <{CURATED}> {{ ?s ?p ?o }} }} WHERE {{ "
                                 f"SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}")
        assert service.status_code == 403
        escaped = update(server, f"\\u004cOAD <http://127.0.0.1:{port}/z>")
        assert escaped.status_code == 400 and "codepoint escapes" in escaped.text
        # The word inside a string or an IRI, or as a prefixed name, is not an operation.
        named = update(server, f"PREFIX ex: <{EX}>\nINSERT DATA {{ GRAPH <{CURATED}> "
                               "{ ex:service ex:load ex:x } }")
        assert named.status_code == 200, named.text
        fine = update(server, f"INSERT DATA {{ GRAPH <{CURATED}> {{ <{EX}load> <{EX}p> "
                              '"LOAD SERVICE" } }')
        assert fine.status_code == 200
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    after = fingerprint(server)
    assert after[1][CURATED] == before[1].get(CURATED, 0) + 2


def test_limits_on_update_and_body_size(server: ServerProcess) -> None:
    before = fingerprint(server)
    triples = " ".join(f"<{EX}n{i}> <{EX}p> {i} ." for i in range(200))
    big = f"INSERT DATA {{ GRAPH <{CURATED}> {{ {triples} }} }}"
    assert len(big) > 4096
    too_long = update(server, big)
    assert too_long.status_code == 413 and "4096" in too_long.text
    form = requests.post(server.url + "update", data={"update": big}, headers=auth(), timeout=60)
    assert form.status_code == 413
    body = b"".join(b"<https://example.org/s%d> <https://example.org/p> \"%s\" .\n" % (i, b"x" * 100)
                    for i in range(1000))
    assert len(body) > 65536 + 64 * 1024
    put = requests.put(server.url + f"graphs?graph={EX}graph/big", data=body, timeout=60,
                       headers={"Content-Type": "application/n-triples", **auth()})
    assert put.status_code == 413
    assert fingerprint(server) == before


# ---- SHACL-gated ---------------------------------------------------------------------------

def test_a_violating_write_gets_422_with_the_report_and_changes_nothing(
        server: ServerProcess) -> None:
    before = fingerprint(server)
    # A finding with no source, section, reporter or wave: mckg's shapes require them.
    violating = (f"PREFIX mckg: <{BASE}def#>\nINSERT DATA {{ GRAPH <{CURATED}> {{\n"
                 f"  <{EX}finding/orphan> a mckg:Finding }} }}")
    response = update(server, violating, Accept="application/json")
    assert response.status_code == 422, response.text
    report = response.json()
    assert report["conforms"] is False
    focus = {r["focusNode"] for r in report["results"]}
    paths = {r["resultPath"] for r in report["results"]}
    assert focus == {f"{EX}finding/orphan"}
    assert "http://www.w3.org/ns/prov#wasDerivedFrom" in paths
    turtle = update(server, violating, Accept="text/turtle")
    assert turtle.status_code == 422 and turtle.headers["Content-Type"].startswith("text/turtle")
    from rdflib import Graph
    from rdflib.namespace import RDF, SH

    graph = Graph().parse(data=turtle.text, format="turtle")
    assert set(graph.subjects(RDF.type, SH.ValidationReport))
    assert {str(o) for o in graph.objects(None, SH.focusNode)} == focus
    assert fingerprint(server) == before
    assert all("orphan" not in w.get("target", "") for w in history(server))


# ---- Graph Store Protocol ------------------------------------------------------------------

def test_the_graph_store_protocol(server: ServerProcess) -> None:
    graph = f"{EX}graph/gsp"
    url = server.url + "graphs"
    assert requests.get(url, params={"graph": graph}, timeout=30).status_code == 404
    turtle = f"@prefix ex: <{EX}> . ex:a ex:p ex:b ; ex:q [ ex:r 1 ] ."
    put = requests.put(url, params={"graph": graph}, data=turtle.encode(), timeout=60,
                       headers={"Content-Type": "text/turtle", **auth()})
    assert put.status_code == 201, put.text
    assert put.json()["added"] == 3
    got = requests.get(url, params={"graph": graph}, headers={"Accept": "application/n-triples"},
                       timeout=30)
    assert got.status_code == 200 and got.text.count("\n") == 3
    # A blank node of a body is skolemized: the next request can name it.
    assert f"{BASE}.well-known/genid/" in got.text and "_:" not in got.text
    head = requests.head(url, params={"graph": graph}, timeout=30)
    assert head.status_code == 200 and not head.content
    post = requests.post(url, params={"graph": graph}, data=f"<{EX}c> <{EX}p> <{EX}d> .".encode(),
                         headers={"Content-Type": "application/n-triples", **auth()}, timeout=60)
    assert post.status_code == 200 and post.json()["added"] == 1
    parts = {"one": ("one.ttl", f"<{EX}e> <{EX}p> 1 .", "text/turtle"),
             "two": ("two.jsonld", json.dumps({"@id": f"{EX}f", f"{EX}p": 2}),
                     "application/ld+json")}
    multi = requests.post(url, params={"graph": graph}, files=parts, headers=auth(), timeout=60)
    assert multi.status_code == 200 and multi.json()["added"] == 2, multi.text
    replaced = requests.put(url, params={"graph": graph}, data=f"<{EX}z> <{EX}p> 9 .".encode(),
                            headers={"Content-Type": "text/turtle", **auth()},
                            timeout=60)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["removed"] == 6
    now = requests.get(url, params={"graph": graph}, headers={"Accept": "application/n-triples"},
                       timeout=30).text.strip()
    assert now == f'<{EX}z> <{EX}p> "9"^^<http://www.w3.org/2001/XMLSchema#integer> .'
    # The default graph: added to (into the curated graph), never replaced or dropped.
    added = requests.post(url + "?default", data=f"<{EX}dflt> <{EX}p> 1 .".encode(),
                          headers={"Content-Type": "text/turtle", **auth()}, timeout=60)
    assert added.status_code == 200 and added.json()["graphs"] == [CURATED]
    refused = requests.put(url + "?default", data=b"", timeout=30,
                           headers={"Content-Type": "application/n-triples", **auth()})
    assert refused.status_code == 405 and "POST" in refused.headers["Allow"]
    # POST to the graph store itself: a new graph, named by the server (protocol §5.5).
    created = requests.post(url, data=f"<{EX}new> <{EX}p> 1 .".encode(), timeout=60,
                            headers={"Content-Type": "text/turtle", **auth()})
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert location.startswith(server.url + "graphs?graph=") and "graph%2Fnew%2F" in location
    fetched = requests.get(location, headers={"Accept": "application/n-triples"}, timeout=30)
    assert fetched.status_code == 200 and f"<{EX}new>" in fetched.text
    assert requests.post(url, data=b"<a:b> <a:c> <a:d> .", timeout=30, headers={
        "Content-Type": "application/n-triples", **auth(EDITOR)}).status_code == 403
    gone = requests.delete(url, params={"graph": graph}, headers=auth(), timeout=60)
    assert gone.status_code == 200 and gone.json()["removed"] == 1
    assert requests.get(url, params={"graph": graph}, timeout=30).status_code == 404
    assert requests.delete(url, params={"graph": graph}, headers=auth(),
                           timeout=30).status_code == 404


def test_bodies_are_read_without_fetching_anything(server: ServerProcess) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    before = fingerprint(server)
    url = server.url + f"graphs?graph={EX}graph/remote"
    bodies = [
        ("application/ld+json", json.dumps({"@context": f"http://127.0.0.1:{port}/ctx.jsonld",
                                            "@id": f"{EX}x", "p": 1})),
        ("application/ld+json", json.dumps({"@context": {"p": {"@id": f"{EX}p", "@context":
                                            f"http://127.0.0.1:{port}/scoped"}},
                                            "@id": f"{EX}x", "p": {"q": 1}})),
        ("application/rdf+xml", f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM '
                                f'"http://127.0.0.1:{port}/e">]><rdf:RDF xmlns:rdf='
                                '"http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'),
    ]
    try:
        for media_type, body in bodies:
            response = requests.put(url, data=body.encode(), timeout=30,
                                    headers={"Content-Type": media_type, **auth()})
            assert response.status_code == 400, (media_type, response.text)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert fingerprint(server) == before


# ---- real clients --------------------------------------------------------------------------

def test_sparqlwrapper_and_rdflib_update_with_a_token(server: ServerProcess) -> None:
    from rdflib import Graph, Literal, URIRef
    from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore
    from SPARQLWrapper import POST, SPARQLWrapper

    client = SPARQLWrapper(server.sparql, updateEndpoint=server.url + "update")
    client.setMethod(POST)
    client.addCustomHttpHeader("Authorization", f"Bearer {CURATOR}")
    client.setQuery(f"INSERT DATA {{ GRAPH <{EX}graph/clients> {{ <{EX}w> <{EX}p> \"wrapper\" }} }}")
    result = client.query()
    assert result.response.status == 200
    store = SPARQLUpdateStore(server.sparql, server.url + "update",
                              headers={"Authorization": f"Bearer {CURATOR}"})
    Graph(store=store, identifier=URIRef(f"{EX}graph/clients")).add(
        (URIRef(f"{EX}r"), URIRef(f"{EX}p"), Literal("rdflib")))
    rows = select(server, f"SELECT ?o WHERE {{ GRAPH <{EX}graph/clients> {{ ?s ?p ?o }} }} ORDER BY ?o")
    assert [r["o"] for r in rows] == ["rdflib", "wrapper"]


# ---- revert, history ---------------------------------------------------------------------------

def test_revert_undoes_a_write_and_is_audited(server: ServerProcess) -> None:
    graph = f"{EX}graph/revert"
    first = update(server, f"INSERT DATA {{ GRAPH <{graph}> {{ <{EX}k> <{EX}p> 1 . <{EX}k> <{EX}q> 2 }} }}")
    assert first.status_code == 200
    before = fingerprint(server)
    second = update(server, f"DELETE {{ GRAPH <{graph}> {{ <{EX}k> <{EX}p> ?v }} }} "
                            f"INSERT {{ GRAPH <{graph}> {{ <{EX}k> <{EX}p> 10 }} }} "
                            f"WHERE {{ GRAPH <{graph}> {{ <{EX}k> <{EX}p> ?v }} }}")
    assert second.json()["added"] == 1 and second.json()["removed"] == 1
    env = {**__import__("os").environ, "MCKG_TOKEN": CURATOR}
    done = subprocess.run([sys.executable, "-m", "mckg.cli", "revert", second.json()["write"],
                           "--endpoint", server.url], capture_output=True, text=True,
                          timeout=300, env=env, check=False)
    if done.returncode != 0 and "No module named mckg.cli.__main__" in done.stderr:
        done = subprocess.run([sys.executable, "-c", "from mckg.cli import main; main()",
                               "revert", second.json()["write"], "--endpoint", server.url],
                              capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert without_audit(fingerprint(server)) == without_audit(before)
    listed = subprocess.run([sys.executable, "-c", "from mckg.cli import main; main()",
                             "history", "--endpoint", server.url, "--json"],
                            capture_output=True, text=True, timeout=120, check=True)
    rows = json.loads(listed.stdout)
    assert rows[0]["operation"] == "revert" and rows[0]["reverts"] == second.json()["write"]
    unknown = requests.post(server.url + "curation/revert", params={"id": "20200101T000000000000Z-00000000"},
                            headers=auth(), timeout=60)
    assert unknown.status_code == 404
    page = requests.get(server.url + "curation", headers={"Accept": "text/html"}, timeout=60)
    assert page.status_code == 200 and second.json()["write"] in page.text


# ---- shipped layers and reasoning ------------------------------------------------------------

def test_a_write_to_a_layer_reruns_reasoning(server: ServerProcess) -> None:
    country = f"{BASE}id/region/ES-XA"
    text = (f"PREFIX mckg: <{BASE}def#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            f"INSERT DATA {{ GRAPH <{DATA}> {{ <{country}> a mckg:Region ; "
            f"rdfs:label \"Atlantis\"@en ; mckg:countryCode \"ES-XA\" ; "
            f"mckg:withinCountry <{BASE}id/country/ES> }} }}")
    assert update(server, text).status_code == 403  # the curator's scope has no layer
    response = update(server, text, token=EDITOR)
    assert response.status_code == 200, response.text
    body = response.json()
    assert INFERRED in body["graphs"] and "reasoning" in body["seconds"]
    inferred = select(server, f"SELECT ?type WHERE {{ GRAPH <{INFERRED}> {{ <{country}> a ?type }} }}")
    assert {r["type"] for r in inferred} >= {f"{BASE}def#Jurisdiction"}
    undo = update(server, text.replace("INSERT DATA", "DELETE DATA"), token=EDITOR)
    assert undo.status_code == 200
    assert select(server, f"SELECT * WHERE {{ GRAPH ?g {{ <{country}> ?p ?o }} }}") == []


# ---- time and queue limits -------------------------------------------------------------------

SLOW = (f"INSERT {{ GRAPH <{EX}graph/slow> {{ <{EX}slow> <{EX}n> ?n }} }} WHERE {{ "
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } }")


def test_an_update_past_the_time_limit_is_stopped_and_writes_nothing(
        server: ServerProcess) -> None:
    before = fingerprint(server)
    started = time.monotonic()
    response = update(server, SLOW)
    assert response.status_code == 503, response.text
    assert "Retry-After" in response.headers and "4 s" in response.text
    assert time.monotonic() - started < 30
    assert fingerprint(server) == before
    # The next write starts a new worker and goes through.
    fine = update(server, f"INSERT DATA {{ GRAPH <{EX}graph/after> {{ <{EX}x> <{EX}p> 1 }} }}")
    assert fine.status_code == 200, fine.text


def test_writers_are_serialised_and_excess_gets_503(server: ServerProcess) -> None:
    """One write runs (a slow one, stopped at the limit), one waits (write_queue = 1); the
    rest are turned away at once with Retry-After."""
    results: list[requests.Response] = []
    lock = threading.Lock()

    def write(text: str) -> None:
        response = update(server, text)
        with lock:
            results.append(response)

    threads = [threading.Thread(target=write, args=(SLOW,))]
    threads[0].start()
    time.sleep(1.0)
    threads += [threading.Thread(target=write, args=(
        f"INSERT DATA {{ GRAPH <{EX}graph/queue> {{ <{EX}q{i}> <{EX}p> {i} }} }}",))
        for i in range(5)]
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(120)
    statuses = sorted(r.status_code for r in results)
    busy = [r for r in results if r.status_code == 503 and "waiting" in r.text]
    assert len(results) == 6
    assert len(busy) >= 3, statuses
    assert all(r.headers.get("Retry-After") for r in busy)
    accepted = [r for r in results if r.status_code == 200]
    assert accepted
    rows = select(server, f"SELECT ?s WHERE {{ GRAPH <{EX}graph/queue> {{ ?s ?p ?o }} }}")
    assert len(rows) == len(accepted)


def test_tokens_are_never_logged(server: ServerProcess) -> None:
    assert update(server, f"INSERT DATA {{ GRAPH <{EX}graph/log> {{ <{EX}l> <{EX}p> 1 }} }}"
                  ).status_code == 200
    assert update(server, "INSERT DATA { <a:b> <a:c> 1 }", token="wrong-secret").status_code == 401
    log = "\n".join(server.log)
    assert "curation worker started" in log
    assert CURATOR not in log and "wrong-secret" not in log and hash_token(CURATOR) not in log


def test_reasoning_and_validation_have_their_own_time_limit(tmp_path: Path) -> None:
    """A write to a layer re-runs reasoning (seconds): past validation_timeout it is stopped."""
    proc = _serve(tmp_path, _config(tmp_path / "mckg.toml", validation_timeout=2.0))
    try:
        before = fingerprint(proc)
        text = (f"PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\nINSERT DATA {{ GRAPH "
                f"<{DATA}> {{ <{BASE}id/country/ES> skos:note \"checked\"@en }} }}")
        response = update(proc, text, token=EDITOR)
        assert response.status_code == 503, response.text
        assert "2 s" in response.text and response.headers["Retry-After"]
        assert fingerprint(proc) == before
        # The same write to a graph that is not reasoned over goes through in time.
        fine = update(proc, text.replace(DATA, CURATED), token=EDITOR)
        assert fine.status_code == 200, fine.text
    finally:
        proc.stop()


def test_history_and_revert_on_a_store_no_server_holds(tmp_path: Path) -> None:
    proc = _serve(tmp_path, _config(tmp_path / "mckg.toml"))
    try:
        written = update(proc, f"INSERT DATA {{ GRAPH <{EX}graph/offline> {{ <{EX}o> <{EX}p> 1 }} }}")
        assert written.status_code == 200
    finally:
        proc.stop()
    cli = [sys.executable, "-c", "from mckg.cli import main; main()"]
    store = f"oxigraph:{tmp_path / 'store'}"
    env = {**__import__("os").environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    listed = subprocess.run([*cli, "history", "--store", store], capture_output=True, text=True,
                            timeout=300, env=env, check=True)
    assert written.json()["write"] in listed.stdout and "curator" in listed.stdout
    done = subprocess.run([*cli, "revert", written.json()["write"], "--store", store],
                          capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "-1 triples" in done.stdout
    after = subprocess.run([*cli, "history", "--store", store, "--json"], capture_output=True,
                           text=True, timeout=300, env=env, check=True)
    rows = json.loads(after.stdout)
    assert rows[0]["agent"].startswith("cli:") and rows[0]["reverts"] == written.json()["write"]
    query = subprocess.run([*cli, "query", "--store", store, "--format", "csv",
                            f"SELECT ?o WHERE {{ GRAPH <{EX}graph/offline> {{ ?s ?p ?o }} }}"],
                           capture_output=True, text=True, timeout=300, env=env, check=True)
    assert query.stdout.strip().splitlines() == ["o"]


def test_tokens_come_from_toml_or_the_environment_as_digests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mckg.config import load_settings
    from mckg.curation.tokens import AuthError, Tokens

    from_file = load_settings(_config(tmp_path / "mckg.toml"))
    assert [name for name, _, _ in from_file.tokens] == ["curator", "editor"]
    assert CURATOR not in repr(from_file)
    monkeypatch.setenv("MCKG_TOKENS", json.dumps(
        {"alice": {"sha256": hash_token("alice-secret"), "graphs": [f"{EX}graph/*"]}}))
    settings = load_settings()
    tokens = Tokens(settings.tokens, settings.base)
    alice = tokens.authenticate("Bearer alice-secret")
    assert alice.name == "alice" and tokens.may_write(alice, f"{EX}graph/x")
    assert not tokens.may_write(alice, DATA) and not tokens.may_write(alice, AUDIT)
    with pytest.raises(AuthError) as refused:
        tokens.authenticate("Bearer alice-secret2")
    assert refused.value.status == 401
    monkeypatch.setenv("MCKG_TOKENS", json.dumps({"bob": {"sha256": "abc", "graphs": ["x:g"]}}))
    with pytest.raises(ValueError, match="64 hex digits"):
        load_settings()


def test_using_graph_uri_sets_the_dataset_of_the_where(server: ServerProcess) -> None:
    source, target = f"{EX}graph/using-source", f"{EX}graph/using-target"
    assert update(server, f"INSERT DATA {{ GRAPH <{source}> {{ <{EX}u> <{EX}p> 1 }} }}"
                  ).status_code == 200
    copy = f"INSERT {{ GRAPH <{target}> {{ ?s ?p ?o }} }} WHERE {{ ?s ?p ?o }}"
    response = requests.post(server.url + "update", headers=auth(), timeout=120,
                             data={"update": copy, "using-graph-uri": source})
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 1  # the WHERE saw only the source graph
    rows = select(server, f"SELECT ?s WHERE {{ GRAPH <{target}> {{ ?s ?p ?o }} }}")
    assert rows == [{"s": f"{EX}u"}]
    direct = requests.post(server.url + "update", params={"using-graph-uri": source},
                           data=copy.replace("WHERE", f"USING <{source}> WHERE").encode(),
                           headers={"Content-Type": UPDATE, **auth()}, timeout=60)
    assert direct.status_code == 400 and "one or the other" in direct.text
