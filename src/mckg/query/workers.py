"""Running queries where they can really be stopped: a small pool of worker processes.

Oxigraph cannot interrupt a query once it runs, and a Python thread cannot be stopped. So
queries run in worker *processes* (spawn context: no inherited locks or threads), each holding
its own read-only handle on the store — the same Oxigraph folder opened read-only, or its own
copy of an in-memory store loaded from an N-Quads dump (docs/endpoint.md, "Running queries").
The request thread sends a job down a pipe and waits at most the time limit.
If no answer comes, the worker is killed (SIGKILL: nothing in a read-only worker can be left
half-written), a replacement starts in the background, and the request gets
:class:`QueryTimeout`; requests held by the other workers go on undisturbed.

Every loop is bounded: a worker retires after :data:`MAX_JOBS` jobs (which also caps slow
memory growth), waits for a free worker are bounded by the time limit, and starts by
``start_timeout``.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from ..store import open_spec
from ..store.base import QueryDataset, Store, StoreSpec
from ..store.errors import KINDS, StoreError
from ..store.results import serialize_result
from .check import inspect_query
from .info import QueryError, QueryInfo

log = logging.getLogger("mckg.query.workers")

#: Jobs a worker runs before it is replaced by a fresh process.
MAX_JOBS = 10_000


class PoolError(Exception):
    """The pool could not run a query. ``status`` is the HTTP status to answer."""

    status = 503

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        self.message = message
        self.retry_after = retry_after
        super().__init__(message)


class QueryTimeout(PoolError):
    """The query ran longer than the time limit and its worker was stopped."""


class PoolBusy(PoolError):
    """Every worker stayed busy for the whole time limit."""


class WorkerFailed(PoolError):
    """The worker died while running the query (a crash in the engine, out of memory)."""

    status = 500


@dataclass(frozen=True)
class QueryJob:
    """One query to run: what :func:`execute_job` needs, all picklable."""

    text: str
    info: QueryInfo
    media_type: str
    limit: int
    dataset: QueryDataset | None = None
    #: Resolves relative IRIs in the query (the endpoint's own URL).
    base_iri: str | None = None


@dataclass(frozen=True)
class JobResult:
    """A serialized answer and how long the worker took."""

    body: bytes
    media_type: str
    truncated: bool
    seconds: float


@dataclass(frozen=True)
class WorkerConfig:
    """What every worker needs besides its store."""

    prefixes: Mapping[str, str]
    context: Mapping[str, Any] | None = None
    max_jobs: int = MAX_JOBS


def execute_job(store: Store, job: QueryJob, config: WorkerConfig) -> JobResult:
    """Evaluate ``job`` on ``store`` and serialize its answer (in a worker or inline).

    :raise QueryError: the engine refused the query.
    :raise StoreError: the store failed.
    """

    started = time.perf_counter()
    result = store.query(job.text, job.info, dataset=job.dataset, prefixes=config.prefixes,
                         limit=job.limit, base_iri=job.base_iri)
    try:
        out = serialize_result(result, job.media_type, limit=job.limit,
                               prefixes=config.prefixes, context=config.context)
    except ValueError as exc:
        raise QueryError(str(exc), status=406) from None
    return JobResult(out.body, out.media_type, out.truncated, time.perf_counter() - started)


def _worker_main(spec: StoreSpec, config: WorkerConfig, conn: Connection) -> None:
    """A worker process: open the store, say ready, then answer jobs until told to stop."""

    try:
        store = open_spec(spec)

        warm = "ASK { ?s ?p ?o }"  # the first parse and query in a process are slow
        store.query(warm, inspect_query(warm), prefixes=config.prefixes)
    except BaseException as exc:  # report any start-up failure to the parent
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    for served in range(1, config.max_jobs + 1):
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the parent went away
        if job is None:
            return
        retire = served == config.max_jobs
        try:
            conn.send(("ok", execute_job(store, job, config), retire))
        except QueryError as exc:
            conn.send(("query-error", (exc.message, exc.status, exc.line, exc.column), retire))
        except StoreError as exc:
            conn.send(("store-error", (type(exc).__name__, exc.message), retire))
        except Exception as exc:  # a bug: log it here, report a 500 upstairs
            traceback.print_exc()
            conn.send(("bug", f"{type(exc).__name__}", retire))


@dataclass(eq=False)  # identity hashing: workers live in a set
class _Worker:
    process: BaseProcess
    conn: Connection
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def stop(self, *, kill: bool) -> None:
        """End the process: politely (None down the pipe) or with SIGKILL."""
        if not kill:
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
            self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        with contextlib.suppress(OSError):
            self.conn.close()


class WorkerPool:
    """``size`` worker processes answering queries, each stoppable by killing it."""

    def __init__(self, spec: StoreSpec, config: WorkerConfig, *, size: int = 2,
                 timeout: float = 30.0, start_timeout: float = 120.0) -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.spec = spec
        self.config = config
        self.size = size
        self.timeout = timeout
        self.start_timeout = start_timeout
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self.restarts = 0
        self.timeouts = 0

    # -- life cycle ----------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        """Start one worker and wait (bounded) until it has opened the store.

        :raise PoolError: it failed or took longer than ``start_timeout``.
        """
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(self.spec, self.config, child),
                                        daemon=True, name="mckg-query-worker")
        process.start()
        child.close()
        worker = _Worker(process, parent)
        if not parent.poll(self.start_timeout):
            worker.stop(kill=True)
            raise PoolError(f"a query worker did not start within {self.start_timeout:g} s")
        try:
            kind, detail = parent.recv()
        except (EOFError, OSError):
            worker.stop(kill=True)
            raise PoolError("a query worker died while starting") from None
        if kind != "ready":
            worker.stop(kill=True)
            raise PoolError(f"a query worker could not open the store: {detail}")
        with self._lock:
            self._all.add(worker)
        return worker

    def start(self) -> None:
        """Start every worker (in parallel) and wait until all are ready.

        :raise PoolError: a worker could not start.
        """
        results: list[_Worker | BaseException] = []

        def one() -> None:
            try:
                results.append(self._spawn())
            except BaseException as exc:  # collected and re-raised below
                results.append(exc)

        threads = [threading.Thread(target=one, daemon=True) for _ in range(self.size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.start_timeout + 10)
        errors = [r for r in results if isinstance(r, BaseException)]
        for item in results:
            if isinstance(item, _Worker):
                self._idle.put(item)
        if errors or len(results) < self.size:
            self.close()
            raise errors[0] if errors else PoolError("query workers did not start")
        log.info("%d query worker(s) ready (pids %s)", self.size,
                 ", ".join(str(w.pid) for w in self._all))

    def _discard(self, worker: _Worker, *, kill: bool) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.stop(kill=kill)

    def _replace(self, worker: _Worker, *, kill: bool) -> None:
        """Stop ``worker`` and start its replacement in the background."""
        self._discard(worker, kill=kill)
        self.restarts += 1

        def start_new() -> None:
            for attempt in range(3):  # bounded retries
                if self._closed.is_set():
                    return
                try:
                    fresh = self._spawn()
                except PoolError as exc:
                    log.error("replacing a query worker failed (attempt %d): %s", attempt + 1,
                              exc.message)
                    time.sleep(1 + attempt)
                    continue
                if self._closed.is_set():
                    self._discard(fresh, kill=False)
                else:
                    self._idle.put(fresh)
                return

        threading.Thread(target=start_new, daemon=True, name="mckg-worker-restart").start()

    def close(self) -> None:
        """Stop every worker. Idempotent."""
        self._closed.set()
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.stop(kill=False)

    @property
    def alive(self) -> int:
        """Workers currently running."""
        with self._lock:
            return sum(1 for w in self._all if w.process.is_alive())

    # -- running -------------------------------------------------------------------------
    def run(self, job: QueryJob) -> JobResult:
        """Run ``job`` on a free worker within the time limit.

        :raise QueryError: the query was refused by the engine (400/406).
        :raise StoreError: the store failed.
        :raise QueryTimeout: it ran past the limit (its worker was killed and replaced).
        :raise PoolBusy: no worker became free within the time limit.
        :raise WorkerFailed: the worker died.
        """
        if self._closed.is_set():
            raise PoolError("the server is shutting down")
        try:
            worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise PoolBusy(f"all {self.size} query workers stayed busy for {self.timeout:g} s; "
                           "try again later", retry_after=max(1, int(self.timeout))) from None
        try:
            worker.conn.send(job)
            if not worker.conn.poll(self.timeout):
                self.timeouts += 1
                log.warning("query exceeded %.1f s; stopping worker %s", self.timeout, worker.pid)
                self._replace(worker, kill=True)
                raise QueryTimeout(
                    f"the query ran longer than the time limit of {self.timeout:g} s and was "
                    "stopped; simplify it or add a LIMIT", retry_after=1)
            kind, payload, retire = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._replace(worker, kill=True)
            raise WorkerFailed("the query worker died while running the query") from None
        if retire:
            self._replace(worker, kill=False)
        else:
            self._idle.put(worker)
        if kind == "ok":
            assert isinstance(payload, JobResult)
            return payload
        if kind == "query-error":
            message, status, line, column = payload
            raise QueryError(message, status=status, line=line, column=column)
        if kind == "store-error":
            name, message = payload
            raise KINDS.get(name, StoreError)(message)
        raise WorkerFailed(f"internal error in the query worker ({payload})")
