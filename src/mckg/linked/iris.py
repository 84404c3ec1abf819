"""Where an IRI lives on the server, and which IRI a request path names (docs/iris.md).

The server maps the configured base IRI onto its own root: the thing ``{base}id/country/ES``
is served at ``/id/country/ES`` whatever host answers, so the same code works on
``http://127.0.0.1:8000/`` in development and on the public domain behind w3id.org.

=========================  ===========================  ===================================
IRI                        thing path                   document path (303 target)
=========================  ===========================  ===================================
``{base}id/{rest}``        ``/id/{rest}``               ``/doc/{rest}[.ext]``
``{base}vocab/{rest}``     ``/vocab/{rest}``            ``/doc/vocab/{rest}[.ext]``
``{base}def#Term``         ``/def`` (hash IRI)          ``/def[.ext]`` itself
``{base}graph/{layer}``    ``/graph/{layer}[.ext]``     itself (a graph is a document)
=========================  ===========================  ===================================

``vocab`` is therefore reserved as a kind under ``id/`` (none uses it).

Links. Pages show IRIs that come from data anyone can load (``mckg --file``), so an IRI is
rendered as a link only when :meth:`Site.href` allows it: a path on this server, or an IRI
whose scheme is in :data:`LINK_SCHEMES`. Everything else (``javascript:``, ``data:``,
``vbscript:``, ``file:``, ``urn:``…, in any case) is shown as text. This is the one allow-list
every template link and the query page's script go through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..rdf.formats import FORMATS, RdfFormat

#: File extensions that choose a representation explicitly, and what they choose.
HTML_SUFFIX = ".html"
RDF_SUFFIXES: dict[str, RdfFormat] = {f.suffix: f for f in FORMATS if not f.quads}
#: Representations of a resource document, in the server's order of preference: HTML first,
#: so a client that accepts anything (``*/*``) gets a page a person can read.
DOCUMENT_MEDIA_TYPES: tuple[str, ...] = ("text/html", *(f.media_type for f in FORMATS if not f.quads))
SUFFIX_BY_MEDIA_TYPE: dict[str, str] = {"text/html": HTML_SUFFIX} | {
    f.media_type: f.suffix for f in FORMATS if not f.quads}
MEDIA_TYPE_BY_SUFFIX: dict[str, str] = {v: k for k, v in SUFFIX_BY_MEDIA_TYPE.items()}


#: The schemes an IRI from the data may have to be rendered as a link (lower case). Only the
#: web's own: a link on a page must lead to a page, never run code or open another program.
LINK_SCHEMES = frozenset({"http", "https"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _clean(text: str) -> bool:
    r"""True when ``text`` has no space, control character or backslash: browsers drop or
    rewrite those in URLs (``java\tscript:``, ``/\\host``), so what was checked would not be
    what they follow."""
    return not any(c <= " " or "\x7f" <= c <= "\x9f" or c == "\\" for c in text)


def linkable(iri: str) -> bool:
    """True when ``iri`` may be an ``href`` as it is: its scheme is in :data:`LINK_SCHEMES`."""
    found = _SCHEME.match(iri)
    return found is not None and found.group(1).lower() in LINK_SCHEMES and _clean(iri)


def split_suffix(path: str) -> tuple[str, str | None]:
    """``("country/ES", ".ttl")`` for ``"country/ES.ttl"``; the suffix is None when absent."""
    for suffix in MEDIA_TYPE_BY_SUFFIX:
        if path.endswith(suffix) and len(path) > len(suffix):
            return path[: -len(suffix)], suffix
    return path, None


@dataclass(frozen=True)
class Site:
    """The base IRI and the server's mapping of it onto paths."""

    base: str

    def thing_iri(self, space: str, rest: str) -> str:
        """The IRI of ``/{space}/{rest}`` (``space`` is ``id`` or ``vocab``)."""
        return f"{self.base}{space}/{rest}"

    def ontology_iri(self) -> str:
        """The ontology's IRI (terms are ``{base}def#Term``)."""
        return f"{self.base}def"

    def graph_iri(self, layer: str) -> str:
        """The IRI of the named graph ``layer``."""
        return f"{self.base}graph/{layer}"

    def is_local(self, iri: str) -> bool:
        """True for IRIs the project mints (under the base)."""
        return iri.startswith(self.base)

    def local_path(self, iri: str) -> str | None:
        """The path on this server that serves ``iri``, or None for IRIs not under the base.

        Hash IRIs keep their fragment (``/def#Country``) so a browser lands on the term. An IRI
        whose path would start with ``//`` (``{base}/evil.example/x``) has none: a browser
        reads ``//evil.example/x`` as another host.
        """
        if not self.is_local(iri):
            return None
        rest = iri[len(self.base):]
        if rest.startswith("/") or not _clean(rest):
            return None
        return "/" + rest

    def href(self, iri: str) -> str | None:
        """Where a link to ``iri`` goes: its path here, the IRI itself if :func:`linkable`, or
        None — then the page shows the IRI as text."""
        local = self.local_path(iri)
        if local is not None:
            return local
        return iri if linkable(iri) else None

    def document_path(self, iri: str, suffix: str | None = None) -> str | None:
        """The document about ``iri`` (the 303 target for things), with ``suffix`` if given."""
        if not self.is_local(iri):
            return None
        rest = iri[len(self.base):]
        ext = "" if suffix in (None, HTML_SUFFIX) else suffix
        if rest.startswith("id/"):
            return f"/doc/{rest[3:]}{ext}"
        if rest.startswith("vocab/"):
            return f"/doc/{rest}{ext}"
        if rest.startswith("def"):
            return f"/def{ext}"
        return f"/{rest.split('#', 1)[0]}{ext}"

    def iri_of_document(self, rest: str) -> str:
        """The thing a document path (after ``/doc/``) is about."""
        if rest.startswith("vocab/"):
            return f"{self.base}{rest}"
        return f"{self.base}id/{rest}"
