"""A micro-credential to check, as an RDF graph on ELM terms.

Two kinds of input:

- **RDF** — Turtle, JSON-LD or ELM JSON-LD (a Europass credential): read by
  :mod:`mckg.rdf.files` like every other file mckg reads (nothing fetched; the two contexts
  Europass names are shipped), errors with their line.
- **A description** — a JSON object whose keys are the notations of the ``mc-element`` scheme
  (``title``, ``workload``, ``level``, ``learning-outcomes`` …; ``id`` optionally names the
  credential). It is turned into ELM by following each element's ``mckg:elmPath`` from the
  graph, so a description and a Europass credential are checked by the same shapes, and the
  description can be exported as ELM JSON-LD (``--elm-out``). ``workload`` is a number of ECTS
  credits, ``level`` an EQF level (1–8, or its IRI), ``issuer-country`` a country code (``ES``,
  ``ESP``) or an EU country-table IRI; every other value is text, or an IRI when it is one
  (``learning-outcomes`` may name ESCO skills), or a list of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from ..rdf.files import DataError, format_for_path, parse_bytes
from ..rdf.formats import rdf_format_for_suffix
from .rules import Rules

ELM = "http://data.europa.eu/snb/model/elm/"
CRED = "https://www.w3.org/2018/credentials#"
EQF = "http://data.europa.eu/snb/eqf/"
#: The ECTS framework of ELM's education-credit scheme, as Europass credentials name it.
ECTS = URIRef("http://data.europa.eu/snb/education-credit/6fcec5c5af")
CREDENTIAL_CLASS = URIRef(ELM + "EuropeanDigitalCredential")
#: The ELM class of the node a property leads to (for readable ELM out; checks do not use it).
NODE_CLASSES = {
    CRED + "credentialSubject": ELM + "Person",
    ELM + "hasClaim": ELM + "LearningAchievement",
    ELM + "awardedBy": ELM + "AwardingProcess",
    ELM + "awardingBody": ELM + "Organisation",
    ELM + "location": "http://purl.org/dc/terms/Location",
    ELM + "address": ELM + "Address",
    ELM + "creditPoint": ELM + "CreditPoint",
    ELM + "provenBy": ELM + "LearningAssessment",
}
_IRI = re.compile(r"^(https?|urn):[^\s<>\"{}|\\^`]+$")
_MAX_BYTES = 2 << 20
#: A credential is hundreds of triples (the official Annex I sample: 292); far more is not one,
#: and SHACL validation time grows with it, so the checker refuses it.
MAX_TRIPLES = 20_000


class CredentialError(Exception):
    """The input is not a credential mckg can read. ``str()`` names the source and the line."""


@dataclass
class Credential:
    """A credential to check: its graph on ELM terms, where it came from, and what it was."""

    graph: Graph
    source: str
    kind: str  # "description" (our JSON) or "rdf" (Turtle, JSON-LD, ELM JSON-LD)
    nodes: tuple[str, ...]

    @property
    def triples(self) -> int:
        """How many triples the credential's graph has (shown with every verdict)."""
        return len(self.graph)


def _local(iri: str) -> str:
    """The last segment of an IRI (after ``#`` or ``/``): names the nodes a description makes."""
    return re.split(r"[#/]", iri)[-1]


def _line_of(text: str, key: str) -> int | None:
    at = text.find(json.dumps(key))
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _fail(source: str, message: str, line: int | None = None) -> CredentialError:
    return CredentialError(f"{source}:{line}: {message}" if line else f"{source}: {message}")


