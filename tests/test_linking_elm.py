"""European Digital Credentials (ELM JSON-LD) load offline (issue 9).

The two remote contexts a Europass credential names — W3C Verifiable Credentials v1 and ELM's
EDC profile — are answered from the copies shipped in ``mckg/rdf/contexts/``; every other remote
context is still refused, with the line that names it. The official unsigned Annex I sample
(``examples/credentials/``) is the fixture: it is what the Europass issuer produces.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Dataset, URIRef
from rdflib.namespace import RDF

from mckg.rdf.files import KNOWN_CONTEXTS, DataError, read_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "credentials" / "europass-annex1-sample.jsonld"
CONTEXTS = ROOT / "src" / "mckg" / "rdf" / "contexts"
CRED = "https://www.w3.org/2018/credentials#"
ELM = "http://data.europa.eu/snb/model/elm/"
CLI = [sys.executable, "-c", "from mckg.cli import main; main()"]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Any attempt to open a connection is recorded and fails."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts


def test_the_vc_context_is_the_published_one() -> None:
    """The VC v1 copy has the SHA-256 the specification publishes for the live context."""
    digest = hashlib.sha256((CONTEXTS / "credentials-v1.jsonld").read_bytes()).hexdigest()
    assert digest == "ab4ddd9a531758807a79a5b450510d61ae8d147eab966cc9a200c07095b0cdcc"
    source = (CONTEXTS / "SOURCE.md").read_text(encoding="utf-8")
    for url, name in KNOWN_CONTEXTS.items():
        assert url in source and name in source and (CONTEXTS / name).is_file()
    assert (CONTEXTS / "LICENSE-W3C.txt").is_file() and (CONTEXTS / "LICENSE-EUPL-1.2.txt").is_file()


def test_annex1_sample_loads_offline(no_network: list[object]) -> None:
    """292 triples, as a JSON-LD 1.1 processor gives with the same contexts; no connection."""
    graph = read_file(SAMPLE)
    assert len(graph) == 292
    assert no_network == []
    credential = URIRef("urn:credential:3ef0ac26-9a1f-41c6-871b-2b82e670907b")
    assert (credential, RDF.type, URIRef(ELM + "EuropeanDigitalCredential")) in graph
    assert (credential, RDF.type, URIRef(CRED + "VerifiableCredential")) in graph
    assert (credential, URIRef(CRED + "credentialSubject"), URIRef("urn:epass:person:1")) in graph
    levels = set(graph.objects(URIRef("urn:epass:qualification:1"), URIRef(ELM + "EQFLevel")))
    assert levels == {URIRef("http://data.europa.eu/snb/eqf/6")}


def test_same_triples_as_pyld(no_network: list[object]) -> None:
    """A second processor (pyld) with the same local contexts reads the same graph."""
    from pyld import jsonld

    def loader(url: str, options: object = None) -> dict[str, object]:
        document = json.loads((CONTEXTS / KNOWN_CONTEXTS[url]).read_text(encoding="utf-8"))
        return {"contextUrl": None, "documentUrl": url, "document": document}

    nquads = jsonld.to_rdf(json.loads(SAMPLE.read_text(encoding="utf-8")),
                           {"format": "application/n-quads", "documentLoader": loader})
    theirs = Dataset().parse(data=nquads, format="nquads")
    ours = read_file(SAMPLE)
    assert len(theirs) == len(ours) == 292
    predicates = {p for _, p, _ in ours}
    assert predicates == {p for _, p, _, _ in theirs.quads((None, None, None, None))}


@pytest.mark.parametrize("context", [
    "https://example.org/other-context.jsonld",
    "https://www.w3.org/2018/credentials/v2",          # a neighbour of a known address
    "https://data.europa.eu/snb/model/context/edc-ap",  # https, not the address credentials use
])
def test_other_remote_contexts_are_still_refused(tmp_path: Path, no_network: list[object],
                                                 context: str) -> None:
    document = {"@context": ["https://www.w3.org/2018/credentials/v1", context],
                "id": "urn:x:1", "type": ["VerifiableCredential"]}
    path = tmp_path / "credential.jsonld"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_file(path)
    message = str(caught.value)
    assert f"{path}:4:" in message  # the line that names it
    assert context in message and "is not fetched" in message
    assert no_network == []


def test_mckg_load_stores_the_credential(tmp_path: Path) -> None:
    """``mckg load`` of the sample into an Oxigraph store, then queried through the CLI."""
    store = f"oxigraph:{tmp_path / 'store'}"
    graph = "http://example.org/europass"
    done = subprocess.run([*CLI, "load", str(SAMPLE), "--store", store, "--graph", graph],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    query = (f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    answer = subprocess.run([*CLI, "query", query, "--store", store, "--format", "csv"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split() == ["n", "292"]
