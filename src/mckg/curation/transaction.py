"""One write, prepared on a copy: apply it, work out what it changes, reason, validate.

This runs in the curation worker (:mod:`.worker`), a process that is killed at the time limit,
on the worker's **mirror**: an in-memory Oxigraph store holding exactly what the durable store
holds (every named graph and the merged default graph). The write is applied to the mirror,
what changed is found by comparing dumps (native and fast: only changed quads become Python
objects), the mirror is adjusted to the state after the change for reasoning and validation,
and then put back exactly as it was. The result is a :class:`Change` — quads removed and
added, per named graph — that the curator commits through the query service.

**The default graph is the merge of the named graphs** (docs/endpoint.md, Stores), so a
write to it is read that way: a triple deleted from the default graph is deleted from every
named graph that holds it (and the token must be allowed to write each of them); a triple
inserted into the default graph that no named graph holds goes to the curated graph
(``{base}graph/curated``).

**Blank nodes.** Blank nodes a write creates are skolemized to IRIs under
``{base}.well-known/genid/`` (RDF 1.1 §3.5): a blank node cannot be named by the next
request, so one written as such could never be corrected or reverted. Blank nodes already in
the store can only be removed with their whole graph (``DROP``, ``CLEAR``, a Graph Store
``PUT`` or ``DELETE``); a write that would remove some of a graph's blank-node triples, or copy
one into another graph, is refused (422) — no request can name those nodes exactly.

**Validation** covers the write's **focus nodes**, not the whole graph: the subjects and
objects of every changed triple, and the subjects of triples pointing at a changed subject (a
constraint on them may read its type). Their neighbourhood — their own triples, two steps
out, from the graphs ``mckg validate`` checks — is validated with the project's shapes
(:func:`mckg.build.validation.validate_graph`), and only results about focus nodes count.

**Reasoning.** When the write changes an asserted layer (ontology, vocabularies, data,
reference, user) and reasoning is on, the OWL 2 RL closure is computed again from the new
asserted layers (:func:`mckg.build.reasoning.infer`) and the inferred graph's difference is
part of the change.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Graph

from ..build.graphs import REASONED_LAYERS
from ..build.reasoning import infer
from ..build.validation import ValidationReport, Violation, validate_graph
from ..rdf.terms import from_oxigraph
from .tokens import curated_graph

# A change to one of REASONED_LAYERS (the build's: OWL RL runs over them) makes the closure
# be computed again.
#: Steps from a focus node whose triples go into the graph validated.
NEIGHBOURHOOD_STEPS = 2
#: Nodes the neighbourhood may hold (a bound: a hub node must not pull in the whole graph).
NEIGHBOURHOOD_NODES = 20_000

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


class WriteRefused(Exception):
    """The write cannot be done as asked. ``status``: 400 (malformed, with its position),
    404 (no such graph), 422 (it cannot be represented), 413 (too large)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class WriteRequest:
    """What a client asked: a SPARQL Update, or a Graph Store operation on one graph.

    ``kind`` is ``update``, ``put``, ``post``, ``delete`` or ``change`` (a given
    :class:`Change`, for a revert). ``data`` is N-Triples already read by the safe parsers
    (:mod:`mckg.rdf.files`) for ``put``/``post``, or the change's N-Quads for ``change``.
    """

    kind: str
    text: str = ""
    graph: str = ""
    data: bytes = b""
    removed: bytes = b""
    base_iri: str | None = None


@dataclass
class Change:
    """What a write changes, per named graph: quads removed and quads added (N-Quads).

    ``dropped`` graphs are removed whole first (they held blank nodes no request can name);
    ``removed`` never holds a blank node; ``added`` never does either (skolemized).
    """

    removed: bytes = b""
    added: bytes = b""
    dropped: tuple[str, ...] = ()
    graphs: tuple[str, ...] = ()
    n_removed: int = 0
    n_added: int = 0
    #: Whether the removed quads include blank nodes (of dropped graphs): such a write
    #: cannot be reverted exactly.
    removed_blank: bool = False

    @property
    def empty(self) -> bool:
        return not (self.n_removed or self.n_added)


@dataclass
class Prepared:
    """The outcome of :func:`prepare`: the change, the SHACL result, what it cost."""

    change: Change
    report: ValidationReport
    focus: int
    seconds: dict[str, float] = field(default_factory=dict)


def quads_bytes(quads: Iterable[ox.Quad]) -> bytes:
    """N-Quads of ``quads``, sorted (the same change always reads the same)."""
    lines = sorted(f"{q.subject} {q.predicate} {q.object} {q.graph_name} .\n" for q in quads)
    return "".join(lines).encode("utf-8")


