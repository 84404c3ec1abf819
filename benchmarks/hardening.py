"""Cheap requests under attack: are they still answered within a second?

The public endpoint must stay useful while some clients misbehave. This load test starts one
``mckg serve`` (the shipped graph, the default settings but a 5 s time limit) and measures the
latency of *cheap* requests — an ASK, a small SELECT, a resource page, the comparison page —
first on a quiet server, then while

- four clients send expensive queries back to back (an ordered cross product of the whole
  graph: each runs into the time limit), and
- 150 sockets dribble request headers one byte at a time (slowloris),

all at once. The target (issue "hardening"): cheap requests answered within 1 s during the
attack, with no error other than the server's own, deliberate refusals (429/503 with
``Retry-After``) — and those counted.

    python -m benchmarks.hardening --seconds 30 --out var/hardening.md

Everything listens on and connects to 127.0.0.1; every loop is bounded by time and count; the
server and every socket are closed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shlex
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from .client import percentile
from .servers import MemorySampler, ServerSpec, start

SRJ = "application/sparql-results+json"
#: Each runs into the time limit on the shipped graph (about 10k triples: 10^8 pairs to sort).
EXPENSIVE = ("SELECT ?a ?d WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?a ?d ?c ?f LIMIT 1")
#: (label, path, params, Accept): what a researcher or a crawler asks all day.
CHEAP: tuple[tuple[str, str, dict[str, str], str], ...] = (
    ("ASK", "sparql", {"query": "ASK { ?s a ?t }"}, SRJ),
    ("small SELECT", "sparql",
     {"query": "SELECT ?c WHERE { ?c a <https://w3id.org/mckg/def#Country> } LIMIT 5"}, SRJ),
    ("country page", "doc/country/ES", {}, "text/html"),
    ("comparison", "compare", {}, "text/html"),
)


@dataclass
class Sample:
    """One cheap request: what, how long, and how it ended."""

    label: str
    seconds: float
    status: int  # 0: no answer (connection error or client time-out)


@dataclass
class Phase:
    """The cheap requests of one phase, and what the attackers got meanwhile."""

    name: str
    samples: list[Sample] = field(default_factory=list)
    attacker_statuses: dict[int, int] = field(default_factory=dict)
    slow_sockets_open: int = 0


def cheap_loop(base: str, until: float, phase: Phase, *, pause: float = 0.1,
               max_requests: int = 10_000) -> None:
    """Send the cheap requests in turn until ``until`` (bounded by ``max_requests``)."""
    session = requests.Session()
    for n in range(max_requests):
        if time.monotonic() >= until:
            break
        label, path, params, accept = CHEAP[n % len(CHEAP)]
        started = time.perf_counter()
        try:
            r = session.get(base + path, params=params, headers={"Accept": accept}, timeout=30)
            status = r.status_code
        except requests.RequestException:
            status = 0
        phase.samples.append(Sample(label, time.perf_counter() - started, status))
        time.sleep(pause)
    session.close()


def attacker(endpoint: str, until: float, statuses: dict[int, int], lock: threading.Lock,
             *, max_requests: int = 1_000) -> None:
    """Send :data:`EXPENSIVE` back to back until ``until``; count the statuses it gets."""
    session = requests.Session()
    for _ in range(max_requests):
        if time.monotonic() >= until:
            break
        try:
            status = session.post(endpoint, data={"query": EXPENSIVE},
                                  headers={"Accept": SRJ}, timeout=60).status_code
        except requests.RequestException:
            status = 0
        with lock:
            statuses[status] = statuses.get(status, 0) + 1
        if status in (429, 503):
            time.sleep(0.2)  # a polite attacker still comes back at once
    session.close()


class Slowloris:
    """``count`` sockets that send a request's headers one byte every ``interval`` seconds."""

    def __init__(self, host: str, port: int, count: int, interval: float = 2.0) -> None:
        self.host, self.port, self.count, self.interval = host, port, count, interval
        self.sockets: list[socket.socket] = []
        self.opened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="slowloris")

    def start(self) -> None:
        """Open the sockets, then keep them dribbling in the background."""
        for _ in range(self.count):
            try:
                sock = socket.create_connection((self.host, self.port), timeout=5)
                sock.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                self.sockets.append(sock)
            except OSError:
                break
        self.opened = len(self.sockets)
        self._thread.start()

    def open_now(self) -> int:
        """How many of the sockets the server has not closed yet."""
        return len(self.sockets)

    def _run(self) -> None:
        for _ in range(100_000):  # bounded; ends with stop()
            if self._stop.wait(self.interval):
                return
            for sock in list(self.sockets):
                try:
                    sock.sendall(b"X")
                except OSError:
                    self.sockets.remove(sock)

    def stop(self) -> None:
        """Stop dribbling and close every socket."""
        self._stop.set()
        self._thread.join(self.interval + 5)
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


