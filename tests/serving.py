"""Starting real ``mckg serve`` processes for the endpoint, query-page and timeout tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).parent / "data"
EDGE_CASES = DATA / "endpoint" / "edge-cases.trig"
_SERVING = re.compile(r"mckg: serving (http://\S+/)")


@dataclass
class ServerProcess:
    """A ``mckg serve`` child process listening on a free loopback port."""

    url: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    @property
    def sparql(self) -> str:
        """The SPARQL endpoint URL."""
        return self.url + "sparql"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end within 15 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(args: list[str], *, workdir: Path, timeout: float = 180.0) -> ServerProcess:
    """Run ``mckg ARGS serve --port 0 …`` and wait (bounded) until it says where it listens.

    ``--port 0`` lets the server bind a free port itself and log it: no race between
    picking a port and binding it, so parallel test workers never collide.
    """
    env = {**os.environ, "XDG_DATA_HOME": str(workdir / "xdg"), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-c", "from mckg.cli import main; main()", *args]
    process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server = ServerProcess("", process)
    ready = threading.Event()

    def drain() -> None:  # keeps the pipe from filling; ends with the process
        assert process.stderr is not None
        for line in process.stderr:
            server.log.append(line.rstrip("\n"))
            match = _SERVING.search(line)
            if match:
                server.url = match.group(1)
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    ready.wait(timeout)
    if not server.url:
        server.stop()
        raise RuntimeError("mckg serve did not start:\n" + "\n".join(server.log[-40:]))
    return server
