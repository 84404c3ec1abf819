"""Oxigraph stores: the one SPARQL engine of mckg, in memory or persistent on disk, in Rust.

:class:`OxigraphEngine` is everything about *querying and filling* a pyoxigraph ``Store``; it
is shared by :class:`OxigraphStore` (``oxigraph:PATH``, RocksDB on disk, below) and by
:class:`mckg.store.memory.MemoryStore` (``memory``, the same engine in RAM). Queries go to
pyoxigraph as strings and their answers stay pyoxigraph objects until they are
serialized natively (:mod:`.results`): no rdflib on the hot path.

**The default graph.** Oxigraph 0.5 evaluates a union or multi-``FROM`` default graph as a
multiset: a triple present in two named graphs is matched twice, so ``COUNT``/``SUM`` are
inflated (oxigraph/oxigraph#1919), while SPARQL 1.1 §13.2 defines the default graph as the RDF
*merge*, a set. So this store **materializes the merge into its own default graph**: every
load writes each triple into its named graph and into the default graph in one transaction,
and queries without a dataset read that default graph directly (faster than a union, too).
A query naming several default graphs (``FROM``, ``default-graph-uri``) is answered from a
temporary in-memory store holding their merge — exact, and bounded by the query time limit.

**Persistence.** A small JSON marker inside the store folder records what the last complete
load holds (:mod:`mckg.store.provision`); it is removed before and written after any change,
so a crash in between is seen as "not loaded" at the next start.

**Concurrency.** RocksDB allows one writer, and a read-only handle must not see a writer
(reopening read-write rewrites files under readers). An advisory ``flock`` on a lock file
enforces that: writers take it exclusively, serving processes share it.

**Atomic bulk loads** (``mckg load``, :meth:`OxigraphStore.load_batches`). Oxigraph's own
transactions hold every change in memory until the commit (2.6 GB and 95 s for a million
triples with their default-graph copies, measured), and its fast bulk loader is not
transactional. So a load works on a *copy-on-write checkpoint* of the store: RocksDB's
checkpoint hard-links the immutable table files into a sibling folder
(``.NAME.mckg-load-<random hex>``, instant, no data copied), the bulk loader fills that copy batch by
batch (bounded memory), the marker is written into it, and the two folders are exchanged in
one ``renameat2(RENAME_EXCHANGE)`` system call. Before that call the store is untouched;
after it, complete. A load that fails or is killed leaves only the sibling folder, which the
next writer removes.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import io
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from ..query.info import QueryError, QueryInfo
from ..rdf.files import IllTypedLiterals, format_for_path
from .base import QueryDataset, Store, StoreSpec, effective_dataset
from .errors import StoreError, StoreInputError, StoreLocked, StoreMissing, StoreReadOnly
from .loading import (
    DEFAULT_BATCH,
    LoadDrop,
    LoadRecord,
    batched,
    quads_with_copies,
    read_quads,
    with_load,
)
from .results import NativeResult

try:  # POSIX only; without it the lock is skipped
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MARKER_FILE = "mckg-store.json"
LOCK_FILE = "mckg-store.lock"
#: Infix of the sibling folders a bulk load stages in (``.NAME.mckg-load-<random hex>``).
STAGING_INFIX = ".mckg-load-"
_RENAME_EXCHANGE = 2  # linux/fs.h

#: File types loaded by Oxigraph's own streaming parser; others go through rdflib's safe parsing
#: (JSON-LD contexts and RDF/XML entities need the guards of :mod:`mckg.rdf.files`).
_COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


#: What pyoxigraph raises when its database fails: OSError (I/O), RuntimeError (RocksDB's
#: "Corruption: …", "IO error: …" at open or while reading).
ENGINE_ERRORS = (OSError, RuntimeError)


def damaged(path: Path, detail: object) -> StoreError:
    """The error for a store folder RocksDB cannot read, saying how to get out of it."""
    url = f"oxigraph:{path}"
    return StoreError(
        f"the Oxigraph store at {path} is damaged ({str(detail).strip()[:300]}). See what is "
        f"wrong with `mckg store check --store {url}`; `mckg store repair --store {url}` moves "
        "it aside and rebuilds it (files added with mckg load are loaded again). Or delete "
        "the folder: mckg rebuilds the graph at the next start.")


def _iri(value: str) -> str:
    """An IRI as a SPARQL term, refusing characters that would break out of ``<…>``."""
    if any(c in value for c in '<>"{}|^`\\ \n\r\t'):
        raise StoreInputError(f"not a valid IRI: {value!r}")
    return f"<{value}>"


def _has_blank(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)


def _syntax_error(exc: SyntaxError) -> QueryError:
    """Oxigraph's ``error at L:C: …`` as a QueryError with line and column."""
    text = str(exc)
    line = column = None
    if text.startswith("error at "):
        where, _, rest = text[len("error at "):].partition(": ")
        first, _, second = where.partition(":")
        if first.isdigit() and second.isdigit():
            line, column, text = int(first), int(second), rest
    # Oxigraph lists the expected character classes ("['%'], ['-' | '0' ..= '9' …]"): keep
    # the readable part of the message.
    text = text.splitlines()[0].split(", [")[0].split(" [")[0][:500]
    return QueryError(f"SPARQL syntax error: {text}", line=line, column=column)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_marker_file(folder: Path, marker: dict[str, Any]) -> None:
    """Write ``folder/MARKER_FILE`` atomically and durably."""
    path = folder / MARKER_FILE
    temp = path.with_suffix(".tmp")
    with open(temp, "w", encoding="utf-8") as fh:
        json.dump(marker, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, path)


