"""A deterministic generator of a realistic policy + credential + ESCO-shaped graph.

The shipped graph is small (about 10k triples with its inferences); the people who use it join it
with ESCO, with Europass credential data and with their own survey data. To measure the endpoint
where that matters, this writes a synthetic graph of a chosen size *in the same shapes*, so the
research query mix and the competency queries do real work on it:

- **ESCO-shaped skills** (about 40 % of the triples): ``esco:Skill`` concepts with
  ``skos:prefLabel`` in English and two to four other languages, ``skos:altLabel``,
  ``dct:description``, ``esco:skillReuseLevel``, ``esco:skillType`` and a ``skos:broader``
  hierarchy under three levels of skill groups (``skos:notation`` ``S1``, ``S1.2``, ``S1.2.3``),
  as in ESCO's RDF model; occupations (``esco:Occupation``) with essential and optional skills.
- **Micro-credential specifications shaped like the European Learning Model** (about 35 %):
  ``elm:LearningAchievementSpecification`` with ``elm:creditPoint`` (framework ECTS,
  ``elm:point`` a string, as ELM has it), ``elm:EQFLevel`` pointing at the EQF level IRIs,
  ``elm:learningOutcome`` → ``elm:relatedESCOSkill``, ``elm:mode``, ``elm:language``,
  ``elm:ISCEDFCode``, ``elm:awardedBy``/``elm:awardingBody`` (a higher-education institution
  with ``elm:location``/``elm:address``/``elm:countryCode``) and, for most, an
  ``elm:accreditation`` by a quality-assurance agency.
- **Policy facts in the project's own vocabulary** (about 25 %): findings of the four survey
  kinds about countries and regions, each with its provenance (``prov:wasDerivedFrom``,
  ``mckg:section``, ``mckg:reportedBy``, ``mckg:wave``, sometimes ``mckg:footnote``), funding
  programmes with budgets (``mckg:MonetaryAmount``, ``mckg:amount`` as ``xsd:decimal``, a
  currency, a period), ministries and agencies, and national micro-credential definitions with
  ECTS bounds.

Jurisdictions the shipped data describes (Spain, Germany, …) are only referred to, never
re-described, so that the synthetic graph loaded *beside* the shipped one adds no second label to
them; the other European countries and some regions are described here. Synthetic resources
are minted under ``…/id/{kind}/synthetic-…`` (project facts) or ``urn:epass:…`` (credential
data, as Europass does), so they can never be mistaken for the report's facts.

The same ``(triples, seed)`` always gives the same bytes (one :class:`random.Random`, no set or
hash ordering, gzip written with ``mtime=0``)::

    python -m benchmarks.generate --triples 100k --out var/benchmarks/data/synthetic-100k.nt.gz
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SEED = 20240617  # the day after the Council Recommendation: any fixed number will do

# ---- namespaces -----------------------------------------------------------------------------
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
PROV = "http://www.w3.org/ns/prov#"
MCKG = "https://w3id.org/mckg/def#"
ID = "https://w3id.org/mckg/id/"
VOCAB = "https://w3id.org/mckg/vocab/"
ELM = "http://data.europa.eu/snb/model/elm/"
ESCO = "http://data.europa.eu/esco/model#"
ESCO_SKILL = "http://data.europa.eu/esco/skill/"
ESCO_OCC = "http://data.europa.eu/esco/occupation/"
ESCO_SCHEME = "http://data.europa.eu/esco/concept-scheme/"
ESCO_REUSE = "http://data.europa.eu/esco/skill-reuse-level/"
ESCO_SKILL_TYPE = "http://data.europa.eu/esco/skill-type/"
ISCO = "http://data.europa.eu/esco/isco/C"
EQF = "http://data.europa.eu/snb/eqf/"
ECTS = "http://data.europa.eu/snb/education-credit/6fcec5c5af"
ISCED_F = "http://data.europa.eu/snb/isced-f/"
MODE = "http://data.europa.eu/snb/learning-assessment/"
ACCREDITATION_TYPE = "http://data.europa.eu/snb/accreditation/"
EU_COUNTRY = "http://publications.europa.eu/resource/authority/country/"
EU_LANGUAGE = "http://publications.europa.eu/resource/authority/language/"
EU_CURRENCY = "http://publications.europa.eu/resource/authority/currency/"

TYPE = RDF + "type"
LABEL = RDFS + "label"

# ---- reference values (real IRIs from the EU vocabularies and the project's vocabularies) ----
#: Jurisdictions the shipped data already describes: referred to, not described again.
SHIPPED_COUNTRIES = ("DE", "GR", "IT", "LT", "NL", "CY", "ES", "PT", "BE", "FI", "IE", "EE", "SE",
                     "SK", "SI", "GB")
#: Countries described here: (ISO 3166 code, EU authority code, English name, EU member).
OTHER_COUNTRIES = (
    ("AT", "AUT", "Austria", True), ("BG", "BGR", "Bulgaria", True), ("HR", "HRV", "Croatia", True),
    ("CZ", "CZE", "Czechia", True), ("DK", "DNK", "Denmark", True), ("FR", "FRA", "France", True),
    ("HU", "HUN", "Hungary", True), ("LV", "LVA", "Latvia", True),
    ("LU", "LUX", "Luxembourg", True), ("MT", "MLT", "Malta", True), ("PL", "POL", "Poland", True),
    ("RO", "ROU", "Romania", True), ("NO", "NOR", "Norway", False),
    ("IS", "ISL", "Iceland", False), ("CH", "CHE", "Switzerland", False),
    ("RS", "SRB", "Serbia", False), ("AL", "ALB", "Albania", False),
    ("UA", "UKR", "Ukraine", False), ("TR", "TUR", "Türkiye", False),
)
#: Regions described here: (code, English name, country code).
REGIONS = (
    ("DE-BY", "Bavaria", "DE"), ("DE-NW", "North Rhine-Westphalia", "DE"),
    ("DE-BW", "Baden-Württemberg", "DE"), ("ES-MD", "Community of Madrid", "ES"),
    ("ES-AN", "Andalusia", "ES"), ("ES-PV", "Basque Country", "ES"),
    ("IT-LOM", "Lombardy", "IT"), ("IT-LAZ", "Lazio", "IT"), ("FR-IDF", "Île-de-France", "FR"),
    ("FR-ARA", "Auvergne-Rhône-Alpes", "FR"), ("BE-WAL", "Wallonia", "BE"),
    ("AT-9", "Vienna", "AT"), ("PL-MZ", "Masovia", "PL"), ("PT-11", "Norte", "PT"),
)
ISO3 = {"DE": "DEU", "GR": "GRC", "IT": "ITA", "LT": "LTU", "NL": "NLD", "CY": "CYP", "ES": "ESP",
        "PT": "PRT", "BE": "BEL", "FI": "FIN", "IE": "IRL", "EE": "EST", "SE": "SWE", "SK": "SVK",
        "SI": "SVN", "GB": "GBR", **{code: iso3 for code, iso3, _, _ in OTHER_COUNTRIES}}
COUNTRY_NAME = {"DE": "Germany", "GR": "Greece", "IT": "Italy", "LT": "Lithuania",
                "NL": "Netherlands", "CY": "Cyprus", "ES": "Spain", "PT": "Portugal",
                "BE": "Belgium", "FI": "Finland", "IE": "Ireland", "EE": "Estonia",
                "SE": "Sweden", "SK": "Slovak Republic", "SI": "Slovenia", "GB": "United Kingdom",
                **{code: name for code, _, name, _ in OTHER_COUNTRIES}}
#: The language a country's credentials are mostly titled in (besides English).
NATIVE = {"DE": "de", "AT": "de", "CH": "de", "LU": "fr", "FR": "fr", "BE": "nl", "ES": "es",
          "IT": "it", "PT": "pt", "NL": "nl"}
CURRENCIES = {"PL": "PLN", "CZ": "CZK", "SE": "SEK", "HU": "HUF", "DK": "DKK", "RO": "RON",
              "BG": "BGN", "NO": "NOK", "IS": "ISK", "CH": "CHF", "RS": "RSD", "AL": "ALL",
              "UA": "UAH", "TR": "TRY", "GB": "GBP"}

FINDING_KINDS = (  # (class, status values, topic, label phrase)
    ("MicroCredentialPolicyFinding",
     ("mc-policy/specific-policy", "mc-policy/within-broader-policy", "mc-policy/no-policy"),
     "policy", "policy supporting micro-credentials"),
    ("LifelongLearningPolicyFinding",
     ("lll-frame/specific-mc-policy", "lll-frame/policy", "lll-frame/strategic-guidelines",
      "lll-frame/none", "lll-frame/not-formally-recognised"),
     "lifelong-learning", "frame for lifelong learning"),
    ("PortalFinding",
     ("portal-status/national-portal", "portal-status/none-no-plans",
      "portal-status/none-provided-in-law", "portal-status/none-experimenting"),
     "portals", "national micro-credential portal"),
    ("QualityAssuranceFinding",
     ("external-qa/no-external-accreditation", "external-qa/programme-level-only",
      "external-qa/within-accredited-programmes", "external-qa/provider-level",
      "external-qa/dedicated-approach", "external-qa/under-discussion"),
     "quality-assurance", "external quality assurance of micro-credentials"),
)
SOURCES = ("mce-rr6-1", "oecd-2023a", "oecd-2023b", "enqa-2023", "microbol-2020",
           "hidalgo-jimenez-2023")
WAVES = ("mce-partner-survey-w1", "mce-partner-survey-w2")
SECTIONS = ("s3", "s4", "s5", "s6", "s7")
FOOTNOTES = tuple(f"fn{n}" for n in range(1, 15))
REUSE_LEVELS = (("transversal", 5), ("cross-sector", 3), ("sector-specific", 2),
                ("occupation-specific", 2))
MODES = ("920fbb3cbe", "9191af2ed9", "e92d221e4d", "7813801c77", "729f3bed4b")  # online … workbased
ACCREDITATION_TYPES = ("820101cba6", "bb4618238e", "e57dddfcf3")
ISCED_CODES = ("0011", "0031", "0111", "0114", "0211", "0223", "0231", "0311", "0413", "0416",
               "0421", "0488", "0511", "0541", "0610", "0612", "0613", "0688", "0712", "0713",
               "0732", "0811", "0912", "0913", "1013", "1015")
ECTS_POINTS = ("1", "2", "2.5", "3", "4", "5", "5", "6", "6", "7.5", "10", "12", "15", "20", "30")
EQF_WEIGHTS = ((4, 1), (5, 2), (6, 5), (7, 4), (8, 1))
ISCO_GROUPS = ("2310", "2320", "2330", "2341", "2351", "2356", "2359", "2422", "2511", "2512",
               "2519", "2521", "2529", "2631", "3343", "4110", "5223", "7412")

LANGUAGES = ("de", "fr", "es", "it", "pt", "nl")
#: Verbs as (en, de, fr, es, it, pt, nl).
VERBS = (
    ("apply", "anwenden", "appliquer", "aplicar", "applicare", "aplicar", "toepassen"),
    ("manage", "verwalten", "gérer", "gestionar", "gestire", "gerir", "beheren"),
    ("develop", "entwickeln", "développer", "desarrollar", "sviluppare", "desenvolver",
     "ontwikkelen"),
    ("analyse", "analysieren", "analyser", "analizar", "analizzare", "analisar", "analyseren"),
    ("design", "gestalten", "concevoir", "diseñar", "progettare", "conceber", "ontwerpen"),
    ("evaluate", "bewerten", "évaluer", "evaluar", "valutare", "avaliar", "evalueren"),
    ("teach", "unterrichten", "enseigner", "enseñar", "insegnare", "ensinar", "onderwijzen"),
    ("use", "nutzen", "utiliser", "utilizar", "utilizzare", "utilizar", "gebruiken"),
    ("monitor", "überwachen", "surveiller", "supervisar", "monitorare", "monitorizar",
     "monitoren"),
    ("communicate", "kommunizieren", "communiquer", "comunicar", "comunicare", "comunicar",
     "communiceren"),
    ("create", "erstellen", "créer", "crear", "creare", "criar", "creëren"),
    ("protect", "schützen", "protéger", "proteger", "proteggere", "proteger", "beschermen"),
    ("coordinate", "koordinieren", "coordonner", "coordinar", "coordinare", "coordenar",
     "coördineren"),
    ("assess", "beurteilen", "estimer", "valorar", "stimare", "estimar", "beoordelen"),
    ("maintain", "pflegen", "maintenir", "mantener", "mantenere", "manter", "onderhouden"),
    ("document", "dokumentieren", "documenter", "documentar", "documentare", "documentar",
     "documenteren"),
)
#: Objects as (en, de, fr, es, it, pt, nl).
OBJECTS = (
    ("digital content", "digitale Inhalte", "contenu numérique", "contenido digital",
     "contenuti digitali", "conteúdo digital", "digitale inhoud"),
    ("data", "Daten", "données", "datos", "dati", "dados", "gegevens"),
    ("learning materials", "Lernmaterialien", "supports d'apprentissage",
     "materiales de aprendizaje", "materiali didattici", "materiais de aprendizagem",
     "leermateriaal"),
    ("online assessments", "Online-Prüfungen", "évaluations en ligne", "evaluaciones en línea",
     "valutazioni online", "avaliações online", "online toetsen"),
    ("quality assurance procedures", "Qualitätssicherungsverfahren",
     "procédures d'assurance qualité", "procedimientos de garantía de calidad",
     "procedure di garanzia della qualità", "procedimentos de garantia da qualidade",
     "kwaliteitszorgprocedures"),
    ("project budgets", "Projektbudgets", "budgets de projet", "presupuestos de proyectos",
     "budget di progetto", "orçamentos de projetos", "projectbudgetten"),
    ("software tools", "Softwarewerkzeuge", "outils logiciels", "herramientas de software",
     "strumenti software", "ferramentas de software", "softwaretools"),
    ("personal data", "personenbezogene Daten", "données personnelles", "datos personales",
     "dati personali", "dados pessoais", "persoonsgegevens"),
    ("team work", "Teamarbeit", "travail d'équipe", "trabajo en equipo", "lavoro di squadra",
     "trabalho em equipa", "teamwerk"),
    ("research methods", "Forschungsmethoden", "méthodes de recherche",
     "métodos de investigación", "metodi di ricerca", "métodos de investigação",
     "onderzoeksmethoden"),
    ("sustainability practices", "Nachhaltigkeitspraktiken", "pratiques durables",
     "prácticas sostenibles", "pratiche sostenibili", "práticas sustentáveis",
     "duurzaamheidspraktijken"),
    ("customer relations", "Kundenbeziehungen", "relations clients", "relaciones con clientes",
     "relazioni con i clienti", "relações com clientes", "klantrelaties"),
    ("health and safety rules", "Arbeitsschutzvorschriften", "règles de santé et sécurité",
     "normas de salud y seguridad", "norme di salute e sicurezza",
     "regras de saúde e segurança", "gezondheids- en veiligheidsregels"),
    ("statistical models", "statistische Modelle", "modèles statistiques",
     "modelos estadísticos", "modelli statistici", "modelos estatísticos",
     "statistische modellen"),
    ("web applications", "Webanwendungen", "applications web", "aplicaciones web",
     "applicazioni web", "aplicações web", "webapplicaties"),
    ("cloud services", "Cloud-Dienste", "services cloud", "servicios en la nube",
     "servizi cloud", "serviços em nuvem", "clouddiensten"),
    ("learning analytics", "Lernanalysen", "analyse de l'apprentissage",
     "analítica del aprendizaje", "analisi dell'apprendimento", "análise da aprendizagem",
     "leeranalyses"),
    ("curricula", "Lehrpläne", "programmes d'études", "planes de estudio", "curricoli",
     "currículos", "curricula"),
    ("cybersecurity measures", "Cybersicherheitsmaßnahmen", "mesures de cybersécurité",
     "medidas de ciberseguridad", "misure di sicurezza informatica",
     "medidas de cibersegurança", "cyberbeveiligingsmaatregelen"),
    ("financial reports", "Finanzberichte", "rapports financiers", "informes financieros",
     "relazioni finanziarie", "relatórios financeiros", "financiële verslagen"),
    ("renewable energy systems", "erneuerbare Energiesysteme",
     "systèmes d'énergie renouvelable", "sistemas de energía renovable",
     "sistemi di energia rinnovabile", "sistemas de energia renovável",
     "hernieuwbare energiesystemen"),
    ("intercultural communication", "interkulturelle Kommunikation",
     "communication interculturelle", "comunicación intercultural",
     "comunicazione interculturale", "comunicação intercultural", "interculturele communicatie"),
    ("machine learning models", "Modelle des maschinellen Lernens",
     "modèles d'apprentissage automatique", "modelos de aprendizaje automático",
     "modelli di apprendimento automatico", "modelos de aprendizagem automática",
     "machinelearningmodellen"),
    ("accessibility guidelines", "Barrierefreiheitsrichtlinien", "règles d'accessibilité",
     "pautas de accesibilidad", "linee guida sull'accessibilità",
     "diretrizes de acessibilidade", "toegankelijkheidsrichtlijnen"),
)
CONTEXTS = ("", "", "", " in higher education", " in vocational training", " for small businesses",
            " in healthcare", " in public administration", " in the classroom",
            " for research projects", " in manufacturing", " in the cultural sector")
GROUP_THEMES = ("communication, collaboration and creativity", "information skills",
                "assisting and caring", "management skills", "working with computers",
                "handling and moving", "constructing", "working with machinery",
                "core skills and competences", "thinking skills", "self-management",
                "social and communication skills", "life skills", "physical and manual skills")


# ---- N-Triples writing ----------------------------------------------------------------------
_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r",
            ord("\t"): "\\t"}


def iri(value: str) -> str:
    """An IRI as an N-Triples term (generated IRIs never hold characters that need escaping)."""
    return f"<{value}>"


def literal(value: str, *, lang: str | None = None, datatype: str | None = None) -> str:
    """A literal as an N-Triples term, escaped per the N-Triples grammar."""
    text = '"' + value.translate(_ESCAPES) + '"'
    if lang:
        return f"{text}@{lang}"
    if datatype:
        return f"{text}^^<{datatype}>"
    return text


def _decimal(value: str) -> str:
    return literal(value, datatype=XSD + "decimal")


def _boolean(value: bool) -> str:
    return literal("true" if value else "false", datatype=XSD + "boolean")


def _integer(value: int) -> str:
    return literal(str(value), datatype=XSD + "integer")


# ---- the generator --------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """How many of each kind of resource a graph of ``triples`` triples gets.

    The shares are fixed; the per-resource triple counts are averages measured on this
    generator, so the total lands within a few percent of ``triples``.
    """

    triples: int
    skills: int
    groups: int
    occupations: int
    providers: int
    specs: int
    findings: int
    programmes: int
    definitions: int

    @classmethod
    def for_size(cls, triples: int) -> Plan:
        """Split ``triples``: ESCO about 42 %, credentials 33 %, policy facts 25 %.

        Planned about 3 % over ``triples``; :func:`triples` stops at exactly ``triples``
        (cutting the last definition short, the smallest and last kind).
        """
        if triples < 500:
            raise ValueError("generate at least 500 triples")
        # Jurisdictions and bodies take a fixed ~400 triples, skill groups 6 each.
        fixed = 5 * len(OTHER_COUNTRIES) + 4 * len(REGIONS) + 7 * len(SHIPPED_COUNTRIES
                                                                   + OTHER_COUNTRIES)
        budget = max(triples * 1.03 - fixed, triples * 0.3)
        skills = max(20, round(budget * 0.36 / 14.4))
        budget -= 6 * max(len(GROUP_THEMES), skills // 30)
        specs = max(5, round(budget * 0.32 / 29.5))
        return cls(
            triples=triples,
            skills=skills,
            groups=max(len(GROUP_THEMES), skills // 30),
            occupations=max(3, round(budget * 0.055 / 15.0)),
            providers=max(3, specs // 12),
            specs=specs,
            findings=max(4, round(budget * 0.15 / 10.3)),
            programmes=max(2, round(budget * 0.045 / 13.1)),
            definitions=max(1, round(budget * 0.03 / 10.8)),
        )


@dataclass
class _State:
    """What later resources link to."""

    rng: random.Random
    jurisdictions: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)  # ISO codes with a country IRI
    jurisdiction_country: dict[str, str] = field(default_factory=dict)  # IRI -> ISO code
    groups: list[str] = field(default_factory=list)
    skills: list[str] = field(default_factory=list)
    providers: list[tuple[str, str]] = field(default_factory=list)  # (IRI, country code)
    agencies: dict[str, str] = field(default_factory=dict)  # country code -> agency IRI
    ministries: dict[str, str] = field(default_factory=dict)  # country code -> ministry IRI
    programmes: list[tuple[str, str]] = field(default_factory=list)  # (IRI, jurisdiction IRI)

    def uuid(self) -> str:
        """A version-4 UUID drawn from the seeded generator (never from the OS)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def weighted(self, pairs: tuple[tuple[object, int], ...]) -> object:
        values = [v for v, _ in pairs]
        weights = [w for _, w in pairs]
        return self.rng.choices(values, weights=weights, k=1)[0]


