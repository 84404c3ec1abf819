"""The pages researchers use, through a real server (issue 11): the comparison as a research
tool (grades, chosen countries and columns, the map, CSV and XLSX of the view), country pages,
search, the ontology's properties in use, and the facts as tables and plain JSON.

Pages are read as HTML with the standard library's parser; the same pages in headless Chromium
are in ``test_pages_browser.py``.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from html.parser import HTMLParser

import pytest
from ld_support import LdServer, get, shared_server

from mckg.query import stored as queries


@pytest.fixture(scope="module")
def ld(request: pytest.FixtureRequest) -> LdServer:
    """The session's real server (see ``ld_support``)."""
    return shared_server(request)


class Cells(HTMLParser):
    """The comparison grid as the page shows it: per row id, per column, the grade and text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.cells: dict[str, dict[str, str]] = defaultdict(dict)
        self.text: dict[tuple[str, str], str] = {}
        self.empty_rows: dict[str, str] = {}
        self._row = ""
        self._cell: tuple[str, str] | None = None
        self._empty = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and (a.get("id") or "").startswith("row-"):
            self._row = (a["id"] or "")[4:]
        elif tag == "td" and a.get("data-column"):
            self._cell = (self._row, a["data-column"] or "")
            self.cells[self._row][a["data-column"] or ""] = a.get("data-grade") or ""
            self.text[self._cell] = ""
        elif tag == "td" and "empty-row" in (a.get("class") or ""):
            self._empty = True
            self.empty_rows[self._row] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell, self._empty = None, False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self.text[self._cell] += data
        elif self._empty:
            self.empty_rows[self._row] += data


def compare_page(ld: LdServer, **params: str | list[str]) -> Cells:
    r = get(ld, "/compare", params=params, accept="text/html")
    assert r.status_code == 200, r.text[:500]
    return Cells(r.text)


def cq(ld: LdServer, name: str) -> list[dict[str, str]]:
    """A competency question's answer, asked at the server's own endpoint."""
    r = get(ld, "sparql", params={"query": queries.get(name).text},
            accept="application/sparql-results+json")
    assert r.status_code == 200, r.text
    return [{k: v["value"] for k, v in b.items()} for b in r.json()["results"]["bindings"]]


def code_of(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


# ---- the grid ------------------------------------------------------------------------------

def test_grid_cells_are_the_competency_answers(ld):
    page = compare_page(ld)
    # cq01: specific micro-credential policy → "Yes" in the policy column, nobody else
    specific = {code_of(r["jurisdiction"]) for r in cq(ld, "cq01")}
    assert specific and {c for c, cols in page.cells.items() if cols.get("mc-policy") == "yes"} \
        == specific
    # cq02: any supporting policy → yes or partly (a broader policy)
    supporting = {code_of(r["jurisdiction"]) for r in cq(ld, "cq02")}
    assert {c for c, cols in page.cells.items()
            if cols.get("mc-policy") in ("yes", "partly")} == supporting
    # cq10: no external accreditation → "No" (or "Partly" for whole programmes only)
    for r in cq(ld, "cq10"):
        grade = page.cells[code_of(r["jurisdiction"])]["accreditation"]
        assert grade == ("no" if r["status"].endswith("no-external-accreditation") else "partly")
    # cq03: every funded jurisdiction's cell says Yes and shows the budget's programme
    for r in cq(ld, "cq03"):
        code = code_of(r["jurisdiction"])
        assert page.cells[code]["funding"] == "yes"
        assert "Yes" in page.text[(code, "funding")]
    # Germany's portal: the sources differ, and the cell says so in words
    assert page.cells["DE"]["portal"] == "differs"
    assert "Sources differ" in page.text[("DE", "portal")]


def test_every_cell_has_a_symbol_and_a_word(ld):
    page = compare_page(ld)
    words = {"yes": "Yes", "partly": "Partly", "planned": "Planned", "no": "No",
             "reported": "Reported", "differs": "Sources differ", "several": "Several values",
             "none": "No data"}
    assert page.text
    for key, text in page.text.items():
        grade = page.cells[key[0]][key[1]]
        assert words[grade] in text, (key, text)


def test_empty_rows_say_why(ld):
    page = compare_page(ld)
    for code in ("BE", "SK", "SI", "SE"):
        assert code in page.empty_rows, sorted(page.empty_rows)
        assert "says nothing about" in page.empty_rows[code]
    assert "Flanders" in page.empty_rows["BE"]


def test_countries_and_columns_are_chosen_in_the_url(ld):
    page = compare_page(ld, country=["ES", "DE"], column=["portal", "funding"])
    assert set(page.cells) == {"ES", "DE"}
    assert all(set(cols) == {"portal", "funding"} for cols in page.cells.values())
    r = get(ld, "/compare", params={"country": ["ES", "DE"], "column": "portal"})
    assert "country=ES&amp;country=DE&amp;column=portal" in r.text  # downloads keep the view


@pytest.mark.parametrize("params, named", [
    ({"country": "XX"}, "country"), ({"column": "nope"}, "column"), ({"map": "nope"}, "map"),
    ({"wave": "x"}, "wave"), ({"wave": "99"}, "wave")])
def test_bad_comparison_parameters_are_400_naming_them(ld, params, named):
    for path in ("/compare", "/compare.csv", "/compare.xlsx"):
        r = get(ld, path, params=params, accept="text/plain")
        assert r.status_code == 400, (path, params)
        assert named in r.text


def test_a_wave_without_facts_says_so(ld):
    r = get(ld, "/compare", params={"wave": "2"}, accept="text/html")
    assert r.status_code == 200
    assert "No data for this wave yet" in r.text
    assert 'class="compare"' not in r.text  # no empty grid


def test_map_colours_each_row_and_links_to_its_page(ld):
    r = get(ld, "/compare", params={"map": "portal"}, accept="text/html")
    svg = r.text[r.text.index("<svg"):r.text.index("</svg>")]
    links = dict(re.findall(r'<a href="([^"]+)" aria-label="([^":]+):', svg))
    by_name = {v: k for k, v in links.items()}
    assert by_name["Spain"] == "/id/country/ES" and by_name["Flanders"] == "/id/region/BE-VLG"
    assert 'aria-label="Germany: Sources differ' in svg
    assert 'aria-label="Finland: Yes: National portal in place' in svg
    for href in links:
        assert get(ld, href, accept="text/html", follow=True).status_code == 200
    assert "http" not in re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", svg)  # nothing fetched


# ---- the view as files ---------------------------------------------------------------------

def test_csv_and_xlsx_are_the_current_view(ld):
    openpyxl = pytest.importorskip("openpyxl")
    params = {"country": ["ES", "DE", "BE-VLG"], "column": ["portal", "funding"]}
    r = get(ld, "/compare.csv", params=params)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {x["code"] for x in rows} == {"ES", "DE", "BE-VLG"}
    assert {x["column"] for x in rows} == {"portal", "funding"}
    assert {x["grade"] for x in rows} <= {"yes", "partly", "planned", "no", "reported"}
    x = get(ld, "/compare.xlsx", params=params)
    assert x.status_code == 200
    assert x.headers["Content-Type"] == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="mckg-comparison.xlsx"' in x.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(x.content), read_only=True)
    assert book.sheetnames == ["Comparison", "Facts"]
    grid = list(book["Comparison"].iter_rows(values_only=True))
    assert grid[0] == ("Country or region", "Code", "Survey partner", "National portal",
                       "Funding programmes")
    assert {g[1] for g in grid[1:]} == {"ES", "DE", "BE-VLG"}
    spain = next(g for g in grid if g[1] == "ES")
    assert spain[4].startswith("Yes: Plan Microcreds (EUR 50,000,000)")
    facts = list(book["Facts"].iter_rows(values_only=True))
    assert len(facts) - 1 == len(rows)
    assert [list(map(lambda v: "" if v is None else str(v), f)) for f in facts[1:]] == \
        [list(x.values()) for x in rows]


# ---- country pages -------------------------------------------------------------------------

def test_country_page_reads_summary_first_then_facts_by_topic_then_data(ld):
    r = get(ld, "/doc/country/ES", accept="text/html")
    html = r.text
    order = [html.index(marker) for marker in
             ('id="summary"', 'id="facts"', 'id="cite"', '<details class="engineering"')]
    assert order == sorted(order)
    summary = html[order[0]:order[1]]
    # one sentence per comparison column, each with its grade in words and its source
    assert summary.count("<dt>") == 6
    assert "Yes</strong> — Specific micro-credential policy (Plan Microcreds)" in summary
    assert "Planned</strong> — No portal yet, provided for in law" in summary
    assert "Source: MCE partner survey, wave 1 (December 2023)" in summary
    # facts grouped by the report's sections, the §3 group first
    topics = re.findall(r'<section class="topic" id="topic-\d+">\s*<h3>([^<]+)</h3>', html)
    assert topics[0].startswith("§3 ") and len(topics) >= 4
    # cite this: the report's citation, the sections with pages, the page IRI
    cite = html[order[2]:order[3]]
    assert "Casanova, D., Bastos, G. &amp; Antonaci, A. (2024)" in cite
    assert "§3 (p. " in cite and "https://w3id.org/mckg/id/country/ES" in cite


def test_conflicts_sit_with_the_facts_they_oppose(ld):
    html = get(ld, "/doc/country/DE", accept="text/html").text
    conflict = html.index('id="conflict-de-portal"')
    topic = html.rindex('<section class="topic"', 0, conflict)
    assert html[topic:conflict].split("<h3>", 1)[1].startswith("§5 ")  # the portals section
    assert "Sources differ" in html[html.index('id="summary"'):html.index('id="facts"')]


def test_amounts_read_as_numbers_with_the_datatype_on_hover(ld):
    html = get(ld, "/doc/amount/plan-microcreds-budget", accept="text/html").text
    assert re.search(r'<span class="literal typed" title="[^"]*decimal[^"]*">50,000,000</span>', html)
    assert "^^xsd:decimal" not in html and "50000000.0</span>" not in html


# ---- search --------------------------------------------------------------------------------

def hits(ld: LdServer, q: str, **filters: str) -> list[tuple[str, str]]:
    """(kind badge, link) of each hit, in order."""
    r = get(ld, "/search", params={"q": q, **filters}, accept="text/html")
    assert r.status_code == 200, r.text[:300]
    return re.findall(r'<p class="hit-title"><span class="badge">([^<]+)</span>'
                      r'(?: <span class="badge">some words</span>)? <a href="([^"]+)"', r.text)


def test_digital_skills_finds_the_italian_digital_education_hubs_facts(ld):
    found = hits(ld, "digital skills")
    links = [link for _, link in found]
    assert "/id/finding/it-digital-education-hubs-count-w1" in links
    assert "/id/finding/it-mc-observatory-required-w1" in links[:3]


@pytest.mark.parametrize("q, expected", [
    ("ECTS", "/id/definition/es-university-mc"),
    ("portal", "/id/finding/cy-portal-w1")])
def test_words_find_the_facts_a_reader_expects_before_ontology_terms(ld, q, expected):
    found = hits(ld, q)
    kinds = [kind for kind, _ in found]
    assert expected in [link for _, link in found][:10]
    assert kinds[0] == "Fact"
    if "Ontology term" in kinds:  # terms come after every fact
        assert kinds.index("Ontology term") > max(i for i, k in enumerate(kinds) if k == "Fact")


def test_search_filters_by_jurisdiction_topic_source_and_wave(ld):
    every = {link for _, link in hits(ld, "portal")}
    de = {link for _, link in hits(ld, "portal", jurisdiction="DE")}
    assert "/id/finding/de-portal-w1" in de and "/id/finding/cy-portal-w1" not in de
    assert de < every
    oecd = {link for _, link in hits(ld, "portal", source="oecd-2023b")}
    assert "/id/finding/fi-portal-oecd-2023b" in oecd and "/id/finding/cy-portal-w1" not in oecd
    wave = {link for _, link in hits(ld, "portal", wave="1")}
    assert "/id/finding/cy-portal-w1" in wave and "/id/finding/fi-portal-oecd-2023b" not in wave
    funding = hits(ld, "Microcreds", topic="funding")
    assert "/id/programme/plan-microcreds" in [link for _, link in funding]
    typed = hits(ld, "portal", type="PortalFinding")
    assert typed and {kind for kind, _ in typed} == {"Fact"}


def test_search_highlights_matches_and_escapes_data(ld):
    r = get(ld, "/search", params={"q": "ECTS"}, accept="text/html")
    assert "<mark>ECTS</mark>" in r.text


@pytest.mark.parametrize("name", ["type", "jurisdiction", "topic", "source", "wave"])
def test_unknown_search_filters_are_400_naming_them(ld, name):
    r = get(ld, "/search", params={"q": "portal", name: "no-such-value"}, accept="text/plain")
    assert r.status_code == 400 and name in r.text


# ---- the facts as tables and plain JSON ----------------------------------------------------

def test_fact_table_round_trips_through_pandas_with_the_right_dtypes(ld):
    pd = pytest.importorskip("pandas")
    csv_response = get(ld, "/downloads/facts.csv")
    assert csv_response.status_code == 200
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(csv_response.text))
    assert list(table.columns) == ["jurisdiction", "jurisdiction_code", "dimension", "value",
                                   "number", "unit", "statement", "source", "section",
                                   "footnote_url", "wave", "topic", "label", "fact"]
    assert table["fact"].is_unique and len(table) > 200
    assert str(table["number"].dtype) == "float64" and str(table["wave"].dtype) == "float64"
    assert pd.api.types.is_string_dtype(table["statement"])
    plan = table.set_index("fact").loc["https://w3id.org/mckg/id/amount/plan-microcreds-budget"]
    assert plan["number"] == 50_000_000 and plan["unit"] == "EUR"
    assert plan["jurisdiction_code"] == "ES" and plan["footnote_url"].startswith("https://")
    # the workbook holds the same table, numbers as numbers
    xlsx = get(ld, "/downloads/facts.xlsx")
    book = pd.read_excel(io.BytesIO(xlsx.content), sheet_name="Facts")
    assert list(book.columns) == list(table.columns) and len(book) == len(table)
    assert str(book["number"].dtype) == "float64"
    assert book.set_index("fact").loc[plan.name, "number"] == 50_000_000
    # and the JSON API, read as the downloads page shows
    page = get(ld, "/api/facts", params={"limit": "1000"}).json()
    frame = pd.DataFrame(page["facts"])
    assert len(frame) == len(table) == page["total"]
    assert frame.set_index("fact").loc[plan.name, "number"] == 50_000_000


def test_json_api_pages_and_filters(ld):
    first = get(ld, "/api/facts", params={"country": "ES", "limit": "5"})
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("application/json")
    body = first.json()
    assert body["count"] == 5 and body["total"] > 5 and body["previous"] is None
    seen = [f["fact"] for f in body["facts"]]
    pages = 1
    while body["next"] and pages < 50:  # bounded
        assert body["next"].startswith(ld.url + "api/facts?")
        body = get(ld, body["next"][len(ld.url):]).json()
        seen += [f["fact"] for f in body["facts"]]
        pages += 1
    everything = get(ld, "/api/facts", params={"country": "ES", "limit": "1000"}).json()
    assert seen == [f["fact"] for f in everything["facts"]] and len(set(seen)) == len(seen)
    for fact in everything["facts"]:
        assert "ES" in fact["jurisdiction_code"].split("; ")
        assert fact["url"].startswith(ld.url + "doc/") and fact["fact"].startswith(
            "https://w3id.org/mckg/id/")
        assert isinstance(fact["label"], str) and (fact["number"] is None
                                                   or isinstance(fact["number"], (int, float)))
    funding = get(ld, "/api/facts", params={"country": "ES", "topic": "funding"}).json()
    assert {f["fact"] for f in funding["facts"]} < set(seen)
    assert any(f["number"] == 50_000_000 for f in funding["facts"])
    wave = get(ld, "/api/facts", params={"wave": "1", "limit": "1000"}).json()
    assert wave["total"] and all(f["wave"] == 1 for f in wave["facts"])
    source = get(ld, "/api/facts", params={"source": "oecd-2023b", "limit": "1000"}).json()
    assert source["total"] and all("OECD" in f["source"] for f in source["facts"])


@pytest.mark.parametrize("params, named", [
    ({"country": "XX"}, "country"), ({"topic": "nope"}, "topic"), ({"limit": "-1"}, "limit"),
    ({"limit": "5000"}, "limit"), ({"offset": "x"}, "offset"), ({"colour": "red"}, "colour")])
def test_json_api_refuses_bad_parameters_by_name(ld, params, named):
    r = get(ld, "/api/facts", params=params, accept="application/json")
    assert r.status_code == 400 and named in r.text


def test_downloads_page_offers_the_fact_table(ld):
    html = get(ld, "/downloads", accept="text/html").text
    for path in ("/downloads/facts.csv", "/downloads/facts.xlsx", "/api/facts"):
        assert f'href="{path}"' in html
    assert "pd.read_csv" in html and "jsonlite::fromJSON" in html


# ---- the ontology as the data uses it ------------------------------------------------------

def test_def_lists_properties_used_without_a_declared_domain(ld):
    html = get(ld, "/def", accept="text/html").text
    entry = html[html.index('id="MicroCredentialDefinition"'):]
    entry = entry[:entry.index('<section class="term"')]
    undeclared = entry[entry.index('class="used-undeclared"'):entry.index("</p>",
                                                                       entry.index("used-undeclared"))]
    for label in ("ECTS upper bound", "requires element", "EQF level"):
        assert label in undeclared, label
    assert re.search(r"<td>\d+ of \d+</td>", entry)  # counts, with the table of usage


def test_def_draws_a_class_diagram_without_any_cdn(ld):
    html = get(ld, "/def", accept="text/html").text
    svg = html[html.index('<svg class="class-diagram"'):]
    svg = svg[:svg.index("</svg>")]
    assert re.search(r'<a href="#Country"><rect[^>]*/><text[^>]*>Country \(\d+\)</text>', svg)
    assert "within country → Country" in svg
    assert svg.count("<rect") >= 40 and "<script" not in html.replace('<script src="', "")


# ---- after a curation write ----------------------------------------------------------------

def test_pages_read_the_data_anew_after_a_write(tmp_path):
    """Labels, search, the fact table and the comparison are kept per data version: a write
    through the query service's one write path (curation) is seen by the next page."""
    from mckg.config import Settings
    from mckg.linked.site import LinkedData
    from mckg.query.service import QueryService
    from mckg.store.provision import provision

    settings = Settings()
    store, _ = provision(settings, "memory")
    service = QueryService.inline(settings, store)
    site = LinkedData.for_service(service, settings, dumps_dir=tmp_path)
    assert not site.fresh().search("Zanzibarland")
    rows_before = len(site.fresh().facts.rows())
    added = (b'<https://w3id.org/mckg/id/country/ZZ> <http://www.w3.org/2000/01/rdf-schema#label> '
             b'"Zanzibarland"@en <https://w3id.org/mckg/graph/data> .\n')
    service.apply_change(b"", added)
    assert [h.link.label for h in site.fresh().search("Zanzibarland")] == ["Zanzibarland"]
    assert site.fresh().index.label("https://w3id.org/mckg/id/country/ZZ") == "Zanzibarland"
    assert len(site.fresh().facts.rows()) == rows_before  # a label is not a fact
