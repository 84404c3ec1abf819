#!/usr/bin/env python3
"""Regenerate the Turtle extracts in ``reference/`` from copies of the upstream files.

The knowledge graph links to three kinds of official reference data; this script turns small
extracts of them into Turtle that the build loads into the named graph ``graph/reference``:

``eu-authority/countries.ttl``
    The countries the report covers, taken from the EU Publications Office authority table
    "Country" (SKOS, RDF/XML): for each concept its ``rdf:type``, ``skos:inScheme``,
    ``skos:prefLabel`` in the languages of :data:`LANGUAGES`, any ``skos:notation`` and
    ``skos:exactMatch``, and the authority-table attributes (``at:*``) whose value is a plain
    literal (codes, protocol order, dates of use). Mapped legacy codes (blank nodes), alternative
    and hidden labels and the other languages are left out. The concept scheme keeps its type,
    labels and table version.
``eu-authority/currency-language.ttl``
    Two concepts the data uses from the authority tables "Currency" and "Language" (EUR, NLD),
    written from :data:`CURRENCY_LANGUAGE` (no upstream file is read for them).
``eqf/eqf-levels.ttl``
    The eight EQF levels and their concept scheme, from the table of ELM controlled-vocabulary
    concepts (concept scheme, concept IRI, English label). ``skos:notation`` is the level number
    at the end of the concept IRI.
``esco/esco-sample.ttl``
    An ESCO-shaped sample generated from ESCO v1.1.1 CSV files: the skills of the DigComp and
    transversal skills collections and the selected skills, skill groups and occupations, with the
    classes and properties of the ESCO model (``esco:Skill``, ``esco:skillType``,
    ``esco:skillReuseLevel``, ``skos:inScheme`` ...). Descriptions are kept as plain
    ``dct:description`` literals (the ESCO RDF dump wraps them in ``esco:NodeLiteral`` nodes).

``--upstream`` names a folder laid out like this (file names as listed)::

    eu-authority/countries-skos.rdf                   authority table "Country", RDF/XML
    elm/derived/elm-controlled-vocabularies.tsv       columns source_xsd, concept_scheme,
                                                      concept_uri, label_en
    esco/digCompSkillsCollection_en.v1.1.1.csv        ESCO CSV export, collection files
    esco/transversalSkillsCollection_en.v1.1.1.csv
    esco/esco-selected-concepts.v1.1.1.tsv            columns conceptType, conceptUri,
                                                      preferredLabel_en, skillType, reuseLevel,
                                                      in_digCompCollection,
                                                      in_digitalSkillsCollection, iscoGroup

Where each upstream file comes from, and its terms of reuse, is written in the ``SOURCE.md``
next to each output folder; update those by hand when the inputs change.

The output is deterministic: subjects, predicates and objects are written in sorted order, with
no timestamps, so regenerating from the same inputs gives byte-identical files. Every file is
parsed back with rdflib and compared with what was meant to be written.

Usage::

    python tools/make_reference.py --upstream PATH/TO/UPSTREAM --out reference/
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from rdflib import OWL, RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, SKOS
from rdflib.term import BNode, Node

AT = Namespace("http://publications.europa.eu/ontology/authority/")
ESCO = Namespace("http://data.europa.eu/esco/model#")
AUTHORITY = "http://publications.europa.eu/resource/authority/"
COUNTRY_SCHEME = URIRef(AUTHORITY + "country")
EQF_SCHEME = URIRef("http://data.europa.eu/snb/eqf/25831c2")
ESCO_BASE = "http://data.europa.eu/esco/"

#: Op-codes of the countries the data refers to (``eucountry:XXX``).
COUNTRIES = ("DEU", "GRC", "ITA", "LTU", "NLD", "CYP", "ESP", "PRT", "BEL", "FIN", "IRL", "EST",
             "SWE", "SVK", "SVN", "GBR")
#: Languages of the country labels that are kept.
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "el", "lt")

#: The two authority-table concepts the data uses besides countries:
#: (table, table label, code, English label of the concept).
CURRENCY_LANGUAGE = (
    ("currency", "Currency", "EUR", "euro"),
    ("language", "Language", "NLD", "Dutch"),
    ("language", "Language", "ENG", "English"),
)

#: ESCO concept schemes used by the sample, with their English labels as given in the
#: ESCO v1.1.1 CSV export (conceptSchemes_en.csv).
ESCO_SCHEMES = {
    "skills": "ESCO skills",
    "member-skills": "ESCO member skills",
    "skills-hierarchy": "ESCO skills hierarchy",
    "digcomp": "DigComp",
    "6c930acd-c104-4ece-acf7-f44fd7333036": "Digital",
    "skill-transversal-groups": "ESCO transversal skill groups",
    "occupations": "ESCO Occupations",
    "member-occupations": "ESCO member occupations",
}
#: The scheme memberships below hold for every concept of that kind in the v1.1.1 export (its
#: inScheme columns); collection schemes are added only where the input files show membership.
#: Schemes every ESCO skill (a knowledge, skill or competence concept) is in.
SKILL_SCHEMES = ("skills", "member-skills")
#: Schemes every ESCO skill group is in.
SKILL_GROUP_SCHEMES = ("skills", "skills-hierarchy")
#: Schemes every ESCO occupation is in.
OCCUPATION_SCHEMES = ("occupations", "member-occupations")
REUSE_LEVELS = ("transversal", "cross-sector", "sector-specific", "occupation-specific")
SKILL_TYPES = {"skill/competence": "skill", "skill": "skill", "knowledge": "knowledge"}

PREFIXES = {
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "skos": str(SKOS),
    "dct": str(DCTERMS),
    "at": str(AT),
    "eucountry": AUTHORITY + "country/",
    "currency": AUTHORITY + "currency/",
    "language": AUTHORITY + "language/",
    "eqf": "http://data.europa.eu/snb/eqf/",
    "esco": str(ESCO),
    "escoskill": ESCO_BASE + "skill/",
    "escoocc": ESCO_BASE + "occupation/",
    "escoscheme": ESCO_BASE + "concept-scheme/",
    "reuse": ESCO_BASE + "skill-reuse-level/",
    "skilltype": ESCO_BASE + "skill-type/",
    "isco": ESCO_BASE + "isco/",
    "iscedf": ESCO_BASE + "isced-f/",
}

Triple = tuple[URIRef, URIRef, Node]


class GenerationError(Exception):
    """The upstream files are not what this script expects."""


# --------------------------------------------------------------------------- Turtle writing

_LOCAL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _iri(term: URIRef) -> str:
    iri = str(term)
    if _IRI_FORBIDDEN.search(iri):
        raise GenerationError(f"IRI not writable in Turtle: {iri!r}")
    best = ""
    for prefix, ns in PREFIXES.items():
        local = iri[len(ns):]
        if iri.startswith(ns) and _LOCAL.fullmatch(local) and len(ns) > len(PREFIXES.get(best, "")):
            best = prefix
    return f"{best}:{iri[len(PREFIXES[best]):]}" if best else f"<{iri}>"


def _literal(lit: Literal) -> str:
    text = (str(lit).replace("\\", "\\\\").replace('"', '\\"')
            .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t"))
    if lit.language:
        return f'"{text}"@{lit.language}'
    if lit.datatype:
        return f'"{text}"^^{_iri(lit.datatype)}'
    return f'"{text}"'


def _term(term: Node) -> str:
    if isinstance(term, URIRef):
        return _iri(term)
    if isinstance(term, Literal):
        return _literal(term)
    raise GenerationError(f"cannot write {term!r} (blank nodes are not allowed in the extracts)")


def _natural(text: str) -> tuple:
    """Sort key that orders embedded numbers by value (eqf/2 before eqf/10)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", text))