Triple = tuple[str, str, str]


def _country_iri(code: str) -> str:
    return f"{ID}country/{code}"


def _jurisdictions(state: _State) -> Iterator[Triple]:
    """The non-shipped countries and the regions, described like the shipped ones."""
    for code in SHIPPED_COUNTRIES:
        state.countries.append(code)
        state.jurisdictions.append(_country_iri(code))
        state.jurisdiction_country[_country_iri(code)] = code
    for code, iso3, name, member in OTHER_COUNTRIES:
        s = iri(_country_iri(code))
        yield s, iri(TYPE), iri(MCKG + "Country")
        yield s, iri(LABEL), literal(name, lang="en")
        yield s, iri(MCKG + "countryCode"), literal(code)
        yield s, iri(MCKG + "euAuthority"), iri(EU_COUNTRY + iso3)
        yield s, iri(MCKG + "isEUMemberState"), _boolean(member)
        state.countries.append(code)
        state.jurisdictions.append(_country_iri(code))
        state.jurisdiction_country[_country_iri(code)] = code
    for code, name, country in REGIONS:
        region = f"{ID}region/synthetic-{code}"
        s = iri(region)
        yield s, iri(TYPE), iri(MCKG + "Region")
        yield s, iri(LABEL), literal(name, lang="en")
        yield s, iri(MCKG + "countryCode"), literal(code)
        yield s, iri(MCKG + "withinCountry"), iri(_country_iri(country))
        state.jurisdictions.append(region)
        state.jurisdiction_country[region] = country


