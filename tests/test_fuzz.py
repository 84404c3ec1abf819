"""Property-based fuzzing: whatever a client sends or a file holds, no 500 and no traceback.

hypothesis generates requests for every parameter and body of ``/sparql``, the linked-data
routes and ``/search`` against one real ``mckg serve`` process (a small graph, a short time
limit, so that a generated query that happens to be expensive ends in a 503 within seconds),
and bytes and JSON-LD documents for the loaders. The examples are derandomized and bounded in
number, so a run is reproducible and its length known; a failure prints the example to replay.

What is checked for every answer: a status below 500 (or 503 with ``Retry-After``: the time
limit or a busy server, which is the server protecting itself), a ``Content-Type``, no Python
traceback in the body; and after each test, that the server still answers a plain query.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from serving import EDGE_CASES, ServerProcess, start_server

from mckg.rdf.files import DataError, parse_bytes
from mckg.rdf.formats import FORMATS
from mckg.store.loading import load_files
from mckg.store.memory import MemoryStore

TIMEOUT = 30
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

#: Pieces of SPARQL, so that generated text reaches past the first token of the grammar.
TOKENS = ["SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "{", "}", "(", ")", "[", "]", "*",
          "?s", "?p", "?o", "?x", "$y", "<http://example.org/a>", "<s>", "<>", "ex:a", "x:",
          "_:b", '"a"', "'b'", '"""c"""', "@en", "^^xsd:integer", "1", "-2.5", "1e9", "true",
          "FILTER", "OPTIONAL", "UNION", "MINUS", "GRAPH", "SERVICE", "BIND", "AS", "VALUES",
          "UNDEF", "FROM", "NAMED", "PREFIX", "BASE", "LIMIT", "OFFSET", "GROUP", "BY",
          "HAVING", "COUNT", "SUM", "STR", "REGEX", "LANG", "EXISTS", "NOT", "IN", "a", ".",
          ";", ",", "/", "|", "^", "+", "!", "=", "&&", "||", "#", "\n", "INSERT", "DATA",
          "DELETE", "LOAD", "CLEAR", "DROP", "\\u0053ERVICE", "\u00e9", "\u202e", "\x00"]
sparql_text = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join),
    st.text(max_size=200),
)
#: Media types a client may send, well formed or not.
media_types = st.one_of(
    st.sampled_from(["application/sparql-results+json", "text/csv", "text/turtle",
                     "application/ld+json", "text/html", "*/*", "application/*;q=0.5",
                     "image/png", "text/plain;q=0", "", "application/sparql-query",
                     "application/x-www-form-urlencoded", "application/sparql-update",
                     "multipart/form-data; boundary=x"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
)
#: Text safe to put in a header (HTTP headers are latin-1; requests refuses other text).
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
params = st.dictionaries(
    st.sampled_from(["query", "update", "default-graph-uri", "named-graph-uri", "format",
                     "output", "results", "q", "wave", "limit", "countries", "columns"]),
    st.one_of(sparql_text, header_text), max_size=4)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A small graph (the edge cases, no reasoning) with a 3 s time limit and 2 workers."""
    workdir = tmp_path_factory.mktemp("fuzz")
    server = start_server(["--no-shipped", "serve", "--port", "0", "--store", "memory",
                           "--file", str(EDGE_CASES), "--no-reasoning", "--workers", "2",
                           "--query-timeout", "3", "--result-limit", "100"], workdir=workdir)
    yield server
    server.stop()


def check_answer(response: requests.Response) -> None:
    """The server answered as a server should: no 500, a type, no traceback."""
    assert response.status_code < 500 or (response.status_code == 503
                                          and "Retry-After" in response.headers), (
        response.status_code, response.text[:500])
    assert response.headers.get("Content-Type"), response.status_code
    assert "Traceback (most recent call last)" not in response.text


