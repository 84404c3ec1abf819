"""Hardening of the public HTTP side, through real ``mckg serve`` processes.

- Links from data: IRIs anyone can load with ``--file`` (``javascript:``, ``data:``,
  ``vbscript:``, mixed case, a path that would read as another host) are links only when they
  pass the one allow-list; otherwise text. Checked in the served HTML and in headless Chromium.
- Security headers: a Content-Security-Policy without inline script on every HTML page (the
  query page's script still works under it, in Chromium, with no violation reported), no
  framing, a referrer policy; ``nosniff`` on everything.
- Redirects and self-descriptions: built from the configured public address or relative, never
  from a forged ``Host`` or ``X-Forwarded-*`` (werkzeug's ``//`` redirect answered 308 to the
  client's host; the service description named it as ``sd:endpoint``).
- Slow clients: 150 sockets dribbling their headers do not stop anyone else being answered
  within a second, and are closed at the request deadline; one client cannot have more than
  its share of requests in progress (429 with ``Retry-After``).

Every server listens on 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from browser import chromium as start_chromium
from rdflib import Graph, URIRef
from rdflib.namespace import VOID
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
        # Click whatever shows a hostile IRI: it is text now, and nothing runs. (Pages fold
        # the data details into <details>: open them so every IRI is shown and clickable.)
        browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
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


# ---- redirects and self-descriptions: never from the client's Host ---------------------------

SD_ENDPOINT = URIRef("http://www.w3.org/ns/sparql-service-description#endpoint")
#: Headers a client may forge to make the server name another host.
FORGED = ({"Host": "evil.example"},
          {"Host": "evil.example:8443", "X-Forwarded-Host": "evil.example",
           "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443",
           "X-Forwarded-For": "203.0.113.9", "Forwarded": "for=203.0.113.9;host=evil.example;proto=https"})
#: Paths that redirected (``//`` merged by werkzeug) and the linked-data 303s.
REDIRECTING = ("id//evil.example/x", "doc//country/ES", "static//x", "ld-static//x",
               "vocab//evil.example/x", "graph//evil.example/x", "/evil.example/x",
               "id/finding/hostile", "id/finding/hostile.ttl", "downloads", "downloads/",
               "search/", "sparql/", "def/")


def test_no_redirect_leaves_for_the_clients_host(hostile: ServerProcess) -> None:
    own = urlsplit(hostile.url).netloc
    redirected = 0
    for headers in FORGED:
        for path in REDIRECTING:
            r = requests.get(hostile.url + path, headers={"Accept": "text/html", **headers},
                             timeout=TIMEOUT, allow_redirects=False)
            assert r.status_code < 500, (path, r.status_code)
            location = r.headers.get("Location")
            if location is None:
                continue
            redirected += 1
            target = urljoin(hostile.url + path, location)
            assert urlsplit(target).netloc == own, (path, headers, location)
            assert "evil.example" not in location, (path, location)
            assert not location.startswith("//"), (path, location)
    assert redirected >= 4  # the linked-data 303s still redirect, relatively
    # A path with '//' is not a resource: no redirect to tidy it, a plain 404.
    r = requests.get(hostile.url + "id//evil.example/x", headers=FORGED[0], timeout=TIMEOUT,
                     allow_redirects=False)
    assert r.status_code == 404


def test_descriptions_name_the_configured_address_not_the_host(hostile: ServerProcess) -> None:
    for headers in FORGED:
        sd = requests.get(hostile.sparql, headers={"Accept": "text/turtle", **headers},
                          timeout=TIMEOUT)
        graph = Graph().parse(data=sd.text, format="turtle")
        assert set(graph.objects(None, SD_ENDPOINT)) == {URIRef(hostile.sparql)}
        assert "evil.example" not in sd.text
        void = requests.get(hostile.url + ".well-known/void", timeout=TIMEOUT,
                            headers={"Accept": "text/turtle", **headers})
        graph = Graph().parse(data=void.text, format="turtle")
        assert set(graph.objects(None, VOID.sparqlEndpoint)) == {URIRef(hostile.sparql)}
        assert "evil.example" not in void.text
        doc = requests.get(hostile.url + "doc/finding/hostile.jsonld", headers=headers,
                           timeout=TIMEOUT)
        assert doc.json()["@context"] == hostile.url + "context.jsonld"
        page = requests.get(hostile.url, headers={"Accept": "text/html", **headers},
                            timeout=TIMEOUT)
        assert f"<code>{hostile.sparql}</code>" in page.text and "evil.example" not in page.text
        # Relative IRIs in a query resolve against the endpoint's configured address.
        answer = requests.get(hostile.sparql, timeout=TIMEOUT, headers={
            "Accept": "application/sparql-results+json", **headers},
            params={"query": "SELECT ?x WHERE { BIND(<a> AS ?x) }"})
        assert answer.json()["results"]["bindings"] == [
            {"x": {"type": "uri", "value": hostile.url + "a"}}]


# ---- a server with a public address, strict per-client limits and a short request deadline --

STRICT_CONFIG = """\
[mckg]
client_concurrency = 2
client_limit_exempt = []
request_timeout = 3.0
idle_timeout = 5.0
public_url = "https://mckg.example.org/data"
"""


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Loopback is not exempt here: this test's own requests are the client being limited."""
    workdir = tmp_path_factory.mktemp("strict")
    data = workdir / "hostile.ttl"
    data.write_text(HOSTILE, encoding="utf-8")
    config = workdir / "strict.toml"
    config.write_text(STRICT_CONFIG, encoding="utf-8")
    server = start_server(["--config", str(config), "--no-shipped", "serve", "--port", "0",
                           "--store", "memory", "--file", str(data), "--no-reasoning",
                           "--workers", "4", "--query-timeout", "4"], workdir=workdir)
    yield server
    server.stop()


