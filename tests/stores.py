"""Stores for the tests: a stand-in SPARQL endpoint and the real Virtuoso when CI provides one.

The ``sparql+http`` store runs the shared suite against a small SPARQL 1.1 Query/Update server
started in the test process (pyoxigraph behind WSGI, standing in for Virtuoso or Fuseki); the
real Virtuoso that ``.ci/virtuoso.sh`` starts is named by ``MCKG_VIRTUOSO_URL``. Without it the
Virtuoso tests skip — unless ``MCKG_REQUIRE_VIRTUOSO`` is set (``.ci/run`` sets it), when a
missing server is a failure, so a broken CI step cannot hide behind a skip.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import pyoxigraph as ox
import pytest
from waitress.server import create_server

SRJ = "application/sparql-results+json"
#: The Virtuoso SPARQL endpoint, e.g. http://127.0.0.1:8890/sparql (set by .ci/virtuoso.sh).
VIRTUOSO = os.environ.get("MCKG_VIRTUOSO_URL")


def require_virtuoso() -> str:
    """The Virtuoso endpoint; skip without one, or fail when ``MCKG_REQUIRE_VIRTUOSO`` is set."""
    if not VIRTUOSO:
        if os.environ.get("MCKG_REQUIRE_VIRTUOSO"):
            pytest.fail("MCKG_REQUIRE_VIRTUOSO is set but MCKG_VIRTUOSO_URL is not: start one "
                        'with eval "$(bash .ci/virtuoso.sh start)"')
        pytest.skip("MCKG_VIRTUOSO_URL is not set")
    return VIRTUOSO


def fake_endpoint(store: ox.Store) -> Callable[..., Any]:
    """A WSGI SPARQL 1.1 Query/Update endpoint over a pyoxigraph store (queries and updates)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        params = parse_qs(environ.get("QUERY_STRING", ""))
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length).decode("utf-8")
            for key, value in parse_qs(body).items():
                params.setdefault(key, []).extend(value)
        try:
            if "update" in params:
                store.update(params["update"][0])
                start_response("204 No Content", [])
                return []
            kwargs: dict[str, Any] = {}
            if "default-graph-uri" in params or "named-graph-uri" in params:
                kwargs["default_graph"] = [ox.NamedNode(g) for g in params.get("default-graph-uri", [])]
                kwargs["named_graphs"] = [ox.NamedNode(g) for g in params.get("named-graph-uri", [])]
            answer = store.query(params["query"][0], **kwargs)
        except SyntaxError as exc:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [str(exc).encode()]
        if isinstance(answer, ox.QueryTriples):
            start_response("200 OK", [("Content-Type", "application/n-triples")])
            return [answer.serialize(format=ox.RdfFormat.N_TRIPLES) or b""]
        start_response("200 OK", [("Content-Type", SRJ)])
        return [answer.serialize(format=ox.QueryResultsFormat.JSON) or b""]

    return app


@contextmanager
def fake_endpoint_url(store: ox.Store | None = None) -> Iterator[str]:
    """Serve :func:`fake_endpoint` on a free loopback port for the ``with`` block."""
    # A short loop timeout: close() from the test's thread takes effect at the next turn of
    # waitress's select loop (1 s by default, which made every test using it a second longer).
    server = create_server(fake_endpoint(store if store is not None else ox.Store()),
                           host="127.0.0.1", port=0, threads=2, asyncore_loop_timeout=0.02)

    def run() -> None:
        # close() from this thread can pull the socket out of a select() in progress there:
        # the loop then ends with EBADF, which is the shutdown, not a failure.
        with contextlib.suppress(OSError):
            server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/sparql"  # type: ignore[union-attr]
    finally:
        server.close()
        thread.join(5)