def _bodies(state: _State) -> Iterator[Triple]:
    """A ministry and a quality-assurance agency per country (synthetic, for the links)."""
    for code in state.countries:
        name = COUNTRY_NAME[code]
        ministry = f"{ID}body/synthetic-ministry-{code.lower()}"
        agency = f"{ID}body/synthetic-qa-agency-{code.lower()}"
        yield iri(ministry), iri(TYPE), iri(MCKG + "Ministry")
        yield iri(ministry), iri(LABEL), literal(f"Ministry of Higher Education ({name})",
                                                 lang="en")
        yield iri(ministry), iri(MCKG + "jurisdiction"), iri(_country_iri(code))
        yield iri(agency), iri(TYPE), iri(MCKG + "QualityAssuranceAgency")
        yield iri(agency), iri(LABEL), literal(f"National Agency for Quality Assurance ({name})",
                                               lang="en")
        yield iri(agency), iri(MCKG + "acronym"), literal(f"NAQA-{code}")
        yield iri(agency), iri(MCKG + "jurisdiction"), iri(_country_iri(code))
        state.ministries[code] = ministry
        state.agencies[code] = agency


def _labels(state: _State, verb: int, obj: int, context: str) -> list[tuple[str, str]]:
    """English plus two to four other languages, word order as each language has it."""
    out = [("en", f"{VERBS[verb][0]} {OBJECTS[obj][0]}{context}")]
    for lang in state.rng.sample(LANGUAGES, state.rng.randint(2, 4)):
        i = LANGUAGES.index(lang) + 1
        text = (f"{OBJECTS[obj][i]} {VERBS[verb][i]}" if lang in ("de", "nl")
                else f"{VERBS[verb][i]} {OBJECTS[obj][i]}")
        out.append((lang, text))
    return out


