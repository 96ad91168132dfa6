"""Configuration of the dataset build stage (stage 4)."""

from __future__ import annotations

from svta._configbase import StrictModel


class BuildConfig(StrictModel):
    split: tuple[float, float, float] = (0.7, 0.1, 0.2)  # SVTA: train/val/test = 7:1:2
