"""``mckg load``: streaming files into every store, in one transaction (issue 4).

A load adds every file or nothing. The shared cases run on every store of the ``store``
fixture (memory, Oxigraph on disk, the stand-in SPARQL endpoint, and Virtuoso in CI); the
Oxigraph store's copy-and-swap is tested on its own, down to a ``mckg load`` process killed
with SIGKILL half-way and a server restarted after a load.
"""

from __future__ import annotations

import gzip
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from rdflib import Dataset
from serving import EDGE_CASES, start_server

from mckg.cli import main
from mckg.config import Settings
from mckg.query.check import inspect_query
from mckg.rdf.files import DataError
from mckg.store import Store, StoreError, serialize_result
from mckg.store.loading import load_files
from mckg.store.oxigraph import STAGING_INFIX, OxigraphStore
from mckg.store.provision import provision
from mckg.store.remote import RemoteStore

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmarks package lives beside src/, not in it
    sys.path.insert(0, str(ROOT))

try:  # the benchmarks' realistic graph when the kit is there; plain lines otherwise
    from benchmarks.generate import lines as synthetic_lines
except ImportError:  # pragma: no cover - the benchmarks are not part of the package
    synthetic_lines = None

EX = "http://example.org/"
G1, G2 = EX + "g1", EX + "g2"
LOADED = "https://w3id.org/mckg/graph/loaded"
SRJ = "application/sparql-results+json"
CLI = [sys.executable, "-c", "from mckg.cli import main; main()"]


def lines(n: int, *, start: int = 0, predicate: str = "p") -> str:
    """``n`` distinct N-Triples lines."""
    return "".join(f'<{EX}s{i}> <{EX}{predicate}> "value {i}" .\n' for i in range(start, start + n))


def write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def edge_dataset() -> Dataset:
    dataset = Dataset()
    dataset.parse(EDGE_CASES, format="trig")
    return dataset


def ask(store: Store, query: str) -> bool:
    return bool(store.query(query, inspect_query(query)).boolean)


def select(store: Store, query: str) -> list[dict[str, dict[str, str]]]:
    result = store.query(query, inspect_query(query))
    body = serialize_result(result, SRJ, limit=10**9).body
    return list(json.loads(body)["results"]["bindings"])


def snapshot(store: Store) -> tuple[dict[str, int], int, list[str]]:
    """Triples per graph, the size of the merge, and every quad (blank nodes as ``_``)."""
    quads = sorted(
        " ".join("_" if t["type"] == "bnode" else t["value"] for t in (r["g"], r["s"], r["p"], r["o"]))
        for r in select(store, "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"))
    return store.counts(), store.triple_count(), quads


# ---- every store ------------------------------------------------------------------------------

def test_every_format_lands_in_its_graph(store: Store, tmp_path: Path) -> None:
    files = [
        write(tmp_path / "a.nt", lines(3)),
        write(tmp_path / "b.ttl",
              f"@prefix ex: <{EX}> .\nex:t1 ex:q ex:t2 ; ex:r [ ex:city \"Lisbon\" ] .\n"),
        write(tmp_path / "c.trig", f"@prefix ex: <{EX}> .\nex:g1 {{ ex:shared ex:p \"both\" }}\n"
                                   f"ex:g2 {{ ex:shared ex:p \"both\" . ex:d ex:p ex:e }}\n"
                                   "ex:in ex:default ex:graph .\n"),
        write(tmp_path / "d.nq.gz",
              f"<{EX}x> <{EX}p> \"1\"^^<http://www.w3.org/2001/XMLSchema#integer> <{G2}> .\n"
              f"<{EX}y> <{EX}p> \"y\"@en-GB .\n"),
    ]
    report = load_files(store, files, graph=LOADED, batch=2)
    assert report.triples == 3 + 3 + 4 + 2
    assert report.graphs == {LOADED: 3 + 3 + 1 + 1, G1: 1, G2: 3}
    assert store.counts() == {LOADED: 8, G1: 1, G2: 3}
    assert store.triple_count() == 11  # the merge: the shared triple counts once
    # the default graph is the merge, on every store
    assert ask(store, f"ASK {{ <{EX}s2> <{EX}p> \"value 2\" . <{EX}x> <{EX}p> 1 }}")
    assert select(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ <{EX}shared> ?p ?o }}")[0]["n"]["value"] == "1"
    assert select(store, f"SELECT ?c WHERE {{ <{EX}t1> <{EX}r>/<{EX}city> ?c }}")[0]["c"]["value"] == "Lisbon"


