"""The SPARQL 1.1 endpoint over real HTTP, driven by requests, SPARQLWrapper and rdflib.

One ``mckg serve`` process (Oxigraph store, shipped graph plus ``data/endpoint/edge-cases.trig``)
serves the whole session (fixture ``server`` in conftest). Answers are checked by value —
bindings, datatypes, language tags, ASK true and false, empty results — not only by status.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from serving import EDGE_CASES, ServerProcess, start_server
from SPARQLWrapper import CSV, JSON, POST, RDFXML, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

EX = Namespace("http://example.org/")
# Plain namespaces: pytest's collection probes module globals, which rdflib's closed
# DefinedNamespace classes answer with warnings.
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
VOID = Namespace("http://rdfs.org/ns/void#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
SRJ = "application/sparql-results+json"
SRX = "application/sparql-results+xml"
G1, G2 = "http://example.org/g1", "http://example.org/g2"
TIMEOUT = 30  # seconds any single request of these tests may take


def get(server: ServerProcess, query: str, *, headers: dict[str, str] | None = None,
        **params: str | list[str]) -> requests.Response:
    """GET /sparql?query=…"""
    return requests.get(server.sparql, params={"query": query, **params}, headers=headers or {},
                        timeout=TIMEOUT)


def bindings(response: requests.Response) -> list[dict[str, dict[str, str]]]:
    """The bindings of a SPARQL JSON answer (after checking it is one)."""
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith(SRJ)
    data = response.json()
    assert set(data) == {"head", "results"}
    return data["results"]["bindings"]


def values(response: requests.Response, var: str) -> list[str]:
    """The values bound to ``var``, in answer order."""
    return [b[var]["value"] for b in bindings(response) if var in b]


def assert_error(response: requests.Response, status: int, *needles: str) -> str:
    """Every error: the status, a plain-text body naming the problem, and no stack trace."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.text
    assert "Traceback" not in body and 'File "' not in body
    if response.headers["Content-Type"].startswith("text/plain"):
        assert body.startswith(f"{status} "), body
    for needle in needles:
        assert needle.lower() in body.lower(), (needle, body)
    return body


# ---- the protocol: three ways to send a query ---------------------------------------------

NAMES = "SELECT ?name WHERE { <http://example.org/alice> <http://example.org/name> ?name } ORDER BY ?name"


def test_get_post_form_and_post_direct_give_the_same_answer(server: ServerProcess) -> None:
    by_get = get(server, NAMES)
    by_form = requests.post(server.sparql, data={"query": NAMES}, timeout=TIMEOUT)
    by_body = requests.post(server.sparql, data=NAMES.encode("utf-8"), timeout=TIMEOUT,
                            headers={"Content-Type": "application/sparql-query"})
    expected = [{"name": {"type": "literal", "value": "Alice", "xml:lang": "en"}},
                {"name": {"type": "literal", "value": "Alicia", "xml:lang": "es"}}]
    assert bindings(by_get) == bindings(by_form) == bindings(by_body) == expected


def test_direct_post_takes_dataset_parameters_from_the_url(server: ServerProcess) -> None:
    response = requests.post(server.sparql, params={"default-graph-uri": G2},
                             data="SELECT ?s WHERE { ?s <http://example.org/name> ?n }",
                             headers={"Content-Type": "application/sparql-query; charset=utf-8"},
                             timeout=TIMEOUT)
    assert values(response, "s") == ["http://example.org/dave"]


def test_query_text_with_non_ascii_characters(server: ServerProcess) -> None:
    query = 'SELECT ?x WHERE { BIND("Ação ✓" AS ?x) }'
    for response in (get(server, query),
                     requests.post(server.sparql, data=query.encode("utf-8"), timeout=TIMEOUT,
                                   headers={"Content-Type": "application/sparql-query"})):
        assert values(response, "x") == ["Ação ✓"]


# ---- the dataset: default graph = merge of the named graphs; protocol datasets -------------

