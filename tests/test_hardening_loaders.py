"""The loaders under attack (issue 13, points 6–8), through real ``mckg`` processes.

Every file goes through the three readers a user has — ``mckg load``, ``mckg validate`` and
``mckg serve --file`` — and each must refuse it the same way: exit 2, ``file:line: column C:
message``, no traceback, and nothing fetched (a TCP listener on 127.0.0.1 that answers like a
web server records every connection). Ill-typed literals are kept and reported; oversized ones
refused; a damaged Oxigraph folder is named with the way out, and ``mckg store check`` /
``mckg store repair`` find and mend it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from serving import start_server

from mckg.rdf.files import DataError, read_file
from mckg.store.loading import load_files
from mckg.store.oxigraph import OxigraphStore

CLI = [sys.executable, "-c", "from mckg.cli import main; main()"]
EX = "http://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
LOADED = "https://w3id.org/mckg/graph/loaded"


@dataclass
class Run:
    """A finished ``mckg`` process."""

    code: int
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err


def mckg(*args: str, cwd: Path, timeout: float = 120) -> Run:
    """Run ``mckg ARGS`` to its end (bounded), with its own data folder."""
    env = {**os.environ, "XDG_DATA_HOME": str(cwd / "xdg"), "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    done = subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


#: The three ways a file is read, as command lines (``{file}`` is the file, ``{dir}`` a folder).
READERS = {
    "load": ["load", "{file}", "--store", "oxigraph:{dir}/store"],
    "validate": ["--no-shipped", "--file", "{file}", "validate", "--inference", "none"],
    "serve": ["--no-shipped", "serve", "--port", "0", "--store", "memory", "--file", "{file}"],
}


def read_with(reader: str, path: Path, **kwargs: float) -> Run:
    args = [a.format(file=path, dir=path.parent) for a in READERS[reader]]
    return mckg(*args, cwd=path.parent, **kwargs)


def assert_refused(run: Run, *expected: str) -> None:
    """Exit 2, each expected piece in the message, and no traceback."""
    assert run.code == 2, run.text
    for piece in expected:
        assert piece in run.err, run.text
    assert "Traceback" not in run.text and "Error" in run.err, run.text


# ---- a listener that answers like a web server -------------------------------------------------

@dataclass
class Listener:
    """Records every connection; answers each with a JSON-LD context (as a real host would)."""

    url: str
    hits: list[bytes] = field(default_factory=list)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    found = Listener(f"http://127.0.0.1:{server.getsockname()[1]}")
    stop = threading.Event()
    body = json.dumps({"@context": {"q": EX + "q", "r": EX + "r"}}).encode()

    def serve() -> None:
        deadline = time.monotonic() + 600  # bounded: the longest a test module may take
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    found.hits.append(conn.recv(4096))
                    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/ld+json\r\n"
                                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield found
    stop.set()
    thread.join(timeout=5)
    server.close()


# ---- point 6: JSON-LD never fetches ------------------------------------------------------------

def jsonld_documents(url: str) -> dict[str, object]:
    """Documents naming a remote context at every level rdflib would fetch one."""
    remote = f"{url}/ctx.jsonld"
    return {
        "term-scoped": {"@context": {"p": {"@id": EX + "p", "@context": remote}},
                        "@id": EX + "a", "p": {"@id": EX + "b", "q": 1}},
        "type-scoped": {"@context": {"T": {"@id": EX + "T", "@context": remote}},
                        "@id": EX + "a", "@type": "T", "q": 1},
        "nested-import": {"@context": {"p": {"@id": EX + "p", "@context": {"@import": remote}}},
                          "@id": EX + "a", "p": {"q": 1}},
        "local-and-remote": {"@context": [{"p": EX + "p"}, remote], "@id": EX + "a", "p": 1},
        "import": {"@context": {"@import": remote, "p": EX + "p"}, "@id": EX + "a", "p": 1},
        "after-null": {"@context": {"p": EX + "p"}, "@id": EX + "a",
                       "p": {"@context": [None, remote], "q": 1}},
        "in-graph": {"@graph": [{"@context": remote, "@id": EX + "a", "q": 1}]},
    }


@pytest.mark.parametrize("reader", ["load", "validate"])
@pytest.mark.parametrize("case", ["term-scoped", "type-scoped", "nested-import",
                                  "local-and-remote", "import", "after-null", "in-graph"])
def test_json_ld_contexts_are_never_fetched(tmp_path: Path, listener: Listener, reader: str,
                                            case: str) -> None:
    path = tmp_path / f"{case}.jsonld"
    path.write_text(json.dumps(jsonld_documents(listener.url)[case], indent=1), encoding="utf-8")
    run = read_with(reader, path)
    assert_refused(run, f"{path}:", f"remote JSON-LD context '{listener.url}/ctx.jsonld' is "
                   "not fetched")
    assert listener.hits == []


def test_serve_never_fetches_a_scoped_context(tmp_path: Path, listener: Listener) -> None:
    path = tmp_path / "scoped.jsonld"
    path.write_text(json.dumps(jsonld_documents(listener.url)["type-scoped"]), encoding="utf-8")
    assert_refused(read_with("serve", path), f"{path}:1: remote JSON-LD context")
    assert listener.hits == []


def test_a_relative_context_is_not_read_from_disk(tmp_path: Path) -> None:
    """A relative reference resolves to a file: IRI beside the document: not read either."""
    (tmp_path / "ctx.jsonld").write_text(json.dumps({"@context": {"q": EX + "q"}}))
    path = tmp_path / "relative.jsonld"
    path.write_text(json.dumps({"@context": "ctx.jsonld", "@id": EX + "a", "q": 1}))
    assert_refused(read_with("load", path), "remote JSON-LD context", "ctx.jsonld")


def test_the_project_context_still_resolves_locally(tmp_path: Path, listener: Listener) -> None:
    ours = "https://w3id.org/mckg/context.jsonld"
    spain = {"@id": "https://w3id.org/mckg/id/country/ES",
             "label": {"@value": "Spain", "@language": "en"}}
    named = tmp_path / "named.jsonld"
    named.write_text(json.dumps({"@context": ours, **spain}))
    imported = tmp_path / "imported.jsonld"
    imported.write_text(json.dumps({"@context": {"@import": ours, "x": EX + "x"}, **spain}))
    run = mckg("load", str(named), str(imported), "--store", "memory", cwd=tmp_path)
    assert run.code == 0, run.text
    assert "loaded 2 triples" in run.out
    assert listener.hits == []


# ---- point 7: XML bombs ---------------------------------------------------------------------------

RDF_OPEN = (f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="{EX}">'
            f'<rdf:Description rdf:about="{EX}a">')
RDF_CLOSE = "</rdf:Description></rdf:RDF>\n"


def billion_laughs(padding: int) -> str:
    """Ten levels of ten entities each (10^10 'lol's), after a comment of ``padding`` bytes."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return ('<?xml version="1.0"?>\n<!-- ' + "x" * padding + ' -->\n'
            '<!DOCTYPE rdf:RDF [\n' + "\n".join(entities) + "\n]>\n"
            + RDF_OPEN + "<ex:b>&lol9;</ex:b>" + RDF_CLOSE)


