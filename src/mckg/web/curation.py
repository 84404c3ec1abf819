"""Curation over HTTP: SPARQL 1.1 Update, the Graph Store HTTP Protocol, the audit trail.

=====================================  ===========================================================
``POST /update``                       SPARQL 1.1 Update (form ``update=`` or
                                       ``application/sparql-update``); a bearer token
``GET|HEAD /graphs?graph=IRI``         a named graph as RDF (public, like every read)
``GET|HEAD /graphs?default``           the default graph: the merge of every named graph
``PUT|POST|DELETE /graphs?graph=IRI``  replace, add to (also multipart), drop a named graph; a token
``POST /graphs?default``               add to the default graph (the triples go to the curated graph)
``POST /graphs``                       a new graph ``{base}graph/new/…`` (201, ``Location``); a token
``GET /curation``                      the audit trail (HTML, or JSON by ``Accept``)
``POST /curation/revert?id=ID``        undo one write (itself audited); a token
=====================================  ===========================================================

Writing is off unless tokens are configured (``Settings.tokens``): then every write needs
``Authorization: Bearer TOKEN`` (401 with ``WWW-Authenticate: Bearer`` otherwise) whose scope
covers every graph the write changes (403). Views only speak HTTP; the writes themselves are
:class:`mckg.curation.curator.Curator`'s. Every RDF body is read by :mod:`mckg.rdf.files`
(no remote JSON-LD context at any level, no DTD); ``LOAD`` and ``SERVICE`` are refused before
any engine sees the update.
"""

from __future__ import annotations

import atexit
import json
import re
import threading
import uuid
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request
from rdflib import Dataset, Graph
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)

from ..build.validation import ValidationReport
from ..curation.curator import Curator, Invalid, Outcome
from ..curation.tokens import AuthError, Token
from ..curation.transaction import WriteRefused, WriteRequest
from ..linked.runner import ServiceRunner
from ..query.check import _NOT_CODE, check_structure
from ..rdf.files import DataError, parse_bytes
from ..rdf.formats import rdf_format_for_media_type
from ..store.results import GRAPH_OUTPUTS
from . import negotiation
from .linked_data import _html
from .state import public_url, service

bp = Blueprint("curation", __name__)

_FORM = "application/x-www-form-urlencoded"
_UPDATE = "application/sparql-update"
_MULTIPART = "multipart/form-data"
_JSON = "application/json"
_TURTLE = "text/turtle"
_OFF = ("this server is read-only: writing over HTTP is off (configure tokens to turn it "
        "on; see docs/curation.md)")
#: Update operations refused before any engine sees them: they fetch URLs.
#: (A keyword, not a prefixed name's local part such as ``ex:service`` or a variable.)
_REFUSED = re.compile(r"(?<![\w:?$-])(LOAD|SERVICE)(?![\w:-])", re.IGNORECASE)
_curator_lock = threading.Lock()


def curator() -> Curator:
    """The app's curator, made at the first write (its worker starts then)."""
    found: Curator | None = current_app.extensions.get("mckg.curator")
    if found is not None:
        return found
    with _curator_lock:
        found = current_app.extensions.get("mckg.curator")
        if found is None:
            svc = service()
            found = Curator(svc, current_app.extensions.get("mckg.settings") or svc.settings)
            current_app.extensions["mckg.curator"] = found
            atexit.register(found.close)
    return found


def _settings() -> Any:
    return current_app.extensions.get("mckg.settings") or service().settings


def _token() -> Token:
    """The request's token, checked.

    :raise 403: writing is off. :raise 401: no or unknown bearer token.
    """
    if not _settings().tokens:
        raise Forbidden(_OFF)
    try:
        return curator().tokens.authenticate(request.headers.get("Authorization"))
    except AuthError as exc:
        raise Unauthorized(exc.message, www_authenticate=_challenge(exc)) from None


def _challenge(exc: AuthError) -> Any:
    from werkzeug.datastructures import WWWAuthenticate

    params = {"realm": "mckg"}
    if "not valid" in exc.message:
        params["error"] = "invalid_token"
    return WWWAuthenticate("bearer", params)


