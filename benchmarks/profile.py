"""Where our server spends its time under load: py-spy on the whole ``mckg serve`` tree.

py-spy samples the serving process and its query workers (``--subprocesses``) while 16 clients
run the research mix, and writes collapsed stacks (one ``frame;frame;… count`` line each). The
summary splits the samples by process (the serving process parses, negotiates and waits; the
workers evaluate and serialize) and ranks functions by *inclusive* share — the fraction of a
process's busy samples in which the function is on the stack — which is what says where a
request's time goes. Idle threads are not sampled.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .client import Query, Target, throughput
from .servers import Server

_PROCESS = re.compile(r'process (\d+):"([^"]*)";?')
_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    """``func (path/to/module.py:12)`` → ``module.py:func`` (line numbers merged)."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    return f"{Path(match.group('file')).name}:{match.group('func')}"


def summarize(raw: Path, *, top: int = 14) -> dict[str, Any]:
    """Busy samples per process kind and the top functions by inclusive and self share."""
    inclusive: dict[str, Counter[str]] = {}
    own: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    with open(raw, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            # Leading 'process PID:"command"' frames (nested for children) name the process;
            # a command line may itself hold ';', so they are matched before splitting.
            commands: list[str] = []
            match = _PROCESS.match(stack)
            while match:
                commands.append(match.group(2))
                stack = stack[match.end():]
                match = _PROCESS.match(stack)
            kind = "serving process"
            if commands and "multiprocessing" in commands[-1]:
                kind = "query workers"
            frames = stack.split(";")
            # Thread frames look like 'thread (0x…)'/'Thread 123 "name"': not functions.
            frames = [f for f in frames if not f.lower().startswith(("thread ", "process "))]
            if not frames:
                continue
            totals[kind] += count
            names = [_frame_name(f) for f in frames]
            for name in dict.fromkeys(names):  # once per stack, however deep the recursion
                inclusive.setdefault(kind, Counter())[name] += count
            own.setdefault(kind, Counter())[names[-1]] += count
    out: dict[str, Any] = {"samples": dict(totals), "processes": {}}
    for kind, total in totals.items():
        if total == 0:
            continue
        out["processes"][kind] = {
            "samples": total,
            "inclusive": [(name, n / total) for name, n in inclusive[kind].most_common(top)],
            "self": [(name, n / total) for name, n in own[kind].most_common(top)],
        }
    return out


def profile_server(server: Server, target: Target, queries: Sequence[Query], *, duration: float,
                   out_dir: Path, scale: str, clients: int = 16) -> dict[str, Any]:
    """Run ``clients`` clients for ``duration`` s while py-spy records ``server``'s tree."""
    beside = Path(sys.executable).parent / "py-spy"  # a venv's scripts need not be on PATH
    spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if spy is None:
        return {"error": "py-spy is not installed (pip install py-spy)"}
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / f"mckg-oxigraph-{scale}.txt"
    command = [spy, "record", "--pid", str(server.process.pid), "--subprocesses", "--format", "raw",
               "--rate", "200", "--duration", str(int(duration) + 2), "--output", str(raw),
               "--nonblocking"]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
    load = threading.Thread(target=throughput, args=(target, queries, clients),
                            kwargs={"duration": duration, "timeout": target.policy.timeout},
                            daemon=True)
    load.start()
    load.join(duration + target.policy.timeout + 30)
    try:
        _, errors = recorder.communicate(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        recorder.kill()
        _, errors = recorder.communicate(timeout=10)
    if recorder.returncode != 0 or not raw.exists():
        return {"error": f"py-spy failed ({recorder.returncode}): {errors.strip()[-300:]}"}
    summary = summarize(raw)
    summary["file"] = str(raw)
    summary["clients"] = clients
    return summary
