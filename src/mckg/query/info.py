"""What a query is and why it may be refused: the values every part of the query path passes.

Kept apart from the checks themselves (:mod:`.check`, :mod:`.parse`) so that the stores, the
workers and the web layer can name them without loading a parser.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urljoin

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")


class QueryError(Exception):
    """A query was refused: bad syntax, wrong operation, or a forbidden feature.

    ``status`` is the HTTP status it maps to (400 or 403).
    """

    def __init__(self, message: str, *, status: int = 400, line: int | None = None,
                 column: int | None = None) -> None:
        self.message = message
        self.status = status
        self.line = line
        self.column = column
        where = f" (line {line}, column {column})" if line else ""
        super().__init__(message + where)


@dataclass(frozen=True)
class QueryInfo:
    """What a query is: its form, the SERVICE endpoints it names and its dataset clauses.

    The stores need the ``FROM``/``FROM NAMED`` IRIs and the top-level ``LIMIT`` to evaluate
    by the SPARQL 1.1 semantics (an RDF merge for several ``FROM``) and to skip counting rows
    against the result limit when the query itself bounds them.
    """

    form: str
    services: tuple[str, ...]
    dataset_clause: bool
    #: IRIs of the ``FROM`` clauses (the default graph is their RDF merge).
    from_graphs: tuple[str, ...] = ()
    #: IRIs of the ``FROM NAMED`` clauses.
    from_named: tuple[str, ...] = ()
    #: The top-level ``LIMIT`` of a SELECT or CONSTRUCT query, if any.
    limit: int | None = None
    #: The query's own ``BASE`` declaration, as written (it may itself be relative).
    base: str | None = None

    def resolved(self, base_iri: str | None) -> QueryInfo:
        """This info with its ``FROM``/``FROM NAMED`` IRIs resolved (RFC 3986 §5).

        Against the query's ``BASE``, itself resolved against ``base_iri`` (the endpoint's
        URL): the engine resolves the IRIs inside the query the same way, but the dataset is
        given to it as IRIs, which must be absolute.
        """
        base = urljoin(base_iri or "", self.base or "") or None
        if base is None or not (self.from_graphs or self.from_named):
            return self
        return replace(self, from_graphs=tuple(urljoin(base, g) for g in self.from_graphs),
                       from_named=tuple(urljoin(base, g) for g in self.from_named))
