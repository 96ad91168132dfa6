"""Configuration of the video stage (stage 2)."""

from __future__ import annotations

from svta._configbase import StrictModel


class VideosConfig(StrictModel):
    backend: str = "procedural"
    frames: int = 16
    fps: float = 8.0
    width: int = 224
    height: int = 224
