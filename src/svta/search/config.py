"""Configuration of the search service (stage 7)."""

from __future__ import annotations

from svta._configbase import StrictModel


class SearchConfig(StrictModel):
    host: str = "127.0.0.1"
    port: int = 8000
