"""The ``oxigraph:PATH`` store: a persistent on-disk Oxigraph (RocksDB) store, SPARQL in Rust.

Queries go to pyoxigraph as strings and their answers stay pyoxigraph objects until they are
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
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from ..sparql import QueryError, QueryInfo
from .base import QueryDataset, Store, StoreError, StoreSpec, effective_dataset
from .results import NativeResult

try:  # POSIX only; without it the lock is skipped
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MARKER_FILE = "mckg-store.json"
LOCK_FILE = "mckg-store.lock"

#: File types loaded by Oxigraph's own streaming parser; others go through rdflib's safe parsing
#: (JSON-LD contexts and RDF/XML entities need the guards of :mod:`mckg.rdfio`).
_NATIVE_FORMATS = {"nt": ox.RdfFormat.N_TRIPLES, "turtle": ox.RdfFormat.TURTLE,
                   "nquads": ox.RdfFormat.N_QUADS, "trig": ox.RdfFormat.TRIG}

_COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


def _iri(value: str) -> str:
    """An IRI as a SPARQL term, refusing characters that would break out of ``<…>``."""
    if any(c in value for c in '<>"{}|^`\\ \n\r\t'):
        raise StoreError(f"not a valid IRI: {value!r}", status=400)
    return f"<{value}>"


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


class OxigraphStore(Store):
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
                    raise StoreError(f"no Oxigraph store at {self.path}")
                self._store: ox.Store | None = ox.Store.read_only(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
        except OSError as exc:
            self._release_lock()
            raise StoreError(f"cannot open the Oxigraph store at {self.path}: {exc}") from None
        except BaseException:
            self._release_lock()
            raise

    # -- locking -------------------------------------------------------------------------
    def _take_lock(self, *, exclusive: bool) -> None:
        if fcntl is None:
            return
        if exclusive:
            self.path.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_dir():
            return  # nothing to protect yet; opening will fail with a clear message
        handle = open(self.path / LOCK_FILE, "a+b")  # noqa: SIM115 - held for the handle's life
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            what = "written to" if not exclusive else "in use"
            raise StoreError(f"the Oxigraph store at {self.path} is {what} by another mckg "
                             "process; stop it or use another path", status=503) from None
        self._lock_file = handle

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None

    @property
    def native(self) -> ox.Store:
        """The pyoxigraph store (for benchmarks and loaders that stream natively).

        :raise StoreError: the store was closed.
        """
        if self._store is None:
            raise StoreError(f"{self.url} is closed")
        return self._store

    # -- querying ------------------------------------------------------------------------
    def query(self, text: str, info: QueryInfo, *, dataset: QueryDataset | None = None,
              prefixes: Mapping[str, str] | None = None,
              limit: int | None = None) -> NativeResult:
        """Evaluate natively; see the module docstring for how the dataset is chosen."""
        chosen = effective_dataset(info, dataset)
        kwargs: dict[str, Any] = {"prefixes": dict(prefixes or {})}
        store = self.native
        try:
            if chosen is not None and len(chosen.default_graphs) > 1:
                store = self._merged(chosen)
                kwargs["default_graph"] = [ox.DefaultGraph()]
                kwargs["named_graphs"] = [ox.NamedNode(g) for g in chosen.named_graphs]
            elif chosen is not None:
                kwargs["default_graph"] = [ox.NamedNode(g) for g in chosen.default_graphs]
                kwargs["named_graphs"] = [ox.NamedNode(g) for g in chosen.named_graphs]
            answer = store.query(text, **kwargs)
        except SyntaxError as exc:
            raise _syntax_error(exc) from None
        except ValueError as exc:  # e.g. an invalid IRI in default-graph-uri
            raise QueryError(str(exc)) from None
        except OSError as exc:
            raise StoreError(f"the store failed: {exc}") from None
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
        if self.read_only:
            raise StoreError("this store handle is read-only", status=403)
        try:
            self.native.update(text)
        except SyntaxError as exc:
            raise StoreError(f"update refused: {exc}", status=400) from None
        except OSError as exc:
            raise StoreError(f"update failed: {exc}") from None

    # -- loading -------------------------------------------------------------------------
    def _drop(self, graphs: list[str]) -> None:
        """Drop ``graphs`` and their triples from the merged default graph, in one update."""
        if not graphs:
            return
        listed = ", ".join(_iri(g) for g in graphs)
        values = " ".join(_iri(g) for g in graphs)
        drops = " ; ".join(f"DROP SILENT GRAPH {_iri(g)}" for g in graphs)
        self.update(
            "DELETE { ?s ?p ?o } WHERE { VALUES ?g { " + values + " } GRAPH ?g { ?s ?p ?o } "
            "FILTER NOT EXISTS { GRAPH ?h { ?s ?p ?o } FILTER (?h NOT IN (" + listed + ")) } } ; "
            + drops)

    def load_nquads(self, data: bytes, *, replace: Iterable[str] = ()) -> None:
        """Add the quads and their default-graph copies in one transaction.

        ``replace`` graphs are dropped first, in a transaction of their own.
        """
        if self.read_only:
            raise StoreError("this store handle is read-only", status=403)
        try:
            quads = list(ox.parse(data, ox.RdfFormat.N_QUADS))
        except SyntaxError as exc:
            raise StoreError(f"invalid N-Quads: {exc}", status=400) from None
        if any(isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
            raise StoreError("every triple must be in a named graph", status=400)
        self._drop(list(replace))
        self.extend(quads)

    def extend(self, quads: Iterable[ox.Quad]) -> None:
        """Add named-graph ``quads`` and their copies in the merged default graph, atomically."""

        def with_default(items: Iterable[ox.Quad]) -> Iterator[ox.Quad]:
            for quad in items:
                yield quad
                yield ox.Quad(quad.subject, quad.predicate, quad.object, ox.DefaultGraph())

        try:
            self.native.extend(with_default(quads))
        except OSError as exc:
            raise StoreError(f"load failed: {exc}") from None

    def file_graphs(self, path: Path, *, graph: str) -> set[str]:
        """Parse ``path`` natively once, keeping nothing but the names of its graphs."""
        import gzip

        from ..rdfio import DataError, format_for_path

        fmt = format_for_path(path)
        native = _NATIVE_FORMATS.get(fmt.name)
        if native is None:
            return super().file_graphs(path, graph=graph)
        names: set[str] = set()
        opener = gzip.open if path.suffix.lower() == ".gz" else open
        try:
            with opener(path, "rb") as fh:
                for quad in ox.parse(fh, native, base_iri=path.resolve().as_uri()):
                    name = quad.graph_name
                    names.add(name.value if isinstance(name, ox.NamedNode) else graph)
        except SyntaxError as exc:
            raise DataError(str(path), str(exc).split(" (line")[0], exc.lineno) from None
        except OSError as exc:
            raise DataError(str(path), getattr(exc, "strerror", None) or str(exc)) from None
        return names or {graph}

    def load_file(self, path: Path, *, graph: str) -> None:
        """Stream N-Triples, Turtle, N-Quads or TriG (gzip too) with Oxigraph's bulk loader.

        Millions of triples load in seconds and bounded memory, where rdflib takes minutes
        and gigabytes (design notes). The bulk loader is not transactional: callers remove
        the marker first (:mod:`mckg.store.provision` does), so an interrupted load is redone.

        :raise DataError: the file is missing or malformed (with its line).
        """
        import gzip

        from ..rdfio import DataError, format_for_path

        fmt = format_for_path(path)
        native = _NATIVE_FORMATS.get(fmt.name)
        if native is None:
            super().load_file(path, graph=graph)
            return
        if self.read_only:
            raise StoreError("this store handle is read-only", status=403)
        target = ox.NamedNode(graph)
        # Named graph first, then the merged default graph (see the module docstring).
        destinations: list[ox.NamedNode | ox.DefaultGraph] = (
            [target, ox.DefaultGraph()] if not fmt.quads else [target])
        try:
            for destination in destinations:
                opener = gzip.open if path.suffix.lower() == ".gz" else open
                with opener(path, "rb") as fh:
                    self.native.bulk_load(fh, native, base_iri=path.resolve().as_uri(),
                                          to_graph=destination)
        except SyntaxError as exc:
            raise DataError(str(path), str(exc).split(" (line")[0], exc.lineno) from None
        except OSError as exc:
            raise DataError(str(path), getattr(exc, "strerror", None) or str(exc)) from None
        if fmt.quads:  # copy every graph the file named into the default graph
            graphs = [g for g in self.named_graphs()]
            self.update(" ; ".join(f"ADD SILENT {_iri(g)} TO DEFAULT" for g in graphs))

    def clear(self) -> None:
        """Remove every graph and the marker."""
        self.write_marker(None)
        try:
            self.native.clear()
        except OSError as exc:
            raise StoreError(f"clear failed: {exc}") from None

    # -- describing ----------------------------------------------------------------------
    def named_graphs(self) -> list[str]:
        """Named graphs holding at least one triple."""
        return sorted(self.counts())

    def counts(self) -> dict[str, int]:
        """Triples per named graph, counted natively."""
        try:
            answer = self.native.query(_COUNTS)
        except OSError as exc:
            raise StoreError(f"the store failed: {exc}") from None
        assert isinstance(answer, ox.QuerySolutions)
        out: dict[str, int] = {}
        for row in answer:
            graph, count = row[0], row[1]
            if isinstance(graph, ox.NamedNode) and count is not None:
                out[graph.value] = int(count.value)
        return out

    # -- persistence ---------------------------------------------------------------------
    def read_marker(self) -> dict[str, Any] | None:
        """The marker file's content, or None if absent or unreadable."""
        try:
            value = json.loads((self.path / MARKER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def write_marker(self, marker: dict[str, Any] | None) -> None:
        """Write (atomically, durably) or remove the marker file."""
        path = self.path / MARKER_FILE
        if marker is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        else:
            if self.read_only:
                raise StoreError("this store handle is read-only", status=403)
            self.native.flush()
            temp = path.with_suffix(".tmp")
            with open(temp, "w", encoding="utf-8") as fh:
                json.dump(marker, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temp, path)
        dir_fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

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
