"""svta.search: index a video collection with a retrieval model (FAISS), query it by text over HTTP
and in a web page, with per-frame relevance to localise the moment.

Public API: :func:`build_index` (takes a :class:`SearchConfig` or its fields as keyword arguments, and the
``engine:`` section), :func:`serve`, :class:`Searcher`. Importing this package is cheap; FAISS, FastAPI and
torch load when a function needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svta._lazy import lazy_dir, lazy_exports

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load on first use (below)
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

    from svta.engine import EngineConfig
    from svta.search.app import create_app as create_app
    from svta.search.build import IndexReport as IndexReport
    from svta.search.build import VideoRecord as VideoRecord
    from svta.search.build import collect_videos as collect_videos
    from svta.search.config import SearchConfig as SearchConfig
    from svta.search.encoders import Encoder as Encoder
    from svta.search.encoders import HashingEncoder as HashingEncoder
    from svta.search.encoders import VideoEmbeddings as VideoEmbeddings
    from svta.search.encoders import create_encoder as create_encoder
    from svta.search.run_encoder import encoder_spec_for_run as encoder_spec_for_run
    from svta.search.searcher import Searcher as Searcher
    from svta.search.searcher import SearchHit as SearchHit
    from svta.search.server import BackgroundServer as BackgroundServer
    from svta.search.server import build_app as build_app
    from svta.search.server import serve as serve
    from svta.search.store import IndexStore as IndexStore

    # Stage functions: the real signature plus the config's fields as keyword arguments (see _CONFIGS).
    def build_index(
        root: Path | str,
        out_dir: Path | str,
        encoder: Encoder | Mapping[str, Any],
        config: SearchConfig | None = None,
        engine: EngineConfig | None = None,
        **fields: Any,
    ) -> IndexReport:
        """:func:`svta.search.build.build_index`, also taking :class:`SearchConfig` fields."""


__all__ = [
    "BackgroundServer",
    "Encoder",
    "HashingEncoder",
    "IndexReport",
    "IndexStore",
    "SearchConfig",
    "SearchHit",
    "Searcher",
    "VideoEmbeddings",
    "VideoRecord",
    "build_app",
    "build_index",
    "collect_videos",
    "create_app",
    "create_encoder",
    "encoder_spec_for_run",
    "serve",
]

_LAZY = {
    "BackgroundServer": "svta.search.server",
    "Encoder": "svta.search.encoders",
    "HashingEncoder": "svta.search.encoders",
    "IndexReport": "svta.search.build",
    "IndexStore": "svta.search.store",
    "SearchConfig": "svta.search.config",
    "SearchHit": "svta.search.searcher",
    "Searcher": "svta.search.searcher",
    "VideoEmbeddings": "svta.search.encoders",
    "VideoRecord": "svta.search.build",
    "build_app": "svta.search.server",
    "build_index": "svta.search.build",
    "collect_videos": "svta.search.build",
    "create_app": "svta.search.app",
    "create_encoder": "svta.search.encoders",
    "encoder_spec_for_run": "svta.search.run_encoder",
    "serve": "svta.search.server",
}


_CONFIGS = {"build_index": "svta.search.config:SearchConfig"}

__getattr__ = lazy_exports(__name__, _LAZY, _CONFIGS)
__dir__ = lazy_dir(globals(), _LAZY)