def _object_key(term: Node) -> tuple:
    if isinstance(term, URIRef):
        return (0, _natural(str(term)), "")
    assert isinstance(term, Literal)
    return (1, (term.language or "", str(term.datatype or "")), str(term))


def _used_prefixes(by_subject: dict[URIRef, dict[URIRef, set[Node]]]) -> set[str]:
    """Return the prefixes that the written names of these terms use."""
    iris: set[URIRef] = set()
    for subject, props in by_subject.items():
        iris.add(subject)
        for pred, objects in props.items():
            if pred != RDF.type:  # written as "a"
                iris.add(pred)
            for o in objects:
                if isinstance(o, URIRef):
                    iris.add(o)
                elif isinstance(o, Literal) and o.datatype is not None:
                    iris.add(o.datatype)
    return {name.split(":", 1)[0] for name in map(_iri, iris) if not name.startswith("<")}


def to_turtle(triples: Iterable[Triple], header: str) -> str:
    """Return ``triples`` as Turtle: schemes first, then subjects, predicates, objects sorted."""
    by_subject: dict[URIRef, dict[URIRef, set[Node]]] = defaultdict(lambda: defaultdict(set))
    for s, p, o in triples:
        by_subject[s][p].add(o)
    schemes = {s for s, props in by_subject.items() if SKOS.ConceptScheme in props.get(RDF.type, ())}
    body = []
    for subject in sorted(by_subject, key=lambda s: (s not in schemes, _natural(str(s)))):
        props = by_subject[subject]
        lines = []
        for pred in sorted(props, key=lambda p: (p != RDF.type, p != SKOS.prefLabel, _iri(p))):
            name = "a" if pred == RDF.type else _iri(pred)
            objects = " ,\n        ".join(_term(o) for o in sorted(props[pred], key=_object_key))
            lines.append(f"    {name} {objects}")
        body.append(f"{_iri(subject)}\n" + " ;\n".join(lines) + " .\n")
    text = "\n".join(body)
    used = sorted(_used_prefixes(by_subject))
    prefixes = "".join(f"@prefix {name}: <{PREFIXES[name]}> .\n" for name in used)
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header.strip().splitlines())
    return f"{comments}\n{prefixes}\n{text}"


