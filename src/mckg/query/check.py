"""Checking SPARQL text before it runs: syntax with position, query form, and what it may reach.

rdflib evaluates ``SERVICE`` with ``urlopen`` and, by default, fetches the IRI of ``FROM`` clauses;
both let a public endpoint be turned against other hosts. Every query is checked here first and
refused unless it stays inside the configured dataset: by a fast lexical check where that is
certain, else by the full parse of :mod:`.parse`.

Before either, :func:`check_structure` bounds how deep the query is: Oxigraph's parser and
planner and rdflib's parser recurse once per level of nesting and per term of a chain
(``1+1+…``, ``p/p/…``, ``UNION``), so a few kilobytes could overflow a worker's stack and kill
it (docs/endpoint.md, "Running queries", has the measurements behind the limits).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .info import QUERY_FORMS, QueryError, QueryInfo

#: The full check: ``(text, service allow-list, predeclared prefixes) -> QueryInfo``.
FullInspect = Callable[[str, tuple[str, ...], tuple[tuple[str, str], ...] | None], QueryInfo]


@functools.lru_cache(maxsize=16)
def _known(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The predeclared prefixes, sorted (the server passes the same few mappings each time)."""
    return tuple(sorted((str(k), str(v)) for k, v in items))


@functools.lru_cache(maxsize=16)
def _as_dict(known: tuple[tuple[str, str], ...]) -> Mapping[str, str]:
    return MappingProxyType(dict(known))


def inspect_query(text: str, *, service_allowlist: Iterable[str] = (),
                  prefixes: Mapping[str, str] | Iterable[str] | None = None,
                  fast: bool = False, full: FullInspect | None = None) -> QueryInfo:
    """Parse ``text`` as a SPARQL 1.1 query and check it may run.

    With ``prefixes`` (the prefixes the server predeclares), a prefixed name whose prefix is
    neither declared in the query nor predeclared is refused here, with a clear message,
    instead of by an engine (Oxigraph's message for it lists character classes).

    With ``fast``, a plain query first goes through :func:`quick_inspect`, a lexical check
    that is sound for what must be refused but leaves the grammar to the engine — for callers
    whose engine reports syntax errors with their position (both local stores do). rdflib's
    parser costs 10–30 ms per query, more than Oxigraph takes to answer most of them.

    ``full`` runs the full parse (:func:`mckg.query.parse.full_inspect`'s arguments): by
    default in this thread; the query service hands it to a worker process, where the time
    limit stops it (rdflib took 20 s on a 229 KB query).

    :raise QueryError: 400 for a query nested too deep (:func:`check_structure`), a syntax
        error (with line and column), an undeclared prefix, or an update sent as a query (a
        malformed request); 403 for ``SERVICE`` to an endpoint not on ``service_allowlist``.
    """
    check_structure(text)
    if prefixes is None:
        known: tuple[tuple[str, str], ...] | None = None
    elif isinstance(prefixes, Mapping):
        known = _known(tuple(prefixes.items()))
    else:
        known = tuple(sorted((str(k), "") for k in prefixes))
    if fast:
        quick = quick_inspect(text, _as_dict(known or ()))
        if quick is not None:
            return quick
    if full is None:
        from .parse import full_inspect as full  # rdflib's parser: loaded only when needed
    return full(text, tuple(sorted(set(service_allowlist))), known)


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


# ---- the bound on depth ---------------------------------------------------------------------

#: Brackets (``{``, ``(``, ``[``) open inside one another. Measured (docs/endpoint.md): Oxigraph
#: overflows an 8 MiB stack at 1,000 nested ``STR(`` and 3,000 ``{``; rdflib's parser needs
#: ~25 Python frames per level. Nested blank nodes and collections also cost time
#: superlinearly (100 levels: 1 s; 200: 17 s). No hand-written query comes near 128.
MAX_NESTING = 128
#: The depth of the query's tree as the engines build it: every open bracket, plus every
#: operator, path step, ``UNION``/``OPTIONAL``/``MINUS``/``FILTER``/``BIND``/``VALUES``,
#: triple separator (``.``, ``;``, ``,``) and collection member in the brackets around it
#: (chains are nested left to right). Oxigraph overflows 8 MiB at 10,000 terms of ``1+1+…``,
#: ``!!…``, ``UNION``; at 1,000 every shape measured runs in a 64 MiB worker stack.
MAX_DEPTH = 1000

