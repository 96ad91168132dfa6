"""Per-query rank counters updated one similarity block at a time (O(N + block²) memory).

For every query the counter keeps the ground-truth score and how many candidates score strictly
higher / exactly equal; V2T candidates are caption groups (max over a video's captions).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from svta.eval.layout import QueryLayout

Bounds = tuple[int, int]

# Entries per counting pass (4 MiB of float32): the passes over a block run while it is still in cache.
CHUNK_ENTRIES = 1 << 20


@contextmanager
def one_thread(torch: Any, device: Any) -> Iterator[None]:
    """Count on one CPU thread. The passes over a block are short and memory-bound: split over threads they
    gain little, and on a busy machine each one waits for the slowest thread (measured 8x slower on 2 shared
    cores). The previous thread count is restored."""
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class RankCounter:
    """Accumulates T2V and V2T counts over the blocks of one evaluation.

    Args:
        layout: the ground truth.
        device: torch device the counts live on (the blocks' device).
        positional: also count what the reference's multi-caption T2V double argsort needs
            (NaN candidates, ties before the ground-truth column).
        keep_topk: keep the K best candidates per query (0: none).
        finite: no block holds a NaN (counting then skips the check for one).
    """

    def __init__(
        self, layout: QueryLayout, device: Any, positional: bool = False, keep_topk: int = 0, finite: bool = False
    ):
        import torch

        self.torch = torch
        self.layout = layout
        self.device = device
        self.positional = positional
        self.keep_topk = keep_topk
        self.finite = finite
        self.t2v = torch.as_tensor(layout.text_to_video, device=device)

        def zeros(n: int) -> Any:
            return torch.zeros(n, dtype=torch.int64, device=device)

        self.t_greater, self.t_equal = zeros(layout.n_text), zeros(layout.n_text)
        self.v_greater, self.v_equal = zeros(layout.n_video), zeros(layout.n_video)
        self.t_nan, self.t_before = zeros(layout.n_text), zeros(layout.n_text)
        self.t_gt_np = np.full(layout.n_text, np.nan)
        self.v_gt_np = np.full(layout.n_video, np.nan)
        # Any: torch tensors (torch is imported lazily), None until the first block fixes their dtype.
        self.t_gt: Any = None
        self.v_gt: Any = None
        self.t_top: Any = None
        self.v_top: Any = None
        self._groups: dict[Bounds, Any] = {}
        # Blocks may be counted on several threads: scratch buffers are per thread, the sums are added under a lock.
        self._lock = threading.Lock()
        self._masks: dict[Any, Any] = {}
        self._buffers: dict[Any, Any] = {}
        self._exact_sub: dict[Any, bool] = {}

    # ground truth -------------------------------------------------------------------------
    def take_ground_truth(self, t_blk: Any, v_blk: Any, rows: Bounds, cols: Bounds) -> int:
        """Read the ground-truth scores inside a block; returns how many texts had theirs here."""
        torch = self.torch
        (r0, r1), (c0, c1) = rows, cols
        if self.t_gt is None:
            self.t_gt = torch.full((self.layout.n_text,), float("nan"), dtype=t_blk.dtype, device=self.device)
            self.v_gt = torch.full((self.layout.n_video,), float("nan"), dtype=v_blk.dtype, device=self.device)
        local = self.layout.text_to_video[r0:r1]
        li = np.flatnonzero((local >= c0) & (local < c1))
        if len(li) == 0:
            return 0
        li_t = torch.as_tensor(li, device=t_blk.device)
        lc_t = torch.as_tensor(local[li] - c0, device=t_blk.device)
        values = t_blk[li_t, lc_t]
        self.t_gt[r0 + li_t] = values
        self.t_gt_np[r0 + li] = values.double().cpu().numpy()
        # NaN-ignoring max over a video's captions (the reference maps NaN to -inf before its max).
        videos = np.unique(local[li])
        np.fmax.at(self.v_gt_np, local[li], v_blk[li_t, lc_t].double().cpu().numpy())
        self.v_gt[torch.as_tensor(videos, device=self.device)] = torch.as_tensor(
            self.v_gt_np[videos], device=self.device
        ).to(v_blk.dtype)
        return len(li)

    # counting -----------------------------------------------------------------------------
    def count(self, t_blk: Any, v_blk: Any, rows: Bounds, cols: Bounds) -> None:
        """Add one block's comparisons. ``t_blk``/``v_blk``: ``[rows, cols]`` scores for T2V/V2T."""
        (r0, r1), (c0, c1) = rows, cols
        with one_thread(self.torch, t_blk.device):
            g = self.t_gt[r0:r1, None]
            if t_blk is v_blk and not (self.positional or self.layout.multi) and self._sign_path(t_blk):
                counts = self._above(t_blk, g, 1, self.v_gt[None, c0:c1])
                with self._lock:
                    self.t_greater[r0:r1] += counts[0]
                    self.t_equal[r0:r1] += counts[1]
                    self.v_greater[c0:c1] += counts[2]
                    self.v_equal[c0:c1] += counts[3]
                    if self.keep_topk:
                        self._update_topk(t_blk, v_blk, rows, cols, r0)
                return
            with self._lock:  # the other paths add as they count
                self._count_each_way(t_blk, v_blk, g, rows, cols)

    def _count_each_way(self, t_blk: Any, v_blk: Any, g: Any, rows: Bounds, cols: Bounds) -> None:
        (r0, r1), (c0, c1) = rows, cols
        if self.positional:
            self._count_positional(t_blk, g, rows, cols)
        else:
            greater, equal = self._above(t_blk, g, 1)
            self.t_greater[r0:r1] += greater
            self.t_equal[r0:r1] += equal
        gv = self.v_gt[None, c0:c1]
        cand, g0 = self._candidates(v_blk, rows, gv)
        greater, equal = self._above(cand, gv, 0)
        self.v_greater[c0:c1] += greater
        self.v_equal[c0:c1] += equal
        if self.keep_topk:
            self._update_topk(t_blk, cand, rows, cols, g0)

    def _above(self, scores: Any, gt: Any, dim: int, col_gt: Any = None) -> tuple[Any, ...]:
        """Entries of ``scores`` ``[r, c]`` strictly above / equal to ``gt`` (``[r, 1]`` per row for ``dim=1``,
        ``[1, c]`` per column for ``dim=0``), counted along ``dim``. NaN is neither above nor equal. With
        ``col_gt`` ``[1, c]`` (``dim=1``, sign path) the columns are counted too, in the same pass:
        ``(greater, equal, col_greater, col_equal)``."""
        if col_gt is not None:
            return self._both_ways(scores, gt, col_gt)
        if not self._sign_path(scores):
            mask = self._mask(scores.shape, scores.device)
            # sum(dtype=int32) is the fastest count here (a block has < 2**31 entries per row/column)
            return (
                self.torch.gt(scores, gt, out=mask).sum(dim, dtype=self.torch.int32),
                self.torch.eq(scores, gt, out=mask).sum(dim, dtype=self.torch.int32),
            )
        step = max(1, CHUNK_ENTRIES // max(scores.shape[1], 1))
        if dim == 1:
            parts = [self._sign_counts(scores[a : a + step], gt[a : a + step], 1) for a in range(0, len(scores), step)]
            return self.torch.cat([p[0] for p in parts]), self.torch.cat([p[1] for p in parts])
        greater = equal = 0
        for a in range(0, len(scores), step):
            part = self._sign_counts(scores[a : a + step], gt, 0)
            greater, equal = greater + part[0], equal + part[1]
        return greater, equal

    def _both_ways(self, scores: Any, g_row: Any, g_col: Any) -> tuple[Any, Any, Any, Any]:
        """T2V and V2T counts of one block whose rows and columns are both queries: each chunk of rows is counted
        both ways while it is in cache, so the block is read from memory once. ``(t_greater, t_equal, v_greater,
        v_equal)``."""
        step = max(1, CHUNK_ENTRIES // max(scores.shape[1], 1))
        t_parts = []
        v_greater = v_equal = 0
        for a in range(0, len(scores), step):
            chunk = scores[a : a + step]
            t_parts.append(self._sign_counts(chunk, g_row[a : a + step], 1))
            greater, equal = self._sign_counts(chunk, g_col, 0)
            v_greater, v_equal = v_greater + greater, v_equal + equal
        cat = self.torch.cat
        return cat([p[0] for p in t_parts]), cat([p[1] for p in t_parts]), v_greater, v_equal

    def _sign_path(self, scores: Any) -> bool:
        """The sign-of-difference count applies: float32/float64 on CPU, subtraction keeps subnormals."""
        if scores.device.type != "cpu" or scores.dtype not in (self.torch.float32, self.torch.float64):
            return False
        if scores.dtype not in self._exact_sub:
            tiny = self.torch.finfo(scores.dtype).tiny
            x = self.torch.tensor([1.5 * tiny, tiny], dtype=scores.dtype)
            self._exact_sub[scores.dtype] = bool(x[0] - x[1] != 0)  # False when the CPU flushes to zero
        return self._exact_sub[scores.dtype]

    def _sign_counts(self, scores: Any, gt: Any, dim: int) -> tuple[Any, Any]:
        """Exact counts from ``d = scores - gt``: with gradual underflow ``d`` is 0 exactly when the two are
        equal and has the sign of their difference, so the sums of ``sign(d)`` (above - below) and of
        ``sign(d)**2`` (above + below) give both counts; the sums of small integers are exact in floating
        point. A NaN in ``d`` (a NaN score or ground truth, ``inf - inf``) makes its row/column sum NaN: those
        rows/columns are counted again by comparison (blocks known ``finite`` skip that pass). Three cheap passes replace four comparisons, whose bool
        outputs are several times slower to produce and sum on CPU."""
        torch = self.torch
        d = self._work(scores.shape, scores.dtype)
        torch.sub(scores, gt, out=d)
        ones = self._ones(scores.shape[dim], scores.dtype)

        def total(x: Any) -> Any:
            return torch.mv(x, ones) if dim == 1 else torch.mv(x.T, ones)

        unsure = None if self.finite else torch.isnan(total(d))
        balance = total(d.sign_())
        unequal = total(d.mul_(d))
        greater = ((balance + unequal) / 2).to(torch.int64)
        equal = (scores.shape[dim] - unequal).to(torch.int64)
        if unsure is not None and bool(unsure.any()):
            idx = torch.nonzero(unsure)[:, 0]
            sub, sub_gt = scores.index_select(1 - dim, idx), gt.index_select(1 - dim, idx)
            greater[idx] = torch.gt(sub, sub_gt).sum(dim)
            equal[idx] = torch.eq(sub, sub_gt).sum(dim)
        return greater, equal

    def _work(self, shape: Any, dtype: Any) -> Any:
        key = (tuple(shape), dtype, threading.get_ident())
        if key not in self._buffers:
            self._buffers[key] = self.torch.empty(key[0], dtype=dtype)
        return self._buffers[key]

    def _ones(self, n: int, dtype: Any) -> Any:
        key = (n, dtype, threading.get_ident())
        if key not in self._buffers:
            self._buffers[key] = self.torch.ones(n, dtype=dtype)
        return self._buffers[key]

    def _mask(self, shape: Any, device: Any) -> Any:
        key = (tuple(shape), str(device), threading.get_ident())
        if key not in self._masks:
            self._masks[key] = self.torch.empty(key[0], dtype=self.torch.bool, device=device)
        return self._masks[key]

    def _count_positional(self, t_blk: Any, g: Any, rows: Bounds, cols: Bounds) -> None:
        # torch's descending sort puts NaN first; a stable sort puts earlier columns first among ties.
        torch = self.torch
        (r0, r1), (c0, c1) = rows, cols
        mask = self._mask(t_blk.shape, t_blk.device)
        self.t_greater[r0:r1] += torch.gt(t_blk, g, out=mask).sum(1, dtype=torch.int32)
        equal = torch.eq(t_blk, g, out=mask)
        self.t_equal[r0:r1] += equal.sum(1, dtype=torch.int32)
        self.t_nan[r0:r1] += torch.count_nonzero(torch.isnan(t_blk), dim=1)
        column = torch.arange(c0, c1, device=t_blk.device)[None, :]
        self.t_before[r0:r1] += torch.count_nonzero(equal & (column < self.t2v[r0:r1, None]), dim=1)

    def _candidates(self, v_blk: Any, rows: Bounds, gv: Any) -> tuple[Any, int]:
        """V2T candidates of a row block: ``[groups, cols]`` max over each caption group's non-NaN
        scores. A group with only NaN scores has none: NaN when a ground truth ``gv`` of the block
        is -inf (to tell the two apart), else -inf."""
        if not self.layout.multi:
            return v_blk, rows[0]
        torch = self.torch
        g0, g1, index, size = self._group_plan(rows)
        missing = torch.isnan(v_blk)
        cand = self._group_max(torch.where(missing, float("-inf"), v_blk), g1 - g0, index, size)
        if bool(torch.isneginf(gv).any()):
            some = self._group_max((~missing).to(v_blk.dtype), g1 - g0, index, size)
            cand = torch.where(some > 0, cand, float("nan"))
        return cand, g0

    def _group_max(self, x: Any, n_groups: int, index: Any, size: int) -> Any:
        if size:
            return x.reshape(n_groups, size, -1).amax(dim=1)
        out = self.torch.full((n_groups, x.shape[1]), float("-inf"), dtype=x.dtype, device=x.device)
        return out.scatter_reduce_(0, index[:, None].expand_as(x), x, "amax")

    def _group_plan(self, rows: Bounds) -> tuple[int, int, Any, int]:
        if rows not in self._groups:
            r0, r1 = rows
            groups = self.layout.text_group[r0:r1]
            g0, g1 = int(groups[0]), int(groups[-1]) + 1
            sizes = np.diff(self.layout.group_start[g0 : g1 + 1])
            size = int(sizes[0]) if (sizes == sizes[0]).all() else 0
            index = self.torch.as_tensor(groups - g0, device=self.device)
            self._groups[rows] = (g0, g1, index, size)
        return self._groups[rows]

    def _update_topk(self, t_blk: Any, cand: Any, rows: Bounds, cols: Bounds, g0: int) -> None:
        torch = self.torch
        (r0, r1), (c0, c1) = rows, cols
        if self.t_top is None:
            k = self.keep_topk
            self.t_top = _empty_topk(torch, self.layout.n_text, k, t_blk.dtype, self.device)
            self.v_top = _empty_topk(torch, self.layout.n_video, k, t_blk.dtype, self.device)
        vals, idx = self.t_top
        vals[r0:r1], idx[r0:r1] = _merge_topk(torch, vals[r0:r1], idx[r0:r1], t_blk, c0)
        vals, idx = self.v_top
        vals[c0:c1], idx[c0:c1] = _merge_topk(torch, vals[c0:c1], idx[c0:c1], cand.T, g0)

    # results ------------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        """Counts as numpy arrays (``t_*`` indexed by text, ``v_*`` by video)."""
        out = {
            name: getattr(self, name).cpu().numpy()
            for name in ("t_greater", "t_equal", "v_greater", "v_equal", "t_nan", "t_before")
        }
        out["t_gt"], out["v_gt"] = self.t_gt_np, self.v_gt_np
        if self.t_top is not None:
            out["t_top_val"], out["t_top_idx"] = (x.cpu().numpy() for x in self.t_top)
            out["v_top_val"], out["v_top_idx"] = (x.cpu().numpy() for x in self.v_top)
        return out


def _empty_topk(torch: Any, n: int, k: int, dtype: Any, device: Any) -> tuple[Any, Any]:
    return (
        torch.full((n, k), float("-inf"), dtype=dtype, device=device),
        torch.full((n, k), -1, dtype=torch.int64, device=device),
    )


def _merge_topk(torch: Any, vals: Any, idx: Any, scores: Any, offset: int) -> tuple[Any, Any]:
    """Merge a block's scores ``[q, c]`` (columns numbered from ``offset``) into a running top-k."""
    clean = torch.where(torch.isnan(scores), float("-inf"), scores)
    k = min(vals.shape[1], clean.shape[1])
    new_vals, new_idx = torch.topk(clean, k, dim=1)
    all_vals = torch.cat([vals, new_vals], dim=1)
    all_idx = torch.cat([idx, new_idx + offset], dim=1)
    best_vals, pos = torch.topk(all_vals, vals.shape[1], dim=1)
    return best_vals, torch.gather(all_idx, 1, pos)
