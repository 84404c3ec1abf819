"""Query answers in one neutral shape, serialized natively by pyoxigraph on every store.

Every backend hands back a :class:`NativeResult` holding pyoxigraph objects (Oxigraph's own
results as they are; remote endpoints' parsed once). Serialization is then one code path,
written in Rust, for all stores: converting terms to rdflib and serializing with rdflib on the
hot path was measured at 1.6–1.8× the time of the whole request.

**The result limit** is applied without Python touching rows: results are first written as
TSV (or N-Triples for graphs) — formats with exactly one row (triple) per line, because
newlines and tabs inside literals are escaped — into a sink that stops the serializer (and
with it Oxigraph's lazy evaluation) once one row more than the limit has arrived. Cut at the
limit, the TSV is parsed back and written in the requested format. When the query's own
top-level ``LIMIT`` already bounds the answer, it is written directly.

**The byte limit** (``max_bytes``, the setting ``result_bytes``) bounds the answer's size the
same way: the sink also stops at that many bytes and keeps the complete lines (rows) before
it, and the answer says it was cut exactly as for the row limit (``truncated``). When the
requested format is larger than the TSV or N-Triples it is written from (JSON, XML), rows are
dropped from the end until it fits. (128 rows of 1 MiB literals made a 128 MiB answer to a
995-byte query.) An answer written directly (the query's own ``LIMIT``) that grows past the
limit cannot be cut — half a JSON document is no answer — so :class:`AnswerTooLarge` asks the
caller to evaluate the query again through the sink.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, cast

import pyoxigraph as ox
from rdflib import Graph

from ..rdf.files import serialize
from ..rdf.formats import FORMATS as RDF_FORMATS
from ..rdf.formats import RESULT_MEDIA_TYPES, RdfFormat, rdf_format, result_format
from .errors import StoreError

_GRAPH_BY_MEDIA_TYPE: dict[str, RdfFormat] = {f.media_type: f for f in RDF_FORMATS}

#: Media types a SELECT or ASK answer can be written in, in the server's order of preference.
RESULT_OUTPUTS: tuple[str, ...] = tuple(RESULT_MEDIA_TYPES)
#: Media types a CONSTRUCT or DESCRIBE answer can be written in, in order of preference.
GRAPH_OUTPUTS: tuple[str, ...] = tuple(f.media_type for f in RDF_FORMATS)


def outputs_for(form: str) -> tuple[str, ...]:
    """The media types an answer of query form ``form`` can be written in."""
    return RESULT_OUTPUTS if form in ("SELECT", "ASK") else GRAPH_OUTPUTS


@dataclass
class NativeResult:
    """One query's answer as pyoxigraph objects. Single use: serializing consumes it."""

    form: str
    boolean: bool | None = None
    solutions: ox.QuerySolutions | None = None
    triples: Iterable[ox.Triple] | ox.QueryTriples | None = None
    #: The query's own top-level LIMIT; at or under the result limit no counting is needed.
    query_limit: int | None = None
    #: The store already cut the answer at the result limit (rdflib conversion does).
    truncated: bool = False

    def single_value(self) -> str | None:
        """The value of the first variable of the first row (for COUNT queries), or None."""
        try:
            for solution in self.solutions or ():
                term = solution[0]
                return None if term is None else str(getattr(term, "value", term))
            return None
        finally:
            self.release()

    def release(self) -> None:
        """Drop the pyoxigraph objects now, in this thread.

        They may not be freed by another thread (pyo3 "unsendable"), which the cyclic garbage
        collector can do if this result ends up in a reference cycle (rdflib's evaluation
        leaves frames in cycles).
        """
        self.solutions = None
        self.triples = None


@dataclass(frozen=True)
class Serialized:
    """Bytes of one answer, their media type, and whether the result limit cut them."""

    body: bytes
    media_type: str
    truncated: bool


class _Enough(Exception):
    """Raised inside the sink to stop a serializer once enough lines have arrived."""


class AnswerTooLarge(Exception):
    """An answer written directly (bounded by the query's own ``LIMIT``) passed the byte
    limit: evaluate the query again without relying on its ``LIMIT``, so that the answer goes
    through the sink that can cut it."""


