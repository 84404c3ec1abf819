"""Running queries where they can really be stopped: a small pool of worker processes.

Oxigraph cannot interrupt a query once it runs, and a Python thread cannot be stopped. So
queries run in worker *processes* (spawn context: no inherited locks or threads), each holding
its own read-only handle on the store — the same Oxigraph folder opened read-only, or its own
copy of an in-memory store loaded from an N-Quads dump (docs/endpoint.md, "Running queries").
The request thread sends a job down a pipe and waits at most the time limit.
If no answer comes, the worker is killed (SIGKILL: nothing in a read-only worker can be left
half-written), a replacement starts in the background, and the request gets
:class:`QueryTimeout`; requests held by the other workers go on undisturbed.

**What a worker may use.** A worker evaluates in a thread with a :data:`WORKER_STACK` stack
and a raised recursion limit (Oxigraph's parser and planner and rdflib's parser recurse per
level of a query; :func:`mckg.query.check.check_structure` keeps queries well inside both),
and caps its own memory (``RLIMIT_DATA``) at what it holds once the store is open plus
``worker_memory``: past it Oxigraph's allocator aborts the process, or Python raises
``MemoryError``, which the worker reports before it retires. The full parse of a query with
rdflib (:class:`InspectJob`) runs in a worker too, under the same time limit: on a 229 KB
query it took 20 s.

**Two lanes.** ``size`` workers take any query; ``reserved`` more take only the server's own
queries (its pages) and queries known to be cheap — the same query, on the same dataset, that
finished within :data:`CHEAP_SECONDS` before (the store does not change while it is served,
so a query costs what it cost). Strangers' expensive queries can then hold every general
worker and pages still answer. A query that finds no free worker within ``queue_wait`` is
:class:`PoolBusy` (503, ``Retry-After``) instead of waiting out the time limit.

**Deaths.** A worker that dies running a query (out of memory, a crash in the engine) is
logged with the query's size, its client and the reason, and replaced — after a back-off
that doubles with each death in the last :data:`DEATH_WINDOW` seconds, so a flood of
crashes does not keep both cores busy starting workers. The same query is then refused at
once for :data:`POISON_SECONDS`, and a client whose queries stopped :data:`CLIENT_DEATHS`
workers within the window is refused (429) until the window has passed.

Every loop is bounded: a worker retires after :data:`MAX_JOBS` jobs (which also caps slow
memory growth), waits for a free worker are bounded by ``queue_wait``, and starts by
``start_timeout``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any, Protocol

from ..store import open_spec
from ..store.base import QueryDataset, Store, StoreSpec
from ..store.errors import KINDS, StoreError
from ..store.results import UNLIMITED, AnswerTooLarge, NativeResult, serialize_result
from .check import inspect_query
from .info import QueryError, QueryInfo

try:  # POSIX only; elsewhere workers run without a memory limit
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

log = logging.getLogger("mckg.query.workers")

#: Jobs a worker runs before it is replaced by a fresh process.
MAX_JOBS = 10_000
#: Stack of the thread a worker evaluates in. At the limits of ``check_structure`` every
#: query shape measured ran in 8 MiB (the default); 64 MiB leaves a margin of eight.
WORKER_STACK = 64 * 2**20
#: Python frames a worker may nest: rdflib's parser takes ~25 per level of a query.
RECURSION_LIMIT = 30_000
#: A query that took at most this long (seconds, in its worker) counts as cheap next time.
CHEAP_SECONDS = 0.25
#: Queries whose cost the pool remembers (a digest and a number each).
HISTORY = 10_000
#: Seconds over which worker deaths are counted, for the back-off and for each client.
DEATH_WINDOW = 60.0
#: Deaths within the window after which a client's queries are refused until it passes.
CLIENT_DEATHS = 3
#: Seconds a query that killed its worker is refused at once if it comes again.
POISON_SECONDS = 600.0
#: Longest wait (seconds) before a dead worker is replaced.
MAX_BACKOFF = 8.0

#: The lanes: any query, or only the server's own and cheap ones.
GENERAL, RESERVED = "general", "reserved"


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
    """No worker of the query's lane became free within ``queue_wait``."""


class QueryOutOfMemory(PoolError):
    """The query needed more memory than a worker may use; its worker was stopped."""


class ClientRefused(PoolError):
    """The client's queries stopped several workers lately: it must wait."""

    status = 429


