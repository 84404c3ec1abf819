"""Streaming large RDF files into a store (``mckg load``): batches, one transaction, a report.

Users join the policy graph with ESCO and their own data: millions of triples that rdflib
would take minutes and gigabytes to parse. So files are read by Oxigraph's streaming parsers
(N-Triples, N-Quads, Turtle, TriG; gzip too) and handed to the store in batches of
``batch`` statements, so memory is bounded by the batch, not the file. JSON-LD and RDF/XML
go through :mod:`mckg.rdf.files` instead (its guards against remote contexts and XML entities
matter more than streaming for formats nobody ships millions of triples in).

**One transaction per load.** Every file of one ``mckg load`` goes in together or not at all:
a malformed line half-way through the last file, an interrupted process or a full disk leaves
the store exactly as it was. How each store keeps that promise is its own business
(:meth:`mckg.store.base.Store.load_batches`): the memory store stages the quads, the Oxigraph
store loads a copy-on-write checkpoint of itself and swaps it in atomically, a SPARQL endpoint
receives the data into staging graphs that are added to the real ones at the end.

Triples go into ``graph``; quads of TriG and N-Quads files keep their own graphs. Blank nodes
are renamed per file (two files' ``_:b1`` are different nodes, as RDF says). The graphs that
provisioning rebuilds (``{base}graph/…``) and mckg's own bookkeeping graphs (``urn:x-mckg:…``)
are refused: data loaded there would vanish at the next rebuild.

**A load may supersede a shipped graph.** ``supersedes`` maps a graph the load fills to one
it replaces: once a real ESCO release goes into the ESCO graph, the bundled ESCO sample is
dropped, with its copies in the merged default graph that no other graph holds, in the
load's own transaction. The marker records it under ``left_out`` (and forgets the graph's
count under ``graphs``), so that provisioning does not fill it again while the superseding
graph holds data (:mod:`mckg.store.provision`).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from rdflib import Dataset

from ..rdf.files import (
    MAX_LITERAL_BYTES,
    DataError,
    IllTypedLiterals,
    format_for_path,
    open_binary,
    read_file,
    read_statements,
)
from ..rdf.formats import RdfFormat
from ..rdf.terms import to_oxigraph
from .errors import StoreInputError

if TYPE_CHECKING:
    from .base import Store

#: Statements per batch: about 200 MB resident on Oxigraph (its bulk loader holds a batch
#: with its indexes in memory; 1M-statement batches take 1.7 GB), and the fastest size measured.
DEFAULT_BATCH = 50_000
#: Loads remembered in the store's marker (under ``loads``; provisioning owns the other keys).
MAX_LOADS = 100
#: Graph IRIs under this prefix are mckg's own (the remote store's merge, registry, staging).
INTERNAL_PREFIX = "urn:x-mckg:"

log = logging.getLogger("mckg.load")


@dataclass
class LoadReport:
    """What one load added: statements read per graph, and how long it took."""

    files: tuple[str, ...]
    graph: str
    triples: int = 0
    seconds: float = 0.0
    graphs: dict[str, int] = field(default_factory=dict)
    #: Language-tagged literals left out by ``languages`` (their statements are not loaded).
    dropped: int = 0
    #: The languages kept (primary subtags, lower case), or None for every language.
    languages: tuple[str, ...] | None = None
    #: Literals kept although their lexical form is not valid for their datatype.
    ill_typed: IllTypedLiterals = field(default_factory=IllTypedLiterals)
    #: Graphs this load dropped (``supersedes``): each with the graph that supersedes it.
    left_out: dict[str, str] = field(default_factory=dict)
    #: Triples each dropped graph held, as the store's marker recorded them (0: already empty).
    left_out_triples: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Statements per second."""
        return self.triples / self.seconds if self.seconds > 0 else 0.0

    def entry(self) -> dict[str, Any]:
        """The record kept in the store's marker."""
        return {"files": list(self.files), "graph": self.graph, "triples": self.triples,
                "graphs": dict(self.graphs), "ill_typed": self.ill_typed.count,
                **({"languages": list(self.languages), "dropped": self.dropped}
                   if self.languages is not None else {}),
                **({"left_out": dict(self.left_out)} if self.left_out else {}),
                "loaded": datetime.now(UTC).isoformat(timespec="seconds")}


