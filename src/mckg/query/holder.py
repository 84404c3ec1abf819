"""Serving from memory: one process holds the dataset in RAM, and query workers are forked from it.

Oxigraph answers from memory four to six times faster than from its on-disk store
(docs/benchmarks.md), but a query still has to run where it can be stopped at the time limit:
in a process that can be killed. Loading a copy into every worker would multiply the memory
by the number of workers. So one **holder** process loads the in-memory copy once and stays
single-threaded; each worker is a ``fork()`` of it, sharing the copy's pages (copy-on-write:
a read-only worker writes to almost none of them). Killing a worker at the time limit costs
nothing to the others or to the copy, and a replacement is a fork: milliseconds, not a
reload.

The holder is started with the ``spawn`` method (no locks or threads inherited from the web
server), forks only from its single thread, and hands the parent its end of each new worker's
socket over its control connection (``SCM_RIGHTS``). Workers are the holder's children: it
reaps them and keeps their exit codes for the pool's accounting (why a worker died).

Writes (:meth:`StoreHolder.apply`) change the holder's copy; workers forked before hold the
old snapshot, so the pool replaces them (:meth:`mckg.query.workers.WorkerPool.refresh`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle
from typing import Any

from ..store import open_spec
from ..store.base import StoreSpec
from ..store.memory import MemoryStore
from ..store.oxigraph import OxigraphEngine
from .check import inspect_query
from .workers import Launcher, PoolError, WorkerConfig, WorkerProcess, await_ready, serve_jobs

log = logging.getLogger("mckg.query.holder")

#: Bytes of memory one quad takes in Oxigraph's in-memory store, strings included: 295 were
#: measured for the 1M-triple benchmark graph (2M quads with the merged default graph, 590
#: MiB); rounded up, since estimates decide whether a copy fits the budget.
BYTES_PER_QUAD = 320
#: Quads up to which the copy is loaded before the server answers (a couple of seconds at
#: most); a larger store is answered from disk while the copy loads in the background.
LOAD_AT_START = 250_000
#: Seconds the copy may take to load before the server gives up and stays on disk.
LOAD_TIMEOUT = 900.0
#: Private memory a fork may always reach before it retires for memory (a Python process
#: forked from the holder makes tens of MiB its own in its first queries).
SHARE_FLOOR = 128 * 2**20
#: Exit codes of reaped workers the holder remembers.
EXITS_KEPT = 1024
#: Seconds between the holder's checks for ended workers when nothing is asked of it.
REAP_EVERY = 0.2


@dataclass(frozen=True)
class HolderInfo:
    """What the holder loaded: quads, seconds, and its resident memory afterwards."""

    quads: int
    seconds: float
    rss: int | None
    #: Whether the copy answers from the union of its named graphs (no default-graph copies).
    union: bool = False


def estimated_bytes(quads: int) -> int:
    """Memory an in-memory copy of ``quads`` quads needs (see :data:`BYTES_PER_QUAD`)."""
    return quads * BYTES_PER_QUAD


# ---- in the holder process ------------------------------------------------------------------

def _rss() -> int | None:
    """This process's resident memory in bytes, or None without /proc."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _load(spec: StoreSpec) -> MemoryStore:
    """The in-memory copy of the store ``spec`` names (a memory dump is read as it is)."""
    source = open_spec(spec)
    try:
        assert isinstance(source, OxigraphEngine), f"{spec.kind} stores cannot be copied to memory"
        return MemoryStore.copy_of(source)  # a memory store's dump too: without its copies
    finally:
        source.close()
        del source
        _trim()


