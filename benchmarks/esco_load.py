"""Measure ``mckg load`` of an ESCO-shaped release and the cross queries at that size.

For ``docs/benchmarks.md`` ("Loading ESCO and the cross queries"). Steps, each in a fresh
Oxigraph store on disk:

1. the ESCO-shaped file (:mod:`benchmarks.esco`; written if missing) is loaded into
   ``http://data.europa.eu/esco`` by the real command line, once with every language and once
   with ``--lang en,es``; wall time and the peak resident memory of the ``mckg load`` process
   (``ru_maxrss`` from ``wait4``) are recorded;
2. the example credentials (``examples/credentials/*.jsonld``) are loaded beside it;
3. each query of ``queries/cross/`` runs through the query service (after one warm-up run;
   the first query also loads the shipped graph into the store), on the endpoint's path and on
   ``mckg query``'s: the median of five runs and the number of rows, after the baseline
   ``ASK { ?s ?p ?o }``.

::

    python -m benchmarks.esco_load --triples 2.1M --work var/benchmarks/esco
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import esco

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from mckg.cli import main; main()"]
ESCO_GRAPH = "http://data.europa.eu/esco"
CREDENTIALS_GRAPH = "http://example.org/credentials"


def run_measured(args: list[str], log: Path) -> tuple[float, float, str]:
    """Run ``mckg ARGS``; return (seconds, peak RSS in MB, its output)."""
    with log.open("w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen([*CLI, *args], stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    if proc.returncode != 0:
        raise RuntimeError(f"mckg {' '.join(args)} failed ({proc.returncode}):\n{text}")
    return seconds, usage.ru_maxrss / 1024, text


def time_queries(store_url: str, runs: int = 5) -> list[dict[str, object]]:
    """Median time and rows of each cross query on the store.

    Two paths: the endpoint's and the pages' (``QueryService.check`` + ``run``, here inline,
    without HTTP or worker processes) and ``mckg query``'s (``query_store``, which also lists
    the store's named graphs before every query). ``ASK { ?s ?p ?o }`` first, as the baseline
    of each path.
    """
    from mckg.config import Settings
    from mckg.query.service import QueryService, query_store
    from mckg.store.provision import provision

    settings = Settings()
    store, _ = provision(settings, store_url)
    # no answer cache: every run is the engine's work, not a cached copy
    service = QueryService.inline(settings.with_(answer_cache=0), store)
    found = []
    baseline = ("(baseline) ASK { ?s ?p ?o }", "ASK { ?s ?p ?o }")
    queries = [baseline, *((p.name, p.read_text(encoding="utf-8"))
                           for p in sorted((ROOT / "queries" / "cross").glob("*.rq")))]
    csv = "text/csv"
    for name, text in queries:
        info = service.check(text)
        service.run(text, info, csv)  # warm-up
        engine, cli, rows = [], [], 0
        for _ in range(runs):
            started = time.perf_counter()
            answer = service.run(text, info, csv)
            engine.append(time.perf_counter() - started)
            started = time.perf_counter()
            query_store(store, settings, text, results=csv)
            cli.append(time.perf_counter() - started)
            rows = max(0, answer.body.decode("utf-8").strip().count("\n"))
        found.append({"query": name, "rows": rows,
                      "service_ms": round(1000 * statistics.median(engine), 1),
                      "mckg_query_ms": round(1000 * statistics.median(cli), 1)})
    store.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", default="2.1M")
    parser.add_argument("--work", type=Path, required=True, help="folder for the file and stores")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"esco-{args.triples.lower()}.nt.gz"
    if not data.exists():
        esco.write(data, esco.parse_count(args.triples))
    results: dict[str, object] = {"file": data.name, "bytes": data.stat().st_size}
    credentials = sorted(str(p) for p in (ROOT / "examples" / "credentials").glob("*.jsonld"))
    for name, extra in (("all languages", []), ("--lang en,es", ["--lang", "en,es"])):
        folder = work / ("store-" + ("all" if not extra else "en-es"))
        if folder.exists():
            raise SystemExit(f"{folder} exists: remove it first (each run needs a new store)")
        seconds, peak, text = run_measured(
            ["load", str(data), "--store", f"oxigraph:{folder}", "--graph", ESCO_GRAPH, *extra],
            work / f"load-{folder.name}.log")
        loaded = text.split("loaded ")[1].split(" triples")[0]
        run_measured(["load", *credentials, "--store", f"oxigraph:{folder}",
                      "--graph", CREDENTIALS_GRAPH], work / f"credentials-{folder.name}.log")
        results[name] = {"seconds": round(seconds, 1), "peak_rss_mb": round(peak),
                         "triples_loaded": loaded, "queries": time_queries(f"oxigraph:{folder}")}
        print(json.dumps({name: results[name]}, indent=1), file=sys.stderr)
    (work / "results.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