def write_turtle(path: Path, triples: list[Triple], header: str) -> int:
    """Write ``triples`` to ``path``, check it parses back to the same graph, return the count."""
    expected = Graph()
    for triple in triples:
        expected.add(triple)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_turtle(expected, header), encoding="utf-8")
    parsed = Graph().parse(path, format="turtle")
    if set(parsed) != set(expected):
        raise GenerationError(f"{path}: the written Turtle does not parse back to the same triples")
    return len(parsed)


# --------------------------------------------------------------------------- EU authority tables


def country_triples(rdf_xml: Path) -> tuple[list[Triple], str]:
    """Return the extract of the country table and the table version."""
    table = Graph().parse(rdf_xml, format="xml")
    version = table.value(COUNTRY_SCHEME, OWL.versionInfo) or table.value(
        COUNTRY_SCHEME, AT["table.version.number"])
    if version is None:
        raise GenerationError(f"{rdf_xml.name}: no version on {COUNTRY_SCHEME}")
    out: list[Triple] = []
    for p in (RDF.type, SKOS.prefLabel, RDFS.label, OWL.versionInfo, AT["table.version.number"],
              AT["table.id"]):
        out.extend((COUNTRY_SCHEME, p, o) for o in table.objects(COUNTRY_SCHEME, p))
    for code in COUNTRIES:
        concept = URIRef(f"{COUNTRY_SCHEME}/{code}")
        if (concept, SKOS.inScheme, COUNTRY_SCHEME) not in table:
            raise GenerationError(f"{rdf_xml.name}: no concept {concept}")
        for p, o in table.predicate_objects(concept):
            if isinstance(o, BNode):
                continue
            if p == SKOS.prefLabel:
                keep = isinstance(o, Literal) and o.language in LANGUAGES
            elif p in (RDF.type, SKOS.inScheme, SKOS.exactMatch):
                keep = isinstance(o, URIRef)
            elif p == SKOS.notation or str(p).startswith(str(AT)):
                keep = isinstance(o, Literal)
            else:
                keep = False
            if keep:
                out.append((concept, p, o))
    return out, str(version)