def check_healthy(server: ServerProcess) -> None:
    """A plain query still gets its plain answer (no worker lost, nothing stuck)."""
    r = requests.get(server.sparql, params={"query": "ASK { ?s ?p ?o }"},
                     headers={"Accept": "application/sparql-results+json"}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["boolean"] is True
    assert server.process.poll() is None, "the server process ended"


@FUZZ
@given(query=sparql_text, extra=params, accept=media_types)
@example(query="SELECT * WHERE " + "{" * 3000 + "}" * 3000, extra={}, accept="*/*")
@example(query="ASK { FILTER(" + "(" * 10_000 + "1" + ")" * 10_000 + ") }", extra={}, accept="*/*")
@example(query="SELECT * WHERE { ?s " + "/".join(["<http://x/p>"] * 3000) + " ?o }", extra={},
         accept="*/*")
@example(query="# service\n" + "SELECT * WHERE { ?s ?p ?o }", extra={}, accept="*/*")
def test_sparql_get(fuzz_server: ServerProcess, query: str, extra: dict[str, str],
                    accept: str) -> None:
    r = requests.get(fuzz_server.sparql, params={"query": query, **extra},
                     headers={"Accept": accept}, timeout=TIMEOUT)
    check_answer(r)


@FUZZ
@given(body=st.one_of(sparql_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                      st.binary(max_size=300)),
       content_type=media_types, extra=params)
def test_sparql_post(fuzz_server: ServerProcess, body: bytes, content_type: str,
                     extra: dict[str, str]) -> None:
    r = requests.post(fuzz_server.sparql, params=extra, data=body,
                      headers={"Content-Type": content_type}, timeout=TIMEOUT)
    check_answer(r)


@FUZZ
@given(form=params, accept=media_types)
def test_sparql_form(fuzz_server: ServerProcess, form: dict[str, str], accept: str) -> None:
    r = requests.post(fuzz_server.sparql, data={k: v.encode("utf-8", "surrogatepass")
                                                for k, v in form.items()},
                      headers={"Accept": accept}, timeout=TIMEOUT)
    check_answer(r)


path_part = st.one_of(
    st.sampled_from(["country/ES", "finding/x", "..", "%2e%2e", "/", "//evil.example/x",
                     "a.ttl", "a.jsonld", "a.html", "a.rdf", "a.nt", "a.xyz", "%00", "%ff",
                     "def", "dataset/mckg", "a?b", "a#b"]),
    st.text(max_size=30).map(lambda t: quote(t, safe="/.%")),
)
routes = st.sampled_from(["id/", "doc/", "vocab/", "def/", "graph/", "downloads/", "static/",
                          "ld-static/", "search", "compare", "compare.csv", "",
                          ".well-known/void", "context.jsonld", "sparql"])


@FUZZ
@example(route="id/", path="/evil.example/x", query={}, accept="text/html", host="evil.example")
@example(route="doc/", path="/country/ES", query={}, accept="text/html", host="evil.example")
@example(route="static/", path="/x", query={}, accept="*/*", host="evil.example")
@given(route=routes, path=path_part, query=params, accept=media_types,
       host=st.sampled_from(["", "evil.example", "127.0.0.1:1", "[::1]", "a" * 300]))
def test_pages(fuzz_server: ServerProcess, route: str, path: str, query: dict[str, str],
               accept: str, host: str) -> None:
    headers = {"Accept": accept}
    if host:
        headers["Host"] = host
    r = requests.get(fuzz_server.url + route + path, params=query,
                     headers=headers, timeout=TIMEOUT, allow_redirects=False)
    check_answer(r)
    location = r.headers.get("Location", "")
    assert "evil.example" not in location, location


@FUZZ
@given(q=st.one_of(st.text(max_size=200), st.sampled_from(["digital skills", "*", "%", "\\",
                                                            "' OR 1=1", "<script>", "a" * 5000])))
def test_search(fuzz_server: ServerProcess, q: str) -> None:
    r = requests.get(fuzz_server.url + "search", params={"q": q},
                     headers={"Accept": "text/html"}, timeout=TIMEOUT)
    check_answer(r)
    assert "<script>" not in r.text.replace('<script src="', "")


def test_the_server_survived_the_fuzzing(fuzz_server: ServerProcess) -> None:
    """Runs after the fuzz tests of this module (same server): it still answers."""
    check_healthy(fuzz_server)


# ---- the loaders ------------------------------------------------------------------------------

@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every connection a loader attempts is refused and recorded; none may be attempted.

    Recorded rather than raised: a parser that catches the error would hide the attempt.
    """
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access is not allowed in this test")

    def resolve(*args: object, **kwargs: object) -> list[object]:
        attempts.append(args[:2])
        raise socket.gaierror("name resolution is not allowed in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    yield attempts
    assert not attempts, f"a loader tried to reach {attempts}"


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
              st.sampled_from(["http://127.0.0.1:9/ctx.jsonld", "https://example.org/c",
                               "@id", "@type", "@vocab", "@context", "@import", "@graph",
                               "xsd:integer", "_:b"])),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["@context", "@id", "@type", "@value", "@graph",
                                         "@import", "@vocab", "@language", "@list", "p",
                                         "http://example.org/p", "ex"]),
                        children, max_size=4)),
    max_leaves=20)


@FUZZ
@given(data=st.one_of(st.binary(max_size=400),
                      st.lists(st.sampled_from([*TOKENS, "<a>", "<b>", "<c>", " .\n", "@prefix",
                                                "<!DOCTYPE", "<rdf:RDF", "&e;"]),
                               max_size=40).map(lambda t: " ".join(t).encode())),
       fmt=st.sampled_from(FORMATS))
def test_parsing_bytes_fails_only_with_a_data_error(no_network: list[object], data: bytes,
                                                    fmt: object) -> None:
    try:
        parse_bytes(data, fmt, source="fuzz")  # type: ignore[arg-type]
    except DataError as exc:
        assert str(exc).startswith("fuzz"), str(exc)


REMOTE = "http://127.0.0.1:9/context.jsonld"


@FUZZ
@given(doc=json_values)
@example(doc={"@context": {"p": {"@id": "http://x/p", "@context": REMOTE}},
              "p": {"http://x/q": 1}})  # a scoped context inside a term definition
@example(doc={"@context": {"T": {"@id": "http://x/T", "@context": REMOTE}}, "@type": "T",
              "http://x/q": 1})  # a type-scoped context
@example(doc={"@context": [{"@vocab": "http://x/"}, REMOTE], "p": 1})
@example(doc={"@context": {"@import": REMOTE}, "p": 1})
@example(doc={"@graph": [{"@context": REMOTE, "p": 1}]})
def test_json_ld_never_fetches_and_fails_only_with_a_data_error(no_network: list[object],
                                                                doc: object) -> None:
    fmt = next(f for f in FORMATS if f.name == "json-ld")
    try:
        parse_bytes(json.dumps(doc).encode(), fmt, source="fuzz.jsonld")
    except DataError as exc:
        assert str(exc).startswith("fuzz.jsonld"), str(exc)
    assert not no_network, f"parsing tried to reach {no_network}"
    no_network.clear()


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".nt", ".nq", ".ttl", ".trig",
                                                             ".jsonld", ".rdf", ".nt.gz"]))
def test_loading_bad_bytes_changes_nothing(tmp_path: Path, no_network: list[object], data: bytes,
                                           suffix: str) -> None:
    store = MemoryStore()
    store.load_nquads(b"<http://x/a> <http://x/p> <http://x/b> <http://x/g> .\n")
    before = store.counts()
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        load_files(store, [path], graph="http://x/loaded")
    except DataError as exc:
        assert str(exc).startswith(str(path)), str(exc)
        assert store.counts() == before
