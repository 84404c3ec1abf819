"""Measure two git revisions of this repository side by side in one run, and report ratios.

For the issue "One engine for every query": a change of engine is only worth it if the commands
people run every day do not get slower, and numbers taken on different days on a shared machine
cannot show that. So both revisions are measured in the same run, their runs interleaved, on
the same interpreter and the same installed dependencies:

=============================  ================================================================
warm ``mckg query cq01``        wall time of the whole command once the revision has run it
                                (one untimed warm-up, then ``--runs`` timed runs; one data
                                folder per revision, kept between its runs)
fresh ``mckg serve``            from process start, with an empty data folder, to the first
                                HTTP 200 to ``GET /sparql?query=ASK{?s ?p ?o}`` on 127.0.0.1
``python -m pytest -n 2``       with ``--tests`` only: the README's test command, run in each
                                revision's checkout (minutes; the machine may be shared)
=============================  ================================================================

Each revision is extracted with ``git archive`` into a temporary folder (read-only for the
repository: no worktree metadata to leave behind if the run is killed) and run from there with
``PYTHONPATH=CHECKOUT/src`` and ``python -c "from mckg.cli import main; main()"``: no install,
so nothing of the revision's packaging is measured and no registry is needed. That is only
sound if the checkout's package is the one imported (an editable install of another checkout
adds its ``src`` to ``sys.path`` after ``PYTHONPATH``, but this is checked, not assumed) and if
its shipped files are found in the checkout: each revision's ``mckg.__file__`` and its
``resources`` folders are printed by a subprocess and must lie inside its checkout.

Rounds alternate the order (old then new, then new then old …), so that neither revision always
runs right after the other one or always first, and a burst of load from other jobs is spread
over both. The report gives, per target, median and minimum of each revision and new ÷ old
(below 1: the new revision is faster), the samples, the exact command lines, the machine and
the two commit ids.

    python -m benchmarks.revisions --old HEAD~1 --new HEAD --runs 5 --out var/revisions.md
    python -m benchmarks.revisions --old main --new "$(git stash create)"   # uncommitted changes

Every loop and every subprocess is bounded in time; servers listen on 127.0.0.1 only and are
stopped with SIGTERM (then SIGKILL, for them and their own children, by process id); the
temporary folder is removed at the end, also on failure or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
#: How the tests start the CLI too: the same interpreter, whichever ``mckg`` is on ``sys.path``.
ENTRY = "from mckg.cli import main; main()"
#: Only a loopback URL is accepted from the server's log.
SERVING = re.compile(r"mckg: serving (http://127\.0\.0\.1:\d+/)")
PROBE = "ASK{?s ?p ?o}"
PYTEST = ["-m", "pytest", "-n", "2"]
#: Upper bounds that keep a broken revision from hanging the run.
MAX_RUNS = 100
POLL_SECONDS = 0.05
GRACE_SECONDS = 20.0


def log(message: str) -> None:
    """Progress on stderr, with the time: the report itself goes to stdout or --out."""
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def git(*args: str) -> str:
    """Output of a read-only git command in this repository (its message if it fails)."""
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"git {shlex.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class Revision:
    """One side of the comparison: its commit, its checkout and its scratch folder."""

    label: str
    rev: str
    commit: str
    subject: str
    root: Path
    scratch: Path
    #: Timed samples in seconds per target key, in run order.
    samples: dict[str, list[float]] = field(default_factory=dict)
    #: Digests of what the query target printed (stdout), to compare answers across revisions.
    answers: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    @property
    def short(self) -> str:
        """The abbreviated commit id used in tables."""
        return self.commit[:7]

    def mckg(self, *args: str) -> list[str]:
        """The command line of ``mckg ARGS`` for this revision (its package via PYTHONPATH)."""
        return [sys.executable, "-c", ENTRY, *args]

    def env(self, data_home: Path) -> dict[str, str]:
        """The environment of this revision's commands.

        ``PYTHONPATH`` is replaced, not extended: a developer's own PYTHONPATH pointing at
        another checkout would otherwise decide which mckg runs. ``MCKG_*`` settings are
        dropped so that a store or port chosen in the caller's shell does not change what is
        measured; ``XDG_DATA_HOME`` is where ``mckg serve`` keeps its default store.
        """
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("MCKG_") and k != "PYTHONPATH"}
        env.update(PYTHONPATH=str(self.root / "src"), XDG_DATA_HOME=str(data_home),
                   PYTHONUNBUFFERED="1")
        return env


# ---- checkouts -----------------------------------------------------------------------------
def resolve(rev: str) -> tuple[str, str]:
    """The full commit id and subject line of ``rev`` (resolved once, before anything runs)."""
    commit = git("rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}")
    return commit, git("show", "-s", "--format=%s", commit)


def extract(commit: str, dest: Path) -> None:
    """Write the tree of ``commit`` into ``dest`` with ``git archive``.

    Two checkouts are made even when both sides name the same commit, so that each side starts
    from the same state (no bytecode compiled by the other, its own data folder).
    """
    archive = dest.with_suffix(".tar")
    dest.parent.mkdir(parents=True, exist_ok=True)
    git("archive", "--format=tar", "-o", str(archive), commit)
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()


def check_import(revision: Revision) -> str:
    """Make sure the revision's own package and shipped files are the ones used.

    :return: the path of the imported package, for the report.
    :raise RuntimeError: another installation of mckg shadows the checkout.
    """
    probe = ("import json, mckg, mckg.cli, mckg.resources as r\n"
             "dirs = []\n"
             "for kind in ('ontology', 'data', 'queries'):\n"
             "    try: dirs.append(str(r.resource_dir(kind)))\n"
             "    except Exception as exc: dirs.append(repr(exc))\n"
             "print(json.dumps({'package': mckg.__file__, 'main': hasattr(mckg.cli, 'main'),"
             " 'dirs': dirs}))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=revision.root, capture_output=True,
                          text=True, timeout=120, env=revision.env(revision.scratch / "xdg-probe"))
    if done.returncode != 0:
        raise RuntimeError(f"{revision.label}: cannot import mckg:\n{done.stderr[-2000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    root = revision.root.resolve()
    paths = [found["package"], *found["dirs"]]
    outside = [p for p in paths if not Path(p).resolve().is_relative_to(root)]
    if outside or not found["main"]:
        raise RuntimeError(f"{revision.label} ({revision.short}): mckg or its shipped files come "
                           f"from outside {root}: {', '.join(outside) or 'no mckg.cli.main'}")
    return str(Path(found["package"]).resolve().relative_to(root))


# ---- (a) warm mckg query --------------------------------------------------------------------
def run_query(revision: Revision, args: Sequence[str], *, timeout: float) -> float:
    """Run ``mckg ARGS`` once in the revision's query data folder; wall seconds.

    The answer's digest is kept: a revision that got faster by answering something else should
    not pass unnoticed.
    """
    command = revision.mckg(*args)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=revision.root, env=revision.env(revision.scratch / "xdg-query"),
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{revision.label}: {shlex.join(command)} exited {done.returncode}:\n"
                           f"{done.stderr.decode('utf-8', 'replace')[-2000:]}")
    revision.answers.add(hashlib.sha256(done.stdout).hexdigest())
    return seconds


# ---- (b) first answer of a fresh mckg serve -------------------------------------------------
#: Servers started and not yet stopped: stopped again in the final cleanup, whatever happened.
_LIVE: dict[int, subprocess.Popen[bytes]] = {}


def group_members(pgid: int) -> list[int]:
    """Processes of process group ``pgid``, from ``/proc`` (no dependency beyond the stdlib).

    Each server is started as the leader of a session and process group of its own, so its
    query workers (and anything they start) are exactly the members of the group.
    """
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
            if int(fields[2]) == pgid:  # state, ppid, pgrp, …
                members.append(int(entry.name))
    return members


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait, then SIGKILL the server; then SIGKILL any of *its* processes left.

    ``mckg serve`` evaluates queries in worker processes. After the server has been reaped,
    a process group that still has members keeps its id (the kernel does not hand out a pid
    in use as a group id), so what remains in the group is the server's own and is killed by
    pid.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    for pid in group_members(process.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    _LIVE.pop(process.pid, None)


def ask(opener: urllib.request.OpenerDirector, request: urllib.request.Request,
        timeout: float) -> bool:
    """Whether the endpoint answered the probe with 200 and ``true``.

    Refused connections, errors and a body that is not the expected JSON all mean "not yet":
    the server may be listening before its store is loaded.
    """
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status == 200 and json.loads(response.read()).get("boolean") is True
    except (OSError, ValueError, AttributeError):  # URLError and HTTPError are OSErrors
        return False


def first_answer(revision: Revision, data_home: Path, *, timeout: float) -> float:
    """Seconds from starting ``mckg serve --port 0`` to its first successful ASK answer.

    The server's stderr is drained by a thread (so the pipe never fills) that catches the URL
    it logs; then the endpoint is polled every :data:`POLL_SECONDS` until it answers 200 with
    ``true``. Both waits end at one deadline, or as soon as the server exits.
    """
    data_home.mkdir(parents=True)
    command = revision.mckg("serve", "--host", "127.0.0.1", "--port", "0")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    lines: list[str] = []
    found: list[str] = []
    seen = threading.Event()
    started = time.perf_counter()
    deadline = started + timeout
    process = subprocess.Popen(command, cwd=revision.root, env=revision.env(data_home),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    _LIVE[process.pid] = process

    def drain() -> None:
        assert process.stderr is not None
        for raw in process.stderr:  # ends when the server exits
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if len(lines) < 2000:
                lines.append(line)
            match = SERVING.search(line)
            if match and not found:
                found.append(match.group(1))
                seen.set()

    reader = threading.Thread(target=drain, daemon=True, name="serve-stderr")
    reader.start()
    try:
        while not seen.wait(POLL_SECONDS):
            if process.poll() is not None or time.perf_counter() > deadline:
                break
        if found:
            url = found[0] + "sparql?" + urllib.parse.urlencode({"query": PROBE})
            request = urllib.request.Request(
                url, headers={"Accept": "application/sparql-results+json"})
            while process.poll() is None and time.perf_counter() < deadline:
                if ask(opener, request, max(0.1, min(10.0, deadline - time.perf_counter()))):
                    return time.perf_counter() - started
                time.sleep(POLL_SECONDS)
        tail = "\n".join(lines[-30:])
        raise RuntimeError(f"{revision.label}: mckg serve gave no answer within {timeout:g} s "
                           f"(exit status {process.poll()}):\n{tail}")
    finally:
        stop(process)
        reader.join(10)


# ---- (c) the test suite ---------------------------------------------------------------------
def run_tests(revision: Revision, index: int, extra: Sequence[str], *, timeout: float) -> float:
    """Wall seconds of ``python -m pytest -n 2`` in the revision's checkout.

    ``--basetemp`` gives each run its own temporary folder: the suite shares one provisioned
    store between its workers in the parent of that folder, and other people's test runs on
    the same machine must not be able to hand theirs to ours. A failing suite still has a wall
    time; its exit status and summary line go into the report.
    """
    basetemp = revision.scratch / f"pytest-{index}"
    command = [sys.executable, *PYTEST, "--basetemp", str(basetemp), *extra]
    output = revision.scratch / f"pytest-{index}.log"
    started = time.perf_counter()
    with open(output, "wb") as sink:
        try:
            done = subprocess.run(command, cwd=revision.root, stdin=subprocess.DEVNULL,
                                  stdout=sink, stderr=subprocess.STDOUT, timeout=timeout,
                                  env=revision.env(revision.scratch / f"xdg-tests-{index}"))
            status: int | str = done.returncode
        except subprocess.TimeoutExpired:
            status = f"killed after {timeout:g} s"
    seconds = time.perf_counter() - started
    text = output.read_text("utf-8", "replace").strip().splitlines()
    summary = text[-1].strip("= ") if text else "(no output)"
    revision.notes.append(f"tests run {index + 1}: exit status {status}; {summary}")
    shutil.rmtree(basetemp, ignore_errors=True)
    return seconds


# ---- the run --------------------------------------------------------------------------------
@dataclass
class Target:
    """One measured thing: its key, its label in the table and its command line for the report."""

    key: str
    label: str
    command: Callable[[Revision], str]
    runs: int
    warmups: int = 0


def rounds(pair: Sequence[Revision], count: int) -> Iterator[tuple[int, Revision]]:
    """(run index, revision) in alternating order: old, new, new, old, old, new …"""
    for index in range(count):
        for revision in (pair if index % 2 == 0 else pair[::-1]):
            yield index, revision


def measure(pair: Sequence[Revision], args: argparse.Namespace) -> list[Target]:
    """Run every target on both revisions, interleaved; samples end up in each revision."""
    query_args = ["query", args.query]
    targets = [
        Target("query", f"warm `mckg query {args.query}`",
               lambda r: shlex.join(r.mckg(*query_args)), args.runs, warmups=1),
        Target("serve", "fresh `mckg serve`: start to first answer",
               lambda r: shlex.join(r.mckg("serve", "--host", "127.0.0.1", "--port", "0"))
               + f"  # then GET /sparql?query={PROBE}", args.runs),
    ]
    if args.tests:
        targets.append(Target("tests", "`python -m pytest -n 2`",
                              lambda r: shlex.join([sys.executable, *PYTEST, "--basetemp",
                                                    "SCRATCH/pytest-N", *args.tests_args]),
                              args.tests_runs))

    for revision in pair:
        log(f"{revision.label}: warm-up of mckg query {args.query}")
        run_query(revision, query_args, timeout=args.timeout)
    for index, revision in rounds(pair, args.runs):
        seconds = run_query(revision, query_args, timeout=args.timeout)
        revision.samples.setdefault("query", []).append(seconds)
        log(f"query run {index + 1}/{args.runs}, {revision.label}: {seconds:.3f} s")
    for index, revision in rounds(pair, args.runs):
        seconds = first_answer(revision, revision.scratch / f"xdg-serve-{index}",
                               timeout=args.timeout)
        revision.samples.setdefault("serve", []).append(seconds)
        shutil.rmtree(revision.scratch / f"xdg-serve-{index}", ignore_errors=True)
        log(f"serve run {index + 1}/{args.runs}, {revision.label}: {seconds:.3f} s")
    if args.tests:
        for index, revision in rounds(pair, args.tests_runs):
            log(f"tests run {index + 1}/{args.tests_runs}, {revision.label} …")
            seconds = run_tests(revision, index, args.tests_args, timeout=args.tests_timeout)
            revision.samples.setdefault("tests", []).append(seconds)
            log(f"tests run {index + 1}/{args.tests_runs}, {revision.label}: {seconds:.1f} s")
    return targets


# ---- report ---------------------------------------------------------------------------------
def machine() -> str:
    """CPU model, cores, Python and OS: what the numbers hold for."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), "
            f"{memory:.1f} GiB; Python {platform.python_version()} "
            f"({sys.executable}); {platform.platform()}")


