"""Breakdowns the papers do not report: per category, anomaly vs normal, head vs tail, category hit@K.

All work from the per-query ranks of a :class:`~svta.eval.metrics.RetrievalResult`, so they
follow the same tie/compat rules as the headline numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from svta.errors import InputError
from svta.eval.metrics import DEFAULT_KS, RetrievalResult

if TYPE_CHECKING:
    import pandas as pd


def _labels(values: Sequence[Any] | np.ndarray, n: int, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    if arr.shape != (n,):
        raise InputError(f"{what} must have one entry per item ({n}), got shape {arr.shape}")
    return arr


def _video_labels(result: RetrievalResult, values: Sequence[Any] | np.ndarray, what: str) -> np.ndarray:
    return _labels(values, result.t2v_ranks.n_candidates, what)


def _row(direction: str, group: Any, ranks: np.ndarray, ks: tuple[int, ...]) -> dict[str, Any]:
    n = len(ranks)
    row: dict[str, Any] = {"direction": direction, "group": group, "n": n}
    for k in ks:
        row[f"R{k}"] = float((ranks <= k).sum()) * 100 / n
    row["MdR"] = float(np.median(ranks))
    row["MnR"] = float(np.mean(ranks))
    return row


def by_group(
    result: RetrievalResult,
    t2v_labels: Sequence[Any] | np.ndarray | None,
    v2t_labels: Sequence[Any] | np.ndarray | None,
    ks: tuple[int, ...] = DEFAULT_KS,
) -> pd.DataFrame:
    """R@K/MdR/MnR per label value.

    Args:
        result: an evaluation.
        t2v_labels: ``[n_text]`` label of each text query (None: skip T2V).
        v2t_labels: ``[n_video]`` label of each video query (None: skip V2T).
        ks: recall cut-offs.

    Returns:
        DataFrame with columns direction, group, n, R{k}..., MdR, MnR (one row per direction and label).
    """
    import pandas as pd

    rows = []
    n_items = {"t2v": len(result.text_to_video), "v2t": result.t2v_ranks.n_candidates}
    for rank, labels in ((result.t2v_ranks, t2v_labels), (result.v2t_ranks, v2t_labels)):
        if labels is None:
            continue
        per_item = _labels(labels, n_items[rank.direction], f"{rank.direction} labels")
        entry_label = per_item[rank.queries[rank.entry_query]]
        for group in sorted(set(entry_label.tolist()), key=str):
            rows.append(_row(rank.direction, group, rank.ranks[entry_label == group], ks))
    return pd.DataFrame(rows)


def per_category(
    result: RetrievalResult,
    video_categories: Sequence[Any] | np.ndarray,
    text_categories: Sequence[Any] | np.ndarray | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
) -> pd.DataFrame:
    """Metrics per category (a text's category defaults to its video's)."""
    video_cat = _video_labels(result, video_categories, "video_categories")
    text_cat = video_cat[result.text_to_video] if text_categories is None else text_categories
    return by_group(result, text_cat, video_cat, ks).rename(columns={"group": "category"})


def anomaly_normal(
    result: RetrievalResult, video_is_anomaly: Sequence[bool] | np.ndarray, ks: tuple[int, ...] = DEFAULT_KS
) -> pd.DataFrame:
    """Metrics of anomaly vs normal queries (a text is an anomaly query when its video is)."""
    flags = _video_labels(result, video_is_anomaly, "video_is_anomaly").astype(bool)
    names = np.where(flags, "anomaly", "normal").astype(object)
    return by_group(result, names[result.text_to_video], names, ks)


def head_tail_split(
    categories: Sequence[Any] | np.ndarray, counts: Mapping[Any, int] | None = None, head_share: float = 0.5
) -> dict[Any, str]:
    """Split categories into "head" (the most frequent ones that together hold ``head_share`` of
    the items) and "tail" (the rest).

    Args:
        categories: category of each item (used for the counts when ``counts`` is None).
        counts: items per category, e.g. in the training split.
        head_share: fraction of items the head covers (0 < share < 1).
    """
    tally = Counter(counts) if counts is not None else Counter(np.asarray(categories, dtype=object).tolist())
    for c in set(np.asarray(categories, dtype=object).tolist()) - set(tally):
        tally[c] = 0
    total, running, split = sum(tally.values()), 0, {}
    for category, count in sorted(tally.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        split[category] = "head" if running < head_share * total else "tail"
        running += count
    return split


def head_tail(
    result: RetrievalResult,
    video_categories: Sequence[Any] | np.ndarray,
    counts: Mapping[Any, int] | None = None,
    head_share: float = 0.5,
    ks: tuple[int, ...] = DEFAULT_KS,
) -> pd.DataFrame:
    """Metrics of queries from head vs tail categories (see :func:`head_tail_split`)."""
    video_cat = _video_labels(result, video_categories, "video_categories")
    split = head_tail_split(video_cat, counts, head_share)
    names = np.array([split[c] for c in video_cat], dtype=object)
    return by_group(result, names[result.text_to_video], names, ks)


def category_hit(
    result: RetrievalResult,
    video_categories: Sequence[Any] | np.ndarray,
    ks: tuple[int, ...] = DEFAULT_KS,
    text_categories: Sequence[Any] | np.ndarray | None = None,
    per_category: bool = False,
) -> pd.DataFrame:
    """Category hit@K: the top-K results hold an item of the query's category.

    T2V looks at the categories of the top-K videos; V2T at the videos of the top-K caption groups.
    Needs the run to keep at least ``max(ks)`` candidates (``keep_topk``).

    Returns:
        DataFrame with columns direction, (category,) n, hit@{k}... in percent.
    """
    import pandas as pd

    video_cat = _video_labels(result, video_categories, "video_categories")
    text_cat = (
        video_cat[result.text_to_video]
        if text_categories is None
        else _labels(text_categories, len(result.text_to_video), "text_categories")
    )
    rows = []
    for rank in (result.t2v_ranks, result.v2t_ranks):
        if rank.topk is None or rank.topk.shape[1] < max(ks):
            raise InputError(f"category hit@{max(ks)} needs the evaluation to keep_topk >= {max(ks)}")
        cand = rank.topk if rank.direction == "t2v" else np.where(rank.topk >= 0, result.group_video[rank.topk], -1)
        query_cat = text_cat[rank.queries] if rank.direction == "t2v" else video_cat[rank.queries]
        cand_cat = np.where(cand >= 0, video_cat[np.maximum(cand, 0)], None)
        match = cand_cat == query_cat[:, None]
        groups = sorted(set(query_cat.tolist()), key=str) if per_category else [None]
        for group in groups:
            sel = np.ones(len(query_cat), bool) if group is None else query_cat == group
            row: dict[str, Any] = {"direction": rank.direction}
            if per_category:
                row["category"] = group
            row["n"] = int(sel.sum())
            for k in ks:
                row[f"hit@{k}"] = float(match[sel, :k].any(axis=1).sum()) * 100 / max(int(sel.sum()), 1)
            rows.append(row)
    return pd.DataFrame(rows)
