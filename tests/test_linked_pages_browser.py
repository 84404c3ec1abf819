"""Resource pages and the comparison in headless Chromium (issue 5, "Done when").

A country page, a programme page and the comparison page render with their content; every
link on the comparison page leads to a page that exists and has a heading; screenshots of the
three pages are kept under ``test-artifacts/`` (git-ignored). Debian's ``chromium`` and
``chromium-driver`` are driven through Selenium, headless, networking features off, a fresh
profile. The tests skip when the browser is missing — unless ``MCKG_REQUIRE_BROWSER`` is set
(CI sets it), when a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
import requests
from browser import chromium as start_chromium
from ld_support import LdServer, Page, shared_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
TIMEOUT = 60
#: At most this many distinct pages are crawled from the comparison page.
MAX_CRAWL = 400

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ld(request: pytest.FixtureRequest) -> LdServer:
    """The session's real server (see ``ld_support``)."""
    return shared_server(request)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Headless Chromium driven by Selenium."""
    with start_chromium(tmp_path_factory.mktemp("chromium-ld"), width=1400,
                        page_load_timeout=TIMEOUT) as driver:
        yield driver


def screenshot(driver: object, name: str) -> None:
    """Save a full-page screenshot under test-artifacts/ (worker-specific name under xdist)."""
    ARTIFACTS.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    height = driver.execute_script("return document.body.scrollHeight")  # type: ignore[attr-defined]
    driver.set_window_size(1400, min(max(int(height), 800), 6000))  # type: ignore[attr-defined]
    driver.save_screenshot(str(ARTIFACTS / f"{name}{'-' + worker if worker else ''}.png"))  # type: ignore[attr-defined]
    driver.set_window_size(1400, 1000)  # type: ignore[attr-defined]


def heading(driver: object) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.TAG_NAME, "h1")  # type: ignore[attr-defined]
    return found[0].text.strip() if found else ""


def test_country_page_renders(ld, chromium):
    from selenium.webdriver.common.by import By

    chromium.get(ld.url + "id/country/DE")  # the 303 is followed like any browser does
    assert chromium.current_url.endswith("/doc/country/DE")
    assert heading(chromium) == "Germany"
    text = chromium.find_element(By.TAG_NAME, "main").text
    # the summary first, the conflict in its topic, the sources named
    assert text.index("In short") < text.index("What the report says") < text.index("Cite this")
    assert "Sources differ" in text and "OECD" in text
    assert chromium.find_elements(By.CSS_SELECTOR, "#facts section.topic section.conflict")
    assert chromium.find_elements(By.CSS_SELECTOR, "form[role=search] input[name=q]")
    # the data-engineering details are folded below, and there when opened
    data = chromium.find_element(By.ID, "data")
    assert data.tag_name == "details" and data.get_attribute("open") is None
    data.find_element(By.TAG_NAME, "summary").click()
    aligned = [a.get_attribute("href") for a in chromium.find_elements(By.CSS_SELECTOR, "#alignments a")]
    assert "http://publications.europa.eu/resource/authority/country/DEU" in aligned
    formats = [a.text for a in chromium.find_elements(By.CSS_SELECTOR, "p.formats a")]
    assert {"Turtle", "JSON-LD"} <= set(formats)
    screenshot(chromium, "country-DE")


def test_programme_page_renders(ld, chromium):
    from selenium.webdriver.common.by import By

    chromium.get(ld.url + "id/programme/plan-microcreds")
    assert heading(chromium) == "Plan Microcreds"
    facts = chromium.find_element(By.ID, "facts").text
    assert "Footnote" in facts and "§3" in facts
    screenshot(chromium, "programme-plan-microcreds")


def test_search_box_works_without_javascript(ld, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chromium.get(ld.url + "compare")
    box = chromium.find_element(By.CSS_SELECTOR, "form[role=search] input[name=q]")
    box.send_keys("Flanders")
    box.submit()
    # submit() returns before the results page has loaded: wait for it, bounded.
    WebDriverWait(chromium, TIMEOUT).until(lambda d: "/search?" in d.current_url
                                           and d.find_elements(By.CSS_SELECTOR, "ol.hits a"))
    links = [a.get_attribute("href") for a in chromium.find_elements(By.CSS_SELECTOR, "ol.hits a")]
    assert ld.url + "id/region/BE-VLG" in links


def test_comparison_page_renders_and_every_link_leads_somewhere(ld, chromium):
    from selenium.webdriver.common.by import By

    chromium.get(ld.url + "compare")
    assert heading(chromium) == "Country comparison"
    rows = chromium.find_elements(By.CSS_SELECTOR, "table.compare tbody tr")
    assert len(rows) >= 14
    flagged = chromium.find_elements(By.CSS_SELECTOR, "td.g-differs")
    assert flagged, "the German portal cell is flagged"
    screenshot(chromium, "comparison")

    start = chromium.current_url
    # get_dom_attribute: an SVG link's href property is an SVGAnimatedString, not the address
    links = {urldefrag(urljoin(start, a.get_dom_attribute("href") or ""))[0]
             for a in chromium.find_elements(By.CSS_SELECTOR, "a[href]")}
    own = sorted(u for u in links if urlparse(u).netloc == urlparse(ld.url).netloc)
    assert 50 < len(own) <= MAX_CRAWL, len(own)
    problems = []
    pages = []
    for url in own:  # every link answers, and every page has a heading (read from its HTML)
        response = requests.get(url, timeout=60, headers={"Accept": "text/html"})
        if response.status_code != 200:
            problems.append(f"{url}: HTTP {response.status_code}")
            continue
        if urlparse(url).path.endswith((".csv", ".xlsx", "/sparql")) or "/downloads/" in url:
            continue  # a file, not a page
        pages.append(url)
        if not any(h.strip() for h in Page(response.text).headings):
            problems.append(f"{url}: no heading")
    # and a sample of the pages, one of each kind of path, renders in the browser with it
    sample = {urlparse(u).path.split("/")[2] if u.count("/") > 4 else urlparse(u).path: u
              for u in pages}
    for url in sorted(sample.values()):
        chromium.get(url)
        if not heading(chromium):
            problems.append(f"{url}: no heading in the browser")
    assert not problems, "\n".join(problems)