#: One token of SPARQL code, by kind. Comments, strings and IRIs are read whole, so nothing
#: inside them counts; names keep their inner ``-`` and ``.``, numbers their ``.`` and the
#: sign of their exponent (a sign before a number is an operator, as in ``1+1``).
_TOKEN = re.compile(
    r"(?P<skip>#[^\n\r]*)"
    r"|(?P<chain>(?i:UNION|MINUS|OPTIONAL|FILTER|BIND|VALUES)(?![\w\-:.]))"
    r'|(?P<term>"""(?:(?:"|"")?(?:[^"\\]|\\.))*"""'
    r"|'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''"
    r'|"(?:[^"\\\n\r]|\\.)*"'
    r"|'(?:[^'\\\n\r]|\\.)*'"
    r"|<[^<>\"{}|^`\\\x00-\x20]*>"
    r"|[?$][\w\u00b7]+"
    r"|\d+\.\d*[eE][+-]?\d+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?"
    r"|(?:[^\W\d][\w\-]*(?:\.[\w\-]+)*)?:(?:[\w\-:%]|\\.)*(?:\.(?:[\w\-:%]|\\.)+)*"
    r"|[^\W\d][\w\-]*)"
    r"|(?P<open>[{(\[])|(?P<close>[})\]])|(?P<comma>,)|(?P<other>\^\^)"
    r"|(?P<item>\|\||&&|!=|<=|>=|[.;|/^*+\-=<>!])",
    re.DOTALL)
_OPENING = {"}": "{", ")": "(", "]": "["}


@dataclass(slots=True)
class _Frame:
    """One open bracket while scanning: what it is, the chain items in it so far, and whether
    the last token in it was a term (two terms in a row in ``(…)`` make a collection).

    A group ``{…}`` closed inside another is an item of it too (the engines join a list of
    groups two by two), except the rows of a ``VALUES`` block."""

    bracket: str
    items: int = 0
    after_term: bool = False
    #: The data block of ``VALUES``: its rows are data, not joins.
    data: bool = False


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def check_structure(text: str) -> None:
    """Refuse a query nested deeper than :data:`MAX_NESTING` or :data:`MAX_DEPTH`.

    One pass over the tokens (linear, no parser): comments, strings and IRIs are read whole,
    so brackets inside them do not count. The depth counted is an upper bound of the depth
    of the engines' trees, so a query under the limits cannot overflow a worker's stack;
    the error gives the depth found and the place it first went past the limit.

    :raise QueryError: 400, with the line and column where the limit was passed.
    """
    frame = _Frame("")
    frames = [frame]
    depth = deepest = nesting = deepest_nesting = 0
    values = False  # VALUES seen, its data block not opened yet
    passed: tuple[str, int] | None = None  # which limit, and where it was first passed
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "term":
            if not (frame.after_term and frame.bracket == "("):
                frame.after_term = True
                continue
            frame.items += 1  # a member of a collection ( a b c … )
            depth += 1
        elif kind == "item" or kind == "chain" or (kind == "comma" and frame.bracket != "("):
            frame.items += 1
            depth += 1
            frame.after_term = kind == "chain"
            values = values or match.group().upper() == "VALUES"
        elif kind == "open":
            bracket = match.group()
            frame = _Frame(bracket, data=values and bracket == "{")
            values = values and bracket != "{"
            frames.append(frame)
            depth += 1
            nesting += 1
            if nesting > deepest_nesting:
                deepest_nesting = nesting
                if nesting > MAX_NESTING and passed is None:
                    passed = ("nesting", match.start())
        elif kind == "close":
            if frame.bracket != _OPENING[match.group()]:
                continue  # unbalanced: the parser reports it
            frames.pop()
            depth -= 1 + frame.items
            nesting -= 1
            closed, frame = frame, frames[-1]
            frame.after_term = True
            if not (closed.bracket == "{" and frame.bracket == "{" and not frame.data):
                continue
            frame.items += 1  # one of a list of groups
            depth += 1
        else:
            if kind != "skip":
                frame.after_term = False
            continue
        if depth > deepest:
            deepest = depth
            if depth > MAX_DEPTH and passed is None:
                passed = ("depth", match.start())
    if passed is None:
        return
    which, offset = passed
    line, column = _position(text, offset)
    if which == "nesting":
        raise QueryError(f"the query nests {deepest_nesting} levels deep (brackets {{ ( [ "
                         f"inside one another); the limit is {MAX_NESTING}",
                         line=line, column=column)
    raise QueryError(f"the query is {deepest} levels deep (nested brackets plus chains of "
                     "operators, path steps, UNION, OPTIONAL, FILTER, BIND or triple patterns, "
                     f"each nested in the one before); the limit is {MAX_DEPTH}: split it or "
                     "use VALUES", line=line, column=column)
