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