@pytest.mark.parametrize("reader", ["load", "validate", "serve"])
def test_billion_laughs_past_64_kib_is_refused_at_once(tmp_path: Path, reader: str) -> None:
    path = tmp_path / "laughs.rdf"
    path.write_text(billion_laughs(70_000), encoding="utf-8")
    run = read_with(reader, path, timeout=60)
    assert_refused(run, f"{path}:3: column", "DOCTYPE is refused")
    assert run.seconds < 30


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be"])
def test_external_entities_are_never_opened(tmp_path: Path, listener: Listener,
                                            encoding: str) -> None:
    """An external general entity and a parameter entity to the listener, in UTF-8 and in
    UTF-16 (which no byte-prefix scan for ``<!DOCTYPE`` would see)."""
    header = f'<?xml version="1.0" encoding="{encoding.upper().replace("-BE", "BE")}"?>\n'
    doc = (header + f'<!DOCTYPE rdf:RDF [<!ENTITY % p SYSTEM "{listener.url}/p.dtd"> %p;\n'
           f'<!ENTITY ext SYSTEM "{listener.url}/secret">]>\n'
           + RDF_OPEN + "<ex:b>&ext;</ex:b>" + RDF_CLOSE)
    path = tmp_path / "external.rdf"
    path.write_bytes(doc.encode(encoding))
    assert_refused(read_with("load", path), f"{path}:2: column", "DOCTYPE is refused")
    assert listener.hits == []


