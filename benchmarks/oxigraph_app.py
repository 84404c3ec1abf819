"""The floor: raw pyoxigraph behind a minimal Flask app, under waitress.

It does what any endpoint must and nothing more: take ``query`` from GET or a form POST, run
it on an Oxigraph store — **in memory** by default, the fastest configuration of the engine
mckg uses, or on disk with ``--store DIR`` — and write the answer with pyoxigraph's own
serializers: JSON results for SELECT/ASK, Turtle or N-Triples for graphs. No checks, no time
limit, no result limit, no worker processes, no negotiation beyond a substring test on
``Accept``, queries evaluated in waitress's request threads (pyoxigraph releases the GIL while
it evaluates). The difference between this and ``mckg serve`` is therefore exactly the price
of mckg's safety and protocol work.

Not part of the package: benchmarks only. Listens on 127.0.0.1 only::

    python -m benchmarks.oxigraph_app --load a.nt --load b.nt --port 0            # in memory
    python -m benchmarks.oxigraph_app --store DIR --load a.nt --port 0            # on disk
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pyoxigraph as ox
from flask import Flask, Response, request

_SELECT_TYPES = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
_GRAPH_TYPES = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
}


def _pick(accept: str, offers: Mapping[str, object], default: str) -> str:
    """The first offered media type named in ``Accept`` (no q-values: a floor, not a server)."""
    for media_type in offers:
        if media_type in accept:
            return media_type
    return default


def create_app(store: ox.Store) -> Flask:
    """A Flask app answering ``/sparql`` from ``store``."""
    app = Flask(__name__)

    @app.route("/sparql", methods=["GET", "POST"])
    def sparql() -> Response:
        query = request.values.get("query")
        if not query:
            return Response("missing query", 400, content_type="text/plain")
        try:
            answer = store.query(query)
        except SyntaxError as exc:
            return Response(str(exc), 400, content_type="text/plain")
        accept = request.headers.get("Accept", "")
        if isinstance(answer, ox.QueryTriples):
            media_type = _pick(accept, _GRAPH_TYPES, "text/turtle")
            body = answer.serialize(format=_GRAPH_TYPES[media_type])
        else:
            media_type = _pick(accept, _SELECT_TYPES, "application/sparql-results+json")
            body = answer.serialize(format=_SELECT_TYPES[media_type])
        return Response(body or b"", 200, content_type=media_type)

    return app


def main(argv: list[str] | None = None) -> int:
    """Load the files (if any) into the store folder, then serve it until killed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=None,
                        help="Oxigraph store folder (default: a store in memory)")
    parser.add_argument("--load", type=Path, action="append", default=[],
                        help="N-Triples file to bulk-load first (repeatable)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    args = parser.parse_args(argv)

    from waitress.server import create_server

    started = time.perf_counter()
    store = ox.Store(str(args.store)) if args.store is not None else ox.Store()
    for path in args.load:
        store.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES)
    if args.store is not None:
        store.flush()
    print(f"loaded {len(store)} triples in {time.perf_counter() - started:.2f} s",
          file=sys.stderr, flush=True)
    server = create_server(create_app(store), host="127.0.0.1", port=args.port,
                           threads=args.threads, ident="oxigraph-floor")
    port = server.effective_port
    print(f"serving http://127.0.0.1:{port}/", file=sys.stderr, flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
