"""HTTP errors: werkzeug's exceptions, library errors mapped onto them, and one renderer.

Views raise werkzeug's :class:`~werkzeug.exceptions.HTTPException` subclasses (``BadRequest``,
``NotAcceptable``…) or let a library error through: :class:`~mckg.query.check.QueryError` and
:class:`~mckg.query.workers.PoolError` carry their status, and the store's errors say only what
failed (:mod:`mckg.store.errors`) — the statuses they are answered with are decided here and
nowhere else.

Every failure is then rendered by one handler, by negotiation, as plain text — the default,
since SPARQL clients usually print the body of a failed request as it is —
``application/problem+json`` (RFC 9457) or an HTML page. A query error keeps its line and
column; ``Retry-After`` and ``Allow`` headers are kept. Bad input never yields a 500, and a
500 from a bug is logged with its traceback but never shows one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from ..query.info import QueryError
from ..query.workers import PoolError
from ..store import errors as store
from . import negotiation

log = logging.getLogger("mckg.web")

#: The HTTP status of each kind of store error (the store layer knows nothing of HTTP). The
#: first kind that matches wins, so subclasses (a timeout is a kind of unavailability) come
#: before their parents.
_STORE_STATUS: tuple[tuple[type[store.StoreError], int], ...] = (
    (store.StoreInputError, 400), (store.StoreReadOnly, 403), (store.StoreMissing, 503),
    (store.StoreLocked, 503), (store.StoreTimeout, 504), (store.StoreUnavailable, 502),
)

_BUG = "internal error; it has been logged"


def store_status(exc: store.StoreError) -> int:
    """The status a store error is answered with (500 for a failure of the store itself)."""
    return next((status for kind, status in _STORE_STATUS if isinstance(exc, kind)), 500)


def for_status(status: int, message: str) -> HTTPException:
    """werkzeug's exception for ``status`` (an internal error for a status it has none for)."""
    # By keyword: some take other arguments first (MethodNotAllowed, its allowed methods).
    return default_exceptions.get(status, InternalServerError)(description=message)


@dataclass(frozen=True)
class Problem:
    """What an error response says, whatever raised it (the members of RFC 9457)."""

    status: int
    title: str
    detail: str
    line: int | None = None
    column: int | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def where(self) -> str:
        """`` (line L, column C)`` for a query error with a position, else nothing."""
        return f" (line {self.line}, column {self.column})" if self.line else ""


def _kept_headers(exc: HTTPException, extra: Iterable[tuple[str, str]] = ()) -> tuple[tuple[str, str], ...]:
    """The headers ``exc`` asks for (``Allow``, ``Retry-After``…), less its own HTML body's type."""
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    headers += [(k, v) for k, v in extra if all(k.lower() != h.lower() for h, _ in headers)]
    return tuple(headers)


def problem(exc: BaseException) -> Problem:
    """What the response to ``exc`` says: its status, message, position and headers.

    Library errors get their status here; anything else that is not an HTTP error is a bug
    (500, with a message that reveals nothing).
    """
    line = column = None
    extra: list[tuple[str, str]] = []
    if isinstance(exc, HTTPException):
        http = exc
    elif isinstance(exc, QueryError):
        http, line, column = for_status(exc.status, exc.message), exc.line, exc.column
    elif isinstance(exc, PoolError):
        http = for_status(exc.status, exc.message)
        if exc.retry_after:
            extra.append(("Retry-After", str(exc.retry_after)))
    elif isinstance(exc, store.StoreError):
        http = for_status(store_status(exc), exc.message)
    else:
        http = InternalServerError(_BUG)
    status = http.code or 500
    return Problem(status=status, title=http.name, detail=http.description or http.name,
                   line=line, column=column, headers=_kept_headers(http, extra))


#: How a client may read an error: the first is the default, and what is left when it accepts
#: none of them (an error is always reported, never refused with a 406).
_RENDERINGS = (negotiation.PLAIN, negotiation.HTML, negotiation.PROBLEM)


def render(error: Problem) -> Response:
    """The response for ``error``, in the format the request prefers."""
    kind = negotiation.choose(_RENDERINGS, fallback=negotiation.PLAIN)
    if kind == negotiation.PROBLEM:
        member: dict[str, Any] = {"type": "about:blank", "title": error.title,
                                  "status": error.status, "detail": error.detail + error.where}
        if error.line:
            member.update(line=error.line, column=error.column)
        body = json.dumps(member, ensure_ascii=False) + "\n"
    elif kind == negotiation.HTML:
        body = render_template("error.html", error=error)
    else:
        body = f"{error.status} {error.title}: {error.detail}{error.where}\n"
    response = Response(body, error.status, content_type=negotiation.content_type(kind))
    for name, value in error.headers:
        response.headers[name] = value
    response.headers["Vary"] = "Accept"
    return response


def _log(exc: BaseException, error: Problem) -> None:
    """A bug is logged with its traceback; a failing store or worker by its message."""
    if error.status < 500:
        return
    if isinstance(exc, HTTPException | PoolError | store.StoreError | QueryError):
        log.warning("%s %s: %d %s", request.method, request.path, error.status, error.detail)
    else:
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)


def register(app: Flask) -> None:
    """Install the one handler for every exception."""

    @app.errorhandler(Exception)
    def handle(exc: Exception) -> ResponseReturnValue:
        if isinstance(exc, HTTPException) and exc.response is not None:
            return exc.response  # a view built its own answer (werkzeug's abort(response))
        error = problem(exc)
        _log(exc, error)
        return render(error)
