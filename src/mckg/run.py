"""Running a SPARQL query on a built graph with rdflib, after the checks of :mod:`sparql`."""

from __future__ import annotations

from rdflib.query import Result

from .config import Settings
from .graphs import KnowledgeGraph
from .namespaces import rebase_prefixes
from .sparql import QueryError, inspect_query


def run_query(kg: KnowledgeGraph, text: str, *, settings: Settings) -> Result:
    """Check and evaluate ``text`` over the union of ``kg``'s graphs.

    The project's prefixes are predeclared, so ``mckg:Finding`` works without a PREFIX line.

    :raise QueryError: the query is malformed, an update, or reaches outside the dataset.
    """
    if len(text.encode("utf-8")) > settings.max_query_bytes:
        raise QueryError(f"query is longer than {settings.max_query_bytes} bytes", status=413)
    inspect_query(text, service_allowlist=settings.service_allowlist)
    try:
        return kg.dataset.query(text, initNs=rebase_prefixes(kg.base))
    except QueryError:
        raise
    except Exception as exc:
        raise QueryError(f"query failed: {exc}") from None
