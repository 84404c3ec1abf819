"""Fixtures shared by the test suite: the graph is built once per test process, and a real
``mckg serve`` process is started once per test session for the endpoint tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import EDGE_CASES, ServerProcess, start_server
from stores import fake_endpoint_url, require_virtuoso

from mckg.config import Settings
from mckg.graphs import KnowledgeGraph, build
from mckg.store import Store


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Default settings: shipped data, canonical base IRI, reasoning on."""
    return Settings()


@pytest.fixture(scope="session")
def kg(settings: Settings) -> KnowledgeGraph:
    """The shipped graph with inferences (built once per session; do not mutate)."""
    return build(settings)


# ---- real server processes (endpoint, query page and timeout tests) ------------------------

@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The shipped graph plus the edge-case file, on Oxigraph, served once per test session.

    Result limit 1000 (so truncation is testable), two query workers.
    """
    workdir = tmp_path_factory.mktemp("server")
    proc = start_server(["serve", "--port", "0", "--store", f"oxigraph:{workdir / 'store'}",
                         "--file", str(EDGE_CASES), "--workers", "2", "--query-timeout", "30",
                         "--result-limit", "1000"], workdir=workdir)
    yield proc
    proc.stop()


# ---- stores (the shared store suite, loading) -------------------------------------------------

@pytest.fixture
def endpoint_url() -> Iterator[str]:
    """A fresh stand-in SPARQL endpoint on a free loopback port (``tests/stores.py``)."""
    with fake_endpoint_url() as url:
        yield url


@pytest.fixture(params=["memory", "oxigraph", "sparql",
                        pytest.param("virtuoso", marks=pytest.mark.virtuoso)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store of each kind (Virtuoso only when ``MCKG_VIRTUOSO_URL`` names one)."""
    from mckg.store.memory import MemoryStore
    from mckg.store.oxigraph import OxigraphStore
    from mckg.store.remote import RemoteStore

    if request.param == "memory":
        opened: Store = MemoryStore()
    elif request.param == "oxigraph":
        opened = OxigraphStore(tmp_path / "store")
    elif request.param == "sparql":
        opened = RemoteStore(request.getfixturevalue("endpoint_url"), timeout=10)
    else:
        opened = RemoteStore(require_virtuoso(), timeout=30)
        opened.clear()  # only what mckg loaded: its graphs, the merge and the registry
    yield opened
    if request.param == "virtuoso":
        opened.clear()
    opened.close()