#: Returns the entry a load adds to the marker's ``loads`` (called once every batch is read).
LoadRecord = Callable[[], dict[str, Any]]

#: Returns the graphs a load drops in its own transaction (called once every batch is read).
LoadDrop = Callable[[], Iterable[str]]

#: Called after each batch with (bytes read, bytes in all files, statements read).
Progress = Callable[[int, int, int], None]


def with_load(marker: dict[str, Any] | None, entry: dict[str, Any]) -> dict[str, Any]:
    """``marker`` with ``entry`` appended to its ``loads`` (the last :data:`MAX_LOADS` kept),
    and the graphs the load dropped moved from ``graphs`` to ``left_out`` (each with the graph
    that superseded it), so that neither ``mckg store check`` nor provisioning expects them."""
    out = dict(marker or {})
    out["loads"] = [*out.get("loads", []), entry][-MAX_LOADS:]
    dropped: dict[str, str] = entry.get("left_out", {})
    if dropped:
        out["graphs"] = {g: n for g, n in out.get("graphs", {}).items() if g not in dropped}
        out["left_out"] = {**out.get("left_out", {}), **dropped}
    return out


class _CountingReader(io.RawIOBase):
    """A binary file that reports how many bytes have been read from it (for progress)."""

    def __init__(self, raw: io.BufferedIOBase, on_read: Callable[[int], None]) -> None:
        super().__init__()
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if n:
            self._on_read(n)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def check_files(paths: Sequence[Path]) -> list[tuple[Path, RdfFormat]]:
    """Each file with its format, before anything is read: missing files fail first.

    :raise DataError: a file is missing, unreadable or of an unknown type.
    """
    checked = []
    for path in paths:
        fmt = format_for_path(path)
        if not path.is_file():
            raise DataError(str(path), "No such file")
        checked.append((path, fmt))
    return checked


def read_quads(path: Path, fmt: RdfFormat, *, graph: str, counts: dict[str, int],
               on_read: Callable[[int], None] = lambda n: None,
               max_literal: int = MAX_LITERAL_BYTES,
               ill_typed: IllTypedLiterals | None = None) -> Iterator[ox.Quad]:
    """Every statement of ``path`` as a quad in a named graph (triples in ``graph``).

    Streams the native formats, checked as every reader checks them
    (:func:`mckg.rdf.files.read_statements`); counts statements per graph into ``counts`` and
    ill-typed literals into ``ill_typed`` — or, without one, logs them as a warning.

    :raise DataError: the file is malformed or breaks a limit (with its line), is not gzip,
        or is unreadable.
    """
    found = ill_typed if ill_typed is not None else IllTypedLiterals()
    if fmt.streamed:
        yield from _read_streamed(path, fmt, ox.NamedNode(graph), counts, on_read,
                                  max_literal, found)
    else:
        yield from _read_with_rdflib(path, fmt, ox.NamedNode(graph), counts, max_literal, found)
        on_read(path.stat().st_size)
    if ill_typed is None and found.count:
        log.warning("%s: %s: %s", path, found.summary(), "; ".join(found.lines()))