def test_named_graphs_are_queryable_with_graph(server: ServerProcess) -> None:
    graphs = values(get(server, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"), "g")
    assert G1 in graphs and G2 in graphs
    assert "https://w3id.org/mckg/graph/data" in graphs
    assert "https://w3id.org/mckg/graph/inferred" in graphs
    assert not any(g.startswith("urn:x-") for g in graphs)  # no store-internal graphs
    response = get(server, "SELECT ?g WHERE { GRAPH ?g { <http://example.org/shared> ?p ?o } } ORDER BY ?g")
    assert values(response, "g") == [G1, G2]


def test_default_graph_is_the_rdf_merge(server: ServerProcess) -> None:
    """A triple held by two graphs is one triple of the default graph (SPARQL 1.1 §13.2)."""
    count = "SELECT (COUNT(*) AS ?n) FROM_CLAUSE WHERE { <http://example.org/shared> ?p ?o }"
    union = count.replace("FROM_CLAUSE", "")
    assert values(get(server, union), "n") == ["1"]
    both = count.replace("FROM_CLAUSE", f"FROM <{G1}> FROM <{G2}>")
    assert values(get(server, both), "n") == ["1"]
    assert values(get(server, union, **{"default-graph-uri": [G1, G2]}), "n") == ["1"]


def test_from_and_from_named_clauses(server: ServerProcess) -> None:
    only_g2 = get(server, f"SELECT ?s FROM <{G2}> WHERE {{ ?s <http://example.org/name> ?n }}")
    assert values(only_g2, "s") == ["http://example.org/dave"]
    named = get(server, f"SELECT ?g ?s FROM NAMED <{G2}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}")
    assert {b["g"]["value"] for b in bindings(named)} == {G2}
    empty_default = get(server, f"SELECT ?s FROM NAMED <{G2}> WHERE {{ ?s ?p ?o }}")
    assert bindings(empty_default) == []


def test_protocol_dataset_overrides_the_query(server: ServerProcess) -> None:
    query = f"SELECT ?s FROM <{G1}> WHERE {{ ?s <http://example.org/name> ?n }} ORDER BY ?s"
    assert values(get(server, query, **{"default-graph-uri": G2}), "s") == ["http://example.org/dave"]
    named = get(server, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                **{"named-graph-uri": G1})
    assert values(named, "g") == [G1]
    # only named graphs given: the default graph is empty
    assert bindings(get(server, "SELECT * WHERE { ?s ?p ?o }", **{"named-graph-uri": G1})) == []


# ---- values: datatypes, language tags, escapes, edge cases ---------------------------------

def test_literal_datatypes_and_language_tags(server: ServerProcess) -> None:
    response = get(server, "SELECT ?p ?o WHERE { GRAPH <http://example.org/g1> "
                   "{ <http://example.org/alice> ?p ?o } }")
    got = {b["p"]["value"].rsplit("/", 1)[-1]: b["o"] for b in bindings(response)
           if b["p"]["value"] != str(EX.name)}
    assert got["age"] == {"type": "literal", "value": "42", "datatype": str(XSD.integer)}
    assert got["height"] == {"type": "literal", "value": "1.75", "datatype": str(XSD.decimal)}
    assert got["weight"]["datatype"] == str(XSD.double) and float(got["weight"]["value"]) == 65.0
    assert got["member"] == {"type": "literal", "value": "true", "datatype": str(XSD.boolean)}
    assert got["born"] == {"type": "literal", "value": "1990-05-01", "datatype": str(XSD.date)}
    assert got["code"] == {"type": "literal", "value": "A-1", "datatype": str(EX.customType)}
    assert got["note"] == {"type": "literal",
                           "value": 'line one\nline two\twith a tab and "quotes"'}
    assert got["knows"] == {"type": "uri", "value": str(EX.bob)}
    dave = bindings(get(server, "SELECT ?n WHERE { <http://example.org/dave> <http://example.org/name> ?n }"))
    assert dave[0]["n"]["xml:lang"].lower() == "en-gb" and dave[0]["n"]["value"] == "Dave"


def test_computed_values_keep_their_types(server: ServerProcess) -> None:
    response = get(server, 'SELECT (1 + 1 AS ?i) (1.5 * 2 AS ?d) (STRLEN("abc") AS ?len) '
                   '(LANG("x"@pt) AS ?lang) (STR(<http://e/x>) AS ?s) WHERE {}')
    (row,) = bindings(response)
    assert row["i"] == {"type": "literal", "value": "2", "datatype": str(XSD.integer)}
    assert row["d"]["datatype"] == str(XSD.decimal) and float(row["d"]["value"]) == 3.0
    assert row["len"] == {"type": "literal", "value": "3", "datatype": str(XSD.integer)}
    assert row["lang"] == {"type": "literal", "value": "pt"}
    assert row["s"] == {"type": "literal", "value": "http://e/x"}


@pytest.mark.parametrize(("query", "expected"), [
    ("ASK { <http://example.org/alice> <http://example.org/knows> <http://example.org/bob> }", True),
    ("ASK { <http://example.org/bob> <http://example.org/knows> <http://example.org/alice> }", False),
])
def test_ask_true_and_false_in_json_and_xml(server: ServerProcess, query: str, expected: bool) -> None:
    as_json = get(server, query)
    assert as_json.status_code == 200 and as_json.headers["Content-Type"].startswith(SRJ)
    assert as_json.json() == {"head": {}, "boolean": expected}
    as_xml = get(server, query, headers={"Accept": SRX})
    root = ElementTree.fromstring(as_xml.content)
    ns = "{http://www.w3.org/2005/sparql-results#}"
    assert root.find(f"{ns}boolean").text == ("true" if expected else "false")


def test_empty_results_in_every_format(server: ServerProcess) -> None:
    query = "SELECT ?s ?o WHERE { ?s <http://example.org/nothing> ?o }"
    data = get(server, query).json()
    assert data == {"head": {"vars": ["s", "o"]}, "results": {"bindings": []}}
    assert get(server, query, format="csv").text.splitlines() == ["s,o"]
    assert get(server, query, format="tsv").text.splitlines() == ["?s\t?o"]
    root = ElementTree.fromstring(get(server, query, format="xml").content)
    ns = "{http://www.w3.org/2005/sparql-results#}"
    assert [v.get("name") for v in root.iter(f"{ns}variable")] == ["s", "o"]
    assert list(root.iter(f"{ns}result")) == []


def test_optional_leaves_variables_unbound(server: ServerProcess) -> None:
    query = ("SELECT ?p ?city WHERE { VALUES ?p { <http://example.org/bob> "
             "<http://example.org/carol> } OPTIONAL { ?p <http://example.org/address>/"
             "<http://example.org/city> ?city } } ORDER BY ?p")
    assert bindings(get(server, query)) == [
        {"p": {"type": "uri", "value": str(EX.bob)}},
        {"p": {"type": "uri", "value": str(EX.carol)}, "city": {"type": "literal", "value": "Lisbon"}},
    ]
    as_csv = list(csv.reader(io.StringIO(get(server, query, format="csv").text)))
    assert as_csv == [["p", "city"], [str(EX.bob), ""], [str(EX.carol), "Lisbon"]]


def test_aggregates_over_empty_groups(server: ServerProcess) -> None:
    (row,) = bindings(get(server, "SELECT (COUNT(?x) AS ?n) (SUM(?y) AS ?total) WHERE "
                                  "{ ?x <http://example.org/nothing> ?y }"))
    assert row["n"] == {"type": "literal", "value": "0", "datatype": str(XSD.integer)}
    assert row["total"] == {"type": "literal", "value": "0", "datatype": str(XSD.integer)}
    grouped = get(server, "SELECT ?y (COUNT(?x) AS ?n) WHERE { ?x <http://example.org/nothing> ?y } "
                  "GROUP BY ?y")
    assert bindings(grouped) == []


def test_property_paths_and_blank_nodes(server: ServerProcess) -> None:
    reach = get(server, "SELECT ?x WHERE { <http://example.org/alice> <http://example.org/knows>+ ?x } "
                "ORDER BY ?x")
    assert values(reach, "x") == [str(EX.bob), str(EX.carol)]
    (row,) = bindings(get(server, "SELECT ?a WHERE { <http://example.org/carol> "
                                  "<http://example.org/address> ?a }"))
    assert row["a"]["type"] == "bnode" and row["a"]["value"]


def test_competency_query_over_http(server: ServerProcess) -> None:
    from mckg.query.stored import catalogue

    if "cq01" not in catalogue():
        pytest.skip("no stored competency queries yet")
    response = requests.post(server.sparql, data={"query": catalogue()["cq01"].text},
                             timeout=TIMEOUT)
    rows = bindings(response)
    assert rows, "cq01 answers at least one row"
    assert "https://w3id.org/mckg/id/country/ES" in {r["jurisdiction"]["value"] for r in rows}


# ---- content negotiation ------------------------------------------------------------------

@pytest.mark.parametrize(("accept", "expected"), [
    (None, SRJ),
    ("*/*", SRJ),
    (SRX, SRX),
    ("application/json", SRJ),
    ("application/xml", SRX),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", SRX),
    ("application/sparql-results+json;q=0.1, text/*;q=0.8", "text/csv"),
    ("text/tab-separated-values, text/csv;q=0", "text/tab-separated-values"),
    ("application/*", SRJ),
    ("image/png, */*;q=0.1", SRJ),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
])
def test_accept_header_for_select(server: ServerProcess, accept: str | None, expected: str) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    response = requests.get(server.sparql, params={"query": NAMES}, headers=headers,
                            timeout=TIMEOUT)
    if accept is None:  # requests sends */*; send none at all
        response = requests.get(server.sparql, params={"query": NAMES}, timeout=TIMEOUT,
                                headers={"Accept": ""})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].split(";")[0] == expected
    assert "Accept" in response.headers["Vary"]
    if expected == "text/csv":
        assert response.text.splitlines() == ["name", "Alice", "Alicia"]
    if expected == "text/html":
        assert "<textarea" in response.text and "Alicia" not in response.text.split("<textarea")[0]


@pytest.mark.parametrize(("fmt", "expected"), [
    ("json", SRJ), ("xml", SRX), ("csv", "text/csv"), ("tsv", "text/tab-separated-values"),
    (["tsv", "text/tab-separated-values"], "text/tab-separated-values"),  # SPARQLWrapper's pair
    ("application/sparql-results+xml", SRX),
])
def test_format_parameter_wins_over_accept(server: ServerProcess, fmt: str | list[str],
                                           expected: str) -> None:
    for name in ("format", "output", "results"):
        response = get(server, NAMES, headers={"Accept": "text/csv"} if expected != "text/csv"
                       else {"Accept": SRJ}, **{name: fmt})
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].split(";")[0] == expected


