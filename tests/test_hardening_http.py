"""Hardening of the public HTTP side, through real ``mckg serve`` processes.

- Links from data: IRIs anyone can load with ``--file`` (``javascript:``, ``data:``,
  ``vbscript:``, mixed case, a path that would read as another host) are links only when they
  pass the one allow-list; otherwise text. Checked in the served HTML and in headless Chromium.
- Security headers: a Content-Security-Policy without inline script on every HTML page (the
  query page's script still works under it, in Chromium, with no violation reported), no
  framing, a referrer policy; ``nosniff`` on everything.

Every server listens on 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
import requests
from browser import chromium as start_chromium
from serving import ServerProcess, start_server

from mckg.linked.iris import Site

TIMEOUT = 30
BASE = "https://w3id.org/mckg/"

#: A small graph whose IRIs try every way a link could run script or leave for another host.
HOSTILE = """\
@prefix mckg: <https://w3id.org/mckg/def#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dct: <http://purl.org/dc/terms/> .

<https://w3id.org/mckg/id/finding/hostile> a mckg:Finding ;
    rdfs:label "Hostile finding"@en ;
    mckg:statement "A finding whose links try to run script."@en ;
    prov:wasDerivedFrom <https://w3id.org/mckg/id/source/report> ;
    mckg:footnote <https://w3id.org/mckg/id/part/fn-js>, <https://w3id.org/mckg/id/part/fn-ok>,
        <https://w3id.org/mckg/id/part/fn-data> ;
    mckg:reportedBy <JavaScript:alert('reportedBy')> ;
    mckg:section <vbscript:msgbox('section')> ;
    mckg:wave <https://w3id.org/mckg//evil.example/wave> ;
    rdfs:seeAlso <javascript:alert('seeAlso')>, <mailto:someone@example.org> ;
    owl:sameAs <data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==> ;
    skos:exactMatch <https://w3id.org/mckg//evil.example/x> ;
    dct:relation <https://example.org/fine> .
<https://w3id.org/mckg/id/part/fn-js> a mckg:Footnote ; rdfs:label "Footnote 98"@en ;
    mckg:footnoteNumber 98 ; mckg:target <javascript:alert('x')> .
<https://w3id.org/mckg/id/part/fn-data> a mckg:Footnote ; rdfs:label "Footnote 97"@en ;
    mckg:footnoteNumber 97 ; mckg:target <data:text/html,%3Cscript%3Ealert(2)%3C/script%3E> .
<https://w3id.org/mckg/id/part/fn-ok> a mckg:Footnote ; rdfs:label "Footnote 99"@en ;
    mckg:footnoteNumber 99 ; mckg:target <https://example.org/footnote> .
<javascript:alert('subject')> rdfs:label "Hostile subject"@en ;
    prov:wasDerivedFrom <https://w3id.org/mckg/id/source/report> .
"""
#: Pages that show the hostile IRIs.
HOSTILE_PAGES = ("doc/finding/hostile", "doc/part/fn-js", "doc/part/fn-data", "search?q=hostile",
                 "doc/part/fn-ok")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The hostile graph alone (no shipped data, no reasoning), on a memory store."""
    workdir = tmp_path_factory.mktemp("hostile")
    data = workdir / "hostile.ttl"
    data.write_text(HOSTILE, encoding="utf-8")
    server = start_server(["--no-shipped", "serve", "--port", "0", "--store", "memory",
                           "--file", str(data), "--no-reasoning", "--workers", "2",
                           "--query-timeout", "10"], workdir=workdir)
    yield server
    server.stop()