class WorkerFailed(PoolError):
    """The worker died while running the query, for a reason nobody could tell."""

    status = 500


class QueryCrashed(WorkerFailed):
    """The query crashed the engine in its worker (a stack overflow, an engine bug)."""

    status = 400


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
    #: Bytes the answer may take (``Settings.result_bytes``); it is cut after a whole row.
    max_bytes: int = UNLIMITED
    #: The server's own query (a page): it runs in the reserved lane.
    own: bool = False
    #: Who asked (the client's address), for the pool's accounting of deaths.
    client: str | None = None


@dataclass(frozen=True)
class InspectJob:
    """The full check of a query by rdflib's parser (:func:`mckg.query.parse.full_inspect`)."""

    text: str
    allowlist: tuple[str, ...]
    known: tuple[tuple[str, str], ...] | None
    client: str | None = None
    own: bool = False


Job = QueryJob | InspectJob


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
    #: Bytes a query may use beyond what the worker holds once started (0: no limit).
    memory: int = 0
    #: A worker whose private memory passes this many bytes after a job retires (0: never).
    #: For workers forked from the in-memory copy: reading Oxigraph's store writes to the
    #: pages it reads (reference counts), so a fork's copy-on-write sharing wears away — a
    #: fork had 260 of the copy's 355 MiB to itself after one pass of the research mix at
    #: 1M triples. A fresh fork shares everything again and costs milliseconds (and its first
    #: queries are slower). Set by :func:`mckg.query.holder.share_limit` from
    #: ``memory_budget``.
    max_private: int = 0


@dataclass(frozen=True)
class LaneLoad:
    """How busy one lane of the pool is: workers running a job, idle, and configured."""

    busy: int
    idle: int
    size: int


def execute_job(store: Store, job: QueryJob, config: WorkerConfig) -> JobResult:
    """Evaluate ``job`` on ``store`` and serialize its answer (in a worker or inline).

    :raise QueryError: the engine refused the query.
    :raise StoreError: the store failed.
    """
    started = time.perf_counter()
    try:
        try:
            out = serialize_result(_evaluate(store, job, job.info, config), job.media_type,
                                   limit=job.limit, max_bytes=job.max_bytes,
                                   prefixes=config.prefixes, context=config.context)
        except AnswerTooLarge:  # written directly past the byte limit: again, through the sink
            unbounded = replace(job.info, limit=None)
            out = serialize_result(_evaluate(store, job, unbounded, config), job.media_type,
                                   limit=job.limit, max_bytes=job.max_bytes,
                                   prefixes=config.prefixes, context=config.context)
    except ValueError as exc:
        raise QueryError(str(exc), status=406) from None
    return JobResult(out.body, out.media_type, out.truncated, time.perf_counter() - started)


def _evaluate(store: Store, job: QueryJob, info: QueryInfo, config: WorkerConfig) -> NativeResult:
    return store.query(job.text, info, dataset=job.dataset, prefixes=config.prefixes,
                       limit=job.limit, base_iri=job.base_iri)


def perform(store: Store, job: Job, config: WorkerConfig) -> JobResult | QueryInfo:
    """Do one job: run a query, or check one with rdflib's parser."""
    if isinstance(job, InspectJob):
        from .parse import full_inspect  # rdflib's parser: loaded when a query first needs it

        return full_inspect(job.text, job.allowlist, job.known)
    return execute_job(store, job, config)


# ---- in the worker process ------------------------------------------------------------------