def _skill_groups(state: _State, count: int) -> Iterator[Triple]:
    """Three levels of skill groups with ESCO-style notations (S1, S1.2, S1.2.3)."""
    top = len(GROUP_THEMES)
    per_level = max(1, round((max(count - top, 1) / 5) ** 0.5))  # level 2 ≈ √, level 3 the rest
    notations: list[tuple[str, str | None, str]] = []  # (notation, parent notation, theme)
    for t in range(top):
        notations.append((f"S{t + 1}", None, GROUP_THEMES[t]))
    second = [(f"S{t + 1}.{k + 1}", f"S{t + 1}", GROUP_THEMES[t])
              for t in range(top) for k in range(per_level)]
    notations.extend(second)
    index = 0
    while len(notations) < count and second:
        base, _, theme = second[index % len(second)]
        notations.append((f"{base}.{index // len(second) + 1}", base, theme))
        index += 1
    by_notation: dict[str, str] = {}
    for notation, parent, theme in notations:
        group = ESCO_SKILL + state.uuid()
        by_notation[notation] = group
        s = iri(group)
        yield s, iri(TYPE), iri(SKOS + "Concept")
        yield s, iri(TYPE), iri(ESCO + "MemberConcept")
        yield s, iri(SKOS + "notation"), literal(notation)
        yield s, iri(SKOS + "prefLabel"), literal(f"{theme} ({notation})", lang="en")
        yield s, iri(SKOS + "inScheme"), iri(ESCO_SCHEME + "skills-hierarchy")
        if parent is None:
            yield s, iri(SKOS + "topConceptOf"), iri(ESCO_SCHEME + "skills-hierarchy")
        else:
            yield s, iri(SKOS + "broader"), iri(by_notation[parent])
        if notation.count(".") == 2:
            state.groups.append(group)
    if not state.groups:  # tiny graphs: hang skills under the second level
        state.groups.extend(by_notation[n] for n, _, _ in second)


