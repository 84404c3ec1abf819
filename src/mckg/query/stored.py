"""The catalogue of SPARQL queries kept as ``.rq`` files in ``queries/``.

Each file starts with comment lines of the form ``# key: value`` (``title``, ``question``,
``answer``, ``source``) that the CLI, the query page and the tests read; the rest is the query.
Queries are loaded by name (the file stem), so no SPARQL string is scattered through the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..resources import resource_dir

_META = re.compile(r"^#\s*([a-z][a-z_-]*)\s*:\s*(.*)$")


@dataclass(frozen=True)
class StoredQuery:
    """A query file: its name, metadata from the header comments, and its text."""

    name: str
    text: str
    meta: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    @property
    def title(self) -> str:
        """The question or title to show for this query."""
        return self.meta.get("question") or self.meta.get("title") or self.name


def parse_query_file(path: Path) -> StoredQuery:
    """Read a ``.rq`` file and its ``# key: value`` header."""
    text = path.read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    last_key: str | None = None
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        match = _META.match(line)
        if match:
            last_key = match.group(1).lower()
            meta[last_key] = match.group(2).strip()
        elif last_key and line.strip("# ").strip():
            meta[last_key] += " " + line.lstrip("#").strip()
    return StoredQuery(name=path.stem, text=text, meta=meta, path=path)


@cache
def catalogue(folder: Path | None = None) -> dict[str, StoredQuery]:
    """Return every stored query by name (sorted), from ``folder`` or the shipped ``queries/``."""
    root = folder or resource_dir("queries")
    return {p.stem: parse_query_file(p) for p in sorted(root.rglob("*.rq"))}


def get(name: str) -> StoredQuery:
    """Return the stored query called ``name``.

    :raise KeyError: there is no such query; the message lists the known names.
    """
    queries = catalogue()
    if name not in queries:
        raise KeyError(f"no stored query {name!r}; known: {', '.join(queries)}")
    return queries[name]


def examples() -> list[StoredQuery]:
    """The competency-question queries, in order: the examples shown to users."""
    return [q for name, q in catalogue().items() if name.startswith("cq")]