def summary(phase: Phase, limit: float) -> list[str]:
    """Markdown rows: per cheap request, latency percentiles and statuses."""
    rows = []
    for label, *_ in CHEAP:
        mine = [s for s in phase.samples if s.label == label]
        if not mine:
            continue
        times = [s.seconds for s in mine]
        statuses: dict[int, int] = {}
        for s in mine:
            statuses[s.status] = statuses.get(s.status, 0) + 1
        within = sum(1 for s in mine if s.status == 200 and s.seconds <= limit)
        shown = ", ".join(f"{k or 'no answer'}: {v}" for k, v in sorted(statuses.items()))
        rows.append(f"| {phase.name} | {label} | {len(mine)} | {percentile(times, 0.5) * 1000:.0f} "
                    f"| {percentile(times, 0.95) * 1000:.0f} | {max(times) * 1000:.0f} "
                    f"| {within}/{len(mine)} | {shown} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="length of each phase (quiet, then under attack)")
    parser.add_argument("--attackers", type=int, default=4)
    parser.add_argument("--slow-sockets", type=int, default=150)
    parser.add_argument("--query-timeout", type=float, default=5.0)
    parser.add_argument("--limit", type=float, default=1.0, help="the latency target, seconds")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="mckg-hardening-"))
    command = [sys.executable, "-c", "from mckg.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", "0", "--store", f"oxigraph:{scratch / 'store'}",
               "--query-timeout", str(args.query_timeout)]
    spec = ServerSpec(key="mckg", label="mckg serve", command=command,
                      env={"XDG_DATA_HOME": str(scratch / "xdg")},
                      ready_pattern=r"serving (http://127\.0\.0\.1:\d+/)", start_timeout=300)
    sampler = MemorySampler(limit_seconds=args.seconds * 4 + 600)
    server = start(spec, sampler)
    phases = [Phase("quiet"), Phase("under attack")]
    loris: Slowloris | None = None
    try:
        cheap_loop(server.url, time.monotonic() + args.seconds, phases[0])
        port = int(server.url.rstrip("/").rsplit(":", 1)[1])
        loris = Slowloris("127.0.0.1", port, args.slow_sockets)
        loris.start()
        until = time.monotonic() + args.seconds
        lock = threading.Lock()
        attackers = [threading.Thread(target=attacker, daemon=True,
                                      args=(server.endpoint, until, phases[1].attacker_statuses,
                                            lock)) for _ in range(args.attackers)]
        for thread in attackers:
            thread.start()
        time.sleep(min(2.0, args.seconds / 5))  # let the attack take hold first
        cheap_loop(server.url, until, phases[1])
        phases[1].slow_sockets_open = loris.open_now()
        for thread in attackers:
            thread.join(args.query_timeout + 70)
        healthy = False
        with contextlib.suppress(requests.RequestException):
            healthy = requests.get(server.endpoint, params={"query": "ASK {}"},
                                   headers={"Accept": SRJ}, timeout=30).status_code == 200
    finally:
        if loris is not None:
            loris.stop()
        server.stop()
        sampler.close()

    attacked = phases[1]
    cheap = attacked.samples
    met = bool(cheap) and all(s.status == 200 and s.seconds <= args.limit for s in cheap)
    lines = [
        f"## Cheap requests under attack ({dt.datetime.now().isoformat(timespec='seconds')})",
        "",
        f"`mckg serve` (shipped graph, `--query-timeout {args.query_timeout:g}`, other settings "
        f"default); {args.seconds:g} s quiet, then {args.seconds:g} s with {args.attackers} clients "
        f"sending an expensive query back to back and {loris.opened if loris else 0} slow-header "
        f"sockets open ({attacked.slow_sockets_open} still open at the end of the attack). "
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| phase | request | n | p50 ms | p95 ms | max ms | 200 within "
        f"{args.limit:g} s | statuses |",
        "|---|---|---:|---:|---:|---:|---:|---|",
        *summary(phases[0], args.limit),
        *summary(attacked, args.limit),
        "",
        "Expensive queries during the attack, by status: "
        + ", ".join(f"{k or 'no answer'}: {v}" for k, v in sorted(attacked.attacker_statuses.items())),
        "",
        f"Target — every cheap request answered 200 within {args.limit:g} s during the attack: "
        f"**{'met' if met else 'missed'}**; server healthy after: {'yes' if healthy else 'no'}.",
        "",
        "```sh",
        "python -m benchmarks.hardening " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "```",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
