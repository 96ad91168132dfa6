"""svta.videos: stage 2, a clip per caption from the procedural renderer or Wan2.1.

Public API (imported on first use, so ``import svta.videos.config`` stays light): :func:`generate_videos`
(takes a :class:`VideosConfig` or its fields as keyword arguments), :func:`check_videos`,
:func:`render_clip`, :class:`VideoRequest`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svta._lazy import lazy_dir, lazy_exports

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load on first use (below)
    from pathlib import Path
    from typing import Any

    from svta.config import EngineConfig, SvtaConfig
    from svta.videos.base import VIDEO_BACKENDS as VIDEO_BACKENDS
    from svta.videos.base import VideoRequest as VideoRequest
    from svta.videos.config import QualityConfig as QualityConfig
    from svta.videos.config import VideosConfig as VideosConfig
    from svta.videos.config import WanConfig as WanConfig
    from svta.videos.generate import VideoRunResult as VideoRunResult
    from svta.videos.procedural import ProceduralBackend as ProceduralBackend
    from svta.videos.procedural import render_clip as render_clip
    from svta.videos.quality import AgreementScorer
    from svta.videos.wan import WanVideoBackend as WanVideoBackend

    # Stage functions: the real signature plus the config's fields as keyword arguments (see _CONFIGS).
    def generate_videos(
        root: Path | str,
        config: VideosConfig | SvtaConfig | None = None,
        engine_config: EngineConfig | None = None,
        *,
        taxonomy: Path | str | None = None,
        ids: list[str] | None = None,
        limit: int | None = None,
        overwrite: bool = False,
        scorer: AgreementScorer | None = None,
        **fields: Any,
    ) -> VideoRunResult:
        """:func:`svta.videos.generate.generate_videos`, also taking :class:`VideosConfig` fields."""

    def check_videos(
        root: Path | str, config: VideosConfig | None = None, verify: str = "decode", **fields: Any
    ) -> dict[str, Any]:
        """:func:`svta.videos.generate.check_videos`, also taking :class:`VideosConfig` fields."""


_EXPORTS = {
    "generate_videos": "svta.videos.generate",
    "check_videos": "svta.videos.generate",
    "VideoRunResult": "svta.videos.generate",
    "VideoRequest": "svta.videos.base",
    "VIDEO_BACKENDS": "svta.videos.base",
    "render_clip": "svta.videos.procedural",
    "ProceduralBackend": "svta.videos.procedural",
    "WanVideoBackend": "svta.videos.wan",
    "VideosConfig": "svta.videos.config",
    "WanConfig": "svta.videos.config",
    "QualityConfig": "svta.videos.config",
}
_CONFIGS = {
    "generate_videos": "svta.videos.config:VideosConfig",
    "check_videos": "svta.videos.config:VideosConfig",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS, _CONFIGS)
__dir__ = lazy_dir(globals(), _EXPORTS)
