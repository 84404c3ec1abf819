"""``/check``: the credential checker on the server (:mod:`mckg.credentials`).

``GET /check`` is an upload form; ``POST /check`` takes a credential — a file field
``credential`` of a form, or the request body itself (``application/ld+json``,
``application/json`` for a description or JSON-LD, ``text/turtle``) — with an optional
``country``, and answers with the verdicts of every profile, as HTML or JSON (``Accept`` or
``format=json``). The rules are read through the app's query service, like every page's; the
credential is parsed with the same guarded readers as every file (nothing is fetched). A file
that cannot be read is a 400 naming the line, never a traceback; a credential that does not
conform is still a 200: the verdict is the answer.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import BadRequest

from ..credentials import CheckResult, CredentialError, ProfileError, Rules, check_credential, read_credential
from ..linked.runner import ServiceRunner
from . import negotiation
from .linked_data import linked
from .state import service

bp = Blueprint("checker", __name__)

_HTML, _JSON = "text/html", "application/json"
#: Body media types and the file name that tells the reader their format.
_BODY_NAMES = {"application/ld+json": "upload.jsonld", "application/json": "upload.json",
               "text/turtle": "upload.ttl", "application/n-triples": "upload.nt"}
_MAX_BYTES = 2 << 20


def _rules() -> Rules:
    svc = service()
    return Rules(ServiceRunner(svc, svc.settings.base))


def _page(status: int = 200, **context: Any) -> Response:
    rules = _rules()
    html = render_template("ld/checker.html", site=linked().site, search_query="",
                           profiles=rules.profiles, **context)
    return Response(html, status, mimetype=_HTML)


def _wants() -> str:
    """HTML or JSON: ``format=json``/``format=html`` first, then ``Accept`` (HTML if neither)."""
    asked = (request.args.get("format") or request.form.get("format") or "").strip().lower()
    if asked in ("json", _JSON):
        return _JSON
    if asked in ("html", _HTML):
        return _HTML
    return negotiation.choose((_HTML, _JSON), fallback=_HTML)


def _upload() -> tuple[bytes, str]:
    """The credential's bytes and a name that tells its format.

    :raise BadRequest: nothing sent, a body of an unknown type, or too large.
    """
    if request.files:
        upload = request.files.get("credential")
        if upload is None or not upload.filename:
            raise BadRequest("send the credential as the form's 'credential' file field")
        data = upload.read(_MAX_BYTES + 1)
        name = upload.filename
    else:
        media_type = (request.mimetype or "").lower()
        if media_type not in _BODY_NAMES:
            raise BadRequest("send the credential as a form upload (field 'credential') or as a "
                             f"body of type {', '.join(_BODY_NAMES)}; got {media_type or 'none'}")
        data = request.get_data(cache=False)
        name = _BODY_NAMES[media_type]
    if not data.strip():
        raise BadRequest("the credential is empty")
    if len(data) > _MAX_BYTES:
        raise BadRequest(f"the credential is larger than {_MAX_BYTES >> 20} MiB")
    return data, name


@bp.route("/check", methods=["GET"])
def check_page() -> Response:
    """The upload form."""
    return _page()


@bp.route("/check", methods=["POST"])
def check() -> Response:
    """Check the credential sent; verdicts as HTML or JSON."""
    wants = _wants()
    country = (request.values.get("country") or "").strip() or None
    try:
        data, name = _upload()
        rules = _rules()
        credential = read_credential(data, name, rules)
        result: CheckResult = check_credential(credential, rules, country=country)
    except (BadRequest, CredentialError, ProfileError) as exc:
        message = exc.description if isinstance(exc, BadRequest) else str(exc)
        if wants == _JSON:
            body = json.dumps({"status": 400, "error": message}, ensure_ascii=False) + "\n"
            return Response(body, 400, content_type=negotiation.content_type(_JSON),
                            headers={"Vary": "Accept"})
        return _page(400, error=message, country=country)
    if wants == _JSON:
        body = json.dumps(result.as_json(), indent=1, ensure_ascii=False) + "\n"
        return Response(body, 200, content_type=negotiation.content_type(_JSON),
                        headers={"Vary": "Accept"})
    return _page(result=result, country=country)