def _body(limit: int, what: str) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"{what} is larger than the limit of {limit} bytes")
    data = request.get_data(cache=False)
    if len(data) > limit:
        raise RequestEntityTooLarge(f"{what} is larger than the limit of {limit} bytes")
    return data


@bp.before_request
def _limits() -> None:
    """Bodies of writes may be larger than the query endpoint's (``max_graph_bytes``)."""
    settings = _settings()
    if request.endpoint == "curation.graphs":
        request.max_content_length = settings.max_graph_bytes + 64 * 1024
        request.max_form_memory_size = settings.max_graph_bytes + 64 * 1024
    elif request.endpoint == "curation.update":
        request.max_content_length = settings.max_update_bytes * 3 + 64 * 1024
        request.max_form_memory_size = settings.max_update_bytes * 3 + 64 * 1024


# ---- /update -------------------------------------------------------------------------------

def _update_text() -> str:
    """The one update of the request (SPARQL 1.1 Protocol §2.2).

    :raise 400: none, several, beside a query, or ``using-graph-uri`` (not supported).
    :raise 413: over ``max_update_bytes``. :raise 415: another body.
    """
    limit = _settings().max_update_bytes
    if request.mimetype == _UPDATE:
        charset = request.mimetype_params.get("charset", "utf-8").strip().lower()
        if charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"{_UPDATE} is UTF-8 text; charset={charset} is not accepted")
        try:
            updates = [_body(limit, "the update").decode("utf-8")]
        except UnicodeDecodeError:
            raise BadRequest("the update is not valid UTF-8 text") from None
        params = request.args
    elif request.mimetype == _FORM:
        params = request.form
        updates = params.getlist("update")
    else:
        raise UnsupportedMediaType(f"an update is POSTed as {_FORM} (update=) or {_UPDATE}, "
                                   f"not {request.mimetype or 'a body without Content-Type'}")
    if params.getlist("query") or request.args.getlist("query"):
        raise BadRequest("a request carries a query or an update, not both")
    if len(updates) != 1:
        raise BadRequest("no update: send it as the update= parameter or as an "
                         f"{_UPDATE} body" if not updates else
                         f"the update= parameter is given {len(updates)} times; send exactly one")
    text = updates[0]
    if len(text.encode("utf-8")) > limit:
        raise RequestEntityTooLarge(f"the update is longer than the limit of {limit} bytes")
    if not text.strip():
        raise BadRequest("the update is empty")
    using = [*request.args.getlist("using-graph-uri"), *(
        params.getlist("using-graph-uri") if params is not request.args else [])]
    named = [*request.args.getlist("using-named-graph-uri"), *(
        params.getlist("using-named-graph-uri") if params is not request.args else [])]
    return with_using(text, using, named) if using or named else text


_WORD = re.compile(r"[A-Za-z_]+|[{}]")


def with_using(text: str, using: list[str], named: list[str]) -> str:
    """``text`` with the protocol's ``using-graph-uri``/``using-named-graph-uri`` written as
    ``USING``/``USING NAMED`` clauses before the ``WHERE`` of every ``DELETE``/``INSERT``
    operation (SPARQL 1.1 Protocol §2.2.3).

    :raise 400: an IRI that is not absolute, or the update has ``USING`` or ``WITH`` itself
        (the protocol calls that an error).
    """
    for iri in (*using, *named):
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\]*$", iri):
            raise BadRequest(f"not an absolute IRI: {iri!r} (using-graph-uri and "
                             "using-named-graph-uri take graph IRIs)")
    code = _NOT_CODE.sub(lambda m: " " * len(m.group()), text)
    clause = "".join(f"USING <{g}> " for g in using) + \
        "".join(f"USING NAMED <{g}> " for g in named)
    depth, previous, cuts = 0, "", []
    for token in _WORD.finditer(code):
        word = token.group()
        if word == "{":
            depth += 1
        elif word == "}":
            depth -= 1
        elif depth == 0 and word.upper() in ("USING", "WITH"):
            raise BadRequest(f"the update has {word.upper()} and the request using-graph-uri or "
                             "using-named-graph-uri: the protocol allows one or the other")
        elif depth == 0 and word.upper() == "WHERE" and previous == "}":
            cuts.append(token.start())
        previous = word
    for cut in reversed(cuts):
        text = text[:cut] + clause + text[cut:]
    return text


