"""Configuration of the caption stage (stage 1)."""

from __future__ import annotations

from svta._configbase import StrictModel


class CaptionsConfig(StrictModel):
    backend: str = "template"
    per_category: int = 10
    categories: list[str] | None = None  # None: every category of the taxonomy
