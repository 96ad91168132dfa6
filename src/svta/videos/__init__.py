"""svta.videos: stage 2, a clip per caption from the procedural renderer or Wan2.1.

Public API (imported on first use, so ``import svta.videos.config`` stays light): :func:`generate_videos`
(takes a :class:`VideosConfig` or its fields as keyword arguments), :func:`check_videos`,
:func:`render_clip`, :class:`VideoRequest`.
"""

from __future__ import annotations

from svta._lazy import lazy_dir, lazy_exports

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