def _skills(state: _State, count: int) -> Iterator[Triple]:
    """``esco:Skill`` concepts; one in six is narrower than an earlier skill (knowledge trees)."""
    rng = state.rng
    for _ in range(count):
        skill = ESCO_SKILL + state.uuid()
        s = iri(skill)
        verb, obj = rng.randrange(len(VERBS)), rng.randrange(len(OBJECTS))
        context = rng.choice(CONTEXTS)
        yield s, iri(TYPE), iri(ESCO + "Skill")
        yield s, iri(TYPE), iri(SKOS + "Concept")
        yield s, iri(TYPE), iri(ESCO + "MemberConcept")
        for lang, text in _labels(state, verb, obj, context):
            yield s, iri(SKOS + "prefLabel"), literal(text, lang=lang)
        others = [v for v in range(len(VERBS)) if v != verb]
        for alt_verb in rng.sample(others, rng.choice((0, 1, 1, 2, 3))):
            yield s, iri(SKOS + "altLabel"), literal(
                f"{VERBS[alt_verb][0]} {OBJECTS[obj][0]}", lang="en")
        yield s, iri(DCT + "description"), literal(
            f"The ability to {VERBS[verb][0]} {OBJECTS[obj][0]}{context}, choosing methods and "
            f"tools that fit the task and checking the result against agreed standards.",
            lang="en")
        reuse = state.weighted(REUSE_LEVELS)
        yield s, iri(ESCO + "skillReuseLevel"), iri(f"{ESCO_REUSE}{reuse}")
        kind = "knowledge" if rng.random() < 0.15 else "skill"
        yield s, iri(ESCO + "skillType"), iri(ESCO_SKILL_TYPE + kind)
        if state.skills and rng.random() < 1 / 6:
            parent = rng.choice(state.skills)
        else:
            parent = rng.choice(state.groups)
        yield s, iri(SKOS + "broader"), iri(parent)
        yield s, iri(SKOS + "inScheme"), iri(ESCO_SCHEME + "member-skills")
        yield s, iri(SKOS + "inScheme"), iri(ESCO_SCHEME + "skills")
        state.skills.append(skill)