def test_a_malformed_line_half_way_changes_nothing(store: Store, tmp_path: Path) -> None:
    store.load_dataset(edge_dataset())
    store.write_marker({"fingerprint": "before"})
    before = snapshot(store)
    good = write(tmp_path / "good.nt", lines(2_000))
    bad = write(tmp_path / "bad.nt", lines(3_000, start=5_000) + f"<{EX}a> <{EX}b> .\n" + lines(10))
    with pytest.raises(DataError) as caught:
        load_files(store, [good, bad], graph=LOADED, batch=500)  # eight batches staged first
    assert caught.value.source == str(bad) and caught.value.line == 3_001
    assert str(caught.value).startswith(f"{bad}:3001: column ")
    assert snapshot(store) == before
    assert store.read_marker() == {"fingerprint": "before"}
    if isinstance(store, RemoteStore):
        assert store._staging_graphs() == []  # the staging graphs were dropped
    if isinstance(store, OxigraphStore):
        assert not list(tmp_path.glob(f".store{STAGING_INFIX}*"))  # and the staging copy


def test_blank_nodes_are_new_in_each_file(store: Store, tmp_path: Path) -> None:
    one = write(tmp_path / "one.nt", f'_:b <{EX}p> "x" .\n_:b <{EX}q> "y" .\n')
    two = write(tmp_path / "two.nt", f'_:b <{EX}p> "x" .\n')
    load_files(store, [one, two], graph=LOADED)
    rows = select(store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s <{EX}p> ?o }}")
    assert rows[0]["n"]["value"] == "2"
    assert ask(store, f'ASK {{ ?s <{EX}p> "x" ; <{EX}q> "y" }}')  # one file's node stays one node


def test_reserved_graphs_and_bad_names_are_refused(store: Store, tmp_path: Path) -> None:
    store.load_dataset(edge_dataset())
    before = snapshot(store)
    data = write(tmp_path / "a.nt", lines(3))
    data_graph = "https://w3id.org/mckg/graph/data"
    with pytest.raises(StoreError, match="rebuilt by mckg serve"):
        load_files(store, [data], graph=data_graph, reserved={data_graph}.__contains__)
    with pytest.raises(StoreError, match="not a valid graph IRI"):
        load_files(store, [data], graph="not an IRI")
    sneaky = write(tmp_path / "s.nq", lines(3).replace(" .\n", " <urn:x-mckg:graph:union> .\n"))
    with pytest.raises(DataError, match="reserved for mckg"):
        load_files(store, [data, sneaky], graph=LOADED)
    assert snapshot(store) == before


def test_the_load_is_recorded_in_the_marker(store: Store, tmp_path: Path) -> None:
    store.write_marker({"fingerprint": "abc", "graphs": {G1: 1}})
    report = load_files(store, [write(tmp_path / "a.nt", lines(5))], graph=LOADED)
    marker = store.read_marker()
    assert marker is not None and marker["fingerprint"] == "abc" and marker["graphs"] == {G1: 1}
    (entry,) = marker["loads"]
    assert entry["files"] == [str((tmp_path / "a.nt").resolve())]
    assert entry["triples"] == report.triples == 5 and entry["graphs"] == {LOADED: 5}


