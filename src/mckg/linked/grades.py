"""How far each answer of the comparison goes: *yes*, *partly*, *planned*, *no* — with a symbol
and a word, so a cell (and a country on the map) reads without colour.

The comparison's columns answer with concepts of the project's vocabularies (a portal status, a
policy status…). For a grid one needs to see at a glance which answers are a full "yes" and
which a "no"; that reading is ours, not the report's, so it is kept here as one explicit table
by concept (the last segment of the concept's IRI under ``vocab/``), shown in the legend, and
never written back into the data. A concept missing from the table reads *reported* (a neutral
grade), so new vocabulary shows up as what it is rather than as a wrong "no".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Grade:
    """One grade: key (CSS class, CSV value), symbol, word, and a sort rank (best first)."""

    key: str
    symbol: str
    word: str
    rank: int


YES = Grade("yes", "✔", "Yes", 0)
PARTLY = Grade("partly", "◐", "Partly", 1)
PLANNED = Grade("planned", "◔", "Planned", 2)
NO = Grade("no", "✘", "No", 3)
REPORTED = Grade("reported", "•", "Reported", 4)
DIFFERS = Grade("differs", "≠", "Sources differ", 5)
SEVERAL = Grade("several", "≠", "Several values", 5)
NONE = Grade("none", "–", "No data", 6)
#: In the order of the legend.
LEGEND: tuple[Grade, ...] = (YES, PARTLY, PLANNED, NO, REPORTED, DIFFERS, NONE)

#: concept scheme / concept (under ``{base}vocab/``) → grade.
BY_CONCEPT: dict[str, Grade] = {
    "mc-policy/specific-policy": YES,
    "mc-policy/within-broader-policy": PARTLY,
    "mc-policy/no-policy": NO,
    "lll-frame/specific-mc-policy": YES,
    "lll-frame/policy": YES,
    "lll-frame/strategic-guidelines": PARTLY,
    "lll-frame/none": NO,
    "lll-frame/not-formally-recognised": NO,
    "portal-status/national-portal": YES,
    "portal-status/none-experimenting": PARTLY,
    "portal-status/none-provided-in-law": PLANNED,
    "portal-status/observatory-committed": PLANNED,
    "portal-status/none-no-plans": NO,
    "external-qa/dedicated-approach": YES,
    "external-qa/within-accredited-programmes": PARTLY,
    "external-qa/programme-level-only": PARTLY,
    "external-qa/provider-level": PARTLY,
    "external-qa/implicit-in-qa-system": PARTLY,
    "external-qa/under-discussion": PLANNED,
    "external-qa/no-external-accreditation": NO,
    "qa-role/assures-micro-credentials": YES,
    "qa-role/accredits-programmes": PARTLY,
    "qa-role/monitors-provider-qa": PARTLY,
    "qa-role/none": NO,
}


def grade_of(value_iri: str, base: str) -> Grade:
    """The grade of one answer: from :data:`BY_CONCEPT`, *yes* for a non-concept value (a
    funding programme: the answer *is* that something exists), else *reported*."""
    vocab = f"{base}vocab/"
    if value_iri.startswith(vocab):
        return BY_CONCEPT.get(value_iri[len(vocab):], REPORTED)
    return YES
