"""Everything the linked-data pages need, held once per served store.

:class:`LinkedData` ties a runner (the served store through the query service, or a built graph)
to the index, the describer, the comparison, the ontology documentation, the dumps and the
dataset description, and keeps what does not change while the store is served.

Dumps are exported from the served store itself (:mod:`mckg.dataset.export`, Oxigraph's own writers),
in a background thread started with the site, so no visitor waits for them; they are kept in
a folder keyed by the provisioning fingerprint (:func:`mckg.store.provision.fingerprint`), so a
restart with unchanged data reuses them and changed data never serves stale files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, SKOS

from ..build.cache import fingerprint
from ..config import Settings
from ..dataset.metadata import dataset_iri
from ..query.service import QueryService
from ..store import Store
from ..survey import diff as survey
from .catalog import catalog_iri, describe_dataset
from .cite import Citations, Work
from .compare import COLUMNS, Comparison, WaveChanges, compare, mark_changes
from .describe import Describer, Description
from .dumps import Dump, read_manifest, write_dumps
from .facts import FactTable
from .index import GraphIndex
from .iris import Site
from .ontology import OntologyDoc, OntologyDocumenter
from .reading import Reading, reading
from .runner import Runner, ServiceRunner
from .search import Hit, Results, TextIndex

#: Not read yet (:meth:`LinkedData.latest_changes` may find that there is nothing to read).
_UNREAD = object()

#: Descriptions kept (the served data does not change; a page and its four RDF variants are
#: built from one description).
DESCRIPTION_CACHE = 512
log = logging.getLogger("mckg.linked")

#: How long a caller of :meth:`LinkedData.dumps` waits for their export.
DUMP_TIMEOUT = 600.0


def explicit_dumps_folder(settings: Settings) -> Path | None:
    """The dumps folder the operator chose (``settings.extra["dumps_dir"]`` or
    ``$MCKG_DUMPS_DIR``), if any."""
    explicit = settings.extra.get("dumps_dir") or os.environ.get("MCKG_DUMPS_DIR")
    return Path(explicit) if explicit else None


def dumps_folder(settings: Settings, version: str | None = None) -> Path:
    """Where the dumps of ``settings``' graph are kept.

    The operator's folder (:func:`explicit_dumps_folder`) if set; else a folder under
    ``$XDG_DATA_HOME/mckg/dumps`` (beside ``mckg serve``'s default store) named after the
    provisioning fingerprint and the served data's ``version``: a load, an ingested wave or
    a curated write moves the version on, so the dumps are written again for the new data
    instead of a stale set being served.
    """
    explicit = explicit_dumps_folder(settings)
    if explicit is not None:
        return explicit
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    name = fingerprint(settings)[:16]
    if version is not None:
        name = f"{name}-{hashlib.blake2b(version.encode(), digest_size=6).hexdigest()}"
    return Path(data_home) / "mckg" / "dumps" / name


class LinkedData:
    """The linked-data view of one served dataset."""

    def __init__(self, runner: Runner, store: Store, *, settings: Settings,
                 counts: Callable[[], Mapping[str, int]], triples: Callable[[], int],
                 dumps_dir: Path | None = None) -> None:
        self.runner = runner
        self.settings = settings
        self.site = Site(settings.base)
        self._counts = counts
        self._triples = triples
        self.store = store
        self._fixed_dumps = dumps_dir is not None or explicit_dumps_folder(settings) is not None
        self.dumps_dir = dumps_dir or dumps_folder(settings, self._data_version())
        self._dumps: list[Dump] | None = None
        self._dump_error: BaseException | None = None
        self._dump_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._dump_lock = threading.Lock()
        self._comparisons: dict[int | None, Comparison] = {}
        self._changes: dict[int, WaveChanges] = {}
        self._latest: object = _UNREAD
        self._ontology: OntologyDoc | None = None
        self._description: Graph | None = None
        self._described: OrderedDict[str, Description | None] = OrderedDict()
        self._version = self._data_version()
        self._read_anew()

    def _read_anew(self) -> None:
        """(Re)make everything read from the data: index, describer, search, table, caches."""
        self.index = GraphIndex(self.runner)
        self.describer = Describer(self.index, self.site)
        self.citations = Citations(self.runner)
        self.text = TextIndex(self.index)
        self.facts = FactTable(self.index)
        self._comparisons = {}
        self._changes = {}
        self._latest = _UNREAD
        self._ontology = None
        self._description = None
        self._described = OrderedDict()

    def _data_version(self) -> str | None:
        """The query service's data version (it moves on when curation writes), if any."""
        service = getattr(self.runner, "service", None)
        version = getattr(service, "version", None)
        return version if isinstance(version, str) else None

    def fresh(self) -> LinkedData:
        """This view, read anew first if the served data changed since (a curation write):
        labels, facts, the search index and the comparison are kept only while the data
        they were read from is served. A store others may change (a remote endpoint) has no
        version and is read once, as before."""
        version = self._data_version()
        if version is not None and version != self._version:
            with self._lock:
                if version != self._version:
                    self._read_anew()
                    self._version = version
                    if not self._fixed_dumps:
                        self._new_dumps(dumps_folder(self.settings, version))
        return self

    def _new_dumps(self, folder: Path) -> None:
        """Serve the dumps of the data now served: from ``folder``, written in the background
        (a download already started finishes from the old folder, which is left in place)."""
        with self._dump_lock:
            self.dumps_dir = folder
            self._dumps = None
            self._dump_error = None
            self._dump_thread = None
        self.start_dumps()

    @classmethod
    def for_service(cls, service: QueryService, settings: Settings,
                    dumps_dir: Path | None = None) -> LinkedData:
        """The view of the store a query service serves (its engine, workers, time limit)."""
        return cls(ServiceRunner(service, settings.base), service.store, settings=settings,
                   counts=service.counts, triples=service.triple_count, dumps_dir=dumps_dir)

    # -- resources -----------------------------------------------------------------------
    def exists(self, iri: str) -> bool:
        """True when ``iri`` is in the dataset or its generated description."""
        base = self.site.base
        if iri in (str(dataset_iri(base)), str(catalog_iri(base))):
            return True
        return self.describer.exists(iri)

    def describe(self, iri: str) -> Description | None:
        """The description of ``iri``, or None when the dataset does not know it."""
        with self._lock:
            if iri in self._described:
                self._described.move_to_end(iri)
                return self._described[iri]
        extra = self.catalog_extra(iri)
        found = None
        if extra is not None or self.describer.exists(iri):
            found = self.describer.describe(iri, extra=extra)
        with self._lock:
            self._described[iri] = found
            while len(self._described) > DESCRIPTION_CACHE:
                self._described.popitem(last=False)
        return found

    def catalog_extra(self, iri: str) -> Graph | None:
        """The generated dataset description, for the dataset's and the catalogue's documents."""
        if iri not in (str(dataset_iri(self.site.base)), str(catalog_iri(self.site.base))):
            return None
        # The whole description belongs to both documents: distributions, the publisher and
        # the SPARQL service are described nowhere else.
        return self.description()

    def reading(self, description: Description, wave: int | None = None) -> Reading:
        """``description`` in reading order: summary, facts by topic, citation.

        Without ``wave`` every source, the summary marked with what the latest wave with data
        changed; with it, that survey wave's answers only, marked with what it changed since
        the wave before (the same cached comparison and changes as ``/compare?wave=N``).
        """
        if wave is None:
            return reading(description, self.comparison(None), self.citations, self.report(),
                           self.latest_changes())
        table = self.comparison(wave)
        return reading(description, table, self.citations, self.report(), table.changes,
                       wave=wave)

    def dataset_work(self) -> Work | None:
        """The dataset as a citable work (its ``dct:bibliographicCitation``), if it has one."""
        return self.citations.work(str(dataset_iri(self.site.base)))

    def report(self) -> Work | None:
        """The citable work most facts are derived from (all of them, in the shipped data)."""
        works = self.citations.works()
        counts = Counter(p.document.iri for p in self.index.provenance().values()
                         if p.document is not None and p.document.iri in works)
        return works[counts.most_common(1)[0][0]] if counts else None

    def search(self, query: str) -> list[Hit]:
        """The best hits for ``query`` (full text; the 404 page's suggestions)."""
        return self.text.search(query).hits

    def full_search(self, query: str, filters: dict[str, str]) -> Results:
        """Full-text search with filters (:mod:`.search`).

        :raise UnknownFilter: a filter value no resource has.
        """
        return self.text.search(query, filters)

    def comparison(self, wave: int | None = None) -> Comparison:
        """The comparison table, its cells marked with what ``wave`` changed since the wave
        before (kept per data version, like the rest)."""
        if wave not in self._comparisons:
            table = compare(self.describer, wave=wave)
            if wave is not None and not table.empty:  # a wave without data changed nothing
                changes = self.changes(wave)
                earlier = (self.comparison(changes.previous) if changes.previous is not None
                           else None)
                mark_changes(table, earlier, changes)
            with self._lock:
                self._comparisons[wave] = table
        return self._comparisons[wave]

    def changes(self, wave: int) -> WaveChanges:
        """The comparison cells survey wave ``wave`` changed since the wave before it.

        The survey diff decides (:func:`mckg.survey.diff.changed_cells`, one stored query),
        run through the query service like every page's query, once per data version.
        Dimensions that are not comparison columns (remarks, policy documents) are left out.
        """
        if wave not in self._changes:
            found = WaveChanges(wave, None)
            if isinstance(self.runner, ServiceRunner):
                current = survey.resolve_wave(self.runner, str(wave))
                earlier = survey.previous_wave(self.runner, current)
                if earlier is not None:
                    keys = {c.key for c in COLUMNS}
                    cells = survey.changed_cells(self.runner.service, self.site.base, str(wave))
                    found = WaveChanges(wave, earlier.number,
                                        frozenset(c for c in cells if c[1] in keys))
            with self._lock:
                self._changes[wave] = found
        return self._changes[wave]

    def latest_changes(self) -> WaveChanges | None:
        """What the latest survey wave that has data changed (the country pages' marker),
        or None when no wave has data yet."""
        if self._latest is _UNREAD:
            latest = None
            if isinstance(self.runner, ServiceRunner):
                with_data = [w for w in survey.waves(self.runner)
                             if survey.has_data(self.runner, w)]
                latest = self.changes(with_data[-1].number) if with_data else None
            with self._lock:
                self._latest = latest
        return self._latest if isinstance(self._latest, WaveChanges) else None

    def ontology(self) -> OntologyDoc:
        """The ontology documentation."""
        if self._ontology is None:
            doc = OntologyDocumenter(self.describer).document()
            with self._lock:
                self._ontology = doc
        return self._ontology

    def graph_of(self, layer: str) -> Graph:
        """The triples of the named graph ``layer``."""
        answer = self.runner.construct("ld-named-graph", graph=URIRef(self.site.graph_iri(layer)))
        assert answer.graph is not None
        return answer.graph

    def counts(self) -> dict[str, int]:
        """Triples per named graph IRI."""
        return dict(self._counts())

    # -- dumps and the dataset description -------------------------------------------------
    def start_dumps(self) -> None:
        """Export the dumps in a background thread, unless the folder holds them already."""
        with self._dump_lock:
            if self._dumps is not None or self._dump_thread is not None:
                return
            self._dumps = read_manifest(self.dumps_dir)
            if self._dumps is not None:
                return

            def export() -> None:
                try:
                    written = write_dumps(self.store, self.site.base, self.dumps_dir)
                except BaseException as exc:  # kept and raised to whoever asks for the dumps
                    log.error("exporting the dumps into %s failed: %s", self.dumps_dir, exc)
                    self._dump_error = exc
                    return
                self._dumps = written

            self._dump_thread = threading.Thread(target=export, name="mckg-dumps", daemon=True)
            self._dump_thread.start()

    def ready_dumps(self) -> list[Dump] | None:
        """The dumps if they are written, else None (and their export is started)."""
        self.start_dumps()
        if self._dump_error is not None:
            raise self._dump_error
        return self._dumps

    def dumps(self, timeout: float = DUMP_TIMEOUT) -> list[Dump]:
        """The dumps, waiting (bounded) for their export if it is still running.

        :raise TimeoutError: they were not written within ``timeout`` seconds.
        """
        self.start_dumps()
        thread = self._dump_thread
        if self._dumps is None and thread is not None:
            thread.join(timeout)
        found = self.ready_dumps()
        if found is None:
            raise TimeoutError(f"the dumps were not written within {timeout:g} s")
        return found

    def description(self) -> Graph:
        """The DCAT + VoID description of the dataset (dumps built if needed)."""
        if self._description is None:
            ds = str(dataset_iri(self.site.base))
            stored = Graph()
            for row in self.runner.select("ld-outgoing", resource=URIRef(ds)).rows:
                stored.add((URIRef(ds), row["p"], row["o"]))
            examples = [str(o) for o in stored.objects(URIRef(ds), URIRef(
                "http://rdfs.org/ns/void#exampleResource"))]
            for candidate in (f"{self.site.base}id/country/ES",
                              f"{self.site.base}id/programme/plan-microcreds"):
                if candidate not in examples and self.describer.exists(candidate):
                    examples.append(candidate)
            labels: dict[str, Literal] = {}
            for theme in stored.objects(URIRef(ds), DCAT.theme):
                found = self.index.label_term(str(theme))
                if found is not None and found[0] == SKOS.prefLabel:
                    labels[str(theme)] = found[1]
            graph = describe_dataset(base=self.site.base, counts=self.counts(),
                                     triples=self._triples(), dumps=self.dumps(), stored=stored,
                                     examples=examples, labels=labels)
            with self._lock:
                self._description = graph
        return self._description