def _occupations(state: _State, count: int) -> Iterator[Triple]:
    rng = state.rng
    titles = ("specialist", "officer", "coordinator", "teacher", "analyst", "technician",
              "consultant", "manager")
    for _ in range(count):
        occupation = ESCO_OCC + state.uuid()
        s = iri(occupation)
        obj = OBJECTS[rng.randrange(len(OBJECTS))][0]
        yield s, iri(TYPE), iri(ESCO + "Occupation")
        yield s, iri(TYPE), iri(SKOS + "Concept")
        yield s, iri(TYPE), iri(ESCO + "MemberConcept")
        yield s, iri(SKOS + "prefLabel"), literal(f"{obj} {rng.choice(titles)}", lang="en")
        yield s, iri(ESCO + "memberOfISCOGroup"), iri(ISCO + rng.choice(ISCO_GROUPS))
        yield s, iri(SKOS + "inScheme"), iri(ESCO_SCHEME + "member-occupations")
        yield s, iri(SKOS + "inScheme"), iri(ESCO_SCHEME + "occupations")
        for skill in rng.sample(state.skills, min(len(state.skills), 5)):
            yield s, iri(ESCO + "hasEssentialSkill"), iri(skill)
        for skill in rng.sample(state.skills, min(len(state.skills), 3)):
            yield s, iri(ESCO + "hasOptionalSkill"), iri(skill)


def _providers(state: _State, count: int) -> Iterator[Triple]:
    """Higher-education institutions with an ELM location and address."""
    rng = state.rng
    kinds = ("University", "Open University", "University of Applied Sciences",
             "Technical University", "Polytechnic Institute")
    for n in range(count):
        code = rng.choice(state.countries)
        provider = f"{ID}body/synthetic-hei-{n + 1:05d}"
        s = iri(provider)
        location = f"urn:epass:location:{state.uuid()}"
        address = f"urn:epass:address:{state.uuid()}"
        yield s, iri(TYPE), iri(MCKG + "HigherEducationInstitution")
        yield s, iri(LABEL), literal(f"{rng.choice(kinds)} {n + 1} ({COUNTRY_NAME[code]})",
                                     lang="en")
        yield s, iri(MCKG + "jurisdiction"), iri(_country_iri(code))
        yield s, iri(ELM + "location"), iri(location)
        yield iri(location), iri(TYPE), iri(DCT + "Location")
        yield iri(location), iri(ELM + "address"), iri(address)
        yield iri(address), iri(TYPE), iri(ELM + "Address")
        yield iri(address), iri(ELM + "countryCode"), iri(EU_COUNTRY + ISO3[code])
        state.providers.append((provider, code))