def test_public_url_names_the_service(strict: ServerProcess) -> None:
    sd = requests.get(strict.sparql, headers={"Accept": "text/turtle", "Host": "evil.example"},
                      timeout=TIMEOUT)
    graph = Graph().parse(data=sd.text, format="turtle")
    assert set(graph.objects(None, SD_ENDPOINT)) == {URIRef("https://mckg.example.org/data/sparql")}
    doc = requests.get(strict.url + "doc/finding/hostile.jsonld", timeout=TIMEOUT)
    assert doc.json()["@context"] == "https://mckg.example.org/data/context.jsonld"


def test_a_malformed_public_url_is_refused(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "from mckg.cli import main; main()",
                           "--no-shipped", "serve", "--port", "0", "--store", "memory",
                           "--public-url", "javascript:alert(1)//x"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "public_url must be an absolute http(s) URL" in done.stderr
    assert "Traceback" not in done.stderr


def _port(server: ServerProcess) -> int:
    return int(urlsplit(server.url).port or 0)


def _cheap(server: ServerProcess) -> tuple[int, float]:
    started = time.perf_counter()
    r = requests.get(server.sparql, params={"query": "ASK { ?s ?p ?o }"}, timeout=5,
                     headers={"Accept": "application/sparql-results+json"})
    return r.status_code, time.perf_counter() - started


def _dribbling(server: ServerProcess, count: int) -> list[socket.socket]:
    """``count`` sockets that have sent the start of a request's headers, and no end."""
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", _port(server)), timeout=5)
            opened.append(sock)
            sock.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    except BaseException:
        for sock in opened:
            sock.close()
        raise
    return opened


def test_slow_header_sockets_do_not_stop_the_server(hostile: ServerProcess) -> None:
    """150 sockets dribble request headers (slowloris) with the default settings; a normal
    client is answered within 1 s all along (waitress's 100 connections were all taken)."""
    slow = _dribbling(hostile, 150)
    try:
        answered = []
        for _ in range(8):  # about 2 s of cheap requests while every slow socket is open
            for sock in slow:
                sock.sendall(b"X")  # still dribbling: never idle
            answered.append(_cheap(hostile))
            time.sleep(0.25)
        assert all(status == 200 and seconds < 1.0 for status, seconds in answered), answered
    finally:
        for sock in slow:
            sock.close()


def test_slow_sockets_are_closed_at_the_request_deadline(strict: ServerProcess) -> None:
    """However steadily they dribble, sockets without a whole request after ``request_timeout``
    (3 s here) are closed; the server answers as before."""
    slow = _dribbling(strict, 20)
    opened = time.monotonic()
    try:
        closed = 0
        for _ in range(40):  # dribble every 0.25 s, past the deadline (bounded: 10 s)
            for sock in slow:
                with contextlib.suppress(OSError):  # closed already
                    sock.sendall(b"X")
            time.sleep(0.25)
            if time.monotonic() - opened > 3.5:
                break
        for sock in slow:
            sock.settimeout(max(0.1, opened + 10 - time.monotonic()))
            try:
                while sock.recv(4096):  # bounded by the timeout
                    pass
                closed += 1
            except (ConnectionResetError, BrokenPipeError):
                closed += 1
            except TimeoutError:
                pass
        assert closed == len(slow)
        assert time.monotonic() - opened < 10
        assert _cheap(strict)[0] == 200
    finally:
        for sock in slow:
            sock.close()


#: About 10^8 rows to count: runs into the 4 s time limit, holding its request that long.
_HUNDRED = " ".join(str(i) for i in range(100))
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
    f"VALUES ?{v} {{ {_HUNDRED} }}" for v in "abcd") + " }"


