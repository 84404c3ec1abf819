"""The checker's rules, read from the graph: which profiles exist, which elements ELM carries
where, and each profile's SHACL shapes.

Nothing here is a hard-coded answer. A profile is a ``mckg:MicroCredentialDefinition`` that
states requirements (the EU's Annex I definition, Spain's Plan Microcreds …); its shapes are
produced by the stored CONSTRUCT ``queries/checker/checker-shapes.rq`` from its facts (required
elements, ECTS bounds, EQF levels) and the element paths of the ``mc-element`` scheme
(``mckg:elmPath``). Change a fact — Spain's bound, an element a definition requires — and the
next check follows it. Every query goes through :class:`~mckg.linked.runner.ServiceRunner`,
so the store's own engine answers, as for every other page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from rdflib import Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SKOS
from rdflib.term import Node

from ..linked.runner import Runner

MCKG = "https://w3id.org/mckg/def#"
ELM_PATH = URIRef(MCKG + "elmPath")
ELM_PROPERTY = URIRef(MCKG + "elmProperty")


@dataclass(frozen=True)
class Profile:
    """One definition a credential can be checked against, and where it comes from."""

    iri: str
    label: str
    jurisdiction: str
    jurisdiction_label: str
    code: str | None
    eu_authority: str | None
    instrument: str | None
    instrument_label: str | None
    section: str
    part: str | None
    reported_by: tuple[str, ...]

    @property
    def source(self) -> str:
        """Where the profile comes from, in words: instrument, report section, fact."""
        where = [self.instrument_label] if self.instrument_label else []
        if self.part:
            where.append(f"report §{self.part}")
        where.append(f"fact {self.iri}")
        return ", ".join(where)


@dataclass(frozen=True)
class Element:
    """An element of a micro-credential and the ELM path that carries it (None: no ELM home)."""

    iri: str
    notation: str
    label: str
    elm_property: str | None
    path: tuple[URIRef, ...] | None


def _text(row: dict[str, Node], key: str) -> str | None:
    value = row.get(key)
    return str(value) if value is not None else None


class Rules:
    """The rules of one store, read once per instance (a check, a request)."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    @cached_property
    def profiles(self) -> list[Profile]:
        """Every definition with checkable requirements, EU first, then by country code."""
        found = []
        for row in self.runner.select("checker-profiles").rows:
            found.append(Profile(
                iri=str(row["definition"]), label=str(row["label"]),
                jurisdiction=str(row["jurisdiction"]),
                jurisdiction_label=_text(row, "jurisdictionLabel") or str(row["jurisdiction"]),
                code=_text(row, "code"), eu_authority=_text(row, "euAuthority"),
                instrument=_text(row, "instrument"), instrument_label=_text(row, "instrumentLabel"),
                section=str(row["section"]), part=_text(row, "partNumber"),
                reported_by=tuple((_text(row, "reportedBy") or "").split())))
        return sorted(found, key=lambda p: (p.code != "EU", p.code or "", p.iri))

    @cached_property
    def elements(self) -> dict[str, Element]:
        """The mc-element concepts by IRI, with their ELM property and path."""
        graph = self.runner.construct("checker-elements").graph or Graph()
        out: dict[str, Element] = {}
        for concept in set(graph.subjects(SKOS.notation, None)):
            path_node = graph.value(concept, ELM_PATH)
            path: tuple[URIRef, ...] | None = None
            if isinstance(path_node, URIRef):
                path = (path_node,)
            elif path_node is not None and (path_node, RDF.first, None) in graph:
                path = tuple(URIRef(str(p)) for p in Collection(graph, path_node))
            prop = graph.value(concept, ELM_PROPERTY)
            out[str(concept)] = Element(str(concept), str(graph.value(concept, SKOS.notation)),
                                        str(graph.value(concept, SKOS.prefLabel)),
                                        str(prop) if prop is not None else None, path)
        return out

    def by_notation(self) -> dict[str, Element]:
        """The elements by their notation (``workload``, ``learning-outcomes`` …)."""
        return {e.notation: e for e in self.elements.values()}

    def shapes(self, profile: Profile) -> Graph:
        """The SHACL shapes of ``profile``, generated from its facts."""
        graph = self.runner.construct("checker-shapes", definition=URIRef(profile.iri)).graph
        return graph if graph is not None else Graph()

    def required(self, profile: Profile) -> list[Element]:
        """The elements ``profile`` requires, in the order of the scheme's notations."""
        rows = self.runner.select("checker-required", definition=URIRef(profile.iri)).rows
        elements = self.elements
        return [elements[str(r["element"])] for r in rows if str(r["element"]) in elements]

    def country(self, code_or_iri: str) -> str | None:
        """The EU authority country IRI for a code (``ES``, ``ESP``) or that IRI itself."""
        wanted = code_or_iri.strip()
        for row in self.runner.select("checker-countries").rows:
            eu = str(row["euAuthority"])
            if wanted.upper() in (str(row["code"]).upper(), eu.rsplit("/", 1)[-1].upper()) \
                    or wanted == eu:
                return eu
        return None

    def profile_for_country(self, eu_authority: str) -> Profile | None:
        """The national profile of the country with this EU authority IRI, if there is one."""
        return next((p for p in self.profiles if p.eu_authority == eu_authority), None)
