"""The declarative mapping from a form export's columns to mckg's facts (``mapping.toml``).

A small TOML file rather than RML: the work here is matching free answers to controlled values
tolerantly and reporting every miss with its row and column, which RML engines leave to
functions outside the mapping; the fact structure itself is fixed by the model (docs/survey.md,
"Why not RML"). The file says which column holds what, which class of finding each answer
becomes, what it is matched against, and the synonyms people use.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..rdf.namespaces import CANONICAL_BASE
from ..resources import resource_dir
from .errors import Problem, SurveyError

KINDS = ("finding", "link", "budget", "text")
#: What a ``match`` other than ``scheme:<name>`` is matched against (see wave-terms.rq).
THINGS = ("jurisdiction", "organisation", "instrument", "funding", "agency")


def default_mapping() -> Path:
    """The shipped mapping of the MCE partner survey (``data/survey/mapping.toml``)."""
    return resource_dir("data") / "survey" / "mapping.toml"


@dataclass(frozen=True)
class Question:
    """One question of the form: its column and what its answers become."""

    key: str
    kind: str
    column: str
    match: str = ""
    cls: str = ""
    property: str = ""
    multiple: bool = False
    on: str = ""
    attach: str = "all"
    amount_column: str = ""
    currency: str = ""
    synonyms: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping:
    """A whole mapping, with IRIs under the configured base."""

    path: Path
    survey: str
    wave_pattern: str
    creators: tuple[str, ...]
    separator: str
    encoding: str
    timestamp: str
    respondent: str
    jurisdiction: str
    questions: tuple[Question, ...]
    synonyms: dict[str, dict[str, str]]

    def wave_iri(self, wave: str) -> str:
        """The IRI of wave ``wave`` (``w2``)."""
        return self.wave_pattern.replace("{wave}", wave)

    def question(self, key: str) -> Question:
        """The question called ``key``."""
        return next(q for q in self.questions if q.key == key)

    def columns(self) -> list[str]:
        """Every column the export must have, in the mapping's order."""
        out = [self.timestamp, self.respondent, self.jurisdiction]
        for q in self.questions:
            out.append(q.column)
            if q.amount_column:
                out.append(q.amount_column)
        return out


def _rebase(value: str, base: str) -> str:
    return base + value[len(CANONICAL_BASE):] if value.startswith(CANONICAL_BASE) else value


def load_mapping(path: Path | None = None, *, base: str = CANONICAL_BASE) -> Mapping:
    """Read and check a mapping file.

    :raise SurveyError: the file is missing, not TOML, or says something this code cannot do
        (each problem names the key).
    """
    path = path or default_mapping()
    name = str(path)
    try:
        doc: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SurveyError([Problem(name, f"cannot read the mapping: {exc.strerror}")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SurveyError([Problem(name, f"not a valid TOML file: {exc}")]) from None
    problems: list[Problem] = []

    def need(table: dict[str, Any], key: str, where: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(name, f"{where}: '{key}' must be a non-empty string"))
            return ""
        return value

    if doc.get("format") != 1:
        problems.append(Problem(name, "'format' must be 1"))
    columns = doc.get("columns") if isinstance(doc.get("columns"), dict) else {}
    questions: list[Question] = []
    for i, raw in enumerate(doc.get("question") or []):
        where = f"question {i + 1}"
        kind = need(raw, "kind", where)
        if kind and kind not in KINDS:
            problems.append(Problem(name, f"{where}: kind must be one of {', '.join(KINDS)}"))
        match = raw.get("match", "")
        if kind in ("finding", "link", "budget") and not (
                match in THINGS or str(match).startswith("scheme:")):
            problems.append(Problem(name, f"{where}: match must be scheme:<name> or one of "
                                          f"{', '.join(THINGS)}"))
        questions.append(Question(
            key=need(raw, "key", where), kind=kind, column=need(raw, "column", where),
            match=match, cls=_rebase(raw.get("class", ""), base),
            property=_rebase(raw.get("property", ""), base),
            multiple=bool(raw.get("multiple", False)), on=raw.get("on", ""),
            attach=raw.get("attach", "all"), amount_column=raw.get("amount_column", ""),
            currency=raw.get("currency", ""),
            synonyms={str(k): str(v) for k, v in (raw.get("synonyms") or {}).items()}))
    keys = {q.key for q in questions}
    for q in questions:
        if q.kind == "finding" and not (q.cls and q.property):
            problems.append(Problem(name, f"question {q.key}: a finding needs class and property"))
        if q.kind == "link" and (q.on not in keys or q.attach not in ("all", "first")):
            problems.append(Problem(name, f"question {q.key}: 'on' must name a finding question "
                                          "and 'attach' be all or first"))
        if q.kind == "budget" and not (q.amount_column and q.currency):
            problems.append(Problem(name, f"question {q.key}: a budget needs amount_column and "
                                          "currency"))
    mapping = Mapping(
        path=path, survey=_rebase(need(doc, "survey", "top level"), base),
        wave_pattern=_rebase(need(doc, "wave", "top level"), base),
        creators=tuple(_rebase(c, base) for c in doc.get("creators") or ()),
        separator=doc.get("separator", ";"), encoding=doc.get("encoding", "utf-8"),
        timestamp=need(columns, "timestamp", "[columns]"),
        respondent=need(columns, "respondent", "[columns]"),
        jurisdiction=need(columns, "jurisdiction", "[columns]"),
        questions=tuple(questions),
        synonyms={k: {str(a): str(b) for a, b in v.items()}
                  for k, v in (doc.get("synonyms") or {}).items()})
    if "{wave}" not in mapping.wave_pattern:
        problems.append(Problem(name, "'wave' must contain {wave}"))
    if not mapping.creators:
        problems.append(Problem(name, "'creators' must name who ran the survey"))
    if problems:
        raise SurveyError(problems)
    return mapping
