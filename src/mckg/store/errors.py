"""What can go wrong in a store, by kind — never by HTTP status.

The store layer says *what* failed; :mod:`mckg.web.errors` alone decides which HTTP status that
is (and the command line prints the message with exit status 2). Each kind is a subclass, so a
caller catches :class:`StoreError` for all of them or one kind where it can do something about it
(``provision`` creates a store that is :class:`StoreMissing`, a CLI retry waits on
:class:`StoreLocked`).
"""

from __future__ import annotations


class StoreError(Exception):
    """The store failed (corrupt, full, an engine error): not the caller's fault."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class StoreInputError(StoreError):
    """The caller gave the store something invalid: an IRI, data, a graph it may not fill."""


class StoreReadOnly(StoreError):
    """A write was asked of a read-only handle."""


class StoreLocked(StoreError):
    """Another process holds the store (a writer, or a server while a writer is wanted)."""


class StoreMissing(StoreError):
    """There is no store at that location yet."""


class StoreUnavailable(StoreError):
    """A remote store could not be reached or answered with an error of its own."""


class StoreTimeout(StoreUnavailable):
    """A remote store did not answer in time."""


#: Every kind by class name: how a worker process reports an error across its pipe.
KINDS: dict[str, type[StoreError]] = {
    cls.__name__: cls for cls in (StoreError, StoreInputError, StoreReadOnly, StoreLocked,
                                  StoreMissing, StoreUnavailable, StoreTimeout)
}
