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

A shipped layer a load superseded (the ESCO sample, once a real ESCO release is loaded) is
listed in the marker's ``left_out`` with the graph that superseded it: while that graph holds
data, every rebuild leaves the layer out too (and a store that matches the sources is not
rebuilt for it); once it is empty, the layer comes back at the next start.
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
from ..build.graphs import ASSERTED_LAYERS, LAYERS, graph_iri
from ..config import Settings
from . import open_store, parse_store_url
from .base import Store
from .errors import StoreError, StoreInputError, StoreLocked, StoreMissing
from .loading import LoadReport, load_files
from .oxigraph import OxigraphEngine, move_aside, read_marker_file

log = logging.getLogger("mckg.store")



@dataclass
class ProvisionReport:
    """What :func:`provision` did."""

    rebuilt: bool
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    reason: str = ""
    #: Shipped layers left out, each with the loaded graph that superseded it.
    left_out: dict[str, str] = field(default_factory=dict)


def _graph_counts(nquads: bytes) -> dict[str, int]:
    counts: dict[str, int] = {}
    for quad in ox.parse(nquads, ox.RdfFormat.N_QUADS):
        name = quad.graph_name
        if isinstance(name, ox.NamedNode):
            counts[name.value] = counts.get(name.value, 0) + 1
    return counts


def left_out_layers(store: Store | None, marker: dict[str, Any] | None,
                    base: str) -> dict[str, str]:
    """The shipped layers to leave out of ``store``, each with the graph superseding it: those
    the marker's ``left_out`` names whose superseding graph still holds data."""
    recorded: dict[str, str] = (marker or {}).get("left_out", {})
    if store is None or not recorded:
        return {}
    present = set(store.named_graphs())
    layer_of = {str(graph_iri(base, layer)): layer for layer in ASSERTED_LAYERS}
    return {layer_of[graph]: because for graph, because in recorded.items()
            if graph in layer_of and because in present}


def _recorded_left_out(marker: dict[str, Any] | None, base: str) -> dict[str, str]:
    """The layers the marker says were left out of its last complete load."""
    layer_of = {str(graph_iri(base, layer)): layer for layer in ASSERTED_LAYERS}
    return {layer_of[g]: because for g, because in (marker or {}).get("left_out", {}).items()
            if g in layer_of}


def _load(store: Store, settings: Settings, fp: str, old: dict[str, Any] | None,
          left_out: dict[str, str]) -> tuple[dict[str, int], bool]:
    """Build (or take from the build cache) and load; returns the counts and "from the cache".

    The layers ``left_out`` are not built, and stay recorded in the marker.

    With reasoning on, every file must pass through rdflib (OWL RL runs over their union);
    with it off, the extra files go to :meth:`Store.load_file`, which on Oxigraph is the
    native bulk loader — a million triples in seconds instead of minutes.
    """

    streamed = () if settings.reasoning else tuple(Path(p) for p in settings.extra_files)
    nquads, cached = built_graph(settings.with_(extra_files=()) if streamed else settings,
                                 left_out=tuple(left_out))
    counts = _graph_counts(nquads)
    user_graph = str(graph_iri(settings.base, "user"))
    planned = set(counts) | {user_graph}
    for path in streamed:  # every file parses before anything changes
        planned |= store.file_graphs(path, graph=user_graph)
    # The intent: should this load be interrupted, the next start sees a marker without a
    # fingerprint (so it rebuilds) that names every graph to clear, even a file's own graphs.
    intent = sorted(set((old or {}).get("graphs", {})) | planned)
    # What ``mckg load`` added lives in graphs of its own, untouched here; its record stays.
    loads: dict[str, Any] = {"loads": old["loads"]} if old and "loads" in old else {}
    if left_out:
        loads["left_out"] = {str(graph_iri(settings.base, layer)): because
                             for layer, because in left_out.items()}
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
    left_out: dict[str, str] = {}
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
        except StoreMissing:
            if kind != "oxigraph":
                raise
            store = None  # no store there yet: it is created below
        try:
            left_out = left_out_layers(store, marker, settings.base)
        except StoreError:
            if store is not None:
                store.close()
            raise
        recorded = _recorded_left_out(marker, settings.base)
        if (store is not None and not force and marker and marker.get("fingerprint") == fp
                and recorded == left_out):
            log.info("store %s already holds this graph (loaded %s); not rebuilding%s",
                     store.url, marker.get("loaded", "?"), _left_out_note(left_out))
            return store, ProvisionReport(False, time.perf_counter() - started,
                                          dict(marker.get("graphs", {})), "marker matches",
                                          left_out)
        reason = ("forced" if force else "no marker" if not marker
                  else "an interrupted load" if marker.get("state") == "loading"
                  else "not built yet" if "fingerprint" not in marker
                  else "data or settings changed" if marker.get("fingerprint") != fp
                  else "what superseded " + ", ".join(sorted(set(recorded) - set(left_out)))
                  + " is gone: it comes back")
        if store is not None and kind == "oxigraph":
            store.close()
            store = None
    writer = store if store is not None else open_store(url, update_url=update_url,
                                                                     timeout=timeout)
    log.info("loading the graph into %s (%s)%s", writer.url, reason, _left_out_note(left_out))
    try:
        counts, cached = _load(writer, settings, fp, marker, left_out)
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
    return served, ProvisionReport(True, seconds, counts, reason, left_out)


