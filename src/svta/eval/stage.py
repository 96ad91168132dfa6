"""The evaluation stage of ``svta pipeline``: the results tables of the trained runs (Markdown, LaTeX, CSV)
and each run's test-split analysis (breakdowns and figures), with the ``eval:`` section's settings.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from svta.eval.config import EvalConfig

TABLE_FORMATS = (("markdown", "md"), ("latex", "tex"), ("csv", "csv"))


def evaluate_runs(
    root: Path | str,
    runs: dict[str, Path],
    config: EvalConfig | None = None,
    *,
    seed: int = 0,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Write the results tables of ``runs`` (name -> run folder) and analyse each run on ``config.split``.

    Args:
        root: the dataset root (its manifest gives the training counts per category).
        runs: the runs to report, by model name, in table order.
        config: ties, compat and split (default: :class:`EvalConfig`'s defaults).
        seed: seed of the figures' sampling.
        out_dir: where ``results.{md,tex,csv}`` go (default ``<root>/runs``).

    Returns:
        The stage summary: ``runs`` (metrics per method label), ``table`` (Markdown), ``tables`` and ``analysis`` paths.
    """
    from svta.eval.report import results_table, write_table
    from svta.retrieval.results import method_label, read_metrics
    from svta.tables import read_records, table_path

    config = config or EvalConfig()
    # rows keyed by the method's display name (CLIP4Clip-MeanP ...), the one naming every output uses
    metrics = {method_label(m): m for m in (read_metrics(directory) for directory in runs.values())}
    out = Path(out_dir) if out_dir is not None else Path(root) / "runs"
    paths = {fmt: write_table(metrics, out / f"results.{ext}", fmt) for fmt, ext in TABLE_FORMATS}
    manifest = read_records(table_path(root, "manifest"), "manifest")
    train_counts = dict(Counter(r["category"] for r in manifest if r["split"] == "train"))
    analyses = {
        model: str(analyse_run(root, directory, config, train_counts, seed)) for model, directory in runs.items()
    }
    return {
        "runs": metrics,
        "table": results_table(metrics, "markdown"),
        "tables": {k: str(v) for k, v in paths.items()},
        "analysis": analyses,
    }


def analyse_run(root: Path | str, run_dir: Path, config: EvalConfig, train_counts: dict[str, int], seed: int) -> Path:
    """Per-category / anomaly-normal / head-tail / category-hit tables and figures of a run, in ``analysis/``."""
    from svta.eval.api import evaluate
    from svta.retrieval.analysis import KEEP_TOPK, write_analysis

    report = evaluate(run_dir, root, split=config.split, keep_topk=KEEP_TOPK, ties=config.ties, compat=config.compat)
    write_analysis(report, run_dir / "analysis", train_counts=train_counts, seed=seed)
    return run_dir / "analysis"
