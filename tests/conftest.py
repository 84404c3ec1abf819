"""Fixtures shared by the test suite: the graph is built once per test process, and a real
``mckg serve`` process is started once per test session for the endpoint tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from serving import EDGE_CASES, ServerProcess, start_server

from mckg.config import Settings
from mckg.graphs import KnowledgeGraph, build


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
