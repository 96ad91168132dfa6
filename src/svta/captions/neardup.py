"""Greedy near-duplicate removal over unit-norm embeddings, blockwise so 100k captions never build an
N x N matrix: a row is dropped when its cosine to an earlier *kept* row reaches the threshold.
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np

# bf16 scores are exact to about 0.008 for unit vectors (8-bit mantissa inputs, fp32 accumulation,
# bf16 output); candidates within this margin of the threshold are re-scored in fp32.
BF16_MARGIN = 0.02
_COLUMN_CHUNK = 8192


@lru_cache(maxsize=1)
def _bf16_is_fast() -> bool:
    """Whether bf16 matmul beats fp32 on this CPU (it does with AVX512-BF16/AMX, and crawls without)."""
    import torch

    a, b = torch.randn(256, 384), torch.randn(384, 2048)
    timings = []
    for dtype in (torch.float32, torch.bfloat16):
        x, y = a.to(dtype), b.to(dtype)
        x @ y
        start = time.perf_counter()
        for _ in range(3):
            x @ y
        timings.append(time.perf_counter() - start)
    return timings[1] < 0.7 * timings[0]


def near_duplicates(
    embeddings: np.ndarray, threshold: float, block_size: int = 2048, fast: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Find near-duplicates greedily in row order.

    Args:
        embeddings: ``[N, D]`` float rows, L2-normalised (cosine = dot product).
        threshold: Cosine at or above which a row duplicates an earlier kept row.
        block_size: Rows compared at once (memory ~ ``block_size x 8192`` floats per step).
        fast: Score with a bf16 prefilter and fp32 re-check; ``None`` decides by a quick CPU probe.

    Returns:
        ``dup_of`` ``[N]`` int64 (index of the kept row a row duplicates, ``-1`` for kept rows) and
        ``similarity`` ``[N]`` float32 (its cosine to that row, ``0`` for kept rows).
    """
    import torch

    x = torch.from_numpy(np.ascontiguousarray(embeddings, dtype=np.float32))
    n = x.shape[0]
    fast = _bf16_is_fast() if fast is None else fast
    kept = torch.empty_like(x)
    kept_low = kept.to(torch.bfloat16) if fast else None
    kept_index = np.empty(n, dtype=np.int64)
    dup_of = np.full(n, -1, dtype=np.int64)
    similarity = np.zeros(n, dtype=np.float32)
    k = 0
    with torch.inference_mode():
        for start in range(0, n, block_size):
            block = x[start : start + block_size]
            best, arg = _best_kept(block, kept[:k], None if kept_low is None else kept_low[:k], threshold)
            prior = best >= threshold
            dup_of[start : start + len(block)][prior] = kept_index[arg[prior]]
            similarity[start : start + len(block)][prior] = best[prior]
            removed = _greedy_within(block, prior, threshold, dup_of, similarity, start)
            keep = np.flatnonzero(~removed)
            kept[k : k + len(keep)] = block[keep]
            if kept_low is not None:
                kept_low[k : k + len(keep)] = block[keep].to(torch.bfloat16)
            kept_index[k : k + len(keep)] = start + keep
            k += len(keep)
    return dup_of, similarity


def _best_kept(block, kept, kept_low, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Per block row, the highest cosine to a kept row (exact where it matters) and that row's position."""
    import torch

    rows = block.shape[0]
    best = torch.full((rows,), -2.0)
    arg = torch.zeros(rows, dtype=torch.long)
    block_low = block.to(torch.bfloat16) if kept_low is not None else None
    for col in range(0, kept.shape[0], _COLUMN_CHUNK):
        part = kept[col : col + _COLUMN_CHUNK]
        if kept_low is None:
            value, where = (block @ part.T).max(dim=1)
        else:
            # Rough bf16 maxima pick the few rows that may reach the threshold; only those are
            # re-scored in fp32, so no full fp32 score matrix is ever built.
            value, where = (block_low @ kept_low[col : col + _COLUMN_CHUNK].T).max(dim=1)
            value = value.float()
            rows = torch.nonzero(value >= threshold - BF16_MARGIN).flatten()
            if len(rows):
                exact, exact_where = (block[rows] @ part.T).max(dim=1)
                value[rows], where[rows] = exact, exact_where
        better = value > best
        best = torch.where(better, value, best)
        arg = torch.where(better, where + col, arg)
    return best.numpy(), arg.numpy()


def _greedy_within(
    block, prior: np.ndarray, threshold: float, dup_of: np.ndarray, similarity: np.ndarray, start: int
) -> np.ndarray:
    """Greedy pass inside a block; rows already matched to earlier kept rows cannot remove others."""
    scores = (block @ block.T).numpy()
    adjacent = np.triu(scores >= threshold, k=1)
    removed = prior.copy()
    for r in np.flatnonzero(adjacent.any(axis=1)):
        if removed[r]:
            continue
        newly = adjacent[r] & ~removed
        if newly.any():
            removed |= newly
            hits = np.flatnonzero(newly)
            dup_of[start + hits] = start + r
            similarity[start + hits] = scores[r, hits]
    return removed
