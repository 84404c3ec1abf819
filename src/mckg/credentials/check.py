"""Checking a credential against the profiles: verdicts that cite their rules.

Each profile's shapes come from the graph (:class:`~.rules.Rules`); pySHACL — the validator
``mckg validate`` uses — applies them to the credential's graph, and each result is read back
with the element, what was expected and the message that names the rule's fact and source.
RDF credentials are also checked against the official EDC shapes (shipped in ``shapes/``),
reported as they report: the official unsigned Annex I sample gets exactly their two
violations (``cred:issued`` added at signing; the issuer's ``elm:eidasLegalIdentifier``).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pyshacl import validate
from rdflib import Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH
from rdflib.paths import SequencePath
from rdflib.term import Node

from .describe import Credential
from .rules import MCKG, Profile, Rules

_SHAPES = Path(__file__).resolve().parent / "shapes"
EDC_FILES = ("EDC-generic-full.ttl", "EDC-generic-no-cv.ttl")
EDC_PROFILE = "http://data.europa.eu/snb/model/ap/edc-generic-full"
#: pySHACL evaluates SPARQL constraints with rdflib's engine, which is not safe to run in two
#: threads at once (its parser keeps global state): one check at a time per process.
_LOCK = threading.Lock()


class ProfileError(ValueError):
    """A profile was asked for that the graph does not have."""


@dataclass
class Finding:
    """One element missing or wrong, with what was expected and where the rule comes from."""

    message: str
    element: str | None = None
    element_label: str | None = None
    expected: str | None = None
    value: str | None = None
    path: str | None = None
    focus: str | None = None
    severity: str = "Violation"


@dataclass
class Verdict:
    """A profile's answer: conforms or not, its findings (violations first, then ``Info``: an
    optional element the credential does not state), and what it could not check."""

    profile: str
    label: str
    source: str
    conforms: bool
    findings: list[Finding] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    jurisdiction: str | None = None
    code: str | None = None
    #: The report part the profile's fact comes from, and whom the report credits for it.
    section: str | None = None
    reported_by: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    """Every verdict for one credential."""

    source: str
    kind: str
    triples: int
    credentials: tuple[str, ...]
    verdicts: list[Verdict]

    @property
    def conforms(self) -> bool:
        return all(v.conforms for v in self.verdicts)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the server's ``application/json`` answer)."""
        out = asdict(self)
        out["credentials"] = list(self.credentials)
        out["conforms"] = self.conforms
        return out

    def as_text(self) -> str:
        """What ``mckg check-credential`` prints."""
        lines = [f"{self.source}: {', '.join(self.credentials)} ({self.kind}, {self.triples} triples)"]
        for v in self.verdicts:
            problems = [f for f in v.findings if f.severity == "Violation"]
            state = "conforms" if v.conforms else f"does not conform ({len(problems)} problem" \
                f"{'' if len(problems) == 1 else 's'})"
            lines.append(f"{v.label} [{v.source}]: {state}")
            lines += [f"  - {f.message}" if f.severity == "Violation" else f"  · {f.message}"
                      for f in v.findings]
            lines += [f"  · not checked: {n}" for n in v.not_checked]
        return "\n".join(lines)


@cache
def edc_shapes() -> Graph:
    """The official EDC shapes (both files: ``full`` imports ``no-cv``), read once."""
    graph = Graph()
    for name in EDC_FILES:
        graph.parse(_SHAPES / name, format="turtle")
    return graph


def _run(data: Graph, shapes: Graph) -> tuple[bool, Graph]:
    with _LOCK:
        conforms, report, _ = validate(data, shacl_graph=shapes, inference="none",
                                       allow_warnings=True)
    return bool(conforms), report


def _path_text(path: Node | None, report: Graph) -> str | None:
    if path is None:
        return None
    if (path, RDF.first, None) in report:
        return " / ".join(report.namespace_manager.normalizeUri(p) for p in Collection(report, path))
    if isinstance(path, SequencePath):
        return str(path)
    return report.namespace_manager.normalizeUri(path) if isinstance(path, URIRef) else str(path)


