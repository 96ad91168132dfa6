"""Configuration of the annotation stage (stage 3)."""

from __future__ import annotations

from svta._configbase import StrictModel


class AnnotateConfig(StrictModel):
    classifier: str = "minilm"
