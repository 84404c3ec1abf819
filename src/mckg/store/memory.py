"""The ``memory`` store: an rdflib Dataset evaluated by rdflib's own SPARQL engine.

For tests and tiny graphs. rdflib's engine is not thread-safe and cannot be interrupted, so
the endpoint runs it in worker processes, each with its own copy of the dataset read from an
N-Quads dump written once (:meth:`MemoryStore.worker_spec`).

rdflib's default graph over a ``Dataset(default_union=True)`` is already the RDF merge of the
named graphs; a protocol dataset is applied by replacing the query's dataset clause in the
algebra, which rdflib then evaluates by the spec (merge of ``FROM``, only ``FROM NAMED`` for
``GRAPH``). Answers are converted once into pyoxigraph objects so that serialization is the
same code on every store.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from decimal import Decimal
from itertools import islice
from pathlib import Path
from types import MethodType
from typing import Any

import pyoxigraph as ox
from pyparsing import ParseException
from rdflib import XSD, BNode, Dataset, Literal, URIRef, Variable
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.sparql import CUSTOM_EVALS
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.evaluate import evalQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue, Expr
from rdflib.plugins.sparql.processor import SPARQLResult
from rdflib.term import Node

from ..sparql import QueryError, QueryInfo
from .base import QueryDataset, Store, StoreError, StoreSpec
from .results import NativeResult

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Convert one rdflib term to pyoxigraph.

    :raise ValueError: the term is not a valid RDF term (e.g. an IRI with spaces).
    """
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise ValueError(f"not an RDF term: {term!r}")


def from_oxigraph(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> Node:
    """Convert one pyoxigraph term to rdflib (blank node labels kept).

    :raise ValueError: the term is not an IRI, blank node or literal (RDF-star triples).
    """
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value, datatype=None if datatype == _XSD_STRING else URIRef(datatype))
    raise ValueError(f"not an RDF term: {term!r}")


def _lower_language(term: Node) -> Node:
    """A language-tagged literal with its tag in lower case (other terms as they are).

    RDF 1.1 (§3.3) lets a store lower-case language tags, and Oxigraph does; rdflib keeps
    ``en-GB``. Lower-casing on the way in makes ``LANG()`` and ``=`` on tags answer the same
    on every store (the tag's meaning is case-insensitive either way).
    """
    if isinstance(term, Literal) and term.language and not term.language.islower():
        return Literal(str(term), lang=term.language.lower())
    return term


def _json_term(term: Node) -> dict[str, str]:
    """One term in the SPARQL 1.1 Query Results JSON format."""
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    if isinstance(term, Literal):
        out = {"type": "literal", "value": str(term)}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype is not None and str(term.datatype) != _XSD_STRING:
            out["datatype"] = str(term.datatype)
        return out
    raise ValueError(f"not an RDF term: {term!r}")


def _scope_values(node: object, depth: int = 0) -> set[Variable]:
    """Give ``VALUES`` blocks (and the nodes above them) the variables they bind.

    rdflib's algebra leaves ``_vars`` of an inline ``VALUES`` empty; its OPTIONAL evaluation
    then re-checks a row without the VALUES bindings and drops rows the spec keeps:
    ``{ VALUES ?p { :a :b } OPTIONAL { ?p :q ?x } }`` loses ``:a`` when only ``:b`` has a
    ``:q`` (SPARQL 1.1 §18.6, LeftJoin). Oxigraph keeps it; so must we. Returns the
    variables bound by VALUES below ``node``.
    """
    if not isinstance(node, CompValue) or depth > 200:  # algebra trees are shallow
        return set()
    found: set[Variable] = set()
    if node.name == "values":
        for row in dict.get(node, "res") or ():
            found.update(k for k in row if isinstance(k, Variable))
    for key, child in node.items():
        if key == "_vars":
            continue
        for item in child if isinstance(child, list) else [child]:
            found |= _scope_values(item, depth + 1)
    if found:
        current = dict.get(node, "_vars")
        node["_vars"] = set(current or ()) | found
    return found


