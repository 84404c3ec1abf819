"""Reading and writing RDF files safely, with errors that name the file and line.

Formats are looked up in :mod:`mckg.rdf.formats`. Parsing never
fetches anything: JSON-LD remote ``@context`` references are refused unless they are the project's
own context (served from the package), and RDF/XML with a DOCTYPE (entity declarations) is refused
before the XML parser sees it.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path
from typing import Any

from rdflib import Dataset, Graph
from rdflib.plugins.parsers.notation3 import BadSyntax

from ..resources import resource_dir
from .formats import RdfFormat, rdf_format_for_suffix

#: The project's own JSON-LD context and the address it is published at.
CONTEXT_FILE_NAME = "context.jsonld"


class DataError(Exception):
    """A file or text could not be read as RDF. ``str()`` gives ``file:line: message``."""

    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = f"{source}:{line}" if line else source
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


def project_context() -> dict[str, Any]:
    """Return the project's JSON-LD context document (``ontology/context.jsonld``)."""
    with open(resource_dir("ontology") / CONTEXT_FILE_NAME, encoding="utf-8") as fh:
        return json.load(fh)


#: Addresses at which the project's context is published; parsing maps them to the local file.
CONTEXT_IRIS = ("https://w3id.org/mckg/context.jsonld",)


def _local_contexts() -> dict[str, Any]:
    """Context IRIs that resolve to files we ship; everything else is refused."""
    ctx = project_context()
    return {iri: ctx for iri in CONTEXT_IRIS}


def _inline_contexts(node: Any, known: dict[str, Any], source: str) -> Any:
    """Replace remote ``@context`` references by the local documents, or refuse them."""
    if isinstance(node, list):
        return [_inline_contexts(item, known, source) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "@context":
            out[key] = _resolve_context(value, known, source)
        else:
            out[key] = _inline_contexts(value, known, source)
    return out


def _resolve_context(value: Any, known: dict[str, Any], source: str) -> Any:
    if isinstance(value, list):
        return [_resolve_context(v, known, source) for v in value]
    if isinstance(value, str):
        if value in known:
            return {k: v for k, v in known[value]["@context"].items()}
        raise DataError(source, f"remote JSON-LD context {value!r} is not fetched; inline it or "
                        "use the project's context")
    if isinstance(value, dict) and "@import" in value:
        raise DataError(source, "JSON-LD @import of a remote context is not fetched")
    return value


_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def _line_of(exc: Exception) -> int | None:
    if isinstance(exc, BadSyntax):
        return int(exc.lines) + 1
    for attr in ("lineno", "line"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    getter = getattr(exc, "getLineNumber", None)
    if callable(getter):
        return int(getter())
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def _message_of(exc: Exception) -> str:
    if isinstance(exc, BadSyntax):
        return str(exc._why)
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0] if len(text) > 500 else text


def parse_bytes(
    data: bytes,
    fmt: RdfFormat,
    *,
    source: str,
    into: Graph | Dataset | None = None,
    base: str | None = None,
) -> Graph | Dataset:
    """Parse ``data`` into ``into`` (a new graph or dataset if None) without any network access.

    Quad formats need a :class:`Dataset`; a plain graph is given one when ``into`` is None.

    :raise DataError: the data is not valid ``fmt``; names ``source`` and the line.
    """
    target: Graph | Dataset = into if into is not None else (Dataset() if fmt.quads else Graph())
    if fmt.name == "xml" and _DOCTYPE.search(data[:65536] if len(data) > 65536 else data):
        raise DataError(source, "RDF/XML with a DOCTYPE or entity declarations is refused "
                        "(entity expansion and external entities are not allowed)")
    try:
        if fmt.name == "json-ld":
            try:
                doc = json.loads(data)
            except json.JSONDecodeError as exc:
                raise DataError(source, f"invalid JSON: {exc.msg}", exc.lineno) from None
            doc = _inline_contexts(doc, _local_contexts(), source)
            target.parse(data=json.dumps(doc), format="json-ld", publicID=base)
        else:
            target.parse(data=data, format=fmt.rdflib, publicID=base)
    except DataError:
        raise
    except Exception as exc:  # rdflib's parsers raise many exception types
        raise DataError(source, _message_of(exc), _line_of(exc)) from None
    return target


def read_file(path: Path, *, into: Graph | Dataset | None = None,
              fmt: RdfFormat | None = None, base: str | None = None) -> Graph | Dataset:
    """Parse the RDF file at ``path`` (gzip allowed) and return the graph or dataset.

    :raise DataError: the file is missing, of an unknown type, or malformed.
    """
    fmt = fmt or format_for_path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(str(path), exc.strerror or str(exc)) from None
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(str(path), f"not a valid gzip file: {exc}") from None
    return parse_bytes(raw, fmt, source=str(path), into=into, base=base)


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
