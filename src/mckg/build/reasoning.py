"""OWL 2 RL reasoning with owlrl, kept apart from the asserted triples.

owlrl expands a graph in place and adds much that is true but useless to a reader (every
resource is an ``owl:Thing``, every literal has a datatype, every term is ``owl:sameAs`` itself,
axioms about RDF/OWL's own vocabulary). We run it once at build time on a copy, subtract the
asserted triples and keep only inferences whose subject is one of ours, so the inferred graph holds
what the ontology adds: super-classes, super-properties, inverses and property chains.
"""

from __future__ import annotations

import owlrl
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef

_NOISE_TYPES = {OWL.Thing, RDFS.Resource, OWL.NamedIndividual, RDFS.Class, OWL.Class,
                RDF.Property, RDFS.Datatype}
_NOISE_PREDICATES = {OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty,
                     RDFS.subClassOf, RDFS.subPropertyOf, OWL.differentFrom,
                     RDFS.domain, RDFS.range}


def infer(asserted: Graph, *, base: str) -> Graph:
    """Return the triples that OWL 2 RL adds to ``asserted`` about resources under ``base``."""
    work = Graph()
    for triple in asserted:
        work.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, rdfs_closure=False,
                           axiomatic_triples=False, datatype_axioms=False).expand(work)
    inferred = Graph()
    for s, p, o in work:
        if (s, p, o) in asserted:
            continue
        if not isinstance(s, URIRef) or not str(s).startswith(base):
            continue
        if isinstance(o, Literal) and p != RDFS.label and p.startswith(str(RDF)):
            continue
        if p in _NOISE_PREDICATES:
            continue
        if p == RDF.type and o in _NOISE_TYPES:
            continue
        inferred.add((s, p, o))
    return inferred
