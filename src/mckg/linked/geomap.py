"""The map of Europe on the comparison page: countries coloured by one column's grades.

Drawn on the server as inline SVG from a bundled, simplified geometry (``geo/europe.json``,
Natural Earth via ``world-atlas``; see ``geo/README.md``), so the page needs no script, no tile
server and nothing fetched at run time. Each drawn country that is a row of the comparison is a
link to its page, carries a ``<title>`` with its name and answer in words, and is filled by its
grade's class (the colours are in the stylesheet; the legend gives symbol and word as well).
Regions the report treats like countries (Flanders, Catalonia) are drawn as labelled markers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from . import grades
from .compare import Comparison
from .grades import Grade

GEOMETRY = Path(__file__).resolve().parent / "geo" / "europe.json"


@cache
def geometry() -> dict[str, Any]:
    """The bundled geometry (read once)."""
    data: dict[str, Any] = json.loads(GEOMETRY.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Shape:
    """One country on the map; ``grade`` None for countries that are not rows (context)."""

    code: str
    name: str
    path: str
    href: str | None
    grade: Grade | None
    answer: str


@dataclass(frozen=True)
class Marker:
    """A region drawn as a point."""

    code: str
    name: str
    x: float
    y: float
    href: str | None
    grade: Grade
    answer: str


@dataclass
class EuropeMap:
    """Everything the template draws."""

    width: int
    height: int
    column: str
    title: str
    shapes: list[Shape]
    markers: list[Marker]
    counts: list[tuple[Grade, int]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    source: str = ""


def europe_map(table: Comparison, column: str) -> EuropeMap:
    """The map of ``table`` coloured by the column ``column`` (a key of ``table.columns``)."""
    geo = geometry()
    col = table.column(column)
    rows = {r.code: r for r in table.rows}
    shapes, markers, counted = [], [], []

    def answer(code: str) -> tuple[Grade, str]:
        cell = rows[code].cells[column]
        values = "; ".join(dict.fromkeys(f.value.label for f in cell.facts))
        return cell.grade, cell.grade.word + (f": {values}" if values else "")

    for code, shape in geo["countries"].items():
        if code in rows:
            grade, text = answer(code)
            counted.append(grade)
            shapes.append(Shape(code, rows[code].jurisdiction.label, shape["path"],
                                rows[code].href, grade, text))
        else:
            shapes.append(Shape(code, shape["name"], shape["path"], None, None, ""))
    for code, point in geo.get("regions", {}).items():
        if code in rows:
            grade, text = answer(code)
            counted.append(grade)
            markers.append(Marker(code, rows[code].jurisdiction.label, point["x"], point["y"],
                                  rows[code].href, grade, text))
    drawn = set(geo["countries"]) | set(geo.get("regions", {}))
    counts = [(g, counted.count(g)) for g in grades.LEGEND if g in counted]
    for g in (grades.SEVERAL,):
        if g in counted:
            counts.append((g, counted.count(g)))
    return EuropeMap(geo["width"], geo["height"], column, col.title, shapes, markers, counts,
                     sorted(r.jurisdiction.label for c, r in rows.items() if c not in drawn),
                     geo.get("source", ""))