def _data_size() -> int | None:
    """This process's data segment in bytes (``VmData``), or None where /proc has none."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def private_bytes() -> int:
    """This process's private resident memory (``Private_Clean`` + ``Private_Dirty`` of
    ``/proc/self/smaps_rollup``): what it does not share with the process it was forked
    from. 0 where /proc has no such file."""
    total = 0
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return total


def limit_memory(budget: int) -> int | None:
    """Cap this process's data segment at what it holds now plus ``budget`` bytes.

    ``RLIMIT_DATA`` rather than ``RLIMIT_AS``: the address space of an Oxigraph worker
    includes RocksDB's file mappings (430 MiB before a first query, measured), which are
    not memory the query uses. Returns the limit set, or None (no budget, no /proc).
    """
    held = _data_size()
    if budget <= 0 or resource is None or held is None:
        return None
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = held + budget
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return limit


def _worker_main(spec: StoreSpec, config: WorkerConfig, conn: Connection) -> None:
    """A spawned worker process: open the store, then answer jobs (:func:`serve_jobs`)."""
    try:
        store = open_spec(spec)
        warm = "ASK { ?s ?p ?o }"  # the first parse and query in a process are slow
        store.query(warm, inspect_query(warm), prefixes=config.prefixes)
    except BaseException as exc:  # report any start-up failure to the parent
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    serve_jobs(store, config, conn)


def serve_jobs(store: Store, config: WorkerConfig, conn: Connection) -> None:
    """Answer jobs from ``conn`` on ``store`` in a thread with a large stack, until told to stop.

    What a worker process runs once it has its store: opened by itself (spawned) or inherited
    from the process it was forked from (:mod:`mckg.query.holder`).
    """
    with contextlib.suppress(ValueError):  # a platform that cannot: the default stack
        threading.stack_size(WORKER_STACK)
    thread = threading.Thread(target=_serve, args=(store, config, conn), name="mckg-query")
    thread.start()
    thread.join()


#: Seconds between two looks at a worker's private memory: reading ``smaps_rollup`` walks the
#: page tables of the whole process, which took 40 % of a busy worker's time when done after
#: every job at 100k triples (py-spy).
PRIVATE_EVERY = 1.0
_looked = [0.0]


def _retiring(last: bool, config: WorkerConfig) -> bool:
    """Whether to retire after this job: the last one allowed, or private memory past
    ``max_private`` (asked after the job, which is what makes it grow; at most once every
    :data:`PRIVATE_EVERY` seconds)."""
    if last:
        return True
    if config.max_private <= 0:
        return False
    now = time.monotonic()
    if now - _looked[0] < PRIVATE_EVERY:
        return False
    _looked[0] = now
    return private_bytes() > config.max_private


def _serve(store: Store, config: WorkerConfig, conn: Connection) -> None:
    """Say ready, then answer jobs until told to stop, retired, or out of memory."""
    sys.setrecursionlimit(RECURSION_LIMIT)
    limit_memory(config.memory)
    conn.send(("ready", os.getpid()))
    for served in range(1, config.max_jobs + 1):
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the parent went away
        if job is None:
            return
        last = served == config.max_jobs
        out_of_memory = False
        try:
            result = perform(store, job, config)
            conn.send(("ok", result, _retiring(last, config)))
        except QueryError as exc:
            conn.send(("query-error", (exc.message, exc.status, exc.line, exc.column),
                       _retiring(last, config)))
        except StoreError as exc:
            conn.send(("store-error", (type(exc).__name__, exc.message), _retiring(last, config)))
        except MemoryError:
            out_of_memory = True  # reported below, once the failed job's memory is free
        except Exception as exc:  # a bug: log it here, report a 500 upstairs
            traceback.print_exc()
            conn.send(("bug", f"{type(exc).__name__}", _retiring(last, config)))
        if out_of_memory:
            conn.send(("memory", None, True))
            return  # retire: the heap may be left fragmented


# ---- in the serving process -----------------------------------------------------------------

class WorkerProcess(Protocol):
    """What the pool needs of a worker's process: a spawned ``multiprocessing`` process, or a
    process forked by the store holder (:class:`mckg.query.holder.ForkedProcess`)."""

    @property
    def pid(self) -> int | None: ...

    @property
    def exitcode(self) -> int | None: ...

    def is_alive(self) -> bool: ...

    def kill(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...


class Launcher(Protocol):
    """Starts worker processes for the pool; each reads a read-only store of its own or one
    it shares with its siblings."""

    #: Where the workers read from, for the log: ``"disk"`` or ``"memory"``.
    serving: str

    def launch(self, lane: str, config: WorkerConfig,
               timeout: float) -> tuple[WorkerProcess, Connection]:
        """Start a worker; return its process and the parent's end of its pipe, once it
        has said it is ready.

        :raise PoolError: it failed, or did not start within ``timeout`` seconds.
        """
        ...

    def close(self) -> None:
        """Release what the launcher holds (its workers are stopped by the pool)."""
        ...


class SpawnLauncher:
    """Spawned worker processes (no inherited locks or threads), each opening ``spec``."""

    def __init__(self, spec: StoreSpec) -> None:
        self.spec = spec
        self.serving = "memory" if spec.kind == "memory" else "disk"
        self._context = multiprocessing.get_context("spawn")

    def launch(self, lane: str, config: WorkerConfig,
               timeout: float) -> tuple[WorkerProcess, Connection]:
        """Spawn a worker and wait (bounded) until it has opened the store."""
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(self.spec, config, child),
                                        daemon=True, name=f"mckg-query-worker-{lane}")
        process.start()
        child.close()
        await_ready(process, parent, timeout)
        return process, parent

    def close(self) -> None:
        """Nothing to release."""


def await_ready(process: WorkerProcess, conn: Connection, timeout: float) -> None:
    """Wait (bounded) for a new worker's first word, ``ready``; stop it on anything else.

    :raise PoolError: it failed, died, or said nothing within ``timeout`` seconds.
    """
    def stop() -> None:
        with contextlib.suppress(OSError):
            process.kill()
        process.join(5)
        with contextlib.suppress(OSError):
            conn.close()

    if not conn.poll(timeout):
        stop()
        raise PoolError(f"a query worker did not start within {timeout:g} s")
    try:
        kind, detail = conn.recv()
    except (EOFError, OSError):
        stop()
        raise PoolError("a query worker died while starting") from None
    if kind != "ready":
        stop()
        raise PoolError(f"a query worker could not open the store: {detail}")


@dataclass(eq=False)  # identity hashing: workers live in a set
class _Worker:
    process: WorkerProcess
    conn: Connection
    lane: str = GENERAL
    #: The pool's launcher generation it was started in (see :meth:`WorkerPool.switch`).
    generation: int = 0
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


def _job_key(job: Job) -> bytes:
    """A digest of what determines a job's cost: the text, dataset, format and limits."""
    if isinstance(job, InspectJob):
        what: tuple[object, ...] = ("inspect", job.text, job.allowlist, job.known)
    else:
        what = ("query", job.text, job.dataset, job.media_type, job.limit, job.max_bytes,
                job.base_iri)
    return hashlib.blake2b(repr(what).encode("utf-8", "surrogatepass"), digest_size=16).digest()


