"""``mckg load --lang``: an ESCO release into the ESCO graph with only the chosen languages
(issue 9), and the ESCO-shaped generator the benchmark loads.

Everything runs the real command line in a subprocess on an Oxigraph store on disk, and reads
the store back through ``mckg query``.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmarks package lives beside src/, not in it
    sys.path.insert(0, str(ROOT))

from benchmarks import esco  # noqa: E402

CLI = [sys.executable, "-c", "from mckg.cli import main; main()"]
ESCO_GRAPH = "http://data.europa.eu/esco"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, check=False)


def languages_in(store: str) -> dict[str, int]:
    """Statements per literal language in the ESCO graph ("" for untagged literals)."""
    query = (f"SELECT ?lang (COUNT(*) AS ?n) WHERE {{ GRAPH <{ESCO_GRAPH}> {{ ?s ?p ?o }} "
             "FILTER(isLiteral(?o)) BIND(LANG(?o) AS ?lang) } GROUP BY ?lang")
    done = run("query", query, "--store", store, "--format", "tsv")
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.strip().splitlines()[1:]]
    return {lang.strip('"'): int(n.split("^^")[0].strip('"')) for lang, n in rows}


@pytest.fixture(scope="module")
def esco_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("esco") / "esco-small.nt.gz"
    esco.write(path, 20_000)
    return path


def test_generator_is_esco_shaped_and_deterministic(esco_file: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.nt.gz"
    count = esco.write(again, 20_000)
    assert again.read_bytes() == esco_file.read_bytes()
    assert 20_000 <= count < 22_000
    text = gzip.decompress(esco_file.read_bytes()).decode("utf-8")
    for lang in esco.LANGUAGES:  # every label in the 28 languages of ESCO
        assert f'"@{lang} .' in text
    assert "<http://data.europa.eu/esco/model#Skill>" in text
    assert "<http://data.europa.eu/esco/model#relatedEssentialSkill>" in text
    assert "<http://data.europa.eu/esco/concept-scheme/digcomp>" in text


def test_load_keeps_the_chosen_languages(esco_file: Path, tmp_path: Path) -> None:
    full, chosen = f"oxigraph:{tmp_path / 'full'}", f"oxigraph:{tmp_path / 'chosen'}"
    assert run("load", str(esco_file), "--store", full, "--graph", ESCO_GRAPH).returncode == 0
    done = run("load", str(esco_file), "--store", chosen, "--graph", ESCO_GRAPH, "--lang", "en, ES")
    assert done.returncode == 0, done.stderr
    everything, kept = languages_in(full), languages_in(chosen)
    assert len(everything) == 29  # 28 languages and the untagged notations
    assert set(kept) == {"en", "es", ""}
    for lang in kept:  # what is kept is kept whole
        assert kept[lang] == everything[lang]
    dropped = sum(n for lang, n in everything.items() if lang not in kept)
    assert f"left out {dropped:,} statements" in done.stdout
    loaded = int(done.stdout.split("loaded ")[1].split(" triples")[0].replace(",", ""))
    statements = gzip.decompress(esco_file.read_bytes()).count(b"\n")
    assert loaded == statements - dropped  # nothing else is left out


@pytest.mark.parametrize("value", ["", " , ", "en,1x", "english-language-name"])
def test_bad_language_lists_are_refused_and_nothing_loads(esco_file: Path, tmp_path: Path,
                                                          value: str) -> None:
    store = tmp_path / "store"
    done = run("load", str(esco_file), "--store", f"oxigraph:{store}", "--lang", value)
    assert done.returncode == 2
    assert "--lang" in done.stderr and "Traceback" not in done.stderr
    assert not store.exists()  # refused before the store was opened


# ---- the bundled ESCO sample gives way to a real release ----------------------------------------

RELEASE = ROOT / "tests" / "data" / "linking" / "esco-release-excerpt.ttl"
SAMPLE_GRAPH = "https://w3id.org/mckg/graph/esco-sample"
SKILL = "http://data.europa.eu/esco/skill/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
#: A statement only the sample makes ("manage frustration"), and one the release makes too.
SAMPLE_ONLY = f"<{SKILL}1d1fedcb-4995-44ac-90f5-f31a157ce512> <{SKOS}prefLabel> \"manage frustration\"@en"
SHARED = (f"<{SKILL}5fd5c985-eaaa-47aa-8314-62359c54505a> <{SKOS}prefLabel> "
          "\"develop digital content\"@en")


def value(store: str, query: str) -> str:
    """The single value a SELECT answers (as TSV shows it) or ``true``/``false`` for an ASK."""
    done = run("query", query, "--store", store, "--format", "tsv")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    return lines[-1].split("^^")[0].strip('"') if lines[0].startswith("?") else lines[0]


def sample_triples(store: str) -> int:
    return int(value(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{SAMPLE_GRAPH}> {{ ?s ?p ?o }} }}"))


def test_a_real_esco_release_leaves_the_sample_out_and_it_stays_out(tmp_path: Path) -> None:
    store = f"oxigraph:{tmp_path / 'store'}"
    first = run("stats", "--store", store)
    assert first.returncode == 0, first.stderr
    held = sample_triples(store)
    assert held > 2_000 and "ESCO: The bundled ESCO sample" in first.stdout

    done = run("load", str(RELEASE), "--store", store, "--graph", ESCO_GRAPH)
    assert done.returncode == 0, done.stderr
    assert (f"left out the bundled ESCO sample <{SAMPLE_GRAPH}> ({held:,} triples): "
            f"<{ESCO_GRAPH}> now holds a real ESCO release") in done.stdout
    assert sample_triples(store) == 0
    assert value(store, f"ASK {{ {SAMPLE_ONLY} }}") == "false"  # out of the merged default graph
    assert value(store, f"ASK {{ {SHARED} }}") == "true"  # the release states it too
    own = f'GRAPH <{ESCO_GRAPH}> {{ ?s <{SKOS}prefLabel> "fixture label two"@es }}'
    assert value(store, f"ASK {{ {own} }}") == "true"  # the release's own statements are in

    again = run("stats", "--store", store)  # the next command: the store matches, no rebuild
    assert again.returncode == 0, again.stderr
    assert "loaded the graph" not in again.stderr and "esco-sample" not in again.stdout
    assert f"ESCO: An ESCO release, loaded with mckg load <{ESCO_GRAPH}>" in again.stdout

    extra = tmp_path / "extra.ttl"  # other sources: a rebuild, which keeps the sample out
    extra.write_text("<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n")
    rebuilt = run("--file", str(extra), "stats", "--store", store)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "loaded the graph" in rebuilt.stderr
    assert sample_triples(store) == 0 and value(store, f"ASK {{ {SAMPLE_ONLY} }}") == "false"
    assert value(store, f"ASK {{ {SHARED} }}") == "true"
    checked = run("store", "check", "--store", store)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"graph <{SAMPLE_GRAPH}> is left out" in checked.stdout

    for query in sorted((ROOT / "queries" / "cross").glob("*.rq")):  # still run, on the release
        answered = run("query", str(query), "--store", store, "--format", "tsv")
        assert answered.returncode == 0, f"{query.name}: {answered.stderr}"
    topics = run("query", str(ROOT / "queries" / "cross" / "cross-topics-esco.rq"), "--store", store,
                 "--format", "tsv").stdout
    (digcomp,) = [row for row in topics.splitlines() if "concept-scheme/digcomp" in row]
    assert digcomp.split("\t")[4].split("^^")[0].strip('"') == "3"  # the release's skills only


def test_keep_esco_sample_keeps_it_beside_the_release(tmp_path: Path) -> None:
    store = f"oxigraph:{tmp_path / 'store'}"
    done = run("load", str(RELEASE), "--store", store, "--graph", ESCO_GRAPH, "--keep-esco-sample")
    assert done.returncode == 0, done.stderr
    assert "kept the bundled ESCO sample" in done.stdout and "left out" not in done.stdout
    stats = run("stats", "--store", store)  # provisions the graph into the store, sample included
    assert stats.returncode == 0, stats.stderr
    assert sample_triples(store) > 2_000 and value(store, f"ASK {{ {SAMPLE_ONLY} }}") == "true"
    assert "ESCO: The bundled ESCO sample" in stats.stdout and "An ESCO release" in stats.stdout


def test_a_release_loaded_before_the_graph_keeps_the_sample_out_of_it(tmp_path: Path) -> None:
    store = f"oxigraph:{tmp_path / 'store'}"
    done = run("load", str(RELEASE), "--store", store, "--graph", ESCO_GRAPH)
    assert done.returncode == 0, done.stderr
    assert "(0 triples, not in the store)" in done.stdout
    stats = run("stats", "--store", store)  # the first provisioning builds without the sample
    assert stats.returncode == 0, stats.stderr
    assert "esco-sample" not in stats.stdout and sample_triples(store) == 0


def test_the_void_description_says_which_esco_is_served() -> None:
    from rdflib import Literal, URIRef
    from rdflib.namespace import DCTERMS

    from mckg.dataset.metadata import void_description

    base = "https://w3id.org/mckg/"
    for counts, present in (({SAMPLE_GRAPH: 2_368}, SAMPLE_GRAPH), ({ESCO_GRAPH: 16}, ESCO_GRAPH)):
        void = void_description(base=base, endpoint="http://127.0.0.1:8000/sparql",
                                counts={f"{base}graph/data": 10, **counts}, triples=10)
        titles = {str(t) for t in void.objects(None, DCTERMS.title)
                  if isinstance(t, Literal) and "ESCO" in t}
        (title,) = titles
        subset = next(void.subjects(DCTERMS.title, Literal(title, lang="en")))
        assert void.value(subset, URIRef("http://www.w3.org/ns/sparql-service-description#name")) \
            == URIRef(present)


def test_the_sample_is_a_layer_of_its_own() -> None:
    from mckg.build.graphs import build
    from mckg.config import Settings

    kg = build(Settings(), reasoning=False)
    sample = {str(s) for s in kg.graph("esco-sample").subjects()}
    assert len(kg.graph("esco-sample")) > 2_000
    assert all(s.startswith("http://data.europa.eu/esco/") for s in sample)
    assert not sample & {str(s) for s in kg.graph("reference").subjects()}


def test_repair_loads_the_release_again_and_leaves_the_sample_out_again(tmp_path: Path) -> None:
    store = f"oxigraph:{tmp_path / 'store'}"
    assert run("stats", "--store", store).returncode == 0
    assert run("load", str(RELEASE), "--store", store, "--graph", ESCO_GRAPH).returncode == 0
    repaired = run("store", "repair", "--store", store)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert sample_triples(store) == 0 and value(store, f"ASK {{ {SAMPLE_ONLY} }}") == "false"
    assert value(store, f"ASK {{ {SHARED} }}") == "true"
    again = run("stats", "--store", store)
    assert again.returncode == 0 and "loaded the graph" not in again.stderr, again.stderr
