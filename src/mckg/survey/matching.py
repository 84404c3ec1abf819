"""Matching free answers to the graph's controlled values and things, tolerantly but never by
guessing.

Two answers match when they are equal after :func:`normalise` (case, accents, runs of spaces,
curly quotes and punctuation at the ends do not count). Synonyms from the mapping lead to a
label, notation or code of the same target. An answer that matches nothing, or several
things, is reported — the person who knows the survey decides, not the code.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u00a0": " "})
_ENDS = " \t.,;:!?\"'()[]"


def normalise(text: str) -> str:
    """The form two answers are compared in: ``"  Fernuniversität  in Hagen."`` and
    ``"fernuniversitat in hagen"`` are the same answer."""
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _SPACE.sub(" ", text.casefold()).strip(_ENDS)


@dataclass(frozen=True)
class Match:
    """The outcome of matching one answer: the term, or why there is none."""

    answer: str
    term: str | None = None
    problem: str | None = None


@dataclass
class Vocabulary:
    """Names of terms by kind (``scheme:mc-policy``, ``jurisdiction`` …), read from the store."""

    names: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(
        lambda: defaultdict(set)))
    shown: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str, str | None]]) -> Vocabulary:
        """Build from ``(kind, term IRI, a name, its English label or None)`` rows (the
        wave-terms query); the English label is what messages and labels show."""
        vocab = cls()
        for kind, term, name, label in rows:
            vocab.names[kind][normalise(name)].add(term)
            if label:
                vocab.shown[kind][term] = label
            else:
                vocab.shown[kind].setdefault(term, name)
        return vocab

    def label(self, kind: str, term: str) -> str:
        """A name of ``term`` to print."""
        return self.shown.get(kind, {}).get(term, term)

    def match(self, kind: str, answer: str, synonyms: Mapping[str, str] = {}) -> Match:
        """Match ``answer`` to one term of ``kind``, directly or through a synonym."""
        names = self.names.get(kind, {})
        key = normalise(answer)
        found = names.get(key, set())
        if not found:
            by_synonym = {normalise(k): v for k, v in synonyms.items()}
            if key in by_synonym:
                found = names.get(normalise(by_synonym[key]), set())
        if len(found) == 1:
            return Match(answer, term=next(iter(found)))
        if len(found) > 1:
            options = ", ".join(sorted(self.label(kind, t) for t in found))
            return Match(answer, problem=f"{answer!r} is ambiguous: it names {options}")
        accepted = sorted(set(self.shown.get(kind, {}).values()) | set(synonyms))
        hint = "; ".join(accepted[:12]) + (" …" if len(accepted) > 12 else "")
        what = kind.replace("scheme:", "value of the scheme ")
        return Match(answer, problem=f"{answer!r} matches no {what}"
                     + (f" (accepted: {hint})" if hint else ""))