def test_a_load_superseding_a_graph_drops_it_in_its_own_transaction(store: Store,
                                                                     tmp_path: Path) -> None:
    """What happens to the ESCO sample when a real release is loaded, on every store: the
    superseded graph goes, with its merge copies no other graph holds, or nothing changes."""
    sample, release = EX + "sample", EX + "release"
    shared = f'<{EX}scheme> <{EX}label> "DigComp" .\n'
    store.load_nquads((shared + f'<{EX}only> <{EX}label> "sample" .\n').replace(
        " .\n", f" <{sample}> .\n").encode())
    store.write_marker({"fingerprint": "abc", "graphs": {sample: 2}})
    before = snapshot(store)
    bad = write(tmp_path / "bad.nt", shared + f"<{EX}a> <{EX}b> .\n")
    with pytest.raises(DataError):
        load_files(store, [bad], graph=release, supersedes={release: sample})
    assert snapshot(store) == before and store.read_marker() == {"fingerprint": "abc",
                                                                 "graphs": {sample: 2}}
    other = load_files(store, [write(tmp_path / "other.nt", lines(1, start=9))], graph=LOADED,
                       supersedes={release: sample})
    assert other.left_out == {} and store.counts()[sample] == 2  # only filling ``release`` does
    report = load_files(store, [write(tmp_path / "release.nt", shared + lines(2))],
                        graph=release, supersedes={release: sample})
    assert report.left_out == {sample: release} and report.left_out_triples == {sample: 2}
    assert store.counts() == {release: 3, LOADED: 1}
    assert ask(store, f'ASK {{ <{EX}scheme> <{EX}label> "DigComp" }}')  # the release says it too
    assert not ask(store, f'ASK {{ <{EX}only> ?p ?o }}')  # gone from the merge
    assert store.triple_count() == 3 + 1
    marker = store.read_marker()
    assert marker is not None and marker["graphs"] == {} and marker["left_out"] == {sample: release}
    assert marker["loads"][-1]["left_out"] == {sample: release}


