"""The ``sparql+http(s)://…`` store: any SPARQL 1.1 Query/Update endpoint over HTTP.

For deployments beyond one machine (Virtuoso, Fuseki, GraphDB, Oxigraph server). The URL after
``sparql+`` is the query endpoint; updates go to ``update_url`` (the same by default).

What real servers do shapes the requests (docs/endpoint.md lists their deviations): queries go as GET, or as
a form POST when long — Virtuoso never answers a direct ``application/sparql-query`` POST; the
default graph of many servers is *not* the merge of the named graphs (Virtuoso adds its system
graphs, Fuseki uses a real default graph, and both match a triple once per graph), so loads
also write the merge into one graph, :data:`UNION_GRAPH`, and queries without a dataset name it
as ``default-graph-uri`` with the loaded graphs as ``named-graph-uri``. Virtuoso refuses blank
nodes in ``INSERT DATA``, so data goes as ``INSERT { … } WHERE {}`` with each blank-node-
connected group of triples in one request. :data:`SYSTEM_GRAPH` lists the loaded graphs (so
the server's own system graphs stay out of ``GRAPH ?g``) and holds the marker as a literal.

A query naming several default graphs itself (``FROM``, ``default-graph-uri``) gets the remote
server's semantics for their merge (Virtuoso, like Oxigraph 0.5, matches a shared triple once
per graph; Jena merges).

A query here is stopped by the HTTP client: the whole answer must arrive within the timeout.

**Bulk loads** (``mckg load``, :meth:`RemoteStore.load_batches`) go into *staging graphs*
(``urn:x-mckg:staging:…``, registered in :data:`SYSTEM_GRAPH` so that a killed load's leftovers
are dropped by the next one) that no mckg query sees; only when every file has been read
are they added to their real graphs and to the merge with SPARQL ``ADD``, in one update
request, and dropped. A malformed file therefore changes nothing visible. The publishing
request is atomic where the server runs an update request as one transaction (Fuseki/TDB2,
GraphDB, Oxigraph server); Virtuoso commits operation by operation, so a server failure in the
middle of that one request could leave part of it applied. Triples with blank nodes are held
back until the end and sent grouped by blank node (a blank node must not be split across
requests), so memory grows with the blank-node triples of the load only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox
import requests

from ..query.info import QueryError, QueryInfo
from ..rdf.formats import rdf_format_for_media_type
from .base import QueryDataset, Store, StoreSpec, effective_dataset
from .errors import StoreError, StoreInputError, StoreReadOnly, StoreTimeout, StoreUnavailable
from .loading import LoadDrop, LoadRecord, with_load
from .results import NativeResult

#: Graph holding the RDF merge of all loaded graphs: the default graph of queries.
UNION_GRAPH = "urn:x-mckg:graph:union"
#: Graph holding the marker and the list of loaded graphs.
SYSTEM_GRAPH = "urn:x-mckg:graph:system"
_MARKER_S = "urn:x-mckg:store"
_MARKER_P = "urn:x-mckg:marker"
_GRAPH_P = "urn:x-mckg:loadedGraph"
_STAGING_P = "urn:x-mckg:stagingGraph"
#: Prefix of the staging graphs of bulk loads.
STAGING_PREFIX = "urn:x-mckg:staging:"
_RESERVED = (UNION_GRAPH, SYSTEM_GRAPH)

_RESULTS_ACCEPT = "application/sparql-results+json"
_GRAPH_ACCEPT = ("application/n-triples, text/plain;q=0.9, text/turtle;q=0.8, "
                 "application/rdf+xml;q=0.5")
_BNODE_LABEL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
#: Longest URL sent as GET; longer queries go as a form POST.
MAX_GET_URL = 4000
#: Triples per INSERT request (a blank-node group is never split). Virtuoso 7.2 refuses an
#: update whose generated SQL passes 10,000 lines, about 2,000 triples; 500 keeps well clear.
CHUNK = 500
#: Largest answer accepted from the remote endpoint.
MAX_ANSWER_BYTES = 512 * 1024 * 1024


def _clean_bnodes(body: bytes) -> bytes:
    """Give blank nodes labels RDF allows (Virtuoso writes ``nodeID://b10003``).

    Labels are hashed, so one node keeps one label throughout the answer.
    """
    data = json.loads(body)
    for row in data.get("results", {}).get("bindings", []):
        for term in row.values():
            if isinstance(term, dict) and term.get("type") == "bnode":
                value = str(term.get("value", ""))
                if not _BNODE_LABEL.match(value):
                    term["value"] = "b" + hashlib.sha1(value.encode("utf-8")).hexdigest()[:20]
    return json.dumps(data).encode("utf-8")


def _check_iri(value: str) -> str:
    """Refuse a graph name that would break out of ``<…>`` in an update."""
    if not value or any(c in value for c in '<>"{}|^`\\ \n\r\t'):
        raise StoreInputError(f"not a valid graph IRI: {value!r}")
    return value


def _components(quads: list[ox.Quad]) -> Iterator[list[ox.Quad]]:
    """Group quads so that all those sharing a blank node end up in one group."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        for _ in range(len(parent) + 1):  # bounded path walk
            if parent.get(root, root) == root:
                break
            root = parent[root]
        parent[x] = root
        return root

    def bnodes(q: ox.Quad) -> list[str]:
        return [t.value for t in (q.subject, q.object) if isinstance(t, ox.BlankNode)]

    for quad in quads:
        ids = bnodes(quad)
        for other in ids[1:]:
            a, b = find(ids[0]), find(other)
            if a != b:
                parent[a] = b
        for x in ids:
            parent.setdefault(x, x)
    groups: dict[str, list[ox.Quad]] = defaultdict(list)
    for quad in quads:
        ids = bnodes(quad)
        if ids:
            groups[find(ids[0])].append(quad)
        else:
            yield [quad]
    yield from groups.values()


class RemoteStore(Store):
    """A SPARQL 1.1 endpoint reached with ``requests``."""

    kind = "sparql"
    needs_workers = False
    stable = False
    checks_syntax = False  # remote messages vary, and their positions count our PREFIX lines

    def __init__(self, query_url: str, *, update_url: str | None = None, timeout: float = 30.0,
                 read_only: bool = False, session: requests.Session | None = None) -> None:
        super().__init__("sparql+" + query_url, read_only=read_only)
        if urlsplit(query_url).scheme not in ("http", "https"):
            raise StoreError(f"not an HTTP(S) SPARQL endpoint: {query_url!r}")
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.timeout = timeout
        self._session = session or requests.Session()
        self._graphs: list[str] | None = None

    @classmethod
    def open_location(cls, location: str, *, read_only: bool = False,
                      update_url: str | None = None, timeout: float = 30.0) -> RemoteStore:
        """Reach the endpoint whose query URL is ``location``."""
        return cls(location, update_url=update_url or None, timeout=timeout, read_only=read_only)

    @classmethod
    def from_spec(cls, spec: StoreSpec) -> RemoteStore:
        """A read-only client of the same endpoint."""
        return cls(spec.location, update_url=spec.options.get("update_url"),
                   timeout=float(spec.options.get("timeout", 30.0)), read_only=True)

    # -- HTTP ----------------------------------------------------------------------------
    def _request(self, url: str, params: list[tuple[str, str]], *, accept: str,
                 post: bool) -> tuple[bytes, str]:
        """Send one request; the complete answer must arrive within ``timeout`` seconds."""
        deadline = time.monotonic() + self.timeout
        headers = {"Accept": accept}
        try:
            if post:
                response = self._session.post(url, data=params, headers=headers,
                                              timeout=self.timeout, stream=True)
            else:
                response = self._session.get(url, params=params, headers=headers,
                                             timeout=self.timeout, stream=True)
            chunks: list[bytes] = []
            size = 0
            with response:
                for chunk in response.iter_content(64 * 1024):  # ends with the body
                    size += len(chunk)
                    if size > MAX_ANSWER_BYTES:
                        raise StoreUnavailable("the remote answer is too large")
                    if time.monotonic() > deadline:
                        raise requests.Timeout()
                    chunks.append(chunk)
                body = b"".join(chunks)
                status = response.status_code
                media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        except requests.Timeout:
            raise StoreTimeout(f"the SPARQL endpoint did not answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise StoreUnavailable(f"the SPARQL endpoint {url} is unreachable: {exc}") from None
        if status >= 400:
            message = body.decode("utf-8", "replace").strip()[:1000] or f"HTTP {status}"
            if status in (400, 403):
                raise QueryError(f"the SPARQL endpoint refused the query: {message}",
                                 status=status)
            raise StoreUnavailable(f"the SPARQL endpoint failed (HTTP {status}): {message}")
        return body, media_type.lower()

    def _select(self, text: str, params: Iterable[tuple[str, str]] = ()) -> list[dict[str, Any]]:
        """Run a small SELECT for the store's own bookkeeping; rows as JSON bindings."""
        body, _ = self._request(self.query_url, [("query", text), *params],
                                accept=_RESULTS_ACCEPT, post=True)
        try:
            return list(json.loads(body)["results"]["bindings"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreUnavailable(f"unreadable answer from the SPARQL endpoint: {exc}") from None

    # -- querying ------------------------------------------------------------------------
    def loaded_graphs(self) -> list[str]:
        """The graphs loads have registered in :data:`SYSTEM_GRAPH` (cached per handle)."""
        if self._graphs is None:
            rows = self._select(f"SELECT ?g WHERE {{ GRAPH <{SYSTEM_GRAPH}> "
                                f"{{ <{_MARKER_S}> <{_GRAPH_P}> ?g }} }}")
            self._graphs = sorted({r["g"]["value"] for r in rows if "g" in r})
        return self._graphs

    def query(self, text: str, info: QueryInfo, *, dataset: QueryDataset | None = None,
              prefixes: Mapping[str, str] | None = None, limit: int | None = None,
              base_iri: str | None = None) -> NativeResult:
        """Send the query with the dataset made explicit; parse the answer natively."""
        prologue = f"BASE <{_check_iri(base_iri)}>\n" if base_iri else ""
        prologue += "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in (prefixes or {}).items())
        params: list[tuple[str, str]] = [("query", prologue + text)]
        chosen = effective_dataset(info, dataset)
        if chosen is None:
            params += [("default-graph-uri", UNION_GRAPH)]
            params += [("named-graph-uri", g) for g in self.loaded_graphs()]
        elif dataset is not None and dataset.given:
            params += [("default-graph-uri", g) for g in dataset.default_graphs]
            params += [("named-graph-uri", g) for g in dataset.named_graphs]
        # else: the query's own FROM clauses apply.
        accept = _RESULTS_ACCEPT if info.form in ("SELECT", "ASK") else _GRAPH_ACCEPT
        url = requests.Request("GET", self.query_url, params=params).prepare().url or ""
        body, media_type = self._request(self.query_url, params, accept=accept,
                                         post=len(url) > MAX_GET_URL)
        try:
            if info.form in ("SELECT", "ASK"):
                fmt = ox.QueryResultsFormat.from_media_type(media_type) or ox.QueryResultsFormat.JSON
                if fmt == ox.QueryResultsFormat.JSON and b'"bnode"' in body:
                    body = _clean_bnodes(body)
                answer = ox.parse_query_results(body, fmt)
                if isinstance(answer, ox.QueryBoolean):
                    return NativeResult("ASK", boolean=bool(answer))
                return NativeResult("SELECT", solutions=answer, query_limit=info.limit)
            found = rdf_format_for_media_type(media_type)
            # JSON-LD has no writer of ours in Oxigraph, but Oxigraph reads it.
            rdf = (found.oxigraph or ox.RdfFormat.JSON_LD) if found else ox.RdfFormat.N_TRIPLES
            triples = [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, rdf)]
            return NativeResult(info.form, triples=triples, query_limit=info.limit)
        except (SyntaxError, ValueError) as exc:
            raise StoreUnavailable(
                f"unreadable answer from the SPARQL endpoint ({media_type}): {exc}") from None

    def update(self, text: str) -> None:
        """POST a SPARQL Update as the form parameter ``update``."""
        if self.read_only:
            raise StoreReadOnly("this store handle is read-only")
        try:
            self._request(self.update_url, [("update", text)], accept="*/*", post=True)
        except QueryError as exc:
            raise StoreUnavailable(f"update refused: {exc.message}") from None

    # -- loading -------------------------------------------------------------------------
    def _insert(self, quads: list[ox.Quad], graph: str) -> None:
        body = " .\n".join(f"{q.subject} {q.predicate} {q.object}" for q in quads)
        self.update(f"INSERT {{ GRAPH <{graph}> {{\n{body} .\n}} }} WHERE {{}}")

    def _insert_chunks(self, quads: list[ox.Quad], graph: str) -> None:
        batch: list[ox.Quad] = []
        for group in _components(quads):
            batch.extend(group)
            if len(batch) >= CHUNK:
                self._insert(batch, graph)
                batch = []
        if batch:
            self._insert(batch, graph)

    def load_nquads(self, data: bytes, *, replace: Iterable[str] = ()) -> None:
        """Insert graph by graph, each triple into :data:`UNION_GRAPH` too, and register them.

        Not one transaction: a SPARQL endpoint commits per request. Callers that need to
        detect an interrupted load remove the marker first (:mod:`mckg.store.provision` does).
        """
        if self.read_only:
            raise StoreReadOnly("this store handle is read-only")
        try:
            quads = list(ox.parse(data, ox.RdfFormat.N_QUADS))
        except SyntaxError as exc:
            raise StoreInputError(f"invalid N-Quads: {exc}") from None
        by_graph: dict[str, list[ox.Quad]] = defaultdict(list)
        for quad in quads:
            if not isinstance(quad.graph_name, ox.NamedNode):
                raise StoreInputError("every triple must be in a named graph")
            by_graph[quad.graph_name.value].append(quad)
        replaced = [_check_iri(g) for g in replace]
        for graph in replaced:
            self.update(f"DROP SILENT GRAPH <{graph}> ; DELETE DATA {{ GRAPH <{SYSTEM_GRAPH}> "
                        f"{{ <{_MARKER_S}> <{_GRAPH_P}> <{graph}> }} }}")
        self._graphs = None
        for graph, items in by_graph.items():
            self._insert_chunks(items, graph)
            self.update(f"INSERT DATA {{ GRAPH <{SYSTEM_GRAPH}> "
                        f"{{ <{_MARKER_S}> <{_GRAPH_P}> <{graph}> }} }}")
        if replaced:  # the merge loses what only the dropped graphs held: rebuild it
            self.update(f"DROP SILENT GRAPH <{UNION_GRAPH}>")
            for graph in self.loaded_graphs():
                self.update(f"ADD SILENT <{graph}> TO <{UNION_GRAPH}>")
        else:
            self._insert_chunks(quads, UNION_GRAPH)
        self._graphs = None

    def _staging_graphs(self) -> list[str]:
        rows = self._select(f"SELECT ?g WHERE {{ GRAPH <{SYSTEM_GRAPH}> "
                            f"{{ <{_MARKER_S}> <{_STAGING_P}> ?g }} }}")
        return sorted({r["g"]["value"] for r in rows if "g" in r})

    def _drop_staging(self, graphs: Iterable[str]) -> None:
        for graph in graphs:
            self.update(f"DROP SILENT GRAPH <{graph}> ; DELETE DATA {{ GRAPH <{SYSTEM_GRAPH}> "
                        f"{{ <{_MARKER_S}> <{_STAGING_P}> <{graph}> }} }}")

    def load_batches(self, batches: Iterable[Sequence[ox.Quad]], *,
                     record: LoadRecord | None = None, drop: LoadDrop | None = None) -> None:
        """Stage every batch in hidden graphs, then publish them at once (module docstring);
        the graphs ``drop()`` names, and their merge copies no other graph holds, go in the
        same publishing request."""

        if self.read_only:
            raise StoreReadOnly("this store handle is read-only")
        self._drop_staging(self._staging_graphs())  # what killed loads left behind
        token = secrets.token_hex(8)
        staging: dict[str, str] = {}
        held: dict[str, list[ox.Quad]] = defaultdict(list)  # quads with blank nodes

        def stage(graph: str) -> str:
            if graph not in staging:
                name = f"{STAGING_PREFIX}{token}:{len(staging)}"
                self.update(f"INSERT DATA {{ GRAPH <{SYSTEM_GRAPH}> "
                            f"{{ <{_MARKER_S}> <{_STAGING_P}> <{name}> }} }}")
                staging[_check_iri(graph)] = name
            return staging[graph]

        try:
            for batch in batches:
                plain: dict[str, list[ox.Quad]] = defaultdict(list)
                for quad in batch:
                    graph = str(quad.graph_name.value)  # type: ignore[union-attr]
                    if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
                        held[graph].append(quad)
                    else:
                        plain[graph].append(quad)
                for graph, quads in plain.items():
                    name = stage(graph)
                    for start in range(0, len(quads), CHUNK):
                        self._insert(quads[start:start + CHUNK], name)
            for graph, quads in held.items():
                self._insert_chunks(quads, stage(graph))
            dropped = [_check_iri(g) for g in sorted(drop())] if drop is not None else []
            if staging or dropped:
                registry = " ".join(f"<{_MARKER_S}> <{_GRAPH_P}> <{g}> ." for g in staging)
                self.update(" ;\n".join(
                    [f"ADD SILENT <{name}> TO <{graph}> ; ADD SILENT <{name}> TO <{UNION_GRAPH}>"
                     for graph, name in staging.items()]
                    + ([f"INSERT DATA {{ GRAPH <{SYSTEM_GRAPH}> {{ {registry} }} }}"]
                       if staging else [])
                    + [self._drop_ops(graph) for graph in dropped]))
        except BaseException:
            with contextlib.suppress(StoreError):
                self._drop_staging(staging.values())
            raise
        finally:
            self._graphs = None
        self._drop_staging(staging.values())
        if record is not None:
            self.write_marker(with_load(self.read_marker(), record()))

    @staticmethod
    def _drop_ops(graph: str) -> str:
        """Operations dropping ``graph``, its merge copies that no other graph holds (staging
        graphs count: they hold what is being published) and its registry entry."""
        return (f"DELETE {{ GRAPH <{UNION_GRAPH}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{graph}> "
                f"{{ ?s ?p ?o }} FILTER NOT EXISTS {{ GRAPH ?h {{ ?s ?p ?o }} FILTER (?h NOT IN "
                f"(<{graph}>, <{UNION_GRAPH}>, <{SYSTEM_GRAPH}>)) }} }} ;\n"
                f"DROP SILENT GRAPH <{graph}> ;\n"
                f"DELETE DATA {{ GRAPH <{SYSTEM_GRAPH}> {{ <{_MARKER_S}> <{_GRAPH_P}> <{graph}> }} }}")

    def clear(self) -> None:
        """Drop the loaded graphs, the merge, the registry and the marker.

        Graphs that mckg did not load are left alone.
        """
        for graph in [*self.loaded_graphs(), *self._staging_graphs(), UNION_GRAPH, SYSTEM_GRAPH]:
            self.update(f"DROP SILENT GRAPH <{graph}>")
        self._graphs = None

    # -- describing ----------------------------------------------------------------------
    def named_graphs(self) -> list[str]:
        """The loaded graphs."""
        return list(self.loaded_graphs())

    def counts(self) -> dict[str, int]:
        """Triples per loaded graph."""
        graphs = self.loaded_graphs()
        if not graphs:
            return {}
        values = " ".join(f"<{g}>" for g in graphs)
        rows = self._select("SELECT ?g (COUNT(*) AS ?n) WHERE { VALUES ?g { " + values
                            + " } GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        return {r["g"]["value"]: int(r["n"]["value"]) for r in rows if "g" in r and "n" in r}

    def triple_count(self) -> int:
        """Triples in the merge graph."""
        rows = self._select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{UNION_GRAPH}> {{ ?s ?p ?o }} }}")
        return int(rows[0]["n"]["value"]) if rows and "n" in rows[0] else 0

    # -- persistence ---------------------------------------------------------------------
    def read_marker(self) -> dict[str, Any] | None:
        """The marker literal from :data:`SYSTEM_GRAPH`, or None."""
        rows = self._select(f"SELECT ?m WHERE {{ GRAPH <{SYSTEM_GRAPH}> "
                            f"{{ <{_MARKER_S}> <{_MARKER_P}> ?m }} }}")
        for row in rows:
            try:
                value = json.loads(row["m"]["value"])
            except (KeyError, ValueError):
                continue
            if isinstance(value, dict):
                return value
        return None

    def write_marker(self, marker: dict[str, Any] | None) -> None:
        """Replace the marker literal (None removes it)."""
        self.update(f"DELETE WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ <{_MARKER_S}> <{_MARKER_P}> ?m }} }}")
        if marker is not None:
            literal = json.dumps(json.dumps(marker, sort_keys=True))  # a valid SPARQL string
            self.update(f"INSERT DATA {{ GRAPH <{SYSTEM_GRAPH}> {{ <{_MARKER_S}> <{_MARKER_P}> "
                        f"{literal} }} }}")

    # -- processes -----------------------------------------------------------------------
    def worker_spec(self) -> StoreSpec:
        """Remote stores need no workers, but can describe themselves all the same."""
        return StoreSpec("sparql", self.query_url,
                         {"update_url": self.update_url, "timeout": self.timeout})

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()
