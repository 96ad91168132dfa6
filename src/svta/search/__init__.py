"""svta.search: index a video collection with a retrieval model (FAISS), query it by text over HTTP
and in a web page, with per-frame relevance to localise the moment.

Public API: :func:`build_index` (takes a :class:`SearchConfig` or its fields as keyword arguments, and the
``engine:`` section), :func:`serve`, :class:`Searcher`. Importing this package is cheap; FAISS, FastAPI and
torch load when a function needs them.
"""

from __future__ import annotations

from svta._lazy import lazy_dir, lazy_exports

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
