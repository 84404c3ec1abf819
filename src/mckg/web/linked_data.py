"""Dereferenceable IRIs: resource pages and documents, ontology, comparison, search, downloads.

==================================  ==========================================================
``/id/{rest}``, ``/vocab/{rest}``   303 See Other to the document about the thing (Cool URIs)
``/doc/{rest}[.ext]``               the document: HTML, Turtle, JSON-LD, N-Triples, RDF/XML
``/def[.ext]``                      the ontology (hash IRIs ``/def#Term``): docs or RDF
``/graph/{layer}[.ext]``            a named graph: summary page or its triples
``/search?q=``                      full-text search with filters
``/compare[.csv|.xlsx]``            the country comparison (``wave``, ``country``, ``column``, ``map``)
``/countries``                      every country and region the report discusses
``/about``                          what the dataset is and how to cite it
``/downloads[/{file}]``             dumps of the whole dataset; the facts as CSV and XLSX
``/api/facts``                      the facts as plain JSON, filtered and paged
``/context.jsonld``                 the JSON-LD context every JSON-LD document uses
==================================  ==========================================================

The server maps the configured base IRI onto its own root (:mod:`mckg.linked.iris`). Views
only speak HTTP: what a page says comes from :mod:`mckg.linked`. Negotiated responses carry
``Vary: Accept``; an explicit extension wins over ``Accept``; an unknown IRI is a 404 page
(with search suggestions), not an empty document; no acceptable format is a 406.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, render_template, request, send_file
from rdflib import Graph
from werkzeug.exceptions import BadRequest, NotFound

from ..linked import facts, grades
from ..linked.compare import Comparison, select, to_csv, to_xlsx
from ..linked.context import context_document, to_jsonld
from ..linked.describe import document_graph
from ..linked.diagram import class_diagram
from ..linked.geomap import europe_map
from ..linked.iris import (
    DOCUMENT_MEDIA_TYPES,
    MEDIA_TYPE_BY_SUFFIX,
    SUFFIX_BY_MEDIA_TYPE,
    split_suffix,
)
from ..linked.runner import UnsafeTerm
from ..linked.search import FILTERS, UnknownFilter
from ..linked.sheets import XLSX
from ..linked.site import LinkedData
from ..rdf.files import serialize
from ..rdf.formats import rdf_format_for_media_type
from ..rdf.namespaces import rebase_prefixes
from . import negotiation
from .assets import static_view
from .state import public_url

bp = Blueprint("linked_data", __name__)
# Its stylesheet, from the app's assets in memory (:mod:`.assets`): ``linked_data.static``.
bp.add_url_rule("/ld-static/<path:filename>", endpoint="static", view_func=static_view("ld"),
                methods=["GET", "HEAD"])

_HTML = negotiation.HTML


def open_site(app: Flask) -> LinkedData:
    """Create the app's :class:`LinkedData` from its query service, and start the export of
    the dumps now, in the background, so that no visitor of ``/downloads`` waits for it."""
    service = app.extensions["mckg.service"]
    settings = app.extensions.get("mckg.settings") or service.settings
    ld = LinkedData.for_service(service, settings)
    app.extensions["mckg.linked"] = ld
    ld.start_dumps()
    return ld


def linked() -> LinkedData:
    """The app's :class:`LinkedData` (made by :func:`open_site` when the app was created),
    read anew if the served data changed since (:meth:`LinkedData.fresh`)."""
    ld: LinkedData = current_app.extensions["mckg.linked"]
    return ld.fresh()


@bp.app_template_filter("href")
def href(iri: str) -> str | None:
    """Template filter: where a link to ``iri`` goes, or None when it must be shown as text
    (:meth:`mckg.linked.iris.Site.href`, the one allow-list: templates link through
    ``iri_link`` in ``ld/macros.html``, which uses this)."""
    return linked().site.href(str(iri))


@bp.app_template_global("known_endpoints")
def known_endpoints() -> set[str]:
    """Template global: the app's endpoints, so the navigation (``ld/nav.html``) lists only
    pages this app serves (an app without a blueprint renders without its entry)."""
    return set(current_app.view_functions)


# -- negotiation ---------------------------------------------------------------------------
def _chosen(suffix: str | None, offers: tuple[str, ...] = DOCUMENT_MEDIA_TYPES) -> str:
    """The media type to answer with: the extension's, else ``format=``, else ``Accept``.

    :raise 406: nothing the client accepts is offered.
    """
    if suffix is not None:
        return MEDIA_TYPE_BY_SUFFIX[suffix]
    return negotiation.choose(offers, formats=negotiation.format_values(request.args))


def _rdf_response(graph: Graph, media_type: str, *, negotiated: bool) -> Response:
    """``graph`` serialized as ``media_type``.

    JSON-LD names the context this server publishes (``/context.jsonld``), not the canonical
    one: a JSON-LD processor fetches a context it is given by address, and the document must
    read the same wherever it was served from — offline, or on a server the canonical address
    does not lead to. The context under both addresses is the same document.
    """
    ld = linked()
    for prefix, namespace in rebase_prefixes(ld.site.base).items():  # the registry's names
        graph.bind(prefix, namespace, override=True, replace=True)
    if media_type == "application/ld+json":
        body = to_jsonld(graph, ld.site.base, context_url=public_url() + "context.jsonld")
    else:
        fmt = rdf_format_for_media_type(media_type)
        assert fmt is not None
        body = serialize(graph, fmt)
    response = Response(body, 200, content_type=negotiation.content_type(media_type))
    if negotiated:
        response.headers["Vary"] = "Accept"
    return response


def _html(template: str, status: int = 200, *, negotiated: bool = False, **context: Any) -> Response:
    ld = linked()
    html = render_template(template, site=ld.site, search_query=request.args.get("q", ""),
                           **context)
    response = Response(html, status, mimetype=_HTML)
    if negotiated:
        response.headers["Vary"] = "Accept"
    return response


def _not_found(iri: str) -> Response:
    """The 404 page for an unknown IRI, with resources whose names resemble its last segment.

    :raise 404: as plain text or problem JSON when the client does not want HTML.
    """
    wants_html = negotiation.choose((_HTML, negotiation.PLAIN), fallback=negotiation.PLAIN) == _HTML
    if not wants_html:
        raise NotFound(f"no resource {iri} in this dataset")
    ld = linked()
    guess = iri.rstrip("/").rsplit("/", 1)[-1]
    return _html("ld/notfound.html", 404, iri=iri, suggestions=ld.search(guess)[:10])


def _known(iri: str) -> bool:
    try:
        return linked().exists(iri)
    except UnsafeTerm:
        return False


# -- things: 303 to their documents --------------------------------------------------------
def _see_other(space: str, rest: str) -> Response:
    ld = linked()
    iri = ld.site.thing_iri(space, rest)
    suffix = None
    if not _known(iri):
        stem, suffix = split_suffix(rest)
        iri = ld.site.thing_iri(space, stem)
        if suffix is None or not _known(iri):
            return _not_found(ld.site.thing_iri(space, rest))
    media_type = _chosen(suffix)
    location = ld.site.document_path(iri, suffix or (None if media_type == _HTML else
                                                     SUFFIX_BY_MEDIA_TYPE[media_type]))
    response = Response(f"See Other: {location}\n", 303, mimetype="text/plain")
    response.headers["Location"] = location
    response.headers["Vary"] = "Accept"
    return response


@bp.route("/id/<path:rest>", methods=["GET", "HEAD"])
def thing(rest: str) -> Response:
    """A thing the report talks about: 303 to the document about it.

    :raise 404: the dataset does not know the IRI.
    :raise 406: none of the document's formats is acceptable.
    """
    return _see_other("id", rest)


@bp.route("/vocab/<path:rest>", methods=["GET", "HEAD"])
def concept(rest: str) -> Response:
    """A controlled value or concept scheme: 303 to the document about it.

    :raise 404: unknown IRI.  :raise 406: no acceptable format.
    """
    return _see_other("vocab", rest)


@bp.route("/doc/<path:rest>", methods=["GET", "HEAD"])
def document(rest: str) -> Response:
    """The document about a thing: a page, or its RDF. A country or region page takes
    ``?wave=N`` (as ``/compare`` does): that survey wave's answers only, marked with what it
    changed. The RDF document is always the whole description (the parameter is checked,
    not applied): a wave is a filter for reading, the data says each fact's wave itself.

    :raise 400: a bad ``wave``, or a wave on a page that is not a country's or region's.
    :raise 404: unknown IRI.  :raise 406: no acceptable format.
    """
    ld = linked()
    stem, suffix = split_suffix(rest)
    iri = ld.site.iri_of_document(stem)
    try:
        description = ld.describe(iri)
    except UnsafeTerm:
        description = None
    if description is None:
        return _not_found(iri)
    wave = _wave()
    media_type = _chosen(suffix)
    doc_path = ld.site.document_path(iri) or request.path
    if media_type == _HTML:
        r = ld.reading(description, wave)
        if wave is not None and r.row is None:
            raise BadRequest("wave: only a country or region page can be shown for one "
                             "survey wave")
        table = ld.comparison(wave)
        return _html("ld/resource.html", negotiated=suffix is None, d=description, r=r,
                     cite=ld.citations.fact, doc_path=doc_path, formats=_formats(doc_path),
                     waves=table.waves, chosen_wave=table.chosen_wave,
                     wave_has_data=not table.empty)
    graph = document_graph(description, ld.site, doc_path)
    return _rdf_response(graph, media_type, negotiated=suffix is None)


def _formats(path: str) -> list[tuple[str, str]]:
    """Links to every representation of a document: (label, path)."""
    names = {".ttl": "Turtle", ".jsonld": "JSON-LD", ".nt": "N-Triples", ".rdf": "RDF/XML"}
    return [(names[s], path + s) for s in names]


# -- the ontology and named graphs ---------------------------------------------------------
@bp.route("/def", methods=["GET", "HEAD"])
@bp.route("/def<any('.ttl', '.jsonld', '.nt', '.rdf', '.html'):suffix>", methods=["GET", "HEAD"])
@bp.route("/def/<version>", methods=["GET", "HEAD"])
def ontology(suffix: str | None = None, version: str | None = None) -> Response:
    """The ontology: its documentation (one anchor per term) or the ontology as RDF.

    :raise 404: a version that is not the current one.  :raise 406: no acceptable format.
    """
    ld = linked()
    if version is not None:
        stem, suffix = split_suffix(version)
        if stem != ld.ontology().version:
            return _not_found(f"{ld.site.ontology_iri()}/{version}")
    media_type = _chosen(suffix)
    if media_type == _HTML:
        doc = ld.ontology()
        own = {t.iri for t in (*doc.object_properties, *doc.datatype_properties)}
        return _html("ld/ontology.html", negotiated=suffix is None, doc=doc,
                     formats=_formats("/def"), own_terms=own,
                     diagram=class_diagram(doc.classes, doc.object_properties))
    return _rdf_response(ld.graph_of("ontology"), media_type, negotiated=suffix is None)


@bp.route("/graph/<path:rest>", methods=["GET", "HEAD"])
def named_graph(rest: str) -> Response:
    """A named graph: a summary page, or all its triples as RDF.

    :raise 404: no such graph.  :raise 406: no acceptable format.
    """
    ld = linked()
    stem, suffix = split_suffix(rest)
    iri = ld.site.graph_iri(stem)
    counts = ld.counts()
    if iri not in counts:
        return _not_found(iri)
    media_type = _chosen(suffix)
    if media_type == _HTML:
        return _html("ld/graph.html", negotiated=suffix is None, iri=iri, layer=stem,
                     triples=counts[iri], counts=counts, formats=_formats(f"/graph/{stem}"))
    return _rdf_response(ld.graph_of(stem), media_type, negotiated=suffix is None)


# -- search, comparison, downloads, context ------------------------------------------------
@bp.route("/search", methods=["GET", "HEAD"])
def search() -> Response:
    """Full-text search: ``?q=`` over names, statements and notes, facts first; filters
    ``type``, ``jurisdiction``, ``topic``, ``source``, ``wave``.

    :raise 400: a filter value no resource has (the parameter named).
    """
    query = request.args.get("q", "")
    filters = {name: request.args.get(name, "").strip() for name in FILTERS}
    filters = {k: v for k, v in filters.items() if v}
    try:
        results = linked().full_search(query, filters) if query.strip() else None
        if results is None and filters:
            linked().text.check(filters)
    except UnknownFilter as exc:
        raise BadRequest(str(exc)) from None
    return _html("ld/search.html", query=query, results=results, filters=filters,
                 filter_names={"type": "Type", "jurisdiction": "Country or region",
                               "topic": "Topic", "source": "Source", "wave": "Survey wave"})


def _wave() -> int | None:
    """The ``wave`` parameter: a wave number the data names, or none for all sources.

    :raise 400: not a number, or not one of the data's survey waves.
    """
    raw = request.args.get("wave", "").strip()
    if raw in ("", "all"):
        return None
    if not raw.isdigit():
        raise BadRequest(f"wave must be a survey wave number or 'all', not {raw!r}")
    known = [w.number for w in linked().comparison(None).waves]
    if int(raw) not in known:
        raise BadRequest(f"wave {raw} is not a survey wave of this dataset; known: "
                         f"{', '.join(map(str, known)) or 'none'}")
    return int(raw)


@dataclass
class CompareView:
    """The comparison as a request asks for it: wave, countries, columns and the map's column."""

    table: Comparison
    full: Comparison
    wave: int | None
    countries: list[str]
    columns: list[str]
    map_column: str

    def keep_wave(self, code: str, href: str | None) -> str | None:
        """Where a link to the page of the row ``code`` goes (the grid's row heading, the
        map): ``href`` as always for all sources; with a wave, the row's document for that
        wave, so that following it does not silently drop back to all sources (the thing's
        IRI would answer with a 303 that does not keep the query string)."""
        if self.wave is None or href is None or not code:
            return href
        row = next((r for r in self.full.rows if r.code == code), None)
        path = linked().site.document_path(row.jurisdiction.iri) if row is not None else None
        return f"{path}?{urlencode({'wave': self.wave})}" if path else href

    @property
    def query(self) -> str:
        """The view's query string, for links that keep it (downloads, reset, map column)."""
        return self.query_with()

    def query_with(self, **changes: Any) -> str:
        """The view's query string with some parameters changed."""
        params: dict[str, Any] = {"wave": self.wave, "country": self.countries,
                                  "column": self.columns, "map": self.map_column}
        params.update(changes)
        pairs = [(k, v) for k, vs in params.items()
                 for v in (vs if isinstance(vs, list) else [vs]) if v not in (None, "")]
        return urlencode(pairs)