def _read_streamed(path: Path, fmt: RdfFormat, target: ox.NamedNode, counts: dict[str, int],
                   on_read: Callable[[int], None], max_literal: int,
                   found: IllTypedLiterals) -> Iterator[ox.Quad]:
    """Turtle, N-Triples, N-Quads, TriG: Oxigraph's parser, a line at a time."""
    graph = target.value
    try:
        with contextlib.ExitStack() as stack:
            raw = stack.enter_context(open(path, "rb"))
            stream: Any = io.BufferedReader(_CountingReader(raw, on_read), 1 << 20)
            if path.suffix.lower() == ".gz":  # buffered: a native readline for LineReader
                stream = io.BufferedReader(stack.enter_context(gzip.open(stream, "rb")), 1 << 20)
            parsed = read_statements(stream, fmt, source=str(path),
                                     base_iri=path.resolve().as_uri(), max_literal=max_literal,
                                     ill_typed=found, reopen=lambda: open_binary(path))
            if not fmt.quads:
                n = 0
                try:
                    for subject, predicate, obj, _ in parsed:  # unpacking: the fastest access
                        n += 1
                        yield ox.Quad(subject, predicate, obj, target)
                finally:
                    counts[graph] = counts.get(graph, 0) + n
                return
            for quad in parsed:
                name = quad.graph_name
                if isinstance(name, ox.NamedNode):
                    counts[name.value] = counts.get(name.value, 0) + 1
                    yield quad
                else:
                    counts[graph] = counts.get(graph, 0) + 1
                    yield ox.Quad(quad.subject, quad.predicate, quad.object, target)
    except (gzip.BadGzipFile, EOFError) as exc:
        raise DataError(str(path), f"not a valid gzip file: {exc}") from None
    except OSError as exc:
        raise DataError(str(path), getattr(exc, "strerror", None) or str(exc)) from None


def _read_with_rdflib(path: Path, fmt: RdfFormat, target: ox.NamedNode, counts: dict[str, int],
                      max_literal: int, found: IllTypedLiterals) -> Iterator[ox.Quad]:
    """JSON-LD and RDF/XML: parsed whole by :mod:`mckg.rdf.files` (no fetching, no entities)."""
    dataset = read_file(path, into=Dataset(), fmt=fmt, max_literal=max_literal, ill_typed=found)
    assert isinstance(dataset, Dataset)
    default = dataset.default_graph.identifier
    for context in dataset.graphs():
        name = target if context.identifier == default else ox.NamedNode(str(context.identifier))
        for s, p, o in context:
            counts[name.value] = counts.get(name.value, 0) + 1
            yield ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), name)  # type: ignore[arg-type]


def parse_languages(text: str) -> tuple[str, ...]:
    """``"en, ES,pt-PT"`` → ``("en", "es", "pt")``: the primary subtags to keep, checked.

    A release of ESCO carries every label in 28 languages; most users need two or three, and
    a store with only those is a fraction of the size. Subtags are compared on the primary
    language (``pt`` keeps ``pt`` and ``pt-PT``), as BCP 47 matching does; a primary subtag is
    two or three letters (ISO 639).

    :raise StoreInputError: empty, or an item is not a language tag.
    """
    tags = [item.strip() for item in text.split(",") if item.strip()]
    if not tags:
        raise StoreInputError("--lang needs at least one language tag, e.g. --lang en,es")
    kept: list[str] = []
    for tag in tags:
        primary = tag.split("-")[0].lower()
        if not (2 <= len(primary) <= 3 and primary.isascii() and primary.isalpha()):
            raise StoreInputError(f"--lang: {tag!r} is not a language tag (e.g. en, es, pt-PT)")
        if primary not in kept:
            kept.append(primary)
    return tuple(kept)


def keep_languages(quads: Iterator[ox.Quad], languages: tuple[str, ...],
                   report: LoadReport) -> Iterator[ox.Quad]:
    """``quads`` without the language-tagged literals of other languages.

    Plain and typed literals, IRIs and blank nodes are all kept: only a statement whose object
    is a literal tagged with a language outside ``languages`` is left out, counted in
    ``report.dropped`` and taken off its graph's count.
    """
    wanted = frozenset(languages)
    for quad in quads:
        obj = quad.object
        language = obj.language if isinstance(obj, ox.Literal) else None
        if language and language.split("-")[0].lower() not in wanted:
            report.dropped += 1
            name = quad.graph_name
            key = name.value if isinstance(name, ox.NamedNode) else report.graph
            report.graphs[key] = report.graphs.get(key, 0) - 1
            continue
        yield quad


def batched(quads: Iterator[ox.Quad], size: int) -> Iterator[list[ox.Quad]]:
    while True:
        batch = list(islice(quads, size))
        if not batch:
            return
        yield batch


