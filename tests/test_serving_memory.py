"""Serving from memory and answering repeated reads from a cache (docs/endpoint.md).

- the in-memory copy answers exactly what the on-disk store answers (the competency questions
  and the edge cases), and a worker killed at the time limit is replaced by a fork;
- a store too large for ``memory_budget`` is served from disk, and a large one is served from
  disk while its copy loads, then from memory;
- a restarted server serves the same data without building or loading anything;
- ``If-None-Match`` gets 304 with no body, a repeated query comes from the answer cache, and a
  change of the store gives new answers and new entity tags.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from serving import EDGE_CASES, start_server
from test_store import EDGE_QUERIES

from mckg.config import Settings
from mckg.query import service as service_module
from mckg.query.holder import StoreHolder
from mckg.query.service import QueryService
from mckg.query.workers import QueryTimeout
from mckg.web import create_app
from mckg.web.serving import bound_port, make_server

ROOT = Path(__file__).resolve().parents[1]
CQS = sorted((ROOT / "queries").glob("cq*.rq"))
PREFIXES = "PREFIX ex: <http://example.org/>\n"
JSON = "application/sparql-results+json"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def _settings(**changes: Any) -> Settings:
    return Settings(extra_files=(EDGE_CASES,), query_workers=1, reserved_workers=1,
                    query_timeout=20).with_(**changes)


def _canonical(body: bytes, media_type: str) -> Any:
    """An answer with its rows in a fixed order (engines may order unordered rows freely)."""
    if media_type == JSON:
        data = json.loads(body)
        if "boolean" in data:
            return data["boolean"]
        rows = [json.dumps({k: _unordered(v) for k, v in row.items()}, sort_keys=True)
                for row in data["results"]["bindings"]]
        return data["head"]["vars"], sorted(rows)
    return sorted(body.decode("utf-8").splitlines())


def _unordered(term: dict[str, str]) -> dict[str, str]:
    """A ``GROUP_CONCAT`` value (the questions join with ``"; "``) with its parts sorted: the
    order of a group's values is the engine's to choose, and differs between its stores."""
    if term.get("type") == "literal" and "; " in term["value"]:
        return {**term, "value": "; ".join(sorted(term["value"].split("; ")))}
    return term


def _count(svc: QueryService, text: str, info: Any, *, within: float) -> int:
    """The single count ``text`` answers, retried (bounded by ``within`` seconds) while the
    pool's workers are being replaced."""
    deadline = time.monotonic() + within
    while True:  # bounded by the deadline
        try:
            body = svc.run(text, info, JSON, limit=10).body
            return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _answers(svc: QueryService, *, edge_cases: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in CQS:
        text = path.read_text(encoding="utf-8")
        info = svc.check(text)
        media_type = JSON if info.form in ("SELECT", "ASK") else "application/n-triples"
        out[path.name] = _canonical(svc.run(text, info, media_type).body, media_type)
    for name, (query, _) in (EDGE_QUERIES.items() if edge_cases else ()):
        text = PREFIXES + query
        info = svc.check(text)
        out[name] = _canonical(svc.run(text, info, JSON).body, JSON)
    return out


@pytest.fixture(scope="module")
def from_memory() -> Iterator[QueryService]:
    """A served memory store (writable: the curation tests write through the service)."""
    svc = QueryService.open(_settings(), store_url="memory")
    yield svc
    svc.close()


def test_a_small_store_is_served_from_a_copy_in_memory_shared_by_forked_workers(
        tmp_path: Path) -> None:
    svc = QueryService.open(_settings(), store_url=f"oxigraph:{tmp_path / 's'}")
    try:
        _forked_from_the_holder(svc)
    finally:
        svc.close()


def _forked_from_the_holder(svc: QueryService) -> None:
    pool = svc.executor
    assert isinstance(pool.launcher, StoreHolder)  # type: ignore[union-attr]
    assert pool.launcher.serving == "memory"  # type: ignore[union-attr]
    holder_pid = pool.launcher._process.pid  # type: ignore[union-attr]
    for worker in list(pool._all):  # type: ignore[union-attr]
        # Forked from the holder (its children), not spawned by the server.
        status = Path(f"/proc/{worker.pid}/status").read_text()
        assert re.search(rf"^PPid:\s+{holder_pid}$", status, re.M), status


@pytest.mark.parametrize("edge_cases", [False, True], ids=["shipped", "with-edge-cases"])
def test_answers_from_memory_equal_answers_from_disk(tmp_path: Path, edge_cases: bool) -> None:
    """The shipped graph has no triple in two graphs: the copy answers from the union of its
    named graphs. The edge cases put one triple in two graphs: the copy keeps the merge."""
    store = f"oxigraph:{tmp_path / 's'}"
    extra = (EDGE_CASES,) if edge_cases else ()
    answers = {}
    for budget, serving in ((0, "disk"), (Settings().memory_budget, "memory")):
        svc = QueryService.open(_settings(memory_budget=budget, extra_files=extra),
                                store_url=store)
        try:
            assert svc.executor.launcher.serving == serving  # type: ignore[union-attr]
            if serving == "memory":
                info = svc.executor.launcher.info  # type: ignore[union-attr]
                assert info.union is (not edge_cases)
            answers[serving] = _answers(svc, edge_cases=edge_cases)
        finally:
            svc.close()
    assert len(answers["disk"]) == len(CQS) + (len(EDGE_QUERIES) if edge_cases else 0)
    assert answers["memory"] == answers["disk"]
    # Not vacuous: the competency questions find things.
    assert sum(len(v[1]) for k, v in answers["disk"].items()
               if k.startswith("cq") and isinstance(v, tuple)) > 50


def test_a_write_that_puts_a_triple_in_two_graphs_keeps_counts_exact(tmp_path: Path) -> None:
    svc = QueryService.open(_settings(extra_files=()), store_url="memory")
    try:
        assert svc.executor.launcher.info.union  # type: ignore[union-attr]
        count = "SELECT (COUNT(*) AS ?n) WHERE { <http://example.org/a> ?p ?o }"
        info = svc.check(count)

        def n() -> int:  # workers are being replaced after the write
            return _count(svc, count, info, within=30)

        triple = b'<http://example.org/a> <http://example.org/p> "x" '
        svc.load_nquads(triple + b"<http://example.org/g1> .\n")
        assert n() == 1
        svc.load_nquads(triple + b"<http://example.org/g2> .\n")  # the same triple again
        assert n() == 1  # the merge: once, not once per graph
    finally:
        svc.close()


def test_a_query_past_the_time_limit_kills_its_fork_and_a_new_fork_answers(
        tmp_path: Path) -> None:
    svc = QueryService.open(_settings(query_timeout=1.5), store_url=f"oxigraph:{tmp_path / 's'}")
    try:
        pool = svc.executor
        assert isinstance(pool.launcher, StoreHolder)  # type: ignore[union-attr]
        slow = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")
        info = svc.check(slow)
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            svc.run(slow, info, JSON)
        assert time.monotonic() - started < 10
        info = svc.check(COUNT)
        # The replacement is a fork, ready within a second.
        assert _count(svc, COUNT, info, within=20) > 10_000
        assert pool.restarts >= 1  # type: ignore[union-attr]
    finally:
        svc.close()


def test_a_store_over_the_memory_budget_is_served_from_disk_and_the_log_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mckg")
    svc = QueryService.open(_settings(memory_budget=1024), store_url=f"oxigraph:{tmp_path / 's'}")
    try:
        assert svc.executor.launcher.serving == "disk"  # type: ignore[union-attr]
        info = svc.check(COUNT)
        assert json.loads(svc.run(COUNT, info, JSON).body)["results"]["bindings"]
    finally:
        svc.close()
    assert any("serving from disk" in r.getMessage() and "memory_budget" in r.getMessage()
               for r in caplog.records)


def test_a_large_store_answers_from_disk_while_its_copy_loads_then_from_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "LOAD_AT_START", 0)  # every store counts as large
    svc = QueryService.open(_settings(), store_url=f"oxigraph:{tmp_path / 's'}")
    try:
        info = svc.check(COUNT)
        first = svc.run(COUNT, info, JSON, limit=10).body  # answered at once, from disk
        deadline = time.monotonic() + 60
        while svc.executor.launcher.serving != "memory":  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the copy never took over"
            time.sleep(0.1)
        svc.answers.clear()
        again = svc.run(COUNT, info, JSON, limit=10)
        assert not again.cached
        assert again.body == first
    finally:
        svc.close()


