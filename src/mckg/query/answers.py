"""Repeated questions cost nothing: serialized answers kept by what determines them.

A read-mostly graph is asked the same queries again and again (the query page's examples, the
comparison, resource pages, dashboards polling the endpoint). An answer depends only on the
store's contents and on the job — query text, dataset, output format, limits and base IRI —
so :class:`AnswerCache` keeps the bytes of recent answers under a digest of those, and the
query service stamps every key with the store's **version** (:attr:`QueryService.version`):
a write moves the version on, which makes every earlier entry unreachable, and the cache is
emptied at the same moment so that they do not hold memory either.

The cache is bounded in bytes (least recently used out first); an answer larger than an
eighth of it is not kept, so that one big answer cannot flush the many small ones.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

#: Share of the cache one answer may take at most.
LARGEST_SHARE = 8

T = TypeVar("T")


def digest(*parts: object) -> str:
    """A 128-bit hex digest of ``parts`` (their ``repr``), for keys and entity tags."""
    text = repr(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).hexdigest()


@dataclass
class CacheStats:
    """Counters for the log and the benchmarks."""

    hits: int = 0
    misses: int = 0
    entries: int = 0
    size: int = 0


class AnswerCache(Generic[T]):
    """An LRU map from keys to answers, bounded by the answers' total size in bytes.

    Thread-safe: request threads share it.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, max_bytes)
        self._entries: OrderedDict[str, tuple[T, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.stats = CacheStats()

    @property
    def enabled(self) -> bool:
        """Whether anything is kept at all (``answer_cache`` > 0)."""
        return self.max_bytes > 0

    def get(self, key: str) -> T | None:
        """The answer kept under ``key`` (now the most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return entry[0]

    def put(self, key: str, answer: T, size: int) -> None:
        """Keep ``answer`` (``size`` bytes) unless it is too large; evict the least used."""
        if not self.enabled or size > self.max_bytes // LARGEST_SHARE:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._entries[key] = (answer, size)
            self._size += size
            while self._size > self.max_bytes and self._entries:  # bounded by the entries
                _, (_, evicted) = self._entries.popitem(last=False)
                self._size -= evicted
            self.stats.entries, self.stats.size = len(self._entries), self._size

    def clear(self) -> None:
        """Forget every answer (the store changed)."""
        with self._lock:
            self._entries.clear()
            self._size = 0
            self.stats.entries, self.stats.size = 0, 0