def _trim() -> None:
    """Give the memory freed after the copy back to the system (glibc keeps freed heap
    otherwise: a holder that read a 1M-triple dump stayed at 955 MiB resident for a 350 MiB
    copy), so that forks do not share, and the system does not count, dead pages."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def share_limit(rss: int, budget: int, workers: int) -> int:
    """Private memory a fork may reach before it retires (``WorkerConfig.max_private``).

    Reading Oxigraph's store writes to the pages read (reference counts), so each fork slowly
    makes the copy its own. While the copy and a full copy per fork fit ``memory_budget``
    there is nothing to bound (0: never retire for it; a fresh fork's first queries are the
    slower ones). Otherwise the budget left beside the copy is shared out among the forks
    (at least :data:`SHARE_FLOOR` each).
    """
    if budget <= 0 or rss <= 0 or (workers + 1) * rss <= budget:
        return 0
    return max(SHARE_FLOOR, (budget - rss) // max(1, workers))


def _holder_main(spec: StoreSpec, config: WorkerConfig, conn: Connection, budget: int = 0,
                 workers: int = 1) -> None:
    """The holder: load the copy, say so, then fork workers and answer questions about them."""
    # Ctrl-C in a terminal reaches the whole process group: the serving process stops the
    # holder and its workers itself (closing their connections), without tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    started = time.perf_counter()
    try:
        store = _load(spec)
        warm = "ASK { ?s ?p ?o }"  # parse once here, so that no worker pays for it
        store.query(warm, inspect_query(warm), prefixes=config.prefixes)
        quads = len(store.native)
    except BaseException as exc:  # report any start-up failure to the parent
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    rss = _rss()
    config = replace(config, max_private=share_limit(rss or 0, budget, workers))
    conn.send(("ready", HolderInfo(quads, time.perf_counter() - started, rss,
                                   store.union_default)))
    exits: OrderedDict[int, int] = OrderedDict()
    parent = os.getppid()
    while True:  # bounded by the parent: its end of the connection closing ends the loop
        _reap(exits)
        try:
            if not conn.poll(REAP_EVERY):
                continue
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            reply = _answer(request, store, config, conn, exits, parent)
        except Exception as exc:  # a failed request is reported, the holder goes on
            reply = ("error", f"{type(exc).__name__}: {exc}")
        if reply is not None:
            conn.send(reply)


def _answer(request: tuple[Any, ...], store: MemoryStore, config: WorkerConfig,
            conn: Connection, exits: OrderedDict[int, int], parent: int) -> tuple[Any, ...] | None:
    """Do one request of the parent; the reply to send (None: already sent)."""
    op = request[0]
    if op == "fork":
        _fork(store, config, conn, parent)
        return None
    if op == "wait":
        _, pid, timeout = request
        return ("exit", _wait(pid, timeout, exits))
    if op == "apply":
        _, data, replace = request
        store.load_nquads(data, replace=replace)
        return ("applied", len(store.native))
    return ("error", f"unknown request {op!r}")


def _fork(store: MemoryStore, config: WorkerConfig, conn: Connection, parent: int) -> None:
    """Fork a worker sharing ``store``; send its pid, then its socket, to the parent."""
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the worker: answer jobs on its socket until told to stop, then leave
        code = 0
        try:
            conn.close()
            ours.close()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            serve_jobs(store, config, Connection(theirs.detach()))  # says "ready" first
        except BaseException:  # nothing may escape a forked child
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)  # no atexit handlers or finalizers of the holder
    theirs.close()
    try:
        conn.send(("forked", pid))
        send_handle(conn, ours.fileno(), parent)
    finally:
        ours.close()


def _reap(exits: OrderedDict[int, int]) -> None:
    """Collect every ended worker's exit code (as ``multiprocessing`` reports them)."""
    for _ in range(10_000):  # bounded: one per ended child
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        exits[pid] = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        while len(exits) > EXITS_KEPT:
            exits.popitem(last=False)


def _wait(pid: int, timeout: float, exits: OrderedDict[int, int]) -> int | None:
    """The exit code of worker ``pid``, waiting at most ``timeout`` s for it to end."""
    deadline = time.monotonic() + max(0.0, timeout)
    while True:  # bounded by the deadline
        _reap(exits)
        if pid in exits:
            return exits[pid]
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.005)


# ---- in the serving process -----------------------------------------------------------------

