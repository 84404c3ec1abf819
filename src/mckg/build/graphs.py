"""Building the knowledge graph: which files go into which named graph.

Asserted, reference and inferred triples stay in separate named graphs so that an export can
include or omit inferences and users can tell what the report says from what we derived:

- ``{base}graph/ontology``      the OWL ontology
- ``{base}graph/vocabularies``  the SKOS concept schemes
- ``{base}graph/data``          the facts of the report
- ``{base}graph/reference``     extracts of official reference data (EU country table, EQF)
- ``{base}graph/esco-sample``   the bundled ESCO sample (``reference/esco/``), in a graph of its
                                own so that it can be left out once a real ESCO release is
                                loaded (:mod:`mckg.store.loading`, ``mckg load``)
- ``{base}graph/inferred``      OWL 2 RL inferences over all of the above
- ``{base}graph/user``          files a user adds with ``--file`` (named graphs in TriG/N-Quads kept)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rdflib import XSD, Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from ..config import Settings
from ..rdf.files import DataError, IllTypedLiterals, format_for_path, read_file
from ..rdf.namespaces import CANONICAL_BASE
from ..resources import resource_dir, shipped_files

LAYERS = ("ontology", "vocabularies", "data", "reference", "esco-sample", "inferred", "user")
ASSERTED_LAYERS = ("ontology", "vocabularies", "data", "reference", "esco-sample")
#: The layers OWL 2 RL runs over. Not the ESCO sample: a loaded ESCO release is not reasoned
#: over either, and inferences are kept only about our own subjects (it added none), so the
#: inferred graph stays right when the sample is left out for a real release.
REASONED_LAYERS = ("ontology", "vocabularies", "data", "reference", "user")
#: The layers ``mckg validate`` (and a curation write) checks with SHACL; the ontology is
#: given to pySHACL apart.
VALIDATED_LAYERS = ("data", "vocabularies", "reference", "esco-sample", "user")
#: The layer that a real ESCO release supersedes, and the folder of ``reference/`` it is read from.
ESCO_SAMPLE_LAYER = "esco-sample"
ESCO_SAMPLE_FOLDER = "esco"
#: The named graph an ESCO release is loaded into (docs/linking.md); loading into it leaves
#: the ESCO sample out unless asked to keep it.
ESCO_GRAPH = "http://data.europa.eu/esco"


def graph_iri(base: str, layer: str) -> URIRef:
    """Return the IRI of the named graph that holds ``layer``."""
    return URIRef(f"{base}graph/{layer}")


def esco_present(counts: Mapping[str, int], base: str) -> dict[str, str]:
    """Which ESCO a store holds, by graph IRI with a title, from its triples per graph: the
    bundled sample, a real release in :data:`ESCO_GRAPH`, both (``--keep-esco-sample``) or
    neither. ``mckg stats`` prints it and the VoID description titles the subsets with it."""
    sample = str(graph_iri(base, ESCO_SAMPLE_LAYER))
    titles = {sample: "The bundled ESCO sample (an ESCO v1.1.1 extract; left out once a real "
                      "ESCO release is loaded)",
              ESCO_GRAPH: "An ESCO release, loaded with mckg load"}
    return {graph: title for graph, title in titles.items() if counts.get(graph)}


def layer_files(layer: str) -> list[Path]:
    """Return the shipped files of an asserted layer."""
    if layer == "ontology":
        return [p for p in shipped_files("ontology") if p.name != "vocabularies.ttl"]
    if layer == "vocabularies":
        return [p for p in shipped_files("ontology") if p.name == "vocabularies.ttl"]
    if layer == "data":
        return shipped_files("data")
    if layer in ("reference", ESCO_SAMPLE_LAYER):
        sample = [p for p in shipped_files("reference") if ESCO_SAMPLE_FOLDER in
                  p.relative_to(resource_dir("reference")).parts[:-1]]
        if layer == ESCO_SAMPLE_LAYER:
            return sample
        return [p for p in shipped_files("reference") if p not in sample]
    raise ValueError(f"layer {layer!r} has no shipped files")


def rebase(graph: Graph, base: str) -> Graph:
    """Return ``graph`` with IRIs under the canonical base moved under ``base`` (a no-op if equal)."""
    if base == CANONICAL_BASE:
        return graph

    def move(term: Node) -> Node:
        if isinstance(term, URIRef) and str(term).startswith(CANONICAL_BASE):
            return URIRef(base + str(term)[len(CANONICAL_BASE):])
        return term

    out = Graph(identifier=move(graph.identifier))
    for s, p, o in graph:
        out.add((move(s), move(p), move(o)))
    return out


def canonical_decimal(term: Node) -> Node:
    """Write an ``xsd:decimal`` literal in its canonical form (``15`` becomes ``15.0``).

    Turtle writers print decimals canonically; storing them that way makes every export of the
    same graph compare equal term by term, whatever format it went through.
    """
    if not (isinstance(term, Literal) and term.datatype == XSD.decimal):
        return term
    try:
        value = Decimal(str(term))
    except InvalidOperation:
        return term  # ill-typed: left for SHACL to report
    text = format(value, "f")
    if "." not in text:
        text += ".0"
    else:
        text = text.rstrip("0")
        text = text + "0" if text.endswith(".") else text
    return Literal(text, datatype=XSD.decimal)


@dataclass
class KnowledgeGraph:
    """The built dataset and, for each subject, the files that describe it."""

    dataset: Dataset
    base: str
    origins: dict[Node, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: Literals whose lexical form is not valid for their datatype, with their file and line.
    ill_typed: IllTypedLiterals = field(default_factory=IllTypedLiterals)

    def graph(self, layer: str) -> Graph:
        """Return the named graph of ``layer``."""
        return self.dataset.graph(graph_iri(self.base, layer))

    def union(self, layers: Iterable[str] = ASSERTED_LAYERS) -> Graph:
        """Return a new graph holding the triples of ``layers``."""
        out = Graph()
        for layer in layers:
            for triple in self.graph(layer):
                out.add(triple)
        return out

    def counts(self) -> dict[str, int]:
        """Triples per named graph, by layer name (non-empty layers only)."""
        result = {}
        for layer in LAYERS:
            n = len(self.graph(layer))
            if n:
                result[layer] = n
        for ctx in self.dataset.graphs():
            ident = str(ctx.identifier)
            if not ident.startswith(f"{self.base}graph/") and len(ctx) and ident != "urn:x-rdflib:default":
                result[ident] = len(ctx)
        return result


def _load_into(kg: KnowledgeGraph, layer: str, paths: Iterable[Path]) -> None:
    target = kg.graph(layer)
    for path in paths:
        parsed = read_file(path, ill_typed=kg.ill_typed)
        if isinstance(parsed, Dataset):
            raise DataError(str(path), "quad formats belong in user files, not shipped layers")
        parsed = rebase(parsed, kg.base)
        for s, p, o in parsed:
            target.add((s, p, canonical_decimal(o)))
        for subject in parsed.subjects(unique=True):
            kg.origins[subject].add(str(path))


def _load_user_file(kg: KnowledgeGraph, path: Path) -> None:
    fmt = format_for_path(path)
    if fmt.quads:
        parsed = read_file(path, into=Dataset(), ill_typed=kg.ill_typed)
        assert isinstance(parsed, Dataset)
        for ctx in parsed.graphs():
            if not len(ctx):
                continue
            is_default = str(ctx.identifier) == "urn:x-rdflib:default"
            target = kg.graph("user") if is_default else kg.dataset.graph(ctx.identifier)
            for triple in ctx:
                target.add(triple)
                kg.origins[triple[0]].add(str(path))
    else:
        parsed = read_file(path, fmt=fmt, ill_typed=kg.ill_typed)
        target = kg.graph("user")
        for triple in parsed:
            target.add(triple)
            kg.origins[triple[0]].add(str(path))


def build(settings: Settings, *, reasoning: bool | None = None,
          left_out: Collection[str] = ()) -> KnowledgeGraph:
    """Load the shipped layers and any extra files into one dataset, then reason if asked.

    ``left_out`` names shipped layers not to load: a store holding a real ESCO release is
    provisioned without the ESCO sample (:mod:`mckg.store.provision`).
    Nothing is changed unless every file parses: a :class:`DataError` leaves no partial graph.

    :raise DataError: a file is missing or malformed (names file and line).
    """
    kg = KnowledgeGraph(dataset=Dataset(default_union=True), base=settings.base)
    if settings.include_shipped:
        for layer in ASSERTED_LAYERS:
            if layer not in left_out:
                _load_into(kg, layer, layer_files(layer))
    for path in settings.extra_files:
        _load_user_file(kg, Path(path))
    if settings.reasoning if reasoning is None else reasoning:
        from .reasoning import infer

        inferred = infer(kg.union(REASONED_LAYERS), base=kg.base)
        target = kg.graph("inferred")
        for triple in inferred:
            target.add(triple)
    return kg
