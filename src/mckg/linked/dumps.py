"""The whole dataset as files: Turtle, N-Triples, JSON-LD and TriG, gzipped where large.

=====================  =====================================================================
``mckg.ttl``           ontology, vocabularies, data and reference data (what the report says
``mckg.nt[.gz]``       and the tables it is aligned with), as one graph
``mckg.jsonld``        the same, compacted with the project's context (embedded: parses
                       offline)
``mckg.trig``          every named graph kept apart, OWL 2 RL inferences included
=====================  =====================================================================

A file larger than :data:`GZIP_OVER` bytes is written gzipped only (``.gz``), so a harvester
never downloads megabytes of N-Triples uncompressed. Files are written to a temporary name and
renamed, and ``dumps.json`` (their sizes and triple counts, read by the dataset description)
last — so two processes writing the same folder, or a crash, never leave a half file that a
reader would take for complete.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..build.graphs import ASSERTED_LAYERS
from ..dataset.export import export_graphs, store_graphs
from ..rdf.formats import rdf_format
from ..store import Store

#: Files over this many bytes are published gzipped.
GZIP_OVER = 1_000_000
MANIFEST = "dumps.json"


@dataclass(frozen=True)
class DumpSpec:
    """What one file holds: its stem, RDF format and named graphs."""

    stem: str
    format: str
    layers: tuple[str, ...]
    title: str


SPECS: tuple[DumpSpec, ...] = (
    DumpSpec("mckg", "turtle", ASSERTED_LAYERS, "The dataset in Turtle"),
    DumpSpec("mckg", "nt", ASSERTED_LAYERS, "The dataset in N-Triples"),
    DumpSpec("mckg", "json-ld", ASSERTED_LAYERS, "The dataset in JSON-LD"),
    DumpSpec("mckg", "trig", (*ASSERTED_LAYERS, "inferred", "user"),
             "Every named graph in TriG, OWL 2 RL inferences included"),
)


@dataclass(frozen=True)
class Dump:
    """A written file."""

    name: str
    title: str
    media_type: str
    format: str
    compressed: bool
    size: int
    triples: int
    graphs: tuple[str, ...]
    sha256: str

    @property
    def download_media_type(self) -> str:
        """The media type of the bytes served (gzip for compressed files)."""
        return "application/gzip" if self.compressed else self.media_type


def _write_atomic(folder: Path, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # published files: mkstemp makes them private
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_dumps(store: Store, base: str, folder: Path,
                specs: Sequence[DumpSpec] = SPECS) -> list[Dump]:
    """Write every dump of what ``store`` holds into ``folder``, then its manifest.

    Read from the store by its own engine (:mod:`mckg.dataset.export`): the files hold exactly what
    the endpoint serves.
    """
    folder.mkdir(parents=True, exist_ok=True)
    dumps = []
    for spec in specs:
        fmt = rdf_format(spec.format)
        graphs = store_graphs(store, base, layers=spec.layers)
        exported = export_graphs(store, graphs, fmt, base=base)
        data = exported.data
        compressed = len(data) > GZIP_OVER
        name = spec.stem + fmt.suffix + (".gz" if compressed else "")
        if compressed:
            data = gzip.compress(data, mtime=0)  # mtime 0: same input, same bytes
        _write_atomic(folder, name, data)
        dumps.append(Dump(name, spec.title, fmt.media_type, fmt.name, compressed, len(data),
                          exported.statements, exported.graphs,
                          hashlib.sha256(data).hexdigest()))
    manifest = json.dumps([asdict(d) for d in dumps], indent=2).encode("utf-8")
    _write_atomic(folder, MANIFEST, manifest)
    return dumps


def read_manifest(folder: Path) -> list[Dump] | None:
    """The dumps recorded in ``folder``, or None when it holds no complete set."""
    try:
        entries = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        dumps = [Dump(**{**e, "graphs": tuple(e["graphs"])}) for e in entries]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not all((folder / d.name).is_file() for d in dumps):
        return None
    return dumps
