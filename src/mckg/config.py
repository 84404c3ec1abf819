"""One settings object for the CLI, the library and the web app.

Settings come from defaults, then an optional TOML file, then ``MCKG_*`` environment variables,
then explicit keyword arguments, each overriding the one before.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .rdf.namespaces import CANONICAL_BASE


@dataclass(frozen=True)
class Settings:
    """Everything that can be configured. Immutable: derive variants with :meth:`with_`."""

    #: Base IRI under which the project's IRIs are minted. Data is written with the canonical base
    #: and rewritten at load time when this differs.
    base_iri: str = CANONICAL_BASE
    #: Store URL: ``memory``, ``oxigraph:PATH`` or ``sparql+http(s)://…`` (see
    #: :mod:`mckg.store`). Empty means the command's default: ``memory`` for the library,
    #: a persistent Oxigraph store (:func:`mckg.store.default_serve_store`) for ``mckg serve``.
    store: str = ""
    #: SPARQL Update endpoint of a ``sparql+http`` store; empty means the query endpoint.
    update_url: str = ""
    #: Extra RDF files to load beside (or instead of) the shipped graph.
    extra_files: tuple[Path, ...] = ()
    #: Load the shipped ontology, vocabularies, data and reference files.
    include_shipped: bool = True
    #: Materialise OWL 2 RL inferences into their own named graph.
    reasoning: bool = True
    #: Seconds a query may run before it is stopped.
    query_timeout: float = 30.0
    #: Maximum rows (SELECT) or triples (CONSTRUCT/DESCRIBE) in one response.
    result_limit: int = 10_000
    #: Maximum size in bytes of a query string or request body.
    max_query_bytes: int = 256 * 1024
    #: SPARQL endpoints that ``SERVICE`` may call; empty means SERVICE is refused.
    service_allowlist: tuple[str, ...] = ()
    #: Host and port for ``mckg serve``.
    host: str = "127.0.0.1"
    port: int = 8000
    #: Worker processes that evaluate queries (each can be killed on timeout).
    query_workers: int = 2
    #: Worker processes kept, beside ``query_workers``, for the server's own pages and for
    #: queries known to be cheap (they finished within a quarter of a second before), so that
    #: strangers' expensive queries cannot starve them. 0: every worker takes every query.
    reserved_workers: int = 1
    #: Seconds a query waits for a free worker before it is answered 503 with
    #: ``Retry-After`` (at most the time limit): excess work is turned away quickly.
    queue_wait: float = 2.0
    #: Bytes of memory a query may use in its worker, beyond what the worker holds once it
    #: has opened the store (``RLIMIT_DATA``); past it the worker stops, is replaced, and the
    #: client gets 503. 0: no limit. A number, or a string such as ``"1GiB"``. The default is
    #: an eighth of this machine's memory, between 512 MiB and 2 GiB.
    worker_memory: int = field(default_factory=lambda: default_worker_memory())
    #: Maximum size in bytes of one answer to a query (besides ``result_limit`` rows); a
    #: longer answer is cut after its last whole row and says so, as for the row limit.
    #: A number, or a string such as ``"32MiB"``.
    result_bytes: int = 32 * 1024 * 1024
    #: Largest dataset (bytes it would take in RAM, estimated from its quads) that ``mckg
    #: serve`` answers from an in-memory copy of its store; a larger one is served from disk,
    #: and the log says so. The copy is held once, by one process the query workers are
    #: forked from (docs/endpoint.md, "Serving from memory"). 0: always from disk. The
    #: default is a quarter of this machine's memory.
    memory_budget: int = field(default_factory=lambda: default_memory_budget())
    #: Bytes of serialized answers kept to answer repeated queries without running them
    #: again (least recently used first out; emptied whenever the store changes). 0: off.
    answer_cache: int = 64 * 1024 * 1024
    #: ``max-age`` (seconds) of the ``Cache-Control`` header on answers and pages; clients
    #: revalidate with ``If-None-Match`` after it (a 304 costs no query).
    cache_max_age: int = 60
    #: The server's address as its clients reach it, e.g. ``https://mckg.example.org/``: the
    #: service description, VoID, JSON-LD context links, the query page and relative IRIs in
    #: queries are built from it, never from a request's ``Host`` header (any client can
    #: forge that). Empty: ``http://{host}:{port}/`` as ``mckg serve`` binds it.
    public_url: str = ""
    #: Requests one client address (``REMOTE_ADDR``) may have in progress at once; more are
    #: answered 429 with ``Retry-After``. 0 turns the limit off.
    client_concurrency: int = 8
    #: Client networks (CIDR) the per-client limit leaves alone: by default this machine, whose
    #: clients are its own users, tests and benchmarks, or a reverse proxy in front of it.
    client_limit_exempt: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    #: Connections ``mckg serve`` keeps open at once (slow and idle ones included); more wait
    #: in the listen backlog.
    connection_limit: int = 1000
    #: Seconds a client has to send a whole request, headers and body, from its first byte
    #: (from connecting, for its first request); a slower connection is closed.
    request_timeout: float = 15.0
    #: Seconds an idle keep-alive connection stays open.
    idle_timeout: float = 30.0
    #: Curation over HTTP (docs/curation.md): the bearer tokens that may write, as
    #: ``(name, "sha256:<hex digest of the token>", (graph IRIs or IRI prefixes ending in
    #: "*", ...))``. Empty: ``/update`` and the writes of ``/graphs`` are off (404). In TOML a
    #: table per token, ``[mckg.tokens.NAME]`` with ``sha256`` and ``graphs``; in the
    #: environment ``MCKG_TOKENS`` holds the same as JSON. Only digests are kept: ``mckg token
    #: new`` makes a token and prints its digest.
    tokens: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    #: Largest SPARQL Update text (bytes) ``/update`` accepts; longer: 413.
    max_update_bytes: int = 256 * 1024
    #: Largest RDF body (bytes) a ``PUT``/``POST`` to ``/graphs`` may send; longer: 413.
    max_graph_bytes: int = 8 * 1024 * 1024
    #: Seconds one write may take to be parsed and applied to the transaction's copy, and,
    #: separately, to be reasoned over and validated; past either, the process doing it is
    #: killed, nothing is written, and the client gets 503 with ``Retry-After``.
    update_timeout: float = 30.0
    validation_timeout: float = 60.0
    #: Writers that may wait while one writes; one more gets 503 with ``Retry-After`` at once.
    write_queue: int = 4
    #: Seconds a writer waits for its turn before it gets 503 with ``Retry-After``.
    write_wait: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied."""
        return replace(self, **changes)

    @property
    def base(self) -> str:
        """The base IRI, always ending in ``/``."""
        return self.base_iri if self.base_iri.endswith("/") else self.base_iri + "/"