def test_utf16_rdf_xml_without_a_dtd_loads(tmp_path: Path) -> None:
    path = tmp_path / "plain.rdf"
    path.write_bytes(('<?xml version="1.0" encoding="UTF-16"?>\n' + RDF_OPEN
                      + "<ex:b>Zürich</ex:b>" + RDF_CLOSE).encode("utf-16"))
    run = read_with("load", path)
    assert run.code == 0 and "loaded 1 triples" in run.out, run.text
    with OxigraphStore(tmp_path / "store", read_only=True) as store:
        quads = list(store.native.quads_for_pattern(None, None, None, ox.NamedNode(LOADED)))
    assert [q.object.value for q in quads] == ["Zürich"]


# ---- point 8: every syntax error with its position ------------------------------------------------

def big_ntriples_with_an_error_on_line_150001() -> str:
    good = "".join(f'<{EX}s{i}> <{EX}p> "{i}" .\n' for i in range(150_000))
    return good + f"<{EX}a> <{EX}b> .\n"


SYNTAX_ERRORS = {
    # name: (file content, where the error must be reported, a piece of the message)
    "bad.nt": (f"<{EX}a> <{EX}b> <{EX}c> .\n<{EX}a> <{EX}b> .\n".encode(),
               ":2: column 47:", "object"),
    "bad.nq": (f"<{EX}a> <{EX}b> <{EX}c> <{EX}g> .\n<{EX}a> <{EX}b> <{EX}c> <{EX}g>\n".encode(),
               ":2: column 92:", "dot"),
    "utf8.nt": (f'<{EX}a> <{EX}b> "caf'.encode() + b'\xff" .\n', ":1: column 51:", "UTF-8"),
    "line150001.nt": (big_ntriples_with_an_error_on_line_150001().encode(),
                      ":150001: column 47:", "object"),
    "five-lines.trig": (f"@prefix ex: <{EX}> .\nex:g {{\n  ex:a ex:b ex:c .\n  ex:a ex:b ex:d .\n"
                        '  ex:a ex:b "never closed }\n'.encode(), ":5: column 13:",
                        "a string opened here is never closed"),
    "unclosed-graph.trig": (f"@prefix ex: <{EX}> .\nex:g {{\n  ex:a ex:b ex:c .\n"
                            "  ex:a ex:b ex:d .\n  ex:a ex:b ex:e .\n".encode(),
                            ":5: column 19:", "unexpected end of file"),
}


@pytest.mark.parametrize("reader", ["load", "validate", "serve"])
@pytest.mark.parametrize("name", list(SYNTAX_ERRORS))
def test_syntax_errors_have_their_line_and_column(tmp_path: Path, reader: str, name: str) -> None:
    content, where, message = SYNTAX_ERRORS[name]
    path = tmp_path / name
    path.write_bytes(content)
    assert_refused(read_with(reader, path), f"{path}{where}", message)


def test_serve_without_reasoning_reads_files_the_same_way(tmp_path: Path) -> None:
    """Without reasoning the server streams --file straight into the store: same message."""
    content, where, message = SYNTAX_ERRORS["five-lines.trig"]
    path = tmp_path / "five-lines.trig"
    path.write_bytes(content)
    run = mckg("--no-shipped", "serve", "--port", "0", "--store", f"oxigraph:{tmp_path / 's'}",
               "--no-reasoning", "--file", str(path), cwd=tmp_path)
    assert_refused(run, f"{path}{where}", message)