CONSTRUCT = ("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <http://example.org/g1> "
             "{ ?s ?p ?o FILTER(?s = <http://example.org/alice>) } }")


@pytest.mark.parametrize(("accept", "rdflib_format"), [
    ("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"), ("application/n-quads", "nquads"), ("application/trig", "trig"),
])
def test_construct_in_every_rdf_format(server: ServerProcess, accept: str, rdflib_format: str) -> None:
    reference = Graph().parse(data=get(server, CONSTRUCT, headers={"Accept": "application/n-triples"}).text,
                              format="nt")
    assert len(reference) == 10
    response = get(server, CONSTRUCT, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].split(";")[0] == accept
    if rdflib_format in ("nquads", "trig"):
        parsed: Graph = Dataset()
        parsed.parse(data=response.text, format=rdflib_format)
        parsed = Graph() + parsed.default_graph if len(parsed.default_graph) else Graph() + parsed
    else:
        parsed = Graph().parse(data=response.content, format=rdflib_format)
    assert isomorphic(parsed, reference)
    if rdflib_format == "json-ld":
        assert "@context" in response.json()  # compacted with the project's context
    if rdflib_format == "turtle":
        assert "@prefix xsd:" in response.text  # the registry's prefixes, only those used
        assert "@prefix mckg:" not in response.text


