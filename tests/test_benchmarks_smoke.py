"""The benchmark kit stays usable: the generator is deterministic and the queries parse.

The benchmarks themselves run on demand (``python -m benchmarks.run``), never here; these
checks are fast and start no server.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmarks package lives beside src/, not in it
    sys.path.insert(0, str(ROOT))

from benchmarks import generate  # noqa: E402
from benchmarks.client import load_queries  # noqa: E402
from mckg.query.check import inspect_query  # noqa: E402

QUERY_FILES = sorted((ROOT / "benchmarks" / "queries").glob("*.rq"))


def test_generator_is_deterministic_and_exact(tmp_path: Path) -> None:
    first = list(generate.lines(2_000, seed=7))
    assert first == list(generate.lines(2_000, seed=7))
    assert first != list(generate.lines(2_000, seed=8))
    assert len(first) == 2_000
    assert len(set(first)) == 2_000, "every generated triple is distinct"
    a, b = tmp_path / "a.nt.gz", tmp_path / "b.nt.gz"
    assert generate.write(a, 2_000, seed=7) == generate.write(b, 2_000, seed=7) == 2_000
    assert a.read_bytes() == b.read_bytes(), "gzip output carries no timestamp"


def test_generated_graph_parses_and_has_the_expected_shapes() -> None:
    store = ox.Store()
    store.load("".join(generate.lines(2_000)).encode("utf-8"), ox.RdfFormat.N_TRIPLES)
    assert len(store) == 2_000
    prefixes = {"elm": generate.ELM, "esco": generate.ESCO, "mckg": generate.MCKG,
                "skos": generate.SKOS}
    for pattern in ("?s a esco:Skill ; skos:prefLabel ?l ; esco:skillReuseLevel ?r ; skos:broader ?b",
                    "?s a elm:LearningAchievementSpecification ; elm:EQFLevel ?e ; "
                    "elm:creditPoint/elm:point ?p ; elm:learningOutcome/elm:relatedESCOSkill ?k",
                    "?s a mckg:FundingProgramme ; mckg:budget/mckg:amount ?a",
                    "?s a mckg:MicroCredentialPolicyFinding ; mckg:about ?j ; mckg:wave ?w"):
        assert store.query(f"ASK {{ {pattern} }}", prefixes=prefixes), pattern


def test_sizes_parse() -> None:
    assert generate.parse_size("10k") == 10_000
    assert generate.parse_size("1m") == 1_000_000
    assert generate.parse_size("2500") == 2_500
    with pytest.raises(ValueError):
        list(generate.triples(100))


@pytest.mark.parametrize("path", QUERY_FILES, ids=[p.stem for p in QUERY_FILES])
def test_benchmark_query_parses_in_both_engines(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    info = inspect_query(text)  # what mckg's endpoint checks before running anything
    assert info.form in ("SELECT", "CONSTRUCT")
    ox.Store().query(text)  # Oxigraph parses it too (and answers on an empty store)


def test_query_mix_is_complete() -> None:
    queries = load_queries(ROOT / "benchmarks" / "queries")
    assert len(queries) >= 12
    assert all(q.title != q.name for q in queries), "every query file has a # title: line"
    assert {q.form for q in queries} == {"SELECT", "CONSTRUCT"}
