"""The web app: a Flask app factory with one blueprint per concern.

=========================  =================================================================
``/sparql``                the SPARQL 1.1 Protocol and the service description (:mod:`.protocol`)
``/.well-known/void``      VoID/DCAT description of the dataset (:mod:`.dataset`)
``/``                      the query page, with its static files (:mod:`.page`)
``/id/…``, ``/vocab/…``    303 See Other to the negotiated document ``/doc/…`` (:mod:`.linked_data`)
``/doc/…``                 resource pages (HTML) and RDF documents, by ``Accept`` or extension
``/def``                   the ontology: HTML documentation or RDF (hash IRIs resolve here)
``/graph/<layer>``         one named graph as a document
``/search``                label search
``/compare``               the country comparison (``?wave=``; ``/compare.csv``)
``/downloads``             dumps of the whole dataset and their DCAT description
``/context.jsonld``        the JSON-LD context every JSON-LD response uses
=========================  =================================================================

``create_app(settings)`` builds (or, given a ``service``, reuses) the query service, so tests
and other WSGI servers can mount the app; ``mckg serve`` runs it under waitress. Reads are
open to browser clients on other origins (CORS); nothing here writes.
"""

from __future__ import annotations

import atexit
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response

from ..config import Settings
from ..service import QueryService

access_log = logging.getLogger("mckg.access")

_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type",
    "Access-Control-Expose-Headers": "X-MCKG-Truncated, X-MCKG-Result-Limit, X-MCKG-Query-Time, "
                                     "Server-Timing, Retry-After",
    "Access-Control-Max-Age": "86400",
}


class AccessLog:
    """WSGI middleware: one log line per request, with its status, size and time.

    Timed around the whole response, so the time includes writing the body.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        status: list[str] = ["-"]

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        size = 0
        body = self.app(environ, start)
        try:
            for chunk in body:
                size += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            path = environ.get("PATH_INFO", "")
            query = environ.get("QUERY_STRING", "")
            shown = path + ("?" + query[:200] + ("…" if len(query) > 200 else "") if query else "")
            access_log.info('%s "%s %s" %s %d %.1fms', environ.get("REMOTE_ADDR", "-"),
                            environ.get("REQUEST_METHOD", "-"), shown, status[0], size,
                            (time.perf_counter() - started) * 1000)


def create_app(settings: Settings | None = None, *, service: QueryService | None = None) -> Flask:
    """Create the app. Without ``service``, provision the store and start the query workers.

    :raise DataError: a data file is malformed.
    :raise StoreError: the store cannot be opened or loaded.
    """
    settings = settings or Settings()
    if service is None:
        service = QueryService.open(settings)
        atexit.register(service.close)
    app = Flask(__name__, static_folder="static", template_folder="templates")
    # Bodies: a query percent-encoded in a form can take three bytes per character.
    body_limit = settings.max_query_bytes * 3 + 64 * 1024
    app.config.update(MAX_CONTENT_LENGTH=body_limit, MAX_FORM_MEMORY_SIZE=body_limit,
                      JSON_SORT_KEYS=False)
    app.extensions["mckg.service"] = service
    app.extensions["mckg.settings"] = settings

    from . import dataset, errors, linked_data, page, protocol

    errors.register(app)
    app.register_blueprint(protocol.bp)
    app.register_blueprint(dataset.bp)
    app.register_blueprint(page.bp)
    app.register_blueprint(linked_data.bp)
    linked_data.open_site(app)

    @app.after_request
    def cors(response: Response) -> Response:
        for name, value in _CORS_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]
    return app
