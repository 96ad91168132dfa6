"""What a finished training invocation reports: ``metrics.json``'s content (the test metrics plus the run's
provenance and totals) and the facts listed under the table of ``results.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from svta.retrieval.config import TrainConfig
    from svta.retrieval.evaluate import EvalReport


@dataclass(frozen=True)
class RunTotals:
    """What one invocation of the trainer did.

    Attributes:
        run: the run directory's name.
        root: the dataset root.
        best: the selected epoch's entry (``{"epoch", "step", "metrics", "value"}``), ``None`` before any epoch.
        steps: optimiser steps over the whole run (resumed parts included).
        batch_size: clips per optimiser step.
        world_size: ranks.
        skipped: training videos that did not decode.
        seconds: training wall time of this invocation.
        clips_per_second: training throughput of this invocation (all ranks together).
    """

    run: str
    root: Path
    best: dict[str, Any] | None
    steps: int
    batch_size: int
    world_size: int
    skipped: int
    seconds: float
    clips_per_second: float


def final_metrics(report: EvalReport | None, config: TrainConfig, totals: RunTotals) -> dict[str, Any]:
    """``metrics.json``: the test report (``{"split": None}`` without one) plus the model, the selection and
    the run's totals."""
    metrics: dict[str, Any] = report.to_json_dict() if report else {"split": None}
    metrics.update(
        model=config.model,
        backbone=config.backbone,
        pretrained=config.pretrained,
        run=totals.run,
        best_epoch=totals.best["epoch"] if totals.best else None,
        val=(totals.best or {}).get("metrics"),
        select_metric=config.select_metric,
        train_steps=totals.steps,
        train_skipped_videos=totals.skipped,
        train_seconds=round(totals.seconds, 3),
        clips_per_second=round(totals.clips_per_second, 2),
        world_size=totals.world_size,
    )
    return metrics


def results_summary(config: TrainConfig, totals: RunTotals) -> dict[str, Any]:
    """The ``- key: value`` facts under ``results.md``'s table, in their order."""
    return {
        "model": config.model,
        "backbone": config.backbone,
        "pretrained": config.pretrained,
        "root": str(totals.root),
        "steps": totals.steps,
        "epochs": config.epochs,
        "batch size": totals.batch_size,
        "lr": config.lr,
        "coef_lr": config.coef_lr,
        "frames": config.max_frames,
        "ranks": totals.world_size,
        "train seconds (this invocation)": round(totals.seconds, 1),
        "clips/s": round(totals.clips_per_second, 1),
        "skipped training videos": totals.skipped,
        "selected on": f"val {config.select_metric}",
    }
