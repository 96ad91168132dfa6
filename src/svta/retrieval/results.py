"""What a training run leaves in ``runs/<name>/``: ``metrics.json`` (``svta eval metrics --json`` shape plus
provenance), ``results.md`` (the seed's table layout, with the run's facts), ``results.tex``/``results.csv``
(the method and the chance level), ``analysis/`` (breakdowns and figures) and ``config.yaml`` (the resolved
training config). ``svta eval`` writes the same tables and ``analysis/`` for any evaluation.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from svta.errors import InputError, SvtaError
from svta.eval.report import CHANCE, chance_metrics, method_name, results_table, write_table
from svta.eval.report import COLUMNS as COLUMNS  # re-exported: the trainer logs these
from svta.tables import atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    from svta.retrieval.config import TrainConfig

METRICS_FILE = "metrics.json"
RESULTS_FILE = "results.md"
ANALYSIS_DIR = "analysis"
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


def read_metrics(run_dir: Path | str) -> dict[str, Any]:
    """The ``metrics.json`` of a finished run (ConfigError naming the next step when it has not finished)."""
    import json

    from svta.errors import ConfigError

    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        raise ConfigError(f"{path}: missing; run the train stage first (`svta train`)")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


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


def write_results(
    run_dir: Path,
    metrics: dict[str, Any],
    summary: dict[str, Any],
    report: Any = None,
    train_counts: dict[str, int] | None = None,
) -> None:
    """Write ``metrics.json``, ``results.md``, ``results.tex``/``.csv`` and, given a report, ``analysis/``.

    Args:
        run_dir: the run directory.
        metrics: ``{"t2v": ..., "v2t": ..., **extras}`` (test metrics when the split exists).
        summary: training facts listed under the table (model, steps, seconds, ...).
        report: the test ``EvalReport`` evaluated with ``keep_topk`` (``None``: no ``analysis/``).
        train_counts: training items per category (the head/tail split of the breakdowns).
    """
    atomic_write_json(run_dir / METRICS_FILE, metrics)
    lines = [f"# {run_dir.name}", "", run_table(metrics) or "(no split evaluated)", ""]
    lines += [f"- {key}: {value}" for key, value in summary.items()]
    atomic_write_text(run_dir / RESULTS_FILE, "\n".join(lines) + "\n")
    if "t2v" in metrics:
        rows = method_rows(metrics)
        for fmt, ext in (("latex", "tex"), ("csv", "csv")):
            write_table(rows, run_dir / f"results.{ext}", fmt)
    if report is not None and report.result is not None:
        from svta.retrieval.analysis import write_analysis

        write_analysis(report, run_dir / ANALYSIS_DIR, train_counts=train_counts)


def method_label(metrics: dict[str, Any]) -> str:
    """The table label of a run's metrics (:func:`svta.eval.report.method_name` of its model and backbone)."""
    return method_name(str(metrics.get("model") or metrics.get("run") or "model"), metrics.get("backbone"))


def method_rows(metrics: dict[str, Any]) -> dict[str, Any]:
    """``{method label: metrics, "chance": ...}``: a run's table rows, chance at its gallery size."""
    rows: dict[str, Any] = {method_label(metrics): metrics}
    if metrics.get("n_videos"):
        rows[CHANCE] = chance_metrics(int(metrics["n_videos"]))
    return rows


def write_eval_outputs(
    report: Any, out_dir: Path | str, label: str, *, root: Path | str | None = None, analysis: bool = True
) -> dict[str, Path]:
    """What ``svta eval`` leaves: ``metrics.json``, ``results.md/.tex/.csv`` (the method and chance) and, with
    ``analysis`` and a report holding per-query ranks, ``analysis/`` (breakdowns and figures).

    Args:
        report: an ``EvalReport`` (with ``keep_topk`` for the analysis).
        out_dir: created if missing.
        label: the method's table label.
        root: dataset root whose train split sets the head/tail split (default: the test counts).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = report.to_json_dict()
    atomic_write_json(out / METRICS_FILE, data)
    rows: dict[str, Any] = {label: data, CHANCE: chance_metrics(max(1, int(report.n_videos)))}
    paths = {
        fmt: write_table(rows, out / f"results.{ext}", fmt)
        for fmt, ext in (("markdown", "md"), ("latex", "tex"), ("csv", "csv"))
    }
    if analysis and report.result is not None:
        from svta.retrieval.analysis import write_analysis

        write_analysis(report, out / ANALYSIS_DIR, train_counts=train_counts_of(root) if root else None)
        paths["analysis"] = out / ANALYSIS_DIR
    return paths


def train_counts_of(root: Path | str) -> dict[str, int] | None:
    """Training items per category in ``root``'s manifest (``None`` when it has no train split)."""
    from collections import Counter

    from svta.tables import read_records, table_path

    try:
        manifest = read_records(table_path(root, "manifest"), "manifest")
    except (SvtaError, OSError):  # no readable manifest: the breakdowns fall back to the test counts
        return None
    counts = Counter(r["category"] for r in manifest if r["split"] == "train")
    return dict(counts) or None
