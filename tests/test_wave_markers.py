"""The "changed since the previous wave" marker on the comparison and country pages (issue 10,
point 5), end to end: the fictional second wave is ingested into a store, ``mckg serve`` runs
on it, and the pages, the CSV and the workbook are read over HTTP — then in headless Chromium,
where the marker must be visible and ``/waves/diff`` must fit a 390 px phone. Country pages
for one wave (``?wave=N``): that wave's answers and marker, the empty state, the 400, and the
selector working without JavaScript on a phone.

Which cells changed is the survey diff's answer; the planted changes are listed once, in
``test_survey_diff.PLANTED``. Only the comparison's columns are cells (a remark is not).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from serving import ServerProcess, start_server
from test_survey_diff import FIXTURES, PLANTED

from mckg.cli import main
from mckg.linked.compare import COLUMNS

#: The planted changes in the comparison's columns: (jurisdiction code, column) → change.
CELLS = {(iri.rsplit("/", 1)[-1], dimension): change for iri, dimension, change in PLANTED
         if dimension in {c.key for c in COLUMNS}}
DIFF_LINK = "/waves/diff?from=w1&amp;to=w2"
TIMEOUT = 60


@pytest.fixture(scope="module")
def wave_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``mckg serve`` on a store with the shipped graph (wave 1) and the fictional wave 2."""
    url = f"oxigraph:{tmp_path_factory.mktemp('marker-store') / 'store'}"
    result = CliRunner().invoke(main, ["ingest", "survey", str(FIXTURES / "wave-2-fictional.csv"),
                                       "--wave", "w2", "--store", url])
    assert result.exit_code == 0, result.output
    proc = start_server(["serve", "--port", "0", "--store", url],
                        workdir=tmp_path_factory.mktemp("marker-server"))
    yield proc
    proc.stop()


def page(server: ServerProcess, path: str, **params: object) -> str:
    response = requests.get(server.url + path.lstrip("/"), params=params, timeout=TIMEOUT)  # type: ignore[arg-type]
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return response.text


def marked_cells(html: str) -> dict[tuple[str, str], str]:
    """(row code, column) → data-changed of every marked cell of the grid."""
    out = {}
    for row in html.split('<tr id="row-')[1:]:
        code = row.split('"', 1)[0]
        for column, change in re.findall(
                r'data-column="([^"]+)" data-grade="[^"]+" data-changed="([^"]+)"', row):
            out[(code, column)] = change
    return out


def cell_html(html: str, code: str, column: str) -> str:
    row = html.split(f'<tr id="row-{code}"', 1)[1].split("</tr>", 1)[0]
    start = row.index(f'data-column="{column}"')
    return row[start:row.index("</td>", start)]


def compare_csv(server: ServerProcess, **params: object) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(page(server, "/compare.csv", **params))))


def test_wave_2_marks_exactly_the_planted_cells(wave_server: ServerProcess) -> None:
    html = page(wave_server, "/compare", wave="2")
    assert marked_cells(html) == CELLS
    grid = html[html.index('<table class="compare">'):]
    assert grid.count('class="changed-mark"') == len(CELLS)
    assert "8 cells below are answered differently in wave 2 than in wave 1" in html
    for code, column in CELLS:
        cell = cell_html(html, code, column)
        # a symbol (hidden from screen readers) and words, in the cell's summary
        assert ('<span class="changed-mark"><span class="sym" aria-hidden="true">Δ</span> '
                'changed since wave 1</span></summary>') in cell, (code, column)
        assert f'<a href="{DIFF_LINK}">What changed from wave 1 to wave 2</a>' in cell
    # the previous wave's answer, in the cell's <details>
    portal = cell_html(html, "DE", "portal")
    assert re.search(r"<strong>Changed since wave 1\.</strong> Wave 1: <a [^>]*>No portal and "
                     r"no plans</a>\.", portal)
    spain = cell_html(html, "ES", "funding")
    assert spain.index("EUR 50,000,000") < spain.index("EUR 55,000,000")  # wave 1, then wave 2
    assert "<strong>Added since wave 1.</strong> Wave 1: no answer." in \
        cell_html(html, "DE", "accreditation")
    flanders = cell_html(html, "BE-VLG", "funding")  # the answer wave 2 dropped is still there
    assert "<strong>Removed since wave 1.</strong>" in flanders
    assert "Advancement Fund Higher Education (Flanders)" in flanders
    assert "wave 2: no answer" in flanders
    # an unchanged cell has no marker
    assert "changed-mark" not in cell_html(html, "GR", "portal")


