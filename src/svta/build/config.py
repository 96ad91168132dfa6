"""Configuration of the dataset build stage (stage 4): split, statistics and verification."""

from __future__ import annotations

from pydantic import field_validator

from svta._configbase import StrictModel


class BuildConfig(StrictModel):
    split: tuple[float, float, float] = (0.7, 0.1, 0.2)  # SVTA: train/val/test = 7:1:2
    check_files: bool = True  # skip (and report) rows whose video file is missing
    figures: bool = True  # `svta build stats` draws PNG figures (needs matplotlib)
    dataset_name: str = "svta (this build)"  # the row name in the dataset-comparison table
    verify_workers: int = 2  # processes decoding videos in `svta build verify` (1: in-process)

    @field_validator("split")
    @classmethod
    def _check_split(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(v < 0 for v in value) or sum(value) <= 0 or value[0] <= 0:
            raise ValueError(f"split ratios {value} must be >= 0 with a positive train share")
        return value
