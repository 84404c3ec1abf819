"""A deterministic generator of an ESCO-shaped release: skills, skill groups and occupations in
ESCO's 28 languages, as gzipped N-Triples.

A real ESCO RDF release has about 13,900 skills and 3,000 occupations, each labelled and
described in 28 languages — several million triples, most of them language-tagged literals.
``mckg load`` is measured on a file of that shape (``docs/benchmarks.md``, "Loading ESCO"),
with and without ``--lang``, and the cross queries of ``queries/cross/`` are run on it. The
shapes follow ESCO's RDF model as the bundled sample (``reference/esco/``) does:

- skill groups ``S``, ``S1`` … ``S8`` and ``S1.1`` …: ``skos:Concept`` with ``skos:notation``,
  in the skills and skills-hierarchy schemes;
- skills: ``esco:Skill, esco:MemberConcept, skos:Concept``; ``skos:prefLabel`` in every
  language, ``skos:altLabel`` (two in English, one in ten other languages),
  ``skos:definition`` in every language, ``esco:skillType``, ``esco:skillReuseLevel``,
  ``skos:broader`` a skill group, ``skos:inScheme`` skills and member-skills, and for some the
  DigComp, Digital or transversal collections (so that cross queries on ESCO digital skills
  find them);
- occupations: ``esco:Occupation, esco:MemberConcept, skos:Concept``, labels and definitions in
  every language, ``esco:memberOfISCOGroup``, ``esco:relatedEssentialSkill`` and
  ``esco:relatedOptionalSkill``.

IRIs are ``http://data.europa.eu/esco/skill/synthetic-…`` (occupations alike), never real
ESCO identifiers. The same ``(triples, seed)`` gives the same bytes::

    python -m benchmarks.esco --triples 2.1M --out var/benchmarks/data/esco-2m.nt.gz
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
import sys
from collections.abc import Iterator
from pathlib import Path

DEFAULT_SEED = 20220616  # the day of the Council Recommendation

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SKOS = "http://www.w3.org/2004/02/skos/core#"
ESCO = "http://data.europa.eu/esco/model#"
SKILL = "http://data.europa.eu/esco/skill/"
OCCUPATION = "http://data.europa.eu/esco/occupation/"
SCHEME = "http://data.europa.eu/esco/concept-scheme/"
ISCO = "http://data.europa.eu/esco/isco/C"
REUSE = "http://data.europa.eu/esco/skill-reuse-level/"
SKILL_TYPE = "http://data.europa.eu/esco/skill-type/"
#: ESCO's Digital skills collection (its scheme IRI is a UUID, as in the bundled sample).
DIGITAL = SCHEME + "6c930acd-c104-4ece-acf7-f44fd7333036"
#: The 28 languages of ESCO v1.1.
LANGUAGES = ("bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "is",
             "it", "lt", "lv", "mt", "nl", "no", "pl", "pt", "ro", "sk", "sl", "sv", "uk", "ar")
WORDS = ("apply", "manage", "digital", "content", "teach", "assess", "data", "safety", "design",
         "communicate", "evaluate", "learning", "systems", "quality", "project", "software",
         "plan", "analyse", "train", "support", "develop", "curriculum", "online", "tools")
REUSE_LEVELS = ("transversal", "cross-sector", "sector-specific", "occupation-specific")
#: Skills per occupation in real ESCO is about 4.6; occupations are 3,000 to 13,900 skills.
OCCUPATION_SHARE = 0.22


def _literal(text: str, lang: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"@' + lang


def _iri(value: str) -> str:
    return f"<{value}>"


class Writer:
    """N-Triples lines and their count."""

    def __init__(self, out: io.TextIOBase) -> None:
        self.out = out
        self.count = 0

    def triple(self, s: str, p: str, o: str) -> None:
        self.out.write(f"{s} {p} {o} .\n")
        self.count += 1


def _phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _labelled(w: Writer, rng: random.Random, node: str, name: str) -> None:
    """prefLabel and definition in every language; altLabels in English and ten others."""
    for lang in LANGUAGES:
        w.triple(node, _iri(SKOS + "prefLabel"), _literal(f"{name} ({lang})", lang))
        w.triple(node, _iri(SKOS + "definition"),
                 _literal(f"{name}: {_phrase(rng, 12)} [{lang}]", lang))
    for k in range(2):
        w.triple(node, _iri(SKOS + "altLabel"), _literal(f"{name} {_phrase(rng, 2)} {k}", "en"))
    for lang in LANGUAGES[:10]:
        w.triple(node, _iri(SKOS + "altLabel"), _literal(f"{name} alt ({lang})", lang))


def triples(target: int, seed: int = DEFAULT_SEED) -> Iterator[str]:
    """Yield N-Triples text in chunks until at least ``target`` triples were written."""
    rng = random.Random(seed)
    buffer = io.StringIO()
    w = Writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    schemes = {"skills": "ESCO skills", "member-skills": "ESCO member skills",
               "skills-hierarchy": "ESCO skills hierarchy", "digcomp": "DigComp",
               "skill-transversal-groups": "ESCO transversal skill groups",
               "occupations": "ESCO Occupations", "member-occupations": "ESCO member occupations"}
    for key, label in schemes.items():
        w.triple(_iri(SCHEME + key), _iri(RDF_TYPE), _iri(SKOS + "ConceptScheme"))
        w.triple(_iri(SCHEME + key), _iri(SKOS + "prefLabel"), _literal(label, "en"))
    w.triple(_iri(DIGITAL), _iri(RDF_TYPE), _iri(SKOS + "ConceptScheme"))
    w.triple(_iri(DIGITAL), _iri(SKOS + "prefLabel"), _literal("Digital", "en"))

    groups: list[str] = []
    for top in range(1, 9):
        for sub in range(0, 9):
            notation = f"S{top}" if sub == 0 else f"S{top}.{sub}"
            node = _iri(f"{SKILL}synthetic-group-{notation.lower()}")
            groups.append(node)
            w.triple(node, _iri(RDF_TYPE), _iri(SKOS + "Concept"))
            w.triple(node, _iri(SKOS + "notation"), f'"{notation}"')
            w.triple(node, _iri(SKOS + "inScheme"), _iri(SCHEME + "skills-hierarchy"))
            if sub:
                w.triple(node, _iri(SKOS + "broader"), _iri(f"{SKILL}synthetic-group-s{top}"))
            _labelled(w, rng, node, f"skill group {notation}")
    yield flush()

    skills: list[str] = []
    n = 0
    while w.count < target:
        n += 1
        if skills and rng.random() < OCCUPATION_SHARE:
            node = _iri(f"{OCCUPATION}synthetic-{n:06d}")
            for cls in (ESCO + "Occupation", ESCO + "MemberConcept", SKOS + "Concept"):
                w.triple(node, _iri(RDF_TYPE), _iri(cls))
            w.triple(node, _iri(SKOS + "inScheme"), _iri(SCHEME + "occupations"))
            w.triple(node, _iri(SKOS + "inScheme"), _iri(SCHEME + "member-occupations"))
            w.triple(node, _iri(ESCO + "memberOfISCOGroup"), _iri(f"{ISCO}{rng.randrange(1000, 9999)}"))
            for skill in rng.sample(skills, min(len(skills), 5)):
                w.triple(node, _iri(ESCO + "relatedEssentialSkill"), skill)
            for skill in rng.sample(skills, min(len(skills), 4)):
                w.triple(node, _iri(ESCO + "relatedOptionalSkill"), skill)
            _labelled(w, rng, node, f"occupation {n} {_phrase(rng, 2)}")
        else:
            node = _iri(f"{SKILL}synthetic-{n:06d}")
            skills.append(node)
            for cls in (ESCO + "Skill", ESCO + "MemberConcept", SKOS + "Concept"):
                w.triple(node, _iri(RDF_TYPE), _iri(cls))
            w.triple(node, _iri(SKOS + "inScheme"), _iri(SCHEME + "skills"))
            w.triple(node, _iri(SKOS + "inScheme"), _iri(SCHEME + "member-skills"))
            roll = rng.random()
            if roll < 0.03:
                w.triple(node, _iri(SKOS + "inScheme"), _iri(SCHEME + "digcomp"))
            elif roll < 0.10:
                w.triple(node, _iri(SKOS + "inScheme"), _iri(DIGITAL))
            elif roll < 0.12:
                w.triple(node, _iri(SKOS + "inScheme"), _iri(SCHEME + "skill-transversal-groups"))
            w.triple(node, _iri(SKOS + "broader"), rng.choice(groups))
            w.triple(node, _iri(ESCO + "skillType"),
                     _iri(SKILL_TYPE + ("skill" if rng.random() < 0.7 else "knowledge")))
            w.triple(node, _iri(ESCO + "skillReuseLevel"), _iri(REUSE + rng.choice(REUSE_LEVELS)))
            _labelled(w, rng, node, f"{_phrase(rng, 3)} {n}")
        if buffer.tell() > 1 << 20:
            yield flush()
    yield flush()


def parse_count(text: str) -> int:
    """``"2.1M"`` → 2100000, ``"500k"`` → 500000."""
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def write(path: Path, target: int, seed: int = DEFAULT_SEED) -> int:
    """Write the file (gzipped if ``path`` ends in ``.gz``, with ``mtime=0``); return its triples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    raw = path.open("wb")
    stream = (gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0)
              if path.suffix == ".gz" else raw)
    with raw, stream:
        for chunk in triples(target, seed):
            stream.write(chunk.encode("utf-8"))
            count += chunk.count("\n")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", default="2.1M", help="at least this many (e.g. 500k, 2.1M)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    count = write(args.out, parse_count(args.triples), args.seed)
    print(f"wrote {count:,} triples to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
