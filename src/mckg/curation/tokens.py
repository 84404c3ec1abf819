"""Bearer tokens for curation: kept as SHA-256 digests, compared in constant time, scoped.

A token is a random secret shown once (``mckg token new``); the settings keep only its digest,
so a leaked configuration file or log does not give write access. Every presented token is
hashed and compared with **every** configured digest by :func:`hmac.compare_digest`, so the
time taken says nothing about which digest, or how much of one, matched.

A token's **scope** lists the graphs it may write: exact graph IRIs, or prefixes ending in
``*``. The shipped layers (ontology, vocabularies, data, reference, inferred) and the audit
graph are never matched by a prefix: a token writes a layer only if it names that layer's
IRI exactly, and nothing ever writes the audit graph but the curator itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from ..build.graphs import LAYERS

#: Layers of the built graph that only a token naming them exactly may write.
SHIPPED_LAYERS = tuple(layer for layer in LAYERS if layer != "user")


class AuthError(Exception):
    """A request may not write. ``status`` is 401 (no or unknown token) or 403 (out of scope)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Token:
    """A configured token: its name (shown in the audit trail), digest and scope."""

    name: str
    digest: str
    graphs: tuple[str, ...]


def audit_graph(base: str) -> str:
    """The named graph holding the audit trail."""
    return f"{base}graph/audit"


def curated_graph(base: str) -> str:
    """Where triples written to the default graph go (the default graph is the merge)."""
    return f"{base}graph/curated"


def protected_graphs(base: str) -> set[str]:
    """Graphs a prefix in a scope never covers: the shipped layers and the audit trail."""
    return {f"{base}graph/{layer}" for layer in SHIPPED_LAYERS} | {audit_graph(base)}


def hash_token(secret: str) -> str:
    """The digest a configuration keeps for ``secret``: ``sha256:`` and 64 hex digits."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A new random token (256 bits, URL-safe)."""
    return "mckg_" + secrets.token_urlsafe(32)


class Tokens:
    """The configured tokens, checking a request's ``Authorization`` header and its scope."""

    def __init__(self, configured: Iterable[tuple[str, str, tuple[str, ...]]], base: str) -> None:
        self.tokens = tuple(Token(name, digest, tuple(graphs)) for name, digest, graphs in configured)
        self.base = base
        self._protected = protected_graphs(base)

    @property
    def enabled(self) -> bool:
        """Whether any token is configured (otherwise writing is off)."""
        return bool(self.tokens)

    def authenticate(self, authorization: str | None) -> Token:
        """The token an ``Authorization: Bearer …`` header presents.

        :raise AuthError: 401 without a bearer token, or with one that is not configured.
        """
        scheme, _, secret = (authorization or "").strip().partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise AuthError(401, "writing needs a bearer token: Authorization: Bearer TOKEN")
        presented = hash_token(secret).encode("ascii")
        found: Token | None = None
        for token in self.tokens:  # all of them, whatever matches: no early exit
            if hmac.compare_digest(presented, token.digest.encode("ascii")):
                found = token
        if found is None:
            raise AuthError(401, "the bearer token is not valid")
        return found

    def may_write(self, token: Token, graph: str) -> bool:
        """Whether ``token``'s scope covers ``graph`` (prefixes never cover protected graphs)."""
        if graph == audit_graph(self.base):
            return False
        for entry in token.graphs:
            if entry == graph:
                return True
            if entry.endswith("*") and graph.startswith(entry[:-1]) \
                    and graph not in self._protected:
                return True
        return False

    def check_scope(self, token: Token, graphs: Iterable[str]) -> None:
        """:raise AuthError: 403 naming the first graph ``token`` may not write."""
        for graph in sorted(graphs):
            if not self.may_write(token, graph):
                what = ("the audit trail, which only the curator writes"
                        if graph == audit_graph(self.base) else f"<{graph}>")
                raise AuthError(403, f"the token {token.name!r} may not write {what}; "
                                     f"this write would change it")
