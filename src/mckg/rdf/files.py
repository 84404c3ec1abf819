"""Reading and writing RDF files safely, with errors that name the file, line and column.

Formats are looked up in :mod:`mckg.rdf.formats`. Every reader of mckg — ``mckg load``, the
build behind ``mckg serve --file`` and ``mckg validate`` — goes through this module, so a file
is accepted or refused the same way, with the same message, whichever command reads it:

- **Turtle, N-Triples, N-Quads and TriG are read by Oxigraph's parser** (:func:`read_statements`),
  in one pass, in time linear in the file: syntax errors and invalid UTF-8 come back as
  ``file:line: column C: …``, and each statement's line is known (the parser is fed a line at a
  time, :class:`LineReader`) for the checks below. rdflib's own text parsers are not used: they
  report some errors without a line, accept some invalid input and are quadratic in the length
  of a literal.
- **Literals longer than** :data:`MAX_LITERAL_BYTES` are refused with their position.
- **Ill-typed literals** (``"abc"^^xsd:integer``: a lexical form outside its XSD datatype's
  lexical space, :func:`ill_typed`) are counted with their positions
  (:class:`IllTypedLiterals`), not refused: RDF allows them and stores keep them as they are;
  ``mckg validate`` reports them as violations, ``mckg load`` and ``mckg serve`` as a warning.
- **JSON-LD and RDF/XML are parsed by rdflib with hardened parsers, and nothing is ever
  fetched**: every JSON-LD context rdflib would fetch, at any level (the document's, a term's,
  a type's, an ``@import``), goes through one document loader that answers the project's own
  context and the two contexts European Digital Credentials name (Verifiable Credentials v1 and
  ELM's EDC profile, :data:`KNOWN_CONTEXTS`) from the package and refuses every other URL;
  RDF/XML is read by an expat reader that refuses any DTD wherever it appears, so no entity is
  declared, expanded or opened.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gzip
import io
import json
import logging
import re
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.sax import SAXParseException, handler
from xml.sax.expatreader import ExpatParser

import pyoxigraph as ox
from rdflib import Dataset, Graph, plugin
from rdflib.parser import InputSource
from rdflib.parser import Parser as RdflibParser
from rdflib.plugins.parsers.jsonld import JsonLDParser
from rdflib.plugins.parsers.rdfxml import ErrorHandler, RDFXMLHandler, RDFXMLParser
from rdflib.plugins.shared.jsonld import context as _jsonld_context
from rdflib.term import Literal

from ..resources import resource_dir
from .formats import RdfFormat, rdf_format_for_suffix
from .terms import from_oxigraph

#: The project's own JSON-LD context and the address it is published at.
CONTEXT_FILE_NAME = "context.jsonld"
#: The longest literal accepted, in UTF-8 bytes of its lexical form (1 MiB). Longer ones are
#: refused with their position: nothing in a knowledge graph of policy needs more, and the
#: parsers, the reasoner and SHACL slow down with literal length.
MAX_LITERAL_BYTES = 1 << 20
#: Ill-typed literals whose positions are kept (the rest are counted).
KEEP_ILL_TYPED = 10


class DataError(Exception):
    """A file or text could not be read as RDF. ``str()`` gives ``file:line: column C: message``."""

    def __init__(self, source: str, message: str, line: int | None = None,
                 column: int | None = None) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.message = message
        where = f"{source}:{line}" if line else source
        if line and column:
            where += f": column {column}"
        super().__init__(f"{where}: {message}")


def format_for_path(path: Path) -> RdfFormat:
    """Guess a file's format from its suffix (a trailing ``.gz`` is looked through).

    :raise DataError: the suffix is not an RDF one.
    """
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = rdf_format_for_suffix(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise DataError(str(path), "unknown RDF file type (expected .ttl, .nt, .nq, .trig, "
                        ".jsonld, .rdf, optionally .gz)")
    return fmt


# ---- ill-typed literals ----------------------------------------------------------------------

_XSD = "http://www.w3.org/2001/XMLSchema#"
_TZ = r"(?:Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))?"
_YEAR = r"-?(?:[1-9]\d{3,}|0\d{3})"
_MONTH = r"(?:0[1-9]|1[0-2])"
_DAY = r"(?:0[1-9]|[12]\d|3[01])"
_TIME = r"(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?|24:00:00(?:\.0+)?)"
_INTEGER = r"[+-]?\d+"
_DECIMAL = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_FLOAT = r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|INF)|NaN"
_DAY_TIME = r"(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?"
#: The lexical space of each XSD datatype checked, as in XSD 1.1 Part 2 (whitespace is not
#: part of a lexical form in RDF 1.1). String-like types (string, token, anyURI …) accept
#: (nearly) anything and are not checked.
_LEXICAL: dict[str, re.Pattern[str]] = {_XSD + name: re.compile(pattern) for name, pattern in {
    "boolean": r"true|false|1|0",
    "decimal": _DECIMAL,
    "float": _FLOAT,
    "double": _FLOAT,
    **dict.fromkeys(["integer", "nonPositiveInteger", "negativeInteger", "long", "int", "short",
                     "byte", "nonNegativeInteger", "unsignedLong", "unsignedInt",
                     "unsignedShort", "unsignedByte", "positiveInteger"], _INTEGER),
    "dateTime": f"({_YEAR})-({_MONTH})-({_DAY})T{_TIME}{_TZ}",
    "dateTimeStamp": f"({_YEAR})-({_MONTH})-({_DAY})T{_TIME}(?:Z|[+-](?:(?:0\\d|1[0-3]):[0-5]\\d|14:00))",
    "date": f"({_YEAR})-({_MONTH})-({_DAY}){_TZ}",
    "time": f"{_TIME}{_TZ}",
    "gYear": f"{_YEAR}{_TZ}",
    "gYearMonth": f"{_YEAR}-{_MONTH}{_TZ}",
    "gMonth": f"--{_MONTH}{_TZ}",
    "gDay": f"---{_DAY}{_TZ}",
    "gMonthDay": f"--()({_MONTH})-({_DAY}){_TZ}",
    "duration": r"-?P(?=\d|T\d)(?:\d+Y)?(?:\d+M)?" + _DAY_TIME,
    "yearMonthDuration": r"-?P(?=\d)(?:\d+Y)?(?:\d+M)?",
    "dayTimeDuration": r"-?P(?=\d|T\d)" + _DAY_TIME,
    "hexBinary": r"(?:[0-9a-fA-F]{2})*",
    "base64Binary": r"(?:[A-Za-z0-9+/] ?)*(?:= ?){0,2}",
    "language": r"[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*",
}.items()}
#: Value ranges of the bounded integer types (None: unbounded on that side).
_RANGES: dict[str, tuple[int | None, int | None]] = {_XSD + name: bounds for name, bounds in {
    "nonPositiveInteger": (None, 0), "negativeInteger": (None, -1),
    "long": (-(2**63), 2**63 - 1), "int": (-(2**31), 2**31 - 1), "short": (-(2**15), 2**15 - 1),
    "byte": (-128, 127), "nonNegativeInteger": (0, None), "unsignedLong": (0, 2**64 - 1),
    "unsignedInt": (0, 2**32 - 1), "unsignedShort": (0, 65535), "unsignedByte": (0, 255),
    "positiveInteger": (1, None),
}.items()}


def _in_range(lexical: str, low: int | None, high: int | None) -> bool:
    """Whether an integer's lexical form is within the bounds (no int() of huge digit strings)."""
    digits = lexical.lstrip("+-").lstrip("0")
    negative = lexical.startswith("-") and digits != ""
    if len(digits) > 20:  # beyond every bounded type; the sign decides for the unbounded
        return (low is None or negative is False) and (high is None or negative)
    value = -int(digits or "0") if negative else int(digits or "0")
    return (low is None or value >= low) and (high is None or value <= high)


