"""Reads at 16–64 clients with a trickle of authenticated writes, then the audit trail replayed.

One ``mckg serve`` (the shipped graph in an Oxigraph store, curation on with one token) is
read by N clients at once (a mix of small SELECTs, ASKs and resource pages, each text unique
so the answer cache does not flatter them) for a fixed time, while one curator sends a write
every ``--write-every`` seconds (INSERT DATA, a DELETE/INSERT WHERE that moves a value, a
Graph Store PUT). Reported: read throughput, p50/p95/p99 latency and errors per client count,
and the writes' latencies and statuses. Then the server is stopped and the audit trail is
replayed on a copy of the starting graph (the graph as built, before any write): it must
equal the final store graph for graph — nothing lost, nothing partial.

    python -m benchmarks.curation_load --clients 16,64 --seconds 20 --out var/curation-load.md

Loopback only; every loop is bounded by time; the server is stopped at the end, also on
failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from mckg.config import Settings
from mckg.curation.replay import replay, state, trail
from mckg.curation.tokens import hash_token
from mckg.store.oxigraph import OxigraphStore
from mckg.store.provision import provision

from .client import percentile
from .servers import MemorySampler, ServerSpec, start

BASE = "https://w3id.org/mckg/"
EX = "https://example.org/"
TOKEN = "benchmark-curator-token"
SRJ = "application/sparql-results+json"


@dataclass
class Tally:
    """Latencies and statuses of one kind of request."""

    seconds: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Writes the server recorded (their ids).
    recorded: int = 0

    def add(self, status: str, took: float, *, recorded: bool = False) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.recorded += recorded
            if status in ("200", "201"):
                self.seconds.append(took)


def reader(base: str, until: float, tally: Tally, number: int) -> None:
    """Read until ``until``: a unique small query or a page, one after the other."""
    session = requests.Session()
    i = 0
    while time.monotonic() < until and i < 1_000_000:  # bounded by time and count
        i += 1
        kind = i % 3
        started = time.perf_counter()
        try:
            if kind == 0:
                response = session.get(base + "doc/country/ES", timeout=60,
                                       headers={"Accept": "text/html"})
            elif kind == 1:
                response = session.post(base + "sparql", timeout=60, headers={"Accept": SRJ},
                                        data={"query": f"ASK {{ ?s ?p ?o }} # {number}-{i}"})
            else:
                response = session.post(base + "sparql", timeout=60, headers={"Accept": SRJ},
                                        data={"query": "SELECT ?s ?o WHERE { ?s <http://www."
                                              "w3.org/2000/01/rdf-schema#label> ?o } LIMIT 20 "
                                              f"# {number}-{i}"})
            tally.add(str(response.status_code), time.perf_counter() - started)
        except requests.RequestException as exc:
            tally.add(type(exc).__name__, time.perf_counter() - started)


def writer(base: str, until: float, every: float, tally: Tally, run: str) -> None:
    """One curator writing every ``every`` seconds until ``until`` (``run`` keeps the IRIs of
    each run apart: a write that changes nothing is answered but not recorded)."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    i = 0
    while time.monotonic() < until and i < 100_000:  # bounded by time and count
        i += 1
        graph = f"{EX}graph/load"
        kind = i % 3
        started = time.perf_counter()
        try:
            if kind == 1:
                response = session.post(base + "update", timeout=120, headers={
                    **headers, "Content-Type": "application/sparql-update"},
                    data=f"INSERT DATA {{ GRAPH <{graph}> {{ <{EX}item/{run}-{i}> <{EX}n> {i} ; "
                         f"<{EX}counter> <{EX}counter> }} }}".encode())
            elif kind == 2:
                response = session.post(base + "update", timeout=120, headers=headers, data={
                    "update": f"DELETE {{ GRAPH <{graph}> {{ <{EX}counter> <{EX}value> ?v }} }} "
                              f"INSERT {{ GRAPH <{graph}> {{ <{EX}counter> <{EX}value> {i} }} }} "
                              f"WHERE {{ OPTIONAL {{ GRAPH <{graph}> {{ <{EX}counter> "
                              f"<{EX}value> ?v }} }} }}"})
            else:
                response = session.put(base + "graphs", params={"graph": f"{EX}graph/put"},
                                       timeout=120, headers={**headers,
                                                             "Content-Type": "text/turtle"},
                                       data=f"<{EX}put> <{EX}round> {i} ; <{EX}b> [ <{EX}c> {i} ] ."
                                       .encode())
            recorded = response.status_code in (200, 201) and bool(response.json().get("write"))
            tally.add(str(response.status_code), time.perf_counter() - started, recorded=recorded)
        except requests.RequestException as exc:
            tally.add(type(exc).__name__, time.perf_counter() - started)
        time.sleep(max(0.0, every - (time.perf_counter() - started)))


