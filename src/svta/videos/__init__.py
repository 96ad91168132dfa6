"""svta.videos: stage 2, a clip per caption from the procedural renderer or Wan2.1.

Public API (imported lazily, so ``import svta.videos.config`` stays light): :func:`generate_videos`,
:func:`check_videos`, :func:`render_clip`, :class:`VideoRequest`.
"""

from __future__ import annotations

from svta._lazy import lazy_exports

_EXPORTS = {
    "generate_videos": "svta.videos.generate",
    "check_videos": "svta.videos.generate",
    "VideoRunResult": "svta.videos.generate",
    "VideoRequest": "svta.videos.backend",
    "VIDEO_BACKENDS": "svta.videos.backend",
    "render_clip": "svta.videos.procedural",
    "ProceduralBackend": "svta.videos.procedural",
    "WanVideoBackend": "svta.videos.wan",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "VIDEO_BACKENDS",
    "ProceduralBackend",
    "VideoRequest",
    "VideoRunResult",
    "WanVideoBackend",
    "check_videos",
    "generate_videos",
    "render_clip",
]
