"""Checking SPARQL text before it runs: syntax with position, query form, and what it may reach.

rdflib evaluates ``SERVICE`` with ``urlopen`` and, by default, fetches the IRI of ``FROM`` clauses;
both let a public endpoint be turned against other hosts. Every query is checked here first and
refused unless it stays inside the configured dataset: by a fast lexical check where that is
certain, else by the full parse of :mod:`.parse`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .info import QUERY_FORMS, QueryInfo


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
    from .parse import full_inspect  # rdflib's parser: loaded only when a query needs it

    return full_inspect(text, tuple(sorted(set(service_allowlist))), known)


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
