"""Retrieval metrics from ranks: R@K, MdR, MnR, with explicit tie, NaN and reference-compat rules.

Ranks come from counts (``n_greater`` candidates strictly above the ground truth, ``n_equal`` tied
with it, itself included), so dense matrices and streamed blocks share one definition.
``compute_metrics`` is the dense entry point; the counting lives in :mod:`svta.eval.streaming`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from svta.errors import ConfigError, InputError

Ties = Literal["optimistic", "pessimistic", "mean"]
NanPolicy = Literal["worst", "drop", "raise"]
TIES = ("optimistic", "pessimistic", "mean")
NAN_POLICIES = ("worst", "drop", "raise")
COMPAT = (None, "clip4clip", "gram")
DEFAULT_KS = (1, 5, 10)

# How a direction is summarised: "default" (our rules), "numpy" (CLIP4Clip compute_metrics:
# tie duplication, non-finite ground truth dropped, numpy median), "torch" (CLIP4Clip's
# multi-caption T2V: one rank per caption, torch lower median, float32 R@K), "gram" (GRAM's
# compute_metric_ret: positions in torch's sort, torch lower median, float32 mean rank).
Flavor = Literal["default", "numpy", "torch", "gram"]


@dataclass
class RankResult:
    """Per-query ranks of one direction.

    Attributes:
        direction: "t2v" or "v2t".
        queries: ``[Q]`` query ids (texts for t2v, videos for v2t).
        gt_score: ``[Q]`` score of each query's ground truth.
        n_greater: ``[Q]`` candidates scoring strictly higher than the ground truth.
        n_equal: ``[Q]`` candidates scoring exactly the same, the ground truth included (0 if NaN).
        n_candidates: candidates per query (videos for t2v, caption groups for v2t).
        ranks: ``[E]`` 1-based ranks of the counted entries (one per query, except that
            ``compat="clip4clip"`` counts a query once per tied position, as the reference does).
        entry_query: ``[E]`` position in ``queries`` of each entry.
        nan_queries: query ids whose ground-truth score is NaN.
        dropped: query ids left out of the metrics.
        topk: ``[Q, K]`` best first-stage candidates per query, best first (videos for t2v,
            caption groups for v2t; -1 pads rows with fewer than K candidates), when requested.
        topk_scores: ``[Q, K]`` their scores (after :class:`~svta.eval.rerank.TopKRescore`, the
            re-scored candidates come first in final order with their second-stage scores).
    """

    direction: str
    queries: np.ndarray
    gt_score: np.ndarray
    n_greater: np.ndarray
    n_equal: np.ndarray
    n_candidates: int
    ranks: np.ndarray
    entry_query: np.ndarray
    nan_queries: np.ndarray
    dropped: np.ndarray
    topk: np.ndarray | None = None
    topk_scores: np.ndarray | None = None

    def query_ranks(self, ties: Ties = "optimistic") -> np.ndarray:
        """One 1-based rank per query under ``ties`` (NaN ground truth: the worst rank). ``[Q]``"""
        ranks = 1.0 + self.n_greater + _tie_offset(self.n_equal, ties)
        return np.where(np.isnan(self.gt_score), float(self.n_candidates), ranks)


@dataclass
class Metrics:
    """Summary of one direction: R@K in percent, median/mean rank (1-based)."""

    R: dict[int, float]
    MdR: float
    MnR: float
    MnR_std: float
    n: int
    n_queries: int
    n_nan: int = 0
    n_dropped: int = 0
    n_tied: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def R1(self) -> float:
        return self.R[1]

    @property
    def R5(self) -> float:
        return self.R[5]

    @property
    def R10(self) -> float:
        return self.R[10]

    def to_dict(self) -> dict[str, Any]:
        """``{"R1", "R5", "R10", ..., "MdR", "MnR", "MnR_std", "n", ...}`` (plain Python numbers)."""
        out: dict[str, Any] = {f"R{k}": self.R[k] for k in sorted(self.R)}
        out.update(
            MdR=self.MdR,
            MnR=self.MnR,
            MnR_std=self.MnR_std,
            n=self.n,
            n_queries=self.n_queries,
            n_nan=self.n_nan,
            n_dropped=self.n_dropped,
            n_tied=self.n_tied,
        )
        out.update(self.extra)
        return out


@dataclass
class RetrievalResult:
    """Both directions of an evaluation: ``.t2v``/``.v2t`` metrics and the ranks behind them."""

    t2v: Metrics
    v2t: Metrics
    t2v_ranks: RankResult
    v2t_ranks: RankResult
    text_to_video: np.ndarray
    group_video: np.ndarray
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"t2v": self.t2v.to_dict(), "v2t": self.v2t.to_dict()}

    def to_json(self, indent: int | None = None) -> str:
        """``{"t2v": {"R1", "R5", "R10", "MdR", "MnR", ...}, "v2t": {...}}`` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)


