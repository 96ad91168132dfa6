"""The train stage as a pipeline step: train each model the config names into ``runs/<model>-<backbone>``."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def trained_models(config: Any) -> list[str]:
    """The models the train stage trains: ``config.models``, else ``[config.train.model]``."""
    return list(config.models) or [config.train.model]


def run_name(config: Any, model: str) -> str:
    """``<model>-<backbone>``: the run name the train stage gives ``model``."""
    from svta.retrieval.config import default_run_name

    return default_run_name(model, config.train.backbone)


def run_dir(config: Any, model: str) -> Path:
    """``<root>/runs/<model>-<backbone>``: where the train stage puts ``model``'s run."""
    return Path(config.root) / "runs" / run_name(config, model)


def read_run_metrics(config: Any, model: str) -> dict[str, Any]:
    """The ``metrics.json`` of ``model``'s finished run (ConfigError when it has not finished)."""
    from svta.retrieval.results import read_metrics

    return read_metrics(run_dir(config, model))


def run(config: Any) -> dict[str, Any]:
    """Train every model not yet finished (a killed run continues from its latest checkpoint)."""
    from svta.retrieval.results import METRICS_FILE
    from svta.retrieval.run_checkpoints import holds_run
    from svta.retrieval.trainer import train

    out = {}
    for model in trained_models(config):
        directory = run_dir(config, model)
        if (directory / METRICS_FILE).exists():
            out[directory.name] = read_run_metrics(config, model)
            continue
        train_config = config.train.model_copy(update={"model": model})
        resume = holds_run(directory)  # a killed run continues exactly
        # analysis=False: the eval stage writes each run's analysis/ (seeded by the pipeline's config)
        out[directory.name] = train(config.root, train_config, run_dir=directory, resume=resume, analysis=False).metrics
    return out


def shortfall(summary: dict[str, Any]) -> str | None:
    """Nothing: a run that fails raises (and is resumed by a rerun)."""
    return None