def parse_quads(data: bytes) -> list[ox.Quad]:
    """Quads from N-Quads ``data`` (blank node labels kept)."""
    return list(ox.parse(data, ox.RdfFormat.N_QUADS)) if data else []


def _syntax(exc: SyntaxError) -> WriteRefused:
    """A parse error of the update, with its line and column as Oxigraph gives them."""
    return WriteRefused(400, f"the update is malformed: {exc}")


def _apply(copy: ox.Store, request: WriteRequest, base: str) -> None:
    """Apply ``request`` to ``copy`` as the client asked (no merge semantics yet)."""
    if request.kind == "update":
        try:
            if request.base_iri:
                copy.update(request.text, base_iri=request.base_iri)
            else:
                copy.update(request.text)
        except SyntaxError as exc:
            raise _syntax(exc) from None
        except (OSError, ValueError, RuntimeError) as exc:
            raise WriteRefused(400, f"the update failed: {exc}") from None
        return
    if request.kind == "change":
        for quad in parse_quads(request.removed):
            copy.remove(quad)
        copy.extend(parse_quads(request.data))
        return
    graph = ox.NamedNode(request.graph)
    if request.kind in ("put", "delete"):
        copy.remove_graph(graph)
    if request.kind in ("put", "post"):
        fresh: dict[str, ox.NamedNode] = {}
        triples = ox.parse(request.data, ox.RdfFormat.N_TRIPLES)
        copy.extend(ox.Quad(_fresh(t.subject, fresh, base), t.predicate,
                            _fresh(t.object, fresh, base), graph) for t in triples)


def _fresh(term: ox.NamedNode | ox.BlankNode | ox.Literal, fresh: dict[str, ox.NamedNode],
           base: str) -> ox.NamedNode | ox.Literal:
    """A blank node of a client's body as a new skolem IRI (its labels may equal ours)."""
    if isinstance(term, ox.BlankNode):
        if term.value not in fresh:
            fresh[term.value] = skolem(base)
        return fresh[term.value]
    return term  # type: ignore[return-value]


def skolem(base: str) -> ox.NamedNode:
    """A new skolem IRI (RDF 1.1 §3.5)."""
    return ox.NamedNode(f"{base}.well-known/genid/{uuid.uuid4().hex}")


def _blank(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)


def line(quad: ox.Quad) -> bytes:
    """``quad`` as its N-Quads line, exactly as Oxigraph dumps it (without the newline)."""
    return f"{quad} .".encode()


def lines_of(store: ox.Store) -> set[bytes]:
    """Every quad of ``store`` as its N-Quads line: a dump, split natively (fast, unlike a
    Python object per quad), for comparing states."""
    return set((store.dump(format=ox.RdfFormat.N_QUADS) or b"").splitlines())


def _parsed(lines: Iterable[bytes]) -> list[ox.Quad]:
    """Quads from N-Quads lines, blank node labels kept (``Store.load`` would rename them)."""
    chosen = list(lines)
    return parse_quads(b"\n".join(chosen) + b"\n") if chosen else []


def restore(store: ox.Store, before: set[bytes]) -> None:
    """Bring ``store`` back to exactly the quads ``before`` lists."""
    now = lines_of(store)
    for quad in _parsed(now - before):
        store.remove(quad)
    store.extend(_parsed(before - now))


@dataclass
class _Delta:
    """What a write changed on the mirror, read as the merge semantics say (module docstring)."""

    removed: set[ox.Quad]
    added: set[ox.Quad]
    dropped: set[str]
    #: Raw quads the mirror holds that the change does not (to be taken out of it), and
    #: change quads it lacks (to be put in): the adjustments that make it the state after.
    extra: set[ox.Quad]
    missing: set[ox.Quad]


def _same_triple(a: ox.Quad, b: ox.Quad) -> bool:
    return a.subject == b.subject and a.predicate == b.predicate and a.object == b.object