def row(label: str, tally: Tally, seconds: float) -> str:
    ok = tally.seconds
    ms = (lambda f: f"{percentile(ok, f) * 1000:.0f}") if ok else (lambda f: "–")
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(tally.statuses.items()))
    return (f"| {label} | {sum(tally.statuses.values())} | {len(ok) / seconds:.1f} | {ms(0.5)} | "
            f"{ms(0.95)} | {ms(0.99)} | {statuses} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="16,64", help="comma-separated reader counts")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    parser.add_argument("--write-every", type=float, default=1.0, help="seconds between writes")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="mckg-curation-load-"))
    config = scratch / "mckg.toml"
    config.write_text(f'[mckg]\nclient_concurrency = 0\n[mckg.tokens.loadtest]\n'
                      f'sha256 = "{hash_token(TOKEN)[7:]}"\ngraphs = ["{EX}graph/*"]\n',
                      encoding="utf-8")
    command = [sys.executable, "-c", "from mckg.cli import main; main()", "--config",
               str(config), "serve", "--host", "127.0.0.1", "--port", "0", "--store",
               f"oxigraph:{scratch / 'store'}"]
    spec = ServerSpec(key="mckg", label="mckg serve", command=command,
                      env={"XDG_DATA_HOME": str(scratch / "xdg")},
                      ready_pattern=r"serving (http://127\.0\.0\.1:\d+/)", start_timeout=300)
    sampler = MemorySampler(limit_seconds=args.seconds * 8 + 600)
    server = start(spec, sampler)
    results: list[tuple[int, Tally, Tally]] = []
    baselines: dict[int, Tally] = {}
    try:
        warm = Tally()  # the first write starts the curation worker: not measured
        writer(server.url, time.monotonic() + 0.1, 0.0, warm, "warm")
        for clients in (int(c) for c in args.clients.split(",")):
            for writing in (False, True):  # the same reads alone first, as the baseline
                reads, writes = Tally(), Tally()
                until = time.monotonic() + args.seconds
                threads = [threading.Thread(target=reader, args=(server.url, until, reads, n),
                                            daemon=True) for n in range(clients)]
                if writing:
                    threads.append(threading.Thread(
                        target=writer, daemon=True,
                        args=(server.url, until, args.write_every, writes, f"c{clients}")))
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(args.seconds + 180)
                if writing:
                    results.append((clients, reads, writes))
                else:
                    baselines[clients] = reads
                print(row(f"{clients} readers{' + writes' if writing else ''}", reads,
                          args.seconds), flush=True)
    finally:
        server.stop()
        sampler.close()

    started = time.perf_counter()
    start_graph, _ = provision(Settings(), "memory")
    final = OxigraphStore(scratch / "store", read_only=True)
    try:
        entries = trail(final, BASE)
        replay(start_graph, entries)  # type: ignore[arg-type]
        replayed, stored = state(start_graph, BASE), state(final, BASE)  # type: ignore[arg-type]
    finally:
        final.close()
        start_graph.close()
        shutil.rmtree(scratch, ignore_errors=True)
    equal = replayed == stored
    replay_seconds = time.perf_counter() - started
    accepted = warm.recorded + sum(w.recorded for _, _, w in results)

    lines = [
        f"## Reads under a trickle of curated writes ({dt.datetime.now().isoformat(timespec='seconds')})",
        "",
        f"`mckg serve` (shipped graph, Oxigraph store served from memory, curation on); "
        f"{args.seconds:g} s per run after one unmeasured write (it starts the curation "
        f"worker); one curator writing every {args.write_every:g} s (INSERT "
        "DATA, DELETE/INSERT WHERE, a Graph Store PUT with a blank node). Readers: a resource "
        "page, an ASK, a 20-row SELECT in turn, each query text unique. Machine: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| requests | n | per s (200) | p50 ms | p95 ms | p99 ms | statuses |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for clients, reads, writes in results:
        lines.append(row(f"{clients} readers, no writes", baselines[clients], args.seconds))
        lines.append(row(f"{clients} readers, with writes", reads, args.seconds))
        lines.append(row(f"the writes beside {clients} readers", writes, args.seconds))
    lines += ["", f"Audit trail: {len(entries)} writes recorded, {accepted} answered with a "
              f"write id (the warm-up included); replayed on the graph as built: "
              f"**{'equal' if equal else 'DIFFERENT'}** "
              f"to the final store ({len(stored)} named graphs, audit aside; {replay_seconds:.1f} s)."]
    if not equal:
        differing = sorted(g for g in set(replayed) | set(stored) if replayed.get(g) != stored.get(g))
        lines.append(f"Graphs that differ: {', '.join(differing)}")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
    return 0 if equal and len(entries) == accepted else 1


if __name__ == "__main__":
    sys.exit(main())
