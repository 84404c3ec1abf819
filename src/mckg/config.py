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
    extra: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied."""
        return replace(self, **changes)

    @property
    def base(self) -> str:
        """The base IRI, always ending in ``/``."""
        return self.base_iri if self.base_iri.endswith("/") else self.base_iri + "/"


_CASTS = {"query_timeout": float, "result_limit": int, "max_query_bytes": int, "port": int,
          "query_workers": int, "client_concurrency": int, "connection_limit": int,
          "request_timeout": float, "idle_timeout": float}


def _coerce(name: str, value: Any) -> Any:
    if name in ("extra_files",):
        items = value.split(os.pathsep) if isinstance(value, str) else value
        return tuple(Path(v) for v in items if v)
    if name in ("service_allowlist", "client_limit_exempt"):
        items = value.split(",") if isinstance(value, str) else value
        return tuple(v.strip() for v in items if v.strip())
    if name in ("include_shipped", "reasoning") and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
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
