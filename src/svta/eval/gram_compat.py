"""``compat="gram"``: GRAM's released retrieval evaluation (``compute_metric_ret`` after ``refine_score_matrix``).

GRAM ranks by sorting whole rows: a query's rank is the position of its ground truth in torch's descending
sort of the final scores, so exact ties fall in the order torch's (unstable) sort leaves them, MdR is torch's
lower median and V2T ranks single captions (the best-placed true caption counts). With a top-k re-scorer,
the final matrix holds the second-stage scores of each query's first-stage top-k (``topk`` per text over
videos, per video over captions) and zero everywhere else. Rows are materialised a block at a time, so
memory is O(block x N), not N x N.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from svta.errors import ConfigError, InputError
from svta.eval.metrics import RankResult

Bounds = tuple[int, int]


def gram_ranks(source: Any, rescore: Any, keep_topk: int) -> tuple[RankResult, RankResult, dict[str, dict]]:
    """Both directions ranked as GRAM's evaluation does.

    Args:
        source: a :class:`~svta.eval.streaming.BlockSource` (texts possibly grouped by ``source.text_index``).
        rescore: a :class:`~svta.eval.rerank.TopKRescore` or ``None`` (rank the first-stage scores).
        keep_topk: best candidates to keep per query (T2V: videos; V2T: the caption groups of the best captions).

    Returns:
        ``(t2v, v2t, extra)``: rank results whose ``ranks`` are filled (positions in the sorted row, 1-based)
        and per-direction extras (``outside_topk`` when re-scoring).
    """
    layout = source.layout
    if layout.multi and layout.n_groups != layout.n_video or not layout.multi and layout.n_text != layout.n_video:
        raise InputError(
            f"compat='gram' needs a caption for every video ({layout.n_text} captions, "
            f"{layout.n_video} videos; GRAM's video-to-text ranking fails on a video without one)"
        )
    order = source.text_index if source.text_index is not None else np.arange(layout.n_text)
    t_rank, t_out = _text_to_video(source, rescore, keep_topk)
    v_rank, v_out = _video_to_text(source, rescore, keep_topk, np.asarray(order))
    extra = {} if rescore is None else {"t2v": {"outside_topk": t_out}, "v2t": {"outside_topk": v_out}}
    return t_rank, v_rank, extra


def _final_rows(scores: Any, rescore: Any, text_pos: Any, dim: int, video_offset: int = 0) -> tuple[Any, Any]:
    """GRAM's final scores of a block: unchanged, or second-stage scores in the top-k along ``dim``, else 0.

    ``scores`` is ``[n_text_rows, n_video_cols]``; ``text_pos`` maps its rows to the rescorer's text indices and
    its columns are videos ``video_offset ...``.
    Returns ``(final, topk_mask)``.
    """
    import torch

    if rescore is None:
        return scores, None
    k = min(rescore.k, scores.shape[dim])
    top = scores.topk(k, dim=dim)[1]  # GRAM: score_matrix.topk(top_k, dim)
    final = torch.zeros_like(scores)
    if dim == 1:
        rows = torch.arange(scores.shape[0], device=scores.device)[:, None].expand_as(top)
        cols = top
    else:
        rows, cols = top, torch.arange(scores.shape[1], device=scores.device)[None, :].expand_as(top)
    texts, videos = text_pos[rows.reshape(-1).cpu().numpy()], cols.reshape(-1).cpu().numpy() + video_offset
    values = torch.as_tensor(rescore._call(texts, videos), device=scores.device).to(scores.dtype)
    final[rows.reshape(-1), cols.reshape(-1)] = values
    mask = torch.zeros_like(scores, dtype=torch.bool)
    mask[rows.reshape(-1), cols.reshape(-1)] = True
    return final, mask


def _text_to_video(source: Any, rescore: Any, keep_topk: int) -> tuple[RankResult, int]:
    import torch

    layout = source.layout
    n_text, n_video = layout.n_text, layout.n_video
    gt_all = torch.as_tensor(layout.text_to_video, device=source.device)
    pos = np.zeros(n_text, np.int64)
    gt_score, greater, equal = np.zeros(n_text), np.zeros(n_text, np.int64), np.zeros(n_text, np.int64)
    top_idx, top_val = np.full((n_text, keep_topk), -1, np.int64), np.full((n_text, keep_topk), -np.inf)
    outside = 0
    for r0, r1 in source.text_bounds:
        scores = source.block((r0, r1), (0, n_video))
        final, inside = _final_rows(scores, rescore, np.arange(r0, r1), dim=1)
        gt = gt_all[r0:r1]
        order = final.sort(dim=1, descending=True)[1]  # GRAM: score_matrix.sort(dim=-1, descending=True)
        pos[r0:r1] = (order == gt[:, None]).int().argmax(dim=1).cpu().numpy()
        g = final.gather(1, gt[:, None])
        gt_score[r0:r1] = g[:, 0].double().cpu().numpy()
        greater[r0:r1] = (final > g).sum(1).cpu().numpy()
        equal[r0:r1] = (final == g).sum(1).cpu().numpy()
        if inside is not None:
            outside += int((~inside.gather(1, gt[:, None])).sum())
        if keep_topk:
            k = min(keep_topk, n_video)
            val, idx = final.topk(k, dim=1)
            top_idx[r0:r1, :k], top_val[r0:r1, :k] = idx.cpu().numpy(), val.double().cpu().numpy()
    empty = np.zeros(0, np.int64)
    rank = RankResult(
        "t2v",
        np.arange(n_text),
        gt_score,
        greater,
        equal,
        n_video,
        pos + 1,
        np.arange(n_text),
        empty,
        empty,
        top_idx if keep_topk else None,
        top_val if keep_topk else None,
    )
    return rank, outside


def _video_to_text(source: Any, rescore: Any, keep_topk: int, order: np.ndarray) -> tuple[RankResult, int]:
    """Columns of all captions in the caller's caption order, sorted over captions; a video's rank is the best
    position of any of its captions."""
    import torch

    layout = source.layout
    n_text, n_video = layout.n_text, layout.n_video
    where = np.empty_like(order)
    where[order] = np.arange(n_text)  # caller's caption o sits at row where[o] of the source
    t2v_caller = torch.as_tensor(layout.text_to_video[where], device=source.device)
    width = max(1, min(n_video, (source.block_size**2) // max(n_text, 1)))
    pos = np.zeros(n_video, np.int64)
    gt_score, greater, equal = np.zeros(n_video), np.zeros(n_video, np.int64), np.zeros(n_video, np.int64)
    top_idx, top_val = np.full((n_video, keep_topk), -1, np.int64), np.full((n_video, keep_topk), -np.inf)
    outside = 0
    row_of = torch.as_tensor(where, device=source.device)
    for c0 in range(0, n_video, width):
        c1 = min(c0 + width, n_video)
        scores = _column_block(source, (c0, c1))[row_of]  # [n_text, c], caller's caption order
        final, inside = _final_rows(scores, rescore, where, dim=0, video_offset=c0)
        sorted_rows = final.sort(dim=0, descending=True)[1]  # GRAM: score_matrix.sort(dim=0, descending=True)
        position = torch.empty_like(sorted_rows)
        position.scatter_(0, sorted_rows, torch.arange(n_text, device=final.device)[:, None].expand_as(sorted_rows))
        videos = torch.arange(c0, c1, device=final.device)
        truth = t2v_caller[:, None] == videos[None, :]
        best = torch.where(truth, position, n_text).min(dim=0)
        pos[c0:c1] = best.values.cpu().numpy()
        g = final.gather(0, sorted_rows.gather(0, best.values[None, :]))  # the best true caption's score
        gt_score[c0:c1] = g[0].double().cpu().numpy()
        greater[c0:c1] = (final > g).sum(0).cpu().numpy()
        equal[c0:c1] = (final == g).sum(0).cpu().numpy()
        if inside is not None:
            outside += int((~(inside & truth).any(dim=0)).sum())
        if keep_topk:
            k = min(keep_topk, n_text)
            val, idx = final.topk(k, dim=0)
            caption_rows = where[idx.T.cpu().numpy()]
            top_idx[c0:c1, :k] = layout.text_group[caption_rows]
            top_val[c0:c1, :k] = val.T.double().cpu().numpy()
    empty = np.zeros(0, np.int64)
    rank = RankResult(
        "v2t",
        np.arange(n_video),
        gt_score,
        greater,
        equal,
        n_text,
        pos + 1,
        np.arange(n_video),
        empty,
        empty,
        top_idx if keep_topk else None,
        top_val if keep_topk else None,
    )
    return rank, outside


def _column_block(source: Any, cols: Bounds) -> Any:
    """Scores of every text against videos ``cols``: ``[n_text, c]`` in the source's text order."""
    import torch

    parts = [source.block(rows, cols) for rows in source.text_bounds]
    return torch.cat(parts, dim=0)


def check_gram_options(transform: Any, nan: str) -> None:
    """GRAM's evaluation has no score transform and ranks NaN as torch's sort does."""
    if transform is not None:
        raise ConfigError("compat='gram' reproduces GRAM's evaluation, which has no dual softmax or QB-Norm")
    if nan != "worst":
        raise ConfigError("compat='gram' ranks NaN scores as GRAM's torch sort does; leave nan at its default")
