"""Content negotiation: the ``Accept`` header with q-values, and the ``format`` parameters.

``Accept`` is read as RFC 9110 §12.5.1 says: each offer takes the q-value of the most specific
range that matches it (``type/sub`` over ``type/*`` over ``*/*``), q=0 excludes, ties go to
the server's order. An explicit ``format`` (or ``output``/``results``, which SPARQLWrapper
sends alongside it, possibly twice with a short name and a media type) wins over ``Accept``.
Nothing is silently substituted: no acceptable format means 406 (design notes, pitfalls).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Query parameters that name an output format (SPARQLWrapper sends all three).
FORMAT_PARAMS = ("format", "output", "results")

HTML = "text/html"

#: Other names clients use for our media types, by kind of answer.
_RESULT_ALIASES = {
    "application/sparql-results+json": ("application/json", "text/json"),
    "application/sparql-results+xml": ("application/xml", "text/xml"),
    "text/csv": (),
    "text/tab-separated-values": (),
}
_GRAPH_ALIASES = {
    "text/turtle": ("application/x-turtle", "text/n3", "text/rdf+n3"),
    "application/n-triples": ("text/plain",),
    "application/ld+json": ("application/json",),
    "application/rdf+xml": ("application/xml", "text/xml"),
    "application/trig": (),
    "application/n-quads": (),
}

#: Short names accepted in ``format=``; the first entry that fits the answer's kind wins.
_SHORT_NAMES: dict[str, tuple[str, ...]] = {
    "json": ("application/sparql-results+json", "application/ld+json"),
    "srj": ("application/sparql-results+json",),
    "xml": ("application/sparql-results+xml", "application/rdf+xml"),
    "srx": ("application/sparql-results+xml",),
    "csv": ("text/csv",),
    "tsv": ("text/tab-separated-values",),
    "turtle": ("text/turtle",), "ttl": ("text/turtle",), "n3": ("text/turtle",),
    "nt": ("application/n-triples",), "ntriples": ("application/n-triples",),
    "n-triples": ("application/n-triples",),
    "json-ld": ("application/ld+json",), "jsonld": ("application/ld+json",),
    "rdf": ("application/rdf+xml",), "rdf+xml": ("application/rdf+xml",),
    "rdfxml": ("application/rdf+xml",), "owl": ("application/rdf+xml",),
    "trig": ("application/trig",),
    "nq": ("application/n-quads",), "nquads": ("application/n-quads",),
    "n-quads": ("application/n-quads",),
    "html": (HTML,),
}

#: At most this many ranges of an Accept header are read (a bound against abuse).
MAX_RANGES = 64


@dataclass(frozen=True)
class MediaRange:
    """One range of an ``Accept`` header."""

    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int:
        """2 exact, 1 ``type/*``, 0 ``*/*``, -1 no match."""
        kind, _, sub = media_type.partition("/")
        if self.type == "*" and self.subtype == "*":
            return 0
        if self.type == kind and self.subtype == "*":
            return 1
        if self.type == kind and self.subtype == sub:
            return 2
        return -1


def parse_accept(header: str | None) -> list[MediaRange]:
    """Parse an ``Accept`` header leniently: malformed ranges are skipped."""
    ranges: list[MediaRange] = []
    for part in (header or "").split(",")[:MAX_RANGES]:
        pieces = [p.strip() for p in part.split(";")]
        kind, slash, sub = pieces[0].lower().partition("/")
        if not slash or not kind or not sub:
            continue
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(value.strip())))
                except ValueError:
                    q = 0.0
        ranges.append(MediaRange(kind, sub, q))
    return ranges


def quality(ranges: Sequence[MediaRange], media_type: str) -> float:
    """The q-value ``ranges`` give ``media_type`` (from the most specific matching range)."""
    best, q = -1, 0.0
    for r in ranges:
        spec = r.specificity(media_type)
        if spec > best or (spec == best and r.q > q):
            best, q = spec, r.q
    return q if best >= 0 else 0.0


def _names(offer: str) -> tuple[str, ...]:
    aliases = _RESULT_ALIASES.get(offer) or _GRAPH_ALIASES.get(offer) or ()
    return (offer, *aliases)


def choose(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer ``accept`` prefers, or None if it accepts none. No header accepts anything."""
    if not offers:
        return None
    if accept is None or not accept.strip():
        return offers[0]
    ranges = parse_accept(accept)
    if not ranges:
        return offers[0]
    best, best_q = None, 0.0
    for offer in offers:  # server order breaks ties: strict > keeps the earlier offer
        q = quality(ranges, offer)
        for alias in _names(offer)[1:]:  # aliases count only when named exactly
            q = max([q] + [r.q for r in ranges if r.specificity(alias) == 2])
        if q > best_q:
            best, best_q = offer, q
    return best


def from_format_param(values: Iterable[str], offers: Sequence[str]) -> tuple[bool, str | None]:
    """Read ``format``/``output``/``results`` values: (any given?, the offer they name or None).

    Values may be short names (``json``, ``turtle``…) or media types; the first that names
    one of ``offers`` wins.
    """
    given = False
    for raw in values:
        value = raw.strip().lower().split(";")[0].strip()
        if not value:
            continue
        given = True
        candidates = _SHORT_NAMES.get(value, ())
        if "/" in value:
            candidates = tuple(o for o in offers if value in _names(o))
        for candidate in candidates:
            if candidate in offers:
                return True, candidate
    return given, None