def _left_out_note(left_out: dict[str, str]) -> str:
    """What the log says about layers left out (empty when none is)."""
    return "".join(f"; the {layer} layer stays out: <{because}> holds what superseded it "
                   "(mckg load)" for layer, because in sorted(left_out.items()))


def reserved_graphs(base: str) -> set[str]:
    """The graphs provisioning rebuilds, which ``mckg load`` may not fill."""
    return {str(graph_iri(base, layer)) for layer in LAYERS}


# ---- checking and repairing -----------------------------------------------------------------

@dataclass
class CheckReport:
    """What :func:`check` found: problems (the store cannot be trusted) and notes."""

    url: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    statements: int = 0

    @property
    def sound(self) -> bool:
        return not self.problems


def _marker_findings(marker: dict[str, Any] | None, fp: str, counts: dict[str, int],
                     report: CheckReport) -> None:
    """Compare the store's marker with what it holds and with the current sources."""
    if not marker:
        report.notes.append("no marker: no complete load is recorded; mckg serve (or query, "
                            "export, stats) loads the graph at its next start")
        return
    loaded = {g for entry in marker.get("loads", []) for g in entry.get("graphs", {})}
    for entry in marker.get("loads", []):
        for graph in entry.get("graphs", {}):
            if not counts.get(graph):
                report.problems.append(f"graph <{graph}>, filled by mckg load on "
                                       f"{entry.get('loaded', '?')}, is empty")
    if marker.get("state") == "loading":
        report.notes.append("an interrupted load: the next start loads the graph again")
        return
    if "fingerprint" not in marker:
        report.notes.append("the graph itself is not loaded yet, only what mckg load added: "
                            "mckg serve (or query, export, stats) loads it at its next start")
        return
    for graph, expected in marker.get("graphs", {}).items():
        found = counts.get(graph, 0)
        if found != expected and not (graph in loaded and found > expected):
            report.problems.append(f"graph <{graph}>: the marker records {expected:,} "
                                   f"triples, the store holds {found:,}")
    for graph, because in sorted(marker.get("left_out", {}).items()):
        report.notes.append(f"graph <{graph}> is left out: <{because}>, filled by mckg load, "
                            "supersedes it")
    if marker["fingerprint"] == fp:
        report.notes.append(f"holds the graph of these sources and settings (loaded "
                            f"{marker.get('loaded', '?')})")
    else:
        report.notes.append("holds a graph of other sources or settings: the next start "
                            "with these rebuilds it (loaded graphs are kept)")


def check(settings: Settings, url: str) -> CheckReport:
    """Open the store at ``url`` read-only, read every statement once, count the graphs and
    compare them with the store's marker.

    Damage RocksDB reports (a truncated or missing table file, a bad checksum in what is
    read) is a problem; so is a graph the marker records with another count.

    :raise StoreMissing: there is no store at ``url``.
    :raise StoreError: the URL is invalid, or another process writes the store.
    """
    report = CheckReport(url)
    try:
        store = open_store(url, read_only=True, update_url=settings.update_url or None,
                           timeout=max(settings.query_timeout, 300.0))
    except (StoreMissing, StoreLocked, StoreInputError):
        raise
    except StoreError as exc:
        report.problems.append(exc.message)
        return report
    with store:
        try:
            report.statements = store.read_all() if isinstance(store, OxigraphEngine) else 0
            report.counts = store.counts()
            marker = store.read_marker()
        except StoreError as exc:
            report.problems.append(exc.message)
            return report
    _marker_findings(marker, fingerprint(settings), report.counts, report)
    return report


@dataclass
class RepairReport:
    """What :func:`repair` did."""

    moved_to: Path
    provisioned: ProvisionReport
    reloaded: list[LoadReport] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def repair(settings: Settings, url: str) -> RepairReport:
    """Move a damaged Oxigraph store aside, load the graph into a new one and load again the
    files ``mckg load`` added (as its marker recorded them; files gone are listed).

    The damaged folder is kept beside the new one (``NAME.damaged-…``) for inspection.

    :raise StoreInputError: ``url`` is not an Oxigraph store.
    :raise StoreLocked: a server or another command uses the store.
    :raise DataError: a source file, or a file to load again, is malformed.
    """
    kind, location = parse_store_url(url)
    if kind != "oxigraph":
        raise StoreInputError(f"only oxigraph: stores can be repaired; {url} is not one")
    path = Path(location).expanduser()
    marker = read_marker_file(path)
    moved = move_aside(path)
    store, provisioned = provision(settings, url, force=True)
    store.close()
    report = RepairReport(moved, provisioned)
    entries = (marker or {}).get("loads", [])
    if not entries:
        return report
    with open_store(url) as writer:
        for entry in entries:
            files = [Path(f) for f in entry.get("files", [])]
            gone = [str(f) for f in files if not f.is_file()]
            report.missing.extend(gone)
            if files and not gone:
                # A load that left a shipped layer out does so again (the same choice).
                supersedes = {because: graph for graph, because
                              in entry.get("left_out", {}).items()}
                report.reloaded.append(load_files(writer, files, graph=entry["graph"],
                                                  reserved=reserved_graphs(settings.base).__contains__,
                                                  supersedes=supersedes))
    return report
