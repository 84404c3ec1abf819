"""The curation worker: the process where writes are parsed, applied, reasoned and validated.

Oxigraph cannot stop an update once it runs, pySHACL and owlrl cannot be interrupted, and an
update's ``WHERE`` can be as expensive as any query. So, as for queries
(:mod:`mckg.query.workers`), the work happens in a **separate process** that the curator kills
at the time limit: ``update_timeout`` for parsing and applying the write to a copy,
``validation_timeout`` for reasoning and validating it. A killed worker takes nothing with it
— it only ever changed copies — and the next write starts a new one.

The worker keeps a **mirror** of the durable store (every quad, the merged default graph
too), loaded from a dump the curator sends when it starts, and kept in step after each
commit by the same N-Quads the serving copy loads
(:meth:`mckg.query.service.QueryService.apply_change`). A write is applied to the mirror
itself and the mirror is put back exactly afterwards (:func:`.transaction.prepare`), so a
transaction reads nothing from the store and copies nothing but dumps. It also holds the
shapes and the ontology graph. Its memory is capped like a query worker's (``worker_memory``
beyond what it holds).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from ..query.workers import PoolError
from .transaction import Prepared, WriteRefused, WriteRequest

log = logging.getLogger("mckg.curation")

#: Seconds the worker may take to start and load its mirror.
START_TIMEOUT = 300.0


class WriteTimeout(PoolError):
    """A write ran past its time limit; its worker was killed and nothing was written."""


def _ontology(mirror: ox.Store, base: str) -> Any:
    from rdflib import Graph

    from ..rdf.terms import from_oxigraph

    graph = Graph()
    for q in mirror.quads_for_pattern(None, None, None, ox.NamedNode(f"{base}graph/ontology")):
        graph.add((from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object)))
    return graph


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the server dies (a killed server must not leave
    a worker finishing an expensive update nobody waits for). Elsewhere: the pipe's end does."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


def _worker_main(conn: Connection, base: str, reasoning: bool, memory: int) -> None:
    """The worker: load the mirror, then prepare writes and follow commits until told to stop."""
    _die_with_parent()
    from ..build.validation import load_shapes
    from ..query.workers import limit_memory
    from ..store.memory import MemoryStore
    from .transaction import lines_of, prepare

    try:
        dump: bytes = conn.recv()
        mirror = MemoryStore()
        if dump:  # parsed, not loaded: Store.load would rename blank nodes
            mirror.native.extend(ox.parse(dump, ox.RdfFormat.N_QUADS))
        del dump
        shapes = load_shapes(base)
        ontology = _ontology(mirror.native, base)
        limit_memory(memory)
    except BaseException as exc:  # report any start-up failure to the parent
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", len(mirror.native)))
    before: set[bytes] | None = None  # the mirror's quads as lines, kept between writes
    while True:  # bounded by the parent: its end closing, or None, ends the loop
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        op = message[0]
        try:
            if op == "prepare":
                started = time.perf_counter()
                if before is None:  # after a commit: the mirror's new state, once
                    before = lines_of(mirror.native)
                snapshot = time.perf_counter() - started
                prepared = prepare(mirror.native, message[1], base=base, reasoning=reasoning,
                                   shapes=shapes, ontology=ontology, before=before,
                                   applied=lambda: conn.send(("applied",)))
                prepared.seconds["snapshot"] = snapshot
                conn.send(("prepared", prepared))
            elif op == "follow":
                _, data, graphs = message
                before = None
                mirror.load_nquads(data, replace=graphs)
                if f"{base}graph/ontology" in graphs:
                    ontology = _ontology(mirror.native, base)
                conn.send(("followed", len(mirror.native)))
            else:
                conn.send(("error", f"unknown request {op!r}"))
        except WriteRefused as exc:
            conn.send(("refused", exc.status, exc.message))
        except MemoryError:
            conn.send(("error", "the write needed more memory than the curation worker may use"))
            return
        except Exception as exc:  # reported; the mirror may not be as it was: a new worker
            log.exception("curation worker failed")
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            return


class TransactionWorker:
    """The curator's handle on its worker process (one caller at a time: the writer)."""

    def __init__(self, base: str, *, reasoning: bool, memory: int) -> None:
        self.base = base
        self.reasoning = reasoning
        self.memory = memory
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def ensure(self, dump: Any) -> None:
        """Start the worker if it is not running; ``dump()`` gives the store's N-Quads.

        :raise PoolError: it did not start.
        """
        if self.alive:
            return
        self.close()
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_worker_main,
                                  args=(child, self.base, self.reasoning, self.memory),
                                  daemon=True, name="mckg-curation")
        process.start()
        child.close()
        try:
            parent.send(dump())
            if not parent.poll(START_TIMEOUT):
                raise PoolError("the curation worker did not start in time", retry_after=5)
            kind, detail = parent.recv()
        except (EOFError, OSError):
            process.kill()
            raise PoolError("the curation worker died while starting", retry_after=5) from None
        except PoolError:
            process.kill()
            raise
        if kind != "ready":
            process.kill()
            raise PoolError(f"the curation worker could not start: {detail}", retry_after=5)
        self._process, self._conn = process, parent
        log.info("curation worker started with %d quads", detail)

    def _receive(self, timeout: float, what: str) -> tuple[Any, ...]:
        assert self._conn is not None
        try:
            if not self._conn.poll(timeout):
                self.kill()
                raise WriteTimeout(f"{what} took longer than the limit of {timeout:g} s; "
                                   "nothing was written", retry_after=max(1, int(timeout)))
            reply: tuple[Any, ...] = self._conn.recv()
        except (EOFError, OSError):
            code = self._process.exitcode if self._process is not None else None
            self.kill()
            raise PoolError(f"the curation worker died (exit code {code}); nothing was "
                            "written", retry_after=1) from None
        return reply

    def prepare(self, request: WriteRequest, *, update_timeout: float,
                validation_timeout: float) -> Prepared:
        """Apply, reason and validate ``request`` on a copy of the mirror.

        :raise WriteRefused: malformed or not representable.
        :raise WriteTimeout: a phase ran past its limit (the worker was killed).
        :raise PoolError: the worker failed.
        """
        assert self._conn is not None
        self._conn.send(("prepare", request))
        reply = self._receive(update_timeout, "applying the write")
        if reply[0] == "applied":
            reply = self._receive(validation_timeout, "reasoning over and validating the write")
        if reply[0] == "prepared":
            prepared: Prepared = reply[1]
            return prepared
        if reply[0] == "refused":
            raise WriteRefused(reply[1], reply[2])
        raise PoolError(f"the curation worker failed: {reply[-1]}", retry_after=1)

    def follow(self, data: bytes, graphs: tuple[str, ...]) -> None:
        """Bring the mirror to the committed state; a worker that cannot is stopped (the next
        write starts a new one from the store)."""
        if not self.alive or self._conn is None:
            return
        try:
            self._conn.send(("follow", data, graphs))
            reply = self._receive(START_TIMEOUT, "following a commit")
        except PoolError as exc:
            log.error("the curation worker could not follow a commit: %s", exc.message)
            self.kill()
            return
        if reply[0] != "followed":
            log.error("the curation worker could not follow a commit: %s", reply[-1])
            self.kill()

    def kill(self) -> None:
        """SIGKILL the worker (it holds nothing that must be saved)."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if process is not None:
            process.kill()
            process.join(5)
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        """Stop the worker. Idempotent."""
        if self._conn is not None:
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(None)
        process = self._process
        if process is not None:
            process.join(2)
        self.kill()