def read_credential(data: bytes, name: str, rules: Rules) -> Credential:
    """Read ``data`` (named ``name``: a file name or an upload's name) as a credential.

    A ``.json`` file, or JSON without ``@context``, is a description; anything else is RDF of
    the format its suffix says (JSON text without a suffix is taken as JSON-LD).

    :raise CredentialError: unreadable, malformed (with the line), too large, or holding no
        ``elm:EuropeanDigitalCredential``.
    """
    if len(data) > _MAX_BYTES:
        raise _fail(name, f"the file is larger than {_MAX_BYTES >> 20} MiB")
    if not data.strip():
        raise _fail(name, "the file is empty")
    suffix = Path(name).suffix.lower()
    looks_json = data.lstrip()[:1] in (b"{", b"[")
    document: Any = None
    if suffix in (".json", ".jsonld", "") and looks_json:
        try:
            text = data.decode("utf-8")
            document = json.loads(text)
        except UnicodeDecodeError as exc:
            raise _fail(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise _fail(name, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
        except RecursionError:
            raise _fail(name, "the JSON nests too deeply to be a credential") from None
        if isinstance(document, dict) and "@context" not in document and suffix != ".jsonld":
            graph = describe(document, text, name, rules)
            return _credential(graph, name, "description")
    fmt = rdf_format_for_suffix(".jsonld") if looks_json and suffix in ("", ".json") else None
    try:
        fmt = fmt or format_for_path(Path(name))
        parsed = parse_bytes(data, fmt, source=name, into=Graph(), base="urn:mckg:upload:")
    except DataError as exc:
        raise CredentialError(str(exc)) from None
    return _credential(parsed, name, "rdf")


def _credential(graph: Graph, name: str, kind: str) -> Credential:
    if len(graph) > MAX_TRIPLES:
        raise _fail(name, f"{len(graph):,} triples: more than a credential ({MAX_TRIPLES:,} at most)")
    nodes = tuple(sorted(str(s) for s in graph.subjects(RDF.type, CREDENTIAL_CLASS)))
    if not nodes:
        raise _fail(name, "no credential found: expected a node typed elm:EuropeanDigitalCredential "
                    f"(<{CREDENTIAL_CLASS}>), or a JSON description of one")
    return Credential(graph, name, kind, nodes)


def _value(notation: str, value: Any, source: str, line: int | None,
           rules: Rules) -> list[URIRef | Literal]:
    """The RDF values of one element of a description."""
    if isinstance(value, list):
        if not value:
            raise _fail(source, f"{notation!r}: an empty list states nothing; leave the key out", line)
        return [v for item in value for v in _value(notation, item, source, line, rules)]
    if notation == "workload":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _fail(source, f"'workload' must be a number of ECTS credits, not {value!r}", line)
        try:
            credits = float(value)
        except ValueError:
            raise _fail(source, f"'workload' must be a number of ECTS credits, not {value!r}",
                        line) from None
        if not credits > 0 or credits != credits or credits == float("inf"):
            raise _fail(source, f"'workload' must be a positive number of ECTS credits, not {value!r}",
                        line)
        return [Literal(format(credits, "g"))]  # ELM states points as a string
    if notation == "level":
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
            return [URIRef(f"{EQF}{value}")]
        if isinstance(value, str) and re.fullmatch(re.escape(EQF) + r"[1-8]", value):
            return [URIRef(value)]
        raise _fail(source, f"'level' must be an EQF level 1-8 (or {EQF}N), not {value!r}", line)
    if notation == "issuer-country":
        country = rules.country(value) if isinstance(value, str) else None
        if country is None:
            raise _fail(source, f"'issuer-country': {value!r} is not a country code the graph "
                        "knows (e.g. ES, ESP) nor an EU country-table IRI", line)
        return [URIRef(country)]
    if isinstance(value, bool) and notation == "stackability":
        return [Literal(value)]
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, f"{notation!r} must be text, an IRI or a list of them, not {value!r}", line)
    if len(value) > 10_000:
        raise _fail(source, f"{notation!r}: a value longer than 10,000 characters", line)
    if _IRI.match(value):
        return [URIRef(value)]
    return [Literal(value.strip(), lang="en")]


def describe(document: dict[str, Any], text: str, source: str, rules: Rules) -> Graph:
    """The ELM graph of a JSON description (see the module docstring).

    :raise CredentialError: an unknown key, a value of the wrong kind, or an element with no
        ELM property — each naming the key and its line.
    """
    elements = rules.by_notation()
    identifier = document.get("id", "urn:mckg:credential:description")
    if not isinstance(identifier, str) or not _IRI.match(identifier):
        raise _fail(source, f"'id' must be an IRI, not {identifier!r}", _line_of(text, "id"))
    credential = URIRef(identifier)
    graph = Graph()
    graph.add((credential, RDF.type, CREDENTIAL_CLASS))
    graph.add((credential, RDF.type, URIRef(CRED + "VerifiableCredential")))
    for key, value in document.items():
        if key == "id":
            continue
        line = _line_of(text, key)
        element = elements.get(key)
        if element is None:
            raise _fail(source, f"unknown element {key!r}; a description uses the notations of "
                        f"the mc-element scheme: {', '.join(sorted(elements))}", line)
        if element.path is None:
            raise _fail(source, f"{key!r} ({element.label}) has no ELM property, so a credential "
                        "cannot state it; leave it out", line)
        values = _value(key, value, source, line, rules)
        node: URIRef = credential
        for depth, step in enumerate(element.path[:-1]):
            child = URIRef(f"{identifier}#{'.'.join(_local(p) for p in element.path[:depth + 1])}")
            graph.add((node, step, child))
            cls = NODE_CLASSES.get(str(step))
            if str(step) == ELM + "specifiedBy":
                cls = ELM + ("LearningAssessmentSpecification" if str(element.path[depth - 1]) ==
                             ELM + "provenBy" else "LearningAchievementSpecification")
            if cls:
                graph.add((child, RDF.type, URIRef(cls)))
            if str(step) == ELM + "creditPoint":
                graph.add((child, URIRef(ELM + "framework"), ECTS))
            node = child
        for item in values:
            graph.add((node, element.path[-1], item))
    return graph
