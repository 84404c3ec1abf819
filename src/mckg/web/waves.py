"""Survey waves on the web: what changed between two waves, as a page, CSV or RDF.

==============================  ============================================================
``/waves/diff?from=&to=``       the changed cells, per jurisdiction and dimension (HTML)
``/waves/diff.csv?from=&to=``   the same as CSV (the columns of ``mckg diff --format csv``)
``/waves/diff.ttl?from=&to=``   the change set as Turtle (``.jsonld``, ``.nt`` too)
==============================  ============================================================

Without ``from``/``to`` the latest wave is compared with the one before it. Views only speak
HTTP: the comparison is :mod:`mckg.survey.diff`, one stored query run through the app's
query service (workers, time limit) like every other page.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import BadRequest

from ..linked.runner import ServiceRunner
from ..rdf.files import serialize
from ..rdf.formats import rdf_format
from ..survey import diff as waves
from ..survey.errors import SurveyError
from .linked_data import _html

bp = Blueprint("waves", __name__)

_RDF = {"ttl": ("turtle", "text/turtle"), "nt": ("nt", "application/n-triples"),
        "jsonld": ("json-ld", "application/ld+json")}


def _runner() -> ServiceRunner:
    service = current_app.extensions["mckg.service"]
    settings = current_app.extensions.get("mckg.settings") or service.settings
    return ServiceRunner(service, settings.base)


def _chosen(runner: ServiceRunner) -> tuple[list[waves.Wave], waves.Wave, waves.Wave]:
    """Every wave and the two the request compares.

    :raise 400: a wave that does not exist, or fewer than two waves.
    """
    known = waves.waves(runner)
    if len(known) < 2:
        raise BadRequest("comparing waves needs two survey waves; this dataset has "
                         f"{len(known)}")
    try:
        after = (waves.resolve_wave(runner, request.args["to"]) if request.args.get("to")
                 else known[-1])
        before = (waves.resolve_wave(runner, request.args["from"])
                  if request.args.get("from") else waves.previous_wave(runner, after))
    except SurveyError as exc:
        raise BadRequest("; ".join(p.message for p in exc.problems)) from None
    if before is None:
        raise BadRequest(f"{after.label} is the first wave: choose a later one to compare")
    return known, before, after


@bp.get("/waves/diff")
def diff_page() -> Response:
    """The changed cells between two waves, with both values and their sources."""
    runner = _runner()
    known, before, after = _chosen(runner)
    changes = waves.diff(runner, before, after)
    empty = [w for w in (before, after) if not waves.has_data(runner, w)]
    return _html("ld/diff.html", waves=known, before=before, after=after, changes=changes,
                 empty=empty, titles=waves.DIMENSIONS,
                 query=f"from={before.id}&to={after.id}")


@bp.get("/waves/diff.<suffix>")
def diff_data(suffix: str) -> Response:
    """The same comparison as CSV or as a change set in RDF."""
    runner = _runner()
    _known, before, after = _chosen(runner)
    changes = waves.diff(runner, before, after)
    name = f"mckg-changes-{before.id}-{after.id}"
    if suffix == "csv":
        return Response(waves.to_csv(changes), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if suffix not in _RDF:
        raise BadRequest(f"no format .{suffix}: use .csv, .ttl, .nt or .jsonld")
    fmt, media_type = _RDF[suffix]
    graph = waves.to_graph(changes, runner.base, before, after)
    return Response(serialize(graph, rdf_format(fmt)), mimetype=media_type)
