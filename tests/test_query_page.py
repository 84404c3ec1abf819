"""The query page: served from the package (works offline), tested over HTTP and in Chromium.

The browser tests use Debian's ``chromium`` and ``chromium-driver`` through Selenium, headless
and with networking features off. They skip when the browser is missing — unless
``MCKG_REQUIRE_BROWSER`` is set (CI sets it), when a missing browser is a failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from browser import chromium as start_chromium
from serving import ServerProcess

from mckg.query.stored import examples

TIMEOUT = 30


class _Assets(HTMLParser):
    """Collects the URLs of scripts, stylesheets and images a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(found["src"] or "")
        if tag == "link" and found.get("rel") == "stylesheet":
            self.urls.append(found.get("href") or "")
        if tag == "img" and found.get("src"):
            self.urls.append(found["src"] or "")


def test_page_is_self_contained(server: ServerProcess) -> None:
    page = requests.get(server.url, timeout=TIMEOUT)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    parser = _Assets()
    parser.feed(page.text)
    assert parser.urls, "the page loads its script and stylesheet"
    for url in parser.urls:
        absolute = urljoin(server.url, url)
        assert urlsplit(absolute).netloc == urlsplit(server.url).netloc, url  # nothing remote
        asset = requests.get(absolute, timeout=TIMEOUT)
        assert asset.status_code == 200 and asset.content
    assert "<textarea" in page.text and 'action="/sparql"' in page.text  # works without script


def test_page_lists_the_competency_questions(server: ServerProcess) -> None:
    page = requests.get(server.url, timeout=TIMEOUT).text
    stored = examples()
    if not stored:
        pytest.skip("no stored competency queries yet")
    titles = re.findall(r'<button type="button" class="example"[^>]*>(.*?)</button>', page, re.S)
    from html import unescape

    assert [unescape(t) for t in titles] == [q.title for q in stored]
    assert all(q.meta.get("question") for q in stored), "examples are titled by their question"


def test_browsers_asking_sparql_get_the_page_with_their_query(server: ServerProcess) -> None:
    hostile = "SELECT * WHERE { ?s ?p ?o } # </textarea><script>alert(1)</script>"
    page = requests.get(server.sparql, params={"query": hostile}, timeout=TIMEOUT,
                        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "&lt;/textarea&gt;&lt;script&gt;" in page.text
    assert "<script>alert(1)</script>" not in page.text


# ---- in the browser ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Headless Chromium driven by Selenium (one per test process)."""
    with start_chromium(tmp_path_factory.mktemp("chromium"), page_load_timeout=TIMEOUT) as driver:
        yield driver


def _wait(driver: object, condition: object, timeout: float = TIMEOUT) -> object:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)  # type: ignore[arg-type]


@pytest.mark.browser
def test_pick_an_example_run_it_see_the_rows(browser, server: ServerProcess) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    if not examples():
        pytest.skip("no stored competency queries yet")
    browser.get(server.url)
    first = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "button.example"))
    first.click()
    rows = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "table.results tbody tr"))
    assert len(rows) >= 1
    editor = browser.find_element(By.ID, "query").get_attribute("value")
    assert editor == examples()[0].text
    status = browser.find_element(By.ID, "status").text
    assert re.search(r"\d+ rows? in \d+ ms", status), status
    # IRIs are shown as prefixed names that link to their path on this server
    links = browser.find_elements(By.CSS_SELECTOR, "table.results a.iri")
    assert links
    shown = {a.text: a.get_attribute("href") for a in links}
    country = [(text, href) for text, href in shown.items() if text.startswith("country:")]
    assert country, shown
    text, href = country[0]
    assert href == server.url + "id/country/" + text.split(":", 1)[1]
    # downloads are offered for the answer
    labels = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "button.download")]
    assert labels[:2] == ["CSV", "JSON"]
    # nothing was loaded from anywhere but this server
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(server.url) for url in loaded), loaded


@pytest.mark.browser
def test_typed_query_values_errors_and_graphs(browser, server: ServerProcess) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server.url)
    editor = _wait(browser, lambda d: d.find_element(By.ID, "query"))

    def run(query: str) -> None:
        browser.execute_script("document.getElementById('status').textContent = ''")
        editor.clear()
        editor.send_keys(query)
        editor.send_keys(Keys.CONTROL, Keys.ENTER)
        _wait(browser, lambda d: d.find_element(By.ID, "status").text not in ("", "Running…"))

    run("SELECT ?n WHERE { <http://example.org/alice> <http://example.org/name> ?n } ORDER BY ?n")
    cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "table.results tbody td")]
    assert cells == ["Alice@en", "Alicia@es"]
    run("SELECT ?x WHERE { ?x }")
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed() and "syntax error" in error.text.lower() and "line 1" in error.text
    run("ASK { <http://example.org/alice> ?p ?o }")
    assert browser.find_element(By.CSS_SELECTOR, "p.boolean").text == "true"
    assert not browser.find_element(By.ID, "error").is_displayed()
    run("CONSTRUCT WHERE { <http://example.org/bob> ?p ?o }")
    graph = browser.find_element(By.CSS_SELECTOR, "pre.graph").text
    assert '"Bob"' in graph
    assert next(b.text for b in browser.find_elements(By.CSS_SELECTOR, "button.download")) == "Turtle"
    run("SELECT * WHERE { ?s ?p ?o }")
    assert "truncated at the result limit of 1000" in browser.find_element(By.ID, "status").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.results tbody tr")) == 1000
