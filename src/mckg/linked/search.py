"""Label search over the graph: find a resource by any of its names or its IRI's last segment.

The names come from the ``ld-labels`` query (labels, preferred labels, titles, names, acronyms,
citation keys), read once into the index; matching is then done here, so results can be ranked
(exact name, then prefix, then word prefix, then substring) rather than listed in store order.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .index import GraphIndex, Link, fallback_label

#: At most this many hits are returned; a search box is not a query language.
MAX_HITS = 50
#: Queries longer than this are cut (a bound against abuse).
MAX_QUERY = 200


@dataclass(frozen=True)
class Hit:
    """One search result: the resource, the name that matched and its types."""

    link: Link
    matched: str
    types: tuple[Link, ...]
    rank: int


def fold(text: str) -> str:
    """Lower case without accents, so ``fernuniversitat`` finds *FernUniversität*."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _rank(needle: str, name: str) -> int | None:
    hay = fold(name)
    if hay == needle:
        return 0
    if hay.startswith(needle):
        return 1
    if any(word.startswith(needle) for word in hay.replace("-", " ").split()):
        return 2
    if needle in hay:
        return 3
    return None


def search(index: GraphIndex, query: str, *, limit: int = MAX_HITS) -> list[Hit]:
    """Resources whose names (or IRI's last segment) contain ``query``, best first."""
    needle = fold(query.strip()[:MAX_QUERY])
    if not needle:
        return []
    base = index.runner.base
    best: dict[str, tuple[int, str]] = {}
    candidates = index.all_labels() + [(iri, fallback_label(iri, base))
                                        for iri in index.types() if iri.startswith(base)]
    for iri, name in candidates:
        rank = _rank(needle, name)
        if rank is not None and (iri not in best or rank < best[iri][0]):
            best[iri] = (rank, name)
    types = index.types()
    ordered = sorted(best.items(), key=lambda kv: (kv[1][0], not kv[0].startswith(base),
                                                   index.label(kv[0]).casefold()))
    return [Hit(index.link(iri), name, tuple(index.link(t) for t in types.get(iri, [])), rank)
            for iri, (rank, name) in ordered[:limit]]