def test_a_restarted_server_serves_the_same_data_without_building_or_loading(
        tmp_path: Path) -> None:
    store = f"oxigraph:{tmp_path / 'store'}"
    args = ["serve", "--port", "0", "--store", store, "--file", str(EDGE_CASES)]
    answers = []
    logs = []
    for _ in range(2):
        server = start_server(args, workdir=tmp_path)
        try:
            response = requests.get(server.sparql, params={"query": COUNT},
                                    headers={"Accept": JSON}, timeout=30)
            response.raise_for_status()
            answers.append(response.json()["results"]["bindings"])
        finally:
            server.stop()
        logs.append("\n".join(server.log))
    assert answers[0] == answers[1] and int(answers[0][0]["n"]["value"]) > 10_000
    assert "reading from memory" in logs[1]
    assert re.search(r"store .* already holds", logs[1]), logs[1]
    assert not re.search(r"\bloaded \d+ triples\b", logs[1]), logs[1]
    assert not re.search(r"\bbuil(t|ding) the graph\b", logs[1]), logs[1]


# ---- HTTP: entity tags, 304, the answer cache, invalidation ---------------------------------

@pytest.fixture(scope="module")
def live(from_memory: QueryService) -> Iterator[str]:
    """A real waitress server in this process over ``from_memory`` (so that the test can
    change the store under it, as a curator's write will)."""
    settings = from_memory.settings.with_(port=0)
    app = create_app(settings, service=from_memory)
    server = make_server(app, settings, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{bound_port(server)}/"
    server.close()


def test_if_none_match_gets_304_with_no_body_on_answers_and_pages(live: str) -> None:
    for url, params, accept in ((live + "sparql", {"query": COUNT}, JSON),
                                (live + "doc/country/ES", None, "text/html"),
                                (live + "sparql", {"query": "CONSTRUCT WHERE { ?s a ?o } LIMIT 3"},
                                 "text/turtle")):
        first = requests.get(url, params=params, headers={"Accept": accept}, timeout=30)
        assert first.status_code == 200 and first.content
        tag = first.headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', tag)  # strong
        assert "max-age=" in first.headers["Cache-Control"]
        again = requests.get(url, params=params, timeout=30,
                             headers={"Accept": accept, "If-None-Match": tag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["ETag"] == tag
        head = requests.head(url, params=params, timeout=30,
                             headers={"Accept": accept, "If-None-Match": f'"x", {tag}'})
        assert head.status_code == 304
        stale = requests.get(url, params=params, timeout=30,
                             headers={"Accept": accept, "If-None-Match": '"not-the-tag"'})
        assert stale.status_code == 200 and stale.content == first.content


def test_the_tag_varies_with_what_the_answer_depends_on(live: str) -> None:
    def tag(accept: str, query: str = COUNT) -> str:
        response = requests.get(live + "sparql", params={"query": query},
                                headers={"Accept": accept}, timeout=30)
        assert response.status_code == 200
        return response.headers["ETag"]

    assert tag(JSON) == tag(JSON)
    assert tag(JSON) != tag("text/csv")
    assert tag(JSON) != tag(JSON, COUNT + " LIMIT 1")


def test_a_repeated_query_is_answered_from_the_cache(live: str) -> None:
    query = "SELECT ?s WHERE { ?s a ?type } ORDER BY ?s LIMIT 7"
    first = requests.post(live + "sparql", data={"query": query}, headers={"Accept": JSON},
                          timeout=30)
    second = requests.post(live + "sparql", data={"query": query}, headers={"Accept": JSON},
                           timeout=30)
    assert first.headers["X-MCKG-Cache"] == "miss"
    assert second.headers["X-MCKG-Cache"] == "hit"
    assert second.content == first.content
    assert len(second.json()["results"]["bindings"]) == 7


def test_a_change_of_the_store_gives_new_answers_and_new_tags(
        live: str, from_memory: QueryService) -> None:
    query = "SELECT ?o WHERE { <http://example.org/changed> <http://example.org/p> ?o }"
    page = live + "sparql"
    before = requests.get(page, params={"query": query}, headers={"Accept": JSON}, timeout=30)
    cached = requests.get(page, params={"query": query}, headers={"Accept": JSON}, timeout=30)
    assert before.json()["results"]["bindings"] == []
    assert cached.headers["X-MCKG-Cache"] == "hit"
    old_tag = before.headers["ETag"]
    old_version = from_memory.version

    from_memory.load_nquads(b'<http://example.org/changed> <http://example.org/p> "new" '
                            b'<http://example.org/curation> .\n',
                            replace=("http://example.org/curation",))
    assert from_memory.version != old_version
    deadline = time.monotonic() + 30
    while True:  # bounded: the workers are replaced by forks of the updated copy
        after = requests.get(page, params={"query": query}, timeout=30,
                             headers={"Accept": JSON, "If-None-Match": old_tag})
        if after.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert after.status_code == 200  # the old tag no longer matches
    assert after.headers["ETag"] != old_tag
    assert after.headers["X-MCKG-Cache"] == "miss"
    assert after.json()["results"]["bindings"] == [{"o": {"type": "literal", "value": "new"}}]
    # The published dumps follow too: written again for the new data, not served stale.
    dump = _dump_text(live, "mckg.trig")  # every named graph
    assert re.search(r'<http://example.org/changed>\s+<http://example.org/p>\s+"new"', dump)


def _dump_text(live: str, stem: str) -> str:
    """The text of the published dump ``stem`` (plain or gzipped, whichever is offered)."""
    import gzip

    for name in (stem, stem + ".gz"):
        response = requests.get(live + "downloads/" + name, timeout=120)
        if response.status_code == 200:
            body = response.content
            return (gzip.decompress(body) if name.endswith(".gz") else body).decode("utf-8")
    raise AssertionError(f"no dump {stem} at {live}downloads/")


def test_when_the_holder_dies_new_workers_read_from_disk(tmp_path: Path) -> None:
    svc = QueryService.open(_settings(), store_url=f"oxigraph:{tmp_path / 's'}")
    try:
        pool = svc.executor
        holder = pool.launcher  # type: ignore[union-attr]
        assert isinstance(holder, StoreHolder) and holder.serving == "memory"
        holder._process.kill()  # type: ignore[union-attr]  # as the out-of-memory killer would
        holder._process.join(5)  # type: ignore[union-attr]
        assert holder.serving == "disk"
        pool.refresh()  # type: ignore[union-attr]  # every worker replaced: by spawned ones
        info = svc.check(COUNT)
        # Spawned workers open the store within seconds.
        assert _count(svc, COUNT, info, within=60) > 10_000
        for worker in list(pool._all):  # type: ignore[union-attr]
            assert worker.process.__class__.__name__ != "ForkedProcess"
    finally:
        svc.close()


def test_forks_retire_for_memory_only_when_full_copies_would_not_fit_the_budget() -> None:
    from mckg.query.holder import SHARE_FLOOR, share_limit

    mib = 2**20
    assert share_limit(400 * mib, 6 * 1024 * mib, 3) == 0  # 4 full copies fit: never
    assert share_limit(400 * mib, 0, 3) == 0  # no budget set: never
    assert share_limit(470 * mib, 1000 * mib, 3) == (530 * mib) // 3  # 530 MiB left, 3 forks
    assert share_limit(900 * mib, 1000 * mib, 3) == SHARE_FLOOR  # at least the floor each