class ForkedProcess:
    """A worker forked by the holder, seen from the serving process (it is not our child:
    the holder reaps it and tells its exit code)."""

    def __init__(self, holder: StoreHolder, pid: int) -> None:
        self._holder = holder
        self._pid = pid
        self._exitcode: int | None = None

    @property
    def pid(self) -> int | None:
        """The worker's process id."""
        return self._pid

    @property
    def exitcode(self) -> int | None:
        """How it ended (negative: the signal), or None while it runs or if unknown."""
        if self._exitcode is None:
            self._exitcode = self._holder.exit_code(self._pid, 0.0)
        return self._exitcode

    def is_alive(self) -> bool:
        """Whether it still runs."""
        return self.exitcode is None and self._holder.alive

    def kill(self) -> None:
        """SIGKILL it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self._exitcode is None:
                os.kill(self._pid, signal.SIGKILL)

    def join(self, timeout: float | None = None) -> None:
        """Wait (at most ``timeout`` s; 5 s if None) until it has ended."""
        if self._exitcode is None:
            self._exitcode = self._holder.exit_code(self._pid, 5.0 if timeout is None else timeout)


class StoreHolder:
    """The serving process's handle on the holder process (thread-safe).

    A launcher for the worker pool: workers are forks of the holder. Should the holder die
    (the system's out-of-memory killer, an operator), new workers are spawned by
    ``fallback`` instead — reading the store from disk — and the log says so once.
    """

    def __init__(self, spec: StoreSpec, config: WorkerConfig, *,
                 fallback: Launcher | None = None, budget: int = 0, workers: int = 1) -> None:
        self.spec = spec
        self.config = config
        self.fallback = fallback
        #: ``memory_budget`` and how many forks share it (see :func:`share_limit`).
        self.budget = budget
        self.workers = workers
        self.info: HolderInfo | None = None
        self._lost = False
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def start(self, timeout: float) -> HolderInfo:
        """Start the holder and wait (at most ``timeout`` s) until its copy is loaded.

        :raise PoolError: it failed, or took longer.
        """
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_holder_main,
                                  args=(self.spec, self.config, child, self.budget, self.workers),
                                  daemon=True, name="mckg-store-holder")
        process.start()
        child.close()
        if not parent.poll(timeout):
            process.kill()
            process.join(5)
            raise PoolError(f"the in-memory copy of the store was not loaded within {timeout:g} s")
        try:
            kind, detail = parent.recv()
        except (EOFError, OSError):
            process.join(5)
            raise PoolError(f"the process loading the in-memory copy died "
                            f"(exit code {process.exitcode})") from None
        if kind != "ready":
            process.join(5)
            raise PoolError(f"the in-memory copy could not be loaded: {detail}")
        self._process, self._conn, self.info = process, parent, detail
        return detail

    @property
    def alive(self) -> bool:
        """Whether the holder runs."""
        return self._process is not None and self._process.is_alive()

    @property
    def serving(self) -> str:
        """``memory`` while the holder runs, else where the fallback's workers read."""
        if self.alive or self.fallback is None:
            return "memory"
        return self.fallback.serving

    def _ask(self, request: tuple[Any, ...], *, timeout: float = 30.0) -> tuple[Any, ...]:
        """Send ``request``, wait (bounded) for the reply; the caller holds the lock.

        :raise PoolError: the holder is gone or did not answer.
        """
        if self._conn is None or not self.alive:
            raise PoolError("the process holding the in-memory copy of the store has stopped")
        try:
            self._conn.send(request)
            if not self._conn.poll(timeout):
                raise PoolError("the process holding the in-memory copy did not answer")
            reply: tuple[Any, ...] = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise PoolError(f"lost the process holding the in-memory copy: {exc}") from None
        if reply[0] == "error":
            raise PoolError(f"the process holding the in-memory copy failed: {reply[1]}")
        return reply

    def launch(self, lane: str, config: WorkerConfig,
               timeout: float) -> tuple[WorkerProcess, Connection]:
        """Fork a worker from the holder and wait (bounded) until it is ready.

        :raise PoolError: the holder is gone (and there is no fallback), or the worker did
            not start.
        """
        if not self.alive and self._process is not None and self.fallback is not None:
            if not self._lost:
                self._lost = True
                log.error("the process holding the in-memory copy of the store has stopped "
                          "(exit code %s); new query workers read from %s",
                          self._process.exitcode, self.fallback.serving)
            return self.fallback.launch(lane, config, timeout)
        with self._lock:
            _, pid = self._ask(("fork",))
            assert self._conn is not None
            if not self._conn.poll(timeout):
                raise PoolError("the process holding the in-memory copy did not hand a worker over")
            fd = recv_handle(self._conn)
        conn = Connection(fd)
        process = ForkedProcess(self, pid)
        await_ready(process, conn, timeout)
        return process, conn

    def exit_code(self, pid: int, timeout: float) -> int | None:
        """The exit code of worker ``pid``, waiting at most ``timeout`` s; None if unknown."""
        if not self.alive:
            return None
        try:
            with self._lock:
                _, code = self._ask(("wait", pid, timeout), timeout=timeout + 10)
        except PoolError:
            return None
        return code  # type: ignore[no-any-return]

    def apply(self, data: bytes, *, replace: Iterable[str] = ()) -> int:
        """Load N-Quads into the copy (replacing the graphs named); the quads it then holds.

        :raise PoolError: the holder is gone or the load failed.
        """
        with self._lock:
            _, quads = self._ask(("apply", data, tuple(replace)), timeout=600.0)
        return quads  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the holder (its workers are stopped by the pool). Idempotent."""
        with self._lock:
            conn, process = self._conn, self._process
            self._conn = self._process = None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
            with contextlib.suppress(OSError):
                conn.close()
        if process is not None:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)