@pytest.mark.parametrize(("query", "headers", "params"), [
    (NAMES, {"Accept": "image/png"}, {}),
    (NAMES, {"Accept": "text/turtle"}, {}),
    (CONSTRUCT, {"Accept": "text/csv"}, {}),
    (NAMES, {}, {"format": "turtle"}),
    (CONSTRUCT, {}, {"format": "csv"}),
    (NAMES, {}, {"format": "no-such-format"}),
])
def test_not_acceptable(server: ServerProcess, query: str, headers: dict[str, str],
                        params: dict[str, str]) -> None:
    response = get(server, query, headers=headers, **params)
    assert_error(response, 406, "available")


# ---- errors ---------------------------------------------------------------------------------

def test_malformed_query_names_line_and_column(server: ServerProcess) -> None:
    bad = "SELECT ?s\nWHERE { ?s ?p }"
    body = assert_error(get(server, bad), 400, "syntax error", "line 2")
    assert "column" in body
    problem = get(server, bad, headers={"Accept": "application/json"})
    assert problem.status_code == 400
    assert problem.headers["Content-Type"] == "application/problem+json"
    data = problem.json()
    assert data["status"] == 400 and data["line"] == 2 and isinstance(data["column"], int)
    html = get(server, bad, headers={"Accept": "text/html"})
    assert html.status_code == 400 and "text/html" in html.headers["Content-Type"]
    assert "line 2" in html.text


def test_unknown_prefix_is_a_bad_request(server: ServerProcess) -> None:
    body = assert_error(get(server, "SELECT * WHERE {\n  ?s nope:p ?o }"), 400, "unknown prefix nope:")
    assert "line 2" in body


def test_invalid_graph_iri_is_a_bad_request(server: ServerProcess) -> None:
    assert_error(get(server, "SELECT * WHERE { ?s ?p ?o }", **{"default-graph-uri": "not an iri"}),
                 400, "not an absolute IRI")


@pytest.mark.parametrize("send", [
    lambda s: requests.get(s.sparql, params={"default-graph-uri": G1}, timeout=TIMEOUT),
    lambda s: requests.post(s.sparql, data={"default-graph-uri": G1}, timeout=TIMEOUT),
    lambda s: requests.post(s.sparql, data=b"", timeout=TIMEOUT,
                            headers={"Content-Type": "application/x-www-form-urlencoded"}),
    lambda s: requests.post(s.sparql, data=b"  ", timeout=TIMEOUT,
                            headers={"Content-Type": "application/sparql-query"}),
])
def test_missing_query(server: ServerProcess, send) -> None:
    response = send(server)
    assert response.status_code == 400
    assert_error(response, 400, "query")


@pytest.mark.parametrize("send", [
    lambda s: requests.get(s.sparql, params={"query": [NAMES, NAMES]}, timeout=TIMEOUT),
    lambda s: requests.post(s.sparql, params={"query": NAMES}, data={"query": NAMES},
                            timeout=TIMEOUT),
    lambda s: requests.post(s.sparql, params={"query": NAMES}, data=NAMES, timeout=TIMEOUT,
                            headers={"Content-Type": "application/sparql-query"}),
])
def test_repeated_query(server: ServerProcess, send) -> None:
    assert_error(send(server), 400, "query")


@pytest.mark.parametrize(("send", "status"), [
    (lambda s: requests.post(s.sparql, data={"update": "INSERT DATA { <x:a> <x:b> <x:c> }"},
                             timeout=TIMEOUT), 403),
    (lambda s: requests.post(s.sparql, data="CLEAR ALL", timeout=TIMEOUT,
                             headers={"Content-Type": "application/sparql-update"}), 403),
    # An update sent as a query is a malformed request (tests/test_protocol.py).
    (lambda s: requests.post(s.sparql, data={"query": "INSERT DATA { <x:a> <x:b> <x:c> }"},
                             timeout=TIMEOUT), 400),
    (lambda s: requests.get(s.sparql, params={"query": "DELETE WHERE { ?s ?p ?o }"},
                            timeout=TIMEOUT), 400),
    (lambda s: requests.post(s.sparql, data={"query": "LOAD <http://example.org/data.ttl>"},
                             timeout=TIMEOUT), 400),
])
def test_updates_are_refused(server: ServerProcess, send, status: int) -> None:
    assert_error(send(server), status, "read-only")
    still = get(server, "ASK { <http://example.org/shared> ?p ?o }")
    assert still.json()["boolean"] is True


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_wrong_method(server: ServerProcess, method: str) -> None:
    response = requests.request(method, server.sparql, data="x", timeout=TIMEOUT)
    assert_error(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert_error(requests.post(server.url + ".well-known/void", timeout=TIMEOUT), 405)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None,
                                          "multipart/form-data; boundary=x"])
