"""``/.well-known/void``: the VoID/DCAT description of the served dataset (RFC 8615 well-known
URI registered for VoID), negotiated like any RDF."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..dataset.metadata import void_description
from ..rdf.files import serialize
from ..rdf.formats import rdf_format_for_media_type
from ..store.results import GRAPH_OUTPUTS
from . import negotiation
from .protocol import rdf_response
from .state import public_url, service

bp = Blueprint("dataset", __name__)


@bp.route("/.well-known/void", methods=["GET"])
def void() -> Response:
    """Describe the dataset: licence, source, triples per named graph, examples, endpoint.

    :raise 406: no RDF format the client accepts.
    """
    chosen = negotiation.choose(GRAPH_OUTPUTS, formats=negotiation.format_values(request.args))
    svc = service()
    stored, examples = svc.dataset_description()
    graph = void_description(base=svc.settings.base, endpoint=public_url() + "sparql",
                             counts=svc.counts(), triples=svc.triple_count(), examples=examples,
                             stored=stored)
    fmt = rdf_format_for_media_type(chosen)
    assert fmt is not None
    body = serialize(graph, fmt, context=svc.json_ld_context if fmt.name == "json-ld" else None)
    return rdf_response(body, chosen)