def _findings(report: Graph, shapes: Graph, labels: dict[str, str]) -> list[Finding]:
    found = []
    nested = set(report.objects(None, SH.detail))  # causes, reported with their parent result
    for result in report.subjects(RDF.type, SH.ValidationResult):
        if result in nested:
            continue
        source = report.value(result, SH.sourceConstraint) or report.value(result, SH.sourceShape)
        element = shapes.value(source, URIRef(MCKG + "element")) if source is not None else None
        expected = shapes.value(source, URIRef(MCKG + "expected")) if source is not None else None
        message = report.value(result, SH.resultMessage)
        value = report.value(result, SH.value)
        severity = report.value(result, SH.resultSeverity)
        found.append(Finding(
            message=str(message) if message is not None else "does not conform",
            element=str(element) if element is not None else None,
            element_label=labels.get(str(element)) if element is not None else None,
            expected=str(expected) if expected is not None else None,
            value=str(value) if value is not None else None,
            path=_path_text(report.value(result, SH.resultPath), report),
            focus=str(report.value(result, SH.focusNode)),
            severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation"))
    return sorted(found, key=lambda f: (f.severity != "Violation", f.element or "~", f.message))


def select_profiles(rules: Rules, credential: Credential, country: str | None) -> list[Profile]:
    """The EU profile, plus ``country``'s (``all``: every profile) or, without one, the
    profile of the country that awards the credential, if the graph has one.

    :raise ProfileError: ``country`` has no profile in the graph.
    """
    profiles = rules.profiles
    chosen = [p for p in profiles if p.code == "EU"]
    if country and country.strip().lower() == "all":
        return profiles
    if country:
        wanted = country.strip().upper()
        national = [p for p in profiles if (p.code or "").upper() == wanted
                    or (p.eu_authority or "").rsplit("/", 1)[-1] == wanted]
        if not national:
            known = ", ".join(sorted({p.code for p in profiles if p.code}))
            raise ProfileError(f"no profile for {country!r}: the graph records requirements for "
                               f"{known} (or use 'all')")
        return chosen + [p for p in national if p not in chosen]
    issuer = rules.by_notation().get("issuer-country")
    if issuer is not None and issuer.path:
        path = SequencePath(*issuer.path) if len(issuer.path) > 1 else issuer.path[0]
        for node in credential.nodes:
            for country_iri in credential.graph.objects(URIRef(node), path):
                national_profile = rules.profile_for_country(str(country_iri))
                if national_profile is not None and national_profile not in chosen:
                    chosen.append(national_profile)
    return chosen


def check_profile(rules: Rules, credential: Credential, profile: Profile) -> Verdict:
    """The verdict of one profile generated from the graph."""
    shapes = rules.shapes(profile)
    labels = {e.iri: e.label for e in rules.elements.values()}
    conforms, report = _run(credential.graph, shapes)
    not_checked = [f"{e.label}: no ELM property carries it, so no credential can show it"
                   for e in rules.required(profile) if e.path is None]
    return Verdict(profile.iri, profile.label, profile.source, conforms,
                   _findings(report, shapes, labels), not_checked,
                   profile.jurisdiction, profile.code, profile.section, list(profile.reported_by))


def check_edc(credential: Credential) -> Verdict:
    """The verdict of the official EDC generic shapes."""
    shapes = edc_shapes()
    conforms, report = _run(credential.graph, shapes)
    findings = _findings(report, shapes, {})
    for finding in findings:  # name the nested cause (pySHACL reports the issuer's shape)
        if finding.path == "cred:issuer" or finding.message.startswith("Value does not conform"):
            finding.message = _nested_message(report, finding) or finding.message
    return Verdict(EDC_PROFILE, "Europass: official EDC generic shapes",
                   "European Learning Model v3, EDC-generic-full and -no-cv (shipped copies)",
                   conforms, findings)


def _nested_message(report: Graph, finding: Finding) -> str | None:
    for result in report.subjects(SH.focusNode, None):
        detail = report.value(result, SH.detail)
        if detail is None or str(report.value(result, SH.focusNode)) != finding.focus:
            continue
        path = report.value(detail, SH.resultPath)
        message = report.value(detail, SH.resultMessage)
        if path is not None and message is not None:
            return f"{finding.path}: {message} ({report.namespace_manager.normalizeUri(path)})"
    return None


def check_credential(credential: Credential, rules: Rules, *, country: str | None = None,
                     edc: bool | None = None) -> CheckResult:
    """Check ``credential`` against the EU profile, the national one(s) and — for RDF input,
    or when ``edc`` says so — the official EDC shapes.

    :raise ProfileError: ``country`` has no profile.
    """
    verdicts = [check_profile(rules, credential, p) for p in select_profiles(rules, credential, country)]
    if edc if edc is not None else credential.kind == "rdf":
        verdicts.append(check_edc(credential))
    return CheckResult(credential.source, credential.kind, credential.triples, credential.nodes,
                       verdicts)


__all__ = ["CheckResult", "Finding", "ProfileError", "Verdict", "check_credential"]
