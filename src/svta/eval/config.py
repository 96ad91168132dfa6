"""Configuration of evaluation (stage 6): the defaults of ``svta eval`` and of the pipeline's eval stage."""

from __future__ import annotations

from typing import Literal

from svta._configbase import StrictModel

Ties = Literal["optimistic", "pessimistic", "mean"]
Compat = Literal["clip4clip"]


class EvalConfig(StrictModel):
    """How ranks are counted when scores tie, and whether to reproduce a reference implementation exactly."""

    ties: Ties = "optimistic"  # a ground truth tied with others ranks first (optimistic), last, or in between
    compat: Compat | None = None  # "clip4clip": CLIP4Clip's compute_metrics exactly (ties, NaN, median)
    split: str = "test"  # the manifest split `svta eval` scores by default