def _refuse_fetches(text: str) -> None:
    """:raise 403: ``LOAD`` or ``SERVICE`` outside strings, IRIs and comments.
    :raise 400: a codepoint escape outside them."""
    code = _NOT_CODE.sub(lambda m: " " * len(m.group()), text)
    if "\\u" in code or "\\U" in code:  # a codepoint escape could spell a keyword
        raise BadRequest("codepoint escapes (\\u, \\U) are accepted in strings and IRIs of an "
                         "update, not elsewhere")
    found = _REFUSED.search(code)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
        raise Forbidden(f"{found.group().upper()} is refused: this server fetches nothing a "
                        f"request names (line {line}, column {column})")


@bp.route("/update", methods=["POST"])
def update() -> Response:
    """Run one SPARQL Update for a token, SHACL-gated and audited."""
    token = _token()
    text = _update_text()
    _refuse_fetches(text)
    check_structure(text)  # nesting bounded before the engine's parser sees it
    request_ = WriteRequest(kind="update", text=text, base_iri=public_url() + "update")
    return _written(_do(token, request_, operation="update", text=text))


# ---- /graphs -------------------------------------------------------------------------------

#: Where a ``POST`` to the graph store itself puts the new graph (SPARQL 1.1 Graph Store
#: HTTP Protocol §5.5): a token writes there if its scope covers ``{base}graph/new/*``.
_NEW_GRAPHS = "graph/new/"
_NEW = "new"


def _target() -> str | None:
    """The graph the request names (``graph=IRI``), None for ``default``, or :data:`_NEW` for a
    ``POST`` naming none (the protocol's "create a new graph").

    :raise 400: both, neither (other than that POST), or not an absolute IRI.
    """
    graphs = request.args.getlist("graph")
    default = "default" in request.args
    if not graphs and not default and request.method == "POST":
        return _NEW
    if default == bool(graphs) or len(graphs) > 1:
        raise BadRequest("name exactly one graph: ?graph=IRI or ?default")
    if default:
        return None
    iri = graphs[0]
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\]*$", iri):
        raise BadRequest(f"not an absolute IRI: {iri!r}")
    return iri


def _read_rdf(data: bytes, mimetype: str, source: str, base: str) -> Graph:
    """Triples of a body, read by the safe parsers.

    :raise 415: not an RDF triple format. :raise 400: malformed (with line and column).
    """
    fmt = rdf_format_for_media_type(mimetype)
    if fmt is None or fmt.quads:
        raise UnsupportedMediaType(f"{mimetype or 'no Content-Type'} is not an RDF format of "
                                   "triples (Turtle, N-Triples, RDF/XML, JSON-LD …)")
    try:
        parsed = parse_bytes(data, fmt, source=source, base=base)
    except DataError as exc:
        raise BadRequest(str(exc)) from None
    if isinstance(parsed, Dataset):
        graph = Graph()
        for s, p, o, _ in parsed.quads((None, None, None, None)):
            graph.add((s, p, o))
        return graph
    return parsed


def _graph_body(graph: str) -> bytes:
    """The N-Triples of the request's RDF body (or of every part of a multipart POST)."""
    limit = _settings().max_graph_bytes
    merged = Graph()
    if request.mimetype == _MULTIPART:
        if request.method != "POST":
            raise UnsupportedMediaType("multipart bodies are for POST")
        parts = list(request.files.items(multi=True))
        if not parts:
            raise BadRequest("the multipart body has no file parts")
        for name, part in parts:
            data = part.read(limit + 1)
            if len(data) > limit:
                raise RequestEntityTooLarge(f"part {name!r} is larger than {limit} bytes")
            for triple in _read_rdf(data, part.mimetype, f"part {name!r}", graph):
                merged.add(triple)
    else:
        data = _body(limit, "the graph")
        for triple in _read_rdf(data, request.mimetype, "the request body", graph):
            merged.add(triple)
    out = merged.serialize(format="nt", encoding="utf-8")
    return out if isinstance(out, bytes) else out.encode("utf-8")


