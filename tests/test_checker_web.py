"""``/check`` on a real server: the upload form, JSON and HTML verdicts, bad files as 400s, and
the page in headless Chromium (issue 9).

The server is the session's ``mckg serve`` process (``ld_support.shared_server``); requests go
to it over loopback with ``requests``; the browser test uploads a file through the form.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from browser import chromium as start_chromium
from ld_support import LdServer, shared_server

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "credentials"
ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT = 120
EU = "https://w3id.org/mckg/id/definition/eu-council-rec-2022"
ES = "https://w3id.org/mckg/id/definition/es-university-mc"


@pytest.fixture(scope="module")
def ld(request: pytest.FixtureRequest) -> LdServer:
    return shared_server(request)


def post_file(ld: LdServer, path: Path, **params: str) -> requests.Response:
    with path.open("rb") as fh:
        return requests.post(ld.url + "check", files={"credential": (path.name, fh)},
                             data=params, headers={"Accept": "application/json"}, timeout=TIMEOUT)


def by_profile(answer: dict[str, object]) -> dict[str, dict[str, object]]:
    return {v["profile"]: v for v in answer["verdicts"]}  # type: ignore[index,union-attr]


def test_form_lists_the_profiles(ld: LdServer) -> None:
    page = requests.get(ld.url + "check", timeout=TIMEOUT)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert '<form class="checker" method="post"' in html and 'name="credential"' in html
    assert "EU: micro-credential under the 2022 Council Recommendation (Annex I elements)" in html
    assert "Spain: definition of a university micro-credential" in html
    assert '<option value="ES"' in html


def test_upload_18_ects_as_json(ld: LdServer) -> None:
    answer = post_file(ld, EXAMPLES / "annex1-description-18ects.json")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    verdicts = by_profile(answer.json())
    assert verdicts[EU]["conforms"] is True
    spain = verdicts[ES]
    assert spain["conforms"] is False
    assert [f["message"] for f in spain["findings"]] == [  # type: ignore[union-attr,index]
        f"Spain (Plan Microcreds, report §3, fact {ES}): workload 18 ECTS is not under 15"]
    assert answer.json()["conforms"] is False


def test_europass_body_and_the_official_shapes(ld: LdServer) -> None:
    body = (EXAMPLES / "europass-annex1-sample.jsonld").read_bytes()
    answer = requests.post(ld.url + "check?format=json", data=body, timeout=TIMEOUT,
                           headers={"Content-Type": "application/ld+json"})
    assert answer.status_code == 200
    result = answer.json()
    assert result["triples"] == 292
    edc = next(v for v in result["verdicts"] if v["profile"].endswith("edc-generic-full"))
    assert sorted(f["path"] for f in edc["findings"]) == ["cred:issued", "cred:issuer"]


def test_country_all_and_unknown(ld: LdServer) -> None:
    every = post_file(ld, EXAMPLES / "missing-elements.json", country="all")
    assert {EU, ES} <= set(by_profile(every.json()))
    unknown = post_file(ld, EXAMPLES / "missing-elements.json", country="DE")
    assert unknown.status_code == 400
    assert "no profile for 'DE'" in unknown.json()["error"]


@pytest.mark.parametrize(("content_type", "body", "expected"), [
    ("application/json", b'{\n "title": "x",\n "workload": 5,,\n}', "upload.json:3: invalid JSON"),
    ("text/turtle", b"@prefix ex: <http://example.org/> .\nex:a ex:b .\n", "upload.ttl:2:"),
    ("application/ld+json", b'{\n "@context": "https://example.org/c",\n "@id": "urn:x"\n}',
     "upload.jsonld:2: remote JSON-LD context 'https://example.org/c' is not fetched"),
    ("application/json", b'{"level": 12}', "'level' must be an EQF level 1-8"),
    ("text/plain", b"hello", "send the credential as a form upload"),
    ("application/json", b"   ", "the credential is empty"),
])
def test_bad_bodies_are_400_with_the_line(ld: LdServer, content_type: str, body: bytes,
                                          expected: str) -> None:
    answer = requests.post(ld.url + "check?format=json", data=body, timeout=TIMEOUT,
                           headers={"Content-Type": content_type})
    assert answer.status_code == 400
    assert expected in answer.json()["error"]
    assert "Traceback" not in answer.text
    html = requests.post(ld.url + "check", data=body, timeout=TIMEOUT,
                         headers={"Content-Type": content_type, "Accept": "text/html"})
    assert html.status_code == 400 and html.headers["Content-Type"].startswith("text/html")
    assert 'class="error-message"' in html.text and '<form class="checker"' in html.text


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with start_chromium(tmp_path_factory.mktemp("chromium-checker"), width=1300,
                        page_load_timeout=TIMEOUT) as driver:
        yield driver


@pytest.mark.browser
def test_upload_in_the_browser(ld: LdServer, chromium: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = chromium
    driver.get(ld.url + "check")  # type: ignore[attr-defined]
    assert driver.find_element(By.TAG_NAME, "h1").text == "Check a micro-credential"  # type: ignore[attr-defined]
    upload = driver.find_element(By.ID, "credential")  # type: ignore[attr-defined]
    upload.send_keys(str(EXAMPLES / "annex1-description-18ects.json"))
    Select(driver.find_element(By.ID, "country")).select_by_value("ES")  # type: ignore[attr-defined]
    driver.find_element(By.CSS_SELECTOR, "form.checker button[type=submit]").click()  # type: ignore[attr-defined]
    # the answer is a new page: wait (bounded) until it has replaced the form's page
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "article.verdict")) == 2)
    verdicts = driver.find_elements(By.CSS_SELECTOR, "article.verdict")  # type: ignore[attr-defined]
    assert [v.get_attribute("data-profile") for v in verdicts] == [EU, ES]
    assert [v.get_attribute("class") for v in verdicts] == ["verdict conforms", "verdict fails"]
    spain = verdicts[1].text
    assert "workload 18 ECTS is not under 15" in spain and "Expected: a workload under 15 ECTS" in spain
    assert "Source: Plan Microcreds, report §3" in spain
    assert "Not checked: Required elements of the certificate" in spain
    ARTIFACTS.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    driver.save_screenshot(str(ARTIFACTS / f"checker{'-' + worker if worker else ''}.png"))  # type: ignore[attr-defined]
    # the element links lead to the element's page on this server
    eu_optional = verdicts[0].find_elements(By.CSS_SELECTOR, "ul.findings li.info")
    assert len(eu_optional) == 5 and "may also state grade achieved" in verdicts[0].text
    link = verdicts[1].find_element(By.CSS_SELECTOR, "ul.findings li.problem a")
    assert link.get_attribute("href").startswith(ld.url)
    assert json.dumps(link.text)  # a label, not an empty anchor
    assert link.text == "Notional workload"