def test_triple_terms_are_loaded_but_not_built(tmp_path: Path) -> None:
    """RDF 1.2 triple terms: Oxigraph stores them; rdflib, which builds the graph for validate
    and serve, cannot hold them: a clear error with the line, not a ValueError."""
    path = tmp_path / "reified.ttl"
    path.write_text(f"@prefix ex: <{EX}> .\nex:a ex:b ex:c .\nex:a ex:said <<( ex:c ex:d ex:e )>> .\n",
                    encoding="utf-8")
    assert_refused(read_with("validate", path), f"{path}:3: a triple term")
    run = read_with("load", path)
    assert run.code == 0 and "loaded 2 triples" in run.out, run.text


# ---- point 8: ill-typed literals: kept, counted, reported ------------------------------------------

ILL_TYPED = (f"@prefix xsd: <{XSD}> .\n@prefix ex: <{EX}> .\n"
             'ex:a ex:count "abc"^^xsd:integer .\n'
             'ex:a ex:count "12"^^xsd:integer ; ex:on "2024-02-30"^^xsd:date .\n'
             'ex:a ex:ok "true"^^xsd:boolean , "yes"^^xsd:boolean .\n')


def test_validate_reports_ill_typed_literals_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "ill.ttl"
    path.write_text(ILL_TYPED, encoding="utf-8")
    run = read_with("validate", path)
    assert run.code == 1, run.text
    assert "3 ill-typed literal(s)" in run.out
    assert f'{path}:3: "abc" is not a valid xsd:integer' in run.out
    assert f'{path}:4: "2024-02-30" is not a valid xsd:date' in run.out
    assert f'{path}:5: "yes" is not a valid xsd:boolean' in run.out
    assert "Traceback" not in run.text and "Failed to convert" not in run.text
    assert "Conforms (inference: none)" in run.out  # SHACL itself finds nothing wrong


def test_validate_reports_ill_typed_json_ld_by_file(tmp_path: Path) -> None:
    path = tmp_path / "ill.jsonld"
    path.write_text(json.dumps({"@id": EX + "a", EX + "n": {"@value": "x1",
                                                           "@type": XSD + "decimal"}}))
    run = read_with("validate", path)
    assert run.code == 1 and f'{path}: "x1" is not a valid xsd:decimal' in run.out, run.text


def test_load_keeps_ill_typed_literals_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "ill.ttl"
    path.write_text(ILL_TYPED + "".join(f'ex:b{i} ex:n "n{i}"^^xsd:int .\n' for i in range(12)),
                    encoding="utf-8")
    run = read_with("load", path)
    assert run.code == 0, run.text
    assert "loaded 17 triples" in run.out
    assert "warning: 15 ill-typed literal(s), kept as they are" in run.err
    assert f'{path}:3: "abc" is not a valid xsd:integer' in run.err
    assert "… and 5 more" in run.err and "Traceback" not in run.text
    with OxigraphStore(tmp_path / "store", read_only=True) as store:
        values = {q.object.value for q in store.native.quads_for_pattern(
            None, ox.NamedNode(EX + "count"), None, ox.NamedNode(LOADED))}
        marker = store.read_marker()
    assert values == {"abc", "12"}  # kept as they are
    assert marker is not None and marker["loads"][0]["ill_typed"] == 15


def test_serve_reports_ill_typed_literals_and_serves_them(tmp_path: Path) -> None:
    path = tmp_path / "ill.ttl"
    path.write_text(ILL_TYPED, encoding="utf-8")
    server = start_server(["--no-shipped", "serve", "--port", "0", "--store", "memory",
                           "--no-reasoning", "--file", str(path)], workdir=tmp_path)
    try:
        log = "\n".join(server.log)
        assert log.count("3 ill-typed literal(s)") == 1 and f'{path}:3: "abc"' in log, log
        answer = requests.get(server.sparql, params={
            "query": f"SELECT ?v WHERE {{ <{EX}a> <{EX}count> ?v }}"},
            headers={"Accept": "application/sparql-results+json"}, timeout=30)
        values = {b["v"]["value"] for b in answer.json()["results"]["bindings"]}
        assert values == {"abc", "12"}
    finally:
        server.stop()


