"""The built, reasoned graph kept as N-Quads and keyed by its fingerprint: built once, anywhere.

Building the shipped graph means parsing every source file and computing the OWL 2
RL closure — seconds of work whose result only changes when a source does. So the result is
kept, gzipped N-Quads named by :func:`mckg.store.provision.fingerprint` (which hashes the
sources, the building code, the package version and the options):

- in a **cache folder** (``$MCKG_CACHE_DIR``, else ``$XDG_CACHE_HOME/mckg/graphs``, else
  ``~/.cache/mckg/graphs``): every store that is provisioned with the same sources — a new
  Oxigraph folder, a memory store, another test process — loads it instead of rebuilding;
The fingerprint hashes everything the built graph depends on: the mckg version, the settings
that shape the build (base IRI, shipped data on/off, reasoning), the content of the shipped
files and of the extra files, and the source of the modules that build it.

- **in the wheel** (``mckg/_resources/built/``): written when the package is built
  (``hatch_build.py``), so ``pip install . && mckg serve`` answers without building at all.
  A wheel built from other sources simply has another fingerprint and is not used.

Entries are written to a temporary name and renamed, so concurrent writers (parallel test
processes) never expose half a file; the folder keeps the :data:`KEEP` newest entries.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path

from .. import __version__
from ..config import Settings
from ..rdf.files import DataError
from .graphs import ASSERTED_LAYERS, build, layer_files

log = logging.getLogger("mckg.build")

#: Part of every fingerprint: bump it when the stored form of a built graph changes.
MARKER_FORMAT = 1
#: The modules whose code shapes the built graph (their source is part of the fingerprint).
_BUILD_MODULES = ("build/graphs.py", "build/reasoning.py", "rdf/files.py", "rdf/formats.py",
                  "rdf/namespaces.py", "rdf/terms.py")

#: Entries kept in the cache folder (the newest by modification time).
KEEP = 8
#: The package folder (``mckg/``), where the wheel keeps ``_resources/built``.
_PACKAGE = Path(__file__).resolve().parents[1]
_PACKAGED = _PACKAGE / "_resources" / "built"
_SUFFIX = ".nq.gz"


def cache_dir() -> Path:
    """The cache folder (see the module docstring)."""
    explicit = os.environ.get("MCKG_CACHE_DIR")
    if explicit:
        return Path(explicit)
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "mckg" / "graphs"


def lookup(fp: str) -> bytes | None:
    """The N-Quads of the graph with fingerprint ``fp``, or None if nobody built it yet."""
    for folder in (cache_dir(), _PACKAGED):
        path = folder / f"{fp}{_SUFFIX}"
        try:
            return gzip.decompress(path.read_bytes())
        except (OSError, EOFError):  # absent, unreadable or cut short: build instead
            continue
    return None


def remember(fp: str, nquads: bytes, folder: Path | None = None) -> Path | None:
    """Keep ``nquads`` as the graph of fingerprint ``fp``; None if the folder is not writable.

    The cache is an optimisation: failing to write it never fails the build.
    """
    folder = folder or cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".mckg-", suffix=_SUFFIX, dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(gzip.compress(nquads, compresslevel=6, mtime=0))
        target = folder / f"{fp}{_SUFFIX}"
        os.replace(temp, target)
    except OSError:
        return None
    _prune(folder)
    return target


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob(f"*{_SUFFIX}"), key=_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def built(fp: str, build: Callable[[], bytes]) -> tuple[bytes, bool]:
    """The graph of fingerprint ``fp``: from the cache, or ``build()`` and kept.

    Returns the N-Quads and whether they came from the cache.
    """
    found = lookup(fp)
    if found is not None:
        return found, True
    data = build()
    remember(fp, data)
    return data, False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):  # ends at end of file
            digest.update(block)
    return digest.hexdigest()


def fingerprint(settings: Settings, *, left_out: Collection[str] = ()) -> str:
    """Hash of everything the built graph depends on (see the module docstring), including
    the shipped layers ``left_out`` of it (the ESCO sample, in a store holding real ESCO).

    :raise DataError: an extra file cannot be read.
    """
    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        for part in parts:
            digest.update(str(part).encode("utf-8"))
            digest.update(b"\0")

    add("mckg", __version__, MARKER_FORMAT, settings.base, settings.include_shipped,
        settings.reasoning)
    if left_out:
        add("left out", *sorted(left_out))
    for name in _BUILD_MODULES:
        add(name, _sha256(_PACKAGE / name))
    if settings.include_shipped:
        for layer in ASSERTED_LAYERS:
            if layer in left_out:
                continue
            for path in layer_files(layer):
                add(layer, path.name, _sha256(path))
    for extra in settings.extra_files:
        path = Path(extra).resolve()
        try:
            add("extra", path, _sha256(path))
        except OSError as exc:
            raise DataError(str(path), exc.strerror or str(exc)) from None
    return digest.hexdigest()


def built_graph(settings: Settings, *, left_out: Collection[str] = ()) -> tuple[bytes, bool]:
    """The N-Quads of the graph ``settings`` describe (without the shipped layers
    ``left_out``), and whether the build cache had them.

    Built with rdflib (and reasoned) only when :mod:`mckg.build.cache` has no copy yet.

    :raise DataError: a file is malformed.
    """
    def make() -> bytes:
        kg = build(settings, left_out=left_out)
        if kg.ill_typed.count:  # served as they are; said once, when the graph is built
            log.warning("%s: %s", kg.ill_typed.summary(), "; ".join(kg.ill_typed.lines()))
        data = kg.dataset.serialize(format="nquads", encoding="utf-8")
        return data if isinstance(data, bytes) else data.encode("utf-8")

    return built(fingerprint(settings, left_out=left_out), make)