#: No limit on bytes (the server's own queries: a page needs the whole answer).
UNLIMITED = 2**62


class _LineSink(io.RawIOBase):
    """A write-only byte sink that keeps at most ``max_lines`` lines and ``max_bytes`` bytes,
    then stops the writer."""

    def __init__(self, max_lines: int, max_bytes: int = UNLIMITED) -> None:
        super().__init__()
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.lines = 0
        self.size = 0
        self.chunks: list[bytes] = []
        self.overflow = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.chunks.append(chunk)
        self.lines += chunk.count(b"\n")
        self.size += len(chunk)
        if self.lines > self.max_lines or self.size > self.max_bytes:
            self.overflow = True
            raise _Enough
        return len(chunk)

    def kept(self, *, keep: int = 0) -> bytes:
        """The first complete lines: at most ``max_lines``, ending within ``max_bytes``.

        The first ``keep`` lines (a header) are kept even past ``max_bytes``.
        """
        data = b"".join(self.chunks)
        if not self.overflow:
            return data
        end = -1
        for line in range(self.max_lines):  # bounded by max_lines
            following = data.find(b"\n", end + 1)
            if following < 0 or (following >= self.max_bytes and line >= keep):
                break
            end = following
        return data[: end + 1]


def _lines(data: bytes, count: int) -> bytes:
    """The first ``count`` lines of ``data``."""
    end = -1
    for _ in range(count):  # bounded by count
        following = data.find(b"\n", end + 1)
        if following < 0:
            return data
        end = following
    return data[: end + 1]


def _fit(lines: bytes, convert: Callable[[bytes], bytes], *, max_bytes: int,
         header: int) -> tuple[bytes, bool]:
    """``convert(lines)``, with rows dropped from the end until it is at most ``max_bytes``.

    ``lines`` is TSV (``header`` = 1) or N-Triples (0). Bounded: after three proportional
    shrinks, the answer keeps no row at all. Returns the bytes and whether rows were dropped.
    """
    body = convert(lines)
    rows = lines.count(b"\n") - header
    dropped = False
    for _ in range(3):  # bounded
        if len(body) <= max_bytes or rows <= 0:
            return body, dropped
        rows = min(rows - 1, int(rows * max_bytes / len(body) * 0.9))
        body, dropped = convert(_lines(lines, header + max(rows, 0))), True
    if len(body) > max_bytes:
        body, dropped = convert(_lines(lines, header)), True
    return body, dropped


def _bounded(result: NativeResult, limit: int) -> bool:
    return result.query_limit is not None and result.query_limit <= limit


def _write_solutions(solutions: ox.QuerySolutions, media_type: str, *, limit: int,
                     max_bytes: int, bounded: bool) -> tuple[bytes, bool]:
    found = result_format(media_type)
    assert found is not None
    fmt = found.oxigraph
    if bounded:
        direct = _LineSink(UNLIMITED, max_bytes)
        with contextlib.suppress(_Enough):
            solutions.serialize(cast(IO[bytes], direct), fmt)
        if direct.overflow:
            raise AnswerTooLarge
        return direct.kept(), False
    sink = _LineSink(limit + 1, max_bytes)  # the header line, then the rows
    with contextlib.suppress(_Enough):
        solutions.serialize(cast(IO[bytes], sink), ox.QueryResultsFormat.TSV)
    tsv = sink.kept(keep=1)
    if fmt == ox.QueryResultsFormat.TSV:
        return tsv, sink.overflow

    def convert(lines: bytes) -> bytes:
        again = ox.parse_query_results(lines, ox.QueryResultsFormat.TSV)
        assert isinstance(again, ox.QuerySolutions)
        return again.serialize(format=fmt) or b""

    body, dropped = _fit(tsv, convert, max_bytes=max_bytes, header=1)
    return body, sink.overflow or dropped


def used_prefixes(body: bytes, prefixes: Mapping[str, str]) -> dict[str, str]:
    """The prefixes whose namespace occurs in ``body`` (so outputs declare only those)."""
    return {name: iri for name, iri in prefixes.items() if iri.encode("utf-8") in body}


