"""Every row of the facts inventory maps to IRIs that exist in the built graph."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from rdflib import URIRef

from mckg.rdf.namespaces import PREFIXES

ROOT = Path(__file__).resolve().parents[1]
ROW_ID = re.compile(r"^\| (F\d-\d\d) \|", re.M)


def inventory_ids() -> list[str]:
    return ROW_ID.findall((ROOT / "docs" / "facts-inventory.md").read_text(encoding="utf-8"))


def coverage_rows() -> list[dict[str, str]]:
    rows = []
    for path in sorted((ROOT / "docs" / "coverage").glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                row["file"] = path.name
                rows.append(row)
    return rows


def expand(name: str) -> URIRef:
    if name.startswith("<") and name.endswith(">"):
        return URIRef(name[1:-1])
    prefix, _, local = name.partition(":")
    if prefix not in PREFIXES:
        raise AssertionError(f"unknown prefix in coverage table: {name}")
    return URIRef(PREFIXES[prefix] + local)


def test_inventory_has_315_rows_with_15_conflicts():
    ids = inventory_ids()
    assert len(ids) == 315
    assert len(set(ids)) == 315
    text = (ROOT / "docs" / "facts-inventory.md").read_text(encoding="utf-8")
    assert len(re.findall(r"^\| F\d-\d\d \| \*\*CONFLICT", text, re.M)) == 15


def test_every_inventory_row_is_covered_exactly_once():
    covered = [row["id"] for row in coverage_rows()]
    duplicates = sorted({i for i in covered if covered.count(i) > 1})
    assert duplicates == []
    assert sorted(set(inventory_ids()) - set(covered)) == []
    assert sorted(set(covered) - set(inventory_ids())) == []


def test_every_row_names_at_least_one_iri():
    empty = [row["id"] for row in coverage_rows() if not (row.get("iris") or "").split()]
    assert empty == []


@pytest.fixture(scope="module")
def subjects(kg):
    return set(kg.union(["ontology", "vocabularies", "data", "reference", "esco-sample"]).subjects())


def test_every_listed_iri_exists(subjects):
    missing = [f"{row['id']}: {name}" for row in coverage_rows()
               for name in (row.get("iris") or "").split() if expand(name) not in subjects]
    assert missing == []
