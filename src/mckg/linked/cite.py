"""How to cite the dataset, a page and a fact: the report's own citation, section and page.

A researcher who quotes a fact from these pages should cite the report it comes from, not our
paraphrase: the citation is the source's ``dct:bibliographicCitation`` (in the data, so a new
source brings its own), followed by the section and the page it starts on, and then the page's
IRI, so a reader can find both the passage and the structured record. Read once per server with
two stored queries (``ld-citations``, ``ld-sections``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from rdflib import Literal

from .index import Provenance
from .runner import Runner


@dataclass(frozen=True)
class Work:
    """A citable work: the dataset or a report."""

    iri: str
    citation: str
    title: str | None
    issued: str | None
    address: str | None


@dataclass(frozen=True)
class FactCitation:
    """The citation of one fact: the report's citation, where in it, and our record of it."""

    work: Work | None
    where: str
    record: str

    @property
    def text(self) -> str:
        """One line to paste into a paper."""
        parts = [self.work.citation.rstrip(".") + "." if self.work else "", self.where,
                 f"Structured record: {self.record}"]
        return " ".join(p for p in parts if p)


class Citations:
    """The citations of every work and the first page of every report part, read once."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._lock = threading.Lock()
        self._works: dict[str, Work] | None = None
        self._pages: dict[str, int] | None = None

    def works(self) -> dict[str, Work]:
        """Every work with a bibliographic citation, by IRI."""
        if self._works is None:
            found: dict[str, Work] = {}
            for r in self.runner.select("ld-citations").rows:
                iri = str(r["work"])
                if iri not in found:
                    found[iri] = Work(iri, str(r["citation"]),
                                      str(r["title"]) if "title" in r else None,
                                      str(r["issued"]) if "issued" in r else None,
                                      str(r["address"]) if "address" in r else None)
            with self._lock:
                self._works = found
        return self._works

    def pages(self) -> dict[str, int]:
        """The first page of every report part that gives one, by part IRI."""
        if self._pages is None:
            pages: dict[str, int] = {}
            for r in self.runner.select("ld-sections").rows:
                page = r.get("page")
                if isinstance(page, Literal) and str(page).isdigit():
                    pages[str(r["section"])] = int(str(page))
            with self._lock:
                self._pages = pages
        return self._pages

    def work(self, iri: str) -> Work | None:
        """The work ``iri``, if it has a citation."""
        return self.works().get(iri)

    def fact(self, provenance: Provenance, record: str) -> FactCitation:
        """How to cite the fact ``provenance`` describes; ``record`` is its page's IRI."""
        work = self.work(provenance.document.iri) if provenance.document else None
        pages = self.pages()
        where = []
        for s in provenance.sections:
            page = pages.get(s.iri)
            where.append(s.label + (f" (from p. {page})" if page else ""))
        where += [f"footnote {n.number}" for n in provenance.footnotes if n.number]
        return FactCitation(work, ", ".join(where) + ("." if where else ""), record)
