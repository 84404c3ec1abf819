"""Checking SPARQL text before it runs: syntax with position, query form, and what it may reach.

rdflib evaluates ``SERVICE`` with ``urlopen`` and, by default, fetches the IRI of ``FROM`` clauses;
both let a public endpoint be turned against other hosts. Every query is parsed here first and
refused unless it stays inside the configured dataset.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import urljoin

import rdflib.plugins.sparql as rdflib_sparql
from pyparsing import ParseException, ParseResults
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

# Never let rdflib fetch the IRI of a FROM / FROM NAMED clause.
rdflib_sparql.SPARQL_LOAD_GRAPHS = False

#: rdflib's parser (pyparsing, with shared parse actions and packrat cache) is not
#: thread-safe: two threads parsing at once have been seen to fail with nonsense errors
#: ("<lambda>() missing 1 required positional argument"). Parsing takes milliseconds; the
#: endpoint's request threads take turns.
_PARSER_LOCK = threading.Lock()

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


def inspect_query(text: str, *, service_allowlist: Iterable[str] = (),
                  prefixes: Mapping[str, str] | Iterable[str] | None = None,
                  fast: bool = False) -> QueryInfo:
    """Parse ``text`` as a SPARQL 1.1 query and check it may run.

    With ``prefixes`` (the prefixes the server predeclares), a prefixed name whose prefix is
    neither declared in the query nor predeclared is refused here, with a clear message,
    instead of by an engine (Oxigraph's message for it lists character classes).

    With ``fast``, a plain query first goes through :func:`quick_inspect`, a lexical check
    that is sound for what must be refused but leaves the grammar to the engine — for callers
    whose engine reports syntax errors with their position (both local stores do). rdflib's
    parser costs 10–30 ms per query, more than Oxigraph takes to answer most of them.

    :raise QueryError: 400 for a syntax error (with line and column), an undeclared prefix,
        or an update sent as a query (a malformed request); 403 for ``SERVICE`` to an endpoint not on
        ``service_allowlist``.
    """
    if prefixes is None:
        known: tuple[tuple[str, str], ...] | None = None
    elif isinstance(prefixes, Mapping):
        known = tuple(sorted((str(k), str(v)) for k, v in prefixes.items()))
    else:
        known = tuple(sorted((str(k), "") for k in prefixes))
    if fast:
        quick = quick_inspect(text, dict(known or ()))
        if quick is not None:
            return quick
    return _inspect(text, tuple(sorted(set(service_allowlist))), known)


@lru_cache(maxsize=512)
def _inspect(text: str, allowlist: tuple[str, ...],
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


# ---- the fast lexical check -----------------------------------------------------------------

#: Comments, strings and IRIs (SPARQL 1.1 §19.8 terminals): blanked out before looking at code.
_NOT_CODE = re.compile(
    r"#[^\n\r]*"
    r'|"""(?:(?:"|"")?(?:[^"\\]|\\.))*"""'
    r"|'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''"
    r'|"(?:[^"\\\n\r]|\\.)*"'
    r"|'(?:[^'\\\n\r]|\\.)*'"
    r"|<[^<>\"{}|^`\\\x00-\x20]*>",
    re.DOTALL)
_PROLOGUE_THEN_KEYWORD = re.compile(r"\s*(?:(?:BASE|PREFIX\s+[^\s:]*:)\s*)*([A-Za-z]+)",
                                    re.IGNORECASE)
_PREFIX_DECL = re.compile(r"\bPREFIX\s+([^\s:]*):", re.IGNORECASE)
_PNAME_PREFIX = re.compile(r"(?<![\w.\-:?$])([^\W\d][\w.\-]*)?:")


def quick_inspect(text: str, predeclared: Mapping[str, str]) -> QueryInfo | None:
    """Classify a plain query without a parser, or return None to ask for the full check.

    Returns a :class:`QueryInfo` only when the answer is certain: no ``SERVICE`` anywhere in
    the text (searched raw, inside strings and comments too, so nothing can hide one), no
    codepoint escapes (which could spell a keyword), no ``FROM``, a query form as the first
    keyword after the prologue, and every prefix declared or predeclared. Everything else —
    updates, errors, federated queries — takes the full check. Grammar errors in a query
    that passes are the engine's to report (with their position).
    """
    if "\\u" in text or "\\U" in text or re.search("service", text, re.IGNORECASE):
        return None
    code = _NOT_CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    if re.search(r"\bfrom\b", code, re.IGNORECASE):
        return None
    match = _PROLOGUE_THEN_KEYWORD.match(code)
    form = match.group(1).upper() if match else ""
    if form not in QUERY_FORMS:
        return None
    declared = {m.group(1) for m in _PREFIX_DECL.finditer(code)} | set(predeclared)
    for used in _PNAME_PREFIX.finditer(code):
        prefix = used.group(1) or ""
        if prefix != "_" and prefix not in declared:
            return None  # the full check reports it, with its position
    return QueryInfo(form=form, services=(), dataset_clause=False)


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