def size_text(n: int) -> str:
    """``n`` bytes for people: ``1 GiB``, ``512 MiB``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


class WorkerPool:
    """Worker processes answering queries, each stoppable by killing it, in two lanes."""

    def __init__(self, launcher: Launcher | StoreSpec, config: WorkerConfig, *, size: int = 2,
                 reserved: int = 0, timeout: float = 30.0, queue_wait: float | None = None,
                 start_timeout: float = 120.0) -> None:
        if size < 1 or reserved < 0:
            raise ValueError("a worker pool needs at least one general worker")
        self.launcher: Launcher = (SpawnLauncher(launcher) if isinstance(launcher, StoreSpec)
                                   else launcher)
        self._generation = 0
        self.config = config
        self.size = size
        self.reserved = reserved
        self.timeout = timeout
        self.queue_wait = min(timeout, queue_wait if queue_wait is not None else timeout)
        self.start_timeout = start_timeout
        self._closed = threading.Event()
        self._cond = threading.Condition()
        self._idle: dict[str, list[_Worker]] = {GENERAL: [], RESERVED: []}
        self._busy: dict[str, int] = {GENERAL: 0, RESERVED: 0}
        self._all: set[_Worker] = set()
        self._costs: OrderedDict[bytes, float] = OrderedDict()
        self._poisoned: OrderedDict[bytes, tuple[float, PoolError]] = OrderedDict()
        self._deaths: deque[float] = deque(maxlen=64)
        self._client_deaths: dict[str, deque[float]] = {}
        self.restarts = 0
        self.timeouts = 0

    # -- life cycle ----------------------------------------------------------------------
    def _spawn(self, lane: str) -> _Worker:
        """Start one worker with the current launcher and wait (bounded) until it is ready.

        :raise PoolError: it failed or took longer than ``start_timeout``.
        """
        with self._cond:
            launcher, generation = self.launcher, self._generation
        process, conn = launcher.launch(lane, self.config, self.start_timeout)
        worker = _Worker(process, conn, lane, generation)
        with self._cond:
            self._all.add(worker)
        return worker

    def start(self) -> None:
        """Start every worker (in parallel) and wait until all are ready.

        :raise PoolError: a worker could not start.
        """
        lanes = [GENERAL] * self.size + [RESERVED] * self.reserved
        results: list[_Worker | BaseException] = []

        def one(lane: str) -> None:
            try:
                results.append(self._spawn(lane))
            except BaseException as exc:  # collected and re-raised below
                results.append(exc)

        threads = [threading.Thread(target=one, args=(lane,), daemon=True) for lane in lanes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.start_timeout + 10)
        errors = [r for r in results if isinstance(r, BaseException)]
        for item in results:
            if isinstance(item, _Worker):
                self._release(item, busy=False)
        if errors or len(results) < len(lanes):
            self.close()
            raise errors[0] if errors else PoolError("query workers did not start")
        memory = f", {size_text(self.config.memory)} of memory per query" if self.config.memory else ""
        log.info("%d query worker(s) ready, reading from %s, %d of them reserved for pages "
                 "and cheap queries (pids %s)%s", len(lanes), self.launcher.serving,
                 self.reserved, ", ".join(str(w.pid) for w in self._all), memory)

    def switch(self, launcher: Launcher) -> None:
        """Start workers with ``launcher`` from now on, and replace the running ones.

        Idle workers are stopped and replaced at once; busy ones finish their query and are
        replaced when they come back, so no query is cut short. Used to move from disk to
        the in-memory copy once it is loaded, and to refresh every worker after a write
        (workers hold read-only snapshots).
        """
        with self._cond:
            old = self.launcher
            self.launcher = launcher
            self._generation += 1
            stale = [w for lane in self._idle.values() for w in lane]
            for lane in self._idle.values():
                lane.clear()
            for worker in stale:
                self._all.discard(worker)
        for worker in stale:
            worker.stop(kill=False)
            self._start_replacement(worker.lane)
        if old is not launcher:
            old.close()
            log.info("query workers now read from %s", launcher.serving)

    def refresh(self) -> None:
        """Replace every worker, as it becomes free, with a new one from the same launcher
        (after the store has changed)."""
        self.switch(self.launcher)

    def _release(self, worker: _Worker, *, busy: bool = True) -> None:
        """Give ``worker`` back to its lane, or replace it if it is of an older generation."""
        with self._cond:
            if busy:
                self._busy[worker.lane] -= 1
            stale = worker.generation != self._generation
            if stale:
                self._all.discard(worker)
            else:
                self._idle[worker.lane].append(worker)
                self._cond.notify_all()
        if stale:
            worker.stop(kill=False)
            self._start_replacement(worker.lane)

    def _discard(self, worker: _Worker, *, kill: bool) -> None:
        with self._cond:
            self._all.discard(worker)
            self._busy[worker.lane] -= 1
        worker.stop(kill=kill)

    def _replace(self, worker: _Worker, *, kill: bool, delay: float = 0.0) -> None:
        """Stop ``worker`` and start its replacement in the background, after ``delay`` s."""
        self._discard(worker, kill=kill)
        self.restarts += 1
        self._start_replacement(worker.lane, delay)

    def _start_replacement(self, lane: str, delay: float = 0.0) -> None:
        """Start a worker for ``lane`` in a background thread, after ``delay`` s (bounded
        retries; a failure is logged and the lane runs one short)."""
        def start_new() -> None:
            if self._closed.wait(delay):
                return
            for attempt in range(3):  # bounded retries
                if self._closed.is_set():
                    return
                try:
                    fresh = self._spawn(lane)
                except PoolError as exc:
                    if self._closed.is_set():
                        return  # closed while it started: the store may be gone already
                    log.error("replacing a query worker failed (attempt %d): %s", attempt + 1,
                              exc.message)
                    self._closed.wait(1 + attempt)
                    continue
                if self._closed.is_set():
                    with self._cond:
                        self._all.discard(fresh)
                    fresh.stop(kill=False)
                else:
                    self._release(fresh, busy=False)
                return

        threading.Thread(target=start_new, daemon=True, name="mckg-worker-restart").start()

    def close(self) -> None:
        """Stop every worker. Idempotent."""
        self._closed.set()
        with self._cond:
            workers = list(self._all)
            self._all.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.stop(kill=False)
        self.launcher.close()

    @property
    def alive(self) -> int:
        """Workers currently running."""
        with self._cond:
            return sum(1 for w in self._all if w.process.is_alive())

    def load(self) -> dict[str, LaneLoad]:
        """How busy each lane is now (:data:`GENERAL`, :data:`RESERVED`): for callers that
        turn work away before it queues (a per-client limit, a health check)."""
        with self._cond:
            return {lane: LaneLoad(self._busy[lane], len(self._idle[lane]), size)
                    for lane, size in ((GENERAL, self.size), (RESERVED, self.reserved))}

    # -- running -------------------------------------------------------------------------
    def run(self, job: QueryJob) -> JobResult:
        """Run ``job`` on a free worker of its lane within the time limit.

        :raise QueryError: the query was refused by the engine (400/406).
        :raise StoreError: the store failed.
        :raise QueryTimeout: it ran past the limit (its worker was killed and replaced).
        :raise PoolBusy: no worker of its lane became free within ``queue_wait``.
        :raise QueryOutOfMemory: it needed more memory than a worker may use.
        :raise QueryCrashed: it crashed its worker. :raise WorkerFailed: the worker died.
        :raise ClientRefused: the client's queries stopped several workers lately.
        """
        result = self._run(job)
        assert isinstance(result, JobResult)
        return result

    def inspect(self, text: str, allowlist: tuple[str, ...],
                known: tuple[tuple[str, str], ...] | None, *, client: str | None = None) -> QueryInfo:
        """The full check of ``text`` (rdflib's parser) in a worker, under the time limit.

        :raise QueryError: the query is malformed or refused. Others as :meth:`run`.
        """
        info = self._run(InspectJob(text, allowlist, known, client=client))
        assert isinstance(info, QueryInfo)
        return info

    def _run(self, job: Job) -> JobResult | QueryInfo:
        if self._closed.is_set():
            raise PoolError("the server is shutting down")
        key = _job_key(job)
        self._refuse(key, job.client)
        worker = self._handed(job, cheap=job.own or self._known_cheap(key))
        started = time.monotonic()
        try:
            if not worker.conn.poll(self.timeout):
                self._remember(key, math.inf)
                self.timeouts += 1
                log.warning("query exceeded %.1f s; stopping worker %s", self.timeout, worker.pid)
                self._replace(worker, kill=True)
                raise QueryTimeout(
                    f"the query ran longer than the time limit of {self.timeout:g} s and was "
                    "stopped; simplify it or add a LIMIT", retry_after=1)
            kind, payload, retire = worker.conn.recv()
        except (EOFError, OSError):
            raise self._died(worker, job, key, memory=False) from None
        if kind == "memory":
            raise self._died(worker, job, key, memory=True)
        self._remember(key, time.monotonic() - started)
        if retire:
            self._replace(worker, kill=False)
        else:
            self._release(worker)
        if kind == "ok":
            return payload  # type: ignore[no-any-return]
        if kind == "query-error":
            message, status, line, column = payload
            raise QueryError(message, status=status, line=line, column=column)
        if kind == "store-error":
            name, message = payload
            raise KINDS.get(name, StoreError)(message)
        raise WorkerFailed(f"internal error in the query worker ({payload})")

    def _handed(self, job: Job, *, cheap: bool) -> _Worker:
        """A free worker that has taken ``job``.

        A worker that died while idle (the system's out-of-memory killer, an operator) cannot
        take it: it is replaced, not blamed on this query, and the next free one is asked.
        """
        for _ in range(self.size + self.reserved):  # bounded: each try replaces a worker
            worker = self._acquire(cheap=cheap)
            try:
                worker.conn.send(job)
                return worker
            except (OSError, ValueError):
                log.warning("query worker %s had stopped while idle; replacing it", worker.pid)
                self._replace(worker, kill=True)
        raise PoolBusy("the query workers stopped while idle and are being replaced; try again "
                       "shortly", retry_after=1)

    def _acquire(self, *, cheap: bool) -> _Worker:
        """A free worker: a cheap job takes a reserved one, else a general one.

        :raise PoolBusy: none became free within ``queue_wait``.
        """
        lanes = (RESERVED, GENERAL) if cheap else (GENERAL,)
        deadline = time.monotonic() + self.queue_wait
        with self._cond:
            while True:  # bounded by the deadline
                if self._closed.is_set():
                    raise PoolError("the server is shutting down")
                for lane in lanes:
                    if self._idle[lane]:
                        self._busy[lane] += 1
                        return self._idle[lane].pop()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    count = self.size + (self.reserved if cheap else 0)
                    raise PoolBusy(f"all {count} query workers that could run this query stayed "
                                   f"busy for {self.queue_wait:g} s; try again shortly",
                                   retry_after=max(1, math.ceil(self.queue_wait)))
                self._cond.wait(remaining)

    # -- costs and deaths ----------------------------------------------------------------
    def _known_cheap(self, key: bytes) -> bool:
        """Whether the same job finished within :data:`CHEAP_SECONDS` last time."""
        with self._cond:
            return self._costs.get(key, math.inf) <= CHEAP_SECONDS

    def _remember(self, key: bytes, seconds: float) -> None:
        with self._cond:
            self._costs[key] = seconds
            self._costs.move_to_end(key)
            while len(self._costs) > HISTORY:  # bounded by HISTORY
                self._costs.popitem(last=False)

    def _refuse(self, key: bytes, client: str | None) -> None:
        """Refuse a query that killed a worker lately, or a client whose queries did.

        :raise PoolError: the same error as the first time, or :class:`ClientRefused`.
        """
        now = time.monotonic()
        with self._cond:
            poisoned = self._poisoned.get(key)
            recent = [t for t in self._client_deaths.get(client or "", ()) if now - t < DEATH_WINDOW]
        if poisoned is not None and now - poisoned[0] < POISON_SECONDS:
            first = poisoned[1]
            again = type(first)(f"{first.message} (refused at once: the same query stopped a "
                                f"query worker {now - poisoned[0]:.0f} s ago)")
            raise again
        if client is not None and len(recent) >= CLIENT_DEATHS:
            wait = math.ceil(DEATH_WINDOW - (now - recent[-CLIENT_DEATHS]))
            raise ClientRefused(f"queries from this client stopped {len(recent)} query workers in "
                                f"the last {DEATH_WINDOW:g} s; send queries again in {wait} s",
                                retry_after=wait)

    def _died(self, worker: _Worker, job: Job, key: bytes, *, memory: bool) -> PoolError:
        """Account for a worker that died running ``job``; the error to answer with."""
        worker.process.join(2)  # bounded: it has closed its pipe, so it is ending
        code = worker.process.exitcode
        error = self._death_error(code, memory=memory)
        now = time.monotonic()
        with self._cond:
            self._deaths.append(now)
            recent = sum(1 for t in self._deaths if now - t < DEATH_WINDOW)
            if job.client is not None:
                deaths = self._client_deaths.setdefault(job.client, deque(maxlen=CLIENT_DEATHS))
                deaths.append(now)
                if len(self._client_deaths) > HISTORY:  # forget clients without recent deaths
                    for client in [c for c, d in self._client_deaths.items()
                                   if now - d[-1] >= DEATH_WINDOW]:
                        del self._client_deaths[client]
            self._poisoned[key] = (now, error)
            while len(self._poisoned) > 1024:  # bounded
                self._poisoned.popitem(last=False)
        delay = 0.0 if recent <= 1 else min(MAX_BACKOFF, 0.5 * 2 ** (recent - 2))
        log.error("query worker %s died (%s) running a %d-byte %s from %s; %d worker death(s) "
                  "in the last %g s; replacing it in %.1f s", worker.pid,
                  "out of memory" if isinstance(error, QueryOutOfMemory) else f"exit code {code}",
                  len(job.text.encode("utf-8", "surrogatepass")),
                  "check" if isinstance(job, InspectJob) else "query",
                  "the server itself" if job.own else (job.client or "an unnamed client"),
                  recent, DEATH_WINDOW, delay)
        self._replace(worker, kill=True, delay=delay)
        return error

    def _death_error(self, code: int | None, *, memory: bool) -> PoolError:
        """What to tell the client when its query's worker ended with ``code``."""
        limit = size_text(self.config.memory) if self.config.memory else "the memory available"
        if memory or (code == -signal.SIGABRT and self.config.memory):
            return QueryOutOfMemory(f"the query needed more memory than a query may use "
                                    f"({limit}) and was stopped; narrow it down or add a LIMIT")
        if code == -signal.SIGKILL:
            return QueryOutOfMemory("the query worker was killed by the system while running "
                                    "the query (usually for lack of memory); narrow it down")
        if code in (-signal.SIGSEGV, -signal.SIGBUS, -signal.SIGABRT):
            name = signal.Signals(-code).name
            return QueryCrashed(f"the query crashed the query engine ({name}; a stack "
                                "overflow, most likely: the query is too deep); simplify it")
        return WorkerFailed(f"the query worker died while running the query (exit code {code})")
