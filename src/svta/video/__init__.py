"""svta.video: stage 2, a clip per caption from the procedural renderer or Wan2.1.

Public API (imported lazily, so ``import svta.video.config`` stays light): :func:`generate_videos`,
:func:`check_videos`, :func:`render_clip`, :class:`VideoRequest`.
"""

from __future__ import annotations

from svta._lazy import lazy_exports

_EXPORTS = {
    "generate_videos": "svta.video.generate",
    "check_videos": "svta.video.generate",
    "VideoRunResult": "svta.video.generate",
    "VideoRequest": "svta.video.backend",
    "VIDEO_BACKENDS": "svta.video.backend",
    "render_clip": "svta.video.procedural",
    "ProceduralBackend": "svta.video.procedural",
    "WanVideoBackend": "svta.video.wan",
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
