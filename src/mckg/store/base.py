"""The one store interface every backend implements, and what they share.

A store holds an RDF dataset. Its contract, the same on every backend so that no query has to
change when a deployment grows (docs/endpoint.md, Stores):

- every triple lives in a **named graph**; for queries the **default graph is the RDF merge of
  all named graphs** (a set: a triple in two graphs counts once, as SPARQL 1.1 §13 requires);
- a query may restrict the dataset with ``FROM``/``FROM NAMED`` or with the protocol's
  ``default-graph-uri``/``named-graph-uri`` (:class:`QueryDataset`); the protocol wins;
- ``load_*`` replaces or adds graphs in one transaction where the backend has them; ``update``
  exists for loading only and is never reachable from the HTTP endpoint;
- a small **marker** records what was loaded, so that a persistent store is not rebuilt on
  every start.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import pyoxigraph as ox
from rdflib import Dataset

from ..query.check import inspect_query
from ..query.info import QueryInfo
from ..rdf.files import format_for_path
from .errors import StoreError
from .loading import LoadDrop, LoadRecord, read_quads
from .results import NativeResult


@dataclass(frozen=True)
class QueryDataset:
    """An RDF dataset named in a protocol request (SPARQL 1.1 Protocol §2.1.4).

    When either list is non-empty the dataset consists of exactly these graphs: the default
    graph is the merge of ``default_graphs`` (empty if none) and only ``named_graphs`` are
    visible to ``GRAPH``. It overrides the query's own ``FROM``/``FROM NAMED``.
    """

    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()

    @property
    def given(self) -> bool:
        """True when the request names any graph."""
        return bool(self.default_graphs or self.named_graphs)


def effective_dataset(info: QueryInfo, dataset: QueryDataset | None) -> QueryDataset | None:
    """The dataset a query really runs on: the protocol's, else its ``FROM`` clauses, else None.

    None means the store's own dataset (default graph = merge of all named graphs).
    """
    if dataset is not None and dataset.given:
        return dataset
    if info.dataset_clause:
        return QueryDataset(info.from_graphs, info.from_named)
    return None


@dataclass(frozen=True)
class StoreSpec:
    """A picklable description from which a worker process opens its own read-only handle."""

    kind: str
    location: str
    options: Mapping[str, Any] = field(default_factory=dict)


class Store(ABC):
    """An RDF dataset that can be loaded, queried and counted. Use as a context manager."""

    #: Short name of the backend (``memory``, ``oxigraph``, ``sparql``).
    kind: ClassVar[str]
    #: Whether queries should run in killable worker processes (local engines cannot be
    #: interrupted in-process; a remote endpoint is stopped by closing the connection).
    needs_workers: ClassVar[bool] = True
    #: Whether the engine reports syntax errors itself, with line and column — then the
    #: service may skip rdflib's slow parse for plain queries (:func:`mckg.query.check.quick_inspect`).
    checks_syntax: ClassVar[bool] = True
    #: Whether only this process changes the data while it serves it (a local store it has
    #: opened), so that answers may be cached by version; a remote endpoint is not.
    stable: ClassVar[bool] = True

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only

    # -- querying ------------------------------------------------------------------------
    @abstractmethod
    def query(self, text: str, info: QueryInfo, *, dataset: QueryDataset | None = None,
              prefixes: Mapping[str, str] | None = None, limit: int | None = None,
              base_iri: str | None = None) -> NativeResult:
        """Evaluate a checked query (see :func:`mckg.query.check.inspect_query`) natively.

        ``limit`` lets a backend that converts rows itself stop early; the serializer
        applies the result limit in any case. ``base_iri`` resolves relative IRIs in the
        query (the endpoint passes its own URL, as SPARQL 1.1 Query §4.1.1 allows).

        :raise QueryError: the engine refused the query (syntax it alone rejects, a type error).
        :raise StoreError: the store failed.
        """

    @abstractmethod
    def update(self, text: str) -> None:
        """Run a SPARQL Update. For loading only: the endpoint never calls it.

        :raise StoreError: the store is read-only or refused the update.
        """

    # -- loading -------------------------------------------------------------------------
    @abstractmethod
    def load_nquads(self, data: bytes, *, replace: Iterable[str] = ()) -> None:
        """Add the N-Quads ``data``; first drop the graphs named in ``replace``.

        Every quad must be in a named graph (see the module docstring). The data is parsed
        completely before anything changes, so a syntax error leaves the store as it was.

        :raise StoreError: the data is invalid, has default-graph quads, or the store failed.
        """

    def load_dataset(self, dataset: Dataset, *, replace: Iterable[str] = ()) -> None:
        """Add every named graph of an rdflib ``dataset`` (see :meth:`load_nquads`)."""
        data = dataset.serialize(format="nquads", encoding="utf-8")
        self.load_nquads(data if isinstance(data, bytes) else data.encode("utf-8"),
                         replace=replace)

    def file_graphs(self, path: Path, *, graph: str) -> set[str]:
        """Check that ``path`` parses and return the graphs :meth:`load_file` would fill.

        Called before anything changes, so a malformed file leaves the store as it was.

        :raise DataError: the file is missing or malformed.
        """
        counts: dict[str, int] = {}
        for _ in read_quads(path, format_for_path(path), graph=graph, counts=counts):
            pass
        return set(counts) or {graph}

    def load_file(self, path: Path, *, graph: str) -> None:
        """Load an RDF file: triples into ``graph``, quads (TriG, N-Quads) into their graphs.

        Read by :func:`mckg.store.loading.read_quads` (streaming where it can, no fetching,
        file:line errors); stores with a faster native path override this.

        :raise DataError: the file is missing or malformed.
        """
        quads = read_quads(path, format_for_path(path), graph=graph, counts={})
        self.load_nquads(ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"")

    def replace_graph(self, graph: str, data: bytes) -> None:
        """Make the named graph ``graph`` hold exactly the N-Triples ``data``, atomically.

        Readers see the old graph or the new one, never a mix or an empty graph in between
        (``load_nquads(..., replace=...)`` drops first, in a transaction of its own). The
        merged default graph follows. Backends that cannot do it in one transaction refuse.

        :raise StoreError: the data is invalid, or the store cannot replace atomically.
        """
        raise StoreError(f"{self.kind} stores cannot replace a graph in one transaction")

    def apply_change(self, removed: bytes, added: bytes, *, dropped: Iterable[str] = ()) -> None:
        """Drop the graphs ``dropped``, remove the N-Quads ``removed`` and add ``added``, in one
        transaction, keeping the merged default graph in step (curation's writes).

        ``removed`` and ``added`` hold no blank nodes outside ``dropped`` graphs (a request
        cannot name a stored blank node); backends that cannot do it atomically refuse.

        :raise StoreError: the data is invalid, or the store cannot change atomically.
        """
        raise StoreError(f"{self.kind} stores cannot apply a change in one transaction")

    @abstractmethod
    def load_batches(self, batches: Iterable[Sequence[ox.Quad]], *,
                     record: LoadRecord | None = None, drop: LoadDrop | None = None) -> None:
        """Add every quad of every batch in **one transaction**: all of them, or none.

        Quads are in named graphs; the store keeps its merged default graph in step. If
        iterating ``batches`` raises (a malformed line half-way through a file), or the
        process dies, the store is left exactly as it was. Once every batch is read, the
        graphs ``drop()`` names are dropped in the same transaction, with their copies in the
        merged default graph that no other graph holds (a real ESCO release superseding the
        bundled sample); then ``record()`` is appended to the marker's ``loads`` together with
        the data (:func:`mckg.store.loading.with_load`).

        :raise StoreError: the store refused the data.
        """

    @abstractmethod
    def clear(self) -> None:
        """Remove every graph (and the marker)."""

    # -- describing ----------------------------------------------------------------------
    @abstractmethod
    def named_graphs(self) -> list[str]:
        """IRIs of the named graphs that hold data, sorted."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Triples per named graph IRI."""

    def triple_count(self) -> int:
        """Triples in the default graph (the merge: a triple in two graphs counts once)."""

        text = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        result = self.query(text, inspect_query(text))
        return int(result.single_value() or 0)

    # -- persistence ---------------------------------------------------------------------
    @abstractmethod
    def read_marker(self) -> dict[str, Any] | None:
        """Return what the last complete load recorded, or None (empty or half-loaded store)."""

    @abstractmethod
    def write_marker(self, marker: dict[str, Any] | None) -> None:
        """Record ``marker`` (None removes it). Written last by a load, removed first."""

    # -- opening -------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def open_location(cls, location: str, *, read_only: bool = False,
                      update_url: str | None = None, timeout: float = 30.0) -> Store:
        """Open the store at ``location`` (the part of the store URL after its kind).

        :raise StoreError: it cannot be opened.
        """

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: StoreSpec) -> Store:
        """Open a read-only handle in a worker process from :meth:`worker_spec`'s answer."""

    # -- processes -----------------------------------------------------------------------
    @abstractmethod
    def worker_spec(self) -> StoreSpec:
        """How a worker process opens its own read-only handle on this store."""

    def close(self) -> None:  # noqa: B027 - optional hook: most stores hold nothing to release
        """Release the store. Idempotent."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}{' (read-only)' if self.read_only else ''}>"
