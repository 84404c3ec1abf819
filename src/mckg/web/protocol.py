"""``/sparql``: the SPARQL 1.1 Protocol, query operation (https://www.w3.org/TR/sparql11-protocol/).

- ``GET /sparql?query=…`` and ``POST`` with ``application/x-www-form-urlencoded`` (§2.1.1–2)
  or ``application/sparql-query`` (§2.1.3, dataset parameters in the URL);
- ``default-graph-uri`` / ``named-graph-uri`` (§2.1.4) replace the query's own dataset;
- no ``query`` at all: the service description (or the query page, for browsers);
- updates are refused with 403: this endpoint is read-only.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.datastructures import MultiDict

from ..description import service_description
from ..rdfio import format_by_media_type, serialize
from ..service import QueryService
from ..store.base import QueryDataset
from ..store.results import GRAPH_OUTPUTS
from . import negotiation
from .errors import BadRequest, Forbidden, NotAcceptable, PayloadTooLarge, UnsupportedMediaType

bp = Blueprint("sparql", __name__)

_FORM = "application/x-www-form-urlencoded"
_DIRECT = "application/sparql-query"
_UPDATE = "application/sparql-update"
#: Parameters of the protocol; a request with any of them but no ``query`` lacks its query.
_PROTOCOL_PARAMS = ("query", "update", "default-graph-uri", "named-graph-uri",
                    "using-graph-uri", "using-named-graph-uri")
_READ_ONLY = ("SPARQL Update is not accepted: this endpoint is read-only (LOAD, INSERT, "
              "DELETE and the other update operations are refused)")


def service() -> QueryService:
    """The app's query service."""
    svc: QueryService = current_app.extensions["mckg.service"]
    return svc


def _params() -> tuple[MultiDict[str, str], str | None]:
    """All protocol parameters of the request and the directly POSTed query, if any.

    :raise 403: an update (``update=`` or ``application/sparql-update``).
    :raise 413: the body is over the limit.
    :raise 415: a POST body that is neither a form nor a query.
    """
    params: MultiDict[str, str] = MultiDict(request.args)
    direct: str | None = None
    if request.method == "POST":
        mimetype = request.mimetype
        if mimetype == _FORM:
            for key, values in request.form.lists():
                for value in values:
                    params.add(key, value)
        elif mimetype == _DIRECT:
            limit = service().settings.max_query_bytes
            if request.content_length is not None and request.content_length > limit:
                raise PayloadTooLarge(f"the query is longer than the limit of {limit} bytes")
            raw = request.get_data(cache=False)
            charset = request.mimetype_params.get("charset", "utf-8")
            try:
                direct = raw.decode(charset)
            except (LookupError, UnicodeDecodeError):
                raise BadRequest(f"the query is not valid {charset} text") from None
        elif mimetype == _UPDATE:
            raise Forbidden(_READ_ONLY)
        else:
            raise UnsupportedMediaType(
                f"a SPARQL query is POSTed as {_FORM} or {_DIRECT}, not "
                f"{mimetype or 'a body without Content-Type'}")
    if params.getlist("update"):
        raise Forbidden(_READ_ONLY)
    return params, direct


def _dataset(params: MultiDict[str, str]) -> QueryDataset | None:
    dataset = QueryDataset(tuple(params.getlist("default-graph-uri")),
                           tuple(params.getlist("named-graph-uri")))
    return dataset if dataset.given else None


def _format_values(params: MultiDict[str, str]) -> list[str]:
    return [v for name in negotiation.FORMAT_PARAMS for v in params.getlist(name)]


def _negotiate(params: MultiDict[str, str], offers: tuple[str, ...]) -> str:
    """Pick the output among ``offers`` (plus the query page).

    :raise 406: nothing the client accepts fits.
    """
    with_page = (*offers, negotiation.HTML)
    given, chosen = negotiation.from_format_param(_format_values(params), with_page)
    if given and chosen is None:
        raise NotAcceptable("the requested format= does not fit this answer; available: "
                            + ", ".join(with_page))
    if chosen is None:
        chosen = negotiation.choose(request.headers.get("Accept"), with_page)
    if chosen is None:
        raise NotAcceptable("none of the formats in Accept fits this answer; available: "
                            + ", ".join(with_page))
    return chosen


def _page(query: str | None = None) -> Response:
    from .page import page_response

    return page_response(query)


def _describe(params: MultiDict[str, str]) -> Response:
    """The service description, negotiated like any RDF (or the query page for browsers)."""
    chosen = _negotiate(params, GRAPH_OUTPUTS)
    if chosen == negotiation.HTML:
        return _page()
    svc = service()
    root = request.host_url
    graph = service_description(root + "sparql", base=svc.settings.base, counts=svc.counts(),
                                triples=svc.triple_count(),
                                federated=bool(svc.settings.service_allowlist),
                                void_url=root + ".well-known/void")
    fmt = format_by_media_type(chosen)
    assert fmt is not None
    body = serialize(graph, fmt, context=svc.json_ld_context if fmt.name == "json-ld" else None)
    return Response(body, 200, content_type=_content_type(chosen), headers={"Vary": "Accept"})


def _content_type(media_type: str) -> str:
    """Text formats get an explicit charset; JSON and XML carry their own encoding."""
    if media_type.startswith("text/") or media_type in ("application/n-triples",
                                                        "application/n-quads", "application/trig"):
        return media_type + "; charset=utf-8"
    return media_type


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    """Answer a SPARQL query, or describe the service when there is none.

    :raise 400: missing, repeated or malformed query (with line and column).
    :raise 403: an update, or ``SERVICE`` to an endpoint not on the allow-list.
    :raise 406: no acceptable format. :raise 413: too long. :raise 415: wrong POST body.
    :raise 503: stopped at the time limit, or every worker busy.
    """
    params, direct = _params()
    queries = params.getlist("query")
    if direct is not None:
        if queries:
            raise BadRequest("the query is given twice: in the body and as a query= parameter")
        queries = [direct]
    if not queries:
        if request.method == "GET" and not any(k in params for k in _PROTOCOL_PARAMS):
            return _describe(params)
        raise BadRequest("no query: send it as the query= parameter or as an "
                         "application/sparql-query body")
    if len(queries) > 1:
        raise BadRequest(f"the query= parameter is given {len(queries)} times; send exactly one")
    text = queries[0]
    svc = service()
    info = svc.check(text)
    chosen = _negotiate(params, svc.outputs(info))
    if chosen == negotiation.HTML:
        svc.check(text, thorough=True)  # no engine runs: a malformed query is a 400 here
        return _page(text)
    answer = svc.run(text, info, chosen, _dataset(params))
    response = Response(answer.body, 200, content_type=_content_type(answer.media_type))
    response.headers["Vary"] = "Accept"
    response.headers["X-MCKG-Query-Time"] = f"{answer.seconds:.6f}"
    response.headers["Server-Timing"] = f"query;dur={answer.seconds * 1000:.1f}"
    if answer.truncated:
        # Said in headers only: the body stays a standard SPARQL results document.
        response.headers["X-MCKG-Truncated"] = "true"
        response.headers["X-MCKG-Result-Limit"] = str(svc.settings.result_limit)
    return response
