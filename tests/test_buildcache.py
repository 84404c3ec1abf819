"""The build cache: the built, reasoned graph is kept by fingerprint and loaded, not rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest

from mckg.build import cache as buildcache
from mckg.build.cache import fingerprint
from mckg.config import Settings
from mckg.rdf.files import DataError
from mckg.store.provision import provision


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("MCKG_CACHE_DIR", str(folder))
    return folder


def small(tmp_path: Path, text: str, *, folder: str = "", reasoning: bool = True) -> Settings:
    data = tmp_path / folder / "data.ttl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text(text, encoding="utf-8")
    return Settings(include_shipped=False, reasoning=reasoning, extra_files=(data,))


def test_a_second_store_loads_the_cached_graph(cache: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    settings = small(tmp_path, '<http://x/a> <http://x/p> "1" .\n')
    first, report = provision(settings, "memory")
    first.close()
    assert report.rebuilt and (cache / f"{fingerprint(settings)}.nq.gz").is_file()

    def no_build(settings: Settings) -> None:
        raise AssertionError("the graph was built again")

    monkeypatch.setattr(buildcache, "build", no_build)
    second, again = provision(settings, f"oxigraph:{tmp_path / 'store'}")
    with second:
        assert second.counts() == again.counts == report.counts


def test_a_changed_source_is_built_anew(cache: Path, tmp_path: Path) -> None:
    settings = small(tmp_path, '<http://x/a> <http://x/p> "1" .\n')
    provision(settings, "memory")[0].close()
    before = fingerprint(settings)
    settings = small(tmp_path, '<http://x/a> <http://x/p> "1" , "2" .\n')
    assert fingerprint(settings) != before
    store, report = provision(settings, "memory")
    with store:
        assert sum(report.counts.values()) == 2
    assert len(list(cache.glob("*.nq.gz"))) == 2


def test_the_wheels_prebuilt_graph_is_used_when_its_fingerprint_matches(
        cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = small(tmp_path, '<http://x/a> <http://x/p> "1" .\n')
    packaged = tmp_path / "packaged"
    buildcache.remember(fingerprint(settings), b'<http://x/a> <http://x/p> "from the wheel" '
                        b"<https://w3id.org/mckg/graph/user> .\n", folder=packaged)
    monkeypatch.setattr(buildcache, "_PACKAGED", packaged)
    nquads, cached = buildcache.built_graph(settings)
    assert cached and b"from the wheel" in nquads
    other = small(tmp_path, folder="other", text='<http://x/b> <http://x/p> "2" .\n')  # another fingerprint
    assert buildcache.lookup(fingerprint(other)) is None


def test_a_broken_cache_entry_is_rebuilt_and_a_malformed_file_changes_nothing(
        cache: Path, tmp_path: Path) -> None:
    settings = small(tmp_path, '<http://x/a> <http://x/p> "1" .\n')
    cache.mkdir()
    (cache / f"{fingerprint(settings)}.nq.gz").write_bytes(b"not gzip")
    nquads, cached = buildcache.built_graph(settings)
    assert not cached and b'"1"' in nquads
    bad = small(tmp_path, folder="other", text='<http://x/a> <http://x/p> "1 .\n')
    with pytest.raises(DataError, match=r"data\.ttl:1"):
        buildcache.built_graph(bad)
    assert buildcache.lookup(fingerprint(bad)) is None


def test_the_cache_keeps_the_newest_entries(cache: Path) -> None:
    for n in range(buildcache.KEEP + 3):
        buildcache.remember(f"{n:064x}", b"")
    assert len(list(cache.glob("*.nq.gz"))) == buildcache.KEEP
