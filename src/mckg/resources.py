"""Where the shipped ontology, shapes, data, queries and reference files are.

In a wheel they live inside the package (``mckg/_resources``); in a source checkout or an
editable install they are the top-level folders of the repository. Looking in both places keeps
one code path for users and developers.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "_resources"
_CHECKOUT = Path(__file__).resolve().parents[2]

KINDS = ("ontology", "shapes", "data", "queries", "reference")


def resource_dir(kind: str) -> Path:
    """Return the folder holding the shipped files of ``kind`` (one of :data:`KINDS`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown resource kind {kind!r}; expected one of {', '.join(KINDS)}")
    for root in (_PACKAGED, _CHECKOUT):
        candidate = root / kind
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the {kind}/ folder is missing from the installation")


def shipped_files(kind: str, pattern: str = "*.ttl") -> list[Path]:
    """Return the shipped files of ``kind`` matching ``pattern``, sorted, skipping ``_*`` files."""
    return sorted(
        p for p in resource_dir(kind).rglob(pattern) if p.is_file() and not p.name.startswith("_")
    )