def _valid_day(year: str, month: str, day: str) -> bool:
    """February 29th in leap years only, the 31st in long months only (proleptic Gregorian)."""
    y, m, d = int(year or "2000"), int(month), int(day)
    if m == 2:
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        return d <= (29 if leap else 28)
    return d <= (30 if m in (4, 6, 9, 11) else 31)


def ill_typed(lexical: str, datatype: str) -> bool:
    """Whether ``lexical`` is outside the lexical space of the XSD ``datatype`` (an IRI).

    Datatypes that are not checked (not XSD, or string-like) are never ill-typed.
    """
    pattern = _LEXICAL.get(datatype)
    if pattern is None:
        return False
    match = pattern.fullmatch(lexical)
    if match is None:
        return True
    if datatype in _RANGES:
        return not _in_range(lexical, *_RANGES[datatype])
    if pattern.groups == 3:  # a date: year, month, day
        return not _valid_day(*match.groups())
    return False


@dataclass(frozen=True)
class IllTyped:
    """One ill-typed literal and where it was read."""

    source: str
    line: int | None
    lexical: str
    datatype: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        shown = self.lexical if len(self.lexical) <= 40 else self.lexical[:40] + "…"
        name = ("xsd:" + self.datatype[len(_XSD):] if self.datatype.startswith(_XSD)
                else f"<{self.datatype}>")
        return f"{where}: {json.dumps(shown, ensure_ascii=False)} is not a valid {name}"


