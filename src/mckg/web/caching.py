"""Conditional requests and cache headers for every read: a repeated question costs nothing.

Every ``GET``/``HEAD`` answer of the endpoint and the pages is a function of the served data
and of the request, so it gets a **strong entity tag** derived from the store's version
(:attr:`mckg.query.service.QueryService.version`), the app's templates and settings, and
what the answer depends on in the request: the path with its query string, ``Accept`` and
``Accept-Language`` (whether or not the view negotiates: a tag may be more specific than
needed, never less). The tag is known before any work is done, so ``If-None-Match`` with a
current tag is answered ``304 Not Modified`` (RFC 9110 §13.1.2) without running a query or
rendering a page; every other read gets ``ETag`` and ``Cache-Control: public, max-age=…``
(``cache_max_age``) on its 200. When the data changes, the version does, and so does every
tag: a client revalidating gets the new answer.

Left alone: ``POST`` (not cacheable by HTTP caches; the answer cache of
:mod:`mckg.query.answers` still serves it), error statuses, views that handle their own
validators (static files, dump downloads), the downloads list (which changes once the dumps
are written), and stores without a version (a remote endpoint).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Flask, Response, current_app, request

from ..query.answers import digest
from .state import service

#: Views with their own validators, or whose answer changes without the data changing.
UNTAGGED = frozenset({"static", "linked_data.download", "linked_data.downloads"})


def current_tag() -> str | None:
    """The entity tag of the answer this request will get, or None if it gets none."""
    if request.method not in ("GET", "HEAD") or request.endpoint is None:
        return None
    if request.endpoint in UNTAGGED or request.endpoint.endswith(".static"):
        return None
    version = service().version
    if version is None:
        return None
    headers = request.headers
    return digest(version, current_app.extensions["mckg.site_digest"], request.path,
                  request.query_string, headers.get("Accept", ""),
                  headers.get("Accept-Language", ""))


class _VaryMemo:
    """The ``Vary`` header each recent tag was sent with, so that its 304 repeats it (RFC 9110
    §15.4.5): a view decides whether it negotiates (``/doc/x`` does, ``/doc/x.ttl`` does not),
    and a 304 is answered before the view runs. Bounded; an unknown tag gets ``Accept``."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._seen: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, tag: str, vary: str) -> None:
        with self._lock:
            self._seen[tag] = vary
            self._seen.move_to_end(tag)
            while len(self._seen) > self._size:  # bounded
                self._seen.popitem(last=False)

    def recall(self, tag: str) -> str:
        with self._lock:
            return self._seen.get(tag, "Accept")


def _not_modified() -> Response | None:
    """Answer 304 at once when the client already holds the current answer."""
    tag = current_tag()
    if tag is None or not request.if_none_match.contains(tag):
        return None
    response = Response(status=304)
    _validators(response, tag)
    vary = current_app.extensions["mckg.vary"].recall(tag)
    if vary:
        response.headers["Vary"] = vary
    return response


def _tagged(response: Response) -> Response:
    """Give a successful read its entity tag and cache lifetime."""
    if response.status_code != 200 or "ETag" in response.headers:
        return response
    tag = current_tag()
    if tag is not None:
        _validators(response, tag)
        current_app.extensions["mckg.vary"].remember(tag, response.headers.get("Vary", ""))
    return response


def _validators(response: Response, tag: str) -> None:
    response.set_etag(tag)
    response.cache_control.public = True
    response.cache_control.max_age = current_app.extensions["mckg.settings"].cache_max_age


def register(app: Flask, site_digest: str) -> None:
    """Tag every read of ``app``; ``site_digest`` names its templates, files and settings."""
    app.extensions["mckg.site_digest"] = site_digest
    app.extensions["mckg.vary"] = _VaryMemo()
    app.before_request(_not_modified)
    app.after_request(_tagged)
