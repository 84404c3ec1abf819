"""Serving the app with waitress, so that slow and idle clients cost a socket, never the service.

waitress reads requests on one event loop and hands only complete requests to its threads, so a
client that dribbles its headers or its body (slowloris) holds no thread. What such clients
held was every connection: waitress stops accepting at ``connection_limit`` open connections
(100 by default), and a connection that sends a byte every few seconds never times out (its
``channel_timeout`` counts idle time only). 150 slow sockets shut everyone else out until they
closed. Here (defaults in :class:`~mckg.config.Settings`; measured in ``docs/endpoint.md``):

- ``connection_limit`` connections (default 1,000) are accepted, watched with ``poll()`` (the
  default ``select()`` cannot watch descriptors above 1,024), with the process's open-files
  limit raised to fit when the system allows;
- a whole request — headers and body — must arrive within ``request_timeout`` seconds
  (default 15) of its first byte, or of the connection's opening for its first request;
  a connection that is slower, however steadily it dribbles, is closed (:class:`GuardedChannel`);
- an idle keep-alive connection is closed after ``idle_timeout`` seconds (default 30).
"""

from __future__ import annotations

import logging
import resource
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from ..config import Settings

log = logging.getLogger("mckg.web")

#: Descriptors the process needs beside its connections (store files, pipes to the workers…).
_SPARE_FILES = 256


class _Dropped:
    """Counts connections closed at the deadline; one log line per :data:`INTERVAL` at most,
    so that an attack does not flood the log."""

    INTERVAL = 10.0

    def __init__(self) -> None:
        self.count = 0
        self.since: float | None = None  # when the last line was logged

    def add(self, address: str, timeout: float) -> None:
        self.count += 1  # only the event loop's thread closes connections: no lock needed
        now = time.monotonic()
        if self.since is None or now - self.since >= self.INTERVAL:
            log.warning("closed %d connection(s) that sent no whole request within %g s "
                        "(the last from %s)", self.count, timeout, address)
            self.count, self.since = 0, now


_dropped = _Dropped()


class GuardedChannel(HTTPChannel):
    """A waitress connection that must deliver each request whole within a deadline.

    waitress asks every connection whether it wants to read before each turn of its event loop
    (at least once a second); that is where the deadline is checked, so no timer is needed.
    """

    #: Seconds a request may take to arrive (set per server by :func:`make_server`).
    request_timeout = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: When the request being received began (the connection's opening for the first one),
        #: or None while no request is under way.
        self.receiving_since: float | None = time.monotonic()

    def received(self, data: bytes) -> bool:
        if self.receiving_since is None:
            self.receiving_since = time.monotonic()
        done: bool = super().received(data)
        if self.request is None:  # every request received so far is whole
            self.receiving_since = None
        return done

    def readable(self) -> bool:
        late = self.receiving_since is not None and not self.requests and \
            time.monotonic() - self.receiving_since > self.request_timeout
        if late and not self.will_close:
            self.will_close = True  # waitress closes it on this turn of the loop
            _dropped.add(str(self.addr[0]) if self.addr else "-", self.request_timeout)
        readable: bool = super().readable()
        return readable


def _raise_open_files_limit(wanted: int) -> None:
    """Let the process hold ``wanted`` descriptors if the hard limit allows (else log it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        target = soft
    if target < wanted:
        log.warning("the open-files limit is %d: fewer than the %d connections configured can "
                    "be open at once (raise it with ulimit -n)", target, wanted)


def make_server(app: Any, settings: Settings, *, threads: int) -> Any:
    """A waitress server for ``app`` on ``settings.host``/``port``, guarded against slow clients.

    :raise OSError: the address cannot be bound.
    """
    _raise_open_files_limit(settings.connection_limit + _SPARE_FILES)
    # waitress's own body limit sits above the app's, so that the app answers 413 in the
    # negotiated error format; waitress still guards against bodies far beyond it.
    server = create_server(
        app, host=settings.host, port=settings.port, threads=threads, ident="mckg",
        max_request_body_size=settings.max_query_bytes * 16 + 1024 * 1024,
        connection_limit=settings.connection_limit, asyncore_use_poll=True,
        channel_timeout=max(1, round(settings.idle_timeout)),
        cleanup_interval=max(1, min(10, round(settings.idle_timeout / 3))))
    channel = type("GuardedChannel", (GuardedChannel,),
                   {"request_timeout": settings.request_timeout})
    listeners = [server] if isinstance(server, BaseWSGIServer) else \
        [d for d in server.map.values() if isinstance(d, BaseWSGIServer)]
    for listener in listeners:
        listener.channel_class = channel
    return server


def bound_port(server: Any) -> int:
    """The port ``server`` listens on (the one picked, when asked for port 0)."""
    if isinstance(server, BaseWSGIServer):
        return int(server.effective_port)
    return int(server.effective_listen[0][1])
