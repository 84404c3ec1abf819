"""The ``memory`` store: the Oxigraph engine in RAM, for tests, tiny graphs and one-off commands.

It is the same engine as ``oxigraph:PATH`` (:class:`~mckg.store.oxigraph.OxigraphEngine`), so a
query answers the same on both, byte for byte; only persistence differs. Nothing is kept after
the process ends, and the marker lives in the object.

The endpoint runs queries in worker processes that can be stopped at the time limit, forked
from one process holding the dataset (:mod:`mckg.query.holder`), which reads it from an N-Quads
dump written once (:meth:`MemoryStore.worker_spec`). ``mckg serve`` also serves an on-disk
store from such a copy (:meth:`MemoryStore.copy_of`) when it fits ``memory_budget``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from .base import StoreSpec
from .errors import StoreError
from .loading import LoadDrop, LoadRecord, quads_with_copies, with_load
from .oxigraph import OxigraphEngine, drop_update


class MemoryStore(OxigraphEngine):
    """An in-memory pyoxigraph ``Store``; its default graph is the merge of its named graphs."""

    kind = "memory"

    def __init__(self, *, url: str = "memory", read_only: bool = False,
                 native: ox.Store | None = None) -> None:
        super().__init__(url, read_only=read_only)
        self._store = native if native is not None else ox.Store()
        self._marker: dict[str, Any] | None = None
        self._dump_dir: Path | None = None

    @classmethod
    def open_location(cls, location: str, *, read_only: bool = False,
                      update_url: str | None = None, timeout: float = 30.0) -> MemoryStore:
        """A new, empty memory store (``memory`` has no location)."""
        return cls(read_only=read_only)

    @classmethod
    def from_spec(cls, spec: StoreSpec) -> MemoryStore:
        """A worker's copy, read from the dump :meth:`worker_spec` wrote."""
        return cls.from_nquads(Path(spec.location))

    @classmethod
    def from_nquads(cls, path: Path) -> MemoryStore:
        """Open a read-only store from an N-Quads dump of every graph (what workers do).

        The dump holds the merged default graph too, so it is loaded as it is.
        """
        native = ox.Store()
        try:
            native.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"cannot read the dataset dump {path}: {exc}") from None
        return cls(read_only=True, native=native)

    @classmethod
    def copy_of(cls, source: OxigraphEngine) -> MemoryStore:
        """A writable in-memory copy of ``source``'s named graphs and its marker, streamed
        quad by quad from engine to engine, never serialized.

        The merged default graph is left out when no triple is in two named graphs (the
        default graph then holds exactly as many triples as the named graphs together): the
        copy answers from the union of its named graphs (:attr:`union_default`), the same set,
        and Oxigraph is 10–40 % faster on a store without the copies (docs/benchmarks.md). With
        an overlap the copies are kept, as on disk, so that a shared triple counts once.

        :raise StoreError: the source failed while it was read.
        """
        native = ox.Store()
        merged = 0

        def named(quads: Iterable[ox.Quad]) -> Iterator[ox.Quad]:
            nonlocal merged
            for quad in quads:
                if isinstance(quad.graph_name, ox.DefaultGraph):
                    merged += 1
                else:
                    yield quad

        try:
            native.extend(named(source.native.quads_for_pattern(None, None, None, None)))
            disjoint = merged == len(native)
            if not disjoint:
                native.extend(source.native.quads_for_pattern(None, None, None,
                                                              ox.DefaultGraph()))
        except OSError as exc:
            raise StoreError(f"cannot copy {source.url} into memory: {exc}") from None
        copy = cls(native=native)
        copy.union_default = disjoint
        copy.write_marker(source.read_marker())
        return copy

    def extend(self, quads: Iterable[ox.Quad]) -> None:
        """Add named-graph ``quads`` atomically; in union mode without default-graph copies,
        unless one of them is already in another named graph: then the merge is materialized
        (union mode would count that triple twice)."""
        if not self.union_default:
            super().extend(quads)
            return
        items = list(quads)
        if any(isinstance(q.graph_name, ox.DefaultGraph) for q in items):
            raise StoreError("every triple must be in a named graph")
        shared = any(self._elsewhere(q) for q in items)
        try:
            self.native.extend(items)
        except OSError as exc:
            raise StoreError(f"load failed: {exc}") from None
        if shared:
            self._materialize()

    def _elsewhere(self, quad: ox.Quad) -> bool:
        """Whether ``quad``'s triple is already in another named graph."""
        return any(not isinstance(found.graph_name, ox.DefaultGraph)
                   and found.graph_name != quad.graph_name
                   for found in self.native.quads_for_pattern(quad.subject, quad.predicate,
                                                              quad.object, None))

    def _materialize(self) -> None:
        """Leave union mode: copy every named-graph triple into the default graph."""
        copies = [ox.Quad(q.subject, q.predicate, q.object)
                  for q in self.native.quads_for_pattern(None, None, None, None)
                  if not isinstance(q.graph_name, ox.DefaultGraph)]
        self.native.extend(copies)
        self.union_default = False

    def load_batches(self, batches: Iterable[Sequence[ox.Quad]], *,
                     record: LoadRecord | None = None, drop: LoadDrop | None = None) -> None:
        """Stage every batch in memory, then add them in one transaction (or nothing), and
        drop the graphs ``drop()`` names right after (nothing outlives the process)."""
        self._writable()
        staged: list[ox.Quad] = []
        for batch in batches:
            staged.extend(quads_with_copies(batch))
        dropped = sorted(drop()) if drop is not None else []
        try:
            self.native.extend(staged)
        except OSError as exc:
            raise StoreError(f"load failed: {exc}") from None
        if dropped:
            self.update(drop_update(dropped))
        if record is not None:
            self.write_marker(with_load(self.read_marker(), record()))

    def clear(self) -> None:
        """Forget every graph and the marker."""
        self._writable()
        self._store = ox.Store()
        self._marker = None

    # -- persistence ---------------------------------------------------------------------
    def read_marker(self) -> dict[str, Any] | None:
        """The marker of the last load in this process (memory does not persist)."""
        return dict(self._marker) if self._marker is not None else None

    def write_marker(self, marker: dict[str, Any] | None) -> None:
        """Remember ``marker`` for the life of the object."""
        self._marker = dict(marker) if marker is not None else None

    # -- processes -----------------------------------------------------------------------
    def worker_spec(self) -> StoreSpec:
        """Write the dataset once as N-Quads; each worker loads its own copy from it."""
        if self._dump_dir is None:
            self._dump_dir = Path(tempfile.mkdtemp(prefix="mckg-memory-"))
            path = self._dump_dir / "dataset.nq"
            self.native.dump(output=str(path), format=ox.RdfFormat.N_QUADS)
            os.chmod(path, 0o600)
        return StoreSpec("memory", str(self._dump_dir / "dataset.nq"))

    def close(self) -> None:
        """Remove the worker dump, if one was written."""
        if self._dump_dir is not None:
            shutil.rmtree(self._dump_dir, ignore_errors=True)
            self._dump_dir = None
