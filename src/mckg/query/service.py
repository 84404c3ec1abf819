"""The query service behind the endpoint: check a query, run it where it can be stopped, count.

The web layer only speaks HTTP; everything about SPARQL is here or below: the size and depth
limits, the syntax / update / ``SERVICE`` checks of :func:`mckg.query.check.inspect_query` (run
for every store, before any engine sees the text), the output formats a query form allows, the
limits on answers (rows and bytes), and the choice of executor — a
:class:`~mckg.query.workers.WorkerPool` for local engines, the request thread for a remote
endpoint (its HTTP client enforces the time limit).

The executor also runs the slow part of the check, rdflib's parse (only for what the fast
lexical check cannot classify): in a worker, under the time limit, when there are workers.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Protocol

from rdflib import Graph, URIRef
from rdflib.namespace import VOID

from ..config import Settings
from ..dataset.metadata import dataset_iri
from ..rdf.files import project_context
from ..rdf.namespaces import rebase_prefixes
from ..store import Store, StoreError, open_store, outputs_for, serialize_result
from ..store.base import QueryDataset
from ..store.provision import ProvisionReport, provision
from ..store.results import UNLIMITED
from .answers import AnswerCache, digest
from .check import inspect_query
from .holder import LOAD_AT_START, LOAD_TIMEOUT, StoreHolder, estimated_bytes
from .info import QueryError, QueryInfo
from .workers import (
    JobResult,
    LaneLoad,
    Launcher,
    PoolError,
    QueryJob,
    SpawnLauncher,
    WorkerConfig,
    WorkerPool,
    execute_job,
    size_text,
)

log = logging.getLogger("mckg.query.service")

#: An absolute IRI: a scheme, then no character that IRIs exclude (RFC 3987).
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\]*$")


class Executor(Protocol):
    """Runs a :class:`QueryJob`, and the full check of a query, within the time limit."""

    def run(self, job: QueryJob) -> JobResult:
        """Run the job; raise the errors :meth:`WorkerPool.run` documents."""
        ...

    def inspect(self, text: str, allowlist: tuple[str, ...],
                known: tuple[tuple[str, str], ...] | None, *, client: str | None = None) -> QueryInfo:
        """The full check of :func:`mckg.query.parse.full_inspect`.

        :raise QueryError: the query is malformed or refused.
        """
        ...

    def close(self) -> None:
        """Release resources."""
        ...


class InlineExecutor:
    """Runs jobs in the calling thread: for stores whose client enforces the time limit.

    The full check runs here too, after the lexical limits of
    :func:`mckg.query.check.check_structure` (a remote store has no workers to run it in).
    """

    def __init__(self, store: Store, config: WorkerConfig) -> None:
        self.store = store
        self.config = config

    def run(self, job: QueryJob) -> JobResult:
        """Evaluate in this thread (the remote store's HTTP timeout bounds it)."""
        return execute_job(self.store, job, self.config)

    def inspect(self, text: str, allowlist: tuple[str, ...],
                known: tuple[tuple[str, str], ...] | None, *, client: str | None = None) -> QueryInfo:
        """Parse with rdflib in this thread."""
        from .parse import full_inspect

        return full_inspect(text, allowlist, known)

    def close(self) -> None:
        """Nothing to release: the store is closed by its owner."""


@dataclass(frozen=True)
class Answer:
    """A serialized query answer, ready for HTTP."""

    body: bytes
    media_type: str
    truncated: bool
    #: Seconds the engine took (the first time, for an answer from the cache).
    seconds: float
    #: Whether it came from the answer cache.
    cached: bool = False


class QueryService:
    """Checks and runs SPARQL queries against one store, and describes its dataset."""

    def __init__(self, settings: Settings, store: Store, executor: Executor, *,
                 report: ProvisionReport | None = None) -> None:
        self.settings = settings
        self.store = store
        self.executor = executor
        self.report = report
        self.prefixes: Mapping[str, str] = rebase_prefixes(settings.base)
        #: The project's JSON-LD context, for compacting JSON-LD output.
        self.json_ld_context: dict[str, Any] = project_context()["@context"]
        self._counts: dict[str, int] | None = None
        self._triples: int | None = None
        self._described: tuple[Graph, list[str]] | None = None
        self.answers: AnswerCache[Answer] = AnswerCache(settings.answer_cache
                                                        if store.stable else 0)
        self._write_lock = threading.Lock()
        self._writes = 0
        # What the store holds, as its marker says (the fingerprint of the build and every
        # load), and how long its audit trail is (every curated write lengthens it): the same
        # data gives the same version, across restarts too.
        self._base_version = digest(store.url, store.read_marker(), repr(settings),
                                    _audited(store, settings) if store.stable else 0)

    @property
    def version(self) -> str | None:
        """A token that changes whenever the served data may have changed; None for a store
        others can change behind our back (a remote endpoint), which is never cached.

        Answers are cached, and entity tags derived, under it (:mod:`mckg.query.answers`).
        """
        if not self.store.stable:
            return None
        return f"{self._base_version}.{self._writes}"

    @classmethod
    def open(cls, settings: Settings, *, store_url: str | None = None,
             workers: bool = True) -> QueryService:
        """Provision the store, start the executor, warm the parser up.

        :raise DataError: a data file is malformed.
        :raise StoreError: the store cannot be opened or loaded.
        :raise PoolError: the query workers could not start.
        """
        # Empty means memory for the library (tests, other WSGI servers); ``mckg serve``
        # resolves its own default, a persistent Oxigraph store (config.Settings.store).
        url = store_url if store_url is not None else (settings.store or "memory")
        store, report = provision(settings, url)
        if settings.tokens and store.read_only and store.kind == "oxigraph":
            # Curation is on (docs/curation.md): this process writes, so it holds the store
            # read-write, and with it the writer's lock (no other writer while it serves).
            store.close()
            store = open_store(url, update_url=settings.update_url or None,
                               timeout=settings.query_timeout)
        config = WorkerConfig(prefixes=rebase_prefixes(settings.base),
                              context=project_context()["@context"],
                              memory=settings.worker_memory)
        executor: Executor
        try:
            if workers and store.needs_workers:
                executor = _start_pool(settings, store, config)
            else:
                executor = InlineExecutor(store, config)
        except BaseException:
            store.close()
            raise
        service = cls(settings, store, executor, report=report)
        service.check("ASK { ?s ?p ?o }")  # the first SPARQL parse in a process is slow
        # Counted now, in one thread: rdflib's engine must not run in request threads.
        service.counts()
        service.triple_count()
        service.dataset_description()
        return service

    @classmethod
    def inline(cls, settings: Settings, store: Store) -> QueryService:
        """A service that runs queries in the calling thread, on an open ``store``.

        For the command line, tests and library use, where the caller is the one waiting:
        the same checks and engine as the endpoint, no worker processes.
        """
        config = WorkerConfig(prefixes=rebase_prefixes(settings.base),
                              context=project_context()["@context"])
        return cls(settings, store, InlineExecutor(store, config))

    # -- queries -------------------------------------------------------------------------
    def check(self, text: str, *, thorough: bool = False, client: str | None = None) -> QueryInfo:
        """Refuse what must not run, before any engine sees it.

        ``thorough`` parses with rdflib even when the engine would report syntax errors
        itself (for answers that no engine produces, like the query page). rdflib's parse
        runs in a worker (:meth:`Executor.inspect`); ``client`` is who asked, for the
        workers' accounting.

        :raise QueryError: 413 too long; 400 nested too deep, malformed (with line and
            column), or an update sent as a query; 403 ``SERVICE`` to an endpoint not on the
            allow-list.
        :raise PoolError: the full check ran past the time limit, or found no free worker.
        """
        if len(text.encode("utf-8")) > self.settings.max_query_bytes:
            raise QueryError(f"the query is longer than the limit of "
                             f"{self.settings.max_query_bytes} bytes", status=413)
        if not text.strip():
            raise QueryError("the query is empty")
        return inspect_query(text, service_allowlist=self.settings.service_allowlist,
                             prefixes=self.prefixes,
                             fast=self.store.checks_syntax and not thorough,
                             full=partial(self.executor.inspect, client=client))

    @staticmethod
    def outputs(info: QueryInfo) -> tuple[str, ...]:
        """Media types an answer to ``info``'s query form can be written in, preferred first."""
        return outputs_for(info.form)

    def run(self, text: str, info: QueryInfo, media_type: str,
            dataset: QueryDataset | None = None, *, base_iri: str | None = None,
            limit: int | None = None, client: str | None = None) -> Answer:
        """Run a checked query and serialize its answer as ``media_type``.

        ``limit`` marks the server's own queries (its pages): it replaces the configured
        result limit, answers are not cut at ``result_bytes`` (a page needs whole answers)
        and they run in the workers' reserved lane. Strangers' queries get the public limits;
        ``client`` is who asked, for the workers' accounting of deaths.

        A graph named more than once (``FROM``, ``FROM NAMED``, ``default-graph-uri``,
        ``named-graph-uri``) is named once: naming one graph 500 times took 29 s, and twice
        duplicated its blank nodes in the merge.

        :raise QueryError: the engine refused it.
        :raise StoreError: the store failed.
        :raise PoolError: time or memory limit (503), all workers busy (503), a worker
            crashed (400) or died (500), a client whose queries keep killing workers (429).
        """
        if dataset is not None:
            for iri in (*dataset.default_graphs, *dataset.named_graphs):
                if not _ABSOLUTE_IRI.match(iri):
                    raise QueryError(f"not an absolute IRI: {iri!r} (default-graph-uri and "
                                     "named-graph-uri take graph IRIs)")
            dataset = QueryDataset(_once(dataset.default_graphs), _once(dataset.named_graphs))
        resolved = info.resolved(base_iri)
        resolved = replace(resolved, from_graphs=_once(resolved.from_graphs),
                           from_named=_once(resolved.from_named))
        own = limit is not None
        job = QueryJob(text=text, info=resolved, media_type=media_type,
                       limit=limit or self.settings.result_limit, dataset=dataset,
                       base_iri=base_iri,
                       max_bytes=UNLIMITED if own else self.settings.result_bytes,
                       own=own, client=client)
        version = self.version
        key = ""
        if version is not None and self.answers.enabled:
            key = digest(version, text, dataset, media_type, job.limit, job.max_bytes, base_iri)
            cached = self.answers.get(key)
            if cached is not None:
                return replace(cached, cached=True)
        result = self.executor.run(job)
        answer = Answer(result.body, result.media_type, result.truncated, result.seconds)
        if key:
            self.answers.put(key, answer, len(answer.body))
        return answer

    def load(self) -> dict[str, LaneLoad]:
        """How busy the workers' lanes are (``general``, ``reserved``); empty without workers.

        For the web layer, to turn work away before it queues for a worker.
        """
        return self.executor.load() if isinstance(self.executor, WorkerPool) else {}

    # -- writes --------------------------------------------------------------------------
    def load_nquads(self, data: bytes, *, replace: Iterable[str] = ()) -> None:
        """Add N-Quads to the served data, replacing the named graphs ``replace``.

        The durable store is written first; then the in-memory copy the workers are forked
        from, if they read from one; then every worker is replaced as it becomes free
        (workers hold read-only snapshots), and the version moves on, which empties the
        answer cache and changes every entity tag. Writers are serialised.

        :raise StoreError: the store refused the data (then nothing changed).
        :raise PoolError: the in-memory copy could not follow (the durable store has the
            data; the workers answer from disk until a restart).
        """
        graphs = tuple(replace)
        self._write(partial(self.store.load_nquads, data, replace=graphs), lambda: (data, graphs))

    def apply_change(self, removed: bytes, added: bytes, *,
                     dropped: Iterable[str] = ()) -> tuple[bytes, tuple[str, ...]]:
        """Change the served data quad by quad (curation, :mod:`mckg.curation`): drop the
        graphs ``dropped``, remove the N-Quads ``removed``, add ``added`` — in one transaction
        of the durable store (:meth:`Store.apply_change`), then as :meth:`load_nquads` does.

        The in-memory copy can only add quads and replace whole graphs, so every graph that
        loses quads is sent to it whole, as the durable store now holds it (same blank node
        labels); graphs that only gain quads get the new quads. Returns that (N-Quads, graphs
        replaced), for other copies to follow the same way.

        :raise StoreError: the store refused the change (then nothing changed).
        :raise PoolError: the in-memory copy could not follow (as :meth:`load_nquads`).
        """
        drop = tuple(dropped)
        follow: list[tuple[bytes, tuple[str, ...]]] = []

        def followed() -> tuple[bytes, tuple[str, ...]]:
            if not follow:
                follow.append(_following(self.store, removed, added, drop))
            return follow[0]

        self._write(partial(self.store.apply_change, removed, added, dropped=drop), followed)
        return followed()

    def _write(self, durable: Callable[[], None],
               follow: Callable[[], tuple[bytes, tuple[str, ...]]]) -> None:
        """The one write path: ``durable()`` writes the store; then the in-memory copy loads
        ``follow()`` (N-Quads, graphs it replaces), the workers are replaced, the version
        moves on. Serialised by the write lock."""
        with self._write_lock:
            durable()  # refused: nothing changed anywhere
            try:
                if isinstance(self.executor, WorkerPool):
                    data, graphs = follow()
                    self._follow(self.executor, data, graphs)
            finally:
                self._changed()

    def _follow(self, pool: WorkerPool, data: bytes, graphs: tuple[str, ...]) -> None:
        """Bring the workers to what the durable store now holds."""
        launcher = pool.launcher
        if isinstance(launcher, StoreHolder):
            try:
                launcher.apply(data, replace=graphs)
            except PoolError as exc:
                if self.store.kind != "oxigraph":
                    raise
                log.error("%s; answering from disk", exc.message)
                pool.switch(SpawnLauncher(self.store.worker_spec()))
                raise
        pool.refresh()

    def _changed(self) -> None:
        """The data changed: a new version, no cached answer or count from before."""
        self._writes += 1
        self.answers.clear()
        self._counts = self._triples = None
        self._described = None

    # -- the dataset ---------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Triples per named graph (computed once: the served store does not change)."""
        if self._counts is None:
            self._counts = self.store.counts()
        return dict(self._counts)

    def triple_count(self) -> int:
        """Triples in the default graph, the merge of all named graphs (computed once)."""
        if self._triples is None:
            self._triples = self.store.triple_count()
        return self._triples

    def dataset_description(self) -> tuple[Graph, list[str]]:
        """The dataset's own description from the data, and example resources that exist.

        Read once, at start-up, straight from the store (not through the workers).
        """
        if self._described is None:
            ds = dataset_iri(self.settings.base)
            text = f"CONSTRUCT {{ <{ds}> ?p ?o }} WHERE {{ <{ds}> ?p ?o }}"
            result = self.store.query(text, inspect_query(text), prefixes=self.prefixes)
            nt = serialize_result(result, "application/n-triples", limit=10_000).body
            graph = Graph()
            graph.parse(data=nt, format="nt")
            examples = [str(o) for o in graph.objects(URIRef(ds), VOID.exampleResource)]
            for candidate in (f"{self.settings.base}id/country/ES", f"{self.settings.base}def#Finding"):
                ask = f"ASK {{ <{candidate}> ?p ?o }}"
                if candidate not in examples and self.store.query(ask, inspect_query(ask)).boolean:
                    examples.append(candidate)
            self._described = (graph, examples)
        return self._described

    def close(self) -> None:
        """Stop the executor, then close the store."""
        self.executor.close()
        self.store.close()


def _start_pool(settings: Settings, store: Store, config: WorkerConfig) -> WorkerPool:
    """Start the query workers, reading from memory whenever the dataset fits the budget.

    A memory store is served from its copy in the holder. An on-disk store is copied into
    memory if its estimated size fits ``memory_budget``: at once if it is small, otherwise in
    the background while workers answer from disk, so that a restart answers within seconds
    and moves to memory when the copy is ready (docs/endpoint.md, "Serving from memory").

    :raise PoolError: the workers could not start.
    """
    spec = store.worker_spec()
    quads = store.triple_count() + sum(store.counts().values())
    needed = estimated_bytes(quads)
    holder = StoreHolder(spec, config, fallback=SpawnLauncher(spec),
                         budget=settings.memory_budget,
                         workers=settings.query_workers + settings.reserved_workers)

    def pool_with(launcher: Launcher) -> WorkerPool:
        return WorkerPool(launcher, config, size=settings.query_workers,
                          reserved=settings.reserved_workers, timeout=settings.query_timeout,
                          queue_wait=settings.queue_wait)

    if spec.kind == "memory" or (needed <= settings.memory_budget and quads <= LOAD_AT_START):
        try:
            _loaded(holder, quads, needed)
            pool = pool_with(holder)
        except PoolError as exc:
            holder.close()
            if spec.kind == "memory":
                raise
            log.error("%s; serving from disk", exc.message)
            pool = pool_with(SpawnLauncher(spec))
        pool.start()
        return pool
    pool = pool_with(SpawnLauncher(spec))
    pool.start()
    if needed > settings.memory_budget:
        log.warning("serving from disk: the dataset (%d quads, about %s in memory) is larger than "
                    "memory_budget (%s)", quads, size_text(needed), size_text(settings.memory_budget))
        return pool

    def copy_then_switch() -> None:
        try:
            _loaded(holder, quads, needed)
        except PoolError as exc:
            holder.close()
            log.error("%s; serving from disk", exc.message)
            return
        pool.switch(holder)

    log.info("answering from disk while %d quads are copied into memory", quads)
    threading.Thread(target=copy_then_switch, daemon=True, name="mckg-memory-copy").start()
    return pool


def _loaded(holder: StoreHolder, quads: int, needed: int) -> None:
    """Start ``holder`` and log what it holds. :raise PoolError: it failed."""
    info = holder.start(timeout=LOAD_TIMEOUT)
    log.info("in-memory copy of the store loaded: %d quads in %.1f s, %s resident "
             "(estimated %s); %s", info.quads, info.seconds,
             size_text(info.rss) if info.rss else "?", size_text(needed),
             "the default graph is the union of the named graphs (no triple is in two)"
             if info.union else "the merged default graph is kept (a triple is in two graphs)")


def _audited(store: Store, settings: Settings) -> int:
    """Triples in the audit trail of curated writes (0 if the store cannot tell)."""
    text = (f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{settings.base}graph/audit> "
            "{ ?s ?p ?o } }")
    try:
        return int(store.query(text, inspect_query(text)).single_value() or 0)
    except (StoreError, QueryError):
        return 0


def _following(store: Store, removed: bytes, added: bytes,
               dropped: tuple[str, ...]) -> tuple[bytes, tuple[str, ...]]:
    """What a copy that only adds quads and replaces graphs must load to follow a change
    ``store`` has committed (:meth:`QueryService.apply_change`)."""
    import pyoxigraph as ox

    from ..store.oxigraph import OxigraphEngine

    if not isinstance(store, OxigraphEngine):
        raise StoreError(f"{store.kind} stores are not followed by an in-memory copy")
    replaced = set(dropped) | {q.graph_name.value
                               for q in ox.parse(removed, ox.RdfFormat.N_QUADS)} if removed \
        else set(dropped)
    quads = [q for name in sorted(replaced)
             for q in store.native.quads_for_pattern(None, None, None, ox.NamedNode(name))]
    if added:
        quads += [q for q in ox.parse(added, ox.RdfFormat.N_QUADS)
                  if q.graph_name.value not in replaced]
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"", tuple(sorted(replaced))


def _once(iris: Iterable[str]) -> tuple[str, ...]:
    """``iris`` without repeats, in their order."""
    return tuple(dict.fromkeys(iris))


def query_store(store: Store, settings: Settings, text: str, *,
                results: str = "application/sparql-results+json", graphs: str = "text/turtle",
                inferred: bool = True) -> tuple[QueryInfo, Answer]:
    """Check and run ``text`` on ``store`` as the endpoint does, in this thread (``mckg query``).

    The answer is written as ``results`` (SELECT, ASK) or ``graphs`` (CONSTRUCT, DESCRIBE).
    No result limit and no time limit: whoever calls this is the one waiting. With
    ``inferred=False`` the graph of OWL RL inferences is left out of the dataset (a store keeps
    the inferences it was loaded with), unless the query names its own dataset with ``FROM``.

    :raise QueryError: the query is refused or fails.
    :raise StoreError: the store failed.
    """
    service = QueryService.inline(settings.with_(result_limit=2**62, result_bytes=UNLIMITED),
                                  store)
    info = service.check(text)
    dataset = None
    inferred_graph = f"{settings.base}graph/inferred"
    if not inferred and not info.dataset_clause:
        present = store.named_graphs()
        if inferred_graph in present:
            kept = tuple(g for g in present if g != inferred_graph)
            dataset = QueryDataset(kept, kept)
    media_type = results if info.form in ("SELECT", "ASK") else graphs
    return info, service.run(text, info, media_type, dataset)
