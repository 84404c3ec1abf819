"""What every view reads from the app: its query service and its public address (both set by
``create_app``)."""

from __future__ import annotations

from flask import current_app

from ..query.service import QueryService


def service() -> QueryService:
    """The app's query service."""
    svc: QueryService = current_app.extensions["mckg.service"]
    return svc


def public_url() -> str:
    """Where clients reach this server (ends in ``/``): from the settings, never from the
    request's ``Host`` or ``X-Forwarded-*`` headers, which any client can forge.

    Everything that names this server by address — the service description, VoID, JSON-LD
    context links, the query page, the base of relative IRIs in queries — is built from it.
    """
    url: str = current_app.config["MCKG_PUBLIC_URL"]
    return url

