"""The HTTP side of the benchmark: the query files, timed requests, latency and throughput.

All requests are SPARQL 1.1 Protocol form POSTs (``query=…``) with the ``Accept`` a client
library sends by default for the query form — JSON results for SELECT/ASK, Turtle for
CONSTRUCT — so every server does its whole job, serialization included. Every loop is bounded:
repetitions by a count and a time budget, throughput runs by a duration, each request by a
timeout.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import re
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import requests

JSON_RESULTS = "application/sparql-results+json"
TURTLE = "text/turtle"
_COMMENT = re.compile(r"^\s*#.*$", re.MULTILINE)
_FORM = re.compile(r"\b(SELECT|CONSTRUCT|ASK|DESCRIBE)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Query:
    """One benchmark query: a name (the file stem), its title and text, and its form."""

    name: str
    title: str
    text: str
    form: str

    @property
    def accept(self) -> str:
        """What a client asks for: JSON results, or Turtle for a graph."""
        return TURTLE if self.form in ("CONSTRUCT", "DESCRIBE") else JSON_RESULTS


def load_queries(folder: Path, pattern: str = "*.rq") -> list[Query]:
    """The ``.rq`` files of ``folder`` matching ``pattern``, sorted by name.

    The title is the ``# title:`` comment; the form is the first query keyword outside comments.

    :raise ValueError: a file has no query form.
    """
    out: list[Query] = []
    for path in sorted(folder.glob(pattern)):
        text = path.read_text(encoding="utf-8")
        title_match = re.search(r"^#\s*title:\s*(.+)$", text, re.MULTILINE)
        form_match = _FORM.search(_COMMENT.sub("", text))
        if form_match is None:
            raise ValueError(f"{path}: no SELECT, CONSTRUCT, ASK or DESCRIBE")
        out.append(Query(path.stem, title_match.group(1).strip() if title_match else path.stem,
                         text, form_match.group(1).upper()))
    return out


@dataclass
class Outcome:
    """One request: its time, status, body size and the answer's size (rows or triples)."""

    seconds: float
    status: int | None
    size: int = 0
    answer: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """A 200 with a body that parsed."""
        return self.status == 200 and self.error is None


def answer_size(query: Query, body: bytes) -> int:
    """Rows of a SELECT, 0/1 for ASK, distinct triples of a graph: to compare servers' answers.

    :raise ValueError: the body does not parse.
    """
    if query.form in ("CONSTRUCT", "DESCRIBE"):
        try:
            return len({str(q) for q in ox.parse(body, ox.RdfFormat.TURTLE)})
        except SyntaxError as exc:
            raise ValueError(f"unparsable Turtle: {exc}") from None
    document = json.loads(body)
    if "boolean" in document:
        return int(bool(document["boolean"]))
    return len(document["results"]["bindings"])


def send(session: requests.Session, endpoint: str, query: Query, *, timeout: float,
         check: bool = False, salt: str | None = None) -> Outcome:
    """POST ``query`` and time it until the whole body has arrived.

    With ``check`` the answer is parsed to count its rows or triples (outside the timing).
    A ``salt`` is appended as a comment: the query means the same, but its text differs, so
    that a server's answer cache cannot answer it (every measured request is then a miss,
    unless a workload measures hits on purpose).
    """
    text = query.text if salt is None else f"{query.text}\n# {salt}\n"
    started = time.perf_counter()
    try:
        response = session.post(endpoint, data={"query": text},
                                headers={"Accept": query.accept}, timeout=timeout)
        body = response.content
    except requests.Timeout:
        return Outcome(time.perf_counter() - started, None, error="timeout")
    except requests.RequestException as exc:
        return Outcome(time.perf_counter() - started, None, error=type(exc).__name__)
    seconds = time.perf_counter() - started
    outcome = Outcome(seconds, response.status_code, len(body))
    if response.status_code != 200:
        outcome.error = f"HTTP {response.status_code}: {body[:160].decode('utf-8', 'replace')}"
    elif check:
        try:
            outcome.answer = answer_size(query, body)
        except (ValueError, KeyError, TypeError) as exc:
            outcome.error = f"bad body: {exc}"
    return outcome


def wait_responsive(endpoint: str, *, bound: float) -> bool:
    """Poll a trivial query until the server answers again (after a client-side timeout).

    A server without its own time limit keeps evaluating an abandoned query; the next
    measurement must not be charged for it.
    """
    deadline = time.monotonic() + bound
    probe = Query("probe", "probe", "ASK { ?s ?p ?o }", "ASK")
    with requests.Session() as session:
        while time.monotonic() < deadline:
            outcome = send(session, endpoint, probe, timeout=max(1.0, deadline - time.monotonic()))
            if outcome.ok:
                return True
            time.sleep(0.5)
    return False


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 10 samples is the largest: say so in the report)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Latency:
    """Sequential latencies of one query on one server."""

    samples: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    answer: int | None = None

    @property
    def median(self) -> float | None:
        """Median seconds, or None without a successful sample."""
        return statistics.median(self.samples) if self.samples else None

    @property
    def p95(self) -> float | None:
        """Nearest-rank 95th percentile seconds."""
        return percentile(self.samples, 0.95) if self.samples else None


@dataclass(frozen=True)
class RepPolicy:
    """How many times to time each query: at least ``min_reps``, at most ``max_reps``, and no
    more once ``budget`` seconds have been spent on it (after ``min_reps``)."""

    min_reps: int = 3
    max_reps: int = 20
    budget: float = 6.0
    timeout: float = 120.0
    #: False: the first request is timed too (for a server whose every query takes seconds,
    #: where a separate warm-up would double the cost and its parse is negligible).
    warmup: bool = True


