"""The closed namespace, the prefix registry and the data's prefix block agree with each other."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph, URIRef

from mckg.rdf.namespaces import MCKG, PREFIXES, PROJECT_PREFIXES, rebase_prefixes

ROOT = Path(__file__).resolve().parents[1]


def test_closed_namespace_matches_ontology():
    ontology = Graph().parse(ROOT / "ontology" / "mckg.ttl")
    ns = str(MCKG._NS)
    defined = {str(s)[len(ns):] for s in ontology.subjects() if isinstance(s, URIRef)
               and str(s).startswith(ns)}
    assert set(MCKG.__annotations__) == defined


def test_misspelt_term_fails_loudly():
    try:
        _ = MCKG.Findng
    except AttributeError as exc:
        assert "Findng" in str(exc)
    else:
        raise AssertionError("a misspelt term must not produce an IRI")


def test_data_prefix_block_matches_registry():
    block = Graph().parse(data=(ROOT / "data" / "_prefixes.ttl").read_text(), format="turtle")
    declared = {p: str(n) for p, n in block.namespaces()}
    for name, iri in PROJECT_PREFIXES.items():
        assert declared.get(name) == iri, name
    for name, iri in declared.items():
        if name in PREFIXES:
            assert PREFIXES[name] == iri, name


def test_rebase_moves_only_project_namespaces():
    moved = rebase_prefixes("http://localhost:8000/")
    assert moved["country"] == "http://localhost:8000/id/country/"
    assert moved["mckg"] == "http://localhost:8000/def#"
    assert moved["skos"] == PREFIXES["skos"]


def test_model_diagram_is_up_to_date():
    """docs/model.md shows the diagram generated from the current ontology and shapes."""
    from mckg.build.diagram import current_block, mermaid
    from mckg.build.graphs import layer_files
    from mckg.build.validation import load_shapes

    ontology = Graph()
    for path in layer_files("ontology"):
        ontology.parse(path)
    assert current_block(ROOT / "docs" / "model.md") == mermaid(ontology, load_shapes()), (
        "regenerate with: mckg diagram --write docs/model.md")