def test_wave_2_csv_and_workbook_flag_the_same_cells(wave_server: ServerProcess) -> None:
    rows = compare_csv(wave_server, wave="2")
    flagged = {(r["code"], r["column"]) for r in rows if r["changed_since_previous_wave"] == "true"}
    assert flagged == set(CELLS)
    assert {r["changed_since_previous_wave"] for r in rows} == {"true", "false"}
    assert all(r["previous_wave_values"] == "" for r in rows
               if r["changed_since_previous_wave"] == "false")
    by_cell = {(r["code"], r["column"]): r for r in rows}
    assert by_cell[("DE", "portal")]["previous_wave_values"] == "No portal and no plans"
    assert by_cell[("DE", "accreditation")]["previous_wave_values"] == ""  # added
    removed = by_cell[("BE-VLG", "funding")]  # one line without a fact, so the change is there
    assert (removed["fact"], removed["grade"]) == ("", "none")
    assert removed["previous_wave_values"].startswith(
        "Advancement Fund Higher Education (Flanders) (EUR 60,000,000")
    openpyxl = pytest.importorskip("openpyxl")
    response = requests.get(wave_server.url + "compare.xlsx",
                            params={"wave": "2", "country": "DE", "column": "portal"},
                            timeout=TIMEOUT)
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    grid = list(book["Comparison"].iter_rows(values_only=True))
    assert grid[1][3] == ("Yes: National portal in place — Δ changed since wave 1 "
                          "(was: No portal and no plans)")


def test_wave_1_and_all_sources_carry_no_marker(wave_server: ServerProcess) -> None:
    for params in ({"wave": "1"}, {}):
        html = page(wave_server, "/compare", **params)
        assert not marked_cells(html) and "changed-mark" not in html, params
        assert 'class="changes-note"' not in html
    wave_1 = compare_csv(wave_server, wave="1")
    assert {r["changed_since_previous_wave"] for r in wave_1} == {"false"}
    everything = compare_csv(wave_server)  # no wave chosen: the flag does not apply
    assert {r["changed_since_previous_wave"] for r in everything} == {""}


def test_country_pages_mark_what_the_latest_wave_changed(wave_server: ServerProcess) -> None:
    germany = page(wave_server, "/doc/country/DE")
    summary = germany[germany.index('id="summary"'):germany.index("</dl>")]
    marked = re.findall(r'<span class="changed-mark" data-column="([^"]+)">', summary)
    assert sorted(marked) == sorted(col for code, col in CELLS if code == "DE")
    assert ('<span class="sym" aria-hidden="true">Δ</span> Changed in wave 2 since wave 1: '
            f'<a href="{DIFF_LINK}">what changed</a>.') in summary
    assert "Δ marks what wave 2 of the partner survey answers differently from wave 1" in summary
    flanders = page(wave_server, "/doc/region/BE-VLG")
    assert re.findall(r'class="changed-mark" data-column="([^"]+)"', flanders) == ["funding"]
    greece = page(wave_server, "/doc/country/GR")  # nothing planted for Greece
    assert "changed-mark" not in greece and "Δ marks" not in greece


# ---- in the browser --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Chromium emulating a 390 px wide phone."""
    from browser import chromium

    with chromium(tmp_path_factory.mktemp("chromium-marker"), width=500,
                  page_load_timeout=TIMEOUT) as driver:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",  # type: ignore[attr-defined]
                               {"width": 390, "height": 844, "deviceScaleFactor": 1,
                                "mobile": True})
        yield driver


@pytest.mark.browser
def test_marker_is_visible_and_opens_on_the_previous_answer(wave_server: ServerProcess,
                                                            phone: object) -> None:
    from selenium.webdriver.common.by import By
    from test_pages_browser import artifact

    phone.get(wave_server.url + "compare?wave=2&country=DE&column=portal")  # type: ignore[attr-defined]
    mark = phone.find_element(By.CSS_SELECTOR, "#row-DE td.changed summary .changed-mark")  # type: ignore[attr-defined]
    assert mark.is_displayed() and mark.text == "Δ changed since wave 1"
    box = mark.rect
    assert box["width"] > 0 and box["x"] + box["width"] <= 390
    previous = phone.find_element(By.CSS_SELECTOR, "#row-DE td.changed .cell-previous")  # type: ignore[attr-defined]
    assert not previous.is_displayed()  # folded until the reader opens the cell
    phone.find_element(By.CSS_SELECTOR, "#row-DE td.changed summary").click()  # type: ignore[attr-defined]
    assert previous.is_displayed()
    assert "Wave 1: No portal and no plans" in previous.text
    artifact(phone, "compare?wave=2-marker", 390)
    phone.get(wave_server.url + "doc/country/DE")  # type: ignore[attr-defined]
    marks = phone.find_elements(By.CSS_SELECTOR, "#summary .changed-mark")  # type: ignore[attr-defined]
    assert len(marks) == 3 and all(m.is_displayed() for m in marks)


