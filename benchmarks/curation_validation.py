"""Does a one-triple write cost the same on a large graph? Focus-node validation, measured.

A curated write is validated on its focus nodes (:mod:`mckg.curation.transaction`), not on the
whole graph. This grows the shipped graph with copies of its own findings (each a complete,
conforming ``mckg:Finding`` under a new IRI, so the shapes target every copy), then times, at
each size, the phases of one write that changes one triple of one finding, against
validating the whole graph with the same shapes (what ``mckg validate`` does).

    python -m benchmarks.curation_validation --copies 0,2000,8000 --out var/curation-validation.md

In process, no network; every loop is bounded by the sizes given.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pyoxigraph as ox

from mckg.build.cache import built_graph
from mckg.build.graphs import VALIDATED_LAYERS
from mckg.build.validation import load_shapes, validate_graph
from mckg.config import Settings
from mckg.curation.transaction import WriteRequest, _graph_of, prepare
from mckg.curation.worker import _ontology
from mckg.store.memory import MemoryStore

BASE = "https://w3id.org/mckg/"
FINDING = ox.NamedNode(f"{BASE}def#NarrativeFinding")
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def grown(copies: int) -> tuple[MemoryStore, str]:
    """The built graph plus ``copies`` copies of its findings (graph ``…/graph/user``), and
    the finding a write will touch (the last copy, or an original)."""
    store = MemoryStore()
    store.load_nquads(built_graph(Settings())[0])
    findings = [q.subject for q in store.native.quads_for_pattern(None, RDF_TYPE, FINDING,
                                                                 ox.NamedNode(f"{BASE}graph/data"))]
    user = ox.NamedNode(f"{BASE}graph/user")
    quads = []
    for i in range(copies):
        original = findings[i % len(findings)]
        copy = ox.NamedNode(f"{original.value}-copy{i}")
        quads += [ox.Quad(copy, q.predicate, q.object, user)
                  for q in store.native.quads_for_pattern(original, None, None, None)
                  if not isinstance(q.graph_name, ox.DefaultGraph)
                  and not isinstance(q.object, ox.BlankNode)]
    store.extend(quads)
    touched = f"{findings[(copies - 1) % len(findings)].value}-copy{copies - 1}" if copies \
        else findings[0].value
    return store, touched


def measure(copies: int) -> dict[str, float]:
    """Seconds of each phase of a one-triple write, and of a full validation."""
    store, touched = grown(copies)
    shapes, ontology = load_shapes(BASE), _ontology(store.native, BASE)
    text = (f"INSERT DATA {{ GRAPH <{BASE}graph/curated> {{ <{touched}> "
            f"<http://www.w3.org/2004/02/skos/core#note> \"checked\"@en }} }}")
    started = time.perf_counter()
    prepared = prepare(store.native, WriteRequest(kind="update", text=text), base=BASE,
                       reasoning=False, shapes=shapes, ontology=ontology)
    total = time.perf_counter() - started
    assert prepared.report.conforms, prepared.report.text()
    data = _graph_of(store.native, (f"{BASE}graph/{layer}" for layer in VALIDATED_LAYERS))
    started = time.perf_counter()
    validate_graph(data, ontology, shapes=shapes)
    full = time.perf_counter() - started
    return {"quads": float(len(store.native)), "focus": float(prepared.focus),
            **{k: v for k, v in prepared.seconds.items()}, "write": total, "full": full}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", default="0,2000,8000",
                        help="comma-separated numbers of finding copies to add")
    parser.add_argument("--out", type=Path, default=None, help="write the table here too")
    args = parser.parse_args()
    lines = ["| quads (with merge copies) | focus nodes | snapshot s | apply + diff s | "
             "validate focus s | restore s | whole write s | validate whole graph s |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for copies in (int(c) for c in args.copies.split(",")):
        m = measure(copies)
        lines.append(f"| {int(m['quads']):,} | {int(m['focus'])} | {m['snapshot']:.3f} | "
                     f"{m['apply']:.3f} | {m['validation']:.3f} | {m['restore']:.3f} | "
                     f"{m['write']:.3f} | "
                     f"{m['full']:.2f} |")
        print(lines[-1], flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
