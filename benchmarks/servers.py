"""Starting, watching and stopping the servers under test, each in its own process tree.

Every server is a child process of the runner bound to 127.0.0.1. Its readiness is detected
from its log (the URL it prints) or by polling with a trivial query, both bounded in time; its
memory is that of the whole process tree (``mckg serve`` evaluates queries in worker
processes, so the main process alone would flatter it), sampled by one background thread for
as long as the server lives, two ways: the **proportional** set size (PSS: a page shared by
n processes counts 1/n to each, so the sum is what the tree really holds — mckg's workers
share the in-memory copy of the store with the process they are forked from), and the plain
RSS summed over the processes (which counts a shared page once per process that maps it).
Stopping sends SIGTERM to the process, then SIGKILL to
it and to any of *its* children still alive — never to anything the runner did not start.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

#: How often the memory sampler looks at every server.
SAMPLE_SECONDS = 0.2


def free_port() -> int:
    """A loopback port that was free a moment ago (for servers that cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _busy_cpu() -> float:
    """CPU seconds the whole machine has spent not idle since boot."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its live descendants."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _pss(pid: int) -> int | None:
    """Proportional set size of one process in bytes (``/proc/PID/smaps_rollup``), or None."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def tree_memory(pid: int) -> tuple[int, int]:
    """(PSS, RSS) summed over process ``pid`` and all its descendants; (0, 0) if it is gone.

    PSS falls back to RSS for a process whose ``smaps_rollup`` cannot be read.
    """
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    pss = rss = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            resident = process.memory_info().rss
            rss += resident
            proportional = _pss(process.pid)
            pss += resident if proportional is None else proportional
    return pss, rss


def tree_rss(pid: int) -> int:
    """Bytes the tree of process ``pid`` holds (PSS summed; see :func:`tree_memory`)."""
    return tree_memory(pid)[0]


@dataclass
class ServerSpec:
    """How to start one server and where it answers."""

    #: Short key (``mckg-oxigraph``) and the name shown in tables.
    key: str
    label: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    #: A regex whose first group is the base URL, searched in the server's stderr/stdout;
    #: None means the URL is ``base_url`` and readiness is found by polling.
    ready_pattern: str | None = None
    base_url: str = ""
    #: Path of the SPARQL endpoint below the base URL.
    endpoint_path: str = "sparql"
    #: Seconds to wait for the server to be ready (load included).
    start_timeout: float = 600.0
    #: Whether the server stops a runaway query itself (else the runner must wait it out).
    has_query_timeout: bool = False
    cwd: Path | None = None
    #: A regex searched in the log after the first answer: the server has reached its
    #: steady state (mckg: its workers read from the in-memory copy). Measurements wait for it.
    settled_pattern: str | None = None


@dataclass
class Server:
    """A running server: its process, URL, log, start-up time and memory samples."""

    spec: ServerSpec
    process: subprocess.Popen[bytes]
    started: float
    url: str = ""
    ready_seconds: float | None = None
    log: list[str] = field(default_factory=list)
    peak_rss: int = 0
    #: The peak until the server was ready (loading), and the peak after (serving).
    load_peak_rss: int = 0
    serve_peak_rss: int = 0
    rss_after_load: int = 0
    last_rss: int = 0
    #: The plain RSS summed over the tree: its peak and its last sample.
    peak_rss_sum: int = 0
    last_rss_sum: int = 0
    #: Seconds from process start until ``settled_pattern`` appeared in the log.
    settled_seconds: float | None = None

    @property
    def endpoint(self) -> str:
        """The SPARQL endpoint URL."""
        return self.url + self.spec.endpoint_path

    @property
    def alive(self) -> bool:
        """Whether the main process still runs."""
        return self.process.poll() is None

    def sample(self) -> None:
        """Record the tree's current RSS and keep the peak."""
        if self.alive:
            self.last_rss, self.last_rss_sum = tree_memory(self.process.pid)
            self.peak_rss = max(self.peak_rss, self.last_rss)
            self.peak_rss_sum = max(self.peak_rss_sum, self.last_rss_sum)
            if self.ready_seconds is not None:
                self.serve_peak_rss = max(self.serve_peak_rss, self.last_rss)

    def stop(self, *, grace: float = 20.0) -> None:
        """SIGTERM, wait ``grace`` s, then SIGKILL the process and its remaining children."""
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for child in children:  # only our own server's descendants, by pid
            with contextlib.suppress(psutil.Error):
                if child.is_running():
                    child.kill()
        with contextlib.suppress(psutil.Error):
            psutil.wait_procs(children, timeout=10)


class MemorySampler:
    """One thread sampling every registered server's RSS until stopped (bounded by ``limit``).

    It also keeps account of *foreign* CPU: the machine's busy CPU time minus what the runner
    and the servers under test used. The benchmark machine may be shared; a number measured
    while other jobs took half the cores says so in the report instead of passing for clean.
    """

    def __init__(self, limit_seconds: float = 6 * 3600) -> None:
        self.servers: list[Server] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._limit = limit_seconds
        self._started = time.monotonic()
        self._foreign = 0.0
        self._last_busy = _busy_cpu()
        self._last_own: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")
        self._thread.start()

    def add(self, server: Server) -> None:
        """Start sampling ``server``."""
        with self._lock:
            self.servers.append(server)

    def cpu_snapshot(self) -> tuple[float, float]:
        """(seconds since the sampler started, foreign CPU seconds so far): diff two of these."""
        with self._lock:
            return time.monotonic() - self._started, self._foreign

    def _account(self, servers: list[Server]) -> None:
        pids = [os.getpid()]
        for server in servers:
            if server.alive:
                pids.append(server.process.pid)
        own: dict[int, float] = {}
        for pid in pids:
            try:
                root = psutil.Process(pid)
                family = [root] if pid == os.getpid() else [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for process in family:
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    own[process.pid] = times.user + times.system
        busy = _busy_cpu()
        used = sum(total - self._last_own.get(pid, 0.0) for pid, total in own.items())
        with self._lock:
            self._foreign += max(0.0, busy - self._last_busy - used)
        self._last_busy, self._last_own = busy, own

    def _run(self) -> None:
        deadline = time.monotonic() + self._limit
        tick = 0
        while not self._stop.wait(SAMPLE_SECONDS) and time.monotonic() < deadline:
            with self._lock:
                servers = list(self.servers)
            for server in servers:
                server.sample()
            tick += 1
            if tick % 5 == 0:  # CPU accounting once a second is plenty
                self._account(servers)

    def close(self) -> None:
        """Stop the sampler thread."""
        self._stop.set()
        self._thread.join(5)


def _drain(server: Server, stream: object, on_line: Callable[[str], None]) -> None:
    """Read the server's output line by line until it closes (keeps pipes from filling)."""
    for raw in stream:  # type: ignore[attr-defined]  # ends when the process exits
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if len(server.log) < 5000:
            server.log.append(line)
        elif len(server.log) == 5000:
            server.log.append("… (log truncated)")
        on_line(line)


def run_command(command: list[str], *, cwd: Path, timeout: float) -> tuple[float, int, str, int]:
    """Run ``command`` to completion (bounded), sampling its tree's RSS.

    :return: wall seconds, peak RSS in bytes, combined output (last 4 kB), exit status.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(
        raw.decode("utf-8", "replace") for raw in process.stdout  # type: ignore[union-attr]
    ), daemon=True)
    reader.start()
    peak = 0
    while process.poll() is None:
        if time.perf_counter() - started > timeout:
            process.kill()
            break
        peak = max(peak, tree_rss(process.pid))
        time.sleep(SAMPLE_SECONDS)
    status = process.wait(10)
    reader.join(10)
    return time.perf_counter() - started, peak, "".join(lines)[-4000:], status


def start(spec: ServerSpec, sampler: MemorySampler, *, probe_query: str = "ASK { ?s ?p ?o }"
          ) -> Server:
    """Start ``spec``, wait (bounded) until it answers a query, and return it.

    ``ready_seconds`` is the time from process start to the first answered query: for every
    server under test that includes loading the data.

    :raise RuntimeError: it exited or did not answer within ``spec.start_timeout``.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
    started = time.perf_counter()
    process = subprocess.Popen(spec.command, cwd=spec.cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = Server(spec, process, started, url=spec.base_url)
    sampler.add(server)
    found = threading.Event()
    settled = threading.Event()
    pattern = re.compile(spec.ready_pattern) if spec.ready_pattern else None
    steady = re.compile(spec.settled_pattern) if spec.settled_pattern else None

    def on_line(line: str) -> None:
        if pattern is not None and not found.is_set():
            match = pattern.search(line)
            if match:
                server.url = match.group(1)
                found.set()
        if steady is not None and not settled.is_set() and steady.search(line):
            server.settled_seconds = time.perf_counter() - started
            settled.set()

    assert process.stdout is not None
    threading.Thread(target=_drain, args=(server, process.stdout, on_line), daemon=True).start()
    deadline = started + spec.start_timeout
    if pattern is not None:
        while not found.wait(0.2):
            if not server.alive or time.perf_counter() > deadline:
                break
    session = requests.Session()
    answered = False
    while server.url and server.alive and time.perf_counter() < deadline:
        with contextlib.suppress(requests.RequestException):
            response = session.post(server.endpoint, data={"query": probe_query},
                                    headers={"Accept": "application/sparql-results+json"},
                                    timeout=10)
            if response.status_code == 200:
                answered = True
                break
        time.sleep(0.2)
    session.close()
    if not answered:
        server.stop()
        tail = "\n".join(server.log[-30:])
        raise RuntimeError(f"{spec.label} did not become ready within {spec.start_timeout:g} s "
                           f"(exit status {process.poll()}):\n{tail}")
    server.ready_seconds = time.perf_counter() - started
    if steady is not None:
        while not settled.wait(0.2):  # bounded by the start timeout
            if not server.alive or time.perf_counter() > deadline:
                server.stop()
                raise RuntimeError(f"{spec.label} answered but never logged "
                                   f"{spec.settled_pattern!r}")
    server.sample()
    server.rss_after_load = server.last_rss
    server.load_peak_rss = server.peak_rss
    return server
