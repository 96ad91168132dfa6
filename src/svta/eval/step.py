"""The eval stage as a pipeline step: evaluate every trained run on the manifest's split."""

from __future__ import annotations

from typing import Any


def run(config: Any) -> dict[str, Any]:
    """Evaluate the runs of :func:`svta.retrieval.step.trained_models`; the summary with its table."""
    from svta.eval.stage import evaluate_runs
    from svta.retrieval.step import run_dir, trained_models

    runs = {model: run_dir(config, model) for model in trained_models(config)}
    return evaluate_runs(config.root, runs, config.eval, seed=config.seed)


def shortfall(summary: dict[str, Any]) -> str | None:
    """Nothing: evaluation either completes or raises."""
    return None
