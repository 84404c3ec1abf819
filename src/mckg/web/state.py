"""What every view reads from the app: its query service (set by ``create_app``)."""

from __future__ import annotations

from flask import current_app

from ..query.service import QueryService


def service() -> QueryService:
    """The app's query service."""
    svc: QueryService = current_app.extensions["mckg.service"]
    return svc