@dataclass
class Target:
    """A server as the client sees it."""

    key: str
    endpoint: str
    has_query_timeout: bool
    policy: RepPolicy
    #: Restarts the server and returns its new endpoint: for a server without a time limit,
    #: after a client-side timeout, when waiting for the abandoned query could take minutes.
    restart: Callable[[], str] | None = None


def sequential(targets: Sequence[Target], queries: Sequence[Query],
               progress: Callable[[str], None] = print, *, repeat: bool = False
               ) -> dict[str, dict[str, Latency]]:
    """Time each query on every server, one request at a time, interleaving the servers.

    Every request's text is made unique with a comment (cache misses), unless ``repeat``:
    then the same text is sent every time, as a dashboard or a page does (cache hits).

    Per query: one untimed warm-up request per server (also the answer check; timed for a
    policy without warm-up), then timed repetitions round-robin across servers so that drift
    in the machine's load hits all alike. A server that times out on a query gets no more
    repetitions of it, and the runner waits (bounded) until it answers again.
    """
    results: dict[str, dict[str, Latency]] = {t.key: {} for t in targets}
    sessions = {t.key: requests.Session() for t in targets}
    try:
        for query in queries:
            active: list[Target] = []
            spent: dict[str, float] = {}
            for target in targets:
                record = results[target.key].setdefault(query.name, Latency())
                warm = send(sessions[target.key], target.endpoint, query,
                            timeout=target.policy.timeout, check=True,
                            salt=None if repeat else "warm-up")
                record.answer = warm.answer
                if warm.ok:
                    active.append(target)
                    spent[target.key] = 0.0
                    if not target.policy.warmup:
                        record.samples.append(warm.seconds)
                        spent[target.key] = warm.seconds
                else:
                    record.errors.append(f"warm-up: {warm.error}")
                    _recover(target, warm)
                    sessions[target.key].close()  # no pooled connection to a restarted server
                    sessions[target.key] = requests.Session()
            max_reps = max((t.policy.max_reps for t in active), default=0)
            for rep in range(max_reps):
                for target in list(active):
                    policy = target.policy
                    done = rep + (0 if policy.warmup else 1)  # timed requests so far
                    if done >= policy.max_reps or (done >= policy.min_reps
                                                   and spent[target.key] >= policy.budget):
                        active.remove(target)
                        continue
                    outcome = send(sessions[target.key], target.endpoint, query,
                                   timeout=policy.timeout,
                                   salt=None if repeat else f"repetition {rep}")
                    spent[target.key] += outcome.seconds
                    record = results[target.key][query.name]
                    if outcome.ok:
                        record.samples.append(outcome.seconds)
                    else:
                        record.errors.append(outcome.error or "error")
                        active.remove(target)
                        _recover(target, outcome)
                        sessions[target.key].close()
                        sessions[target.key] = requests.Session()
            summary = ", ".join(
                f"{t.key} {_ms(results[t.key][query.name].median)}" for t in targets)
            progress(f"  {query.name}: {summary}")
    finally:
        for session in sessions.values():
            session.close()
    return results


def _recover(target: Target, outcome: Outcome) -> None:
    """After a client-side timeout, make sure the server is free for the next measurement."""
    if outcome.error != "timeout" or target.has_query_timeout:
        return
    if target.restart is not None:
        target.endpoint = target.restart()
    else:
        wait_responsive(target.endpoint, bound=max(60.0, 5 * target.policy.timeout))


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.1f} ms"


@dataclass
class Throughput:
    """One closed-loop run: completed requests per second with ``clients`` clients."""

    clients: int
    seconds: float
    completed: int
    errors: int
    error_kinds: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        """Successful requests per second of wall time."""
        return self.completed / self.seconds if self.seconds > 0 else 0.0


def throughput(target: Target, queries: Sequence[Query], clients: int, *, duration: float,
               timeout: float, repeat: bool = False) -> Throughput:
    """``clients`` threads, each with its own ``requests.Session``, cycle through ``queries``
    (each starting at a different one) for ``duration`` seconds; requests in flight at the
    deadline are waited for (bounded by ``timeout``) and counted. Texts are unique (misses)
    unless ``repeat``, as in :func:`sequential`."""
    lock = threading.Lock()
    result = Throughput(clients, 0.0, 0, 0)
    started = time.perf_counter()
    deadline = started + duration

    def client(index: int) -> None:
        with requests.Session() as session:
            n = index
            while time.perf_counter() < deadline:
                query = queries[n % len(queries)]
                n += 1
                outcome = send(session, target.endpoint, query, timeout=timeout,
                               salt=None if repeat else f"client {index} request {n}")
                with lock:
                    if outcome.ok:
                        result.completed += 1
                        result.latencies.append(outcome.seconds)
                    else:
                        result.errors += 1
                        kind = (outcome.error or "error").split(":")[0]
                        result.error_kinds[kind] = result.error_kinds.get(kind, 0) + 1

    with concurrent.futures.ThreadPoolExecutor(clients, thread_name_prefix="client") as pool:
        futures = [pool.submit(client, i * max(1, len(queries) // clients)) for i in range(clients)]
        for future in futures:
            future.result(timeout=duration + timeout + 30)
    result.seconds = time.perf_counter() - started
    return result