def diff(mirror: ox.Store, before: set[bytes], base: str) -> _Delta:
    """The named-graph quads removed and added by what was applied to ``mirror`` (which held
    the quads ``before`` lists), with the default graph read as the merge, new blank nodes
    skolemized, and the graphs to drop whole.

    Only the quads that changed become Python objects: the states are compared as dumps.

    :raise WriteRefused: 422, the write touches blank nodes no request can name.
    """
    after = lines_of(mirror)
    new_lines = after - before
    gone = _parsed(before - after)
    new = _parsed(new_lines)
    default = ox.DefaultGraph()
    raw_removed = {q for q in gone if q.graph_name != default}
    raw_added = {q for q in new if q.graph_name != default}
    removed = set(raw_removed)
    added = set(raw_added)
    for quad in (q for q in gone if q.graph_name == default):  # deleted from the merge
        removed.update(h for h in mirror.quads_for_pattern(quad.subject, quad.predicate,
                                                           quad.object, None)
                       if h.graph_name != default and line(h) not in new_lines)
        removed.update(h for h in raw_removed if _same_triple(h, quad))

    def held_after(quad: ox.Quad) -> bool:
        holders = {h for h in mirror.quads_for_pattern(quad.subject, quad.predicate,
                                                       quad.object, None)
                   if h.graph_name != default}
        return bool(holders - removed) or any(_same_triple(h, quad) for h in added)

    curated = ox.NamedNode(curated_graph(base))
    for quad in (q for q in new if q.graph_name == default):  # inserted into the merge
        if not held_after(quad):
            added.add(ox.Quad(quad.subject, quad.predicate, quad.object, curated))
    both = removed & added
    removed -= both
    added -= both
    removed = {q for q in removed if line(q) in before}
    added = {q for q in added if line(q) not in before}
    gone_blanks = {t.value for q in gone for t in (q.subject, q.object)
                   if isinstance(t, ox.BlankNode)}

    def old(blank: ox.BlankNode) -> bool:
        if blank.value in gone_blanks:
            return True
        return any(line(q) not in new_lines
                   for q in (*mirror.quads_for_pattern(blank, None, None, None),
                             *mirror.quads_for_pattern(None, None, blank, None)))

    fresh: dict[str, ox.NamedNode] = {}
    skolemized: set[ox.Quad] = set()
    for quad in added:
        for term in (quad.subject, quad.object):
            if isinstance(term, ox.BlankNode) and term.value not in fresh and old(term):
                raise WriteRefused(422, f"the write copies the blank node _:{term.value} into "
                                        f"<{quad.graph_name.value}>; blank nodes already in the "
                                        "store cannot be named by a request (docs/curation.md)")
        skolemized.add(ox.Quad(_fresh(quad.subject, fresh, base), quad.predicate,
                               _fresh(quad.object, fresh, base), quad.graph_name))
    dropped: set[str] = set()
    for quad in (q for q in removed if _blank(q)):
        graph = quad.graph_name.value
        if graph in dropped:
            continue
        whole = {q for q in mirror.quads_for_pattern(None, None, None, quad.graph_name)
                 if line(q) not in new_lines} | {q for q in raw_removed
                                                 if q.graph_name == quad.graph_name}
        if not whole <= removed:
            raise WriteRefused(422, f"the write removes some, not all, of the blank-node "
                                    f"triples of <{graph}>; blank nodes already in the store "
                                    "cannot be named by a request: drop or replace the whole "
                                    "graph instead (docs/curation.md)")
        dropped.add(graph)
    extra = (raw_added - skolemized) | (removed - raw_removed)
    missing = skolemized - raw_added
    return _Delta(removed, skolemized, dropped, extra, missing)


def _graph_of(store: ox.Store, graphs: Iterable[str]) -> Graph:
    """An rdflib graph of the union of ``graphs`` in ``store``."""
    out = Graph()
    for name in graphs:
        for q in store.quads_for_pattern(None, None, None, ox.NamedNode(name)):
            out.add((from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object)))
    return out


def reason(after: ox.Store, base: str) -> set[ox.Quad]:
    """The inferred graph's quads for the asserted layers of ``after`` (OWL 2 RL)."""
    from ..rdf.terms import to_oxigraph

    asserted = _graph_of(after, (f"{base}graph/{layer}" for layer in REASONED_LAYERS))
    graph = ox.NamedNode(f"{base}graph/inferred")
    return {ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), graph)  # type: ignore[arg-type]
            for s, p, o in infer(asserted, base=base)}


def focus_nodes(removed: Iterable[ox.Quad], added: Iterable[ox.Quad],
                after: ox.Store) -> set[ox.NamedNode | ox.BlankNode]:
    """The nodes a change can make (non-)conforming (module docstring)."""
    focus: set[ox.NamedNode | ox.BlankNode] = set()
    subjects: set[ox.NamedNode | ox.BlankNode] = set()
    for quad in (*removed, *added):
        focus.add(quad.subject)
        subjects.add(quad.subject)
        if isinstance(quad.object, ox.NamedNode | ox.BlankNode):
            focus.add(quad.object)
    for node in subjects:
        for q in after.quads_for_pattern(None, None, node, None):
            focus.add(q.subject)
    return focus


