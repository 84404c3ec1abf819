"""The SHACL shapes (``shapes/mckg-shapes.ttl``) accept the shipped data and catch each defect.

- The shipped graph (``data/*.ttl`` except ``_*`` files, ``ontology/vocabularies.ttl`` and
  ``reference/**/*.ttl``) conforms, validated the way the project validates: pySHACL with the
  ontology as ``ont_graph``, ``advanced=True``, inference ``none`` and ``rdfs``; and, as
  ``mckg validate`` does, together with the OWL 2 RL inferred graph.
- ``tests/data/shapes/_context.ttl`` holds one minimal valid instance of every class and conforms
  too. Every other file there is a negative fixture: new nodes, one of them with one defect, linked
  to the context. Each must fail with results that all come from the intended shape (or a property
  shape inside it), all have the intended focus node and all carry the intended readable message.
- Every node shape is exercised by at least one fixture, every fixture is listed in ``CASES``,
  every class the data uses has its ``mckgsh:<Class>Shape``, and every constraint has a message.

Speed: validating context + one fixture takes ~0.3 s, so the fixtures are validated together, in
one graph (context + all fixtures), and each result is attributed to the fixture whose node it is
about. That is exact because (checked below) every fixture only adds subjects of its own, links
only to the context or to its own nodes, and the shapes constrain only a node's outgoing triples:
under inference ``none`` no fixture can change another's results. ``test_batch_matches_standalone``
checks this on a sample. (pySHACL's ``focus_nodes`` option is no shortcut: it also filters the value
nodes of nested shapes, so sh:or/sh:node checks would pass vacuously.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import RDF, RDFS, Graph, URIRef
from rdflib.namespace import FOAF, SH

ROOT = Path(__file__).resolve().parents[1]
SHAPES_FILE = ROOT / "shapes" / "mckg-shapes.ttl"
FIXTURES = ROOT / "tests" / "data" / "shapes"
CONTEXT_FILE = FIXTURES / "_context.ttl"
MCKG = "https://w3id.org/mckg/def#"
MCKGSH = "https://w3id.org/mckg/shapes#"
INFERENCES = ("none", "rdfs")

# (fixture in tests/data/shapes/, node shape the results must come from (mckgsh: local name),
#  focus node of every result (prefixed name from data/_prefixes.ttl), text every message contains)
CASES = [
    ("fact-no-section", "FactShape", "finding:test-no-section",
     "must name the report section it comes from"),
    ("fact-two-sources", "FactShape", "amount:test-two-sources",
     "exactly one document it is derived from"),
    ("fact-no-reported-by", "FactShape", "conflict:test-no-reported-by",
     "must name who the report credits"),
    ("fact-two-waves", "FactShape", "response:test-two-waves", "at most one survey wave"),
    ("fact-wave-credit-without-wave", "FactShape", "provision:test-no-wave",
     "must also name that wave"),
    ("link-section-footnote", "LinksShape", "finding:test-section-footnote",
     "mckg:section must point to a part of the report"),
    ("link-reported-by-organisation", "LinksShape", "finding:test-reported-by-body",
     "mckg:reportedBy must point to a source document"),
    ("link-footnote-report-part", "LinksShape", "finding:test-footnote-section",
     "mckg:footnote must point to a footnote"),
    ("link-wave-survey", "LinksShape", "finding:test-wave-survey",
     "mckg:wave must point to a survey wave"),
    ("link-derived-from-report-part", "LinksShape", "body:test-derived-from-part",
     "prov:wasDerivedFrom must point to a source document"),
    ("link-jurisdiction-organisation", "LinksShape", "policy:test-jurisdiction-body",
     "mckg:jurisdiction must point to a jurisdiction"),
    ("link-instrument-ministry", "LinksShape", "finding:test-instrument-ministry",
     "mckg:instrument must point to a policy instrument"),
    ("link-portal-programme", "LinksShape", "finding:test-portal-programme",
     "mckg:portal must point to a portal"),
    ("link-agency-university", "LinksShape", "finding:test-agency-university",
     "mckg:agency must point to a quality assurance agency"),
    ("link-budget-literal", "LinksShape", "programme:test-budget-literal",
     "mckg:budget must point to a monetary amount"),
    ("link-respondent-country", "LinksShape", "response:test-respondent-country",
     "mckg:respondent must point to an organisation"),
    ("link-responded-to-survey", "LinksShape", "response:test-responded-to-survey",
     "mckg:respondedTo must point to a survey wave"),
    ("link-represents-university", "LinksShape", "response:test-represents-university",
     "mckg:represents must point to a jurisdiction"),
    ("link-within-country-area", "LinksShape", "region:ES-AN",
     "mckg:withinCountry must point to a country"),
    ("link-issued-by-person", "LinksShape", "policy:test-issued-by-person",
     "mckg:issuedBy must point to an organisation"),
    ("link-coordinated-by-project", "LinksShape", "body:test-coordinated-by-project",
     "mckg:coordinatedBy must point to an organisation"),
    ("link-led-by-string", "LinksShape", "survey:test-led-by-string",
     "mckg:ledBy must point to an organisation"),
    ("link-part-of-instrument-report", "LinksShape", "provision:test-part-of-report",
     "mckg:partOfInstrument must point to a policy instrument"),
    ("link-defined-in-report", "LinksShape", "definition:test-defined-in-report",
     "mckg:definedIn must point to the policy instrument"),
    ("link-of-survey-wave", "LinksShape", "survey:test-wave-of-wave",
     "mckg:ofSurvey must point to a survey"),
    ("link-population-organisation", "LinksShape", "finding:test-population-body",
     "mckg:population must point to the survey"),
    ("link-in-report-part", "LinksShape", "part:fn91", "mckg:inReport must point to a report"),
    ("link-target-string", "LinksShape", "part:fn98", "mckg:target must be the web address"),
    ("link-address-string", "LinksShape", "policy:test-address-string",
     "mckg:address must be a web address written as an IRI"),
    ("link-eqf-level-literal", "LinksShape", "approach:test-eqf-literal",
     "mckg:eqfLevel must be an EQF level IRI"),
    ("link-eqf-level-out-of-range", "LinksShape", "approach:test-eqf-9",
     "mckg:eqfLevel must be an EQF level IRI"),
    ("link-about-literal", "LinksShape", "finding:test-about-literal",
     "mckg:about must point to a resource"),
    ("literal-adopted-on-year", "LiteralsShape", "policy:test-adopted-year",
     "mckg:adoptedOn is a full date"),
    ("literal-reporting-deadline-text", "LiteralsShape", "policy:test-deadline-text",
     "mckg:reportingDeadline is at most one date"),
    ("literal-period-start-string", "LiteralsShape", "amount:test-period-string",
     "mckg:periodStart is at most one date"),
    ("literal-period-end-text", "LiteralsShape", "survey:test-period-end-text",
     "mckg:periodEnd is at most one date"),
    ("literal-since-string", "LiteralsShape", "approach:test-since-string",
     "mckg:since is at most one date"),
    ("literal-as-of-two", "LiteralsShape", "finding:test-two-as-of",
     "mckg:asOf is at most one date"),
    ("literal-publication-date-datetime", "LiteralsShape", "policy:test-publication-datetime",
     "mckg:publicationDate is at most one date"),
    ("literal-target-date-string", "LiteralsShape", "finding:test-target-date-string",
     "mckg:targetDate is at most one date"),
    ("literal-ects-negative", "LiteralsShape", "definition:test-ects-negative",
     "mckg:ectsMaxExclusive is at most one number of ECTS credits"),
    ("literal-ects-integer", "LiteralsShape", "definition:test-ects-integer",
     "mckg:ectsMaxInclusive is at most one number of ECTS credits"),
    ("literal-respondent-count-negative", "LiteralsShape", "survey:test-negative-count",
     "mckg:respondentCount is at most one whole number"),
    ("literal-agency-count-decimal", "LiteralsShape", "survey:test-agency-count-decimal",
     "mckg:agencyCount is at most one whole number"),
    ("literal-order-zero", "LiteralsShape", "provision:test-order-zero",
     "mckg:order is at most one position"),
    ("literal-start-page-zero", "LiteralsShape", "part:s0",
     "mckg:startPage is at most one page number"),
    ("literal-is-target-string", "LiteralsShape", "finding:test-is-target-string",
     "mckg:isTarget is at most one boolean"),
    ("literal-exclusively-string", "LiteralsShape", "portal:test-exclusively-string",
     "mckg:exclusivelyMicroCredentials is at most one boolean"),
    ("literal-eu-member-string", "LiteralsShape", "country:XA",
     "mckg:isEUMemberState is at most one boolean"),
    ("literal-survey-partner-two", "LiteralsShape", "country:XB",
     "mckg:isSurveyPartnerCountry is at most one boolean"),
    ("literal-country-code-two", "LiteralsShape", "country:XC",
     "mckg:countryCode is at most one plain string"),
    ("literal-statement-untagged", "LiteralsShape", "finding:test-statement-untagged",
     "mckg:statement is one paraphrase"),
    ("literal-statement-not-english", "LiteralsShape", "finding:test-statement-german",
     "mckg:statement is one paraphrase"),
    ("literal-statement-two", "LiteralsShape", "finding:test-two-statements",
     "mckg:statement is one paraphrase"),
    ("literal-objective-untagged", "LiteralsShape", "programme:test-objective-untagged",
     "mckg:objective (and mckg:aim) texts"),
    ("literal-target-group-untagged", "LiteralsShape", "programme:test-target-group-untagged",
     "mckg:targetGroup texts"),
    ("literal-coverage-untagged", "LiteralsShape", "portal:test-coverage-untagged",
     "mckg:coverage is one text"),
    ("literal-scope-two", "LiteralsShape", "approach:test-two-scopes", "mckg:scope is one text"),
    ("literal-acronym-tagged", "LiteralsShape", "body:test-acronym-tagged",
     "mckg:acronym is at most one plain string"),
    ("controlled-topic-stage", "ControlledValuesShape", "finding:test-topic-stage",
     "mckg:topic must be a concept of the topic scheme"),
    ("controlled-stage-topic", "ControlledValuesShape", "approach:test-stage-topic",
     "mckg:stage must be a concept of the stage scheme"),
    ("controlled-sector-unknown", "ControlledValuesShape", "finding:test-sector-unknown",
     "mckg:sector must be a concept of the sector scheme"),
    ("controlled-requires-element-content", "ControlledValuesShape",
     "definition:test-element-content",
     "mckg:requiresElement must be a concept of the mc-element scheme"),
    ("controlled-optional-element-topic", "ControlledValuesShape", "definition:test-optional-topic",
     "mckg:optionalElement must be a concept of the mc-element scheme"),
    ("controlled-participation-status", "ControlledValuesShape", "portal:test-participation-status",
     "mckg:participation must be a concept of the participation scheme"),
    ("controlled-portal-content-element", "ControlledValuesShape", "portal:test-content-element",
     "mckg:portalContent must be a concept of the portal-content scheme"),
    ("country-no-eu-authority", "CountryShape", "country:XD", "exactly one mckg:euAuthority"),
    ("country-eu-authority-wrong-table", "CountryShape", "country:XE",
     "exactly one mckg:euAuthority"),
    ("country-code-lowercase", "CountryShape", "country:XF", "ISO 3166-1 alpha-2 code"),
    ("country-two-labels", "CountryShape", "country:XG", "A country needs exactly one rdfs:label"),
    ("country-no-member-flag", "CountryShape", "country:XH", "whether it is an EU member state"),
    ("region-no-country", "RegionShape", "region:ES-MD", "the one country it lies in"),
    ("region-code-country", "RegionShape", "region:ES-GA", "ISO 3166-2 code"),
    ("area-within-country", "SupranationalAreaShape", "area:test-within-country",
     "does not lie within a country"),
    ("area-no-label", "SupranationalAreaShape", "area:test-no-label",
     "A supranational area needs exactly one rdfs:label"),
    ("organisation-label-not-english", "OrganisationShape", "body:test-label-german",
     "An organisation needs exactly one rdfs:label, in English"),
    ("organisation-no-provenance", "OrganisationShape", "body:test-no-provenance",
     "the document it is taken from"),
    ("public-authority-two-jurisdictions", "PublicAuthorityShape", "body:test-authority",
     "the one jurisdiction it belongs to"),
    ("ministry-supranational", "MinistryShape", "body:test-ministry",
     "national or regional government"),
    ("qa-agency-no-jurisdiction", "QualityAssuranceAgencyShape", "body:test-agency-no-jurisdiction",
     "the jurisdiction(s) it works in"),
    ("qa-agency-deqar-string", "QualityAssuranceAgencyShape", "body:test-agency-deqar-string",
     "DEQAR agency record"),
    ("accreditation-org-supranational", "AccreditationOrganisationShape", "body:test-accreditor",
     "accredits within national or regional systems"),
    ("hei-no-jurisdiction", "HigherEducationInstitutionShape",
     "body:test-university-no-jurisdiction", "the one country or region it is in"),
    ("hei-supranational", "HigherEducationInstitutionShape", "body:test-university-eu",
     "the one country or region it is in"),
    ("association-no-acronym", "AssociationShape", "body:test-association", "cited by its acronym"),
    ("international-org-country", "InternationalOrganisationShape", "body:test-international",
     "does not belong to one country"),
    ("consortium-parent-project", "ConsortiumShape", "body:test-consortium",
     "at most one parent organisation"),
    ("observatory-no-jurisdiction", "ObservatoryShape", "body:test-observatory",
     "the one jurisdiction it monitors"),
    ("project-no-label", "ProjectShape", "project:test", "A project needs exactly one rdfs:label"),
    ("person-no-name", "PersonShape", "person:test-no-name", "exactly one foaf:name"),
    ("person-two-names", "PersonShape", "person:test-two-names", "exactly one foaf:name"),
    ("instrument-no-section", "PolicyInstrumentShape", "policy:test-no-section",
     "report section it is described in"),
    ("instrument-no-jurisdiction", "PolicyInstrumentShape", "policy:test-no-jurisdiction",
     "the jurisdiction it applies in"),
    ("instrument-no-provenance", "PolicyInstrumentShape", "policy:test-no-provenance",
     "the document it is taken from"),
    ("instrument-label-untagged", "PolicyInstrumentShape", "policy:test-label-untagged",
     "A policy instrument needs exactly one rdfs:label"),
    ("legal-act-issued-by-university", "LegalActShape", "law:test-issued-by-university",
     "adopted by a public authority"),
    ("legal-act-pilot", "LegalActShape", "law:test-pilot", "The stage of a legal act"),
    ("strategy-issued-by-association", "StrategyShape", "programme:test-strategy",
     "A strategy or plan is public policy"),
    ("guideline-issued-by-university", "StrategicGuidelineShape", "policy:test-guidelines",
     "Strategic guidelines are public policy guidance"),
    ("programme-two-budgets", "FundingProgrammeShape", "programme:test-two-budgets",
     "at most one budget"),
    ("call-no-issuer", "CallShape", "policy:test-call", "the body that issued it"),
    ("policy-document-no-issuer", "PolicyDocumentShape", "policy:test-document",
     "the body that published it"),
    ("recommendation-no-issuer", "RecommendationShape", "policy:test-recommendation",
     "the body that adopted it"),
    ("provision-no-instrument", "ProvisionShape", "provision:test-no-instrument",
     "must name the instrument it belongs to"),
    ("provision-two-instruments", "ProvisionShape", "provision:test-two-instruments",
     "at most one instrument"),
    ("provision-no-statement", "ProvisionShape", "provision:test-no-statement",
     "must say what it asks for"),
    ("policy-recommendation-no-order", "PolicyRecommendationShape",
     "provision:test-recommendation-no-order", "position in the source's list"),
    ("policy-recommendation-two-issuers", "PolicyRecommendationShape",
     "provision:test-recommendation-two-issuers", "the one body that makes it"),
    ("amount-negative", "MonetaryAmountShape", "amount:test-negative", "exactly one mckg:amount"),
    ("amount-integer", "MonetaryAmountShape", "amount:test-integer", "exactly one mckg:amount"),
    ("amount-currency-string", "MonetaryAmountShape", "amount:test-currency-string",
     "exactly one mckg:currency"),
    ("amount-currency-wrong-table", "MonetaryAmountShape", "amount:test-currency-country",
     "exactly one mckg:currency"),
    ("amount-no-label", "MonetaryAmountShape", "amount:test-no-label",
     "A monetary amount needs exactly one rdfs:label"),
    ("definition-no-term", "MicroCredentialDefinitionShape", "definition:test-no-term",
     "exactly one term it defines"),
    ("definition-no-instrument", "MicroCredentialDefinitionShape", "definition:test-no-instrument",
     "the instrument that gives it"),
    ("definition-ects-min-above-max", "MicroCredentialDefinitionShape",
     "definition:test-ects-min-above-max", "The ECTS minimum"),
    ("definition-text-untagged", "MicroCredentialDefinitionShape",
     "definition:test-definition-untagged", "at most one skos:definition"),
    ("portal-no-jurisdiction", "PortalShape", "portal:test-no-jurisdiction",
     "the jurisdiction it serves"),
    ("portal-two-participation", "PortalShape", "portal:test-two-participation",
     "at most one mckg:participation"),
    ("national-portal-supranational", "NationalPortalShape", "portal:test-eu-portal",
     "A national portal belongs to one country or region"),
    ("national-portal-two-countries", "NationalPortalShape", "portal:test-two-countries",
     "A national portal belongs to one country or region"),
    ("register-exclusively-micro-credentials", "RegisterShape", "portal:test-register",
     "A register is not a micro-credential portal"),
    ("credential-platform-national-portal", "CredentialPlatformShape", "portal:test-platform",
     "A credential platform is not itself a national portal"),
    ("qa-approach-two-jurisdictions", "QualityAssuranceApproachShape",
     "approach:test-two-jurisdictions", "the one jurisdiction it is used in"),
    ("qa-approach-two-agencies", "QualityAssuranceApproachShape", "approach:test-two-agencies",
     "at most one responsible agency"),
    ("finding-two-abouts", "PilotFindingShape", "finding:test-two-abouts",
     "is about exactly one jurisdiction"),
    ("finding-no-about", "FindingShape", "finding:test-no-about", "must say what it is about"),
    ("finding-no-label", "FindingShape", "finding:test-no-label",
     "A finding needs exactly one rdfs:label"),
    ("finding-no-statement", "FindingShape", "finding:test-no-statement",
     "A finding must state what it says"),
    ("mc-policy-finding-wrong-status", "MicroCredentialPolicyFindingShape",
     "finding:test-mc-policy-status", "mckg:status from the mc-policy scheme"),
    ("mc-policy-finding-two-statuses", "MicroCredentialPolicyFindingShape",
     "finding:test-mc-policy-two-statuses", "mckg:status from the mc-policy scheme"),
    ("mc-policy-finding-about-programme", "MicroCredentialPolicyFindingShape",
     "finding:test-mc-policy-about-programme", "is about a jurisdiction"),
    ("lll-finding-wrong-status", "LifelongLearningPolicyFindingShape", "finding:test-lll-status",
     "mckg:status from the lll-frame scheme"),
    ("lll-finding-about-university", "LifelongLearningPolicyFindingShape",
     "finding:test-lll-about-university", "is about a jurisdiction"),
    ("portal-finding-no-status", "PortalFindingShape", "finding:test-portal-no-status",
     "mckg:status from the portal-status scheme"),
    ("portal-finding-wrong-status", "PortalFindingShape", "finding:test-portal-status",
     "mckg:status from the portal-status scheme"),
    ("portal-finding-about-survey", "PortalFindingShape", "finding:test-portal-about-survey",
     "is about a jurisdiction"),
    ("qa-finding-wrong-status", "QualityAssuranceFindingShape", "finding:test-qa-status",
     "mckg:status from the external-qa scheme"),
    ("qa-finding-role-from-status-scheme", "QualityAssuranceFindingShape", "finding:test-qa-role",
     "at most one mckg:qaRole"),
    ("qa-finding-about-agency", "QualityAssuranceFindingShape", "finding:test-qa-about-agency",
     "is about a jurisdiction"),
    ("legislation-finding-wrong-status", "LegislationFindingShape",
     "finding:test-legislation-status", "mckg:status from the legislation scheme"),
    ("legislation-finding-about-law", "LegislationFindingShape",
     "finding:test-legislation-about-law", "is about a jurisdiction"),
    ("pilot-finding-with-status", "PilotFindingShape", "finding:test-pilot-status",
     "A pilot finding has no mckg:status"),
    ("pilot-finding-about-programme", "PilotFindingShape", "finding:test-pilot-about-programme",
     "the jurisdiction that runs the pilots"),
    ("narrative-finding-no-topic", "NarrativeFindingShape", "finding:test-no-topic",
     "at least one mckg:topic"),
    ("narrative-finding-with-status", "NarrativeFindingShape", "finding:test-narrative-status",
     "A narrative finding has no mckg:status"),
    ("figure-no-measure", "FigureShape", "finding:test-figure-no-measure",
     "exactly one mckg:measure"),
    ("figure-wrong-measure", "FigureShape", "finding:test-figure-measure",
     "exactly one mckg:measure"),
    ("figure-value-string", "FigureShape", "finding:test-figure-string",
     "exactly one number in mckg:value"),
    ("figure-wrong-qualifier", "FigureShape", "finding:test-figure-qualifier",
     "at most one mckg:qualifier"),
    ("figure-with-status", "FigureShape", "finding:test-figure-status",
     "A figure has no mckg:status"),
    ("survey-statistic-percent", "SurveyStatisticShape", "finding:test-statistic-percent",
     "between 0 and 1"),
    ("survey-statistic-no-number", "SurveyStatisticShape", "finding:test-statistic-no-number",
     "must give a share of respondents"),
    ("survey-statistic-wrong-indicator", "SurveyStatisticShape", "finding:test-statistic-indicator",
     "exactly one mckg:indicator"),
    ("survey-statistic-no-dataset", "SurveyStatisticShape", "finding:test-statistic-no-dataset",
     "exactly one data set"),
    ("survey-statistic-with-status", "SurveyStatisticShape", "finding:test-statistic-status",
     "A survey statistic has no mckg:status"),
    ("conflict-one-side", "ConflictShape", "conflict:test-one-side", "at least two sides"),
    ("conflict-wrong-kind", "ConflictShape", "conflict:test-wrong-kind",
     "exactly one mckg:conflictKind"),
    ("conflict-no-statement", "ConflictShape", "conflict:test-no-statement", "what disagrees"),
    ("conflict-no-label", "ConflictShape", "conflict:test-no-label",
     "A conflict needs exactly one rdfs:label"),
    ("source-no-title", "SourceDocumentShape", "source:test-no-title", "exactly one dct:title"),
    ("source-issued-string", "SourceDocumentShape", "source:test-issued-string",
     "exactly one dct:issued date"),
    ("source-creator-string", "SourceDocumentShape", "source:test-creator-string",
     "author(s) or issuing body as resources"),
    ("report-doi-url", "ReportShape", "source:test-doi-url", "bare DOI"),
    ("chapter-no-parent", "ChapterShape", "source:test-chapter-no-parent",
     "the one report or volume it is part of"),
    ("chapter-parent-section", "ChapterShape", "source:test-chapter-in-section",
     "the one report or volume it is part of"),
    ("report-part-no-report", "ReportPartShape", "part:s10", "the one report it belongs to"),
    ("report-part-number-integer", "ReportPartShape", "part:s11", "exactly one mckg:partNumber"),
    ("report-part-no-title", "ReportPartShape", "part:s12", "exactly one dct:title"),
    ("footnote-number-zero", "FootnoteShape", "part:fn92", "exactly one mckg:footnoteNumber"),
    ("footnote-number-string", "FootnoteShape", "part:fn93", "exactly one mckg:footnoteNumber"),
    ("footnote-no-target", "FootnoteShape", "part:fn94", "exactly one web address"),
    ("footnote-no-report", "FootnoteShape", "part:fn95", "the one report it belongs to"),
    ("survey-no-leader", "SurveyShape", "survey:test-no-leader", "who ran it"),
    ("survey-no-label", "SurveyShape", "survey:test-no-label",
     "A survey needs exactly one rdfs:label"),
    ("wave-no-survey", "SurveyWaveShape", "survey:test-wave-no-survey",
     "the one survey it is a wave of"),
    ("wave-number-string", "SurveyWaveShape", "survey:test-wave-number-string",
     "exactly one mckg:waveNumber"),
    ("response-two-respondents", "SurveyResponseShape", "response:test-two-respondents",
     "the one institution that answered"),
    ("response-no-jurisdiction", "SurveyResponseShape", "response:test-no-jurisdiction",
     "the one jurisdiction the respondent answered for"),
    ("response-no-wave", "SurveyResponseShape", "response:test-no-wave",
     "the one survey wave it answers"),
    ("concept-no-pref-label", "ConceptShape", "topic:test-no-pref-label",
     "exactly one skos:prefLabel"),
    ("concept-two-schemes", "ConceptShape", "topic:test-two-schemes",
     "exactly one mckg concept scheme"),
    ("concept-no-definition", "ConceptShape", "topic:test-no-definition",
     "exactly one skos:definition"),
]


@dataclass(frozen=True)
class Result:
    """One top-level SHACL result (nested sh:detail results of sh:node are left out)."""

    shape: str  # local name of the node shape; a property shape is reported by its node shape
    focus: URIRef
    message: str
    where: str  # focus, path and value as prefixed names, for failure messages

    def __str__(self) -> str:
        return f"mckgsh:{self.shape} | {self.where} | {self.message}"


@dataclass(repr=False)
class Env:
    """What every validation shares, loaded once per test module."""

    ontology: Graph
    shapes: Graph
    context: Graph  # ontology/vocabularies.ttl + _context.ttl
    prefixes: Graph  # only for its namespace manager (data/_prefixes.ttl)
    fixtures: dict[str, Graph]

    def expand(self, name: str) -> URIRef:
        prefix, local = name.split(":", 1)
        namespace = dict(self.prefixes.namespaces())[prefix]
        return URIRef(str(namespace) + local)

    def owner(self, shape) -> object:
        """The node shape that holds ``shape`` (itself if it is a node shape)."""
        holder = self.shapes.value(None, SH.property, shape)
        return shape if holder is None else holder


def subjects_of(graph: Graph) -> set:
    return {s for s in graph.subjects() if isinstance(s, URIRef)}


@pytest.fixture(scope="module")
def env() -> Env:
    context = Graph().parse(ROOT / "ontology" / "vocabularies.ttl")
    context.parse(CONTEXT_FILE)
    return Env(
        ontology=Graph().parse(ROOT / "ontology" / "mckg.ttl"),
        shapes=Graph().parse(SHAPES_FILE),
        context=context,
        prefixes=Graph().parse(ROOT / "data" / "_prefixes.ttl"),
        fixtures={case[0]: Graph().parse(FIXTURES / f"{case[0]}.ttl") for case in CASES},
    )


@pytest.fixture(scope="module")
def batch(env) -> dict:
    """Top-level results of validating the context with all fixtures, by focus node."""
    data = Graph()
    data += env.context
    for graph in env.fixtures.values():
        data += graph
    _conforms, results = run(env, data, "none")
    by_focus: dict = {}
    for r in results:
        by_focus.setdefault(r.focus, []).append(r)
    return by_focus


def run(env: Env, data: Graph, inference: str = "none") -> tuple[bool, list[Result]]:
    """Validate ``data`` as the project does, with a fresh copy of the shapes."""
    shapes = Graph()
    shapes += env.shapes
    conforms, report, _text = validate(
        data, shacl_graph=shapes, ont_graph=env.ontology, inference=inference,
        advanced=True, allow_warnings=True,
    )
    names = env.prefixes.namespace_manager
    results = []
    for report_node in report.subjects(RDF.type, SH.ValidationReport):
        for r in report.objects(report_node, SH.result):
            owner = env.owner(report.value(r, SH.sourceShape))
            where = [report.value(r, p) for p in (SH.focusNode, SH.resultPath, SH.value)]
            results.append(Result(
                shape=str(owner).removeprefix(MCKGSH),
                focus=report.value(r, SH.focusNode),
                message=" / ".join(str(m) for m in report.objects(r, SH.resultMessage)),
                where=" ".join(t.n3(names) if t is not None else "-" for t in where),
            ))
    return bool(conforms), sorted(results, key=str)


def shipped_data() -> Graph:
    graph = Graph()
    for path in sorted((ROOT / "data").glob("*.ttl")):
        if not path.name.startswith("_"):
            graph.parse(path)
    graph.parse(ROOT / "ontology" / "vocabularies.ttl")
    for path in sorted((ROOT / "reference").glob("**/*.ttl")):
        if not path.name.startswith("_"):
            graph.parse(path)
    return graph


# ---- the shipped data and the context conform ------------------------------------------


@pytest.mark.parametrize("inference", INFERENCES)
def test_shipped_data_conforms(env, inference):
    conforms, results = run(env, shipped_data(), inference)
    assert conforms, f"{len(results)} SHACL result(s):\n" + "\n".join(map(str, results))


def test_shipped_data_conforms_with_owl_rl_inferences(env, kg):
    """``mckg validate`` also checks the data together with the OWL 2 RL inferred graph."""
    data = kg.union(["data", "vocabularies", "reference", "esco-sample", "inferred"])
    conforms, results = run(env, data, "none")
    assert conforms, f"{len(results)} SHACL result(s):\n" + "\n".join(map(str, results))


@pytest.mark.parametrize("inference", INFERENCES)
def test_fixture_context_conforms(env, inference):
    conforms, results = run(env, env.context, inference)
    assert conforms, "\n".join(map(str, results))


# ---- each fixture fails for its one intended reason ------------------------------------


def test_fixtures_are_independent(env):
    """Each fixture adds its own subjects and links only to the context or to itself."""
    context_subjects = subjects_of(env.context)
    owners: dict = {}
    for name, graph in env.fixtures.items():
        for s in subjects_of(graph):
            assert s not in context_subjects, f"{name} changes {s} of _context.ttl"
            assert s not in owners, f"{name} and {owners.get(s)} both describe {s}"
            owners[s] = name
    for name, graph in env.fixtures.items():
        for o in graph.objects():
            assert owners.get(o, name) == name, f"{name} links to {o} of {owners.get(o)}"


@pytest.mark.parametrize(("fixture", "shape", "focus", "message"), CASES,
                         ids=[case[0] for case in CASES])
def test_fixture_fails_for_the_intended_reason(env, batch, fixture, shape, focus, message):
    path = FIXTURES / f"{fixture}.ttl"
    assert path.read_text(encoding="utf-8").startswith("# Breaks: "), "first line says what breaks"
    expected_focus = env.expand(focus)
    assert expected_focus in subjects_of(env.fixtures[fixture])
    results = [r for s in subjects_of(env.fixtures[fixture]) for r in batch.get(s, [])]
    assert results, f"{fixture} unexpectedly conforms"
    unexpected = [r for r in results
                  if (r.shape, r.focus) != (shape, expected_focus) or message not in r.message]
    assert not unexpected, (
        f"expected only {shape} on {focus} with '{message}', got:\n" + "\n".join(map(str, results)))


def test_every_result_belongs_to_a_fixture(env, batch):
    """Nothing in the batch fails on a context node (the fixtures leave the context intact)."""
    fixture_subjects = set().union(*(subjects_of(g) for g in env.fixtures.values()))
    stray = [r for focus, rs in batch.items() if focus not in fixture_subjects for r in rs]
    assert not stray, "\n".join(map(str, stray))


# One fixture for each kind of nested constraint: sh:or with sh:not and a qualified shape,
# sh:or of datatypes on literals, sh:node, sh:or of classes, node-level sh:not, node-level sh:or.
SAMPLE = [
    "fact-wave-credit-without-wave", "literal-period-start-string", "controlled-stage-topic",
    "ministry-supranational", "credential-platform-national-portal", "survey-statistic-no-number",
]


@pytest.mark.parametrize("fixture", SAMPLE)
def test_batch_matches_standalone(env, batch, fixture):
    """Validating one fixture on its own gives the same results as in the batch."""
    data = Graph()
    data += env.context
    data += env.fixtures[fixture]
    _conforms, alone = run(env, data, "none")
    subjects = subjects_of(env.fixtures[fixture])
    in_batch = sorted((r for s in subjects for r in batch.get(s, [])), key=str)
    assert alone == in_batch


# ---- coverage and form of the shapes ------------------------------------------------------


def node_shapes(shapes: Graph) -> set:
    return set(shapes.subjects(RDF.type, SH.NodeShape))


def is_targeted(shapes: Graph, shape) -> bool:
    targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
    return any(shapes.value(shape, t) is not None for t in targets)


def test_every_fixture_file_is_listed():
    files = {p.stem for p in FIXTURES.glob("*.ttl") if not p.name.startswith("_")}
    listed = [case[0] for case in CASES]
    assert len(listed) == len(set(listed)), "a fixture is listed twice"
    assert files == set(listed)


def test_every_node_shape_has_a_negative_fixture(env):
    shapes = env.shapes
    expected = {case[1] for case in CASES}
    targeted = {s for s in node_shapes(shapes) if is_targeted(shapes, s)}
    missing = sorted(str(s).removeprefix(MCKGSH) for s in targeted
                     if str(s).removeprefix(MCKGSH) not in expected)
    assert not missing, f"node shapes without a negative fixture: {missing}"
    # Helper shapes ("concept of scheme X") are reached through sh:node from a property shape
    # whose message some fixture expects.
    used = set()
    for _fixture, shape, _focus, message in CASES:
        for prop in shapes.objects(URIRef(MCKGSH + shape), SH.property):
            if any(message in str(m) for m in shapes.objects(prop, SH.message)):
                used.update(shapes.objects(prop, SH.node))
    helpers = {s for s in node_shapes(shapes) if not is_targeted(shapes, s)}
    assert helpers - used == set(), f"helper shapes no fixture reaches: {sorted(helpers - used)}"


def test_every_class_the_data_uses_has_its_shape(env):
    data = shipped_data()
    classes = {c for c in data.objects(None, RDF.type) if str(c).startswith(MCKG)}
    classes |= {FOAF.Person} & set(data.objects(None, RDF.type))
    missing = []
    for cls in sorted(classes):
        local = re.split(r"[#/]", str(cls))[-1]
        shape = URIRef(f"{MCKGSH}{local}Shape")
        if (shape, SH.targetClass, cls) not in env.shapes:
            missing.append(f"mckgsh:{local}Shape")
    assert not missing, f"classes used in data/ without a shape: {missing}"


def test_node_shapes_are_named_and_labelled(env):
    shapes = env.shapes
    for shape in node_shapes(shapes):
        name = str(shape).removeprefix(MCKGSH)
        assert isinstance(shape, URIRef) and str(shape).startswith(MCKGSH), shape
        assert name.endswith("Shape" if is_targeted(shapes, shape) else "Value"), name
        labels = list(shapes.objects(shape, RDFS.label))
        assert len(labels) == 1 and labels[0].language == "en", name


def test_every_constraint_has_a_readable_message(env):
    shapes = env.shapes
    for shape in node_shapes(shapes):
        name = str(shape).removeprefix(MCKGSH)
        for prop in shapes.objects(shape, SH.property):
            messages = list(shapes.objects(prop, SH.message))
            path = shapes.value(prop, SH.path)
            assert len(messages) == 1 and messages[0].language == "en", \
                f"{name}: the property shape on {path} needs one English sh:message"
        node_level = (SH["or"], SH["not"], SH["and"], SH.xone, SH["class"], SH["in"])
        has_node_level = any(shapes.value(shape, p) is not None for p in node_level)
        if has_node_level and is_targeted(shapes, shape):
            assert shapes.value(shape, SH.message) is not None, \
                f"{name}: node-level constraint without sh:message"


def test_shapes_use_only_shacl_terms_that_exist(env):
    """A misspelt sh: term would silently be ignored (shapes are open), so catch it here."""
    used = {t for triple in env.shapes for t in triple
            if isinstance(t, URIRef) and str(t).startswith(str(SH))}
    unknown = sorted(str(t) for t in used if t not in SH)
    assert not unknown, f"unknown SHACL terms: {unknown}"