# ---- files --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content", "message"), [
    ("broken.nt.gz", b"not gzip at all", "not a valid gzip file"),
    ("broken.ttl", b"@prefix : <http://x/> .\n:a :b :c .\n:a :b \"open .\n", "broken.ttl:3: column"),
    ("notes.txt", b"hello", "unknown RDF file type"),
])
def test_bad_files_are_data_errors(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    with OxigraphStore(tmp_path / "store") as store, pytest.raises(DataError, match=message):
        load_files(store, [tmp_path / name], graph=LOADED)


def test_a_missing_file_fails_before_anything_is_read(tmp_path: Path) -> None:
    good = write(tmp_path / "good.nt", lines(3))
    with OxigraphStore(tmp_path / "store") as store:
        with pytest.raises(DataError, match="No such file"):
            load_files(store, [good, tmp_path / "absent.nt"], graph=LOADED)
        assert store.counts() == {}


def test_json_ld_and_rdf_xml_go_through_the_safe_parser(tmp_path: Path) -> None:
    doc = {"@context": "http://127.0.0.1:9/remote-context.jsonld", "@id": EX + "a"}
    remote = write(tmp_path / "remote.jsonld", json.dumps(doc))
    xml = write(tmp_path / "a.rdf", '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/'
                f'1999/02/22-rdf-syntax-ns#" xmlns:ex="{EX}"><rdf:Description rdf:about="{EX}a">'
                '<ex:b>c</ex:b></rdf:Description></rdf:RDF>\n')
    with OxigraphStore(tmp_path / "store") as store:
        with pytest.raises(DataError, match="remote JSON-LD context"):
            load_files(store, [remote], graph=LOADED)
        assert load_files(store, [xml], graph=LOADED).triples == 1
        assert ask(store, f'ASK {{ <{EX}a> <{EX}b> "c" }}')


# ---- the Oxigraph store's copy-and-swap -----------------------------------------------------------

def test_oxigraph_swaps_in_a_complete_copy(tmp_path: Path) -> None:
    with OxigraphStore(tmp_path / "store") as store:
        store.load_dataset(edge_dataset())
        load_files(store, [write(tmp_path / "a.nt", lines(1_000))], graph=LOADED, batch=100)
        assert store.counts() == {G1: 16, G2: 3, LOADED: 1_000}
        assert store.triple_count() == 18 + 1_000
        assert not list(tmp_path.glob(f".store{STAGING_INFIX}*"))  # the old copy is gone
        load_files(store, [write(tmp_path / "b.nt", lines(10, start=1_000))], graph=LOADED)
        assert store.counts()[LOADED] == 1_010  # the handle goes on working after a swap
    with OxigraphStore(tmp_path / "store", read_only=True) as reader:
        assert reader.counts() == {G1: 16, G2: 3, LOADED: 1_010}


def test_oxigraph_swap_without_renameat2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where RENAME_EXCHANGE is missing, two renames do; a crash between them is repaired."""
    monkeypatch.setattr("mckg.store.oxigraph.sys.platform", "darwin")
    with OxigraphStore(tmp_path / "store") as store:
        store.load_dataset(edge_dataset())
        load_files(store, [write(tmp_path / "a.nt", lines(10))], graph=LOADED)
        assert store.counts()[LOADED] == 10
    # A crash right after the first rename: the store folder is gone, the new copy is ready.
    ready = tmp_path / f".store{STAGING_INFIX}abc"
    os.rename(tmp_path / "store", ready)
    (tmp_path / f".store{STAGING_INFIX}abc.old").mkdir()  # what was the old store
    with OxigraphStore(tmp_path / "store") as store:
        assert store.counts()[LOADED] == 10
    assert not list(tmp_path.glob(f".store{STAGING_INFIX}*"))


def test_a_load_is_refused_while_a_server_reads_the_store(tmp_path: Path) -> None:
    with OxigraphStore(tmp_path / "store") as store:
        store.load_dataset(edge_dataset())
    data = write(tmp_path / "a.nt", lines(3))
    with OxigraphStore(tmp_path / "store", read_only=True):  # as a serving process holds it
        result = CliRunner().invoke(main, ["load", str(data), "--store", f"oxigraph:{tmp_path / 'store'}"])
    assert result.exit_code == 2 and "in use" in result.output


def test_provisioning_keeps_loaded_graphs_and_their_record(tmp_path: Path) -> None:
    data = tmp_path / "data.trig"
    data.write_bytes(EDGE_CASES.read_bytes())
    settings = Settings(include_shipped=False, reasoning=False, extra_files=(data,),
                        store=f"oxigraph:{tmp_path / 'store'}")
    store, _ = provision(settings, settings.store)
    store.close()
    with OxigraphStore(tmp_path / "store") as writer:
        load_files(writer, [write(tmp_path / "a.nt", lines(7))], graph=LOADED)
    store, report = provision(settings, settings.store)  # the marker still matches
    try:
        assert not report.rebuilt and store.counts()[LOADED] == 7
    finally:
        store.close()
    data.write_text(EDGE_CASES.read_text().replace('"Bob"', '"Robert"'), encoding="utf-8")
    store, report = provision(settings, settings.store)  # a rebuild replaces its own graphs only
    try:
        assert report.rebuilt and store.counts() == {G1: 16, G2: 3, LOADED: 7}
        marker = store.read_marker()
        assert marker is not None and [e["triples"] for e in marker["loads"]] == [7]
    finally:
        store.close()


# ---- the command --------------------------------------------------------------------------------

def test_cli_reports_triples_per_second(tmp_path: Path) -> None:
    data = write(tmp_path / "a.nt.gz", lines(250))
    result = CliRunner().invoke(main, ["load", str(data), "--store", f"oxigraph:{tmp_path / 's'}",
                                       "--batch", "100", "--graph", EX + "mine"])
    assert result.exit_code == 0, result.output
    assert "loaded 250 triples from 1 file(s)" in result.output and "triples/s" in result.output
    assert f"<{EX}mine> 250" in result.output and "mckg load: 100 triples" in result.output
    with OxigraphStore(tmp_path / "s", read_only=True) as store:
        assert store.counts() == {EX + "mine": 250}


def test_cli_malformed_input_exits_2_with_file_and_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.nt", lines(5) + f"<{EX}a> <{EX}b> .\n")
    result = CliRunner().invoke(main, ["load", str(bad), "--store", f"oxigraph:{tmp_path / 's'}"])
    assert result.exit_code == 2
    assert f"{bad}:6: column" in result.output and "Traceback" not in result.output


def _lines_of(stream: object) -> queue.Queue[str]:
    """A queue filled with the lines of ``stream`` by a daemon thread (bounded reads)."""
    found: queue.Queue[str] = queue.Queue()

    def drain() -> None:
        for line in stream:  # type: ignore[attr-defined] - ends with the process
            found.put(line)

    threading.Thread(target=drain, daemon=True).start()
    return found


def test_sigkill_half_way_leaves_the_old_data(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with OxigraphStore(path) as store:
        store.load_dataset(edge_dataset())
        store.write_marker({"fingerprint": "old"})
        before = snapshot(store)
    big = tmp_path / "big.nt"
    big.write_text("".join(synthetic_lines(100_000)) if synthetic_lines else lines(100_000),
                   encoding="utf-8")
    process = subprocess.Popen([*CLI, "load", str(big), "--store", f"oxigraph:{path}",
                                "--batch", "2000"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        progress = _lines_of(process.stderr)
        line = progress.get(timeout=60)  # the first batch is in the staging copy
        assert line.startswith("mckg load: "), line
        assert process.poll() is None, "the load ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == -signal.SIGKILL
    assert list(tmp_path.glob(f".store{STAGING_INFIX}*")), "the unfinished copy is left beside it"
    with OxigraphStore(path, read_only=True) as reader:  # opens, and holds the old data only
        assert snapshot(reader) == before
        assert reader.read_marker() == {"fingerprint": "old"}
    finished = subprocess.run([*CLI, "load", str(big), "--store", f"oxigraph:{path}"],
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert not list(tmp_path.glob(f".store{STAGING_INFIX}*"))  # the next writer swept it
    with OxigraphStore(path, read_only=True) as reader:
        assert reader.counts() == {**before[0], LOADED: 100_000}


def _count(url: str) -> int:
    answer = requests.get(url + "sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},
                          headers={"Accept": SRJ}, timeout=60)
    answer.raise_for_status()
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def test_restart_after_a_load_serves_it_without_rebuilding(tmp_path: Path) -> None:
    """serve → load extra data → serve again → the same count again, never rebuilt."""
    store = f"oxigraph:{tmp_path / 'store'}"
    serve = ["serve", "--port", "0", "--store", store, "--workers", "1"]
    extra = write(tmp_path / "extra.nt", lines(1_234))
    first = start_server(serve, workdir=tmp_path)
    try:
        shipped = _count(first.url)
        assert any("loading the graph into" in line for line in first.log)
        refused = subprocess.run([*CLI, "load", str(extra), "--store", store],
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2 and "in use" in refused.stderr
    finally:
        first.stop()
    loaded = subprocess.run([*CLI, "load", str(extra), "--store", store],
                            capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    counts = []
    for _ in range(2):
        again = start_server(serve, workdir=tmp_path)
        try:
            counts.append(_count(again.url))
        finally:
            again.stop()
        assert any("not rebuilding" in line for line in again.log), again.log
        assert not any("loading the graph into" in line for line in again.log)
    assert counts == [shipped + 1_234] * 2
