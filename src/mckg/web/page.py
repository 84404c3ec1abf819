"""The query page at ``/`` (and at ``/sparql`` for browsers): works offline.

Everything it needs is served from the package (``static/``): a plain ``<textarea>`` with a
little of our own JavaScript for highlighting and running — no CDN, no framework, and the
textarea alone still works if the script does not load. The competency-question queries are
the one-click examples; IRIs in results are shown with the same prefix registry the server
uses and link to their path on this server.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from ..linked.iris import LINK_SCHEMES
from ..query.stored import examples
from .state import public_url, service

bp = Blueprint("page", __name__)

_DEFAULT_QUERY = """\
# The server predeclares the prefixes listed below the editor.
SELECT ?country ?name WHERE {
  ?country a mckg:Country ;
           rdfs:label ?name .
}
ORDER BY ?name
LIMIT 50
"""


def page_config(query: str | None) -> dict[str, Any]:
    """What the page's script needs: examples, prefixes, base IRI, limits."""
    svc = service()
    return {
        "base": svc.settings.base,
        "endpoint": "sparql",  # relative: the page's own server
        "prefixes": dict(svc.prefixes),
        "examples": [{"name": q.name, "title": q.title, "text": q.text} for q in examples()],
        "resultLimit": svc.settings.result_limit,
        "timeout": svc.settings.query_timeout,
        "autorun": query is not None,
        "linkSchemes": sorted(LINK_SCHEMES),
    }


def page_response(query: str | None = None) -> Response:
    """The page, with ``query`` in the editor (run at once) or the default query."""
    config = page_config(query)
    html = render_template("page.html", config=config, query=query or _DEFAULT_QUERY,
                           examples=config["examples"], counts=service().counts(),
                           endpoint_url=public_url() + "sparql",
                           triples=service().triple_count())
    return Response(html, 200, mimetype="text/html", headers={"Vary": "Accept"})


@bp.route("/", methods=["GET"])
def index() -> Response:
    """The query page; ``?query=`` prefills (and runs) a query."""
    return page_response(request.args.get("query"))