@bp.route("/graphs", methods=["GET", "PUT", "POST", "DELETE"])
def graphs() -> Response:
    """The Graph Store HTTP Protocol, indirect graph identification."""
    target = _target()
    if request.method in ("GET", "HEAD"):
        return _get_graph(target)
    token = _token()
    base = _settings().base
    if target == _NEW:
        return _new_graph(token, f"{base}{_NEW_GRAPHS}{uuid.uuid4().hex}")
    if target is None:
        if request.method != "POST":
            raise MethodNotAllowed(["GET", "HEAD", "POST"],
                                   "the default graph is the merge of every named graph: it "
                                   "can be added to (the triples go to the curated graph), "
                                   "not replaced or dropped; name a graph with ?graph=IRI")
        target_graph = f"{base}graph/curated"
    else:
        target_graph = target
    if request.method == "DELETE":
        if target_graph not in service().counts():
            raise NotFound(f"there is no graph <{target_graph}>")
        write = WriteRequest(kind="delete", graph=target_graph)
        return _written(_do(token, write, operation="delete", text=f"DELETE <{target_graph}>",
                            target=target_graph))
    body = _graph_body(target_graph)
    kind = "put" if request.method == "PUT" else "post"
    write = WriteRequest(kind=kind, graph=target_graph, data=body)
    outcome = _do(token, write, operation=kind, text=f"{kind.upper()} <{target_graph}>\n"
                  + body.decode("utf-8"), target=target_graph)
    return _written(outcome, status=201 if outcome.created and kind == "put" else 200)


def _new_graph(token: Token, graph: str) -> Response:
    """``POST`` to the graph store: a new graph holding the body; 201 with its ``Location``."""
    body = _graph_body(graph)
    write = WriteRequest(kind="post", graph=graph, data=body)
    outcome = _do(token, write, operation="post", text=f"POST (new graph) <{graph}>\n"
                  + body.decode("utf-8"), target=graph)
    response = _written(outcome, status=201)
    response.headers["Location"] = public_url() + "graphs?" + urlencode({"graph": graph})
    return response


def _get_graph(target: str | None) -> Response:
    """A graph as negotiated RDF, read through the query service (workers, cache)."""
    svc = service()
    if target is not None and target not in svc.counts():
        raise NotFound(f"there is no graph <{target}>")
    chosen = negotiation.choose(GRAPH_OUTPUTS, formats=negotiation.format_values(request.args))
    text = ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }" if target is None else
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{target}> {{ ?s ?p ?o }} }}")
    answer = svc.run(text, svc.check(text), chosen)
    response = Response(answer.body, 200, content_type=negotiation.content_type(chosen))
    response.headers["Vary"] = "Accept"
    if answer.truncated:
        response.headers["X-MCKG-Truncated"] = "true"
    return response


# ---- doing a write, answering for it --------------------------------------------------------

def _do(token: Token, write: WriteRequest, *, operation: str, text: str,
        target: str | None = None) -> Outcome:
    """Hand the write to the curator; its refusals become HTTP answers."""
    try:
        return curator().write(token, write, operation=operation, text=text, target=target)
    except AuthError as exc:
        raise Forbidden(exc.message) from None
    except WriteRefused as exc:
        raise _refusal(exc) from None
    except Invalid as exc:
        raise HTTPException(response=invalid_response(exc.report)) from None


def _refusal(exc: WriteRefused) -> Exception:
    from .errors import for_status

    return for_status(exc.status, exc.message)


def invalid_response(report: ValidationReport) -> Response:
    """422 with the SHACL results about the focus nodes: JSON, Turtle or text by ``Accept``."""
    chosen = negotiation.choose((_JSON, _TURTLE, negotiation.PLAIN, negotiation.PROBLEM),
                                fallback=_JSON)
    results = [{"severity": v.severity, "focusNode": v.focus, "resultPath": v.path,
                "value": v.value, "sourceShape": v.shape, "message": v.message}
               for v in report.violations]
    if chosen == _TURTLE:
        body = _report_turtle(report).encode("utf-8")
    elif chosen == negotiation.PLAIN:
        body = ("422 Unprocessable Content: the write does not conform to the shapes; nothing "
                "was written.\n" + report.text() + "\n").encode("utf-8")
    else:
        body = (json.dumps({"type": "about:blank", "title": "Unprocessable Content",
                            "status": 422, "detail": "the write does not conform to the "
                            "shapes; nothing was written", "conforms": False,
                            "results": results}, ensure_ascii=False, indent=1) + "\n").encode()
    response = Response(body, 422, content_type=negotiation.content_type(chosen))
    response.headers["Vary"] = "Accept"
    return response


