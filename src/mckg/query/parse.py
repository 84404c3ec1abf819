"""The full check of a query with rdflib's SPARQL parser (pyparsing), for what the fast lexical
check of :mod:`.check` cannot classify: updates, ``SERVICE``, ``FROM``, errors, prefixes.

Loaded only when needed: importing rdflib's SPARQL machinery costs about 0.1 s, which the
command line would otherwise pay on every run for queries that never need it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache

import rdflib.plugins.sparql as rdflib_sparql
from pyparsing import ParseException, ParseResults
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from .info import QUERY_FORMS, QueryError, QueryInfo

# Never let rdflib fetch the IRI of a FROM / FROM NAMED clause.
rdflib_sparql.SPARQL_LOAD_GRAPHS = False

#: rdflib's parser (pyparsing, with shared parse actions and packrat cache) is not
#: thread-safe: two threads parsing at once have been seen to fail with nonsense errors
#: ("<lambda>() missing 1 required positional argument"). Parsing takes milliseconds; the
#: endpoint's request threads take turns.
_PARSER_LOCK = threading.Lock()


def _walk(node: object) -> Iterable[CompValue]:
    stack = [node]
    seen = 0
    while stack and seen < 1_000_000:  # bounded: a parse tree is finite, this guards bugs
        seen += 1
        item = stack.pop()
        if isinstance(item, CompValue):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list | tuple | ParseResults):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


def _syntax_error(exc: ParseException, text: str) -> QueryError:
    msg = str(exc.msg) if getattr(exc, "msg", None) else str(exc)
    return QueryError(f"SPARQL syntax error: {msg}", line=exc.lineno, column=exc.col)


def is_update(text: str) -> bool:
    """True when ``text`` parses as a SPARQL Update and not as a query."""
    try:
        with _PARSER_LOCK:
            parseQuery(text)
        return False
    except ParseException:
        pass
    try:
        with _PARSER_LOCK:
            parseUpdate(text)
        return True
    except ParseException:
        return False
    except Exception:
        return False


@lru_cache(maxsize=512)
def full_inspect(text: str, allowlist: tuple[str, ...],
             known: tuple[tuple[str, str], ...] | None) -> QueryInfo:
    """The full check with rdflib's parser; cached, since clients repeat their queries."""
    try:
        with _PARSER_LOCK:
            tree = parseQuery(text)
    except ParseException as exc:
        if is_update(text):
            # A malformed request (the protocol sends updates as update=), not a refused
            # operation: what is refused with 403 is an update sent as one.
            raise QueryError("this is a SPARQL Update, not a query: a query operation takes "
                             "SELECT, ASK, CONSTRUCT or DESCRIBE (and this endpoint is "
                             "read-only: updates are refused)") from None
        raise _syntax_error(exc, text) from None
    except Exception as exc:
        raise QueryError(f"SPARQL syntax error: {exc}") from None
    query = tree[1]
    form = query.name.replace("Query", "").upper()
    allowed = set(allowlist)
    services: list[str] = []
    dataset_clause = False
    for comp in _walk(tree):
        if comp.name == "ServiceGraphPattern":
            term = comp.get("term")
            iri = str(term) if term is not None else "?"
            services.append(iri)
            if iri not in allowed:
                raise QueryError(f"SERVICE <{iri}> is not allowed: federated queries are limited "
                                 "to the endpoints the server is configured to trust", status=403)
        if comp.name == "DatasetClause":
            dataset_clause = True
    if form not in QUERY_FORMS:
        raise QueryError(f"unsupported query form {form}")
    if known is not None:
        _check_prefixes(tree, text, {name for name, _ in known})
    declared = {str(dict.get(c, "prefix") or ""): str(dict.get(c, "iri"))
                for c in tree[0] if isinstance(c, CompValue) and c.name == "PrefixDecl"}
    namespaces = {**dict(known or ()), **declared}
    from_graphs: list[str] = []
    from_named: list[str] = []
    # CompValue.get(key) returns the key itself when absent: read the raw dict instead.
    for clause in dict.get(query, "datasetClause") or ():
        if isinstance(clause, CompValue):
            if "default" in clause:
                from_graphs.append(_iri_of(dict.get(clause, "default"), namespaces))
            elif "named" in clause:
                from_named.append(_iri_of(dict.get(clause, "named"), namespaces))
    declared_base = next((str(dict.get(c, "iri")) for c in tree[0]
                          if isinstance(c, CompValue) and c.name == "Base"), None)
    return QueryInfo(form=form, services=tuple(services), dataset_clause=dataset_clause,
                     from_graphs=tuple(from_graphs), from_named=tuple(from_named),
                     limit=_top_level_limit(query, form), base=declared_base)


def _iri_of(term: object, namespaces: Mapping[str, str]) -> str:
    """An IRI from the parse tree: as written, or a prefixed name expanded."""
    if isinstance(term, CompValue) and term.name == "pname":
        prefix = str(dict.get(term, "prefix") or "")
        return namespaces.get(prefix, prefix + ":") + str(dict.get(term, "localname") or "")
    return str(term)


def _check_prefixes(tree: ParseResults, text: str, known: set[str]) -> None:
    """Refuse the first prefixed name whose prefix nobody declared (with its position)."""
    declared = set(known)
    used: list[str] = []
    for comp in _walk(tree):
        if comp.name == "PrefixDecl":
            declared.add(dict.get(comp, "prefix") or "")
        elif comp.name == "pname":
            used.append(dict.get(comp, "prefix") or "")
    for prefix in sorted(set(used) - declared):
        match = re.search(r"(?<![\w.:-])" + re.escape(prefix) + ":", text)
        line = column = None
        if match:
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        raise QueryError(f"unknown prefix {prefix}: (declare it with PREFIX {prefix}: <…>)",
                         line=line, column=column)


def _top_level_limit(query: CompValue, form: str) -> int | None:
    """The ``LIMIT`` of the outermost SELECT/CONSTRUCT, or None (DESCRIBE limits resources)."""
    if form not in ("SELECT", "CONSTRUCT"):
        return None
    clause = dict.get(query, "limitoffset")
    if not isinstance(clause, CompValue) or "limit" not in clause:
        return None
    try:
        return int(clause["limit"])
    except (TypeError, ValueError):
        return None
