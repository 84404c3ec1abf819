"""Getting the built graph into a store once, and not again while nothing has changed.

A *fingerprint* hashes everything the built graph depends on: the mckg version, the settings
that shape the build (base IRI, shipped data on/off, reasoning), the content of the shipped
files, the extra files, and the source of the modules that build it. The store's marker
records the fingerprint of its last complete load; when they match, ``mckg serve`` opens the
store read-only and serves at once — the restart of issue 4 does not rebuild.

A rebuild removes the marker, replaces the graphs the old marker listed (and those about to be
written), then writes the new marker: a crash at any point leaves either the old complete
state or a store without a marker, which the next start rebuilds.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Settings
from .base import Store, StoreError

log = logging.getLogger("mckg.store")

MARKER_FORMAT = 1
_BUILD_MODULES = ("graphs.py", "reasoning.py", "rdfio.py", "namespaces.py")


@dataclass
class ProvisionReport:
    """What :func:`provision` did."""

    rebuilt: bool
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    reason: str = ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):  # ends at end of file
            digest.update(block)
    return digest.hexdigest()


def fingerprint(settings: Settings) -> str:
    """Hash of everything the built graph depends on (see the module docstring).

    :raise StoreError: an extra file cannot be read.
    """
    from ..graphs import ASSERTED_LAYERS, layer_files

    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        for part in parts:
            digest.update(str(part).encode("utf-8"))
            digest.update(b"\0")

    add("mckg", __version__, MARKER_FORMAT, settings.base, settings.include_shipped,
        settings.reasoning)
    package = Path(__file__).resolve().parents[1]
    for name in _BUILD_MODULES:
        source = package / name
        if source.exists():
            add(name, _sha256(source))
    if settings.include_shipped:
        for layer in ASSERTED_LAYERS:
            for path in layer_files(layer):
                add(layer, path.name, _sha256(path))
    for extra in settings.extra_files:
        path = Path(extra).resolve()
        try:
            add("extra", path, _sha256(path))
        except OSError as exc:
            raise StoreError(f"{path}: {exc.strerror or exc}", status=400) from None
    return digest.hexdigest()


def _load(store: Store, settings: Settings, fp: str, old: dict[str, Any] | None) -> dict[str, int]:
    from ..graphs import build

    kg = build(settings)  # raises DataError before the store is touched
    counts = {str(g.identifier): len(g) for g in kg.dataset.graphs()
              if len(g) and str(g.identifier) != "urn:x-rdflib:default"}
    previous = set((old or {}).get("graphs", {}))
    store.write_marker(None)
    store.load_dataset(kg.dataset, replace=sorted(previous | set(counts)))
    store.write_marker({
        "format": MARKER_FORMAT,
        "fingerprint": fp,
        "mckg": __version__,
        "base": settings.base,
        "graphs": counts,
        "loaded": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": [str(Path(p).resolve()) for p in settings.extra_files],
    })
    return counts


def provision(settings: Settings, url: str, *, force: bool = False) -> tuple[Store, ProvisionReport]:
    """Return a store at ``url`` holding the graph ``settings`` describe, ready to serve.

    Builds and loads only when the store's marker does not match (or ``force``). An Oxigraph
    store is opened read-write only for a rebuild and returned read-only.

    :raise DataError: a data file is malformed (nothing is changed).
    :raise StoreError: the store cannot be opened or written.
    """
    from . import open_store

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
        except StoreError as exc:
            if kind != "oxigraph" or exc.status == 503:
                raise
            store = None  # no store there yet: it is created below
        if store is not None and not force and marker and marker.get("fingerprint") == fp:
            log.info("store %s already holds this graph (loaded %s); not rebuilding",
                     store.url, marker.get("loaded", "?"))
            return store, ProvisionReport(False, time.perf_counter() - started,
                                          dict(marker.get("graphs", {})), "marker matches")
        reason = "forced" if force else ("no marker" if not marker else "data or settings changed")
        if store is not None and kind == "oxigraph":
            store.close()
            store = None
    writer = store if store is not None else open_store(url, update_url=update_url,
                                                                     timeout=timeout)
    log.info("building the graph into %s (%s)", writer.url, reason)
    try:
        counts = _load(writer, settings, fp, marker)
    except BaseException:
        writer.close()
        raise
    served = writer
    if kind == "oxigraph":
        writer.close()
        served = open_store(url, read_only=True)
    seconds = time.perf_counter() - started
    log.info("loaded %d triples in %d graphs into %s in %.1f s", sum(counts.values()),
             len(counts), served.url, seconds)
    return served, ProvisionReport(True, seconds, counts, reason)