def _specs(state: _State, count: int) -> Iterator[Triple]:
    """ELM learning-achievement specifications: the micro-credentials on offer."""
    rng = state.rng
    for _ in range(count):
        spec = f"urn:epass:learningAchievementSpec:{state.uuid()}"
        s = iri(spec)
        provider, code = rng.choice(state.providers)
        verb, obj = rng.randrange(len(VERBS)), rng.randrange(len(OBJECTS))
        yield s, iri(TYPE), iri(ELM + "LearningAchievementSpecification")
        title = f"Micro-credential: {VERBS[verb][0]} {OBJECTS[obj][0]}"
        yield s, iri(DCT + "title"), literal(title, lang="en")
        native = NATIVE.get(code)
        if native and rng.random() < 0.7:
            i = LANGUAGES.index(native) + 1
            words = (f"{OBJECTS[obj][i]} {VERBS[verb][i]}" if native in ("de", "nl")
                     else f"{VERBS[verb][i]} {OBJECTS[obj][i]}")
            yield s, iri(DCT + "title"), literal(f"Micro-credential: {words}", lang=native)
        if rng.random() < 0.5:
            yield s, iri(DCT + "description"), literal(
                f"A short course in which learners {VERBS[verb][0]} {OBJECTS[obj][0]} and "
                f"show it in a final assessment.", lang="en")
        credit = f"urn:epass:creditPoint:{state.uuid()}"
        yield s, iri(ELM + "creditPoint"), iri(credit)
        yield iri(credit), iri(TYPE), iri(ELM + "CreditPoint")
        yield iri(credit), iri(ELM + "framework"), iri(ECTS)
        yield iri(credit), iri(ELM + "point"), literal(rng.choice(ECTS_POINTS))
        yield s, iri(ELM + "EQFLevel"), iri(f"{EQF}{state.weighted(EQF_WEIGHTS)}")
        yield s, iri(ELM + "ISCEDFCode"), iri(ISCED_F + rng.choice(ISCED_CODES))
        yield s, iri(ELM + "mode"), iri(MODE + rng.choice(MODES))
        yield s, iri(ELM + "language"), iri(EU_LANGUAGE + "ENG")
        for _ in range(rng.choice((2, 3, 3, 4))):
            outcome = f"urn:epass:learningOutcome:{state.uuid()}"
            o_verb, o_obj = rng.randrange(len(VERBS)), rng.randrange(len(OBJECTS))
            yield s, iri(ELM + "learningOutcome"), iri(outcome)
            yield iri(outcome), iri(TYPE), iri(ELM + "LearningOutcome")
            yield iri(outcome), iri(DCT + "title"), literal(
                f"The learner can {VERBS[o_verb][0]} {OBJECTS[o_obj][0]}.", lang="en")
            for skill in rng.sample(state.skills, rng.choice((1, 1, 2))):
                yield iri(outcome), iri(ELM + "relatedESCOSkill"), iri(skill)
        process = f"urn:epass:awardingProcess:{state.uuid()}"
        yield s, iri(ELM + "awardedBy"), iri(process)
        yield iri(process), iri(TYPE), iri(ELM + "AwardingProcess")
        yield iri(process), iri(ELM + "awardingBody"), iri(provider)
        if rng.random() < 0.7:
            accreditation = f"urn:epass:accreditation:{state.uuid()}"
            yield s, iri(ELM + "accreditation"), iri(accreditation)
            yield iri(accreditation), iri(TYPE), iri(ELM + "Accreditation")
            yield iri(accreditation), iri(DCT + "type"), iri(
                ACCREDITATION_TYPE + rng.choice(ACCREDITATION_TYPES))
            yield iri(accreditation), iri(ELM + "accreditingAgent"), iri(state.agencies[code])


def _provenance(state: _State, s: str, *, wave: bool) -> Iterator[Triple]:
    """Where a synthetic fact comes from, shaped like the report's facts."""
    rng = state.rng
    yield s, iri(PROV + "wasDerivedFrom"), iri(f"{ID}source/mce-rr6-1")
    yield s, iri(MCKG + "section"), iri(f"{ID}source/mce-rr6-1/{rng.choice(SECTIONS)}")
    if wave:
        w = rng.choice(WAVES)
        yield s, iri(MCKG + "reportedBy"), iri(f"{ID}survey/{w}")
        yield s, iri(MCKG + "wave"), iri(f"{ID}survey/{w}")
    else:
        yield s, iri(MCKG + "reportedBy"), iri(f"{ID}source/{rng.choice(SOURCES)}")
    if rng.random() < 0.3:
        yield s, iri(MCKG + "footnote"), iri(f"{ID}source/mce-rr6-1/{rng.choice(FOOTNOTES)}")


def _name(jurisdiction: str) -> str:
    for code, name, _ in REGIONS:
        if jurisdiction.endswith("-" + code):
            return name
    return COUNTRY_NAME[jurisdiction.rsplit("/", 1)[1]]


def _findings(state: _State, count: int) -> Iterator[Triple]:
    rng = state.rng
    for n in range(count):
        cls, statuses, topic, phrase = FINDING_KINDS[n % len(FINDING_KINDS)]
        jurisdiction = rng.choice(state.jurisdictions)
        status = rng.choice(statuses)
        finding = f"{ID}finding/synthetic-{n + 1:07d}"
        s = iri(finding)
        yield s, iri(TYPE), iri(MCKG + cls)
        yield s, iri(LABEL), literal(f"{_name(jurisdiction)}: {phrase} ({status.split('/')[1]})",
                                     lang="en")
        yield s, iri(MCKG + "about"), iri(jurisdiction)
        yield s, iri(MCKG + "status"), iri(VOCAB + status)
        yield s, iri(MCKG + "topic"), iri(f"{VOCAB}topic/{topic}")
        yield s, iri(MCKG + "statement"), literal(
            f"The partner for {_name(jurisdiction)} described the {phrase}; the answer was "
            f"recorded as {status.split('/')[1].replace('-', ' ')}.", lang="en")
        if state.programmes and rng.random() < 0.2:
            yield s, iri(MCKG + "instrument"), iri(rng.choice(state.programmes)[0])
        yield from _provenance(state, s, wave=rng.random() < 0.8)


def _programmes(state: _State, count: int) -> Iterator[Triple]:
    rng = state.rng
    adjectives = ("National", "Regional", "Digital", "Green", "Upskilling", "Lifelong Learning",
                  "Recovery", "Flexible Learning")
    for n in range(count):
        jurisdiction = rng.choice(state.jurisdictions)
        code = state.jurisdiction_country[jurisdiction]
        programme = f"{ID}programme/synthetic-{n + 1:06d}"
        amount = f"{ID}amount/synthetic-{n + 1:06d}"
        s = iri(programme)
        label = f"{rng.choice(adjectives)} Micro-credential Fund {n + 1} ({_name(jurisdiction)})"
        yield s, iri(TYPE), iri(MCKG + "FundingProgramme")
        if rng.random() < 0.3:
            yield s, iri(TYPE), iri(MCKG + "Strategy")
        yield s, iri(LABEL), literal(label, lang="en")
        yield s, iri(MCKG + "jurisdiction"), iri(jurisdiction)
        yield s, iri(MCKG + "issuedBy"), iri(state.ministries[code])
        yield s, iri(MCKG + "budget"), iri(amount)
        yield from _provenance(state, s, wave=False)
        currency = CURRENCIES.get(code, "EUR") if rng.random() < 0.5 else "EUR"
        millions = rng.choice((2, 5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 100, 130, 250))
        yield iri(amount), iri(TYPE), iri(MCKG + "MonetaryAmount")
        yield iri(amount), iri(LABEL), literal(f"{label}: {currency} {millions} million",
                                               lang="en")
        yield iri(amount), iri(MCKG + "amount"), _decimal(str(millions * 1_000_000))
        yield iri(amount), iri(MCKG + "currency"), iri(EU_CURRENCY + currency)
        if rng.random() < 0.5:
            start = rng.randint(2019, 2025)
            yield iri(amount), iri(MCKG + "periodLabel"), literal(f"{start}-{start + 3}")
        state.programmes.append((programme, jurisdiction))


