"""Namespaces of mckg and the one registry of prefixes.

``MCKG`` is a closed namespace, as rdflib does for W3C vocabularies: a misspelt term raises
``AttributeError`` at import or use instead of leaking a wrong IRI into published data. A test
keeps its term list equal to the terms defined in ``ontology/mckg.ttl``.
"""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace

CANONICAL_BASE = "https://w3id.org/mckg/"


class MCKG(DefinedNamespace):
    """The mckg ontology (``https://w3id.org/mckg/def#``)."""

    _NS = Namespace(CANONICAL_BASE + "def#")
    _fail = True

    AccreditationOrganisation: URIRef
    Association: URIRef
    Call: URIRef
    Chapter: URIRef
    Conflict: URIRef
    Consortium: URIRef
    Country: URIRef
    CredentialPlatform: URIRef
    Figure: URIRef
    Finding: URIRef
    Footnote: URIRef
    FundingProgramme: URIRef
    HigherEducationInstitution: URIRef
    InternationalOrganisation: URIRef
    Jurisdiction: URIRef
    LegalAct: URIRef
    LegislationFinding: URIRef
    LifelongLearningPolicyFinding: URIRef
    MicroCredentialDefinition: URIRef
    MicroCredentialPolicyFinding: URIRef
    Ministry: URIRef
    MonetaryAmount: URIRef
    NarrativeFinding: URIRef
    NationalPortal: URIRef
    Observatory: URIRef
    Organisation: URIRef
    PilotFinding: URIRef
    PolicyDocument: URIRef
    PolicyInstrument: URIRef
    PolicyRecommendation: URIRef
    Portal: URIRef
    PortalFinding: URIRef
    Project: URIRef
    Provision: URIRef
    PublicAuthority: URIRef
    QualityAssuranceAgency: URIRef
    QualityAssuranceApproach: URIRef
    QualityAssuranceFinding: URIRef
    Recommendation: URIRef
    Region: URIRef
    Register: URIRef
    Report: URIRef
    ReportPart: URIRef
    SourceDocument: URIRef
    StrategicGuideline: URIRef
    Strategy: URIRef
    SupranationalArea: URIRef
    Survey: URIRef
    SurveyResponse: URIRef
    SurveyStatistic: URIRef
    SurveyWave: URIRef
    about: URIRef
    acronym: URIRef
    address: URIRef
    adoptedOn: URIRef
    agency: URIRef
    agencyCount: URIRef
    aim: URIRef
    amount: URIRef
    asOf: URIRef
    budget: URIRef
    citationKey: URIRef
    citedIn: URIRef
    concernsCountry: URIRef
    conflictKind: URIRef
    coordinatedBy: URIRef
    countryCode: URIRef
    coverage: URIRef
    currency: URIRef
    definedIn: URIRef
    definedTerm: URIRef
    deliveryMode: URIRef
    deqarId: URIRef
    describes: URIRef
    ectsMaxExclusive: URIRef
    ectsMaxInclusive: URIRef
    ectsMinInclusive: URIRef
    elmPath: URIRef
    elmProperty: URIRef
    eqfLevel: URIRef
    euAuthority: URIRef
    exclusivelyMicroCredentials: URIRef
    footnote: URIRef
    footnoteNumber: URIRef
    hasPart: URIRef
    hasRegion: URIRef
    hasWave: URIRef
    inConflict: URIRef
    inReport: URIRef
    indicator: URIRef
    instrument: URIRef
    isEUMemberState: URIRef
    isSurveyPartnerCountry: URIRef
    isTarget: URIRef
    issuedBy: URIRef
    jurisdiction: URIRef
    ledBy: URIRef
    levelFramework: URIRef
    measure: URIRef
    objective: URIRef
    ofSurvey: URIRef
    optionalElement: URIRef
    order: URIRef
    partNumber: URIRef
    partOfInstrument: URIRef
    participation: URIRef
    periodEnd: URIRef
    periodLabel: URIRef
    periodStart: URIRef
    population: URIRef
    portal: URIRef
    portalContent: URIRef
    proportion: URIRef
    publicationDate: URIRef
    qaRole: URIRef
    qualifier: URIRef
    reinforcedBy: URIRef
    relatedTo: URIRef
    reportedBy: URIRef
    reportingDeadline: URIRef
    represents: URIRef
    requiresElement: URIRef
    respondedTo: URIRef
    respondent: URIRef
    respondentCount: URIRef
    scope: URIRef
    section: URIRef
    sector: URIRef
    side: URIRef
    since: URIRef
    sinceLabel: URIRef
    stage: URIRef
    startPage: URIRef
    statement: URIRef
    status: URIRef
    subjectOf: URIRef
    surveyQuestion: URIRef
    target: URIRef
    targetDate: URIRef
    targetGroup: URIRef
    targetPage: URIRef
    tool: URIRef
    topic: URIRef
    value: URIRef
    wave: URIRef
    waveNumber: URIRef
    withinCountry: URIRef