@pytest.mark.browser
def test_wave_changes_page_fits_a_phone(wave_server: ServerProcess, phone: object) -> None:
    from selenium.webdriver.common.by import By
    from test_pages_browser import OVERFLOW, artifact

    phone.get(wave_server.url + "waves/diff?from=w1&to=w2")  # type: ignore[attr-defined]
    scroll, client, culprits = phone.execute_script(OVERFLOW)  # type: ignore[attr-defined]
    assert scroll <= client + 1, f"{scroll} px wide in a {client} px window: {culprits}"
    rows = phone.find_elements(By.CSS_SELECTOR, "table.diff tbody tr")  # type: ignore[attr-defined]
    assert len(rows) == len(PLANTED)
    for row in rows:  # every value readable, none cut off at the right edge
        for cell in row.find_elements(By.CSS_SELECTOR, "th, td"):
            assert cell.is_displayed() and cell.rect["x"] + cell.rect["width"] <= 391
    artifact(phone, "waves/diff-wave-2", 390)


@pytest.mark.browser
@pytest.mark.parametrize("path", ["compare?wave=2", "doc/country/DE", "waves/diff",
                                  "doc/country/DE?wave=2", "doc/country/FI?wave=2"])
def test_marked_pages_have_no_serious_accessibility_violations(wave_server: ServerProcess,
                                                               phone: object,
                                                               path: str) -> None:
    from test_pages_browser import _axe

    phone.get(wave_server.url + path)  # type: ignore[attr-defined]
    phone.execute_script(  # type: ignore[attr-defined]
        "document.querySelectorAll('td.changed details').forEach(d => d.open = true)")
    serious = [v for v in _axe(phone) if v["impact"] in ("serious", "critical")]
    assert not serious, serious


# ---- country pages for one wave (?wave=N) ----------------------------------------------------

WAVE_2 = "MCE partner survey, wave 2"


def summary_line(html: str, title: str) -> str:
    """The summary's sentence under the heading ``title``."""
    start = html.index(f"<dt>{title}</dt>")
    return html[start:html.index("</dd>", start)]


def fact_waves(html: str) -> list[str]:
    """The wave of every fact in the page's "What the report says" section."""
    facts = html[html.index('id="facts"'):html.index('id="cite"')]
    return re.findall(r'<span class="k">Wave</span> <a [^>]*>([^<]+)</a>', facts)


def test_country_page_for_wave_2_shows_its_answers_and_what_it_changed(
        wave_server: ServerProcess) -> None:
    germany = page(wave_server, "/doc/country/DE", wave="2")
    summary = germany[germany.index('id="summary"'):germany.index("</dl>")]
    marked = re.findall(r'<span class="changed-mark" data-column="([^"]+)">', summary)
    assert sorted(marked) == sorted(col for code, col in CELLS if code == "DE")
    assert ('<span class="sym" aria-hidden="true">Δ</span> Changed in wave 2 since wave 1: '
            f'<a href="{DIFF_LINK}">what changed</a>.') in summary
    assert "What wave 2 of the partner survey answers for Germany" in summary
    # wave 2's answers: the portal it reports, not wave 1's "no portal" nor the OECD's view
    portal = summary_line(germany, "National portal")
    assert "National portal in place" in portal and "No portal and no plans" not in portal
    assert WAVE_2 in portal and "OECD" not in portal
    assert "no answer in wave 2." in summary_line(germany, "Funding programmes")
    # the facts: wave 2's only (the default page has wave 1's and other sources' too)
    waves = fact_waves(germany)
    assert waves and all(w.startswith(WAVE_2) for w in waves)
    assert germany.count('<article class="fact">') == len(waves)
    assert "What the report says in wave 2 of the partner survey (4 facts)" in germany
    assert 'class="conflict"' not in germany  # its sides are not both wave 2's answers
    # the selector shows the chosen wave; the link to the comparison keeps it
    assert '<option value="2" selected>' in germany
    assert 'href="/compare?wave=2&amp;country=DE"' in germany
    assert "No data for this wave yet" not in germany


def test_country_page_for_wave_1_has_no_marker_and_the_default_is_unchanged(
        wave_server: ServerProcess) -> None:
    germany = page(wave_server, "/doc/country/DE", wave="1")
    assert "changed-mark" not in germany and "Δ marks" not in germany
    portal = summary_line(germany, "National portal")
    assert "No portal and no plans" in portal and "National portal in place" not in portal
    waves = fact_waves(germany)
    assert waves and all(w.startswith("MCE partner survey, wave 1") for w in waves)
    assert '<option value="1" selected>' in germany
    # without a wave (or with "all"): every source, marked with what the latest wave changed
    for params in ({}, {"wave": "all"}):
        everything = page(wave_server, "/doc/country/DE", **params)
        assert '<option value="all" selected>' in everything
        assert 'href="/compare?country=DE"' in everything
        assert len(re.findall(r'<span class="changed-mark" data-column=', everything)) == 3
        assert {w.split(" (")[0] for w in fact_waves(everything)} == {
            "MCE partner survey, wave 1", WAVE_2}
        assert "OECD" in summary_line(everything, "National portal")


