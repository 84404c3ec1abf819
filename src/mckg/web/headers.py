"""The headers every response carries: CORS and security, added in one place.

A WSGI middleware rather than a Flask hook, so that nothing escapes it: error pages, routing
answers and the per-client limit's refusals (:mod:`.limits`, which answers before Flask runs)
get the same headers as a view's answer. A header a view set itself is kept.

- **CORS**: reads are open to browser clients on other origins; nothing here writes.
- **Every response**: ``X-Content-Type-Options: nosniff``, so a browser never runs a query
  answer or a data dump as HTML or script because it looks like one.
- **HTML pages**: a Content-Security-Policy that allows scripts, styles, images and requests
  from this server only — no inline script or style (the page's settings are a JSON data
  block, ``<script type="application/json">``, which is not executed), no plugins, no
  ``<base>``, forms posting here only, and no framing (``frame-ancestors 'none'``, and
  ``X-Frame-Options: DENY`` for older browsers); ``Referrer-Policy: same-origin``, so a query
  in a page's address is not sent to the sites its links lead to. Even a link that slipped
  past the allow-list (:meth:`mckg.linked.iris.Site.href`) could not run ``javascript:``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

CORS: dict[str, str] = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type, If-None-Match",
    "Access-Control-Expose-Headers": "X-MCKG-Truncated, X-MCKG-Result-Limit, X-MCKG-Query-Time, "
                                     "X-MCKG-Cache, Server-Timing, Retry-After, ETag",
    "Access-Control-Max-Age": "86400",
}
#: On every response.
ALWAYS: dict[str, str] = {"X-Content-Type-Options": "nosniff"}
#: The policy of every HTML page (the query page, resource pages, error pages).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
    "connect-src 'self'", "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'"))
#: On HTML responses.
HTML_ONLY: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def headers_for(content_type: str) -> dict[str, str]:
    """The headers a response of ``content_type`` gets (besides its own)."""
    html = content_type.split(";", 1)[0].strip().lower() in ("text/html", "application/xhtml+xml")
    return {**CORS, **ALWAYS, **(HTML_ONLY if html else {})}


class ResponseHeaders:
    """WSGI middleware: add :func:`headers_for` to every response, keeping any already set."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
            headers = headers + [(k, v) for k, v in headers_for(content_type).items()
                                 if k.lower() not in present]
            return start_response(status, headers, exc_info)

        return self.app(environ, start)