def exchange_paths(a: Path, b: Path) -> None:
    """Swap two folders in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``).

    Where the kernel or file system cannot (other systems, some network file systems), fall
    back to two renames: ``b`` is missing for the instant between them, and a crash right
    there leaves the complete new store at ``a`` and the old one at ``b``'s backup name —
    :meth:`OxigraphStore._sweep` finishes the swap at the next open for writing.

    :raise OSError: the swap failed and nothing was changed.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = getattr(libc, "renameat2", None)
        if renameat2 is not None:
            renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                  ctypes.c_uint]
            at_cwd = -100
            if renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
                return
            code = ctypes.get_errno()
            if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
                raise OSError(code, os.strerror(code), str(b))
    # a is the new complete folder, b the live one: b -> backup, a -> b, backup -> a.
    backup = a.with_name(a.name + ".old")
    os.rename(b, backup)
    os.rename(a, b)
    os.rename(backup, a)


def take_lock(path: Path, *, exclusive: bool) -> IO[bytes] | None:
    """Take the advisory lock of the store folder ``path`` (see the module docstring).

    Returns the open lock file (closing it releases the lock), or None where there is nothing
    to lock: no ``fcntl``, or no folder yet for a reader (opening then says what is missing).
    Needs nothing of RocksDB, so a damaged store can be locked too.

    :raise StoreLocked: another process holds it.
    """
    if fcntl is None:
        return None
    if exclusive:
        path.mkdir(parents=True, exist_ok=True)
    elif not path.is_dir():
        return None
    handle = open(path / LOCK_FILE, "a+b")  # noqa: SIM115 - held for the handle's life
    try:
        fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        what = "written to" if not exclusive else "in use"
        raise StoreLocked(f"the Oxigraph store at {path} is {what} by another mckg "
                          "process; stop it or use another path") from None
    return handle


def move_aside(path: Path) -> Path:
    """Rename the store folder ``path`` to ``NAME.damaged-YYYYmmddTHHMMSS`` beside it (kept
    for inspection; nothing is deleted) and return the new path.

    :raise StoreLocked: another process uses the store.
    :raise StoreError: the folder cannot be renamed.
    """
    lock = take_lock(path, exclusive=True)
    try:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = path.with_name(f"{path.name}.damaged-{stamp}")
        suffix = 1
        while target.exists():
            target = path.with_name(f"{path.name}.damaged-{stamp}-{suffix}")
            suffix += 1
        os.rename(path, target)
        _fsync_dir(path.parent)
    except OSError as exc:
        raise StoreError(f"cannot move {path} aside: {exc}") from None
    finally:
        if lock is not None:
            lock.close()
    return target


class _LineCounter(io.RawIOBase):
    """A binary sink that keeps nothing but the number of lines written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.lines += bytes(data).count(b"\n")
        return len(data)