def _definitions(state: _State, count: int, start: int = 0) -> Iterator[Triple]:
    rng = state.rng
    terms = ("micro-credential", "micro-qualification", "short learning programme",
             "university micro-credential", "digital badge")
    for n in range(start, start + count):
        jurisdiction = rng.choice(state.jurisdictions)
        definition = f"{ID}definition/synthetic-{n + 1:05d}"
        s = iri(definition)
        yield s, iri(TYPE), iri(MCKG + "MicroCredentialDefinition")
        yield s, iri(LABEL), literal(f"{_name(jurisdiction)}: national definition {n + 1}",
                                     lang="en")
        yield s, iri(MCKG + "jurisdiction"), iri(jurisdiction)
        yield s, iri(MCKG + "definedTerm"), literal(rng.choice(terms), lang="en")
        bound = rng.choice((("ectsMaxExclusive", "15"), ("ectsMaxInclusive", "30"),
                            ("ectsMaxInclusive", "60"), ("ectsMinInclusive", "1")))
        yield s, iri(MCKG + bound[0]), _decimal(bound[1])
        for level in sorted(rng.sample(range(4, 9), rng.randint(0, 2))):
            yield s, iri(MCKG + "eqfLevel"), iri(f"{EQF}{level}")
        if state.programmes and rng.random() < 0.5:
            yield s, iri(MCKG + "definedIn"), iri(rng.choice(state.programmes)[0])
        yield from _provenance(state, s, wave=True)


def triples(size: int, seed: int = DEFAULT_SEED) -> Iterator[Triple]:
    """The synthetic graph of exactly ``size`` triples as (subject, predicate, object) terms.

    All distinct: every generated subject is fresh, and no resource repeats a statement.

    :raise ValueError: ``size`` is below 500.
    """
    plan = Plan.for_size(size)
    state = _State(random.Random(seed))
    steps: tuple[tuple[Callable[[_State, int], Iterator[Triple]], int], ...] = (
        (lambda st, _n: _jurisdictions(st), 0),
        (lambda st, _n: _bodies(st), 0),
        (_skill_groups, plan.groups),
        (_skills, plan.skills),
        (_occupations, plan.occupations),
        (_providers, plan.providers),
        (_specs, plan.specs),
        (_programmes, plan.programmes),
        (_findings, plan.findings),
        (_definitions, plan.definitions),
    )
    emitted = 0
    for step, count in steps:
        for triple in step(state, count):
            yield triple
            emitted += 1
            if emitted == size:
                return
    # The plan's averages can fall short: top up with more definitions (at least 7 triples
    # each, so this loop ends well within ``size`` rounds).
    extra = plan.definitions
    for _ in range(size):
        for triple in _definitions(state, 16, start=extra):
            yield triple
            emitted += 1
            if emitted == size:
                return
        extra += 16


def lines(size: int, seed: int = DEFAULT_SEED) -> Iterator[str]:
    """The synthetic graph as N-Triples lines (each ending in a newline)."""
    for s, p, o in triples(size, seed):
        yield f"{s} {p} {o} .\n"


def write(path: Path, size: int, seed: int = DEFAULT_SEED) -> int:
    """Write the graph to ``path`` (gzip when it ends in ``.gz``); return the triples written.

    Written to a temporary name and renamed, so a half-written file is never taken for data.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".part")
    count = 0
    with open(temp, "wb") as raw:
        sink: io.BufferedIOBase = (gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                 compresslevel=6)
                                   if path.suffix == ".gz" else raw)
        buffer: list[str] = []
        for line in lines(size, seed):
            buffer.append(line)
            count += 1
            if len(buffer) >= 10_000:
                sink.write("".join(buffer).encode("utf-8"))
                buffer.clear()
        sink.write("".join(buffer).encode("utf-8"))
        if sink is not raw:
            sink.close()
    temp.replace(path)
    return count


def parse_size(text: str) -> int:
    """``10k`` → 10,000; ``1m`` → 1,000,000; plain numbers as they are."""
    text = text.strip().lower().replace("_", "").replace(",", "")
    factor = 1
    if text.endswith("k"):
        factor, text = 1_000, text[:-1]
    elif text.endswith("m"):
        factor, text = 1_000_000, text[:-1]
    return int(float(text) * factor)


def main(argv: list[str] | None = None) -> int:
    """Command line: write one synthetic graph."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", default="10k", help="size: 10k, 100k, 1m or a number")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, required=True, help="N-Triples file (.nt or .nt.gz)")
    args = parser.parse_args(argv)
    count = write(args.out, parse_size(args.triples), args.seed)
    print(f"wrote {count:,} triples to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
