"""What a training run leaves in ``runs/<name>/``: ``metrics.json`` (``svta metrics --json`` shape plus
provenance), ``results.md`` (the seed's table layout) and ``config.yaml`` (the resolved training config).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from svta.errors import InputError
from svta.eval.report import COLUMNS as COLUMNS  # re-exported: the trainer logs these
from svta.eval.report import results_table
from svta.tables import atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    from svta.retrieval.config import TrainConfig

METRICS_FILE = "metrics.json"
RESULTS_FILE = "results.md"
CONFIG_FILE = "config.yaml"
BEST_MODEL_FILE = "best_model.bin"
CHECKPOINT_DIR = "checkpoints"
LATEST_POINTER = "latest.json"  # in CHECKPOINT_DIR: {"file": the latest training state, "step", "epoch"}


def write_config(run_dir: Path, config: dict[str, Any]) -> Path:
    path = run_dir / CONFIG_FILE
    atomic_write_text(path, yaml.safe_dump(config, sort_keys=False))
    return path


def read_config(run_dir: Path | str) -> dict[str, Any]:
    """The resolved config a run was trained with (``{}`` when the file is absent)."""
    path = Path(run_dir) / CONFIG_FILE
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {} if path.exists() else {}


def read_train_config(run_dir: Path | str, config: dict[str, Any] | None = None) -> TrainConfig:
    """The validated training recipe of a run (``config``: its ``config.yaml`` when already read).

    Raises:
        InputError: no ``train`` section, or one that does not validate (naming the file).
    """
    from svta.retrieval.config import TrainConfig

    path = Path(run_dir) / CONFIG_FILE
    data = read_config(run_dir) if config is None else config
    if "train" not in data:
        raise InputError(f"{path}: no 'train' section (not written by `svta train`?)")
    try:
        return TrainConfig.model_validate(data["train"])
    except ValueError as exc:
        raise InputError(f"{path}: invalid training config: {exc}") from None


def metrics_table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """The seed's layout (:func:`svta.eval.report.results_table`), one row per ``(label, metrics)``."""
    return results_table(dict(rows)).rstrip("\n")


def run_table(metrics: dict[str, Any]) -> str:
    """A run's table: its evaluated split, then the selected epoch's val metrics (``""`` when neither exists)."""
    rows = [(metrics.get("split") or "test", metrics)] if "t2v" in metrics else []
    if metrics.get("val"):
        rows.append((f"val (best epoch {metrics.get('best_epoch')})", metrics["val"]))
    return metrics_table(rows) if rows else ""


def write_results(run_dir: Path, metrics: dict[str, Any], summary: dict[str, Any]) -> None:
    """Write ``metrics.json`` and ``results.md``.

    Args:
        run_dir: the run directory.
        metrics: ``{"t2v": ..., "v2t": ..., **extras}`` (test metrics when the split exists).
        summary: training facts listed under the table (model, steps, seconds, ...).
    """
    atomic_write_json(run_dir / METRICS_FILE, metrics)
    lines = [f"# {run_dir.name}", "", run_table(metrics) or "(no split evaluated)", ""]
    lines += [f"- {key}: {value}" for key, value in summary.items()]
    atomic_write_text(run_dir / RESULTS_FILE, "\n".join(lines) + "\n")