def read_marker_file(path: Path) -> dict[str, Any] | None:
    """The marker of the store folder ``path``, or None if absent or unreadable.

    A plain JSON file beside RocksDB's: readable even when the database is not.
    """
    try:
        value = json.loads((path / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def drop_update(graphs: Sequence[str]) -> str:
    """The SPARQL update dropping ``graphs`` and the copies of their triples in the merged
    default graph that no other named graph holds (see the module docstring)."""
    listed = ", ".join(_iri(g) for g in graphs)
    values = " ".join(_iri(g) for g in graphs)
    drops = " ; ".join(f"DROP SILENT GRAPH {_iri(g)}" for g in graphs)
    return ("DELETE { ?s ?p ?o } WHERE { VALUES ?g { " + values + " } GRAPH ?g { ?s ?p ?o } "
            "FILTER NOT EXISTS { GRAPH ?h { ?s ?p ?o } FILTER (?h NOT IN (" + listed + ")) } } ; "
            + drops)


class OxigraphEngine(Store):
    """Querying and filling a pyoxigraph ``Store`` (in memory or on disk; see subclasses)."""

    _store: ox.Store | None
    #: Queries without a dataset read the union of the named graphs instead of the merge
    #: materialized in the default graph: only for a store that holds no default-graph copies
    #: and no triple in two named graphs (then union and merge are the same set), which is
    #: what the in-memory serving copy keeps when it can (:meth:`MemoryStore.copy_of`).
    union_default: bool = False

    @property
    def native(self) -> ox.Store:
        """The pyoxigraph store (for benchmarks and loaders that stream natively).

        :raise StoreError: the store was closed.
        """
        if self._store is None:
            raise StoreError(f"{self.url} is closed")
        return self._store

    def _writable(self) -> None:
        """:raise StoreReadOnly: this handle may not write."""
        if self.read_only:
            raise StoreReadOnly("this store handle is read-only")

    def _failed(self, exc: BaseException, doing: str) -> StoreError:
        """The error for an engine failure while ``doing`` something (a store on disk says
        when its folder is damaged)."""
        return StoreError(f"{doing}: {exc}")

    # -- querying ------------------------------------------------------------------------
    def query(self, text: str, info: QueryInfo, *, dataset: QueryDataset | None = None,
              prefixes: Mapping[str, str] | None = None, limit: int | None = None,
              base_iri: str | None = None) -> NativeResult:
        """Evaluate natively; see the module docstring for how the dataset is chosen."""
        chosen = effective_dataset(info, dataset)
        kwargs: dict[str, Any] = {"prefixes": dict(prefixes or {})}
        if base_iri:
            kwargs["base_iri"] = base_iri
        store = self.native
        try:
            if chosen is not None and len(chosen.default_graphs) > 1:
                store = self._merged(chosen)
                kwargs["default_graph"] = [ox.DefaultGraph()]
                kwargs["named_graphs"] = [ox.NamedNode(g) for g in chosen.named_graphs]
            elif chosen is not None:
                kwargs["default_graph"] = [ox.NamedNode(g) for g in chosen.default_graphs]
                kwargs["named_graphs"] = [ox.NamedNode(g) for g in chosen.named_graphs]
            elif self.union_default:
                kwargs["use_default_graph_as_union"] = True
            answer = store.query(text, **kwargs)
        except SyntaxError as exc:
            raise _syntax_error(exc) from None
        except ValueError as exc:  # e.g. an invalid IRI in default-graph-uri
            raise QueryError(str(exc)) from None
        except ENGINE_ERRORS as exc:
            raise self._failed(exc, "the store failed") from None
        if isinstance(answer, ox.QueryBoolean):
            return NativeResult("ASK", boolean=bool(answer))
        if isinstance(answer, ox.QuerySolutions):
            return NativeResult("SELECT", solutions=answer, query_limit=info.limit)
        return NativeResult(info.form, triples=answer, query_limit=info.limit)

    def _merged(self, dataset: QueryDataset) -> ox.Store:
        """A temporary in-memory store whose default graph is the RDF merge of the dataset's."""
        temp = ox.Store()
        for graph in dataset.default_graphs:
            data = self.native.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
            if data:
                temp.load(data, ox.RdfFormat.N_TRIPLES, to_graph=ox.DefaultGraph())
        for graph in dataset.named_graphs:
            data = self.native.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
            if data:
                temp.load(data, ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph))
        return temp

    def update(self, text: str) -> None:
        """Run a SPARQL Update in one transaction (loading only)."""
        self._writable()
        try:
            self.native.update(text)
        except SyntaxError as exc:
            raise StoreInputError(f"update refused: {exc}") from None
        except ENGINE_ERRORS as exc:
            raise self._failed(exc, "update failed") from None

    # -- loading -------------------------------------------------------------------------
    def _drop(self, graphs: list[str]) -> None:
        """Drop ``graphs`` and their triples from the merged default graph, in one update."""
        if graphs:
            self.update(drop_update(graphs))

    def load_nquads(self, data: bytes, *, replace: Iterable[str] = ()) -> None:
        """Add the quads and their default-graph copies in one transaction.

        ``replace`` graphs are dropped first, in a transaction of their own.
        """
        self._writable()
        try:
            quads = list(ox.parse(data, ox.RdfFormat.N_QUADS))
        except SyntaxError as exc:
            raise StoreInputError(f"invalid N-Quads: {exc}") from None
        if any(isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
            raise StoreInputError("every triple must be in a named graph")
        self._drop(list(replace))
        self.extend(quads)

    def replace_graph(self, graph: str, data: bytes) -> None:
        """Replace ``graph`` by the N-Triples ``data`` and keep the merge in step, in one
        SPARQL update: Oxigraph applies a whole update in one transaction, all or nothing."""
        self._writable()
        try:
            triples = list(ox.parse(data, ox.RdfFormat.N_TRIPLES))
        except SyntaxError as exc:
            raise StoreInputError(f"invalid N-Triples: {exc}") from None
        body = (ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode("utf-8")
        name = _iri(graph)
        self.update(
            "DELETE { ?s ?p ?o } WHERE { GRAPH " + name + " { ?s ?p ?o } "
            "FILTER NOT EXISTS { GRAPH ?h { ?s ?p ?o } FILTER (?h != " + name + ") } } ; "
            "DROP SILENT GRAPH " + name + " ; "
            "INSERT DATA { GRAPH " + name + " {\n" + body + "}\n" + body + "}")

    def apply_change(self, removed: bytes, added: bytes, *, dropped: Iterable[str] = ()) -> None:
        """One SPARQL update, so one transaction: drop ``dropped`` (and their merge copies no
        other graph holds), delete ``removed``, then the merge copies of removed triples no
        graph still holds, and insert ``added`` with its merge copies."""
        self._writable()
        try:
            gone = list(ox.parse(removed, ox.RdfFormat.N_QUADS)) if removed else []
            new = list(ox.parse(added, ox.RdfFormat.N_QUADS)) if added else []
        except SyntaxError as exc:
            raise StoreInputError(f"invalid N-Quads: {exc}") from None
        drop = sorted(set(dropped))
        if any(isinstance(q.graph_name, ox.DefaultGraph) for q in (*gone, *new)):
            raise StoreInputError("every triple must be in a named graph")
        plain = [q for q in gone if q.graph_name.value not in drop]
        if any(_has_blank(q) for q in (*plain, *new)):
            raise StoreInputError("a change names blank nodes only in graphs it drops")
        ops: list[str] = []
        if drop:
            listed = ", ".join(_iri(g) for g in drop)
            ops.append("DELETE { ?s ?p ?o } WHERE { VALUES ?g { " + " ".join(_iri(g) for g in drop)
                       + " } GRAPH ?g { ?s ?p ?o } FILTER NOT EXISTS { GRAPH ?h { ?s ?p ?o } "
                       "FILTER (?h NOT IN (" + listed + ")) } }")
            ops.extend(f"DROP SILENT GRAPH {_iri(g)}" for g in drop)
        if plain:
            ops.append("DELETE DATA {\n" + "".join(
                f"GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} }}\n"
                for q in plain) + "}")
        rows = sorted({f"({q.subject} {q.predicate} {q.object})" for q in gone if not _has_blank(q)})
        if rows:
            ops.append("DELETE { ?s ?p ?o } WHERE { VALUES (?s ?p ?o) {\n" + "\n".join(rows)
                       + "\n} FILTER NOT EXISTS { GRAPH ?h { ?s ?p ?o } } }")
        if new:
            ops.append("INSERT DATA {\n" + "".join(
                f"GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} }}\n"
                f"{q.subject} {q.predicate} {q.object} .\n" for q in new) + "}")
        if ops:
            self.update(" ;\n".join(ops))

    def extend(self, quads: Iterable[ox.Quad]) -> None:
        """Add named-graph ``quads`` and their copies in the merged default graph, atomically."""

        def with_default(items: Iterable[ox.Quad]) -> Iterator[ox.Quad]:
            for quad in items:
                yield quad
                yield ox.Quad(quad.subject, quad.predicate, quad.object, ox.DefaultGraph())

        try:
            self.native.extend(with_default(quads))
        except ENGINE_ERRORS as exc:
            raise self._failed(exc, "load failed") from None

    def load_file(self, path: Path, *, graph: str) -> None:
        """Stream an RDF file in (triples into ``graph``), each quad with its merge copy.

        The file is parsed **once**: a blank node of the file is the same node in its named
        graph and in the merged default graph (parsing twice would mint two). Oxigraph's
        bulk loader is not transactional: callers remove the marker first
        (:mod:`mckg.store.provision` does), so an interrupted load is redone.

        :raise DataError: the file is missing or malformed (with its line).
        """

        self._writable()
        counts: dict[str, int] = {}
        # Ill-typed literals are counted, not logged: provisioning reported them when it
        # checked the file first (Store.file_graphs).
        quads = read_quads(path, format_for_path(path), graph=graph, counts=counts,
                           ill_typed=IllTypedLiterals())
        try:
            for batch in batched(quads, DEFAULT_BATCH):
                self.native.bulk_extend(quads_with_copies(batch))
        except ENGINE_ERRORS as exc:
            raise self._failed(exc, "load failed") from None

    def clear(self) -> None:
        """Remove every graph and the marker."""
        self.write_marker(None)
        try:
            self.native.clear()
        except ENGINE_ERRORS as exc:
            raise self._failed(exc, "clear failed") from None

    # -- describing ----------------------------------------------------------------------
    def read_all(self) -> int:
        """Read every statement once and return how many there are (with the merge's copies).

        A dump to nowhere: RocksDB checks the blocks it reads, so damage in them is found
        (:func:`mckg.store.provision.check`).

        :raise StoreError: the engine failed, e.g. the folder is damaged.
        """
        sink = _LineCounter()
        try:
            self.native.dump(output=sink, format=ox.RdfFormat.N_QUADS)
        except ENGINE_ERRORS as exc:
            raise self._failed(exc, "reading the store failed") from None
        return sink.lines

    def named_graphs(self) -> list[str]:
        """Named graphs holding at least one triple: from Oxigraph's registry of graphs, each
        checked for one quad (counting every triple per graph took 2 s at 2M triples)."""
        try:
            names = [g for g in self.native.named_graphs() if isinstance(g, ox.NamedNode)]
            return sorted(g.value for g in names
                          if next(iter(self.native.quads_for_pattern(None, None, None, g)),
                                  None) is not None)
        except ENGINE_ERRORS as exc:
            raise self._failed(exc, "the store failed") from None

    def counts(self) -> dict[str, int]:
        """Triples per named graph, counted natively."""
        try:
            answer = self.native.query(_COUNTS)
        except ENGINE_ERRORS as exc:
            raise self._failed(exc, "the store failed") from None
        assert isinstance(answer, ox.QuerySolutions)
        out: dict[str, int] = {}
        for row in answer:
            graph, count = row[0], row[1]
            if isinstance(graph, ox.NamedNode) and count is not None:
                out[graph.value] = int(count.value)
        return out


class OxigraphStore(OxigraphEngine):
    """A pyoxigraph ``Store`` on disk. ``read_only`` handles are what serving processes use."""

    kind = "oxigraph"

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False,
                 lock: bool = True) -> None:
        self.path = Path(path).expanduser()
        super().__init__(f"oxigraph:{self.path}", read_only=read_only)
        self._lock_file: IO[bytes] | None = None
        if lock:
            self._take_lock(exclusive=not read_only)
        try:
            if read_only:
                if not (self.path / "CURRENT").exists():
                    raise StoreMissing(f"no Oxigraph store at {self.path}")
                self._store: ox.Store | None = ox.Store.read_only(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                if lock:
                    self._sweep()
                self._store = ox.Store(str(self.path))
        except RuntimeError as exc:  # RocksDB: "Corruption: …" — a truncated or missing file
            self._release_lock()
            raise damaged(self.path, exc) from None
        except OSError as exc:
            self._release_lock()
            raise StoreError(f"cannot open the Oxigraph store at {self.path}: {exc}") from None
        except BaseException:
            self._release_lock()
            raise

    @classmethod
    def open_location(cls, location: str, *, read_only: bool = False,
                      update_url: str | None = None, timeout: float = 30.0) -> OxigraphStore:
        """Open (or, for writing, create) the store in the folder ``location``."""
        return cls(location, read_only=read_only)

    @classmethod
    def from_spec(cls, spec: StoreSpec) -> OxigraphStore:
        """Workers take no lock: the serving process holds the shared lock for them."""
        return cls(spec.location, read_only=True, lock=False)

    def _failed(self, exc: BaseException, doing: str) -> StoreError:
        if isinstance(exc, RuntimeError) and "Corruption" in str(exc):
            return damaged(self.path, exc)
        return super()._failed(exc, doing)

    # -- locking -------------------------------------------------------------------------
    def _take_lock(self, *, exclusive: bool) -> None:
        self._lock_file = take_lock(self.path, exclusive=exclusive)

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None

    def _staging_folders(self) -> list[Path]:
        pattern = f".{glob.escape(self.path.name)}{STAGING_INFIX}*"
        return sorted(self.path.parent.glob(pattern))

    def _sweep(self) -> None:
        """Remove what interrupted loads left beside the store (we hold the writer's lock).

        A staging folder is either an unfinished copy or, after a completed swap, the old
        store: neither is the live one, so both go. If the two-rename fallback of
        :func:`exchange_paths` was cut between its renames, the store folder is missing its
        database: the complete copy is moved back into place first.
        """
        for folder in self._staging_folders():
            if folder.name.endswith(".old") and not (self.path / "CURRENT").exists():
                ready = folder.with_name(folder.name[: -len(".old")])
                if (ready / "CURRENT").exists():
                    shutil.rmtree(self.path, ignore_errors=True)  # empty but for our lock
                    os.rename(ready, self.path)
                    self._release_lock()
                    self._take_lock(exclusive=True)
        for folder in self._staging_folders():
            shutil.rmtree(folder, ignore_errors=True)

    # -- loading -------------------------------------------------------------------------
    def load_batches(self, batches: Iterable[Sequence[ox.Quad]], *,
                     record: LoadRecord | None = None, drop: LoadDrop | None = None) -> None:
        """Bulk-load a checkpoint of the store, then swap it in (see the module docstring).

        Memory stays bounded by one batch; the graphs ``drop()`` names are dropped from the
        checkpoint before the swap; the store changes in one step at the end, or not
        at all. Needs the writer's lock (no server may be reading: it would keep serving the
        old folder) and room beside the store folder for the new table files.
        """

        if self.read_only or (self._lock_file is None and fcntl is not None):
            raise StoreReadOnly("a bulk load needs the store opened for writing, with its lock")
        self._sweep()
        staging = self.path.parent / f".{self.path.name}{STAGING_INFIX}{secrets.token_hex(6)}"
        try:
            self.native.flush()
            self.native.backup(str(staging))
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise StoreError(f"cannot make the staging copy {staging}: {exc}") from None
        lock: IO[bytes] | None = None
        try:
            copy: ox.Store | None = ox.Store(str(staging))
            assert copy is not None
            for batch in batches:
                copy.bulk_extend(quads_with_copies(batch))
            dropped = sorted(drop()) if drop is not None else []
            if dropped:
                copy.update(drop_update(dropped))
            copy.flush()
            copy = None  # closes the copy's RocksDB (pyoxigraph closes on release)
            marker = self.read_marker()
            if record is not None:
                marker = with_load(marker, record())
            if marker is not None:
                _write_marker_file(staging, marker)
            # Take the copy's lock before it becomes the store, so no other writer slips in
            # between the swap and this handle reopening.
            lock = open(staging / LOCK_FILE, "a+b")  # noqa: SIM115 - kept as the store's lock
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _fsync_dir(staging)
        except BaseException as exc:
            copy = None
            if lock is not None:
                lock.close()
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError):
                raise StoreError(f"load failed: {exc}") from None
            raise
        self._store = None  # close the live database before its folder moves
        try:
            exchange_paths(staging, self.path)
        except OSError as exc:
            lock.close()
            shutil.rmtree(staging, ignore_errors=True)
            self._store = ox.Store(str(self.path))
            raise StoreError(f"could not swap the loaded copy in: {exc}") from None
        _fsync_dir(self.path.parent)
        self._release_lock()  # the old folder's lock; the new one is held already
        self._lock_file = lock
        shutil.rmtree(staging, ignore_errors=True)  # the old store
        self._store = ox.Store(str(self.path))

    # -- persistence ---------------------------------------------------------------------
    def read_marker(self) -> dict[str, Any] | None:
        """The marker file's content, or None if absent or unreadable."""
        return read_marker_file(self.path)

    def write_marker(self, marker: dict[str, Any] | None) -> None:
        """Write (atomically, durably) or remove the marker file."""
        path = self.path / MARKER_FILE
        if marker is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        else:
            if self.read_only:
                raise StoreReadOnly("this store handle is read-only")
            self.native.flush()
            _write_marker_file(self.path, marker)
        _fsync_dir(self.path)

    # -- processes -----------------------------------------------------------------------
    def worker_spec(self) -> StoreSpec:
        """Workers open the same folder read-only (the serving process holds the shared lock)."""
        return StoreSpec("oxigraph", str(self.path))

    def close(self) -> None:
        """Drop the RocksDB handle (pyoxigraph closes it when the object goes) and the lock."""
        if self._store is not None and not self.read_only:
            with contextlib.suppress(OSError):
                self._store.flush()
        self._store = None
        self._release_lock()
