"""Content negotiation: one function, :func:`choose`, for every response the server writes.

``Accept`` is read by werkzeug (:class:`~werkzeug.datastructures.MIMEAccept`, RFC 9110
§12.5.1): each offer takes the q-value of the most specific range that matches it
(``type/sub`` over ``type/*`` over ``*/*``), q=0 excludes it, and ties go to the server's
order. Two things are ours: parameters on a range (``; charset=utf-8``) are ignored, since
every answer is UTF-8 and clients add them freely; and the other names clients use for a
format (``application/json`` for SPARQL JSON results…, listed in :mod:`mckg.rdf.formats`) count
only when a client names them exactly, never through a wildcard.

An explicit ``format`` (or ``output``/``results``, which SPARQLWrapper sends alongside it,
possibly twice with a short name and a media type) wins over ``Accept``. Nothing is silently
substituted: no acceptable format means 406 (docs/endpoint.md, HTTP) — except for error
messages, which are always written, in plain text if nothing else fits.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence

from flask import request
from werkzeug.datastructures import MIMEAccept, MultiDict
from werkzeug.exceptions import NotAcceptable
from werkzeug.http import parse_accept_header

from ..rdf.formats import FORMATS, RESULT_FORMATS

#: Query parameters that name an output format (SPARQLWrapper sends all three).
FORMAT_PARAMS = ("format", "output", "results")

HTML = "text/html"
PLAIN = "text/plain"
PROBLEM = "application/problem+json"

#: Other names a client may give an offer, when it names them exactly. The formats' own come
#: from :mod:`mckg.rdf.formats`; an error report is JSON to a client that reads any JSON, and a
#: name starting with ``+`` is a structured syntax suffix (RFC 6839: ``…+json``).
_ALIASES: Mapping[str, tuple[str, ...]] = {
    **{f.media_type: f.aliases for f in (*RESULT_FORMATS, *FORMATS)},
    PROBLEM: ("application/json", "+json"),
}

#: At most this many ranges of an ``Accept`` header are considered (a bound against abuse).
MAX_RANGES = 64


def _short_names() -> dict[str, tuple[str, ...]]:
    """Short names for ``format=`` (``json``, ``ttl``…), from the format tables.

    A name may mean a results format and an RDF format (``json``, ``xml``); results come
    first, and the caller keeps the first that fits the answer.
    """
    names: dict[str, list[str]] = {"html": [HTML]}
    spelled: list[tuple[str, tuple[str, ...]]] = [
        *((r.media_type, (r.name, r.suffix)) for r in RESULT_FORMATS),
        *((f.media_type, (f.name, *f.names, f.suffix, *f.suffixes)) for f in FORMATS)]
    for media_type, spellings in spelled:
        for name in spellings:
            types = names.setdefault(name.lstrip("."), [])
            if media_type not in types:
                types.append(media_type)
    return {name: tuple(types) for name, types in names.items()}


_SHORT_NAMES = _short_names()


def format_values(params: MultiDict[str, str]) -> list[str]:
    """The values of every format parameter in ``params``, in the order of :data:`FORMAT_PARAMS`."""
    return [value for name in FORMAT_PARAMS for value in params.getlist(name)]


def client_accept(header: MIMEAccept | None = None) -> MIMEAccept:
    """The request's ``Accept`` (or ``header``), with parameters dropped and its size bounded.

    Ranges without a slash cannot match anything; a header with nothing else is treated
    as absent, as a header that says nothing usable should be.
    """
    parsed = request.accept_mimetypes if header is None else header
    ranges = [(item.split(";", 1)[0].strip().lower(), q) for item, q in parsed]
    return MIMEAccept([(item, q) for item, q in ranges if "/" in item][:MAX_RANGES])


def _named(alias: str, item: str) -> bool:
    return item == alias or (alias.startswith("+") and item.endswith(alias))


def quality(accept: MIMEAccept, offer: str) -> float:
    """The q-value ``accept`` gives ``offer``: its own by specificity, or an alias named exactly."""
    q = accept.quality(offer)
    for alias in _ALIASES.get(offer, ()):
        q = max([q, *(item_q for item, item_q in accept if _named(alias, item))])
    return q


def _by_format(values: Iterable[str], offers: Sequence[str]) -> tuple[bool, str | None]:
    """Read ``format``-like values: (any given?, the offer the first fitting one names)."""
    given = False
    for raw in values:
        value = raw.split(";", 1)[0].strip().lower()
        if not value:
            continue
        given = True
        if "/" in value:
            candidates = tuple(o for o in offers if value == o or value in _ALIASES.get(o, ()))
        else:
            candidates = _SHORT_NAMES.get(value, ())
        chosen = next((c for c in candidates if c in offers), None)
        if chosen is not None:
            return True, chosen
    return given, None


def _by_accept(accept: MIMEAccept, offers: Sequence[str]) -> str | None:
    """The offer ``accept`` prefers (the first of the best); any offer when it says nothing."""
    if not accept:
        return offers[0]
    best, best_q = None, 0.0
    for offer in offers:  # strict > keeps the earlier offer: the server's order breaks ties
        q = quality(accept, offer)
        if q > best_q:
            best, best_q = offer, q
    return best


@functools.lru_cache(maxsize=512)
def _preferred(header: str, offers: tuple[str, ...]) -> str | None:
    """:func:`_by_accept` for a raw ``Accept`` header, remembered (bounded): clients send the
    same few headers, and parsing and weighing one costs more than a small query."""
    parsed = parse_accept_header(header, MIMEAccept)
    return _by_accept(client_accept(parsed), offers)


def choose(offers: Sequence[str], *, formats: Iterable[str] = (), accept: MIMEAccept | None = None,
           fallback: str | None = None) -> str:
    """The media type to answer with, among ``offers`` (in the server's order of preference).

    ``formats`` are the values of the request's format parameters, which win over ``Accept``;
    ``accept`` defaults to the request's. When nothing fits, ``fallback`` is the answer — or,
    without one, the request is refused.

    :raise NotAcceptable: nothing the client accepts is offered, and no fallback.
    """
    if not offers:
        raise ValueError("nothing to offer")
    given, chosen = _by_format(formats, offers)
    if chosen is None and not given:
        if accept is None:  # the request's own header: the same few values come again and again
            chosen = _preferred(request.headers.get("Accept", ""), tuple(offers))
        else:
            chosen = _by_accept(client_accept(accept), offers)
    if chosen is not None:
        return chosen
    if fallback is not None:
        return fallback
    asked = "the requested format=" if given else "none of the formats in Accept"
    raise NotAcceptable(f"{asked} fits this answer; available: {', '.join(offers)}")


def content_type(media_type: str) -> str:
    """The ``Content-Type`` for an answer in ``media_type``, which is UTF-8 text.

    JSON and XML documents carry their own encoding (RFC 8259 makes JSON UTF-8; XML says so
    in its declaration); every other text format states ``charset=utf-8``, since HTTP would
    otherwise leave ``text/*`` to be guessed.
    """
    if media_type.endswith(("json", "xml")):
        return media_type
    return media_type + "; charset=utf-8"
