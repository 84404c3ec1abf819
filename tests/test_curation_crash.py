"""A server killed with SIGKILL at any point of a write leaves the Oxigraph store openable and
exactly at its last committed state, and the audit trail agrees (docs/curation.md):

- killed after validation, before the commit: the write is nowhere, not in the trail;
- killed after the commit, before the answer: the write is in the store and in the trail;
- killed from outside while the write is being applied in the curation worker: nowhere.

Then the trail, replayed on the graph as built (before any write), gives exactly the graph in
the store (:mod:`mckg.curation.replay`).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import requests
from serving import ServerProcess, start_server

from mckg.config import Settings
from mckg.curation.curator import FAULT_ENV
from mckg.curation.replay import replay, state, trail
from mckg.curation.tokens import hash_token
from mckg.store.oxigraph import OxigraphStore
from mckg.store.provision import provision

BASE = "https://w3id.org/mckg/"
EX = "https://example.org/"
GRAPH = f"{EX}graph/crash"
TOKEN = "crash-test-token"


def _serve(workdir: Path) -> ServerProcess:
    config = workdir / "mckg.toml"
    config.write_text(f'[mckg]\nupdate_timeout = 60.0\n[mckg.tokens.crasher]\n'
                      f'sha256 = "{hash_token(TOKEN)[7:]}"\ngraphs = ["{EX}graph/*"]\n',
                      encoding="utf-8")
    return start_server(["--config", str(config), "serve", "--port", "0", "--store",
                         f"oxigraph:{workdir / 'store'}", "--workers", "1"], workdir=workdir)


def _insert(server: ServerProcess, name: str, timeout: float = 120) -> requests.Response:
    text = f"INSERT DATA {{ GRAPH <{GRAPH}> {{ <{EX}{name}> <{EX}p> \"{name}\" }} }}"
    return requests.post(server.url + "update", data=text.encode(), timeout=timeout,
                         headers={"Content-Type": "application/sparql-update",
                                  "Authorization": f"Bearer {TOKEN}"})


def _killed_while(server: ServerProcess, name: str) -> None:
    """The write ``name`` does not get an answer: the server died with SIGKILL."""
    with pytest.raises(requests.ConnectionError):
        _insert(server, name)
    server.process.wait(30)
    assert server.process.returncode == -signal.SIGKILL


def _present(server: ServerProcess) -> set[str]:
    response = requests.post(server.sparql, timeout=60, headers={
        "Accept": "application/sparql-results+json"}, data={
        "query": f"SELECT ?o WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"})
    return {row["o"]["value"] for row in response.json()["results"]["bindings"]}


def test_sigkill_at_every_point_of_a_write(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    first = _serve(tmp_path)
    try:
        assert _insert(first, "committed-a").status_code == 200
    finally:
        first.stop()
    for point, name in (("prepared", "lost-b"), ("committed", "kept-c")):
        monkeypatch.setenv(FAULT_ENV, point)
        crashing = _serve(tmp_path)
        try:
            _killed_while(crashing, name)
        finally:
            crashing.stop()
        monkeypatch.delenv(FAULT_ENV)
    # Killed from outside while a slow update runs in the curation worker.
    slow = _serve(tmp_path)
    try:
        text = (f"INSERT {{ GRAPH <{GRAPH}> {{ <{EX}slow> <{EX}p> ?n }} }} WHERE {{ SELECT "
                "(COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } }")
        errors: list[BaseException] = []

        def send() -> None:
            try:
                requests.post(slow.url + "update", data=text.encode(), timeout=120,
                              headers={"Content-Type": "application/sparql-update",
                                       "Authorization": f"Bearer {TOKEN}"})
            except requests.RequestException as exc:
                errors.append(exc)

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("curation worker started" in line
                                                      for line in slow.log):
            time.sleep(0.2)
        time.sleep(1.0)
        os.kill(slow.process.pid, signal.SIGKILL)
        sender.join(60)
        assert errors, "the slow write got an answer before the kill"
    finally:
        slow.stop()
    after = _serve(tmp_path)
    try:
        assert _present(after) == {"committed-a", "kept-c"}
        listed = requests.get(after.url + "curation", headers={"Accept": "application/json"},
                              timeout=60).json()["writes"]
        assert sorted(w["target"] if w.get("target") else w["operation"] for w in listed) \
            == ["update", "update"]
        assert len(listed) == 2
    finally:
        after.stop()
    # The trail replayed on the graph as built equals the store, graph for graph.
    start, _ = provision(Settings(), "memory")
    final = OxigraphStore(tmp_path / "store", read_only=True)
    try:
        entries = trail(final, BASE)
        assert len(entries) == 2
        replay(start, entries)  # type: ignore[arg-type]
        assert state(start, BASE) == state(final, BASE)  # type: ignore[arg-type]
        assert json.dumps(sorted(state(final, BASE)[GRAPH]))  # the graph is there
    finally:
        final.close()
        start.close()
