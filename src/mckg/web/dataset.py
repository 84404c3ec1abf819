"""``/.well-known/void``: the VoID/DCAT description of the served dataset (RFC 8615 well-known
URI registered for VoID), negotiated like any RDF."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..description import void_description
from ..rdfio import format_by_media_type, serialize
from ..store.results import GRAPH_OUTPUTS
from . import negotiation
from .errors import NotAcceptable
from .protocol import _content_type, _format_values, service

bp = Blueprint("dataset", __name__)


@bp.route("/.well-known/void", methods=["GET"])
def void() -> Response:
    """Describe the dataset: licence, source, triples per named graph, examples, endpoint.

    :raise 406: no RDF format the client accepts.
    """
    given, chosen = negotiation.from_format_param(_format_values(request.args), GRAPH_OUTPUTS)
    if chosen is None and not given:
        chosen = negotiation.choose(request.headers.get("Accept"), GRAPH_OUTPUTS)
    if chosen is None:
        raise NotAcceptable("the dataset description is available as " + ", ".join(GRAPH_OUTPUTS))
    svc = service()
    stored, examples = svc.dataset_description()
    graph = void_description(base=svc.settings.base, endpoint=request.host_url + "sparql",
                             counts=svc.counts(), triples=svc.triple_count(), examples=examples,
                             stored=stored)
    fmt = format_by_media_type(chosen)
    assert fmt is not None
    body = serialize(graph, fmt, context=svc.json_ld_context if fmt.name == "json-ld" else None)
    return Response(body, 200, content_type=_content_type(chosen), headers={"Vary": "Accept"})
