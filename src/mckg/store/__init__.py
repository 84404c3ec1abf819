"""Stores: one interface, chosen by a URL-like setting (``Settings.store`` or ``--store``).

==============================  ===============================================================
``memory``                      rdflib's in-memory Dataset (tests, tiny graphs)
``oxigraph:PATH``               a persistent on-disk Oxigraph store, SPARQL evaluated in Rust
``sparql+http(s)://HOST/PATH``  any SPARQL 1.1 Query/Update endpoint (Virtuoso, Fuseki, …)
==============================  ===============================================================

See :mod:`mckg.store.base` for the contract every store keeps.
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import QueryDataset, Store, StoreError, StoreSpec, effective_dataset
from .results import NativeResult, Serialized, outputs_for, serialize_result

__all__ = [
    "NativeResult",
    "QueryDataset",
    "Serialized",
    "Store",
    "StoreError",
    "StoreSpec",
    "default_serve_store",
    "effective_dataset",
    "open_spec",
    "open_store",
    "outputs_for",
    "serialize_result",
]


def default_serve_store() -> str:
    """Where ``mckg serve`` keeps its Oxigraph store when none is configured.

    ``$XDG_DATA_HOME/mckg/oxigraph`` (``~/.local/share/mckg/oxigraph``): persistent, so a
    restart does not rebuild (issue 4).
    """
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"oxigraph:{Path(data_home) / 'mckg' / 'oxigraph'}"


def open_store(url: str, *, read_only: bool = False, update_url: str | None = None,
               timeout: float = 30.0) -> Store:
    """Open the store named by ``url``.

    :raise StoreError: the URL names no known kind of store, or the store cannot be opened.
    """
    url = url.strip()
    if url in ("", "memory", "memory:"):
        from .memory import MemoryStore

        return MemoryStore(read_only=read_only)
    if url.startswith("oxigraph:"):
        path = url[len("oxigraph:"):]
        if not path:
            raise StoreError("oxigraph: needs a folder, e.g. oxigraph:./mckg-store")
        from .oxigraph import OxigraphStore

        return OxigraphStore(path, read_only=read_only)
    if url.startswith(("sparql+http://", "sparql+https://")):
        from .remote import RemoteStore

        return RemoteStore(url[len("sparql+"):], update_url=update_url or None, timeout=timeout,
                           read_only=read_only)
    raise StoreError(f"unknown store {url!r}: expected memory, oxigraph:PATH or "
                     "sparql+http(s)://…")


def open_spec(spec: StoreSpec) -> Store:
    """Open a read-only handle from a :class:`StoreSpec` (in a worker process).

    Workers take no lock: the serving process holds the shared lock for them.
    """
    if spec.kind == "memory":
        from .memory import MemoryStore

        return MemoryStore.from_nquads(Path(spec.location))
    if spec.kind == "oxigraph":
        from .oxigraph import OxigraphStore

        return OxigraphStore(spec.location, read_only=True, lock=False)
    if spec.kind == "sparql":
        from .remote import RemoteStore

        return RemoteStore(spec.location, update_url=spec.options.get("update_url"),
                           timeout=float(spec.options.get("timeout", 30.0)), read_only=True)
    raise StoreError(f"unknown store kind {spec.kind!r}")