@dataclass
class IllTypedLiterals:
    """Ill-typed literals met while reading: all counted, the first :data:`KEEP_ILL_TYPED` kept."""

    count: int = 0
    first: list[IllTyped] = field(default_factory=list)

    def add(self, found: IllTyped) -> None:
        self.count += 1
        if len(self.first) < KEEP_ILL_TYPED:
            self.first.append(found)

    def summary(self) -> str:
        """One line: how many, and what that means for queries."""
        return (f"{self.count:,} ill-typed literal(s), kept as they are (SPARQL comparisons "
                "and sums over them fail): fix the lexical form or the datatype")

    def lines(self) -> list[str]:
        """The kept positions, one per line, and how many more there are."""
        out = [str(found) for found in self.first]
        if self.count > len(self.first):
            out.append(f"… and {self.count - len(self.first):,} more")
        return out


class _IllTypedCasts(logging.Filter):
    """Drop rdflib's traceback for every ill-typed literal it builds: they are reported here,
    with their file and line, by :class:`IllTypedLiterals`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to convert Literal lexical form")


logging.getLogger("rdflib.term").addFilter(_IllTypedCasts())


def _check_literal(value: str, datatype: str, source: str, line: int | None, max_literal: int,
                   found: IllTypedLiterals) -> None:
    """Refuse an oversized literal; count an ill-typed one.

    :raise DataError: the literal is longer than ``max_literal`` bytes.
    """
    if len(value) * 4 > max_literal:  # cheap first: a code point takes at most 4 bytes
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > max_literal:
            raise DataError(source, f"a literal of {size:,} bytes; the limit is {max_literal:,} "
                            "bytes per literal (store long texts as files and link them)", line)
    if datatype in _LEXICAL and ill_typed(value, datatype):
        found.add(IllTyped(source, line, value, datatype))


# ---- the text formats, read by Oxigraph -----------------------------------------------------

class LineReader:
    """A binary stream handed to the parser one line at a time, so the line it is on is known.

    Oxigraph's parsers give no position for the statements they yield; fed a line per read,
    the statement just yielded ends on :attr:`line`, the line of the last byte handed out
    (lines longer than 64 KiB come in pieces). Over a stream whose ``readline`` is native
    (``io.BufferedReader``, ``io.BytesIO``) this costs nothing measurable: a million lines in
    1.45 s of CPU against 1.48 s read in 1 MiB blocks (gzipped N-Triples).
    """

    CHUNK = 1 << 16

    def __init__(self, raw: IO[bytes]) -> None:
        self._readline = raw.readline
        self._at_start = True
        #: The line of the last byte handed out (0 before any).
        self.line = 0
        #: The last piece handed out (to place an error at the end of the file).
        self.last = b""

    def read(self, size: int = -1) -> bytes:
        data = self._readline(self.CHUNK if size < 0 or size > self.CHUNK else size)
        if data:
            if self._at_start:
                self.line += 1
            self._at_start = data[-1] == 10  # b"\n"
            self.last = data
        return data


_OX_POSITION = re.compile(r"^Parser error (?:at|between) [^:]*: ")
_OX_BUFFER = "buffer maximal size"


def _char_at(reopen: Callable[[], IO[bytes]] | None, line: int, column: int) -> str:
    """The character at ``line``:``column`` (1-based) of the data, or '' (error messages only)."""
    if reopen is None:
        return ""
    with contextlib.suppress(OSError, EOFError), reopen() as stream:
        for number, text in enumerate(stream, start=1):  # bounded by the file; errors only
            if number == line:
                decoded = text.decode("utf-8", "replace")
                return decoded[column - 1] if 0 < column <= len(decoded) else ""
    return ""


def _syntax_error(exc: SyntaxError, source: str, reader: LineReader,
                  reopen: Callable[[], IO[bytes]] | None) -> DataError:
    """Oxigraph's ``Parser error at line L column C: …`` as ``source:L: column C: …``.

    An end of file inside a token is reported where the token opens, saying what it is; an
    end of file after the last line, at the end of the last line.
    """
    text = str(exc.args[0]) if exc.args else str(exc)
    message = _OX_POSITION.sub("", text)
    line, column = exc.lineno, exc.offset
    at_end = message.startswith("Unexpected end")
    if at_end and text.startswith("Parser error between line") and line and column:
        what = {'"': "a string", "'": "a string", "<": "an IRI", "(": "a list",
                "[": "a blank node", "{": "a graph"}.get(_char_at(reopen, line, column), "a term")
        return DataError(source, f"{what} opened here is never closed: unexpected end of file",
                         line, column)
    if line and line > reader.line:  # just past a final newline: the end of the last line
        line = reader.line or 1
        column = len(reader.last.rstrip(b"\r\n").decode("utf-8", "replace")) + 1
    if at_end:
        message = "unexpected end of file: a statement, list or graph is not complete"
    return DataError(source, message, line, column)


def read_statements(stream: IO[bytes], fmt: RdfFormat, *, source: str,
                    base_iri: str | None = None, max_literal: int = MAX_LITERAL_BYTES,
                    ill_typed: IllTypedLiterals | None = None,
                    reopen: Callable[[], IO[bytes]] | None = None,
                    triple_terms: bool = True) -> Iterator[ox.Quad]:
    """Every statement of a Turtle, N-Triples, N-Quads or TriG ``stream``, checked, as quads.

    Blank nodes are new for each call (two files' ``_:b1`` are different nodes). ``reopen``
    gives the data again from the start, to describe a syntax error better. Without
    ``triple_terms``, RDF 1.2 triple terms (``<<( … )>>``) are refused: rdflib cannot hold them.

    :raise DataError: a syntax error, invalid UTF-8, a literal over ``max_literal`` bytes or a
        refused triple term, with its line and column.
    """
    assert fmt.oxigraph is not None and fmt.streamed, fmt.name
    found = ill_typed if ill_typed is not None else IllTypedLiterals()
    reader = LineReader(stream)
    try:
        for quad in ox.parse(reader, fmt.oxigraph, base_iri=base_iri, rename_blank_nodes=True):
            obj = quad.object
            if type(obj) is ox.Literal:
                _check_literal(obj.value, obj.datatype.value, source, reader.line, max_literal,
                               found)
            elif not triple_terms and type(obj) is ox.Triple:
                raise DataError(source, "a triple term (RDF 1.2: <<( … )>>, or a reifier << … >> "
                                "or {| … |}): rdflib, which builds and validates the graph, "
                                "cannot hold it; load the file with mckg load", reader.line)
            yield quad
    except SyntaxError as exc:
        raise _syntax_error(exc, source, reader, reopen) from None
    except MemoryError as exc:
        if _OX_BUFFER not in str(exc):
            raise
        raise DataError(source, f"a term longer than 16 MiB, the most the parser reads (and "
                        f"the limit is {max_literal:,} bytes per literal)", reader.line) from None


def open_binary(path: Path) -> IO[bytes]:
    """``path`` opened for reading, decompressed if its name ends in ``.gz``.

    :raise OSError: it cannot be opened.
    """
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    if path.suffix.lower() != ".gz":
        return io.BufferedReader(raw, 1 << 20)  # type: ignore[arg-type]
    return gzip.open(raw, "rb")  # type: ignore[return-value]


# ---- JSON-LD: one document loader, nothing fetched ----------------------------------------------

def project_context() -> dict[str, Any]:
    """Return the project's JSON-LD context document (``ontology/context.jsonld``)."""
    with open(resource_dir("ontology") / CONTEXT_FILE_NAME, encoding="utf-8") as fh:
        return json.load(fh)


#: Addresses at which the project's context is published; parsing maps them to the local file.
CONTEXT_IRIS = ("https://w3id.org/mckg/context.jsonld",)


class RemoteDocumentRefused(Exception):
    """A JSON-LD context was named by a URL that is not the project's: nothing is fetched."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(url)


#: Remote contexts that European Digital Credentials (ELM JSON-LD) name, answered from copies
#: shipped in ``mckg/rdf/contexts/`` (their sources, digests and licences in its SOURCE.md), so
#: that a Europass credential loads offline. Exact addresses only: nothing else is fetched.
KNOWN_CONTEXTS: dict[str, str] = {
    "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld",
    "http://data.europa.eu/snb/model/context/edc-ap": "edc-ap.jsonld",
}
_CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"


@functools.cache
def _known_context(name: str) -> dict[str, Any]:
    """A shipped copy of a known remote context, read once (callers get deep copies)."""
    with open(_CONTEXTS_DIR / name, encoding="utf-8") as fh:
        return json.load(fh)


def local_documents(url: str) -> dict[str, Any]:
    """The JSON-LD document loader of mckg: the project's context from the package, the
    copies of :data:`KNOWN_CONTEXTS`, and nothing else — every other URL (http, https, file,
    relative) is refused.

    :raise RemoteDocumentRefused: ``url`` is neither one of :data:`CONTEXT_IRIS` nor a key of
        :data:`KNOWN_CONTEXTS`.
    """
    if url in KNOWN_CONTEXTS:
        return copy.deepcopy(_known_context(KNOWN_CONTEXTS[url]))
    if url not in CONTEXT_IRIS:
        raise RemoteDocumentRefused(url)
    return copy.deepcopy(project_context())  # rdflib merges @import into what it is given


#: The loader in force while :class:`LocalJsonLDParser` parses (None: rdflib's own fetching).
_DOCUMENT_LOADER: ContextVar[Callable[[str], dict[str, Any]] | None] = ContextVar(
    "mckg_jsonld_document_loader", default=None)
#: rdflib fetches every context — the document's, a term's, a type's, an @import — through
#: this one function of its context module; it is wrapped once, here, to ask the loader.
_rdflib_fetch = getattr(_jsonld_context, "source_to_json", None)
if _rdflib_fetch is None:  # pragma: no cover - a new rdflib: refuse to run unguarded
    raise ImportError("rdflib's JSON-LD context module has no source_to_json: mckg cannot "
                      "keep it from fetching contexts; pin rdflib to a tested version")


def _source_to_json(source: Any, *args: Any, **kwargs: Any) -> Any:
    loader = _DOCUMENT_LOADER.get()
    if loader is None:
        return _rdflib_fetch(source, *args, **kwargs)
    return loader(str(source)), None


_jsonld_context.source_to_json = _source_to_json  # type: ignore[attr-defined]


class LocalJsonLDParser(JsonLDParser):
    """rdflib's JSON-LD parser with :func:`local_documents` as its document loader."""

    def parse(self, source: InputSource, sink: Graph, **kwargs: Any) -> None:  # type: ignore[override]
        token = _DOCUMENT_LOADER.set(local_documents)
        try:
            super().parse(source, sink, **kwargs)
        finally:
            _DOCUMENT_LOADER.reset(token)


# ---- RDF/XML: no DTD, no entities -----------------------------------------------------------------

class _NoDtdReader(ExpatParser):
    """An expat SAX reader that stops at any DTD, wherever it is (as defusedxml's
    ``forbid_dtd``): entities can only be declared in one, so none is expanded or opened.

    Text comes in runs of up to 64 KiB (expat's ``buffer_text``), not one call per line or
    character reference, so that a long literal is not built from thousands of pieces.
    """

    def reset(self) -> None:
        super().reset()
        expat = self._parser  # type: ignore[attr-defined]
        expat.buffer_text = True
        expat.buffer_size = 1 << 16
        expat.StartDoctypeDeclHandler = self._refuse_dtd
        expat.EntityDeclHandler = self._refuse_entity
        expat.UnparsedEntityDeclHandler = self._refuse_entity
        expat.ExternalEntityRefHandler = self._refuse_entity

    def _refuse_dtd(self, *args: Any) -> None:
        raise SAXParseException("RDF/XML with a DOCTYPE is refused (its entity declarations "
                                "could expand without bound or open other files): remove it",
                                None, self)

    def _refuse_entity(self, *args: Any) -> None:
        raise SAXParseException("XML entity declarations and references are refused", None, self)


_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


class _BoundedRDFXMLHandler(RDFXMLHandler):
    """rdflib's RDF/XML handler, stopped as soon as a literal runs past the limit.

    rdflib builds an XML literal (``rdf:parseType="Literal"``) by appending each top-level
    element to the literal so far and parsing the result again (about 1.5 µs a character):
    what it re-reads is counted too, up to the same limit, so a literal of thousands of tiny
    elements is refused in a second or two instead of taking hours.
    """

    def __init__(self, store: Graph, reader: _NoDtdReader, max_literal: int) -> None:
        super().__init__(store)
        self._reader = reader
        self._max = max_literal
        self._depth = 0
        self._literal_at = 0  # depth of the rdf:parseType="Literal" element we are in, or 0
        self._size = 0  # characters of the current literal so far
        self._copied = 0  # characters rdflib has re-read to build it

    def startElementNS(self, name: Any, qname: Any, attrs: Any) -> None:
        self._depth += 1
        if self._literal_at:
            self._grow(2 * len(name[1]) + 5 + sum(len(k[1]) + len(v) + 4 for k, v in attrs.items()))
        else:
            self._size = self._copied = 0
            if attrs.get((_RDF_NS, "parseType")) == "Literal":
                self._literal_at = self._depth
        super().startElementNS(name, qname, attrs)

    def endElementNS(self, name: Any, qname: Any) -> None:
        if self._literal_at and self._depth == self._literal_at + 1:
            self._copied += self._size
            if self._copied > self._max:
                self._refuse(f"an XML literal (rdf:parseType=\"Literal\") of too many elements: "
                             f"rdflib would read over {self._max:,} characters to build it")
        if self._depth == self._literal_at:
            self._literal_at = 0
        if not self._literal_at:
            self._size = 0
        self._depth -= 1
        super().endElementNS(name, qname)

    def characters(self, content: str) -> None:
        self._grow(len(content))
        super().characters(content)

    def _grow(self, n: int) -> None:
        self._size += n
        if self._size > self._max:
            self._refuse(f"a literal of more than {self._max:,} characters; the limit is "
                         f"{self._max:,} bytes per literal")

    def _refuse(self, message: str) -> None:
        raise SAXParseException(message, None, self._reader)


class SafeRDFXMLParser(RDFXMLParser):
    """rdflib's RDF/XML handler on :class:`_NoDtdReader`, with external entities off and the
    literal limit applied while reading (``max_literal``, bytes)."""

    def parse(self, source: InputSource, sink: Graph, **args: Any) -> None:
        reader = _NoDtdReader()
        reader.setFeature(handler.feature_namespaces, True)
        reader.setFeature(handler.feature_external_ges, False)
        reader.setFeature(handler.feature_external_pes, False)
        content = _BoundedRDFXMLHandler(sink, reader, args.get("max_literal", MAX_LITERAL_BYTES))
        content.setDocumentLocator(source)  # type: ignore[arg-type]
        reader.setContentHandler(content)
        reader.setErrorHandler(ErrorHandler())
        self._parser = reader
        reader.parse(source)


#: The rdflib parsers of the formats rdflib reads (registered under these names).
_RDFLIB_PARSERS = {"json-ld": ("mckg-json-ld", "LocalJsonLDParser"),
                   "xml": ("mckg-rdfxml", "SafeRDFXMLParser")}
for _name, _class in _RDFLIB_PARSERS.values():
    plugin.register(_name, RdflibParser, __name__, _class)


# ---- parsing --------------------------------------------------------------------------------------

def _line_of(exc: Exception) -> int | None:
    for attr in ("lineno", "line"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    getter = getattr(exc, "getLineNumber", None)
    if callable(getter):
        value = getter()
        return int(value) if isinstance(value, int) else None
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def _message_of(exc: Exception) -> str:
    if isinstance(exc, SAXParseException):
        return exc.getMessage()
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0] if len(text) > 500 else text


def _line_in(data: bytes, needle: str) -> int | None:
    """The line of the first occurrence of ``needle`` (as written in JSON) in ``data``."""
    for written in (needle, needle.replace("/", "\\/")):
        at = data.find(written.encode("utf-8"))
        if at >= 0:
            return data.count(b"\n", 0, at) + 1
    return None


def _add_statements(target: Graph | Dataset, quads: Iterator[ox.Quad], source: str) -> None:
    """Add Oxigraph's quads to an rdflib graph or dataset (named graphs kept in a dataset).

    :raise DataError: named graphs met while filling a plain graph.
    """
    graphs: dict[ox.NamedNode, Graph] = {}
    default = target.default_graph if isinstance(target, Dataset) else target
    with warnings.catch_warnings():  # rdflib warns about ill-typed values: reported by us
        warnings.simplefilter("ignore", UserWarning)
        for subject, predicate, obj, name in quads:
            into = default
            if isinstance(name, ox.NamedNode):
                if not isinstance(target, Dataset):
                    raise DataError(source, "named graphs need a dataset to be read into")
                if name not in graphs:
                    graphs[name] = target.graph(from_oxigraph(name))
                into = graphs[name]
            into.add((from_oxigraph(subject), from_oxigraph(predicate), from_oxigraph(obj)))


def _check_parsed(parsed: Graph | Dataset, source: str, max_literal: int,
                  found: IllTypedLiterals) -> None:
    """The literal checks for what rdflib parsed (JSON-LD, RDF/XML): no line is known."""
    triples = parsed.quads((None, None, None, None)) if isinstance(parsed, Dataset) else parsed
    for triple in triples:
        obj = triple[2]
        if isinstance(obj, Literal):
            datatype = str(obj.datatype) if obj.datatype is not None else ""
            _check_literal(str(obj), datatype, source, None, max_literal, found)


def _merge(into: Graph | Dataset, parsed: Graph | Dataset) -> None:
    """Add what was parsed to ``into`` (a dataset keeps the graphs, a graph merges them)."""
    if isinstance(parsed, Dataset):
        for s, p, o, context in parsed.quads((None, None, None, None)):
            name = context.identifier if isinstance(context, Graph) else context
            (into.graph(name) if isinstance(into, Dataset) else into).add((s, p, o))
        return
    target = into.default_graph if isinstance(into, Dataset) else into
    for triple in parsed:
        target.add(triple)


def _parse_with_rdflib(data: bytes, fmt: RdfFormat, source: str, base: str | None,
                       parsed: Graph | Dataset, max_literal: int,
                       found: IllTypedLiterals) -> Graph | Dataset:
    """JSON-LD or RDF/XML, by rdflib's hardened parsers, into ``parsed`` (new), checked."""
    parser, _class = _RDFLIB_PARSERS[fmt.name]
    try:
        if fmt.name == "json-ld":
            json.loads(data)  # JSON errors with their position, before rdflib reads it
        with warnings.catch_warnings():  # rdflib warns about ill-typed values: reported by us
            warnings.simplefilter("ignore", UserWarning)
            options = {"max_literal": max_literal} if fmt.name == "xml" else {}
            parsed.parse(source=io.BytesIO(data), format=parser, publicID=base, **options)
    except json.JSONDecodeError as exc:
        raise DataError(source, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RemoteDocumentRefused as exc:
        raise DataError(source, f"remote JSON-LD context {exc.url!r} is not fetched (mckg "
                        "fetches no document): inline it, or name the project's context "
                        f"{CONTEXT_IRIS[0]} or one of the contexts shipped for European "
                        f"Digital Credentials ({', '.join(KNOWN_CONTEXTS)})",
                        _line_in(data, exc.url)) from None
    except SAXParseException as exc:
        raise DataError(source, exc.getMessage(), exc.getLineNumber(),
                        exc.getColumnNumber() + 1) from None
    except (RecursionError, MemoryError):
        raise DataError(source, "the document nests too deeply or is too large to read") from None
    except Exception as exc:  # rdflib's parsers raise many exception types
        raise DataError(source, _message_of(exc), _line_of(exc)) from None
    _check_parsed(parsed, source, max_literal, found)
    return parsed


def parse_bytes(
    data: bytes,
    fmt: RdfFormat,
    *,
    source: str,
    into: Graph | Dataset | None = None,
    base: str | None = None,
    max_literal: int = MAX_LITERAL_BYTES,
    ill_typed: IllTypedLiterals | None = None,
) -> Graph | Dataset:
    """Parse ``data`` into ``into`` (a new graph or dataset if None) without any network access.

    Quad formats need a :class:`Dataset`; one is made when ``into`` is None. Ill-typed
    literals are counted into ``ill_typed`` when given. On error ``into`` may hold part of
    the data: callers read into a new graph and drop it.

    :raise DataError: the data is not valid ``fmt`` or breaks a limit; names ``source``, the
        line and the column.
    """
    found = ill_typed if ill_typed is not None else IllTypedLiterals()
    dataset = isinstance(into, Dataset) if into is not None else fmt.quads
    if fmt.streamed:
        target = into if into is not None else Dataset() if dataset else Graph()
        statements = read_statements(io.BytesIO(data), fmt, source=source, base_iri=base,
                                     max_literal=max_literal, ill_typed=found,
                                     reopen=lambda: io.BytesIO(data), triple_terms=False)
        _add_statements(target, statements, source)
        return target
    # Small documents: parsed apart, checked, then added. JSON-LD always into a dataset (its
    # named graphs, read as a graph, join the graph; rdflib would hide them).
    parsed = _parse_with_rdflib(data, fmt, source, base,
                                Dataset() if dataset or fmt.name == "json-ld" else Graph(),
                                max_literal, found)
    if into is None and (dataset or not isinstance(parsed, Dataset)):
        return parsed
    target = into if into is not None else Graph()
    _merge(target, parsed)
    return target


def read_file(path: Path, *, into: Graph | Dataset | None = None,
              fmt: RdfFormat | None = None, base: str | None = None,
              max_literal: int = MAX_LITERAL_BYTES,
              ill_typed: IllTypedLiterals | None = None) -> Graph | Dataset:
    """Parse the RDF file at ``path`` (gzip allowed) and return the graph or dataset.

    Relative IRIs resolve against ``base``, else the file's own ``file:`` IRI.

    :raise DataError: the file is missing, of an unknown type, malformed or over a limit.
    """
    fmt = fmt or format_for_path(path)
    try:
        with open_binary(path) as stream:
            raw = stream.read()
    except OSError as exc:
        if isinstance(exc, gzip.BadGzipFile):
            raise DataError(str(path), f"not a valid gzip file: {exc}") from None
        raise DataError(str(path), exc.strerror or str(exc)) from None
    except EOFError as exc:
        raise DataError(str(path), f"not a valid gzip file: {exc}") from None
    return parse_bytes(raw, fmt, source=str(path), into=into,
                       base=base or path.resolve().as_uri(), max_literal=max_literal,
                       ill_typed=ill_typed)


def serialize(graph: Graph | Dataset, fmt: RdfFormat, *, context: dict[str, Any] | None = None) -> bytes:
    """Serialize ``graph`` as ``fmt``. JSON-LD is compacted with ``context`` when given."""
    if fmt.name == "json-ld":
        kwargs: dict[str, Any] = {"auto_compact": True}
        if context is not None:
            kwargs["context"] = context
        out = graph.serialize(format="json-ld", **kwargs)
        return out.encode("utf-8") if isinstance(out, str) else out
    buf = io.BytesIO()
    graph.serialize(destination=buf, format=fmt.rdflib, encoding="utf-8")
    return buf.getvalue()