def check_options(ties: str, compat: str | None, nan: str) -> None:
    """Raise :class:`ConfigError` for an unknown ``ties``/``compat``/``nan`` value."""
    if ties not in TIES:
        raise ConfigError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
    if compat not in COMPAT:
        raise ConfigError(f"compat must be None, 'clip4clip' or 'gram', got {compat!r}")
    if nan not in NAN_POLICIES:
        raise ConfigError(f"nan must be one of {', '.join(NAN_POLICIES)}, got {nan!r}")
    if compat is not None and ties != "optimistic":
        raise ConfigError(f"compat={compat!r} fixes the tie rule (the reference's own); leave ties at its default")


def _tie_offset(n_equal: np.ndarray, ties: str) -> np.ndarray:
    others = np.maximum(n_equal - 1, 0)
    if ties == "optimistic":
        return np.zeros(len(n_equal))
    return others.astype(np.float64) if ties == "pessimistic" else others / 2.0


def rank_entries(
    rank: RankResult, ties: Ties, flavor: Flavor, nan: NanPolicy, positional: np.ndarray | None = None
) -> RankResult:
    """Fill ``rank.ranks``/``entry_query``/``nan_queries``/``dropped`` from the counts.

    Args:
        rank: counts of one direction (``ranks`` etc. are overwritten).
        ties: tie rule of the default flavor.
        flavor: "default", "numpy" (reference tie duplication) or "torch" (reference multi-caption T2V).
        nan: what the default flavor does with a NaN ground truth ("worst" rank, "drop", "raise").
        positional: ``[Q]`` 0-based rank for the "torch" flavor (ties broken by candidate index).
    """
    gt = rank.gt_score
    is_nan = np.isnan(gt)
    rank.nan_queries = rank.queries[is_nan]
    if is_nan.all():
        raise InputError(f"{rank.direction}: every ground-truth score is NaN ({len(gt)} queries)")
    if flavor == "default":
        if nan == "raise" and is_nan.any():
            raise InputError(
                f"{rank.direction}: ground-truth score is NaN for query {int(rank.nan_queries[0])} "
                f"({int(is_nan.sum())} queries)"
            )
        keep = ~is_nan if nan == "drop" else np.ones(len(gt), dtype=bool)
        r0 = rank.query_ranks(ties) - 1
        rank.entry_query = np.flatnonzero(keep)
        rank.ranks = r0[keep] + 1 if ties == "mean" else (r0[keep] + 1).astype(np.int64)
    else:
        # The reference drops every query whose ground truth is not finite (NaN, +inf, -inf).
        keep = np.isfinite(gt)
        idx = np.flatnonzero(keep)
        if flavor == "torch":
            if positional is None:
                raise ConfigError("rank_entries: the 'torch' flavor needs the positional ranks")
            rank.entry_query = idx
            rank.ranks = positional[idx].astype(np.int64) + 1
        else:
            reps = rank.n_equal[idx]
            rank.entry_query = np.repeat(idx, reps)
            starts = np.repeat(rank.n_greater[idx] - np.cumsum(reps) + reps, reps)
            rank.ranks = (starts + np.arange(len(rank.entry_query))).astype(np.int64) + 1
    rank.dropped = rank.queries[~keep]
    return rank


