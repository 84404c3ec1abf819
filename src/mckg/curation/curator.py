"""The curator: one write at a time, from the token to the commit and its audit record.

For every write (:meth:`Curator.write`):

1. **Admission.** At most ``write_queue`` writers wait while one writes; one more is answered
   at once with :class:`WriteBusy` (503, ``Retry-After``), and a writer that has waited
   ``write_wait`` seconds gives up the same way. Writers are serialised by one lock.
2. **Prepare** in the curation worker (:mod:`.worker`), under the time limits: apply the write
   to a copy, work out the change per graph, reason if an asserted layer changed, validate the
   focus nodes (:mod:`.transaction`).
3. **Scope.** Every graph the write itself changes must be in the token's scope
   (:mod:`.tokens`); the inferred graph follows the layers it is computed from.
4. **Gate.** A result that does not conform is refused (:class:`Invalid`, 422, with the SHACL
   report) and nothing is written.
5. **Commit** through the query service's one write path
   (:meth:`mckg.query.service.QueryService.apply_change`): the durable store first — the
   change and its audit record in one transaction — then the serving copy, the workers, the
   answer cache and the version; then the worker's mirror follows.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox

from ..build.validation import ValidationReport
from ..config import Settings
from ..query.service import QueryService
from ..query.workers import PoolError
from ..store.oxigraph import OxigraphEngine
from . import audit
from .tokens import Token, Tokens
from .transaction import Prepared, WriteRefused, WriteRequest, quads_bytes
from .worker import TransactionWorker

log = logging.getLogger("mckg.curation")

#: Fault injection for the crash tests: the process kills itself (SIGKILL) at the point this
#: environment variable names — ``prepared`` (validated, not committed) or ``committed``
#: (committed and followed, not yet answered). Never set in production.
FAULT_ENV = "MCKG_CURATION_FAULT"


def _fault(point: str) -> None:
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


class WriteBusy(PoolError):
    """Too many writers: 503 with ``Retry-After``."""


class Invalid(Exception):
    """The write's result does not conform to the shapes: 422 with the report."""

    def __init__(self, report: ValidationReport, prepared: Prepared) -> None:
        self.report = report
        self.prepared = prepared
        super().__init__(f"the write does not conform to the shapes: "
                         f"{len(report.errors)} violation(s)")


@dataclass(frozen=True)
class Outcome:
    """An accepted write: its id (None when it changed nothing) and what it did."""

    id: str | None
    prepared: Prepared
    created: bool = False


class Curator:
    """Writes to one query service's store, for tokens, one at a time (module docstring)."""

    def __init__(self, service: QueryService, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self.base = settings.base
        self.tokens = Tokens(settings.tokens, settings.base)
        self._slots = threading.BoundedSemaphore(max(0, settings.write_queue) + 1)
        self._lock = threading.Lock()
        self.worker = TransactionWorker(settings.base, reasoning=settings.reasoning,
                                        memory=settings.worker_memory)
        #: The service's version the worker's mirror follows; another change of the store
        #: (e.g. ``QueryService.load_nquads``) makes the mirror stale, and it is reloaded.
        self._followed: str | None = None

    @property
    def enabled(self) -> bool:
        return self.tokens.enabled

    def _dump(self) -> bytes:
        store = self.service.store
        if not isinstance(store, OxigraphEngine):
            raise PoolError(f"curation needs a local store; {store.kind} stores are not "
                            "curated over HTTP", retry_after=None)
        return store.native.dump(format=ox.RdfFormat.N_QUADS) or b""

    def _turn(self) -> None:
        """Wait for this writer's turn (module docstring, 1). :raise WriteBusy: no room."""
        if not self._slots.acquire(blocking=False):
            raise WriteBusy(f"{self.settings.write_queue} writes are already waiting; "
                            "try again shortly", retry_after=2)
        if not self._lock.acquire(timeout=max(0.0, self.settings.write_wait)):
            self._slots.release()
            raise WriteBusy(f"no turn to write within {self.settings.write_wait:g} s",
                            retry_after=5)

    def _done(self) -> None:
        self._lock.release()
        self._slots.release()

    def write(self, token: Token, request: WriteRequest, *, operation: str, text: str,
              target: str | None = None, reverts: str | None = None) -> Outcome:
        """Do one write for ``token`` (module docstring).

        :raise AuthError: 403, a graph out of the token's scope.
        :raise WriteRefused: 400/404/422, malformed or not representable.
        :raise Invalid: 422, the result does not conform.
        :raise WriteBusy, WriteTimeout, PoolError: 503, nothing written.
        """
        self._turn()
        try:
            return self._write(token, request, operation=operation, text=text, target=target,
                               reverts=reverts)
        finally:
            self._done()

    def _write(self, token: Token, request: WriteRequest, *, operation: str, text: str,
               target: str | None, reverts: str | None) -> Outcome:
        started = datetime.now(UTC)
        if self.worker.alive and self.service.version != self._followed:
            self.worker.kill()  # the store changed behind the curator: start from it again
        if not self.worker.alive:
            self._followed = self.service.version
        self.worker.ensure(self._dump)
        existed = bool(target) and target in self.service.counts()
        prepared = self.worker.prepare(request, update_timeout=self.settings.update_timeout,
                                       validation_timeout=self.settings.validation_timeout)
        change = prepared.change
        inferred = f"{self.base}graph/inferred"
        direct = [g for g in change.graphs if g != inferred or not prepared.seconds.get("reasoning")]
        self.tokens.check_scope(token, direct)
        if not prepared.report.conforms:
            raise Invalid(prepared.report, prepared)
        if change.empty:
            return Outcome(None, prepared)
        write_id = audit.new_id()
        record = audit.Record(id=write_id, agent=token.name, started=started,
                              ended=datetime.now(UTC), operation=operation, text=text,
                              target=target, prepared=prepared, reverts=reverts)
        added = change.added + quads_bytes(audit.record_quads(self.base, record))
        _fault("prepared")
        try:
            data, graphs = self.service.apply_change(change.removed, added, dropped=change.dropped)
        except PoolError as exc:  # committed to the store; the serving copy could not follow
            log.error("write %s committed, but %s", write_id, exc.message)
            self.worker.kill()
        else:
            self.worker.follow(data, graphs)
            self._followed = self.service.version
        _fault("committed")
        log.info("write %s by %s: %s, +%d -%d triples in %s (%s)", write_id, token.name,
                 operation, change.n_added, change.n_removed, ", ".join(change.graphs),
                 ", ".join(f"{k} {v:.3f}s" for k, v in prepared.seconds.items()))
        return Outcome(write_id, prepared, created=bool(target) and not existed)

    def revert(self, token: Token, write_id: str) -> Outcome:
        """Undo write ``write_id``: remove what it added, add back what it removed — itself a
        write, validated, scoped and audited like any other.

        :raise WriteRefused: 404 no such write; 422 it removed blank nodes (which cannot be
            written back exactly).
        """
        found = audit.lookup(self.service.store, self.base, write_id, self.service.prefixes)
        if found is None:
            raise WriteRefused(404, f"no write {write_id!r} in the audit trail")
        if found.removed_blank:
            raise WriteRefused(422, f"write {write_id} removed blank-node triples, which cannot "
                                    "be written back exactly; restore that graph with a PUT "
                                    "from its removed quads in the audit trail instead")
        request = WriteRequest(kind="change", data=found.removed, removed=found.added)
        return self.write(token, request, operation="revert", text=f"revert {write_id}",
                          reverts=write_id)

    def close(self) -> None:
        """Stop the worker."""
        self.worker.close()