def _compare_view() -> CompareView:
    """Read ``wave``, ``country`` (repeatable codes), ``column`` (repeatable keys) and ``map``.

    :raise 400: a parameter with a value the table does not have, named.
    """
    wave = _wave()
    full = linked().comparison(wave)
    countries = [c for raw in request.args.getlist("country") for c in raw.split(",") if c]
    columns = [c for raw in request.args.getlist("column") for c in raw.split(",") if c]
    if len(countries) > 100 or len(columns) > 20:
        raise BadRequest("country or column: too many values")
    try:
        table = select(full, countries or None, columns or None)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    map_column = request.args.get("map", "").strip() or table.columns[0].key
    if map_column not in {c.key for c in full.columns}:
        raise BadRequest(f"map: unknown column {map_column!r}; known: "
                         f"{', '.join(c.key for c in full.columns)}")
    return CompareView(table, full, wave, countries, columns, map_column)


@bp.route("/compare", methods=["GET", "HEAD"])
def compare() -> Response:
    """The country comparison: a grid and a map; ``?wave=N`` keeps the facts of survey wave
    N, ``country`` and ``column`` choose rows and columns, ``map`` the column the map shows.

    :raise 400: a parameter the table does not know, named.
    """
    view = _compare_view()
    return _html("ld/compare.html", view=view, table=view.table, wave=view.wave,
                 map=europe_map(select(view.full, None, None), view.map_column),
                 legend=grades.LEGEND)