def _report_turtle(report: ValidationReport) -> str:
    """The results as a SHACL validation report in Turtle."""
    from rdflib import BNode, Literal, URIRef
    from rdflib.namespace import RDF, SH

    graph = Graph()
    graph.bind("sh", SH)
    root = BNode()
    graph.add((root, RDF.type, SH.ValidationReport))
    graph.add((root, SH.conforms, Literal(report.conforms)))

    def node(text: str | None) -> Any:
        if text is None:
            return None
        return BNode(text[2:]) if text.startswith("_:") else URIRef(text) \
            if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$", text) else Literal(text)

    for v in report.violations:
        result = BNode()
        graph.add((root, SH.result, result))
        graph.add((result, RDF.type, SH.ValidationResult))
        graph.add((result, SH.resultSeverity, SH[v.severity]))
        graph.add((result, SH.focusNode, node(v.focus)))
        graph.add((result, SH.sourceShape, node(v.shape)))
        graph.add((result, SH.resultMessage, Literal(v.message)))
        if v.path:
            graph.add((result, SH.resultPath, node(v.path)))
        if v.value:
            graph.add((result, SH.value, node(v.value)))
    return graph.serialize(format="turtle")


def _written(outcome: Outcome, *, status: int = 200) -> Response:
    """The answer to an accepted write: what it did, in headers and a small JSON body."""
    change = outcome.prepared.change
    body = {"write": outcome.id, "added": change.n_added, "removed": change.n_removed,
            "graphs": list(change.graphs), "focusNodes": outcome.prepared.focus,
            "conforms": outcome.prepared.report.conforms,
            "seconds": {k: round(v, 4) for k, v in outcome.prepared.seconds.items()}}
    response = Response(json.dumps(body) + "\n", status, content_type=_JSON)
    if outcome.id:
        response.headers["X-MCKG-Write"] = outcome.id
    response.headers["X-MCKG-Triples-Added"] = str(change.n_added)
    response.headers["X-MCKG-Triples-Removed"] = str(change.n_removed)
    response.headers["Server-Timing"] = ", ".join(
        f"{k};dur={v * 1000:.1f}" for k, v in outcome.prepared.seconds.items())
    return response


# ---- the audit trail -----------------------------------------------------------------------

def history_rows() -> list[dict[str, str]]:
    """The audit trail, newest first, as plain strings."""
    svc = service()
    rows = ServiceRunner(svc, _settings().base).select("curation-history").rows
    return [{k: str(v) for k, v in row.items()} for row in rows]


@bp.route("/curation", methods=["GET"])
def history() -> Response:
    """The audit trail: an HTML page, or JSON."""
    rows = history_rows()
    chosen = negotiation.choose((negotiation.HTML, _JSON),
                                formats=negotiation.format_values(request.args))
    if chosen == _JSON:
        response = Response(json.dumps({"writes": rows}, ensure_ascii=False) + "\n", 200,
                            content_type=_JSON)
    else:
        response = _html("ld/curation.html", writes=rows, enabled=bool(_settings().tokens))
    response.headers["Vary"] = "Accept"
    return response


@bp.route("/curation/revert", methods=["POST"])
def revert() -> Response:
    """Undo one write (``?id=``), itself audited."""
    token = _token()
    write_id = request.args.get("id") or request.form.get("id") or ""
    if not re.fullmatch(r"[0-9TZ]+-[0-9a-f]{8}", write_id):
        raise BadRequest(f"not a write id: {write_id!r} (mckg history lists them)")
    try:
        outcome = curator().revert(token, write_id)
    except AuthError as exc:
        raise Forbidden(exc.message) from None
    except WriteRefused as exc:
        raise _refusal(exc) from None
    except Invalid as exc:
        raise HTTPException(response=invalid_response(exc.report)) from None
    return _written(outcome)