def test_wrong_content_type(server: ServerProcess, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(server.sparql, data=NAMES.encode(), headers=headers, timeout=TIMEOUT)
    if content_type is None:  # requests adds no Content-Type for bytes: that is the case tested
        assert "Content-Type" not in response.request.headers
    assert_error(response, 415, "application/sparql-query")


def test_oversized_query_and_body(server: ServerProcess) -> None:
    huge = "SELECT * WHERE { ?s ?p ?o } #" + "x" * (300 * 1024)
    assert_error(requests.post(server.sparql, data=huge, timeout=TIMEOUT,
                               headers={"Content-Type": "application/sparql-query"}), 413)
    assert_error(requests.post(server.sparql, data={"query": huge}, timeout=TIMEOUT), 413)
    body = "query=" + "%41" * (1024 * 1024)
    assert_error(requests.post(server.sparql, data=body, timeout=TIMEOUT,
                               headers={"Content-Type": "application/x-www-form-urlencoded"}), 413)


def test_unknown_path(server: ServerProcess) -> None:
    assert_error(requests.get(server.url + "no/such/thing", timeout=TIMEOUT), 404)
    problem = requests.get(server.url + "no/such/thing", headers={"Accept": "application/json"},
                           timeout=TIMEOUT)
    assert problem.json()["status"] == 404


# ---- service description and VoID ------------------------------------------------------------

def test_service_description(server: ServerProcess) -> None:
    response = requests.get(server.sparql, headers={"Accept": "text/turtle"}, timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/turtle")
    g = Graph().parse(data=response.text, format="turtle")
    (service,) = g.subjects(RDF.type, SD.Service)
    assert g.value(service, SD.endpoint) == URIRef(server.sparql)
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in g
    assert (service, SD.feature, SD.UnionDefaultGraph) in g
    formats = {str(f) for f in g.objects(service, SD.resultFormat)}
    assert "http://www.w3.org/ns/formats/SPARQL_Results_JSON" in formats
    assert "http://www.w3.org/ns/formats/Turtle" in formats
    dataset = g.value(service, SD.defaultDataset)
    named = {str(g.value(n, SD.name)): int(g.value(g.value(n, SD.graph), VOID.triples))
             for n in g.objects(dataset, SD.namedGraph)}
    counts = {b["g"]["value"]: int(b["n"]["value"]) for b in bindings(get(
        server, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"))}
    assert named == counts
    total = int(values(get(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"), "n")[0])
    assert int(g.value(g.value(dataset, SD.defaultGraph), VOID.triples)) == total
    as_jsonld = requests.get(server.sparql, params={"format": "json-ld"}, timeout=TIMEOUT)
    assert as_jsonld.headers["Content-Type"].startswith("application/ld+json")
    assert isomorphic(Graph().parse(data=as_jsonld.text, format="json-ld"), g)


def test_void_description(server: ServerProcess) -> None:
    response = requests.get(server.url + ".well-known/void", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    g = Graph().parse(data=response.text, format="turtle")
    ds = URIRef("https://w3id.org/mckg/id/dataset/mckg")
    assert (ds, DCTERMS.license, URIRef("https://creativecommons.org/licenses/by-sa/4.0/")) in g
    assert (ds, DCTERMS.source, URIRef("https://doi.org/10.5281/zenodo.13850890")) in g
    assert g.value(ds, VOID.sparqlEndpoint) == URIRef(server.sparql)
    assert URIRef("https://w3id.org/mckg/id/country/ES") in set(g.objects(ds, VOID.exampleResource))
    total = int(values(get(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"), "n")[0])
    assert int(g.value(ds, VOID.triples)) == total
    subsets = {str(g.value(s, SD.name)): int(g.value(s, VOID.triples))
               for s in g.objects(ds, VOID.subset)}
    assert subsets[G2] == 3 and subsets["https://w3id.org/mckg/graph/data"] > 1000
    rdfxml = requests.get(server.url + ".well-known/void", headers={"Accept": "application/rdf+xml"},
                          timeout=TIMEOUT)
    assert isomorphic(Graph().parse(data=rdfxml.content, format="xml"), g)
    assert_error(requests.get(server.url + ".well-known/void", headers={"Accept": "text/csv"},
                              timeout=TIMEOUT), 406)


# ---- limits, CORS, logging ---------------------------------------------------------------------

def test_result_limit_truncates_and_says_so(server: ServerProcess) -> None:
    everything = "SELECT * WHERE { ?s ?p ?o }"
    response = get(server, everything)
    assert response.headers["X-MCKG-Truncated"] == "true"
    assert response.headers["X-MCKG-Result-Limit"] == "1000"
    assert len(bindings(response)) == 1000  # and the body is a standard document
    rows = list(csv.reader(io.StringIO(get(server, everything, format="csv").text)))
    assert len(rows) == 1001 and rows[0] == ["o", "p", "s"]
    graph = get(server, "CONSTRUCT WHERE { ?s ?p ?o }", headers={"Accept": "application/n-triples"})
    assert graph.headers["X-MCKG-Truncated"] == "true"
    assert len(Graph().parse(data=graph.text, format="nt")) == 1000
    small = get(server, everything + " LIMIT 5")
    assert "X-MCKG-Truncated" not in small.headers and len(bindings(small)) == 5
    assert float(small.headers["X-MCKG-Query-Time"]) >= 0


def test_cors_for_reads(server: ServerProcess) -> None:
    response = get(server, NAMES, headers={"Origin": "https://elsewhere.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-MCKG-Truncated" in response.headers["Access-Control-Expose-Headers"]
    preflight = requests.options(server.sparql, timeout=TIMEOUT, headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_one_log_line_per_request_with_its_time(server: ServerProcess) -> None:
    marker = "logcheck" + str(time.time_ns())
    get(server, f"ASK {{ ?s ?p \"{marker}\" }}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the log reaches us through a pipe
        lines = [line for line in server.log if marker in line]
        if lines:
            break
        time.sleep(0.05)
    assert len(lines) == 1, server.log[-5:]
    assert '"GET /sparql?' in lines[0] and " 200 " in lines[0] and lines[0].endswith("ms")


# ---- other clients -------------------------------------------------------------------------------

def test_sparqlwrapper_json_xml_csv(server: ServerProcess) -> None:
    for method in ("GET", POST):
        sw = SPARQLWrapper(server.sparql)
        sw.setMethod(method)
        sw.setQuery(NAMES)
        sw.setReturnFormat(JSON)
        data = sw.queryAndConvert()
        assert [b["name"]["xml:lang"] for b in data["results"]["bindings"]] == ["en", "es"]
    sw = SPARQLWrapper(server.sparql)
    sw.setQuery(NAMES)
    sw.setReturnFormat(XML)
    doc = sw.queryAndConvert()
    assert [n.firstChild.data for n in doc.getElementsByTagName("literal")] == ["Alice", "Alicia"]
    sw.setReturnFormat(CSV)
    assert sw.queryAndConvert().decode().splitlines() == ["name", "Alice", "Alicia"]
    sw.setQuery("ASK { <http://example.org/alice> ?p ?o }")
    sw.setReturnFormat(JSON)
    assert sw.queryAndConvert()["boolean"] is True


def test_sparqlwrapper_construct_into_rdflib(server: ServerProcess) -> None:
    reference = Graph().parse(data=get(server, CONSTRUCT, format="nt").text, format="nt")
    sw = SPARQLWrapper(server.sparql)
    sw.setQuery(CONSTRUCT)
    sw.setReturnFormat(RDFXML)
    graph = sw.queryAndConvert()
    assert isinstance(graph, Graph) and isomorphic(graph, reference)
    sw.setReturnFormat(TURTLE)
    turtle = Graph().parse(data=sw.queryAndConvert(), format="turtle")
    assert isomorphic(turtle, reference)
    assert (EX.alice, EX.age, Literal(42)) in turtle


def test_sparqlwrapper_reports_bad_queries(server: ServerProcess) -> None:
    sw = SPARQLWrapper(server.sparql)
    sw.setQuery("SELECT ?s WHERE { ?s ?p }")
    sw.setReturnFormat(JSON)
    with pytest.raises(QueryBadFormed, match="line 1"):
        sw.queryAndConvert()


def test_rdflib_sparqlstore(server: ServerProcess) -> None:
    for method in ("GET", "POST_FORM"):
        store = SPARQLStore(server.sparql, method=method)
        rows = list(store.query(NAMES))
        assert [(str(r[0]), r[0].language) for r in rows] == [("Alice", "en"), ("Alicia", "es")]
        graph = Graph(store=store)
        assert set(graph.objects(EX.bob, EX.name)) == {Literal("Bob")}
        assert (EX.alice, EX.age, Literal(42)) in graph
        contexts = {str(getattr(c, "identifier", c)) for c in store.contexts()}
        assert {G1, G2} <= contexts
        g2 = Graph(store=store, identifier=URIRef(G2))
        assert set(g2.subjects(EX.name, None)) == {EX.dave}
        store.close()


# ---- safety: nothing leaves the server ------------------------------------------------------------

@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback socket that records every connection made to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    seen.append(conn.recv(4096) or b"<connected>")
                except OSError:
                    seen.append(b"<connected>")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/", seen
    stop.set()
    thread.join(2)
    sock.close()


def test_service_load_and_from_reach_nothing(server: ServerProcess,
                                             listener: tuple[str, list[bytes]]) -> None:
    address, seen = listener
    for query in (f"SELECT * WHERE {{ SERVICE <{address}sparql> {{ ?s ?p ?o }} }}",
                  f"SELECT * WHERE {{ ?a ?b ?c OPTIONAL {{ SERVICE SILENT <{address}> {{ ?s ?p ?o }} }} }}",
                  f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <{address}x> {{ ?s ?p ?o }} }} }} }}",
                  "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }"):
        assert_error(get(server, query), 403, "SERVICE", "not allowed")
    assert_error(requests.post(server.sparql, data={"query": f"LOAD <{address}data.ttl>"},
                               timeout=TIMEOUT), 400)
    assert_error(requests.post(server.sparql, data={"update": f"LOAD <{address}data.ttl> INTO GRAPH <x:g>"},
                               timeout=TIMEOUT), 403)
    # FROM / FROM NAMED name graphs of the dataset; they are never fetched.
    assert bindings(get(server, f"SELECT * FROM <{address}data.ttl> WHERE {{ ?s ?p ?o }}")) == []
    named = f"SELECT * FROM NAMED <{address}g> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
    assert bindings(get(server, named)) == []
    describe = get(server, f"DESCRIBE <{address}thing>", headers={"Accept": "application/n-triples"})
    assert describe.status_code == 200 and describe.text.strip() == ""
    time.sleep(0.5)
    assert seen == []


# ---- the time limit ------------------------------------------------------------------------------

EXPLOSIVE = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
             "?m ?n2 ?o }")


@pytest.fixture(scope="session", params=["memory", "oxigraph"])
def slow_server(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A small graph served with a 2-second time limit, on each local store."""
    workdir = tmp_path_factory.mktemp(f"slow-{request.param}")
    data = workdir / "small.ttl"
    data.write_text("".join(f"<http://example.org/s{i}> <http://example.org/p{i % 3}> {i} .\n"
                            for i in range(80)), encoding="utf-8")
    store = "memory" if request.param == "memory" else f"oxigraph:{workdir / 'store'}"
    proc = start_server(["--no-shipped", "serve", "--port", "0", "--store", store, "--file",
                         str(data), "--workers", "2", "--query-timeout", "2", "--no-reasoning"],
                        workdir=workdir)
    yield proc
    proc.stop()


def test_time_limit_stops_a_runaway_query(slow_server: ServerProcess) -> None:
    limit, margin = 2.0, 3.0
    outcome: dict[str, object] = {}

    def runaway() -> None:
        started = time.monotonic()
        response = requests.get(slow_server.sparql, params={"query": EXPLOSIVE},
                                timeout=limit + margin + 10)
        outcome["elapsed"] = time.monotonic() - started
        outcome["response"] = response

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.5)  # the runaway query now holds one worker
    started = time.monotonic()
    quick = requests.get(slow_server.sparql, timeout=limit + margin,
                         params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
    quick_elapsed = time.monotonic() - started
    assert values(quick, "n") == ["80"]
    assert quick_elapsed < 1.5, f"a simple query waited {quick_elapsed:.2f} s"
    thread.join(limit + margin + 15)
    response = outcome["response"]
    assert isinstance(response, requests.Response)
    assert_error(response, 503, "time limit", "2 s")
    assert response.headers.get("Retry-After")
    assert outcome["elapsed"] < limit + margin  # type: ignore[operator]
    # still healthy: both workers answer again, concurrently
    results: list[requests.Response] = []
    clients = [threading.Thread(target=lambda: results.append(requests.get(
        slow_server.sparql, params={"query": "ASK { ?s ?p 7 }"}, timeout=20))) for _ in range(4)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(25)
    assert [(r.status_code, r.text) for r in results] == [(200, '{"head":{},"boolean":true}')] * 4
    assert any("stopping worker" in line for line in slow_server.log)


def test_second_server_on_the_same_store_does_not_rebuild(server: ServerProcess,
                                                           tmp_path: Path) -> None:
    """Restart: a store that holds the graph is served at once, with the same triples."""
    store_arg = next(a for a in server.process.args if str(a).startswith("oxigraph:"))  # type: ignore[union-attr]
    started = time.monotonic()
    second = start_server(["serve", "--port", "0", "--store", str(store_arg), "--file",
                           str(EDGE_CASES),
                           "--workers", "1"], workdir=tmp_path)
    try:
        assert any("not rebuilding" in line for line in second.log), second.log
        assert not any("building the graph" in line for line in second.log)
        count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        assert values(get(second, count), "n") == values(get(server, count), "n")
        assert time.monotonic() - started < 30
    finally:
        second.stop()


def test_json_answers_are_plain_json(server: ServerProcess) -> None:
    """No non-standard member in a results document (the limit is said in headers)."""
    data = json.loads(get(server, "SELECT * WHERE { ?s ?p ?o }").content)
    assert set(data) == {"head", "results"} and set(data["results"]) == {"bindings"}


def test_concurrent_clients_get_their_own_answers(server: ServerProcess) -> None:
    """Many clients at once: every answer is right (the query parser is not thread-safe)."""
    from concurrent.futures import ThreadPoolExecutor

    def ask(i: int) -> tuple[int, str]:
        if i % 4 == 3:
            response = get(server, f"SELECT ?x WHERE {{ ?x }} # {i}")
            return response.status_code, "syntax error" if "syntax error" in response.text else response.text
        response = get(server, f'SELECT ?x WHERE {{ BIND({i} AS ?x) }}')
        return response.status_code, values(response, "x")[0]

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, range(64)))
    assert answers == [(400, "syntax error") if i % 4 == 3 else (200, str(i)) for i in range(64)]


def test_serve_reports_bad_data_without_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "bad.ttl"
    bad.write_text("<http://example.org/a> <http://example.org/b> .\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", "from mckg.cli import main; main()",
                           "--no-shipped", "serve", "--port", "0", "--store", "memory",
                           "--file", str(bad)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"{bad}:1" in done.stderr and "Traceback" not in done.stderr


# ---- the fast lexical check agrees with the parser --------------------------------------------

@pytest.mark.parametrize("query", [
    "SELECT * WHERE { ?s ?p ?o }",
    "PREFIX ex: <http://e/#frag> # FROM in a comment\nASK { ?s ex:p 'from' }",
    'CONSTRUCT WHERE { ?s ?p """a "quoted" # not a comment""" }',
    "describe <http://e/x>",
    "SELECT ?x WHERE { ?x <http://e/p> ?y FILTER(?y < 3 && ?y > 1) } ORDER BY ?x LIMIT 2",
    "SELECT * WHERE { ?s mckg:about ?o . ?o ?p _:b }",
    "BASE <http://e/> PREFIX : <http://e/> SELECT * WHERE { :a :b ?c }",
])
def test_quick_check_agrees_with_the_parser(query: str) -> None:
    from mckg.query.check import inspect_query, quick_inspect
    from mckg.rdf.namespaces import PREFIXES

    quick = quick_inspect(query, PREFIXES)
    full = inspect_query(query, prefixes=PREFIXES)
    assert quick is not None and quick.form == full.form
    assert full.services == () and not full.dataset_clause


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { service <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { ?a ?b ?c OPTIONAL { SeRvIcE SILENT ?e { ?s ?p ?o } } }",
    "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * FROM <http://127.0.0.1:9/g> WHERE { ?s ?p ?o }",
    "INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }",
    "LOAD <http://127.0.0.1:9/data.ttl>",
    "SELECT * WHERE { ?s undeclared:p ?o }",
    "SELECT * WHERE { ?s ?p 'a service b' }",  # a false alarm costs only the slow path
])
def test_quick_check_defers_whatever_needs_the_parser(query: str) -> None:
    from mckg.query.check import quick_inspect
    from mckg.rdf.namespaces import PREFIXES

    assert quick_inspect(query, PREFIXES) is None


def test_service_is_refused_however_it_is_written(server: ServerProcess) -> None:
    for query in ("SELECT * WHERE { sErViCe <http://127.0.0.1:9/> { ?s ?p ?o } }",
                  "SELECT * WHERE { # SERVICE in a comment, then the real one\n"
                  "  SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"):
        assert_error(get(server, query), 403, "SERVICE")


def test_requests_of_other_real_clients(server: ServerProcess) -> None:
    """Jena POSTs with ``Upgrade: h2c``; some clients put parameters on Accept ranges."""
    jena = requests.post(server.sparql, data={"query": NAMES}, timeout=TIMEOUT, headers={
        "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAAQAoAAAAAIAAAAA",
        "Connection": "Upgrade, HTTP2-Settings",
        "Accept": "application/sparql-results+json, application/sparql-results+xml;q=0.9"})
    assert [b["name"]["value"] for b in bindings(jena)] == ["Alice", "Alicia"]
    accept = "application/sparql-results+xml; charset=utf-8; q=0.8, text/csv; q=0.2"
    with_params = get(server, NAMES, headers={"Accept": accept})
    assert with_params.headers["Content-Type"].startswith(SRX)
    head = requests.head(server.sparql, params={"query": NAMES}, timeout=TIMEOUT)
    assert head.status_code == 200 and head.headers["Content-Type"].startswith(SRJ)


def test_create_app_mounts_in_process() -> None:
    """The app factory serves without ``mckg serve`` (Flask's test client here)."""
    from mckg.config import Settings
    from mckg.web import create_app

    settings = Settings(include_shipped=False, reasoning=False, extra_files=(EDGE_CASES,),
                        store="memory", query_workers=1)
    app = create_app(settings)
    try:
        client = app.test_client()
        answer = client.get("/sparql", query_string={"query": NAMES}, headers={"Accept": "text/csv"})
        assert answer.status_code == 200
        assert answer.get_data(as_text=True).splitlines() == ["name", "Alice", "Alicia"]
        assert client.put("/sparql").status_code == 405
    finally:
        app.extensions["mckg.service"].close()