def currency_language_triples() -> list[Triple]:
    """Return the EUR and NLD concepts and their schemes."""
    out: list[Triple] = []
    for table, table_label, code, label in CURRENCY_LANGUAGE:
        scheme = URIRef(AUTHORITY + table)
        concept = URIRef(f"{scheme}/{code}")
        out += [(scheme, RDF.type, SKOS.ConceptScheme),
                (scheme, SKOS.prefLabel, Literal(table_label, lang="en")),
                (concept, RDF.type, SKOS.Concept),
                (concept, SKOS.prefLabel, Literal(label, lang="en")),
                (concept, SKOS.notation, Literal(code)),
                (concept, SKOS.inScheme, scheme)]
    return out


# --------------------------------------------------------------------------- EQF


def eqf_triples(tsv: Path) -> list[Triple]:
    """Return the EQF concept scheme and its levels from the ELM controlled-vocabulary table."""
    out: list[Triple] = [(EQF_SCHEME, RDF.type, SKOS.ConceptScheme),
                         (EQF_SCHEME, SKOS.prefLabel,
                          Literal("European Qualifications Framework", lang="en"))]
    levels = 0
    with tsv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["concept_scheme"] != str(EQF_SCHEME):
                continue
            concept = URIRef(row["concept_uri"])
            number = str(concept).rsplit("/", 1)[1]
            if not number.isdigit():
                raise GenerationError(f"{tsv.name}: unexpected EQF concept {concept}")
            levels += 1
            out += [(concept, RDF.type, SKOS.Concept),
                    (concept, SKOS.prefLabel, Literal(row["label_en"].strip(), lang="en")),
                    (concept, SKOS.notation, Literal(number)),
                    (concept, SKOS.inScheme, EQF_SCHEME),
                    (concept, SKOS.topConceptOf, EQF_SCHEME),
                    (EQF_SCHEME, SKOS.hasTopConcept, concept)]
    if levels != 8:
        raise GenerationError(f"{tsv.name}: expected 8 EQF levels, found {levels}")
    return out


# --------------------------------------------------------------------------- ESCO


def _scheme(name: str) -> URIRef:
    return URIRef(f"{ESCO_BASE}concept-scheme/{name}")


def _esco_iri(value: str, kind: str) -> URIRef:
    """Check ``value`` is an ESCO IRI of ``kind`` (``skill/{uuid}``, ``isced-f/{code}`` ...)."""
    value = value.strip()
    local = r"\d{2,4}" if kind == "isced-f" else r"[0-9a-f-]{36}"
    if not re.fullmatch(rf"{re.escape(ESCO_BASE)}{kind}/{local}", value):
        raise GenerationError(f"not an ESCO {kind} IRI: {value!r}")
    return URIRef(value)


def _reuse_level(value: str) -> URIRef | None:
    """Map the reuseLevel column (an IRI, a code or a label) to the ESCO reuse-level IRI."""
    value = value.strip()
    if not value:
        return None
    if value.startswith("http"):
        code = value.rstrip("/").rsplit("/", 1)[1]
    else:
        code = re.sub(r"[\s_]+", "-", value.lower()).removesuffix("-skills-and-competences")
    if code not in REUSE_LEVELS:
        raise GenerationError(f"unknown skill reuse level {value!r}")
    return URIRef(f"{ESCO_BASE}skill-reuse-level/{code}")


def _skill_type(value: str) -> URIRef | None:
    value = value.strip()
    if not value:
        return None
    code = value.rstrip("/").rsplit("/", 1)[1] if value.startswith("http") else value.lower()
    if code not in SKILL_TYPES:
        raise GenerationError(f"unknown skill type {value!r}")
    return URIRef(f"{ESCO_BASE}skill-type/{SKILL_TYPES[code]}")


def _split_labels(value: str) -> list[str]:
    """Split an altLabels cell: one label a line (skills_en.csv) or ' | ' (collection files)."""
    return [part.strip() for part in re.split(r"\n| \| ", value) if part.strip()]


