"""Getting the built graph into a store once, and not again while nothing has changed.

A *fingerprint* hashes everything the built graph depends on: the mckg version, the settings
that shape the build (base IRI, shipped data on/off, reasoning), the content of the shipped
files, the extra files, and the source of the modules that build it. The store's marker
records the fingerprint of its last complete load; when they match, ``mckg serve`` opens the
store read-only and serves at once — a restart does not rebuild.

A rebuild first checks that every file parses, then replaces the marker by an *intent* naming
every graph the old marker listed and every graph about to be written, loads, and writes the
new marker last: a crash at any point leaves either the old complete state or an intent, which
the next start sees (no fingerprint) and rebuilds, clearing exactly the graphs it names.

Graphs filled by ``mckg load`` (:mod:`mckg.store.loading`) are never named by the marker, so a
rebuild leaves them alone, and the marker's ``loads`` record is carried over unchanged.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from .. import __version__
from ..build.cache import MARKER_FORMAT, built_graph, fingerprint
from ..build.graphs import graph_iri
from ..config import Settings
from . import open_store
from .base import Store
from .errors import StoreError, StoreLocked

log = logging.getLogger("mckg.store")



@dataclass
class ProvisionReport:
    """What :func:`provision` did."""

    rebuilt: bool
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    reason: str = ""


def _graph_counts(nquads: bytes) -> dict[str, int]:
    counts: dict[str, int] = {}
    for quad in ox.parse(nquads, ox.RdfFormat.N_QUADS):
        name = quad.graph_name
        if isinstance(name, ox.NamedNode):
            counts[name.value] = counts.get(name.value, 0) + 1
    return counts


def _load(store: Store, settings: Settings, fp: str,
          old: dict[str, Any] | None) -> tuple[dict[str, int], bool]:
    """Build (or take from the build cache) and load; returns the counts and "from the cache".

    With reasoning on, every file must pass through rdflib (OWL RL runs over their union);
    with it off, the extra files go to :meth:`Store.load_file`, which on Oxigraph is the
    native bulk loader — a million triples in seconds instead of minutes.
    """

    streamed = () if settings.reasoning else tuple(Path(p) for p in settings.extra_files)
    nquads, cached = built_graph(settings.with_(extra_files=()) if streamed else settings)
    counts = _graph_counts(nquads)
    user_graph = str(graph_iri(settings.base, "user"))
    planned = set(counts) | {user_graph}
    for path in streamed:  # every file parses before anything changes
        planned |= store.file_graphs(path, graph=user_graph)
    # The intent: should this load be interrupted, the next start sees a marker without a
    # fingerprint (so it rebuilds) that names every graph to clear, even a file's own graphs.
    intent = sorted(set((old or {}).get("graphs", {})) | planned)
    # What ``mckg load`` added lives in graphs of its own, untouched here; its record stays.
    loads = {"loads": old["loads"]} if old and "loads" in old else {}
    store.write_marker({"format": MARKER_FORMAT, "state": "loading",
                        "graphs": dict.fromkeys(intent, 0), **loads})
    store.load_nquads(nquads, replace=intent)
    for path in streamed:
        store.load_file(path, graph=user_graph)
    if streamed:
        counts = store.counts()
        counts = {g: n for g, n in counts.items() if g in planned}
    store.write_marker({
        "format": MARKER_FORMAT,
        "fingerprint": fp,
        "mckg": __version__,
        "base": settings.base,
        "graphs": counts,
        "loaded": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": [str(Path(p).resolve()) for p in settings.extra_files],
        **loads,
    })
    return counts, cached


def provision(settings: Settings, url: str, *, force: bool = False) -> tuple[Store, ProvisionReport]:
    """Return a store at ``url`` holding the graph ``settings`` describe, ready to serve.

    Builds and loads only when the store's marker does not match (or ``force``). An Oxigraph
    store is opened read-write only for a rebuild and returned read-only.

    :raise DataError: a data file is malformed (nothing is changed).
    :raise StoreError: the store cannot be opened or written.
    """

    started = time.perf_counter()
    fp = fingerprint(settings)
    update_url, timeout = settings.update_url or None, settings.query_timeout
    kind = "memory" if url.strip() in ("", "memory", "memory:") else url.split(":", 1)[0]
    store: Store | None = None
    marker: dict[str, Any] | None = None
    reason = "memory stores are built at every start"
    if kind != "memory":
        try:
            # Oxigraph: look read-only first; reopening read-write would rewrite files under
            # any other server reading the same folder.
            store = open_store(url, read_only=kind == "oxigraph", update_url=update_url,
                               timeout=timeout)
            marker = store.read_marker()
        except StoreLocked:
            raise
        except StoreError:
            if kind != "oxigraph":
                raise
            store = None  # no store there yet: it is created below
        if store is not None and not force and marker and marker.get("fingerprint") == fp:
            log.info("store %s already holds this graph (loaded %s); not rebuilding",
                     store.url, marker.get("loaded", "?"))
            return store, ProvisionReport(False, time.perf_counter() - started,
                                          dict(marker.get("graphs", {})), "marker matches")
        reason = ("forced" if force else "no marker" if not marker
                  else "an interrupted load" if marker.get("state") == "loading"
                  else "not built yet" if "fingerprint" not in marker
                  else "data or settings changed")
        if store is not None and kind == "oxigraph":
            store.close()
            store = None
    writer = store if store is not None else open_store(url, update_url=update_url,
                                                                     timeout=timeout)
    log.info("loading the graph into %s (%s)", writer.url, reason)
    try:
        counts, cached = _load(writer, settings, fp, marker)
    except BaseException:
        writer.close()
        raise
    served = writer
    if kind == "oxigraph":
        writer.close()
        served = open_store(url, read_only=True)
    seconds = time.perf_counter() - started
    log.info("loaded %d triples in %d graphs into %s in %.1f s%s", sum(counts.values()),
             len(counts), served.url, seconds, " (the graph from the build cache)" if cached else "")
    return served, ProvisionReport(True, seconds, counts, reason)
