"""SHACL validation of the graph, with one typed result instead of pySHACL's tuple.

pySHACL writes into the shapes graph it is given, so each run gets its own copy. Results are
grouped by shape and focus node and carry the file(s) that describe the focus node, so a data
author can go straight to the line to fix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from ..rdf.files import read_file
from ..rdf.namespaces import CANONICAL_BASE
from ..resources import shipped_files
from .graphs import VALIDATED_LAYERS, KnowledgeGraph, rebase


@dataclass(frozen=True)
class Violation:
    """One SHACL result."""

    severity: str
    shape: str
    focus: str
    path: str | None
    value: str | None
    message: str
    files: tuple[str, ...] = ()


@dataclass
class ValidationReport:
    """The outcome of one validation run."""

    conforms: bool
    inference: str
    violations: list[Violation] = field(default_factory=list)

    @property
    def errors(self) -> list[Violation]:
        """Results of severity Violation (warnings and infos excluded)."""
        return [v for v in self.violations if v.severity == "Violation"]

    def grouped(self) -> dict[str, dict[str, list[Violation]]]:
        """Results grouped by shape, then by focus node."""
        out: dict[str, dict[str, list[Violation]]] = defaultdict(lambda: defaultdict(list))
        for v in self.violations:
            out[v.shape][v.focus].append(v)
        return out

    def text(self, shorten=lambda iri: iri) -> str:
        """A readable report: one block per shape, one line per focus node and problem."""
        if self.conforms:
            return f"Conforms (inference: {self.inference})."
        lines = [f"Does not conform (inference: {self.inference}): "
                 f"{len(self.errors)} violation(s), {len(self.violations) - len(self.errors)} other."]
        for shape, by_focus in sorted(self.grouped().items()):
            lines.append(f"\nShape {shorten(shape)}")
            for focus, results in sorted(by_focus.items()):
                files = sorted({f for r in results for f in r.files})
                where = f"  ({', '.join(files)})" if files else ""
                lines.append(f"  {shorten(focus)}{where}")
                for r in results:
                    path = f" [{shorten(r.path)}]" if r.path else ""
                    value = f" value: {shorten(r.value)}" if r.value else ""
                    lines.append(f"    {r.severity}{path}: {r.message}{value}")
        return "\n".join(lines)


def load_shapes(base: str = CANONICAL_BASE) -> Graph:
    """Return a fresh graph of the shipped SHACL shapes, with project IRIs under ``base``."""
    shapes = Graph()
    for path in shipped_files("shapes"):
        read_file(path, into=shapes)
    return rebase(shapes, base)


def _str(node: Node | None) -> str | None:
    if node is None:
        return None
    return str(node) if isinstance(node, URIRef | Literal) else node.n3()


def _results(report: Graph, shapes: Graph, origins: dict[Node, set[str]]) -> Iterable[Violation]:
    """Top-level results only: pySHACL's nested ``sh:detail`` results repeat what they explain."""
    for validation in report.subjects(RDF.type, SH.ValidationReport):
        for result in report.objects(validation, SH.result):
            severity = report.value(result, SH.resultSeverity)
            shape = report.value(result, SH.sourceShape)
            # Property shapes are blank nodes: name the node shape that holds them instead.
            if shape is not None and not isinstance(shape, URIRef):
                shape = shapes.value(None, SH.property, shape) or shape
            focus = report.value(result, SH.focusNode)
            messages = [str(m) for m in report.objects(result, SH.resultMessage)]
            yield Violation(
                severity=str(severity).rsplit("#", 1)[-1],
                shape=_str(shape) or "?",
                focus=_str(focus) or "?",
                path=_str(report.value(result, SH.resultPath)),
                value=_str(report.value(result, SH.value)),
                message="; ".join(messages) or "constraint not met",
                files=tuple(sorted(origins.get(focus, ()))) if focus is not None else (),
            )


def validate_graph(data: Graph, ontology: Graph, *, inference: str = "none",
                   shapes: Graph | None = None,
                   origins: dict[Node, set[str]] | None = None) -> ValidationReport:
    """Validate ``data`` (with ``ontology`` mixed in) against the shapes.

    ``inference`` is pySHACL's: ``none``, ``rdfs``, ``owlrl`` or ``both``.
    """
    shapes_graph = shapes if shapes is not None else load_shapes()
    pristine = Graph()
    for triple in shapes_graph:  # pySHACL writes into the graph it is given: keep a clean copy
        pristine.add(triple)
    conforms, report_graph, _text = shacl_validate(
        data, shacl_graph=shapes_graph, ont_graph=ontology, inference=inference,
        advanced=True, allow_warnings=True, abort_on_first=False,
    )
    assert isinstance(report_graph, Graph)
    violations = sorted(_results(report_graph, pristine, origins or {}),
                        key=lambda v: (v.shape, v.focus, v.path or "", v.message))
    return ValidationReport(conforms=bool(conforms), inference=inference, violations=violations)


def validate(kg: KnowledgeGraph, *, inference: str = "none") -> ValidationReport:
    """Validate the asserted data of ``kg``; ``inference='owlrl'`` adds our inferred graph."""
    layers = list(VALIDATED_LAYERS)
    if inference == "owlrl":
        layers.append("inferred")
    data = kg.union(layers)
    report = validate_graph(data, kg.graph("ontology"), shapes=load_shapes(kg.base),
                            inference="none" if inference == "owlrl" else inference,
                            origins=kg.origins)
    report.inference = inference
    return report
