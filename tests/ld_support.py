"""The real server the linked-data tests talk to, and small HTTP/RDF helpers they share.

The endpoint tests' session server (fixture ``server`` in conftest: ``mckg serve`` on a free
loopback port, Oxigraph store, the shipped graph plus an edge-case file) is reused when it
exists, so a test session starts one server, not two. Without it, one ``mckg serve`` process is
started here, once per test process, with the same shape.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests

_SERVING = re.compile(r"serving (http://\S+/)")
BASE = "https://w3id.org/mckg/"


@dataclass
class LdServer:
    """Where the server listens."""

    url: str


_own: dict[str, Any] = {}


def _start_own(request: pytest.FixtureRequest) -> LdServer:
    workdir = Path(tempfile.mkdtemp(prefix="mckg-ld-"))
    env = {**os.environ, "XDG_DATA_HOME": str(workdir / "xdg"), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-c", "from mckg.cli import main; main()", "serve", "--port", "0",
               "--store", f"oxigraph:{workdir / 'store'}", "--workers", "2"]
    process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            match = _SERVING.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    ready.wait(180)
    if not found:
        process.kill()
        raise RuntimeError("mckg serve did not start")

    def stop() -> None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()

    request.session.config.add_cleanup(stop)
    return LdServer(found[0])


def shared_server(request: pytest.FixtureRequest) -> LdServer:
    """The session's server: the endpoint tests' one if defined, else our own (started once)."""
    try:
        server = request.getfixturevalue("server")
        return LdServer(server.url)
    except pytest.FixtureLookupError:
        pass
    if "server" not in _own:
        _own["server"] = _start_own(request)
    return _own["server"]


def get(server: LdServer, path: str, *, accept: str | None = None, follow: bool = False,
        **kwargs: Any) -> requests.Response:
    """GET ``path`` on the server (no redirects followed unless asked)."""
    headers = {"Accept": accept} if accept else {}
    return requests.get(server.url + path.lstrip("/"), headers=headers,
                        allow_redirects=follow, timeout=120, **kwargs)


class Page(HTMLParser):
    """What the tests read from an HTML page: headings, links, a search form."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.links: list[str] = []
        self.search_forms = 0
        self._in_h1 = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "h1":
            self._in_h1 = True
            self.headings.append("")
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        elif tag == "form" and a.get("role") == "search":
            self.search_forms += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1 and self.headings:
            self.headings[-1] += data