# ---- point 8: literal sizes ---------------------------------------------------------------------

@pytest.mark.parametrize("reader", ["load", "validate"])
def test_a_64_mib_literal_is_a_clear_error(tmp_path: Path, reader: str) -> None:
    path = tmp_path / "huge.nt"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"<{EX}a> <{EX}b> <{EX}c> .\n<{EX}a> <{EX}b> \"")
        for _ in range(64):
            fh.write("x" * (1 << 20))
        fh.write('" .\n')
    run = read_with(reader, path, timeout=120)
    assert_refused(run, f"{path}:2: ", "the limit is 1,048,576 bytes per literal")
    assert "MemoryError" not in run.text


@pytest.mark.parametrize("reader", ["load", "validate", "serve"])
@pytest.mark.parametrize("name", ["long.nt", "long.ttl", "long.jsonld", "long.rdf"])
def test_a_literal_over_the_limit_is_refused(tmp_path: Path, reader: str, name: str) -> None:
    text = "é" * (600 * 1024)  # 1.2 MB in UTF-8, 600 K characters
    path = tmp_path / name
    if name.endswith(".jsonld"):
        path.write_text(json.dumps({"@id": EX + "a", EX + "b": text}), encoding="utf-8")
    elif name.endswith(".rdf"):
        path.write_text('<?xml version="1.0"?>\n' + RDF_OPEN + f"<ex:b>{text}</ex:b>" + RDF_CLOSE,
                        encoding="utf-8")
    else:
        path.write_text(f'<{EX}a> <{EX}b> <{EX}c> .\n\n<{EX}a> <{EX}b> "{text}" .\n',
                        encoding="utf-8")
    run = read_with(reader, path)
    line = ":3: " if name.endswith((".nt", ".ttl")) else ": "
    assert_refused(run, f"{path}{line}a literal of 1,228,800 bytes; the limit is 1,048,576")


def test_reading_a_literal_at_the_limit_is_linear(tmp_path: Path) -> None:
    """rdflib's N-Triples parser took 9 s for a 1 MiB literal and 118 s for 4 MiB (or refused
    the line); every reader now takes milliseconds."""
    for name, quote in (("at-limit.nt", '"'), ("at-limit.ttl", '"""')):
        path = tmp_path / name
        path.write_text(f'<{EX}a> <{EX}b> {quote}{"x" * (1 << 20)}{quote} .\n', encoding="utf-8")
        started = time.monotonic()
        graph = read_file(path)
        assert time.monotonic() - started < 2.0
        assert len(next(iter(graph.objects()))) == 1 << 20


def test_long_xml_literals_built_from_pieces_are_bounded() -> None:
    """A literal of a hundred thousand character references, and an XML literal of a hundred
    thousand elements (rdflib re-reads it after each), are refused within seconds."""
    from mckg.rdf.files import parse_bytes
    from mckg.rdf.formats import rdf_format

    for body in ("<ex:b>" + "x&amp;" * 600_000 + "</ex:b>",
                 '<ex:b rdf:parseType="Literal">' + "<i>x</i>" * 100_000 + "</ex:b>"):
        started = time.monotonic()
        with pytest.raises(DataError, match="literal"):
            parse_bytes(('<?xml version="1.0"?>' + RDF_OPEN + body + RDF_CLOSE).encode(),
                        rdf_format("xml"), source="pieces.rdf")
        assert time.monotonic() - started < 10


# ---- point 8: a damaged Oxigraph folder -----------------------------------------------------------

def damage(folder: Path, how: str) -> None:
    """Break the store in ``folder`` the way a crash or a disk might."""
    tables = sorted(folder.glob("*.sst"))
    if how == "truncated CURRENT":
        (folder / "CURRENT").write_bytes(b"MANIFEST-0")
    elif how == "truncated table":
        with open(tables[0], "r+b") as fh:
            fh.truncate(100)
    else:
        tables[0].unlink()


