"""Fixtures shared by the test suite: the graph is built once per test process, and a real
``mckg serve`` process is started once per test session for the endpoint tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import EDGE_CASES, ServerProcess, start_server
from stores import fake_endpoint_url, require_virtuoso

from mckg.build.graphs import KnowledgeGraph, build
from mckg.config import Settings
from mckg.store import Store


@pytest.fixture(scope="session", autouse=True)
def private_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Each test process gets its own ``XDG_DATA_HOME`` (mckg's default store lives there) and
    all share one build cache.

    The reading commands (``mckg query``, ``export``, ``stats``) build the graph into that
    store once and reuse it, so a test process builds it at most once, and parallel test
    processes never share (or lock) one another's store — nor the user's.
    """
    import os

    home = tmp_path_factory.mktemp("xdg")
    # One build cache for the whole run, shared by the test processes (and the servers they
    # start): the shipped graph is built and reasoned once, then loaded by every new store.
    shared_cache = tmp_path_factory.getbasetemp().parent / "build-cache"
    changes = {"XDG_DATA_HOME": str(home), "MCKG_CACHE_DIR": str(shared_cache)}
    previous = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    yield home
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Default settings: shipped data, canonical base IRI, reasoning on."""
    return Settings()


@pytest.fixture(scope="session")
def kg(settings: Settings) -> KnowledgeGraph:
    """The shipped graph with inferences (built once per session; do not mutate).

    Kept in the shared build cache too, so stores provisioned later load it instead of
    building the same graph again.
    """
    from mckg.build import cache

    built = build(settings)
    fp = cache.fingerprint(settings)
    if cache.lookup(fp) is None:
        cache.remember(fp, built.dataset.serialize(format="nquads", encoding="utf-8"))
    return built


# ---- real server processes (endpoint, query page and timeout tests) ------------------------

def warm_build_cache(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Build the graph of ``settings`` into the shared build cache, one test process at a time.

    Servers started by several test processes at once would each build and reason the same
    graph; under this lock the first builds it and the others find it in the cache.
    """
    import fcntl

    from mckg.build.cache import built_graph

    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / "build-cache.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # bounded by one build (seconds)
        built_graph(settings)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The shipped graph plus the edge-case file, on Oxigraph, served once per test session.

    Result limit 1000 (so truncation is testable), two query workers.
    """
    workdir = tmp_path_factory.mktemp("server")
    warm_build_cache(Settings(extra_files=(EDGE_CASES,)), tmp_path_factory)
    proc = start_server(["serve", "--port", "0", "--store", f"oxigraph:{workdir / 'store'}",
                         "--file", str(EDGE_CASES), "--workers", "2", "--query-timeout", "30",
                         "--result-limit", "1000"], workdir=workdir)
    yield proc
    proc.stop()


# ---- stores (the shared store suite, loading) -------------------------------------------------

@pytest.fixture(scope="session")
def shipped_oxigraph(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``oxigraph:PATH`` of one store holding the shipped graph, for read-only tests.

    Loaded once per test run, not once per test worker: the workers share the folder, and the
    first takes a lock while it provisions (a second writer would be refused as "in use").
    Tests open it read-only (``mckg query --store`` finds the marker matching), so any number
    of them read it at once, as servers do.
    """
    import fcntl

    from mckg.store.provision import provision

    shared = tmp_path_factory.getbasetemp().parent  # the same for every xdist worker
    url = f"oxigraph:{shared / 'shipped-oxigraph'}"
    with open(shared / "shipped-oxigraph.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # bounded by one provisioning (seconds)
        store, _ = provision(Settings(), url)
        store.close()
    return url


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


# ---- test workers: the Virtuoso tests share one server, so they run one after another -------

#: Node ids of tests that use the real Virtuoso: the ``virtuoso`` store parameter, and
#: ``tests/test_virtuoso.py``. They all load into the same graphs and bookkeeping of one server.
_VIRTUOSO_TEST = re.compile(r"(^|/)test_virtuoso\.py::|\[virtuoso[\]-]")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Spread tests as ``--dist load`` does, except that Virtuoso's all go to one worker.

    pytest-xdist's own ``--dist loadgroup`` would do this with ``xdist_group`` marks, but
    3.8 renames node ids in a way pytest 9 ignores, so its groups never form. Here the
    scheduler for scopes is given one scope per test, and one for every Virtuoso test.
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class VirtuosoTogether(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return "virtuoso" if _VIRTUOSO_TEST.search(nodeid) else nodeid

    return VirtuosoTogether(config, log)