class EscoSample:
    """Collects the triples of the ESCO sample, one concept at a time."""

    def __init__(self) -> None:
        self.triples: set[Triple] = set()
        self.schemes: set[str] = set()
        self.counts: dict[str, set[URIRef]] = defaultdict(set)

    def _add(self, s: URIRef, p: URIRef, o: Node) -> None:
        self.triples.add((s, p, o))

    def _in(self, concept: URIRef, schemes: Iterable[str]) -> None:
        for name in schemes:
            if name not in ESCO_SCHEMES:
                raise GenerationError(f"ESCO concept scheme {name!r} has no label in ESCO_SCHEMES")
            self.schemes.add(name)
            self._add(concept, SKOS.inScheme, _scheme(name))

    def skill(self, row: dict[str, str], *, label_column: str, schemes: Iterable[str]) -> None:
        concept = _esco_iri(row["conceptUri"], "skill")
        self.counts["skills"].add(concept)
        label = row[label_column].strip()
        for cls in (SKOS.Concept, ESCO.Skill, ESCO.MemberConcept):
            self._add(concept, RDF.type, cls)
        self._add(concept, SKOS.prefLabel, Literal(label, lang="en"))
        for alt in _split_labels(row.get("altLabels", "")):
            if alt != label:  # SKOS: a label cannot be both preferred and alternative
                self._add(concept, SKOS.altLabel, Literal(alt, lang="en"))
        description = row.get("description", "").strip()
        if description:
            self._add(concept, DCTERMS.description, Literal(description, lang="en"))
        if (level := _reuse_level(row.get("reuseLevel", ""))) is not None:
            self._add(concept, ESCO.skillReuseLevel, level)
        if (kind := _skill_type(row.get("skillType", ""))) is not None:
            self._add(concept, ESCO.skillType, kind)
        for broader in filter(None, (b.strip() for b in row.get("broaderConceptUri", "").split("|"))):
            kind = "isced-f" if "/isced-f/" in broader else "skill"  # knowledge: ISCED-F field
            self._add(concept, SKOS.broader, _esco_iri(broader, kind))
        self._in(concept, (*SKILL_SCHEMES, *schemes))

    def skill_group(self, row: dict[str, str]) -> None:
        concept = _esco_iri(row["conceptUri"], "skill")
        self.counts["skill groups"].add(concept)
        code = row["conceptType"].split(":", 1)[1]
        self._add(concept, RDF.type, SKOS.Concept)
        self._add(concept, SKOS.prefLabel, Literal(row["preferredLabel_en"].strip(), lang="en"))
        self._add(concept, SKOS.notation, Literal(code))
        self._in(concept, SKILL_GROUP_SCHEMES)

    def occupation(self, row: dict[str, str]) -> None:
        concept = _esco_iri(row["conceptUri"], "occupation")
        self.counts["occupations"].add(concept)
        for cls in (SKOS.Concept, ESCO.Occupation, ESCO.MemberConcept):
            self._add(concept, RDF.type, cls)
        self._add(concept, SKOS.prefLabel, Literal(row["preferredLabel_en"].strip(), lang="en"))
        isco = row.get("iscoGroup", "").strip()
        if isco:
            if not isco.isdigit():
                raise GenerationError(f"unexpected ISCO group {isco!r}")
            self._add(concept, ESCO.memberOfISCOGroup, URIRef(f"{ESCO_BASE}isco/C{isco}"))
        self._in(concept, OCCUPATION_SCHEMES)

    def finish(self) -> list[Triple]:
        for name in self.schemes:
            self._add(_scheme(name), RDF.type, SKOS.ConceptScheme)
            self._add(_scheme(name), SKOS.prefLabel, Literal(ESCO_SCHEMES[name], lang="en"))
        return sorted(self.triples)


