"""What a training run leaves in ``runs/<name>/``: ``metrics.json`` (``svta metrics --json`` shape plus
provenance), ``results.md`` (the seed's table layout) and ``config.yaml`` (the resolved training config).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from svta.tables import atomic_write_json, atomic_write_text

METRICS_FILE = "metrics.json"
RESULTS_FILE = "results.md"
CONFIG_FILE = "config.yaml"
BEST_MODEL_FILE = "best_model.bin"
COLUMNS = ("R1", "R5", "R10", "MdR", "MnR")


def write_config(run_dir: Path, config: dict[str, Any]) -> Path:
    path = run_dir / CONFIG_FILE
    atomic_write_text(path, yaml.safe_dump(config, sort_keys=False))
    return path


def read_config(run_dir: Path | str) -> dict[str, Any]:
    """The resolved config a run was trained with (``{}`` when the file is absent)."""
    path = Path(run_dir) / CONFIG_FILE
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {} if path.exists() else {}


def metric_row(label: str, metrics: dict[str, Any]) -> str:
    """One Markdown table row: label, then T2V and V2T R@1, R@5, R@10, MdR, MnR."""
    cells = [_cell(metrics.get(direction, {}).get(name)) for direction in ("t2v", "v2t") for name in COLUMNS]
    return f"| {label} | " + " | ".join(cells) + " |"


def _cell(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}"


def metrics_table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """The seed's layout: ``| run | T2V R@1 R@5 R@10 MdR MnR | V2T R@1 R@5 R@10 MdR MnR |``."""
    head = "| | " + " | ".join(f"{d} {c.replace('R', 'R@') if c[1:].isdigit() else c}"
                               for d in ("T2V", "V2T") for c in COLUMNS) + " |"
    rule = "|" + "---|" * (1 + 2 * len(COLUMNS))
    return "\n".join([head, rule, *(metric_row(label, m) for label, m in rows)])


def write_results(run_dir: Path, metrics: dict[str, Any], summary: dict[str, Any]) -> None:
    """Write ``metrics.json`` and ``results.md``.

    Args:
        run_dir: the run directory.
        metrics: ``{"t2v": ..., "v2t": ..., **extras}`` (test metrics when the split exists).
        summary: training facts listed under the table (model, steps, seconds, ...).
    """
    atomic_write_json(run_dir / METRICS_FILE, metrics)
    rows = []
    if "t2v" in metrics:
        rows.append((f"{metrics.get('split', 'test')}", metrics))
    val = metrics.get("val")
    if val:
        rows.append((f"val (best epoch {metrics.get('best_epoch')})", val))
    lines = [f"# {run_dir.name}", "", metrics_table(rows) if rows else "(no split evaluated)", ""]
    lines += [f"- {key}: {value}" for key, value in summary.items()]
    atomic_write_text(run_dir / RESULTS_FILE, "\n".join(lines) + "\n")
