"""The quick-start trap: a running server must not need its package files again.

``pip install . && mckg serve`` then ``pip install -e ".[test]"`` removed the installed package
under the running server, and ``/downloads`` answered 500 ``TemplateNotFound``. Here the app is
created from a copy of its templates and static files, served over real HTTP (waitress on
127.0.0.1), and the copy is deleted: every page and file is still served. A copy with a file
missing stops the app before it starts, naming the file.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from serving import EDGE_CASES

from mckg.config import Settings
from mckg.web import create_app
from mckg.web.assets import PACKAGE_ASSETS, AssetError

TIMEOUT = 60
SETTINGS = Settings(include_shipped=False, reasoning=False, extra_files=(EDGE_CASES,),
                    store="memory", query_workers=1)


def copy_assets(into: Path) -> Path:
    """A copy of the package's ``templates/`` and ``static/`` folders."""
    for folder in ("templates", "static"):
        shutil.copytree(PACKAGE_ASSETS / folder, into / folder)
    return into


@pytest.fixture
def served_then_removed(tmp_path: Path) -> Iterator[str]:
    """An app made from a copy of its assets, served over HTTP; the copy is gone by the first
    request."""
    from waitress.server import create_server

    assets = copy_assets(tmp_path / "assets")
    app = create_app(SETTINGS, assets=assets)
    server = create_server(app, host="127.0.0.1", port=0, threads=2, asyncore_loop_timeout=0.02)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    shutil.rmtree(assets)
    try:
        yield f"http://127.0.0.1:{server.effective_port}/"  # type: ignore[union-attr]
    finally:
        server.close()
        thread.join(10)
        app.extensions["mckg.service"].close()


def test_pages_and_files_are_served_after_the_files_are_gone(served_then_removed: str) -> None:
    url = served_then_removed

    def fetch(path: str, accept: str = "text/html") -> requests.Response:
        return requests.get(url + path, headers={"Accept": accept}, timeout=TIMEOUT)

    page = fetch("")
    assert page.status_code == 200 and "<textarea" in page.text
    for path, media_type in (("static/page.css", "text/css"), ("static/page.js", "javascript"),
                             ("ld-static/ld.css", "text/css")):
        asset = fetch(path, "*/*")
        assert asset.status_code == 200 and media_type in asset.headers["Content-Type"], path
        assert asset.content == (PACKAGE_ASSETS / "static" / path.replace("ld-static", "ld")
                                 .removeprefix("static/")).read_bytes()
        again = requests.get(url + path, headers={"If-None-Match": asset.headers["ETag"]},
                             timeout=TIMEOUT)
        assert again.status_code == 304
    for path in ("search?q=alice", "compare", "downloads"):
        response = fetch(path)
        assert response.status_code == 200 and "<h1" in response.text, (path, response.text[:300])
    assert "Not found" in fetch("id/country/XX").text  # ld/notfound.html, on ld/base.html
    error = fetch("no/such/thing")
    assert error.status_code == 404 and "<h1>404 Not Found</h1>" in error.text  # error.html
    assert fetch("static/no-such-file.css").status_code == 404


@pytest.mark.parametrize(("missing", "named"), [
    ("templates/ld/base.html", "ld/base.html"),  # used by the other ld/ templates
    ("templates", "templates"),
    ("static", "static"),
])
def test_a_missing_file_stops_the_app_before_it_starts(tmp_path: Path, missing: str,
                                                       named: str) -> None:
    assets = copy_assets(tmp_path / "assets")
    target = assets / missing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(AssetError, match=re.escape(named)):
        create_app(SETTINGS, assets=assets)


def test_a_broken_template_stops_the_app(tmp_path: Path) -> None:
    assets = copy_assets(tmp_path / "assets")
    (assets / "templates" / "page.html").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(AssetError, match=r"page\.html does not compile"):
        create_app(SETTINGS, assets=assets)


def test_every_template_a_view_renders_is_shipped() -> None:
    """The names views pass to ``render_template`` (directly or through a helper) exist."""
    named: set[str] = set()
    for module in PACKAGE_ASSETS.glob("*.py"):
        named |= set(re.findall(r"[\"']((?:ld/)?[\w-]+\.html)[\"']", module.read_text("utf-8")))
    shipped = {p.relative_to(PACKAGE_ASSETS / "templates").as_posix()
               for p in (PACKAGE_ASSETS / "templates").rglob("*.html")}
    assert named and named <= shipped, named - shipped

