"""Configuration of evaluation (stage 6)."""

from __future__ import annotations

from svta._configbase import StrictModel


class EvalConfig(StrictModel):
    ties: str = "optimistic"
    compat: str | None = None
