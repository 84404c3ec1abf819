"""The class diagram on the ontology page: the class hierarchy drawn as inline SVG.

Drawn on the server, so the page needs no script and no CDN (the usual Mermaid or D3 route
fetches a library at view time). Each class of the ontology is a box with its name and the
number of its instances in the data, placed as an indented tree (depth to the right, one class
per row), with an elbow line from each class to its sub-classes, and beside it the object
properties the ontology declares on it with their ranges (``about → Jurisdiction``); every box
links to the class's entry. A class with several super-classes is drawn under the first (by
name) and the others are named in its tooltip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ontology import Term

ROW, INDENT, BOX_W, BOX_H, PAD = 26, 28, 250, 20, 6
#: Room for the relations written beside the boxes, and the most characters shown.
RELATIONS_W, RELATIONS_MAX = 760, 120


@dataclass(frozen=True)
class Node:
    """One box: the class, where it is drawn, and where its connector starts."""

    term: Term
    x: int
    y: int
    depth: int
    also_under: tuple[str, ...] = ()
    #: "property → range" for the object properties declared with this class as domain.
    relations: str = ""


@dataclass(frozen=True)
class Edge:
    """An elbow from a parent's box down and across to a child's."""

    x1: int
    y1: int
    x2: int
    y2: int


@dataclass
class ClassDiagram:
    """Boxes, edges and the size of the drawing."""

    width: int
    height: int
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _relations(term: Term, properties: list[Term]) -> str:
    parts = []
    for p in properties:
        if any(r.link.iri == term.iri for expr in p.domain for r in expr):
            ranges = " or ".join(r.link.label for expr in p.range for r in expr)
            parts.append(f"{p.label} → {ranges}" if ranges else p.label)
    text = "; ".join(sorted(parts, key=str.casefold))
    return text if len(text) <= RELATIONS_MAX else text[:RELATIONS_MAX - 1] + "…"


def class_diagram(classes: list[Term], properties: list[Term] | None = None) -> ClassDiagram:
    """The hierarchy of ``classes`` (only sub-class links between them count), with the object
    ``properties`` declared on each."""
    properties = properties or []
    by_iri = {t.iri: t for t in classes}
    key = lambda t: t.label.casefold()  # noqa: E731 - a sort key
    parents = {t.iri: sorted((by_iri[p.link.iri] for p in t.parents if p.link.iri in by_iri),
                             key=key) for t in classes}
    children: dict[str, list[Term]] = {t.iri: [] for t in classes}
    for t in classes:
        if parents[t.iri]:
            children[parents[t.iri][0].iri].append(t)
    diagram = ClassDiagram(0, 0)
    placed: dict[str, Node] = {}

    def place(term: Term, depth: int, parent: Node | None) -> None:
        if term.iri in placed:  # a cycle in sub-class links: draw each class once
            return
        node = Node(term, PAD + depth * INDENT, PAD + len(placed) * ROW, depth,
                    tuple(p.label for p in parents[term.iri][1:]),
                    _relations(term, properties))
        placed[term.iri] = node
        diagram.nodes.append(node)
        if parent is not None:
            diagram.edges.append(Edge(parent.x + 10, parent.y + BOX_H, node.x, node.y + BOX_H // 2))
        for child in sorted(children[term.iri], key=key):
            place(child, depth + 1, node)

    for root in sorted((t for t in classes if not parents[t.iri]), key=key):
        place(root, 0, None)
    for term in sorted(classes, key=key):  # anything left (a cycle without a root)
        place(term, 0, None)
    depth = max((n.depth for n in diagram.nodes), default=0)
    diagram.width = PAD * 2 + depth * INDENT + BOX_W + RELATIONS_W
    diagram.height = PAD * 2 + len(diagram.nodes) * ROW
    return diagram