def _rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def esco_triples(folder: Path) -> tuple[list[Triple], dict[str, int]]:
    """Return the ESCO sample built from the collection files and the selected concepts."""
    sample = EscoSample()
    collections = (("digCompSkillsCollection_en.v1.1.1.csv", "digcomp"),
                   ("transversalSkillsCollection_en.v1.1.1.csv", "skill-transversal-groups"))
    for name, scheme in collections:
        for row in _rows(folder / name):
            if row["conceptType"] != "KnowledgeSkillCompetence":
                raise GenerationError(f"{name}: unexpected concept type {row['conceptType']!r}")
            sample.skill(row, label_column="preferredLabel", schemes=(scheme,))
    for row in _rows(folder / "esco-selected-concepts.v1.1.1.tsv", delimiter="\t"):
        kind = row["conceptType"]
        if kind == "skill":
            schemes = [s for s, flag in (("digcomp", "in_digCompCollection"),
                                         ("6c930acd-c104-4ece-acf7-f44fd7333036",
                                          "in_digitalSkillsCollection"))
                       if row.get(flag, "").strip().lower() == "true"]
            sample.skill(row, label_column="preferredLabel_en", schemes=schemes)
        elif kind.startswith("skillGroup:"):
            sample.skill_group(row)
        elif kind == "occupation":
            sample.occupation(row)
        else:
            raise GenerationError(f"esco-selected-concepts: unexpected concept type {kind!r}")
    triples = sample.finish()
    # One English preferred label per concept, as SKOS requires.
    labels: dict[URIRef, set[Node]] = defaultdict(set)
    for s, p, o in triples:
        if p == SKOS.prefLabel:
            labels[s].add(o)
    clashes = sorted(str(s) for s, values in labels.items() if len(values) > 1)
    if clashes:
        raise GenerationError(f"ESCO concepts with several English preferred labels: {clashes}")
    return triples, {kind: len(items) for kind, items in sorted(sample.counts.items())}


# --------------------------------------------------------------------------- main

GENERATED = "Generated by tools/make_reference.py - do not edit; regenerate instead."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", type=Path, required=True,
                        help="folder with the upstream files (layout in the module docstring)")
    parser.add_argument("--out", type=Path, default=Path("reference"),
                        help="the reference/ folder to write into (default: ./reference)")
    args = parser.parse_args(argv)
    up, out = args.upstream, args.out

    try:
        countries, version = country_triples(up / "eu-authority" / "countries-skos.rdf")
        esco, esco_counts = esco_triples(up / "esco")
        files = {
            "eu-authority/countries.ttl": (countries, f"""
Extract of the EU Publications Office authority table "Country"
<{COUNTRY_SCHEME}>, table version {version}:
{len(COUNTRIES)} countries; labels in {", ".join(LANGUAGES)}.
{GENERATED}
Source and terms of reuse: SOURCE.md in this folder."""),
            "eu-authority/currency-language.ttl": (currency_language_triples(), f"""
The two concepts of the EU authority tables "Currency" and "Language" that the data uses.
{GENERATED}
Source and terms of reuse: SOURCE.md in this folder."""),
            "eqf/eqf-levels.ttl": (eqf_triples(
                up / "elm" / "derived" / "elm-controlled-vocabularies.tsv"), f"""
The European Qualifications Framework levels as published in EU Vocabularies and used by the
European Learning Model (ELM).
{GENERATED}
Source and terms of reuse: SOURCE.md in this folder."""),
            "esco/esco-sample.ttl": (esco, f"""
A sample of ESCO v1.1.1 in the shape of the ESCO RDF model, generated from the ESCO CSV export:
{", ".join(f"{n} {kind}" for kind, n in esco_counts.items())}.
This service uses the ESCO classification of the European Commission.
{GENERATED}
Source and terms of reuse: SOURCE.md in this folder."""),
        }
        total = 0
        for name, (triples, header) in files.items():
            count = write_turtle(out / name, triples, header)
            total += count
            print(f"{count:6d}  {out / name}")
        print(f"{total:6d}  triples in all")
    except (GenerationError, OSError, KeyError) as exc:
        print(f"make_reference: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