class Links(HTMLParser):
    """Every URL attribute of a page (entities decoded, as a browser reads them)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action", "formaction") and value is not None:
                self.urls.append((tag, value))


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def safe_url(url: str) -> bool:
    """What a browser would follow is an http(s) URL, or a path on the same host."""
    browser_view = re.sub(r"[\t\n\r]", "", url).strip("\x00 \x01\x02\x03\x04\x05\x06\x07\x08"
                                                       "\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14"
                                                       "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d"
                                                       "\x1e\x1f")
    scheme = _SCHEME.match(browser_view)
    if scheme:
        return scheme.group(1).lower() in ("http", "https")
    return not browser_view.replace("\\", "/").startswith("//")


def test_links_from_data_pass_the_allow_list(hostile: ServerProcess) -> None:
    for path in HOSTILE_PAGES:
        page = requests.get(hostile.url + path, headers={"Accept": "text/html"}, timeout=TIMEOUT)
        assert page.status_code == 200, (path, page.status_code)
        urls = Links(page.text).urls
        assert urls, path
        unsafe = [u for u in urls if not safe_url(u[1])]
        assert unsafe == [], (path, unsafe)
    finding = requests.get(hostile.url + "doc/finding/hostile", timeout=TIMEOUT).text
    # Refused IRIs are still shown, as text: the reader sees what the data says.
    for shown in ("javascript:alert(&#39;x&#39;)", "vbscript:msgbox", "mailto:someone@example.org"):
        assert shown in finding, shown
    hrefs = {u for _, u in Links(finding).urls}
    assert "https://example.org/footnote" in hrefs  # http(s) footnote addresses stay links
    assert "https://example.org/fine" in hrefs
    assert "/doc/part/fn-js" in {h.split("#")[0] for h in hrefs} or "/id/part/fn-js" in hrefs


def test_the_allow_list_itself() -> None:
    """Site.href: the one decision every template and the query page's script follow."""
    site = Site(BASE)
    assert site.href(BASE + "id/country/ES") == "/id/country/ES"
    assert site.href(BASE + "def#Country") == "/def#Country"
    assert site.href("https://example.org/a?b=c&d") == "https://example.org/a?b=c&d"
    assert site.href("HTTP://example.org/") == "HTTP://example.org/"
    for hostile_iri in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
                        "java\tscript:alert(1)", "\x01javascript:alert(1)",
                        "data:text/html,<script>", "vbscript:msgbox(1)", "file:///etc/passwd",
                        "mailto:a@example.org", "urn:x:y", "javascript&#58;alert(1)",
                        "https://example.org/\\evil", "http://example.org/a b",
                        "//evil.example/x"):
        assert site.href(hostile_iri) is None, hostile_iri
    # An IRI under the base whose path would read as another host is not a path here.
    assert site.local_path(BASE + "/evil.example/x") is None
    assert site.local_path(BASE + "\\evil.example/x") is None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with start_chromium(tmp_path_factory.mktemp("chromium"), page_load_timeout=TIMEOUT) as driver:
        yield driver


def test_no_script_runs_from_data_in_chromium(browser, hostile: ServerProcess) -> None:  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    for path in ("doc/finding/hostile", "doc/part/fn-js", "search?q=hostile"):
        browser.get(hostile.url + path)
        title = browser.title
        links = browser.execute_script("return Array.from(document.links, a => a.href)")
        assert links and all(re.match(r"https?://", h) for h in links), (path, links)
        # Click whatever shows a hostile IRI: it is text now, and nothing runs.
        for element in browser.find_elements(
                By.XPATH, "//*[contains(text(), 'script:') or contains(text(), 'data:')]")[:20]:
            if element.tag_name == "a":
                pytest.fail(f"{path}: a hostile IRI is a link: {element.get_attribute('href')}")
            element.click()
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert  # noqa: B018 (the property raises when no alert is open)
        assert browser.title == title and browser.current_url == hostile.url + path


# ---- security headers ----------------------------------------------------------------------

#: (path, Accept, params): HTML pages of every kind — views, a 404 page, an error page.
HTML_PAGES = (("", "text/html", {}), ("doc/finding/hostile", "text/html", {}),
              ("search", "text/html", {"q": "hostile"}), ("def", "text/html", {}),
              ("doc/nothing/here", "text/html", {}),
              ("sparql", "text/html", {"query": "SELECT * WHERE { ?s ?p ?o }"}),
              ("sparql", "text/html", {"query": "SELECT nonsense"}),
              ("compare", "text/html", {"wave": "x"}))
