"""The published JSON-LD context and the JSON-LD documents that use it.

One context, ``ontology/context.jsonld``, is published at ``{base}context.jsonld``. Its design:
prefixes for every namespace of the prefix registry (so IRIs compact to ``country:ES``), short
terms for the properties people read most (``about``, ``status``, ``statement``, ``wave``…)
with ``"@type": "@id"`` where the value is a link, ``xsd:decimal`` coercion for amounts (a
JSON number would turn into ``xsd:double`` or ``xsd:integer`` and change the triples), and
``currency`` as ``@vocab`` so ``"currency": "EUR"`` reads as plain JSON yet means the EU
currency table's IRI. Because every term is declared with its datatype, a document compacted
with the context expands back to exactly the same triples (tests compare the graphs).

Served under another base, the context's own namespaces move with it (as the data does), so a
document from ``http://127.0.0.1:8000/`` compacts to the same short forms.

Resource documents *reference* the context — that is what publishing it is for — at the address
of the server that wrote them (every server publishes it at ``/context.jsonld``), since a JSON-LD
processor fetches the context it is named: a document from a local server must not send it to
the canonical address. The JSON-LD dump embeds the same context instead, so an archived copy
parses offline.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from rdflib import Dataset, Graph

from ..rdf.files import parse_bytes, project_context, serialize
from ..rdf.formats import rdf_format
from ..rdf.namespaces import CANONICAL_BASE


def context_iri(base: str) -> str:
    """The address the context is published at."""
    return f"{base}context.jsonld"


def _rebase(node: Any, base: str) -> Any:
    if isinstance(node, str):
        return base + node[len(CANONICAL_BASE):] if node.startswith(CANONICAL_BASE) else node
    if isinstance(node, dict):
        return {k: _rebase(v, base) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v, base) for v in node]
    return node


@cache
def _shipped_context() -> str:
    """The shipped context, read once: a running server must not need its package files."""
    return json.dumps(project_context())


def context_document(base: str) -> dict[str, Any]:
    """The context document (``{"@context": …}``) with our namespaces under ``base``."""
    return _rebase(json.loads(_shipped_context()), base)


def to_jsonld(graph: Graph | Dataset, base: str, *, reference: bool = True,
              context_url: str | None = None) -> bytes:
    """``graph`` as JSON-LD compacted with the project's context.

    With ``reference`` the document names the published context by its address — the
    canonical one, or ``context_url`` where a server publishes it itself; without, the
    context is embedded (for files that must parse offline).
    """
    ctx = context_document(base)["@context"]
    body = serialize(graph, rdf_format("json-ld"), context=ctx)
    if not reference:
        return body
    address = context_url or context_iri(base)
    doc = json.loads(body)
    if isinstance(doc, dict):
        doc["@context"] = address
    else:  # a bare list of nodes: wrap it so the context applies
        doc = {"@context": address, "@graph": doc}
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def parse_jsonld(data: bytes, base: str, *, source: str = "JSON-LD document",
                 context_url: str | None = None) -> Graph:
    """Parse JSON-LD that references the context at ``base`` (or ``context_url``) without
    fetching it.

    :raise DataError: the document is not valid JSON-LD.
    """
    doc = json.loads(data)
    ctx = context_document(base)["@context"]
    ours = {context_iri(base), context_url or context_iri(base)}

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (ctx if k == "@context" and v in ours else inline(v))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    parsed = parse_bytes(json.dumps(inline(doc)).encode("utf-8"), rdf_format("json-ld"),
                         source=source)
    assert isinstance(parsed, Graph)
    return parsed
