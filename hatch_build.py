"""Wheel build hook: put the built, reasoned graph into the wheel.

A fresh ``pip install . && mckg serve`` then loads the graph in a fraction of a second instead
of parsing every source file and computing the OWL 2 RL closure first (see
``src/mckg/build/cache.py``). The file is named by the fingerprint of the sources and the
building code, exactly as mckg computes it at run time, so it is only ever used for the sources
it was built from. Editable installs skip it: there the sources are meant to change.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class PrebuiltGraph(BuildHookInterface):  # type: ignore[misc]
    """Builds the shipped graph once and adds it as ``mckg/_resources/built/FINGERPRINT.nq.gz``."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        sys.path.insert(0, str(Path(self.root) / "src"))
        try:
            from mckg.build.cache import built_graph, fingerprint, remember
            from mckg.config import Settings
        finally:
            sys.path.pop(0)
        settings = Settings()
        nquads, _ = built_graph(settings)
        folder = Path(tempfile.mkdtemp(prefix="mckg-prebuilt-"))
        path = remember(fingerprint(settings), nquads, folder=folder)
        if path is None:
            raise RuntimeError(f"could not write the prebuilt graph into {folder}")
        build_data["force_include"][str(path)] = f"mckg/_resources/built/{path.name}"
        self.app.display_info(f"prebuilt graph {path.name} ({path.stat().st_size:,} bytes)")