def _neighbourhood(after: ox.Store, focus: set[ox.NamedNode | ox.BlankNode],
                   graphs: set[ox.NamedNode]) -> Iterator[ox.Quad]:
    """Triples of the validated graphs about ``focus``, up to :data:`NEIGHBOURHOOD_STEPS` out."""
    seen: set[ox.NamedNode | ox.BlankNode] = set()
    frontier = set(focus)
    for _ in range(NEIGHBOURHOOD_STEPS):
        following: set[ox.NamedNode | ox.BlankNode] = set()
        for node in frontier:
            if node in seen or len(seen) >= NEIGHBOURHOOD_NODES:
                continue
            seen.add(node)
            for q in after.quads_for_pattern(node, None, None, None):
                if q.graph_name in graphs:
                    yield q
                    if isinstance(q.object, ox.NamedNode | ox.BlankNode):
                        following.add(q.object)
        frontier = following - seen
    for node in frontier:  # the last step: what the nodes are (sh:class reads rdf:type)
        for q in after.quads_for_pattern(node, RDF_TYPE, None, None):
            if q.graph_name in graphs:
                yield q


def validate_focus(after: ox.Store, focus: set[ox.NamedNode | ox.BlankNode], base: str,
                   shapes: Graph, ontology: Graph) -> ValidationReport:
    """Validate the neighbourhood of ``focus`` and keep the results about focus nodes.

    Graphs outside the shipped layers (the curated graph, survey waves, loaded files) are
    validated too; the audit trail and the inferred graph are not, as in ``mckg validate``.
    """
    skipped = {f"{base}graph/audit", f"{base}graph/inferred", f"{base}graph/ontology"}
    graphs = {g for g in after.named_graphs() if g.value not in skipped}
    data = Graph()
    for q in _neighbourhood(after, focus, graphs):  # type: ignore[arg-type]
        data.add((from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object)))
    report = validate_graph(data, ontology, shapes=shapes)
    wanted = {str(from_oxigraph(n)) if isinstance(n, ox.NamedNode) else from_oxigraph(n).n3()
              for n in focus}
    kept: list[Violation] = [v for v in report.violations if v.focus in wanted]
    report.violations = kept
    report.conforms = not any(v.severity == "Violation" for v in kept)
    return report


def prepare(mirror: ox.Store, request: WriteRequest, *, base: str, reasoning: bool,
            shapes: Graph, ontology: Graph, before: set[bytes] | None = None,
            applied: object = None) -> Prepared:
    """Apply ``request`` to ``mirror``, work out the change, reason and validate — then put
    ``mirror`` back exactly as it was (``before``: its quads as lines, if known), whatever
    happens.

    ``applied`` is called (if given) once the write is applied and its change known, before
    reasoning and validation: the worker reports it, so each phase has its own time limit.

    :raise WriteRefused: the write is malformed or cannot be represented.
    """
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if before is None:
        before = lines_of(mirror)
    seconds["snapshot"] = time.perf_counter() - started
    try:
        mark = time.perf_counter()
        _apply(mirror, request, base)
        delta = diff(mirror, before, base)
        removed, added, dropped = delta.removed, delta.added, delta.dropped
        for quad in delta.extra:  # the mirror becomes the state after the change
            mirror.remove(quad)
        mirror.extend(delta.missing)
        for graph in dropped:
            mirror.remove_graph(ox.NamedNode(graph))
        seconds["apply"] = time.perf_counter() - mark
        if callable(applied):
            applied()
        touched = {q.graph_name.value for q in (*removed, *added)} | dropped
        if reasoning and touched & {f"{base}graph/{layer}" for layer in REASONED_LAYERS}:
            mark = time.perf_counter()
            inferred = ox.NamedNode(f"{base}graph/inferred")
            old = set(mirror.quads_for_pattern(None, None, None, inferred))
            new = reason(mirror, base)
            if any(_blank(q) for q in (old ^ new)):
                raise WriteRefused(422, "the inferred graph would change blank-node triples, "
                                        "which cannot be written exactly; change the data so "
                                        "that no inference involves a blank node")
            removed |= old - new
            added |= new - old
            mirror.remove_graph(inferred)
            mirror.extend(new)
            seconds["reasoning"] = time.perf_counter() - mark
        mark = time.perf_counter()
        focus = focus_nodes(removed, added, mirror)
        report = validate_focus(mirror, focus, base, shapes, ontology) if focus else \
            ValidationReport(conforms=True, inference="none")
        seconds["validation"] = time.perf_counter() - mark
    finally:
        mark = time.perf_counter()
        restore(mirror, before)
        seconds["restore"] = time.perf_counter() - mark
    graphs = tuple(sorted({q.graph_name.value for q in (*removed, *added)} | dropped))
    change = Change(removed=quads_bytes(removed), added=quads_bytes(added),
                    dropped=tuple(sorted(dropped)), graphs=graphs, n_removed=len(removed),
                    n_added=len(added), removed_blank=any(_blank(q) for q in removed))
    return Prepared(change, report, len(focus), seconds)
