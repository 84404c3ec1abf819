"""Stores: one interface, chosen by a URL-like setting (``Settings.store`` or ``--store``).

==============================  ===============================================================
``memory``                      Oxigraph in memory (tests, one-off commands, tiny graphs)
``oxigraph:PATH``               a persistent on-disk Oxigraph store (the default for serving)
``sparql+http(s)://HOST/PATH``  any SPARQL 1.1 Query/Update endpoint (Virtuoso, Fuseki, …)
==============================  ===============================================================

Each kind is a class registered in :data:`KINDS` (imported on first use: the remote store needs
``requests``, which a command on a local store need not load); :func:`parse_store_url` splits a
setting into
its kind and location. See :mod:`mckg.store.base` for the contract every store keeps.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from .base import QueryDataset, Store, StoreSpec, effective_dataset
from .errors import (
    StoreError,
    StoreInputError,
    StoreLocked,
    StoreMissing,
    StoreReadOnly,
    StoreTimeout,
    StoreUnavailable,
)
from .results import NativeResult, Serialized, outputs_for, serialize_result

__all__ = [
    "KINDS",
    "NativeResult",
    "QueryDataset",
    "Serialized",
    "Store",
    "StoreError",
    "StoreInputError",
    "StoreLocked",
    "StoreMissing",
    "StoreReadOnly",
    "StoreSpec",
    "StoreTimeout",
    "StoreUnavailable",
    "default_serve_store",
    "effective_dataset",
    "open_spec",
    "open_store",
    "outputs_for",
    "parse_store_url",
    "serialize_result",
    "store_class",
]

#: Every kind of store by the name its URLs start with.
#: Every kind of store by the name its URLs start with: ``module:class``.
KINDS: dict[str, str] = {
    "memory": "mckg.store.memory:MemoryStore",
    "oxigraph": "mckg.store.oxigraph:OxigraphStore",
    "sparql": "mckg.store.remote:RemoteStore",
}


def store_class(kind: str) -> type[Store]:
    """The class of stores of ``kind``.

    :raise StoreInputError: no such kind.
    """
    if kind not in KINDS:
        raise StoreInputError(f"unknown store kind {kind!r}; expected one of {', '.join(KINDS)}")
    module, name = KINDS[kind].split(":")
    found: type[Store] = getattr(importlib.import_module(module), name)
    return found


def default_serve_store() -> str:
    """Where mckg keeps its Oxigraph store when none is configured.

    ``$XDG_DATA_HOME/mckg/oxigraph`` (``~/.local/share/mckg/oxigraph``): persistent, so a
    restart does not rebuild, and shared by ``mckg serve`` and the reading commands (``query``,
    ``export``, ``stats``), so the graph is built once for all of them.
    """
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"oxigraph:{Path(data_home) / 'mckg' / 'oxigraph'}"


def parse_store_url(url: str) -> tuple[str, str]:
    """Split a store setting into its kind (a key of :data:`KINDS`) and location.

    :raise StoreInputError: the URL names no known kind of store, or lacks its location.
    """
    url = url.strip()
    if url in ("", "memory", "memory:"):
        return "memory", ""
    if url.startswith("oxigraph:"):
        path = url[len("oxigraph:"):]
        if not path:
            raise StoreInputError("oxigraph: needs a folder, e.g. oxigraph:./mckg-store")
        return "oxigraph", path
    if url.startswith(("sparql+http://", "sparql+https://")):
        return "sparql", url[len("sparql+"):]
    raise StoreInputError(f"unknown store {url!r}: expected memory, oxigraph:PATH or "
                          "sparql+http(s)://…")


def open_store(url: str, *, read_only: bool = False, update_url: str | None = None,
               timeout: float = 30.0) -> Store:
    """Open the store named by ``url``.

    :raise StoreError: the URL names no known kind of store, or the store cannot be opened.
    """
    kind, location = parse_store_url(url)
    return store_class(kind).open_location(location, read_only=read_only, update_url=update_url,
                                     timeout=timeout)


def open_spec(spec: StoreSpec) -> Store:
    """Open a read-only handle from a :class:`StoreSpec` (in a worker process).

    :raise StoreError: the spec names no known kind, or the store cannot be opened.
    """
    return store_class(spec.kind).from_spec(spec)