def seconds_text(value: float) -> str:
    """Seconds to about three significant figures: the spread of these runs is rarely finer."""
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def report(pair: Sequence[Revision], targets: Sequence[Target], *, command: str, began: dt.datetime,
           loads: tuple[float, float], packages: dict[str, str], query: str) -> str:
    """The Markdown report: table of ratios, samples, answers, commands, machine, commits."""
    old, new = pair
    out = [f"## mckg revisions: `{old.short}` (old) vs `{new.short}` (new)", "",
           f"Run {began:%Y-%m-%dT%H:%M:%S}, {(dt.datetime.now() - began).total_seconds() / 60:.1f} "
           f"min; runs interleaved in alternating order; 1-minute load average {loads[0]:.2f} at "
           f"the start, {loads[1]:.2f} at the end. `new ÷ old` below 1: the new revision is faster.",
           "", "| | revision | commit | subject |", "|---|---|---|---|"]
    for revision in pair:
        out.append(f"| {revision.label} | `{revision.rev}` | `{revision.commit}` | "
                   f"{revision.subject.replace('|', '/')} |")
    out += ["", f"Machine: {machine()}.", "",
            "| target | old median (min) | new median (min) | new ÷ old (median) | new ÷ old (min) "
            "| timed runs each |", "|---|---:|---:|---:|---:|---:|"]
    for target in targets:
        a, b = old.samples.get(target.key, []), new.samples.get(target.key, [])
        if not a or not b:
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        runs = f"{len(a)}" + (f" (+{target.warmups} warm-up)" if target.warmups else "")
        out.append(f"| {target.label} | {seconds_text(ma)} ({seconds_text(min(a))}) | "
                   f"{seconds_text(mb)} ({seconds_text(min(b))}) | {mb / ma:.2f}× | "
                   f"{min(b) / min(a):.2f}× | {runs} |")
    out += ["", "Samples in run order (seconds):", ""]
    for target in targets:
        for revision in pair:
            values = ", ".join(f"{v:.3f}" for v in revision.samples.get(target.key, []))
            out.append(f"- {target.label}, {revision.label}: {values or 'none'}")
    same = old.answers == new.answers and len(old.answers) == 1
    out += ["", f"Answers: `mckg query {query}` printed "
            + ("the same output in every run of both revisions." if same else
               f"different outputs (sha256 {sorted(a[:12] for a in old.answers)} old, "
               f"{sorted(a[:12] for a in new.answers)} new).")]
    notes = [f"- {revision.label}: {note}" for revision in pair for note in revision.notes]
    if notes:
        out += ["", "Test suite:", "", *notes]
    out += ["", "Commands, run in each revision's checkout (`git archive COMMIT` into a temporary "
            "folder) with `PYTHONPATH=CHECKOUT/src`, `MCKG_*` unset, `XDG_DATA_HOME` one folder "
            "per revision for the query runs and a new empty one for every server start; "
            f"imported package: {', '.join(f'{k} `{v}`' for k, v in packages.items())}:", "",
            "```sh", f"python -m benchmarks.revisions {command}"]
    out += [f"{target.command(old)}" for target in targets]
    out += ["```", ""]
    return "\n".join(out)


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM/SIGHUP into an exception, so that servers and folders are cleaned up."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Command line: parse, extract both revisions, measure, report, always clean up."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", default="HEAD~1", help="git revision of the baseline (HEAD~1)")
    parser.add_argument("--new", default="HEAD", help="git revision to compare with it (HEAD)")
    parser.add_argument("--runs", type=int, default=5,
                        help=f"timed runs per revision for query and serve (1–{MAX_RUNS})")
    parser.add_argument("--query", default="cq01", help="the stored query of the query target")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds one query run or one server start may take")
    parser.add_argument("--tests", action="store_true",
                        help="also time `python -m pytest -n 2` in each checkout (minutes)")
    parser.add_argument("--tests-args", default="",
                        help="extra pytest arguments, e.g. \"-k test_namespaces\"")
    parser.add_argument("--tests-runs", type=int, default=1, help="test suite runs per revision")
    parser.add_argument("--tests-timeout", type=float, default=3600.0)
    parser.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= MAX_RUNS or not 1 <= args.tests_runs <= MAX_RUNS:
        parser.error(f"--runs and --tests-runs must be between 1 and {MAX_RUNS}")
    args.tests_args = shlex.split(args.tests_args)
    command = shlex.join(argv if argv is not None else sys.argv[1:])

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    began = dt.datetime.now()
    start_load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="mckg-revisions-"))
    try:
        pair = []
        for label, rev in (("old", args.old), ("new", args.new)):
            commit, subject = resolve(rev)
            revision = Revision(label, rev, commit, subject, work / label / "checkout",
                                work / label / "scratch")
            log(f"{label}: {rev} = {commit[:12]} {subject[:70]}")
            extract(commit, revision.root)
            revision.scratch.mkdir(parents=True)
            pair.append(revision)
        packages = {r.label: check_import(r) for r in pair}
        targets = measure(pair, args)
        text = report(pair, targets, command=command, began=began,
                      loads=(start_load, os.getloadavg()[0]), packages=packages, query=args.query)
    finally:
        for process in list(_LIVE.values()):
            stop(process)
        shutil.rmtree(work, ignore_errors=True)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