def test_one_client_cannot_take_more_than_its_share(strict: ServerProcess) -> None:
    statuses: list[int] = []

    def hold(n: int) -> None:
        # Each holder's text differs: a query stopped once is refused at once the next time.
        r = requests.post(strict.sparql, data={"query": f"{SLOW_QUERY} # holder {n} {time.time()}"},
                          timeout=TIMEOUT, headers={"Accept": "application/sparql-results+json"})
        statuses.append(r.status_code)

    holders = [threading.Thread(target=hold, args=(n,)) for n in range(2)]
    for thread in holders:
        thread.start()
    try:
        # Both are in progress well within the time limit (4 s). A probe takes a slot while
        # it is answered, so probing starts only once the holders have surely arrived; on a busy
        # machine they may take longer, and the first refusal shows they have.
        time.sleep(1.5)
        for _ in range(20):
            probe = requests.get(strict.sparql, params={"query": "ASK {}"}, timeout=5,
                                 headers={"Accept": "application/sparql-results+json"})
            if probe.status_code == 429:
                break
            time.sleep(0.1)
        for headers in ({}, {"X-Forwarded-For": "198.51.100.7", "Forwarded": "for=198.51.100.7"}):
            refused = requests.get(strict.sparql, params={"query": "ASK {}"}, timeout=5,
                                   headers={"Accept": "text/plain", **headers})
            assert refused.status_code == 429, refused.text
            assert refused.headers["Retry-After"] == "1"
            assert "2 requests in progress" in refused.text
            assert refused.headers["X-Content-Type-Options"] == "nosniff"
        page = requests.get(strict.url + "doc/finding/hostile", timeout=5,
                            headers={"Accept": "text/html"})
        assert page.status_code == 429 and "Too Many Requests" in page.text
        assert "Content-Security-Policy" in page.headers
    finally:
        for thread in holders:
            thread.join(TIMEOUT)
    assert sorted(statuses) == [503, 503]  # stopped at the time limit, not refused
    assert _cheap(strict)[0] == 200  # the slots are free again


def test_the_limit_counts_each_client_and_frees_every_slot() -> None:
    """In process: the middleware itself, with two addresses, an exempt one and a failing app."""
    from flask import Flask
    from werkzeug.test import EnvironBuilder

    from mckg.web.limits import ClientLimit

    release = threading.Event()

    def slow_app(environ: dict, start_response) -> list[bytes]:  # type: ignore[no-untyped-def]
        if environ["PATH_INFO"] == "/fail":
            raise RuntimeError("a bug")
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    limit = ClientLimit(Flask(__name__), slow_app, limit=1, exempt=["10.0.0.0/8", "::1"])

    def call(address: str, path: str = "/") -> tuple[str, bytes]:
        environ = EnvironBuilder(path=path, environ_base={"REMOTE_ADDR": address}).get_environ()
        seen: list[str] = []
        body = limit(environ, lambda status, headers, exc_info=None: seen.append(status))
        try:
            return (seen or ["?"])[0], b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()

    holder = threading.Thread(target=call, args=("192.0.2.1",))
    holder.start()
    for _ in range(100):  # bounded: until the holder is inside the app
        if limit.in_progress("192.0.2.1") == 1:
            break
        time.sleep(0.01)
    assert call("192.0.2.1")[0].startswith("429")
    release.set()
    holder.join(10)
    assert limit.in_progress("192.0.2.1") == 0
    assert call("192.0.2.2") == ("200 OK", b"ok")  # another client, its own share
    assert call("10.1.2.3") == ("200 OK", b"ok") and limit.in_progress("10.1.2.3") == 0
    assert limit.is_exempt("::ffff:10.0.0.1") and limit.is_exempt("::1")
    with pytest.raises(RuntimeError):
        call("192.0.2.3", "/fail")
    assert limit.in_progress("192.0.2.3") == 0  # a failing request frees its slot too
    with pytest.raises(ValueError, match="not an IP network"):
        ClientLimit(Flask(__name__), slow_app, limit=1, exempt=["localhost"])
