"""The micro-credential checker: a credential against the EU and national rules the graph records.

A credential — a Europass credential (ELM JSON-LD), any RDF on ELM terms, or a short JSON
description keyed by element (:mod:`.describe`) — is checked against SHACL profiles that SPARQL
over the graph generates from the facts (:mod:`.rules`: the EU's Annex I definition, Spain's
Plan Microcreds …) and, for RDF, against the official EDC shapes (:mod:`.check`). Each verdict
names the rule's fact and source. Used by ``mckg check-credential`` and ``POST /check``.
"""

from __future__ import annotations

from .check import CheckResult, Finding, ProfileError, Verdict, check_credential
from .describe import Credential, CredentialError, read_credential
from .rules import Element, Profile, Rules

__all__ = ["CheckResult", "Credential", "CredentialError", "Element", "Finding", "Profile",
           "ProfileError", "Rules", "Verdict", "check_credential", "read_credential"]
