"""The per-client concurrency limit: one client cannot take every thread and worker.

:class:`ClientLimit` is WSGI middleware keyed by ``REMOTE_ADDR`` — the socket's peer, as the
server saw it, never ``X-Forwarded-For`` or another header a client writes itself. A client
with ``limit`` requests in progress has its next one answered at once with 429 Too Many
Requests and ``Retry-After``, rendered like every other error (:mod:`.errors`: plain text,
problem JSON or HTML by ``Accept``). A request is in progress from the moment the app is
called until the server closes its body, so writing a large answer counts too.

Addresses in the exempt networks (by default loopback: this machine's own users, tests and
benchmarks, or a reverse proxy that must apply its own per-client limits) are not limited.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask
from werkzeug.exceptions import TooManyRequests

from . import errors

#: Seconds a refused client is asked to wait: requests in progress usually end within that.
RETRY_AFTER = 1

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(cidrs: Iterable[str]) -> tuple[_Network, ...]:
    """The networks ``cidrs`` name (``127.0.0.0/8``, ``::1``…).

    :raise ValueError: one is not a network or an address.
    """
    found = []
    for cidr in cidrs:
        try:
            found.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"client_limit_exempt: {cidr!r} is not an IP network such as "
                             "127.0.0.0/8 or ::1") from None
    return tuple(found)


class _Body:
    """The app's response body; closing it (servers always do, PEP 3333) frees the slot."""

    def __init__(self, body: Iterable[bytes], release: Callable[[], None]) -> None:
        self._body = body
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class ClientLimit:
    """WSGI middleware: at most ``limit`` requests in progress per client address."""

    def __init__(self, app: Flask, inner: Callable[..., Iterable[bytes]], *, limit: int,
                 exempt: Iterable[str] = ()) -> None:
        """``app`` renders the refusals; ``inner`` is the WSGI callable that answers the rest.

        :raise ValueError: an exempt network is malformed.
        """
        self.app = app
        self.inner = inner
        self.limit = limit
        self.exempt = networks(exempt)
        self._active: dict[str, int] = {}
        self._lock = threading.Lock()

    def is_exempt(self, address: str) -> bool:
        """True for an address in an exempt network (an IPv4 address mapped into IPv6 too)."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self.exempt)

    def in_progress(self, address: str) -> int:
        """Requests of ``address`` in progress now."""
        with self._lock:
            return self._active.get(address, 0)

    def _acquire(self, address: str) -> bool:
        with self._lock:
            active = self._active.get(address, 0)
            if active >= self.limit:
                return False
            self._active[address] = active + 1
            return True

    def _release(self, address: str) -> None:
        with self._lock:
            active = self._active.get(address, 0) - 1
            if active > 0:
                self._active[address] = active
            else:
                self._active.pop(address, None)

    def _refuse(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        refusal = TooManyRequests(
            f"this client already has {self.limit} requests in progress, the most one client "
            f"may have at once; retry when one has been answered", retry_after=RETRY_AFTER)
        with self.app.request_context(environ):
            response = errors.render(errors.problem(refusal))
        return response(environ, start_response)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        address = environ.get("REMOTE_ADDR") or ""
        if self.limit <= 0 or self.is_exempt(address):
            return self.inner(environ, start_response)
        if not self._acquire(address):
            return self._refuse(environ, start_response)
        try:
            body = self.inner(environ, start_response)
        except BaseException:
            self._release(address)
            raise
        return _Body(body, lambda: self._release(address))
