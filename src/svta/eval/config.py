"""Configuration of evaluation (stage 6): the defaults of ``svta eval``, of :func:`svta.eval.evaluate` and of the
pipeline's eval stage — one set, read by all three."""

from __future__ import annotations

from typing import Literal

from svta._configbase import StrictModel

Ties = Literal["optimistic", "pessimistic", "mean"]
Compat = Literal["clip4clip", "gram"]

TIES: Ties = "optimistic"
SPLIT = "test"
BATCH_SIZE = 32  # videos encoded per batch (captions: 4x as many)
WORKERS = 2  # decoding processes, as training's num_workers


class EvalConfig(StrictModel):
    """How ranks are counted when scores tie, and whether to reproduce a reference implementation exactly."""

    ties: Ties = TIES  # a ground truth tied with others ranks first (optimistic), last, or in between
    compat: Compat | None = None  # "clip4clip" / "gram": that reference's evaluation exactly (ties, NaN, median)
    split: str = SPLIT  # the manifest split `svta eval` scores by default
