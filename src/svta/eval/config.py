"""Configuration of evaluation (stage 6): the defaults of ``svta eval`` and of the pipeline's eval stage."""

from __future__ import annotations

from typing import Literal

from svta._configbase import StrictModel

Ties = Literal["optimistic", "pessimistic", "mean"]
Compat = Literal["clip4clip", "gram"]


class EvalConfig(StrictModel):
    """How ranks are counted when scores tie, and whether to reproduce a reference implementation exactly."""

    ties: Ties = "optimistic"  # a ground truth tied with others ranks first (optimistic), last, or in between
    compat: Compat | None = None  # "clip4clip" / "gram": that reference's evaluation exactly (ties, NaN, median)
    split: str = "test"  # the manifest split `svta eval` scores by default