def _multiply(e: Any, ctx: Any) -> Literal:
    """SPARQL ``*`` and ``/`` with XPath's numeric type promotion (SPARQL 1.1 §17.3).

    rdflib's own ``MultiplicativeExpression`` computes in ``Decimal`` and types the result
    by the Python value: ``2 * 3`` comes back as ``xsd:decimal`` (XPath: ``xsd:integer``), a
    double times an integer as ``xsd:decimal`` (XPath: ``xsd:double``), floats as doubles.
    Here the result type is the promoted type of the operands, as ``+`` and ``-`` already do
    in rdflib and as Oxigraph does; ``/`` of two integers is ``xsd:decimal`` (op:numeric-divide).
    """
    from rdflib.plugins.sparql.datatypes import type_promotion
    from rdflib.plugins.sparql.operators import numeric
    from rdflib.plugins.sparql.sparql import SPARQLError

    result, other = e.expr, e.other
    if other is None:
        return result  # type: ignore[no-any-return]
    value = numeric(result)
    datatype = result.datatype
    for op, term in zip(e.op, other, strict=True):
        operand = numeric(term)
        try:
            datatype = type_promotion(datatype, term.datatype)
        except TypeError as exc:
            raise SPARQLError(str(exc)) from None
        if op == "/" and datatype == XSD.integer:
            datatype = XSD.decimal
        if datatype in (XSD.float, XSD.double):
            a, b = float(value), float(operand)
            if op == "*":
                value = a * b
            elif b == 0:  # IEEE 754, as XPath says for float and double: no error
                value = math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * (
                    math.copysign(1.0, b))
            else:
                value = a / b
        else:
            x, y = Decimal(value), Decimal(operand)
            if op == "/" and y == 0:
                raise SPARQLError("divide by 0")
            value = x * y if op == "*" else x / y
    if datatype == XSD.integer:
        value = int(value)
    return Literal(value, datatype=datatype)


def _fix_arithmetic(node: object) -> None:
    """Give every ``*``/``/`` expression of an algebra tree :func:`_multiply` (iterative walk)."""
    stack: list[object] = [node]
    for _ in range(1_000_000):  # bounded: algebra trees are small; this guards bugs
        if not stack:
            return
        item = stack.pop()
        if isinstance(item, CompValue):
            if isinstance(item, Expr) and item.name == "MultiplicativeExpression":
                item._evalfn = MethodType(_multiply, item)
            stack.extend(v for k, v in dict.items(item) if k != "_vars")
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _grouped_aggregates(ctx: Any, part: CompValue) -> Any:
    """rdflib's ``AggregateJoin`` for an explicit ``GROUP BY``, without its invented row.

    Over no solutions rdflib yields one empty solution even with ``GROUP BY``; by SPARQL 1.1
    §18.5.1 (``Group``) there are then no groups and so no rows (the W3C test
    ``agg-empty-group``). Without ``GROUP BY`` the one implicit group stays (``COUNT`` = 0),
    which rdflib gets right. Registered in rdflib's ``CUSTOM_EVALS`` (its extension hook), it
    must refuse other parts at once — hence a plain function returning a generator.
    """
    from collections import defaultdict

    from rdflib.plugins.sparql.aggregates import Aggregator
    from rdflib.plugins.sparql.evaluate import evalPart
    from rdflib.plugins.sparql.evalutils import _eval
    from rdflib.plugins.sparql.sparql import FrozenBindings

    if part.name != "AggregateJoin" or part.p.expr is None:
        raise NotImplementedError

    def rows() -> Any:
        groups: dict[Any, Any] = defaultdict(lambda: Aggregator(aggregations=part.A))
        for row in evalPart(ctx, part.p):
            groups[tuple(_eval(e, row, False) for e in part.p.expr)].update(row)
        for aggregator in groups.values():
            yield FrozenBindings(ctx, aggregator.get_bindings())

    return rows()


CUSTOM_EVALS["mckg-empty-group-by"] = _grouped_aggregates