def _download_name(view: CompareView, suffix: str) -> str:
    return ("mckg-comparison" + (f"-wave-{view.wave}" if view.wave is not None else "")
            + suffix)


@bp.route("/compare.csv", methods=["GET", "HEAD"])
def compare_csv() -> Response:
    """The current view of the comparison as CSV, one line per jurisdiction, column and fact.

    :raise 400: a parameter the table does not know, named.
    """
    view = _compare_view()
    return Response(to_csv(view.table), 200,
                    content_type="text/csv; charset=utf-8; header=present",
                    headers={"Content-Disposition":
                             f'attachment; filename="{_download_name(view, ".csv")}"'})


@bp.route("/compare.xlsx", methods=["GET", "HEAD"])
def compare_xlsx() -> Response:
    """The current view as a workbook: the grid as on the page, and the facts in long form.

    :raise 400: a parameter the table does not know, named.
    """
    view = _compare_view()
    return Response(to_xlsx(view.table), 200, content_type=XLSX,
                    headers={"Content-Disposition":
                             f'attachment; filename="{_download_name(view, ".xlsx")}"'})


@bp.route("/countries", methods=["GET", "HEAD"])
def countries() -> Response:
    """Every country and region some fact is about: survey partners, then the others."""
    table = linked().comparison(None)
    groups = [("Survey partners", [r for r in table.rows if r.partner]),
              ("Other countries and regions", [r for r in table.rows if not r.partner])]
    return _html("ld/countries.html", table=table, groups=groups)


