"""HTTP errors: a small hierarchy carrying the status, and one handler that renders them all.

Every failure becomes one of these, rendered by negotiation as ``application/problem+json``
(RFC 9457), an HTML page, or plain text — the default, since SPARQL clients usually print the
body of a failed request as it is. Bad input never yields a 500, and a 500 (our bug) is logged
with its traceback but never shows one.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from ..sparql import QueryError
from ..store.errors import (
    StoreError,
    StoreInputError,
    StoreLocked,
    StoreMissing,
    StoreReadOnly,
    StoreTimeout,
    StoreUnavailable,
)
from ..workers import PoolError
from .negotiation import parse_accept, quality

log = logging.getLogger("mckg.web")


class HttpError(Exception):
    """An error with an HTTP status, a one-line title and a message for the client."""

    status = 500
    title = "Internal Server Error"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.headers = dict(headers or {})
        super().__init__(message)


class BadRequest(HttpError):
    """400: the request or the query is malformed."""

    status, title = 400, "Bad Request"


class Forbidden(HttpError):
    """403: the request asks for something this read-only endpoint never does."""

    status, title = 403, "Forbidden"


class NotFound(HttpError):
    """404: no such resource."""

    status, title = 404, "Not Found"


class MethodNotAllowed(HttpError):
    """405: wrong HTTP method (the ``Allow`` header lists the right ones)."""

    status, title = 405, "Method Not Allowed"


class NotAcceptable(HttpError):
    """406: no format the client accepts fits the answer."""

    status, title = 406, "Not Acceptable"


class PayloadTooLarge(HttpError):
    """413: the query or request body is over the limit."""

    status, title = 413, "Content Too Large"


class UnsupportedMediaType(HttpError):
    """415: a POST body in a content type the protocol does not define."""

    status, title = 415, "Unsupported Media Type"


class ServiceUnavailable(HttpError):
    """503: the query was stopped at the time limit, or every worker is busy."""

    status, title = 503, "Service Unavailable"


class GatewayTimeout(HttpError):
    """504: the remote store did not answer in time."""

    status, title = 504, "Gateway Timeout"


class BadGateway(HttpError):
    """502: the remote store failed."""

    status, title = 502, "Bad Gateway"


_BY_STATUS: dict[int, type[HttpError]] = {
    cls.status: cls for cls in (BadRequest, Forbidden, NotFound, MethodNotAllowed, NotAcceptable,
                                PayloadTooLarge, UnsupportedMediaType, ServiceUnavailable,
                                GatewayTimeout, BadGateway, HttpError)
}


def from_status(status: int, message: str, **kwargs: Any) -> HttpError:
    """The :class:`HttpError` for ``status`` (a generic one for statuses without a class)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        error = HttpError(message, **kwargs)
        error.status = status
        error.title = "Error"
        return error
    return cls(message, **kwargs)


#: The HTTP status of each kind of store error (the store layer knows nothing of HTTP).
_STORE_STATUS: tuple[tuple[type[StoreError], int], ...] = (
    (StoreInputError, 400), (StoreReadOnly, 403), (StoreMissing, 503), (StoreLocked, 503),
    (StoreTimeout, 504), (StoreUnavailable, 502),
)


def store_status(exc: StoreError) -> int:
    """The status a store error is answered with (500 for a failure of the store itself)."""
    return next((status for kind, status in _STORE_STATUS if isinstance(exc, kind)), 500)


def as_http_error(exc: BaseException) -> HttpError:
    """Map library and werkzeug exceptions onto the hierarchy (unknown ones become 500)."""
    if isinstance(exc, HttpError):
        return exc
    if isinstance(exc, QueryError):
        return from_status(exc.status, exc.message, line=exc.line, column=exc.column)
    if isinstance(exc, PoolError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return from_status(exc.status, exc.message, headers=headers)
    if isinstance(exc, StoreError):
        return from_status(store_status(exc), exc.message)
    if isinstance(exc, HTTPException):
        error = from_status(exc.code or 500, exc.description or exc.name)
        if exc.code == 405 and exc.response is None:
            allowed = getattr(exc, "valid_methods", None)
            if allowed:
                error.headers["Allow"] = ", ".join(sorted(allowed))
        return error
    return HttpError("internal error; it has been logged")


def _rendering(accept: str | None) -> str:
    """``json``, ``html`` or ``text``: how the client prefers to read an error."""
    ranges = parse_accept(accept)
    if not ranges:
        return "text"
    text = quality(ranges, "text/plain")
    html = quality(ranges, "text/html")
    json_q = max([quality(ranges, "application/problem+json"), quality(ranges, "application/json")]
                 + [r.q for r in ranges if r.subtype.endswith("+json")])
    best = max(text, html, json_q)
    if best <= 0 or text == best:
        return "text"
    return "html" if html == best else "json"


def render(error: HttpError) -> Response:
    """The response for ``error`` in the format the request prefers."""
    where = f" (line {error.line}, column {error.column})" if error.line else ""
    kind = _rendering(request.headers.get("Accept"))
    if kind == "json":
        problem: dict[str, Any] = {"type": "about:blank", "title": error.title,
                                   "status": error.status, "detail": error.message + where}
        if error.line:
            problem.update(line=error.line, column=error.column)
        body = json.dumps(problem, ensure_ascii=False) + "\n"
        response = Response(body, error.status, mimetype="application/problem+json")
    elif kind == "html":
        html = render_template("error.html", error=error, where=where)
        response = Response(html, error.status, mimetype="text/html")
    else:
        body = f"{error.status} {error.title}: {error.message}{where}\n"
        response = Response(body, error.status, mimetype="text/plain")
    for name, value in error.headers.items():
        response.headers[name] = value
    response.headers["Vary"] = "Accept"
    return response


def register(app: Flask) -> None:
    """Install the one handler for every exception."""

    @app.errorhandler(Exception)
    def handle(exc: Exception) -> Response:
        error = as_http_error(exc)
        if error.status >= 500 and not isinstance(exc, HttpError | PoolError | StoreError):
            log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
        return render(error)