class MemoryStore(Store):
    """An in-memory rdflib ``Dataset`` whose default graph is the union of its named graphs."""

    kind = "memory"

    def __init__(self, dataset: Dataset | None = None, *, url: str = "memory",
                 read_only: bool = False) -> None:
        super().__init__(url, read_only=read_only)
        self.dataset = dataset if dataset is not None else Dataset(default_union=True)
        self._marker: dict[str, Any] | None = None
        self._dump_dir: Path | None = None

    @classmethod
    def from_nquads(cls, path: Path) -> MemoryStore:
        """Open a read-only store from an N-Quads dump (what worker processes do)."""
        dataset = Dataset(default_union=True)
        dataset.parse(str(path), format="nquads")
        return cls(dataset, read_only=True)

    # -- querying ------------------------------------------------------------------------
    def query(self, text: str, info: QueryInfo, *, dataset: QueryDataset | None = None,
              prefixes: Mapping[str, str] | None = None,
              limit: int | None = None) -> NativeResult:
        """Evaluate with rdflib; convert the answer to pyoxigraph objects, cut at ``limit``."""
        try:
            query = translateQuery(parseQuery(text), initNs=dict(prefixes or {}))
            _scope_values(query.algebra)
            _fix_arithmetic(query.algebra)
            if dataset is not None and dataset.given:
                # The protocol's dataset replaces the query's own (SPARQL 1.1 Protocol §2.1.4).
                query.algebra["datasetClause"] = (
                    [CompValue("DatasetClause", default=URIRef(g)) for g in dataset.default_graphs]
                    + [CompValue("DatasetClause", named=URIRef(g)) for g in dataset.named_graphs]
                )
            raw = evalQuery(self.dataset, query, {}, None)
            result = SPARQLResult(raw)
        except ParseException as exc:
            raise QueryError(f"SPARQL syntax error: {exc.msg}", line=exc.lineno,
                             column=exc.col) from None
        except QueryError:
            raise
        except Exception as exc:  # rdflib raises many kinds during evaluation
            raise QueryError(f"query failed: {exc}") from None
        try:
            return self._convert(result, raw, info, limit)
        except ValueError as exc:
            raise StoreError(f"the answer holds a term that is not valid RDF: {exc}") from None

    def _convert(self, result: Any, raw: Mapping[str, Any], info: QueryInfo,
                 limit: int | None) -> NativeResult:
        form = info.form
        bounded = limit is None or (info.limit is not None and info.limit <= limit)
        keep = None if bounded else (limit or 0) + 1
        if form == "ASK":
            return NativeResult(form, boolean=bool(result.askAnswer))
        if form == "SELECT":
            variables = list(result.vars or [])
            names = [str(v) for v in variables]
            # The solutions themselves, not ``iter(result)``: rdflib's iterator drops those
            # that bind no variable, and the spec counts them (``SELECT ?x WHERE {}`` has one
            # solution; ``VALUES ?a { UNDEF 1 }`` two).
            rows = list(islice(raw.get("bindings") or (), keep))
            truncated = keep is not None and len(rows) >= keep
            if truncated:
                rows = rows[:-1]
            bindings = [{name: _json_term(row[v]) for v, name in zip(variables, names, strict=True)
                         if row.get(v) is not None} for row in rows]
            payload = json.dumps({"head": {"vars": names}, "results": {"bindings": bindings}})
            solutions = ox.parse_query_results(payload, ox.QueryResultsFormat.JSON)
            assert isinstance(solutions, ox.QuerySolutions)
            return NativeResult(form, solutions=solutions, query_limit=info.limit,
                                truncated=truncated)
        triples = list(islice(result.graph, keep))
        truncated = keep is not None and len(triples) >= keep
        if truncated:
            triples = triples[:-1]
        converted = [ox.Triple(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o))  # type: ignore[arg-type]
                     for s, p, o in triples]
        return NativeResult(form, triples=converted, query_limit=info.limit, truncated=truncated)

    def update(self, text: str) -> None:
        """Run a SPARQL Update on the dataset (loading only)."""
        if self.read_only:
            raise StoreError("this store handle is read-only", status=403)
        try:
            self.dataset.update(text)
        except Exception as exc:  # rdflib raises many kinds
            raise StoreError(f"update failed: {exc}", status=400) from None

    # -- loading -------------------------------------------------------------------------
    def load_nquads(self, data: bytes, *, replace: Iterable[str] = ()) -> None:
        """Parse ``data`` fully, then drop the ``replace`` graphs and add the quads."""
        if self.read_only:
            raise StoreError("this store handle is read-only", status=403)
        parsed = Dataset()
        try:
            parsed.parse(data=data, format="nquads")
        except Exception as exc:  # rdflib's parsers raise many kinds
            raise StoreError(f"invalid N-Quads: {exc}", status=400) from None
        self.load_dataset(parsed, replace=replace)

    def load_dataset(self, dataset: Dataset, *, replace: Iterable[str] = ()) -> None:
        """Add the named graphs of ``dataset`` directly (no serialization round trip)."""
        if self.read_only:
            raise StoreError("this store handle is read-only", status=403)
        graphs = [g for g in dataset.graphs() if len(g)]
        if any(g.identifier == DATASET_DEFAULT_GRAPH_ID for g in graphs):
            raise StoreError("every triple must be in a named graph", status=400)
        for iri in replace:
            self.dataset.remove_graph(URIRef(iri))
        for graph in graphs:
            target = self.dataset.graph(graph.identifier)
            target.addN((s, p, _lower_language(o), target) for s, p, o in graph)

    def clear(self) -> None:
        """Forget every graph and the marker."""
        self.dataset = Dataset(default_union=True)
        self._marker = None

    # -- describing ----------------------------------------------------------------------
    def named_graphs(self) -> list[str]:
        """Named graphs holding at least one triple."""
        return sorted(str(g.identifier) for g in self.dataset.graphs()
                      if g.identifier != DATASET_DEFAULT_GRAPH_ID and len(g))

    def counts(self) -> dict[str, int]:
        """Triples per named graph."""
        return {str(g.identifier): len(g) for g in self.dataset.graphs()
                if g.identifier != DATASET_DEFAULT_GRAPH_ID and len(g)}

    # -- persistence ---------------------------------------------------------------------
    def read_marker(self) -> dict[str, Any] | None:
        """The marker of the last load in this process (memory does not persist)."""
        return dict(self._marker) if self._marker is not None else None

    def write_marker(self, marker: dict[str, Any] | None) -> None:
        """Remember ``marker`` for the life of the object."""
        self._marker = dict(marker) if marker is not None else None

    # -- processes -----------------------------------------------------------------------
    def worker_spec(self) -> StoreSpec:
        """Write the dataset once as N-Quads; each worker reads its own copy from it."""
        if self._dump_dir is None:
            self._dump_dir = Path(tempfile.mkdtemp(prefix="mckg-memory-"))
            path = self._dump_dir / "dataset.nq"
            self.dataset.serialize(destination=str(path), format="nquads", encoding="utf-8")
            os.chmod(path, 0o600)
        return StoreSpec("memory", str(self._dump_dir / "dataset.nq"))

    def close(self) -> None:
        """Remove the worker dump, if one was written."""
        if self._dump_dir is not None:
            shutil.rmtree(self._dump_dir, ignore_errors=True)
            self._dump_dir = None


def _distinct_skips_unbound() -> None:
    """Make ``DISTINCT`` aggregates skip unbound values, as SPARQL 1.1 §18.5.1 requires.

    rdflib's base ``Accumulator.use_row`` evaluates the expression without catching
    ``NotBoundError``, so ``GROUP_CONCAT(DISTINCT ?x)`` or ``SUM(DISTINCT ?x)`` over a variable an
    OPTIONAL left unbound aborts the whole query (only ``COUNT`` catches it). An unbound value
    is an error in the aggregate's expression and contributes nothing; Oxigraph answers so.
    """
    from rdflib.plugins.sparql.aggregates import Accumulator
    from rdflib.plugins.sparql.sparql import NotBoundError

    original = Accumulator.use_row
    if getattr(original, "_mckg_patched", False):
        return

    def use_row(self: Accumulator, row: Any) -> bool:
        try:
            return original(self, row)
        except NotBoundError:
            return False

    use_row._mckg_patched = True  # type: ignore[attr-defined]
    Accumulator.use_row = use_row  # type: ignore[method-assign]


_distinct_skips_unbound()
