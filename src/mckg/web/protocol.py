"""``/sparql``: the SPARQL 1.1 Protocol, query operation (https://www.w3.org/TR/sparql11-protocol/).

- ``GET /sparql?query=…`` and ``POST`` with ``application/x-www-form-urlencoded`` (§2.1.1–2)
  or ``application/sparql-query`` (§2.1.3, UTF-8 only, dataset parameters in the URL);
- ``default-graph-uri`` / ``named-graph-uri`` (§2.1.4) replace the query's own dataset;
- relative IRIs in a query resolve against the endpoint's own URL (there is no other base);
- no ``query`` at all: the service description (or the query page, for browsers);
- an update, sent as an update, is refused with 403: this endpoint is read-only. Sent as a
  query, or beside one, it is a malformed request (400), as the protocol's tests expect.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, Forbidden, RequestEntityTooLarge, UnsupportedMediaType

from ..dataset.metadata import service_description
from ..rdf.files import serialize
from ..rdf.formats import rdf_format_for_media_type
from ..store.base import QueryDataset
from ..store.results import GRAPH_OUTPUTS
from . import negotiation
from .page import page_response
from .state import public_url, service

bp = Blueprint("sparql", __name__)

_FORM = "application/x-www-form-urlencoded"
_DIRECT = "application/sparql-query"
_UPDATE = "application/sparql-update"
#: Parameters of the protocol; a request with any of them but no ``query`` lacks its query.
_PROTOCOL_PARAMS = ("query", "update", "default-graph-uri", "named-graph-uri",
                    "using-graph-uri", "using-named-graph-uri")
_READ_ONLY = ("SPARQL Update is not accepted: this endpoint is read-only (LOAD, INSERT, "
              "DELETE and the other update operations are refused)")


def _direct_query() -> str:
    """The query POSTed as ``application/sparql-query``: UTF-8 text (SPARQL 1.1 Protocol §2.1.3).

    :raise 413: the body is over the limit.
    :raise 415: another charset: the media type is defined for UTF-8 only.
    :raise 400: the body is not UTF-8.
    """
    charset = request.mimetype_params.get("charset", "utf-8").strip().lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"{_DIRECT} is UTF-8 text; charset={charset} is not accepted")
    limit = service().settings.max_query_bytes
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"the query is longer than the limit of {limit} bytes")
    try:
        return request.get_data(cache=False).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the query is not valid UTF-8 text") from None


def _params() -> tuple[MultiDict[str, str], str | None]:
    """All protocol parameters of the request and the directly POSTed query, if any.

    :raise 403: an update (``application/sparql-update``).
    :raise 413: the body is over the limit.
    :raise 415: a POST body that is neither a form nor a query, or a query not in UTF-8.
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
            direct = _direct_query()
        elif mimetype == _UPDATE:
            raise Forbidden(_READ_ONLY)
        else:
            raise UnsupportedMediaType(
                f"a SPARQL query is POSTed as {_FORM} or {_DIRECT}, not "
                f"{mimetype or 'a body without Content-Type'}")
    return params, direct


def _the_query(params: MultiDict[str, str], direct: str | None) -> str | None:
    """The one query of the request, or None when it has none (and asks for nothing else).

    :raise 400: the query is given twice, or beside an update; no query but other protocol
        parameters.
    :raise 403: an update alone (this endpoint is read-only).
    """
    queries = params.getlist("query")
    if direct is not None:
        if queries:
            raise BadRequest("the query is given twice: in the body and as a query= parameter")
        queries = [direct]
    if params.getlist("update"):
        if queries:
            raise BadRequest("a request carries a query or an update, not both")
        raise Forbidden(_READ_ONLY)
    if not queries:
        if request.method == "GET" and not any(k in params for k in _PROTOCOL_PARAMS):
            return None
        raise BadRequest("no query: send it as the query= parameter or as an "
                         "application/sparql-query body")
    if len(queries) > 1:
        raise BadRequest(f"the query= parameter is given {len(queries)} times; send exactly one")
    return queries[0]


def _dataset(params: MultiDict[str, str]) -> QueryDataset | None:
    dataset = QueryDataset(tuple(params.getlist("default-graph-uri")),
                           tuple(params.getlist("named-graph-uri")))
    return dataset if dataset.given else None


def _negotiate(params: MultiDict[str, str], offers: tuple[str, ...]) -> str:
    """Pick the output among ``offers`` (plus the query page).

    :raise 406: nothing the client accepts fits.
    """
    return negotiation.choose((*offers, negotiation.HTML),
                              formats=negotiation.format_values(params))


def _page(query: str | None = None) -> Response:

    return page_response(query)


def rdf_response(body: bytes, media_type: str) -> Response:
    """A negotiated RDF answer (it varies with ``Accept``)."""
    return Response(body, 200, content_type=negotiation.content_type(media_type),
                    headers={"Vary": "Accept"})


def _describe(params: MultiDict[str, str]) -> Response:
    """The service description, negotiated like any RDF (or the query page for browsers)."""
    chosen = _negotiate(params, GRAPH_OUTPUTS)
    if chosen == negotiation.HTML:
        return _page()
    svc = service()
    root = public_url()
    graph = service_description(root + "sparql", base=svc.settings.base, counts=svc.counts(),
                                triples=svc.triple_count(),
                                federated=bool(svc.settings.service_allowlist),
                                void_url=root + ".well-known/void")
    fmt = rdf_format_for_media_type(chosen)
    assert fmt is not None
    body = serialize(graph, fmt, context=svc.json_ld_context if fmt.name == "json-ld" else None)
    return rdf_response(body, chosen)


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    """Answer a SPARQL query, or describe the service when there is none.

    :raise 400: missing, repeated or malformed query (with line and column), an update sent
        as a query or beside one.
    :raise 403: an update, or ``SERVICE`` to an endpoint not on the allow-list.
    :raise 406: no acceptable format. :raise 413: too long. :raise 415: wrong POST body.
    :raise 503: stopped at the time limit, or every worker busy.
    """
    params, direct = _params()
    text = _the_query(params, direct)
    if text is None:
        return _describe(params)
    svc = service()
    info = svc.check(text)
    chosen = _negotiate(params, svc.outputs(info))
    if chosen == negotiation.HTML:
        svc.check(text, thorough=True)  # no engine runs: a malformed query is a 400 here
        return _page(text)
    # Relative IRIs resolve against the endpoint's URL: in the text (the engine) and in the
    # FROM clauses (given to the engine as the dataset).
    base = public_url() + "sparql"
    answer = svc.run(text, info, chosen, _dataset(params), base_iri=base)
    response = Response(answer.body, 200, content_type=negotiation.content_type(answer.media_type))
    response.headers["Vary"] = "Accept"
    response.headers["X-MCKG-Query-Time"] = f"{answer.seconds:.6f}"
    # Whether the answer cache had it (mckg.query.answers); the query time is then the
    # first run's.
    response.headers["X-MCKG-Cache"] = "hit" if answer.cached else "miss"
    response.headers["Server-Timing"] = (f"query;dur={answer.seconds * 1000:.1f}, "
                                         f"cache;desc={'hit' if answer.cached else 'miss'}")
    if answer.truncated:
        # Said in headers only: the body stays a standard SPARQL results document.
        response.headers["X-MCKG-Truncated"] = "true"
        response.headers["X-MCKG-Result-Limit"] = str(svc.settings.result_limit)
    return response