def _write_graph(result: NativeResult, fmt: RdfFormat, *, limit: int, max_bytes: int,
                 bounded: bool, prefixes: Mapping[str, str],
                 context: Mapping[str, Any] | None) -> tuple[bytes, bool]:
    triples = result.triples if result.triples is not None else ()
    sink = _LineSink(UNLIMITED if bounded else limit, max_bytes)
    with contextlib.suppress(_Enough):
        if isinstance(triples, ox.QueryTriples):
            triples.serialize(cast(IO[bytes], sink), ox.RdfFormat.N_TRIPLES)
        else:
            ox.serialize(triples, cast(IO[bytes], sink), ox.RdfFormat.N_TRIPLES)
    nt, truncated = sink.kept(), sink.overflow or result.truncated
    if fmt.name == "nt":
        return nt, truncated

    def convert(lines: bytes) -> bytes:
        if fmt.name == "json-ld":
            return _json_ld(lines, context)
        quads: Iterator[ox.Quad] = ox.parse(lines, ox.RdfFormat.N_TRIPLES)
        assert fmt.oxigraph is not None
        used = used_prefixes(lines, prefixes)
        return ox.serialize(quads, format=fmt.oxigraph, prefixes=used) or b""

    body, dropped = _fit(nt, convert, max_bytes=max_bytes, header=0)
    return body, truncated or dropped


def _json_ld(nt: bytes, context: Mapping[str, Any] | None) -> bytes:
    """JSON-LD compacted with the project's context: rdflib's serializer does the compaction."""


    graph = Graph()
    graph.parse(data=nt, format="nt")
    return serialize(graph, rdf_format("json-ld"), context=dict(context) if context else None)


def serialize_result(result: NativeResult, media_type: str, *, limit: int,
                     max_bytes: int = UNLIMITED, prefixes: Mapping[str, str] | None = None,
                     context: Mapping[str, Any] | None = None) -> Serialized:
    """Write ``result`` as ``media_type``, keeping at most ``limit`` rows or triples, and at
    most ``max_bytes`` bytes.

    :raise ValueError: ``media_type`` does not fit the result's query form.
    :raise AnswerTooLarge: a SELECT answer bounded by its own ``LIMIT`` passed ``max_bytes``;
        evaluate the query again with ``query_limit`` unset (see the module docstring).
    :raise StoreError: the store failed while the answer was read (Oxigraph evaluates lazily,
        so a damaged block is found here, not when the query starts).
    """
    try:
        return _serialize(result, media_type, limit=limit, max_bytes=max_bytes,
                          prefixes=prefixes, context=context)
    except (RuntimeError, OSError) as exc:
        raise StoreError(f"the store failed while the answer was read ({str(exc)[:300]}); "
                         "`mckg store check` tells whether it is damaged") from None
    finally:
        result.release()


def _serialize(result: NativeResult, media_type: str, *, limit: int, max_bytes: int,
               prefixes: Mapping[str, str] | None,
               context: Mapping[str, Any] | None) -> Serialized:
    bounded = _bounded(result, limit)
    if result.form == "ASK":
        found = result_format(media_type)
        if found is None:
            raise ValueError(f"an ASK answer cannot be written as {media_type}")
        payload = b'{"head":{},"boolean":%s}' % (b"true" if result.boolean else b"false")
        answer = ox.parse_query_results(payload, ox.QueryResultsFormat.JSON)
        return Serialized(answer.serialize(format=found.oxigraph) or b"",
                          media_type, False)
    if result.form == "SELECT":
        if result_format(media_type) is None:
            raise ValueError(f"a SELECT answer cannot be written as {media_type}")
        assert result.solutions is not None
        body, truncated = _write_solutions(result.solutions, media_type, limit=limit,
                                           max_bytes=max_bytes, bounded=bounded)
        return Serialized(body, media_type, truncated or result.truncated)
    fmt = _GRAPH_BY_MEDIA_TYPE.get(media_type)
    if fmt is None:
        raise ValueError(f"a {result.form} answer cannot be written as {media_type}")
    body, truncated = _write_graph(result, fmt, limit=limit, max_bytes=max_bytes,
                                   bounded=bounded, prefixes=prefixes or {}, context=context)
    return Serialized(body, media_type, truncated)
