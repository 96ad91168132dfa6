"""Opt-in re-ranking for evaluation: dual softmax, querybank normalisation, top-k re-scoring.

None of the reference evaluations (CLIP4Clip, X-CLIP) re-rank. DSL and QB-Norm are score
transforms streamed in two passes (statistics, then ranking); :class:`TopKRescore` re-scores each
query's first-stage top-k with a second-stage scorer (GRAM's matching head).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from svta.errors import ConfigError
from svta.registry import registry

Bounds = tuple[int, int]
RERANKERS = registry("reranker")


def rerank_items(rerank: Any) -> list[Any]:
    """``rerank`` (one re-ranker, a list/tuple of them, or None) as a list."""
    return [rerank] if rerank is not None and not isinstance(rerank, (list, tuple)) else list(rerank or ())


def _nan_to_neginf(torch: Any, x: Any) -> Any:
    return torch.where(torch.isnan(x), float("-inf"), x)


@RERANKERS.register("dsl", "Dual softmax (CAMoE): score x softmax prior over the other side")
@dataclass
class DualSoftmax:
    """Dual softmax (DSL, CAMoE): weight each score by a softmax prior over the other side.

    T2V scores become ``S * softmax(t·S, over texts)`` per video; V2T scores
    ``S * softmax(t·S, over videos)`` per text. The prior uses every test query at once, so
    numbers with DSL are not comparable to single-query retrieval.

    Attributes:
        temperature: ``t``; 100 for cosine similarities (CLIP's logit scale), 1 for scores that
            already include it.
    """

    temperature: float = 100.0

    def prepare(self, source: Any) -> None:
        """First pass: log-sum-exp of ``t·S`` over texts (per video) and over videos (per text)."""
        import torch

        dev = source.device
        self.col_lse = torch.full((source.layout.n_video,), float("-inf"), dtype=torch.float64, device=dev)
        self.row_lse = torch.full((source.layout.n_text,), float("-inf"), dtype=torch.float64, device=dev)
        for (r0, r1), (c0, c1), blk in source.blocks("dual softmax statistics"):
            scaled = _nan_to_neginf(torch, blk.double() * self.temperature)
            self.col_lse[c0:c1] = torch.logaddexp(self.col_lse[c0:c1], torch.logsumexp(scaled, dim=0))
            self.row_lse[r0:r1] = torch.logaddexp(self.row_lse[r0:r1], torch.logsumexp(scaled, dim=1))

    def __call__(self, blk: Any, rows: Bounds, cols: Bounds) -> tuple[Any, Any]:
        """``[r, c]`` block -> (T2V scores, V2T scores)."""
        import torch

        (r0, r1), (c0, c1) = rows, cols
        scaled = blk * self.temperature
        t2v = blk * torch.exp(scaled - self.col_lse[None, c0:c1].to(blk.dtype))
        v2t = blk * torch.exp(scaled - self.row_lse[r0:r1, None].to(blk.dtype))
        return t2v, v2t


@dataclass
class BankScores:
    """Scores of a query bank against a gallery, block by block.

    Attributes:
        score_block: ``(bank_slice, gallery_slice) -> [nb, ng]`` scores.
        n: number of bank queries.
    """

    score_block: Callable[[slice, slice], Any]
    n: int


@RERANKERS.register("qbnorm", "QB-Norm dynamic inverted softmax with a query bank")
@dataclass
class QueryBankNorm:
    """QB-Norm with the dynamic inverted softmax (Bogolin et al., CVPR 2022).

    A gallery item is "active" when it is among the top-``k`` of some bank query. A test query
    whose top-1 is active gets ``exp(β·s) / Σ_bank exp(β·s_bank)`` for every gallery item (computed
    as its logarithm, which ranks the same); other queries keep their scores.

    Attributes:
        text_bank: T2V query bank: ``[n_bank, D]`` text embeddings (scored against the video
            embeddings) or :class:`BankScores` over the videos; ``None`` leaves T2V alone.
        video_bank: V2T query bank: video embeddings or :class:`BankScores` over the texts.
        beta: β (QB-Norm default 20).
        k: top-k defining active gallery items (default 1).
        normalize: L2-normalise bank embeddings (as the evaluated embeddings are).
    """

    text_bank: Any = None
    video_bank: Any = None
    beta: float = 20.0
    k: int = 1
    normalize: bool = True

    def with_text_order(self, order: np.ndarray) -> QueryBankNorm:
        if isinstance(self.video_bank, BankScores):
            raise ConfigError("QueryBankNorm with BankScores over texts needs captions grouped by video")
        return self

    def prepare(self, source: Any) -> None:
        """Bank statistics over the gallery, then each test query's top-1 (one pass over S)."""

        if self.text_bank is None and self.video_bank is None:
            raise ConfigError("QueryBankNorm needs a text_bank and/or a video_bank")
        layout = source.layout
        self.t_norm = self.v_norm = None
        if self.text_bank is not None:
            bank = self._scores(self.text_bank, source.video_emb, "text_bank", source)
            self.t_norm, t_active = _bank_stats(bank, layout.n_video, self.beta, self.k, source)
        if self.video_bank is not None:
            bank = self._scores(self.video_bank, source.text_emb, "video_bank", source)
            self.v_norm, v_active = _bank_stats(bank, layout.n_text, self.beta, self.k, source)
        best_video, best_text = _top1(source)
        if self.t_norm is not None:
            self.t_flag = t_active[best_video]
        if self.v_norm is not None:
            self.v_flag = v_active[best_text]

    def _scores(self, bank: Any, gallery: Any, name: str, source: Any) -> BankScores:
        import torch

        if isinstance(bank, BankScores):
            return bank
        if gallery is None:
            raise ConfigError(
                f"QueryBankNorm.{name} as embeddings needs embedding scores "
                "(evaluate_embeddings); with a score function pass BankScores"
            )
        emb = bank if torch.is_tensor(bank) else torch.as_tensor(np.asarray(bank))
        emb = emb.float().to(source.device)
        if self.normalize:
            emb = torch.nn.functional.normalize(emb, dim=1)
        return BankScores(lambda b, g: emb[b] @ gallery[g].T, emb.shape[0])

    def __call__(self, blk: Any, rows: Bounds, cols: Bounds) -> tuple[Any, Any]:
        """``[r, c]`` block -> (T2V scores, V2T scores)."""
        import torch

        (r0, r1), (c0, c1) = rows, cols
        t2v = v2t = blk
        if self.t_norm is not None:
            normed = self.beta * blk - self.t_norm[None, c0:c1].to(blk.dtype)
            t2v = torch.where(self.t_flag[r0:r1, None], normed, blk)
        if self.v_norm is not None:
            normed = self.beta * blk - self.v_norm[r0:r1, None].to(blk.dtype)
            v2t = torch.where(self.v_flag[None, c0:c1], normed, blk)
        return t2v, v2t


def _bank_stats(bank: BankScores, n_gallery: int, beta: float, k: int, source: Any) -> tuple[Any, Any]:
    """log Σ_bank exp(β·s) per gallery item ``[G]`` and the active mask ``[G]`` (top-k of a bank query)."""
    import torch

    from svta.eval.counting import _empty_topk, _merge_topk
    from svta.eval.streaming import as_block
    from svta.progress import progress

    dev, step = source.device, source.block_size
    lse = torch.full((n_gallery,), float("-inf"), dtype=torch.float64, device=dev)
    active = torch.zeros(n_gallery, dtype=torch.bool, device=dev)
    for b0 in progress(range(0, bank.n, step), description="query-bank statistics"):
        b1 = min(b0 + step, bank.n)
        top_val, top_idx = _empty_topk(torch, b1 - b0, k, torch.float64, dev)
        for g0 in range(0, n_gallery, step):
            g1 = min(g0 + step, n_gallery)
            blk = _nan_to_neginf(
                torch, as_block(bank.score_block(slice(b0, b1), slice(g0, g1)), (b1 - b0, g1 - g0), dev).double()
            )
            lse[g0:g1] = torch.logaddexp(lse[g0:g1], torch.logsumexp(beta * blk, dim=0))
            top_val, top_idx = _merge_topk(torch, top_val, top_idx, blk, g0)
        active[top_idx[torch.isfinite(top_val)]] = True
    return lse, active


def _top1(source: Any) -> tuple[Any, Any]:
    """Best video per text ``[n_text]`` and best text per video ``[n_video]`` under the raw scores."""
    import torch

    layout, dev = source.layout, source.device
    row_best = torch.full((layout.n_text,), float("-inf"), dtype=torch.float64, device=dev)
    row_arg = torch.zeros(layout.n_text, dtype=torch.int64, device=dev)
    col_best = torch.full((layout.n_video,), float("-inf"), dtype=torch.float64, device=dev)
    col_arg = torch.zeros(layout.n_video, dtype=torch.int64, device=dev)
    for (r0, r1), (c0, c1), blk in source.blocks("query-bank top-1"):
        clean = _nan_to_neginf(torch, blk.double())
        val, arg = clean.max(dim=1)
        better = val > row_best[r0:r1]
        row_best[r0:r1] = torch.where(better, val, row_best[r0:r1])
        row_arg[r0:r1] = torch.where(better, arg + c0, row_arg[r0:r1])
        val, arg = clean.max(dim=0)
        better = val > col_best[c0:c1]
        col_best[c0:c1] = torch.where(better, val, col_best[c0:c1])
        col_arg[c0:c1] = torch.where(better, arg + r0, col_arg[c0:c1])
    return row_arg, col_arg


@RERANKERS.register("topk", "Re-score each query's top-k with a second-stage scorer (GRAM)")
@dataclass
class TopKRescore:
    """Re-score each query's first-stage top-``k`` with a second-stage scorer (GRAM's matching head).

    Attributes:
        scorer: ``(text_idx [P], video_idx [P]) -> [P]`` scores of text/video pairs. For V2T with
            several captions per video, a caption group scores the max over its captions.
        k: candidates re-scored per query (GRAM: 50).
        tail: "keep": candidates outside the top-k stay below the re-scored ones, in first-stage
            order. "zero": GRAM's published behaviour: the final matrix is zero outside the top-k,
            so a ground truth that missed the top-k ties with every other zero. That tie is ranked
            by the ``ties`` rule (optimistic: first among the zeros, pessimistic: last, mean: the
            middle, i.e. the expected rank under GRAM's arbitrary sort order); ``MnR_expected``
            (mean tie-break) is reported either way, with ``outside_topk``.
        batch: pairs per scorer call.
    """

    scorer: Callable[[np.ndarray, np.ndarray], Any]
    k: int = 50
    tail: Literal["keep", "zero"] = "keep"
    batch: int = 8192

    def __post_init__(self) -> None:
        if self.tail not in ("keep", "zero"):
            raise ConfigError(f"TopKRescore.tail must be 'keep' or 'zero', got {self.tail!r}")
        if self.k < 1:
            raise ConfigError(f"TopKRescore.k must be positive, got {self.k}")

    def with_text_order(self, order: np.ndarray) -> TopKRescore:
        return replace(self, scorer=lambda t, v: self.scorer(order[t], v))

    def apply(self, t_rank: Any, v_rank: Any, layout: Any) -> dict[str, dict[str, float]]:
        """Replace the first-stage counts of both directions by the re-ranked ones (in place)."""
        extra: dict[str, dict[str, float]] = {}
        for rank in (t_rank, v_rank):
            ids, first = rank.topk[:, : self.k], rank.topk_scores[:, : self.k]
            if rank.direction == "t2v":
                gt_id, scores = layout.text_to_video[rank.queries], self._score(rank.queries, ids, None, layout)
            else:
                gt_id, scores = layout.video_group[rank.queries], self._score(rank.queries, ids, True, layout)
            greater, equal, outside = _rescored_counts(ids, first, scores, gt_id, rank, self.tail)
            rank.n_greater, rank.n_equal = greater, equal
            # the kept candidates now read in final order, with their second-stage scores
            order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), axis=1, kind="stable")
            rank.topk[:, : self.k] = np.take_along_axis(ids, order, axis=1)
            rank.topk_scores[:, : self.k] = np.take_along_axis(scores, order, axis=1)
            extra[rank.direction] = {"outside_topk": int(outside)}
        return extra

    def annotate(self, result: Any) -> None:
        """Add ``MnR_expected`` (ties broken uniformly at random) to both directions."""
        for metrics, rank in ((result.t2v, result.t2v_ranks), (result.v2t, result.v2t_ranks)):
            metrics.extra["MnR_expected"] = float(np.mean(rank.query_ranks("mean")[rank.entry_query]))

    def _score(self, queries: np.ndarray, ids: np.ndarray, groups: bool | None, layout: Any) -> np.ndarray:
        """Second-stage scores ``[Q, k]`` of each query's candidates (NaN where no candidate)."""
        q, c = np.nonzero(ids >= 0)
        cand = ids[q, c]
        if groups:  # a caption group scores the max over its captions
            start, stop = layout.group_start[cand], layout.group_start[cand + 1]
            pair = np.repeat(np.arange(len(cand)), stop - start)
            texts = np.concatenate([np.arange(a, b) for a, b in zip(start, stop)]) if len(cand) else pair
            raw = self._call(texts, queries[q][pair])
            best = np.full(len(cand), np.nan)
            np.fmax.at(best, pair, raw)
        else:
            best = self._call(queries[q], cand)
        out = np.full(ids.shape, np.nan)
        out[q, c] = best
        return out

    def _call(self, text_idx: np.ndarray, video_idx: np.ndarray) -> np.ndarray:
        import torch

        parts = []
        for s in range(0, len(text_idx), self.batch):
            out = self.scorer(text_idx[s : s + self.batch], video_idx[s : s + self.batch])
            out = out.detach().cpu().double().numpy() if torch.is_tensor(out) else np.asarray(out, np.float64)
            if out.shape != (len(text_idx[s : s + self.batch]),):
                raise ConfigError(f"TopKRescore.scorer returned shape {out.shape} for {len(out)} pairs")
            parts.append(out)
        return np.concatenate(parts) if parts else np.zeros(0)