#: Prefix -> namespace IRI, for every prefix the project writes or shows. Serializers, the query
#: page, result tables and the JSON-LD context all draw on this one table; ``data/_prefixes.ttl``
#: must agree with it (a test checks).
PROJECT_PREFIXES: dict[str, str] = {
    "mckg": CANONICAL_BASE + "def#",
    "country": CANONICAL_BASE + "id/country/",
    "region": CANONICAL_BASE + "id/region/",
    "area": CANONICAL_BASE + "id/area/",
    "body": CANONICAL_BASE + "id/body/",
    "person": CANONICAL_BASE + "id/person/",
    "project": CANONICAL_BASE + "id/project/",
    "programme": CANONICAL_BASE + "id/programme/",
    "law": CANONICAL_BASE + "id/law/",
    "policy": CANONICAL_BASE + "id/policy/",
    "provision": CANONICAL_BASE + "id/provision/",
    "amount": CANONICAL_BASE + "id/amount/",
    "definition": CANONICAL_BASE + "id/definition/",
    "portal": CANONICAL_BASE + "id/portal/",
    "approach": CANONICAL_BASE + "id/qa-approach/",
    "finding": CANONICAL_BASE + "id/finding/",
    "conflict": CANONICAL_BASE + "id/conflict/",
    "survey": CANONICAL_BASE + "id/survey/",
    "response": CANONICAL_BASE + "id/response/",
    "source": CANONICAL_BASE + "id/source/",
    "part": CANONICAL_BASE + "id/source/mce-rr6-1/",
    "dataset": CANONICAL_BASE + "id/dataset/",
    "mcpol": CANONICAL_BASE + "vocab/mc-policy/",
    "lll": CANONICAL_BASE + "vocab/lll-frame/",
    "portalst": CANONICAL_BASE + "vocab/portal-status/",
    "eqa": CANONICAL_BASE + "vocab/external-qa/",
    "qarole": CANONICAL_BASE + "vocab/qa-role/",
    "leg": CANONICAL_BASE + "vocab/legislation/",
    "mcel": CANONICAL_BASE + "vocab/mc-element/",
    "topic": CANONICAL_BASE + "vocab/topic/",
    "stage": CANONICAL_BASE + "vocab/stage/",
    "partic": CANONICAL_BASE + "vocab/participation/",
    "pcontent": CANONICAL_BASE + "vocab/portal-content/",
    "sector": CANONICAL_BASE + "vocab/sector/",
    "measure": CANONICAL_BASE + "vocab/measure/",
    "qual": CANONICAL_BASE + "vocab/qualifier/",
    "enqa": CANONICAL_BASE + "vocab/enqa-indicator/",
    "ck": CANONICAL_BASE + "vocab/conflict-kind/",
}

#: Reused vocabularies and reference data.
STANDARD_PREFIXES: dict[str, str] = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dct": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "org": "http://www.w3.org/ns/org#",
    "bibo": "http://purl.org/ontology/bibo/",
    "qb": "http://purl.org/linked-data/cube#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "sh": "http://www.w3.org/ns/shacl#",
    "vann": "http://purl.org/vocab/vann/",
    "schema": "https://schema.org/",
    "eli": "http://data.europa.eu/eli/ontology#",
    "elm": "http://data.europa.eu/snb/model/elm/",
    "esco": "http://data.europa.eu/esco/model#",
    "eqf": "http://data.europa.eu/snb/eqf/",
    "eucountry": "http://publications.europa.eu/resource/authority/country/",
    "currency": "http://publications.europa.eu/resource/authority/currency/",
    "ceterms": "https://purl.org/ctdl/terms/",
}

PREFIXES: dict[str, str] = {**PROJECT_PREFIXES, **STANDARD_PREFIXES}


def rebase_prefixes(base: str) -> dict[str, str]:
    """Return :data:`PREFIXES` with the project's namespaces moved under ``base``."""
    return {
        name: base + iri[len(CANONICAL_BASE) :] if iri.startswith(CANONICAL_BASE) else iri
        for name, iri in PREFIXES.items()
    }