def summarize(
    rank: RankResult, ks: tuple[int, ...] = DEFAULT_KS, flavor: Flavor = "default", ties: Ties = "optimistic"
) -> Metrics:
    """Metrics of one direction from its filled :class:`RankResult`.

    The arithmetic follows the reference to the last digit: ``float(count) * 100 / n``,
    ``median(r0) + 1`` and ``mean(r0) + 1`` over 0-based ranks ``r0``; the "torch" flavor uses the
    lower median and float32 division for R@K as the reference's multi-caption T2V does. With
    ``ties="mean"`` R@K is the expected recall under a uniformly random tie-break (a query tied
    with e candidates at p strictly higher counts ``clip((K - p) / e, 0, 1)``), matching MnR, which
    is then the expected mean rank.
    """
    ks = tuple(sorted(set(ks) | set(DEFAULT_KS)))
    n = len(rank.ranks)
    if n == 0:
        raise InputError(f"{rank.direction}: no query left to evaluate (every ground-truth score is NaN or non-finite)")
    r0 = rank.ranks - 1
    if flavor == "gram":
        recall, mdr, mnr, std = _gram_summary(r0, ks)
    elif flavor == "torch":
        recall = {k: float(np.float32(int((r0 < k).sum()) * 100) / np.float32(n)) for k in ks}
        one_based = r0 + 1
        mdr = float(np.sort(one_based)[(n - 1) // 2])
        mnr, std = float(np.mean(one_based)), float(np.std(one_based))
    else:
        if ties == "mean" and flavor == "default":
            recall = _expected_recall(rank, ks)
        else:
            recall = {k: float(int((r0 < k).sum())) * 100 / n for k in ks}
        mdr, mnr, std = float(np.median(r0) + 1), float(np.mean(r0) + 1), float(np.std(r0))
    n_tied = int(((rank.n_equal > 1) & ~np.isnan(rank.gt_score)).sum())
    return Metrics(
        R=recall,
        MdR=mdr,
        MnR=mnr,
        MnR_std=std,
        n=n,
        n_queries=len(rank.queries),
        n_nan=len(rank.nan_queries),
        n_dropped=len(rank.dropped),
        n_tied=n_tied,
    )


def _gram_summary(r0: np.ndarray, ks: tuple[int, ...]) -> tuple[dict[int, float], float, float, float]:
    """GRAM's ``compute_metric_ret``: ``count / n`` x 100, ``torch.median`` (lower middle) + 1 and the float32
    ``torch.mean`` + 1 of the 0-based ranks."""
    import torch

    n = len(r0)
    ranks = torch.as_tensor(r0, dtype=torch.float32)
    recall = {k: int((r0 < k).sum()) / n * 100 for k in ks}
    return (recall, float(torch.median(ranks)) + 1, float(torch.mean(ranks)) + 1, float(np.std(r0.astype(np.float64))))


def _expected_recall(rank: RankResult, ks: tuple[int, ...]) -> dict[int, float]:
    q = rank.entry_query
    nan = np.isnan(rank.gt_score[q])
    higher = np.where(nan, rank.n_candidates - 1, rank.n_greater[q]).astype(np.float64)
    tied = np.where(nan, 1, np.maximum(rank.n_equal[q], 1)).astype(np.float64)
    return {k: float(np.clip((k - higher) / tied, 0.0, 1.0).sum()) * 100 / len(q) for k in ks}


def evaluate_similarity(
    sim: Any,
    text_to_video: np.ndarray | None = None,
    *,
    ties: Ties = "optimistic",
    compat: str | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
    nan: NanPolicy = "worst",
    keep_topk: int = 0,
    block: int | None = None,
    device: Any = None,
) -> RetrievalResult:
    """Evaluate a dense similarity matrix (rows = texts, columns = videos).

    Args:
        sim: ``[n_text, n_video]`` numpy array or torch tensor of scores.
        text_to_video: ``[n_text]`` video of each text; ``None`` = ground truth on the diagonal.
        ties: "optimistic" (rank = 1 + #strictly higher), "pessimistic" or "mean".
        compat: "clip4clip" reproduces the reference ``compute_metrics`` (see :mod:`svta.eval.streaming`).
        ks: recall cut-offs (1, 5 and 10 are always included).
        nan: "worst", "drop" or "raise" for a NaN ground-truth score (outside compat mode).
        keep_topk: also keep the top-K candidates per query.
        block: block size (default: the whole matrix when it is small).
        device: torch device to compare on (default: the tensor's own device, else CPU).
    """
    from svta.eval.streaming import stream_ranks

    matrix = _as_matrix(sim)
    n_text, n_video = matrix.shape
    if block is None:
        block = max(n_text, n_video) if n_text * n_video <= 4096 * 4096 else 2048

    def score_block(rows: slice, cols: slice) -> Any:
        return matrix[rows, cols]

    return stream_ranks(
        score_block,
        n_text,
        n_video,
        text_to_video,
        block=block,
        ties=ties,
        compat=compat,
        ks=ks,
        nan=nan,
        keep_topk=keep_topk,
        device=device or getattr(matrix, "device", None),
    )


def compute_metrics(
    sim: Any,
    ties: Ties = "optimistic",
    compat: str | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
    text_to_video: np.ndarray | None = None,
    nan: NanPolicy = "worst",
) -> dict[str, Any]:
    """Metrics of a dense similarity matrix as ``{"t2v": {"R1", ..., "MnR"}, "v2t": {...}}``.

    Same arguments as :func:`evaluate_similarity`. With ``compat="clip4clip"`` the numbers equal
    CLIP4Clip/X-CLIP's ``compute_metrics(sim)`` and ``compute_metrics(sim.T)`` digit for digit.
    """
    return evaluate_similarity(sim, text_to_video, ties=ties, compat=compat, ks=ks, nan=nan).to_dict()


def _as_matrix(sim: Any) -> Any:
    if isinstance(sim, np.ndarray):
        if sim.dtype.kind not in "fiu":
            raise InputError(f"similarity matrix must be numeric, got dtype {sim.dtype}")
        if sim.ndim != 2:
            raise InputError(f"similarity matrix must be 2-D (texts x videos), got shape {sim.shape}")
        return sim
    shape = tuple(getattr(sim, "shape", ()))
    if len(shape) != 2:
        raise InputError(f"similarity matrix must be 2-D (texts x videos), got shape {shape}")
    if getattr(sim, "is_complex", lambda: False)() or str(getattr(sim, "dtype", "")) == "torch.bool":
        raise InputError(f"similarity matrix must be real-valued, got dtype {sim.dtype}")
    return sim
