"""The video backend contract: a backend turns a batch of (caption, category, seed) requests into
frame arrays. Backends register in the ``video_backend`` registry by name and are built once per
worker from the stage config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from svta.registry import registry

VIDEO_BACKENDS = registry("video_backend")


@dataclass(frozen=True)
class VideoRequest:
    """One clip to make.

    Attributes:
        id: The caption's id (the clip is stored as ``videos/<id>.mp4``).
        caption: The text to render.
        category: The caption's category (taxonomy id or name) if known.
        seed: The clip's seed (derived from the stage seed, the id and the caption's own seed).
    """

    id: str
    caption: str
    category: str | None
    seed: int


class VideoBackend(Protocol):
    """What the video stage needs from a backend."""

    name: str

    @property
    def fps(self) -> float: ...

    def generate(self, requests: list[VideoRequest]) -> list[np.ndarray | Exception]:
        """One uint8 ``[T, H, W, 3]`` clip per request, or an Exception for a request that failed."""
        ...

    def describe(self) -> dict[str, Any]:
        """Settings that shaped the clips (recorded in the ``params`` column of ``videos.parquet``)."""
        ...


def build_backend(name: str, config: Any, taxonomy_path: str | None = None) -> VideoBackend:
    """Construct the registered backend ``name`` from a :class:`~svta.videos.config.VideosConfig`."""
    factory = VIDEO_BACKENDS.get(name)
    return factory(config, taxonomy_path)