@pytest.fixture
def loaded_store(tmp_path: Path) -> Path:
    """An Oxigraph store holding 500 triples added by ``mckg load`` (recorded in its marker)."""
    data = tmp_path / "mine.nt"
    data.write_text("".join(f'<{EX}s{i}> <{EX}p> "v{i}" .\n' for i in range(500)))
    with OxigraphStore(tmp_path / "store") as store:
        load_files(store, [data], graph=EX + "mine")
    return tmp_path / "store"


@pytest.mark.parametrize("how", ["truncated CURRENT", "truncated table", "missing table"])
def test_a_damaged_store_is_named_with_the_way_out(loaded_store: Path, how: str) -> None:
    damage(loaded_store, how)
    url = f"oxigraph:{loaded_store}"
    for args in (["--no-shipped", "query", "ASK { ?s ?p ?o }", "--store", url],
                 ["--no-shipped", "serve", "--port", "0", "--store", url],
                 ["load", str(loaded_store.parent / "mine.nt"), "--store", url]):
        run = mckg(*args, cwd=loaded_store.parent)
        assert_refused(run, f"the Oxigraph store at {loaded_store} is damaged",
                       f"mckg store repair --store {url}", "delete the folder")
    check = mckg("--no-shipped", "store", "check", "--store", url, cwd=loaded_store.parent)
    assert check.code == 1 and f"{url}: damaged" in check.out, check.text
    assert "Traceback" not in check.text


def test_store_check_reads_everything_and_compares_the_marker(loaded_store: Path) -> None:
    url = f"oxigraph:{loaded_store}"
    run = mckg("--no-shipped", "store", "check", "--store", url, cwd=loaded_store.parent)
    assert run.code == 0, run.text
    assert "read 1,000 statements" in run.out  # each triple and its copy in the merge
    assert f"<{EX}mine> 500" in run.out and f"{url}: sound" in run.out
    with OxigraphStore(loaded_store) as store:  # a graph the marker records, emptied behind its back
        store.update(f"DROP GRAPH <{EX}mine>")
    run = mckg("--no-shipped", "store", "check", "--store", url, cwd=loaded_store.parent)
    assert run.code == 1 and f"graph <{EX}mine>, filled by mckg load" in run.out, run.text


def test_store_check_finds_damage_inside_a_table(loaded_store: Path) -> None:
    """Bytes overwritten inside the data blocks of the tables (sizes unchanged): opening works,
    reading every statement finds the bad checksum. (Queries are not run on it here: an
    aggregate over such a block makes Oxigraph 0.5 allocate without bound.)"""
    for table in loaded_store.glob("*.sst"):
        size = table.stat().st_size
        if size > 4096:
            with open(table, "r+b") as fh:
                fh.seek(size // 3)
                fh.write(b"\xff" * 64)
    url = f"oxigraph:{loaded_store}"
    run = mckg("--no-shipped", "store", "check", "--store", url, cwd=loaded_store.parent)
    assert run.code == 1 and "checksum" in run.out and f"{url}: damaged" in run.out, run.text
    run = mckg("--no-shipped", "store", "repair", "--store", url, cwd=loaded_store.parent)
    assert run.code == 0 and "loaded again 500 triples" in run.out, run.text


def test_store_repair_moves_the_folder_aside_and_loads_again(loaded_store: Path) -> None:
    damage(loaded_store, "truncated table")
    url = f"oxigraph:{loaded_store}"
    run = mckg("--no-shipped", "store", "repair", "--store", url, cwd=loaded_store.parent)
    assert run.code == 0, run.text
    (aside,) = loaded_store.parent.glob("store.damaged-*")
    assert f"moved the damaged store to {aside}" in run.out
    assert "loaded again 500 triples" in run.out
    check = mckg("--no-shipped", "store", "check", "--store", url, cwd=loaded_store.parent)
    assert check.code == 0 and f"<{EX}mine> 500" in check.out and "sound" in check.out, check.text
    again = mckg("--no-shipped", "store", "repair", "--store", url, cwd=loaded_store.parent)
    assert again.code == 0 and "nothing to repair" in again.out, again.text