@bp.route("/about", methods=["GET", "HEAD"])
def about() -> Response:
    """What the dataset is, how to cite the report, the dataset and a page."""
    ld = linked()
    return _html("ld/about.html", report=ld.report(), dataset=ld.dataset_work())


@bp.route("/downloads", methods=["GET", "HEAD"])
@bp.route("/downloads/", methods=["GET", "HEAD"])
def downloads() -> Response:
    """The list of dumps, with sizes, formats and the dataset description."""
    ld = linked()
    return _html("ld/downloads.html", dumps=ld.dumps(), counts=ld.counts(),
                 public_root=public_url())


@bp.route("/downloads/facts.csv", methods=["GET", "HEAD"])
def facts_csv() -> Response:
    """Every fact, one row each, as CSV (:mod:`mckg.linked.facts`)."""
    return Response(facts.to_csv(linked().facts.rows()), 200,
                    content_type="text/csv; charset=utf-8; header=present",
                    headers={"Content-Disposition": 'attachment; filename="mckg-facts.csv"'})


@bp.route("/downloads/facts.xlsx", methods=["GET", "HEAD"])
def facts_xlsx() -> Response:
    """Every fact, one row each, as a workbook."""
    return Response(facts.to_xlsx(linked().facts.rows()), 200, content_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="mckg-facts.xlsx"'})


#: Facts per page of ``/api/facts``: the default and the most one may ask for.
API_LIMIT, API_MAX_LIMIT = 100, 1000


def _count(name: str, default: int, highest: int) -> int:
    """A non-negative integer parameter, at most ``highest``.

    :raise 400: not such a number (the parameter named).
    """
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > highest:
        raise BadRequest(f"{name} must be a whole number from 0 to {highest}, not {raw[:40]!r}")
    return int(raw)


@bp.route("/api/facts", methods=["GET", "HEAD"])
def api_facts() -> Response:
    """The facts as plain JSON, filtered and paged: ``country`` (a code such as ``ES``),
    ``topic``, ``source``, ``wave``, ``dimension``; ``limit`` (at most 1000) and ``offset``.
    Numbers are JSON numbers and labels strings; each fact has its IRI and its page here.

    :raise 400: an unknown filter value, or a bad ``limit``/``offset`` (named).
    """
    unknown = sorted(set(request.args) - {*facts.FILTERS, "limit", "offset"})
    if unknown:
        raise BadRequest(f"{unknown[0]}: not a parameter of /api/facts; parameters: "
                         f"{', '.join((*facts.FILTERS, 'limit', 'offset'))}")
    limit = _count("limit", API_LIMIT, API_MAX_LIMIT)
    offset = _count("offset", 0, 10**9)
    filters = {k: request.args[k].strip() for k in facts.FILTERS if request.args.get(k, "").strip()}
    try:
        rows = linked().facts.select(filters)
    except facts.UnknownFilter as exc:
        raise BadRequest(str(exc)) from None
    root = public_url()
    site = linked().site

    def page(at: int | None) -> str | None:
        if at is None:
            return None
        return root + "api/facts?" + urlencode({**filters, "limit": limit, "offset": at})

    items = []
    for row in rows[offset:offset + limit]:
        item = row.values()
        path = site.document_path(row.fact)
        item["url"] = root + path.lstrip("/") if path else None
        items.append(item)
    body = {"total": len(rows), "offset": offset, "limit": limit, "count": len(items),
            "next": page(offset + limit if offset + limit < len(rows) else None),
            "previous": page(max(0, offset - limit) if offset else None),
            "fields": [*facts.FIELDS, "url"], "facts": items}
    return Response(json.dumps(body, ensure_ascii=False, indent=1) + "\n", 200,
                    content_type="application/json; charset=utf-8")


@bp.route("/downloads/<name>", methods=["GET", "HEAD"])
def download(name: str) -> Response:
    """One dump file.

    :raise 404: not a file of the published set.
    """
    ld = linked()
    dump = next((d for d in ld.dumps() if d.name == name), None)
    if dump is None:
        raise NotFound(f"no download called {name!r}")
    return send_file(ld.dumps_dir / dump.name, mimetype=dump.download_media_type,
                     as_attachment=True, download_name=dump.name, max_age=3600)


@bp.route("/context.jsonld", methods=["GET", "HEAD"])
def context() -> Response:
    """The JSON-LD context, with our namespaces under the served base."""
    body = json.dumps(context_document(linked().site.base), indent=2, ensure_ascii=False)
    return Response(body + "\n", 200, content_type="application/ld+json",
                    headers={"Cache-Control": "public, max-age=3600"})
