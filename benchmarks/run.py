"""Run the endpoint benchmark side by side and write ``docs/benchmarks.md``.

One run per scale starts, on the same data (the shipped graph with its inferences plus a
synthetic graph from :mod:`benchmarks.generate`):

=======================  ======================================================================
``mckg-oxigraph``        ``mckg serve --store oxigraph:DIR`` (our server and its default store,
                         answering from its in-memory copy once loaded)
``rdflib-endpoint``      the peer: ``python -m rdflib_endpoint serve FILES`` (FastAPI, uvicorn)
``oxigraph-floor``       **the floor**: pyoxigraph *in memory* behind a minimal Flask app
                         (:mod:`benchmarks.oxigraph_app`), the fastest way to serve this engine
``oxigraph-disk-floor``  the same app on an on-disk pyoxigraph store (the floor of issue 4)
=======================  ======================================================================

then measures sequential latency (interleaved across servers), closed-loop throughput with
1, 4 and 16 clients, load time, memory (PSS) and a restart, optionally profiles our server with
py-spy, saves the numbers as JSON under ``var/benchmarks/results/`` and rewrites the generated
block of the report. Everything listens on 127.0.0.1 and every loop is bounded.

Every measured request's text is unique (a trailing comment; see
:func:`benchmarks.client.send`), so mckg's answer cache never answers the latency and
throughput runs: they compare misses with misses. The ``hits`` workload then repeats the same
texts, to measure what the cache gives a dashboard or a page, against the floor's misses.

    python -m benchmarks.run --scale all --out docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from . import generate
from .client import Latency, Query, RepPolicy, Target, load_queries, sequential, throughput
from .profile import profile_server
from .report import OURS, write_report
from .servers import MemorySampler, Server, ServerSpec, free_port, run_command, start, tree_cpu

ROOT = Path(__file__).resolve().parents[1]
SCALES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
SERVER_ORDER = ("mckg-oxigraph", "rdflib-endpoint", "oxigraph-floor", "oxigraph-disk-floor")
PEER_THROUGHPUT_SKIP = ("not run at 1M: several of its queries take longer than the 30 s cap, "
                        "so a closed-loop run of seconds would measure one request")
MCKG = [sys.executable, "-c", "from mckg.cli import main; main()"]
_SERVING = r"mckg: serving (http://\S+/)"
#: mckg's workers read from the in-memory copy (at start, or once copied in the background).
_FROM_MEMORY = r"reading from memory|now read from memory"


def log(message: str) -> None:
    """Progress on stderr, with the time."""
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# ---- data ----------------------------------------------------------------------------------
def prepare_data(work: Path, scale: str, seed: int) -> tuple[Path, Path]:
    """The shipped graph (with inferences) and the synthetic graph as N-Triples files.

    Cached under ``work/data`` by seed and generator version; the shipped export is redone
    when the package's data is newer than it.
    """
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    shipped = data / "shipped.nt"
    sources = [p for folder in ("data", "ontology", "reference") for p in (ROOT / folder).rglob("*")
               if p.is_file()]
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    if not shipped.exists() or shipped.stat().st_mtime < newest:
        log("exporting the shipped graph with its inferences")
        subprocess.run([*MCKG, "export", "--format", "nt", "--inferred", "-o", str(shipped)],
                       check=True, timeout=600, cwd=ROOT)
    # Named by the generator's own source too: a changed generator never reuses old data.
    digest = hashlib.sha256(Path(generate.__file__).read_bytes()).hexdigest()[:10]
    synthetic = data / f"synthetic-{scale}-seed{seed}-{digest}.nt"
    if not synthetic.exists():
        log(f"generating {SCALES[scale]:,} synthetic triples")
        generate.write(synthetic, SCALES[scale], seed)
    return shipped, synthetic


def count_lines(path: Path) -> int:
    """Triples in an N-Triples file written one per line."""
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


# ---- servers -------------------------------------------------------------------------------
def server_specs(run_dir: Path, files: Sequence[Path], *, timeout: float) -> dict[str, ServerSpec]:
    """How each server is started on ``files``; all state lives under ``run_dir``."""
    env = {"XDG_DATA_HOME": str(run_dir / "xdg")}
    file_args = [a for f in files for a in ("--file", str(f))]
    # --no-shipped --no-reasoning: the shipped export already holds the inferences, and every
    # server must serve exactly the same triples.
    common = ["--no-shipped", "serve", "--no-reasoning", "--port", "0", "--workers", "2",
              "--query-timeout", f"{timeout:g}"]
    port = free_port()
    floor_loads = [a for f in files for a in ("--load", str(f))]
    return {
        "mckg-oxigraph": ServerSpec(
            "mckg-oxigraph", "mckg serve",
            [*MCKG, *common, "--store", f"oxigraph:{run_dir / 'mckg-store'}", *file_args],
            env=env, ready_pattern=_SERVING, has_query_timeout=True, cwd=ROOT,
            settled_pattern=_FROM_MEMORY),
        "rdflib-endpoint": ServerSpec(
            "rdflib-endpoint", "rdflib-endpoint",
            [sys.executable, "-m", "rdflib_endpoint", "serve", *map(str, files),
             "--host", "127.0.0.1", "--port", str(port)],
            base_url=f"http://127.0.0.1:{port}/", endpoint_path="", cwd=run_dir),
        "oxigraph-floor": ServerSpec(
            "oxigraph-floor", "pyoxigraph in memory + Flask (floor)",
            [sys.executable, "-m", "benchmarks.oxigraph_app", *floor_loads, "--port", "0"],
            ready_pattern=r"serving (http://\S+/)", cwd=ROOT),
        "oxigraph-disk-floor": ServerSpec(
            "oxigraph-disk-floor", "pyoxigraph on disk + Flask",
            [sys.executable, "-m", "benchmarks.oxigraph_app", "--store",
             str(run_dir / "floor-store"), *floor_loads, "--port", "0"],
            ready_pattern=r"serving (http://\S+/)", cwd=ROOT),
    }


def measure_mckg_load(run_dir: Path, files: Sequence[Path]) -> dict[str, Any]:
    """``mckg load`` of the same files into an empty Oxigraph store: time and peak memory.

    Issue 4's loader (streamed, batched, one transaction), measured on its own before any
    server starts; the store is thrown away after.
    """
    store = run_dir / "mckg-load-store"
    command = [*MCKG, "--no-shipped", "load", "--store", f"oxigraph:{store}", *map(str, files)]
    seconds, peak, output, status = run_command(command, cwd=ROOT, timeout=900)
    shutil.rmtree(store, ignore_errors=True)
    match = re.search(r"loaded ([\d,]+) triples .* in ([\d.]+) s \(([\d,]+) triples/s\)", output)
    record: dict[str, Any] = {"command": shlex.join(command), "wall_seconds": seconds,
                              "peak_rss": peak, "status": status}
    if match:
        record.update(triples=int(match.group(1).replace(",", "")),
                      seconds=float(match.group(2)),
                      per_second=int(match.group(3).replace(",", "")))
    else:
        record["error"] = output[-400:]
    return record


def server_record(server: Server | None, spec: ServerSpec, *, skipped: str | None = None
                  ) -> dict[str, Any]:
    """What the report needs to know about one server."""
    record: dict[str, Any] = {"label": spec.label, "skipped": skipped}
    if server is not None:
        record.update(ready_seconds=server.ready_seconds, rss_after_load=server.rss_after_load,
                      load_peak_rss=server.load_peak_rss, serve_peak_rss=server.serve_peak_rss,
                      peak_rss=server.peak_rss, peak_rss_sum=server.peak_rss_sum,
                      settled_seconds=server.settled_seconds, command=shlex.join(spec.command))
        loaded = [line for line in server.log if "loaded" in line.lower()][-1:]
        record["load_log"] = loaded[0][-200:] if loaded else None
    return record


def wait_for_quiet(threshold: float, bound: float) -> float:
    """Wait (at most ``bound`` s) until the 1-minute load average is below ``threshold``.

    The machine may be shared with other jobs; starting in a quiet moment costs little and
    makes the numbers cleaner. Returns the load average when done.
    """
    deadline = time.monotonic() + bound
    while os.getloadavg()[0] > threshold and time.monotonic() < deadline:
        time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))
    return os.getloadavg()[0]


# ---- one scale -----------------------------------------------------------------------------
def latency_record(results: dict[str, dict[str, Latency]]) -> dict[str, Any]:
    """Latencies as JSON: median, p95, samples, errors and the answer size."""
    return {key: {name: {"median": r.median, "p95": r.p95, "n": len(r.samples),
                         "errors": r.errors[:5], "answer": r.answer}
                  for name, r in per_query.items()}
            for key, per_query in results.items()}


def measure_throughput(scale: str, workload: str, queries: Sequence[Query],
                       targets: Sequence[Target], servers: dict[str, Server],
                       clients: Sequence[int], *, rounds: int, duration: float,
                       repeat: bool = False) -> dict[str, dict[str, Any]]:
    """Closed-loop runs of every client count on every server, in ``rounds`` rounds.

    Each round visits the servers in a rotated order, so that a burst of load from other
    jobs on a shared machine is spread over all of them; the rounds are summed. Besides
    requests per second, each run records the server tree's CPU time per completed request,
    which other jobs on the machine hardly disturb.
    """
    totals: dict[str, dict[str, dict[str, Any]]] = {t.key: {} for t in targets}
    for round_index in range(rounds):
        order = list(targets[round_index % len(targets):]) + list(
            targets[:round_index % len(targets)])
        for n in clients:
            for target in order:
                runs = totals[target.key]
                if scale == "1m" and target.key == "rdflib-endpoint":
                    runs[str(n)] = {"skipped": PEER_THROUGHPUT_SKIP}
                    continue
                server = servers[target.key]
                cpu_before = tree_cpu(server.process.pid)
                measured = throughput(target, queries, n, duration=duration,
                                      timeout=target.policy.timeout, repeat=repeat)
                cpu = tree_cpu(server.process.pid) - cpu_before
                run = runs.setdefault(str(n), {"completed": 0, "errors": 0, "seconds": 0.0,
                                               "cpu_seconds": 0.0, "error_kinds": {}})
                run["completed"] += measured.completed
                run["errors"] += measured.errors
                run["seconds"] += measured.seconds
                run["cpu_seconds"] += max(0.0, cpu)
                for kind, count in measured.error_kinds.items():
                    run["error_kinds"][kind] = run["error_kinds"].get(kind, 0) + count
                run["per_second"] = run["completed"] / run["seconds"] if run["seconds"] else 0.0
                run["cpu_ms_per_request"] = (1000 * run["cpu_seconds"] / run["completed"]
                                             if run["completed"] else None)
                log(f"{scale}: {workload} {target.key} x{n} (round {round_index + 1}): "
                    f"{measured.per_second:.1f}/s, {measured.errors} errors")
    return totals


def policies(scale: str, args: argparse.Namespace) -> dict[str, RepPolicy]:
    """Repetition policies: the same for every server, except the capped peer at 1M."""
    default = RepPolicy(min_reps=args.min_reps, max_reps=args.max_reps, budget=args.budget,
                        timeout=args.timeout)
    out = {key: default for key in SERVER_ORDER}
    if scale == "1m":
        out["rdflib-endpoint"] = RepPolicy(min_reps=1, max_reps=2, budget=args.budget,
                                           timeout=args.peer_timeout_1m, warmup=False)
    return out


def run_scale(scale: str, args: argparse.Namespace, mix: list[Query], cq: list[Query]
              ) -> dict[str, Any]:
    """Start every server on one scale's data, measure, stop them; return the numbers."""
    began = time.perf_counter()
    shipped, synthetic = prepare_data(args.work, scale, args.seed)
    run_dir = args.work / f"run-{scale}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    specs = server_specs(run_dir, [shipped, synthetic], timeout=args.timeout)
    wanted = [k for k in SERVER_ORDER if k in args.servers]
    result: dict[str, Any] = {
        "scale": scale, "seed": args.seed, "synthetic_triples": count_lines(synthetic),
        "shipped_triples": count_lines(shipped), "started": dt.datetime.now().isoformat(
            timespec="seconds"), "loadavg_start": list(os.getloadavg()), "servers": {},
        "latency": {}, "throughput": {}, "queries": {
            "mix": [{"name": q.name, "title": q.title, "form": q.form} for q in mix],
            "cq": [{"name": q.name, "title": q.title, "form": q.form} for q in cq]}}
    sampler = MemorySampler()
    servers: dict[str, Server] = {}
    foreign: dict[str, float] = {}
    result["foreign_cpu"] = foreign
    mark = sampler.cpu_snapshot()

    def phase_done(name: str) -> None:
        """Record which share of the machine's CPU other jobs took during the phase."""
        nonlocal mark
        now = sampler.cpu_snapshot()
        elapsed = now[0] - mark[0]
        foreign[name] = (now[1] - mark[1]) / (elapsed * (os.cpu_count() or 1)) if elapsed else 0.0
        mark = now

    try:
        if "mckg-oxigraph" in wanted:
            log(f"{scale}: mckg load into an empty Oxigraph store")
            result["mckg_load"] = measure_mckg_load(run_dir, [shipped, synthetic])
            log(f"{scale}: mckg load: {result['mckg_load'].get('seconds', '?')} s, "
                f"{result['mckg_load']['peak_rss'] / 2**20:.0f} MiB")
        # Loads one after another, so that no load competes with another for the 2 cores.
        for key in ("oxigraph-floor", "oxigraph-disk-floor", "mckg-oxigraph", "rdflib-endpoint"):
            if key not in wanted:
                continue
            log(f"{scale}: starting {specs[key].label}")
            try:
                servers[key] = start(specs[key], sampler)
            except RuntimeError as exc:
                log(f"{scale}: {exc}")
                result["servers"][key] = server_record(None, specs[key],
                                                       skipped=f"failed to start: {exc}"[:400])
                continue
            log(f"{scale}: {key} ready in {servers[key].ready_seconds:.1f} s, "
                f"{servers[key].rss_after_load / 2**20:.0f} MiB")
        phase_done("loading")
        order = [k for k in SERVER_ORDER if k in servers]
        rep = policies(scale, args)
        result["timeouts"] = {k: rep[k].timeout for k in order}
        restarts: dict[str, int] = {}

        def restarter(key: str) -> Callable[[], str]:
            def restart() -> str:
                old = servers[key]
                old.stop(grace=5)
                log(f"{scale}: restarting {key} after a client-side timeout")
                fresh = start(specs[key], sampler)
                fresh.peak_rss = max(fresh.peak_rss, old.peak_rss)
                fresh.serve_peak_rss = max(fresh.serve_peak_rss, old.serve_peak_rss)
                servers[key] = fresh
                restarts[key] = restarts.get(key, 0) + 1
                return fresh.endpoint
            return restart

        # A server without its own time limit goes on evaluating an abandoned query; at 1M
        # rdflib's can take many minutes, so the peer is restarted instead of waited for.
        targets = [Target(k, servers[k].endpoint, specs[k].has_query_timeout, rep[k],
                          restart=restarter(k) if scale == "1m" and not specs[k].has_query_timeout
                          else None)
                   for k in order]
        for workload, queries in (("mix", mix), ("cq", cq)):
            log(f"{scale}: sequential latency, {workload} ({len(queries)} queries)")
            result["latency"][workload] = latency_record(
                sequential(targets, queries, progress=log))
            phase_done(f"latency ({workload})")
        duration = args.duration * (2.5 if scale == "1m" else 1.0)  # 1M queries take seconds
        for workload, queries in (("mix", mix), ("cq", cq)):
            result["throughput"][workload] = measure_throughput(
                scale, workload, queries, targets, servers, args.clients, rounds=args.rounds,
                duration=duration)
            phase_done(f"throughput ({workload})")
        cached = [t for t in targets if t.key == OURS]
        if cached:
            log(f"{scale}: repeated queries (mckg's answer cache), latency and 16 clients")
            result["latency"]["hits"] = latency_record(
                sequential(cached, mix, progress=log, repeat=True))
            result["throughput"]["hits"] = measure_throughput(
                scale, "hits", mix, cached, servers, [16], rounds=1, duration=duration,
                repeat=True)
            phase_done("repeated queries")
        if args.profile and "mckg-oxigraph" in servers:
            log(f"{scale}: profiling mckg-oxigraph with py-spy under 16 clients")
            result["profile"] = profile_server(servers["mckg-oxigraph"], targets[0], mix,
                                               duration=duration,
                                               out_dir=args.work / "profiles", scale=scale)
        for key, server in servers.items():
            result["servers"][key] = server_record(server, specs[key])
            if restarts.get(key):
                result["servers"][key]["restarts"] = restarts[key]
        if "mckg-oxigraph" in servers:
            result["servers"]["mckg-oxigraph"]["load_method"] = (
                "`mckg --no-shipped serve --no-reasoning --file …` into an empty store: "
                "start to first answer")
        if "mckg-oxigraph" in servers:
            # Restart on the same store: it must reopen without rebuilding (issue 4).
            servers["mckg-oxigraph"].stop()
            log(f"{scale}: reopening the mckg-oxigraph store")
            try:
                again = start(specs["mckg-oxigraph"], sampler)
                result["servers"]["mckg-oxigraph"]["reopen_seconds"] = again.ready_seconds
                result["servers"]["mckg-oxigraph"]["reopen_settled_seconds"] = again.settled_seconds
                result["servers"]["mckg-oxigraph"]["reopen_rss"] = again.rss_after_load
                servers["mckg-oxigraph"] = again
            except RuntimeError as exc:
                result["servers"]["mckg-oxigraph"]["reopen_error"] = str(exc)[:400]
    finally:
        for server in servers.values():
            server.stop()
        sampler.close()
    result["loadavg_end"] = list(os.getloadavg())
    result["duration_seconds"] = time.perf_counter() - began
    return result


