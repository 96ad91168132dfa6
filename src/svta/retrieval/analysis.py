"""Breakdowns and figures of one evaluated run: per-category, anomaly vs normal, head vs tail and
category hit@K tables, a per-category bar chart and the seed-style qualitative figure.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from svta.errors import InputError
from svta.tables import atomic_write_text

KEEP_TOPK = 10  # candidates kept per query: category hit@10 and the qualitative figure's top-3


def write_analysis(
    report: Any, out_dir: Path | str, *, train_counts: dict[str, int] | None = None, n_queries: int = 6, seed: int = 0
) -> dict[str, Path]:
    """Write the breakdown CSVs and figures of ``report`` (from an evaluation with ``keep_topk``).

    Args:
        report: a :class:`svta.retrieval.evaluate.EvalReport` holding ``result`` and its records.
        out_dir: where the files go (created).
        train_counts: training items per category, for the head/tail split (default: test counts).
        n_queries: text queries shown in the qualitative figure (picked with ``seed``).

    Returns:
        name → path of every file written.
    """
    from svta.eval.breakdown import anomaly_normal, category_hit, head_tail, per_category

    if report.result is None or not report.video_records:
        raise InputError("the evaluation kept no per-query results: evaluate with keep_topk > 0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = report.result
    categories = [r.category for r in report.video_records]
    tables = {
        "per_category": per_category(result, categories),
        "anomaly_normal": anomaly_normal(result, [r.is_anomaly for r in report.video_records]),
        "head_tail": head_tail(result, categories, counts=train_counts),
        # hit@K only for K the gallery can fill (a tiny test split has fewer than 10 videos)
        "category_hit": category_hit(
            result, categories, ks=tuple(k for k in (1, 5, 10) if k <= len(categories)) or (1,)
        ),
    }
    paths = {}
    for name, table in tables.items():
        paths[name] = out / f"{name}.csv"
        atomic_write_text(paths[name], table.to_csv(index=False, float_format="%.2f"))
    paths.update(_figures(report, tables["per_category"], out, n_queries, seed))
    return paths


def _figures(report: Any, per_category_table: Any, out: Path, n_queries: int, seed: int) -> dict[str, Path]:
    from svta.eval.figures import plot_per_category, qualitative_figure
    from svta.video_io import VideoDecodeError, read_frames

    paths = {"per_category_png": plot_per_category(per_category_table, out / "per_category_R5.png", metric="R5")}
    texts = [r.caption for r in report.text_records]
    text_categories = [r.category for r in report.text_records]
    queries = pick_queries(text_categories, n_queries, seed)

    def frames(video: int) -> np.ndarray:
        try:
            return read_frames(report.video_records[video].path, num_frames=4)
        except VideoDecodeError:
            return np.zeros((4, 64, 64, 3), dtype=np.uint8)  # drawn as a visibly empty strip

    paths["qualitative"] = qualitative_figure(
        report.result, queries, texts, frames, out / "qualitative.png", categories=text_categories
    )
    return paths


def pick_queries(text_categories: list[str], n: int, seed: int = 0) -> list[int]:
    """``n`` text queries from as many different categories as possible, seeded."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(text_categories))
    seen: Counter[str] = Counter()
    picked: list[int] = []
    for round_ in range(n):
        for index in order:
            if len(picked) == n:
                return sorted(picked)
            category = text_categories[index]
            if seen[category] == round_ and int(index) not in picked:
                seen[category] += 1
                picked.append(int(index))
    return sorted(picked)