def test_country_without_answers_in_the_wave_shows_the_empty_state(
        wave_server: ServerProcess) -> None:
    finland = page(wave_server, "/doc/country/FI", wave="2")  # not a survey partner
    empty = finland[finland.index('class="empty-state"'):]
    empty = empty[:empty.index("</section>")]
    assert '<h2 id="nodata">No data for this wave yet</h2>' in empty
    assert "none of its answers are about Finland" in empty
    assert 'href="/doc/country/FI">all sources</a>' in empty
    assert 'href="/compare?wave=2">the comparison for this wave</a>' in empty
    assert 'id="summary"' not in finland and 'id="facts"' not in finland
    assert "the report says nothing on this" not in finland


def test_a_wave_without_any_data_shows_the_empty_state(server: ServerProcess) -> None:
    """The shipped data: wave 2 is scheduled, none of its answers are in."""
    germany = page(server, "/doc/country/DE", wave="2")
    assert '<h2 id="nodata">No data for this wave yet</h2>' in germany
    assert "none of its answers are in the dataset yet" in germany
    assert 'href="/doc/country/DE?wave=1">' in germany
    assert 'id="summary"' not in germany and "changed-mark" not in germany


def test_bad_wave_on_a_country_page_is_a_400_naming_it(wave_server: ServerProcess) -> None:
    for path, value in (("doc/country/DE", "x"), ("doc/country/DE", "7"),
                        ("doc/country/DE.ttl", "x"), ("doc/finding/de-portal-w1", "2")):
        response = requests.get(wave_server.url + path, params={"wave": value}, timeout=TIMEOUT)
        assert response.status_code == 400, (path, value)
        assert "wave" in response.text, response.text
    # the same parsing as the comparison's, so the same words
    assert (requests.get(wave_server.url + "compare", params={"wave": "x"},
                         timeout=TIMEOUT).text
            == requests.get(wave_server.url + "doc/country/DE", params={"wave": "x"},
                            timeout=TIMEOUT).text)


def test_comparison_for_a_wave_links_to_country_pages_for_that_wave(
        wave_server: ServerProcess) -> None:
    html = page(wave_server, "/compare", wave="2")
    row = html.split('<tr id="row-DE"', 1)[1].split("</tr>", 1)[0]
    assert '<a href="/doc/country/DE?wave=2">Germany</a>' in row
    svg = html[html.index('<svg class="europe"'):html.index("</svg>")]
    assert 'href="/doc/country/DE?wave=2"' in svg and 'href="/doc/region/BE-VLG?wave=2"' in svg
    everything = page(wave_server, "/compare")  # all sources: the links as before
    assert 'href="/doc/country/DE?wave' not in everything


@pytest.mark.browser
def test_country_wave_selector_works_without_javascript_on_a_phone(
        wave_server: ServerProcess, phone: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
    from test_pages_browser import OVERFLOW, artifact

    driver: Any = phone
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        driver.get(wave_server.url + "doc/country/DE")
        Select(driver.find_element(By.CSS_SELECTOR, "form.wave-controls select[name=wave]")
               ).select_by_value("2")
        driver.find_element(By.CSS_SELECTOR, "form.wave-controls button[type=submit]").click()
        WebDriverWait(driver, TIMEOUT).until(lambda d: d.current_url.endswith("?wave=2"))
        marks = driver.find_elements(By.CSS_SELECTOR, "#summary .changed-mark")
        assert len(marks) == 3 and all(m.is_displayed() for m in marks)
        assert marks[0].text.startswith("Δ Changed in wave 2 since wave 1")
        Select(driver.find_element(By.CSS_SELECTOR, "form.wave-controls select[name=wave]")
               ).select_by_value("1")
        driver.find_element(By.CSS_SELECTOR, "form.wave-controls button[type=submit]").click()
        WebDriverWait(driver, TIMEOUT).until(lambda d: d.current_url.endswith("?wave=1"))
        assert driver.find_elements(By.CSS_SELECTOR, ".changed-mark") == []
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    for path in ("doc/country/DE?wave=2", "doc/country/FI?wave=2"):
        driver.get(wave_server.url + path)
        scroll, client, culprits = driver.execute_script(OVERFLOW)
        assert scroll <= client + 1, f"{path}: {scroll} px wide in {client} px: {culprits}"
        select = driver.find_element(By.CSS_SELECTOR, "form.wave-controls select[name=wave]")
        assert select.rect["x"] + select.rect["width"] <= 390
        artifact(driver, path, 390)