def default_worker_memory() -> int:
    """An eighth of this machine's memory, between 512 MiB and 2 GiB (2 GiB if unknown)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return 2 * _UNITS["gib"]
    return max(512 * _UNITS["mib"], min(2 * _UNITS["gib"], total // 8))


def default_memory_budget() -> int:
    """A quarter of this machine's memory (1 GiB if unknown)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return _UNITS["gib"]
    return total // 4


_UNITS = {"": 1, "b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "kb": 10**3, "mb": 10**6,
          "gb": 10**9}


def byte_size(value: Any) -> int:
    """A number of bytes from ``value``: an integer, or a string like ``"512MiB"``, ``"2GB"``.

    :raise ValueError: neither.
    """
    if isinstance(value, int):
        return value
    text = str(value).strip().lower().replace(" ", "")
    number = text.rstrip("kmgib")
    unit = text[len(number):]
    if unit not in _UNITS or not number.replace(".", "", 1).isdigit():
        raise ValueError(f"{value!r} is not a size in bytes (e.g. 1048576, \"512MiB\", \"2GiB\")")
    return int(float(number) * _UNITS[unit])


_CASTS = {"query_timeout": float, "result_limit": int, "max_query_bytes": int, "port": int,
          "query_workers": int, "client_concurrency": int, "connection_limit": int,
          "request_timeout": float, "idle_timeout": float, "reserved_workers": int,
          "queue_wait": float, "worker_memory": byte_size, "result_bytes": byte_size,
          "memory_budget": byte_size, "answer_cache": byte_size, "cache_max_age": int,
          "max_update_bytes": byte_size, "max_graph_bytes": byte_size,
          "update_timeout": float, "validation_timeout": float, "write_queue": int,
          "write_wait": float}


def _tokens(value: Any) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """Curation tokens from TOML (a table of tables), JSON text (``MCKG_TOKENS``) or tuples.

    :raise ValueError: a token without a ``sha256:`` digest of 64 hex digits, or without graphs.
    """
    import json
    import re

    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"tokens: not JSON ({exc})") from None
    if isinstance(value, dict):
        items = [(name, spec.get("sha256", ""), spec.get("graphs", ()))
                 for name, spec in value.items() if isinstance(spec, dict)]
        if len(items) != len(value):
            raise ValueError("tokens: each token is a table with sha256 and graphs")
    else:
        items = list(value)
    out = []
    for name, sha, graphs in items:
        sha = str(sha).strip().lower()
        if not sha.startswith("sha256:"):
            sha = "sha256:" + sha
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", sha):
            raise ValueError(f"tokens: {name!r} needs sha256 = the 64 hex digits of the "
                             "token's SHA-256 digest (mckg token new prints it)")
        scope = (graphs,) if isinstance(graphs, str) else tuple(graphs)
        if not scope or not all(isinstance(g, str) and g for g in scope):
            raise ValueError(f"tokens: {name!r} needs graphs = the graph IRIs it may write")
        out.append((str(name), sha, scope))
    return tuple(out)


def _coerce(name: str, value: Any) -> Any:
    if name in ("extra_files",):
        items = value.split(os.pathsep) if isinstance(value, str) else value
        return tuple(Path(v) for v in items if v)
    if name in ("service_allowlist", "client_limit_exempt"):
        items = value.split(",") if isinstance(value, str) else value
        return tuple(v.strip() for v in items if v.strip())
    if name in ("include_shipped", "reasoning") and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if name == "tokens":
        return _tokens(value)
    if name in _CASTS:
        return _CASTS[name](value)
    return value


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from a TOML file, the environment and ``overrides``.

    :raise ValueError: a key in the file or the environment is unknown or has a bad value.
    """
    names = {f.name for f in fields(Settings)} - {"extra"}
    values: dict[str, Any] = {}
    if config_file is not None:
        with open(config_file, "rb") as fh:
            data = tomllib.load(fh)
        section = data.get("mckg", data)
        unknown = set(section) - names
        if unknown:
            raise ValueError(f"{config_file}: unknown setting(s): {', '.join(sorted(unknown))}")
        values.update(section)
    for name in names:
        env = os.environ.get("MCKG_" + name.upper())
        if env is not None:
            values[name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**{k: _coerce(k, v) for k, v in values.items()})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad setting: {exc}") from exc
