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
and other WSGI servers can mount the app; ``mckg serve`` runs it under waitress. Every
response carries the CORS and security headers of :mod:`.headers`.
"""

from __future__ import annotations

import atexit
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from .. import __version__
from ..config import Settings
from ..linked.context import context_document
from ..query.answers import digest
from ..query.service import QueryService
from ..query.stored import examples
from . import assets as web_assets
from . import caching, curation, dataset, errors, linked_data, page, protocol
from . import checker as checker_page
from . import waves as waves_pages
from .headers import ResponseHeaders
from .limits import ClientLimit

access_log = logging.getLogger("mckg.access")


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


def public_root(settings: Settings, port: int | None = None) -> str:
    """Where clients reach the server: ``settings.public_url``, else ``http://{host}:{port}/``
    (``port``: the one actually bound, when ``settings.port`` is 0).

    :raise ValueError: ``public_url`` is not an absolute http(s) URL.
    """
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
                or parts.fragment:
            raise ValueError(f"public_url must be an absolute http(s) URL such as "
                             f"https://mckg.example.org/, not {settings.public_url!r}")
        return settings.public_url if settings.public_url.endswith("/") \
            else settings.public_url + "/"
    host = settings.host or "0.0.0.0"  # waitress binds every interface for an empty host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port if port is None else port}/"


def create_app(settings: Settings | None = None, *, service: QueryService | None = None,
               assets: Path | None = None) -> Flask:
    """Create the app. Without ``service``, provision the store and start the query workers.

    Templates and static files are read from ``assets`` (a folder with ``templates/`` and
    ``static/``; by default the package's own) and held in memory from then on
    (:mod:`.assets`), so the server keeps working when its package files change under it.

    :raise AssetError: a template or static file is missing or broken (before anything starts).
    :raise ValueError: ``public_url`` is not an absolute http(s) URL, or
        ``client_limit_exempt`` names something that is not a network.
    :raise DataError: a data file is malformed.
    :raise StoreError: the store cannot be opened or loaded.
    """
    settings = settings or Settings()
    app = Flask(__name__, static_folder=None, template_folder=None)
    # Routing never redirects: werkzeug would answer ``//`` in a path (merged slashes) or a
    # missing trailing slash with a 308 to an absolute URL built from the request's Host, a
    # redirect to any host a client names. Set before any rule is added (rules bind to it).
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.config["MCKG_PUBLIC_URL"] = public_root(settings)
    # The per-client limit (:mod:`.limits`), made now: its settings are checked before a store
    # is opened or a worker started.
    limited = ClientLimit(app, app.wsgi_app, limit=settings.client_concurrency,
                          exempt=settings.client_limit_exempt)
    # Bodies: a query percent-encoded in a form can take three bytes per character.
    body_limit = settings.max_query_bytes * 3 + 64 * 1024
    app.config.update(MAX_CONTENT_LENGTH=body_limit, MAX_FORM_MEMORY_SIZE=body_limit,
                      JSON_SORT_KEYS=False)
    errors.register(app)
    app.register_blueprint(protocol.bp)
    app.register_blueprint(dataset.bp)
    app.register_blueprint(page.bp)
    app.register_blueprint(linked_data.bp)
    app.register_blueprint(waves_pages.bp)
    app.register_blueprint(checker_page.bp)
    app.register_blueprint(curation.bp)
    # Templates and files first (after the blueprints: templates use their filters), so that a
    # broken package stops the app before a store is opened or a worker started.
    bundle = web_assets.load(assets or web_assets.PACKAGE_ASSETS)
    web_assets.install(app, bundle)
    caching.register(app, digest(__version__, repr(settings), app.config["MCKG_PUBLIC_URL"],
                                 sorted(bundle.templates.items()),
                                 sorted((k, f.etag) for k, f in bundle.static.items())))
    context_document(settings.base)  # read the shipped JSON-LD context now, not on a request
    examples()  # and the example queries of the query page
    if service is None:
        service = QueryService.open(settings)
        atexit.register(service.close)
    app.extensions["mckg.service"] = service
    app.extensions["mckg.settings"] = settings
    linked_data.open_site(app)
    app.wsgi_app = AccessLog(ResponseHeaders(limited))  # type: ignore[method-assign]
    return app
