"""Fixtures shared by the test suite: the graph is built once per test process."""

from __future__ import annotations

import pytest

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
