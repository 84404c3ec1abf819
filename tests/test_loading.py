"""Bad input is reported with file and line, and parsing never reaches the network."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from mckg.build.graphs import build, rebase
from mckg.config import Settings
from mckg.rdf.files import DataError, format_for_path, parse_bytes, read_file


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_turtle_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "bad.ttl", '@prefix : <http://x/> .\n:a :b :c .\n:a :b "open .\n')
    with pytest.raises(DataError) as info:
        read_file(path)
    assert info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: ")
    assert "string" in info.value.message


def test_ntriples_error_names_line(tmp_path):
    path = write(tmp_path, "bad.nt",
                 "<http://x/a> <http://x/b> <http://x/c> .\n<http://x/a> <http://x/b> .\n")
    with pytest.raises(DataError) as info:
        read_file(path)
    assert info.value.source == str(path)
    assert "Invalid" in info.value.message or "line" in str(info.value).lower()


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(DataError, match="unknown RDF file type"):
        format_for_path(tmp_path / "notes.txt")


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="No such file"):
        read_file(tmp_path / "absent.ttl")


@pytest.fixture
def listener():
    """A local TCP listener that records whether anything connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        for _ in range(200):  # bounded: at most ~40 s
            if stop.is_set():
                return
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            hits.append(conn.recv(1024))
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", hits
    stop.set()
    thread.join(timeout=2)
    server.close()


def test_remote_jsonld_context_is_not_fetched(listener):
    url, hits = listener
    doc = {"@context": f"{url}/context.jsonld", "@id": "http://x/a", "name": "A"}
    with pytest.raises(DataError, match="remote JSON-LD context"):
        parse_bytes(json.dumps(doc).encode(), format_for_path(Path("a.jsonld")), source="doc")
    assert hits == []


def test_project_context_is_resolved_locally(listener):
    _url, hits = listener
    doc = {"@context": "https://w3id.org/mckg/context.jsonld", "@id": "https://w3id.org/mckg/id/country/ES",
           "label": {"@value": "Spain", "@language": "en"}}
    graph = parse_bytes(json.dumps(doc).encode(), format_for_path(Path("a.jsonld")), source="doc")
    assert len(graph) == 1
    assert hits == []


def test_xml_entities_are_refused(listener):
    url, hits = listener
    xml = f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [<!ENTITY ext SYSTEM "{url}/secret">]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://x/">
  <rdf:Description rdf:about="http://x/a"><ex:b>&ext;</ex:b></rdf:Description>
</rdf:RDF>""".encode()
    with pytest.raises(DataError, match="DOCTYPE"):
        parse_bytes(xml, format_for_path(Path("a.rdf")), source="doc.rdf")
    assert hits == []


def test_owl_imports_are_not_followed(tmp_path, listener):
    url, hits = listener
    path = write(tmp_path, "imports.ttl",
                 f"<http://x/o> a <http://www.w3.org/2002/07/owl#Ontology> ; "
                 f"<http://www.w3.org/2002/07/owl#imports> <{url}/other.ttl> .\n")
    kg = build(Settings(include_shipped=False, extra_files=(path,), reasoning=True))
    assert len(kg.graph("user")) == 2
    assert hits == []


def test_failed_build_leaves_nothing_half_loaded(tmp_path):
    good = write(tmp_path, "good.ttl", "<http://x/a> <http://x/b> <http://x/c> .\n")
    bad = write(tmp_path, "bad.ttl", "<http://x/a> <http://x/b> .\n")
    with pytest.raises(DataError) as info:
        build(Settings(include_shipped=False, extra_files=(good, bad), reasoning=False))
    assert info.value.source == str(bad)


def test_rebase_moves_project_iris_only():
    g = Graph()
    g.add((URIRef("https://w3id.org/mckg/id/country/ES"), URIRef("http://x/p"),
           URIRef("https://w3id.org/mckg/def#Country")))
    moved = rebase(g, "http://127.0.0.1:8000/")
    assert (URIRef("http://127.0.0.1:8000/id/country/ES"), URIRef("http://x/p"),
            URIRef("http://127.0.0.1:8000/def#Country")) in moved


def test_quads_keep_their_named_graphs(tmp_path):
    path = write(tmp_path, "user.trig", "<http://x/g1> { <http://x/a> <http://x/b> <http://x/c> . }\n"
                 "<http://x/a> <http://x/b> <http://x/d> .\n")
    kg = build(Settings(include_shipped=False, extra_files=(path,), reasoning=False))
    assert len(kg.dataset.graph(URIRef("http://x/g1"))) == 1
    assert len(kg.graph("user")) == 1