#: Everything else: answers, data, static files, errors as text.
OTHER = (("sparql", "application/sparql-results+json", {"query": "ASK {}"}),
         ("sparql", "text/turtle", {}), ("context.jsonld", "*/*", {}),
         ("static/page.js", "*/*", {}), ("doc/finding/hostile.ttl", "*/*", {}),
         ("sparql", "text/plain", {"query": "SELECT nonsense"}), ("no/such/page", "text/plain", {}))


def _get(server: ServerProcess, path: str, accept: str, params: dict[str, str]) -> requests.Response:
    return requests.get(server.url + path, params=params, headers={"Accept": accept},
                        timeout=TIMEOUT, allow_redirects=False)


def test_html_pages_carry_the_security_headers(hostile: ServerProcess) -> None:
    statuses = set()
    for path, accept, params in HTML_PAGES:
        r = _get(hostile, path, accept, params)
        statuses.add(r.status_code)
        assert r.headers["Content-Type"].startswith("text/html"), (path, r.headers)
        policy = r.headers.get("Content-Security-Policy", "")
        directives = {d.strip().split(" ", 1)[0]: d.strip() for d in policy.split(";") if d.strip()}
        assert directives.get("script-src") == "script-src 'self'", (path, policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (path, policy)
        assert directives.get("default-src") == "default-src 'none'", (path, policy)
        assert directives.get("frame-ancestors") == "frame-ancestors 'none'", (path, policy)
        assert directives.get("base-uri") == "base-uri 'none'", (path, policy)
        assert r.headers.get("X-Frame-Options") == "DENY", path
        assert r.headers.get("X-Content-Type-Options") == "nosniff", path
        assert r.headers.get("Referrer-Policy") == "same-origin", path
        assert r.headers.get("Access-Control-Allow-Origin") == "*", path  # CORS kept
        # No inline script: every <script> either loads a file here or is a JSON data block.
        for attrs in re.findall(r"<script\b([^>]*)>", r.text):
            assert "src=" in attrs or 'type="application/json"' in attrs, (path, attrs)
        assert not re.search(r"\son[a-z]+\s*=", r.text), path  # no inline event handlers
        assert " style=" not in r.text, path  # no inline style (style-src 'self')
    assert {200, 400, 404} <= statuses


def test_every_other_response_is_nosniff(hostile: ServerProcess) -> None:
    for path, accept, params in OTHER:
        r = _get(hostile, path, accept, params)
        assert not r.headers["Content-Type"].startswith("text/html"), (path, r.headers)
        assert r.headers.get("X-Content-Type-Options") == "nosniff", (path, r.status_code)
        assert r.headers.get("Access-Control-Allow-Origin") == "*", path


_CSP_PROBE = ("window.__violations = [];"
              "document.addEventListener('securitypolicyviolation', e => window.__violations"
              ".push(e.violatedDirective + ' ' + e.blockedURI));")


def test_the_query_page_works_under_the_policy_in_chromium(browser, hostile: ServerProcess) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Injected by the browser itself before any page script, so it sees every violation.
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _CSP_PROBE})
    browser.get(hostile.url)
    editor = browser.find_element(By.ID, "query")
    editor.clear()
    editor.send_keys("SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> "
                     "?label } ORDER BY ?label")
    browser.find_element(By.ID, "run").click()
    rows = WebDriverWait(browser, TIMEOUT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "table.results tbody tr"))
    assert len(rows) == 5
    assert browser.find_elements(By.CSS_SELECTOR, "#highlight span")  # the highlighter ran
    # The hostile subject IRI is shown as text in the results, not as a link.
    links = browser.execute_script("return Array.from(document.links, a => a.href)")
    assert all(re.match(r"https?://", h) for h in links), links
    assert browser.execute_script("return window.__violations") == []
    for path in ("doc/finding/hostile", "search?q=hostile", "def"):
        browser.get(hostile.url + path)
        assert browser.find_elements(By.CSS_SELECTOR, "header.site"), path
        sheets = browser.execute_script("return document.styleSheets.length")
        assert sheets >= 1, path  # the stylesheet loaded under style-src 'self'
        assert browser.execute_script("return window.__violations") == [], path
