"""Configuration of retrieval training (stage 5)."""

from __future__ import annotations

from svta._configbase import StrictModel


class TrainConfig(StrictModel):
    model: str = "clip4clip-meanp"
    backbone: str = "tiny"
