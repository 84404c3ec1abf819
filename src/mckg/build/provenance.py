"""What counts as a fact node and what provenance it must carry (shared by stats and tests)."""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import RDFS, Graph, URIRef
from rdflib.namespace import PROV
from rdflib.term import Node

from ..rdf.namespaces import MCKG

#: Classes whose instances are facts taken from a report and must say where they come from.
FACT_CLASSES: tuple[URIRef, ...] = (
    MCKG.Finding, MCKG.Conflict, MCKG.MonetaryAmount, MCKG.MicroCredentialDefinition,
    MCKG.Portal, MCKG.QualityAssuranceApproach, MCKG.Provision, MCKG.SurveyResponse,
)


def subclasses_of(ontology: Graph, roots: Iterable[URIRef]) -> set[URIRef]:
    """``roots`` and all their sub-classes in ``ontology`` (transitively)."""
    found: set[URIRef] = set()
    for root in roots:
        for cls in ontology.transitive_subjects(RDFS.subClassOf, root):
            if isinstance(cls, URIRef):
                found.add(cls)
    return found


def has_provenance(data: Graph, node: Node) -> bool:
    """True when ``node`` names its source document, report section and credited source."""
    return (
        data.value(node, PROV.wasDerivedFrom) is not None
        and data.value(node, MCKG.section) is not None
        and data.value(node, MCKG.reportedBy) is not None
    )