def _rescored_counts(
    ids: np.ndarray, first: np.ndarray, scores: np.ndarray, gt_id: np.ndarray, rank: Any, tail: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Counts above/tied with the ground truth after re-scoring. All arrays ``[Q, k]`` or ``[Q]``."""
    valid = ids >= 0
    k_eff = valid.sum(1)
    hit = valid & (ids == gt_id[:, None])
    inside = hit.any(1)
    r_gt = np.where(inside, np.where(hit, scores, 0.0).sum(1), np.nan)
    if tail == "keep":
        gt = rank.gt_score[:, None]
        out_greater = k_eff + rank.n_greater - (valid & (first > gt)).sum(1)
        out_equal = rank.n_equal - (valid & (first == gt)).sum(1)
        greater = np.where(inside, (valid & (scores > r_gt[:, None])).sum(1), out_greater)
        equal = np.where(inside, (valid & (scores == r_gt[:, None])).sum(1), out_equal)
    else:
        final = np.where(inside, r_gt, 0.0)
        zeros = rank.n_candidates - k_eff
        greater = (valid & (scores > final[:, None])).sum(1) + np.where(final < 0, zeros, 0)
        equal = (valid & (scores == final[:, None])).sum(1) + np.where(final == 0, zeros, 0)
    return greater.astype(np.int64), equal.astype(np.int64), int((~inside).sum())
