"""Headless Chromium for the browser tests, started one way for every test module.

Debian's ``chromium`` and ``chromium-driver`` are driven through Selenium, headless, with the
networking features off (this machine has no internet) and a fresh profile. Where the browser is
missing the tests skip — unless ``MCKG_REQUIRE_BROWSER`` is set (CI sets it), when that is a
failure, so a missing install step cannot hide behind a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@contextmanager
def chromium(profile: Path, *, width: int = 1280, height: int = 1000,
             page_load_timeout: float = 60) -> Iterator[object]:
    """Yield a Selenium driver for headless Chromium; skip (or fail in CI) if it is missing."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("MCKG_REQUIRE_BROWSER"):
            pytest.fail(f"MCKG_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing")
        pytest.skip("chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(page_load_timeout)
    try:
        yield driver
    finally:
        driver.quit()