def load_files(store: Store, paths: Sequence[Path], *, graph: str,
               batch: int = DEFAULT_BATCH, progress: Progress | None = None,
               reserved: Callable[[str], bool] = lambda iri: False,
               max_literal: int = MAX_LITERAL_BYTES,
               languages: Sequence[str] | None = None,
               supersedes: Mapping[str, str] | None = None) -> LoadReport:
    """Load ``paths`` into ``store`` in one transaction, ``batch`` statements at a time.

    ``supersedes`` maps a graph to one it replaces: if the load puts any statement into the
    first, the second is dropped in the same transaction and recorded in the report and the
    marker (see the module docstring).

    With ``languages`` (primary subtags, :func:`parse_languages`), literals tagged with any
    other language are left out (:func:`keep_languages`); the rest is loaded unchanged.

    ``reserved(iri)`` says which graphs must not be written (provisioning's); a quad file
    naming one fails the load like a syntax error would, leaving the store unchanged. A
    literal over ``max_literal`` bytes fails it too; ill-typed literals are loaded as they
    are and counted in the report.

    :raise DataError: a file is missing or malformed (nothing is changed).
    :raise StoreError: the store refused the load (nothing is changed).
    """
    if batch < 1:
        raise StoreInputError("the batch size must be at least 1")
    if not paths:
        raise StoreInputError("no file to load")
    try:
        ox.NamedNode(graph)
    except ValueError as exc:
        raise StoreInputError(f"not a valid graph IRI: {graph!r} ({exc})") from None
    forbidden = _forbidden(graph, reserved)
    if forbidden:
        raise StoreInputError(forbidden)
    checked = check_files(paths)
    total = sum(p.stat().st_size for p, _ in checked)
    report = LoadReport(tuple(str(p.resolve()) for p, _ in checked), graph,
                        languages=tuple(languages) if languages is not None else None)
    done = 0

    def read(n: int) -> None:
        nonlocal done
        done += n

    current = checked[0][0]
    allowed: set[str] = {graph}

    def quads() -> Iterator[ox.Quad]:
        nonlocal current
        for path, fmt in checked:
            current = path
            read_from = read_quads(path, fmt, graph=graph, counts=report.graphs, on_read=read,
                                   max_literal=max_literal, ill_typed=report.ill_typed)
            if report.languages is not None:
                read_from = keep_languages(read_from, report.languages, report)
            yield from read_from

    def batches() -> Iterator[list[ox.Quad]]:
        for items in batched(quads(), batch):
            # Quad files name their graphs as they go: a reserved one fails the load before
            # anything is committed.
            for name in set(report.graphs) - allowed:
                problem = _forbidden(name, reserved)
                if problem:
                    raise DataError(str(current), problem)
                allowed.add(name)
            yield items
            report.triples += len(items)
            if progress is not None:
                progress(done, total, report.triples)

    started = time.perf_counter()
    recorded = (store.read_marker() or {}).get("graphs", {}) if supersedes else {}

    def drop() -> list[str]:
        for new, old in (supersedes or {}).items():
            if report.graphs.get(new, 0) > 0:
                report.left_out[old] = new
                report.left_out_triples[old] = int(recorded.get(old, 0))
        return sorted(report.left_out)

    def entry() -> dict[str, Any]:
        report.seconds = time.perf_counter() - started
        return report.entry()

    store.load_batches(batches(), record=entry, drop=drop)
    report.seconds = time.perf_counter() - started
    return report


def _forbidden(iri: str, reserved: Callable[[str], bool]) -> str | None:
    """Why ``iri`` may not receive loaded data, or None."""
    if iri.startswith(INTERNAL_PREFIX):
        return f"graph <{iri}> is reserved for mckg's own bookkeeping"
    if reserved(iri):
        return (f"graph <{iri}> is rebuilt by mckg serve from the shipped and --file data; "
                "load into another graph (--graph)")
    return None


def quads_with_copies(batch: Iterable[ox.Quad]) -> list[ox.Quad]:
    """Each quad, then its copy in the default graph (the merge the Oxigraph store keeps).

    A list, not a generator: the bulk loader takes it in one call instead of calling back
    into Python for every quad.
    """
    out: list[ox.Quad] = []
    for quad in batch:
        subject, predicate, obj, _ = quad
        out.append(quad)
        out.append(ox.Quad(subject, predicate, obj))
    return out