# ---- machine -------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    """CPU, memory, OS, Python and the versions of everything measured."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil

    versions = {}
    for name in ("mckg", "pyoxigraph", "rdflib", "oxrdflib", "rdflib-endpoint", "flask", "waitress",
                 "fastapi", "uvicorn", "requests"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT, timeout=30).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": psutil.virtual_memory().total / 2**30,
            "os": platform.platform(), "python": platform.python_version(),
            "versions": versions, "commit": commit}


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", action="append", choices=[*SCALES, "all"],
                        help="10k, 100k, 1m or all (repeatable; default 10k)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "benchmarks",
                        help="data, stores, results and profiles (default var/benchmarks)")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--servers", default=",".join(SERVER_ORDER),
                        help="comma-separated subset of " + ", ".join(SERVER_ORDER))
    parser.add_argument("--min-reps", type=int, default=3)
    parser.add_argument("--max-reps", type=int, default=10)
    parser.add_argument("--budget", type=float, default=3.0,
                        help="seconds of timed requests per query and server (after min-reps)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--peer-timeout-1m", type=float, default=30.0,
                        help="seconds per request for rdflib-endpoint at 1M")
    parser.add_argument("--duration", type=float, default=4.0,
                        help="seconds per throughput run and round (2.5× at 1M)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="throughput rounds, servers visited in rotated order")
    parser.add_argument("--clients", default="1,4,16", help="concurrent clients per run")
    parser.add_argument("--quiet-load", type=float, default=1.0,
                        help="before each scale, wait for the 1-minute load average to drop "
                        "below this (at most --quiet-wait seconds)")
    parser.add_argument("--quiet-wait", type=float, default=120.0)
    parser.add_argument("--profile", action="store_true",
                        help="profile mckg-oxigraph with py-spy under 16 clients")
    args = parser.parse_args(argv)
    scales = args.scale or ["10k"]
    args.scales = list(SCALES) if "all" in scales else list(dict.fromkeys(scales))
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    args.clients = [int(c) for c in args.clients.split(",")]
    args.work = args.work.resolve()
    command = "python -m benchmarks.run " + shlex.join(argv if argv is not None else sys.argv[1:])
    mix = load_queries(ROOT / "benchmarks" / "queries")
    cq = load_queries(ROOT / "queries", "cq*.rq")
    machine = machine_info()
    results_dir = args.work / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    for scale in args.scales:
        log(f"=== scale {scale} ===")
        if args.quiet_wait > 0:
            load = wait_for_quiet(args.quiet_load, args.quiet_wait)
            log(f"load average {load:.2f}")
        result = run_scale(scale, args, mix, cq)
        result["command"] = command
        result["machine"] = machine
        (results_dir / f"{scale}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
        log(f"{scale}: done in {result['duration_seconds'] / 60:.1f} min")
    saved = [json.loads((results_dir / f"{s}.json").read_text(encoding="utf-8"))
             for s in SCALES if (results_dir / f"{s}.json").exists()]
    write_report(args.out, saved)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
