"""Streaming retrieval evaluation: T2V/V2T ranks accumulated block by block, never the N×N matrix.

A ground truth's rank is 1 + the number of candidates scoring strictly higher, so each block only
updates per-query counters (memory O(N + block²)). Any score function works: embedding dot
products, token-level heads (X-CLIP), cross-encoders.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from svta.errors import ConfigError, InputError
from svta.eval.counting import RankCounter
from svta.eval.features import embedding_pair, feature_count, in_caller_order, remap_rerank, take
from svta.eval.layout import QueryLayout
from svta.eval.metrics import (
    DEFAULT_KS,
    Flavor,
    NanPolicy,
    RankResult,
    RetrievalResult,
    Ties,
    check_options,
    rank_entries,
    summarize,
)

ScoreBlock = Callable[[slice, slice], Any]
# Block edge for embedding products on CPU: at N = 20,000 on 2 shared cores 4096² blocks took 1.03x the time of
# one N x N product, 2048² 1.18x, 1024² 2x (per-call overhead); counting reads each block in cache-sized chunks.
EMBEDDING_BLOCK = 4096
# Most threads scoring embedding blocks side by side: each holds its own block (64 MiB at the default edge).
MAX_BLOCK_WORKERS = 8
Bounds = tuple[int, int]


@dataclass
class BlockSource:
    """Where blocks come from: a score function over (text slice, video slice) and its block plan.

    Attributes:
        score_block: ``(rows, cols) -> [rows, cols]`` scores (numpy array or torch tensor).
        layout: the ground truth.
        text_bounds / video_bounds: the block plan.
        device: torch device blocks are moved to.
        block_size: the nominal block edge.
        text_emb / video_emb: ``[n, D]`` embeddings when scores are their dot products (lets
            re-rankers score query banks against the gallery).
        text_index: ``[n_text]`` the caller's index of each row when texts were regrouped (``None``: same).
        finite: no block holds a NaN (an embedding product that cannot overflow).
    """

    score_block: ScoreBlock
    layout: QueryLayout
    text_bounds: list[Bounds]
    video_bounds: list[Bounds]
    device: Any
    block_size: int
    text_emb: Any = None
    video_emb: Any = None
    text_index: Any = None
    finite: bool = False

    def block(self, rows: Bounds, cols: Bounds, reuse: bool = False) -> Any:
        """Scores of texts ``rows`` × videos ``cols`` as a tensor on ``device``. ``[r, c]``. With ``reuse`` the
        block may overwrite the previous one (an embedding product writes into one buffer)."""
        if reuse and isinstance(self.score_block, BlockProduct):
            out = self.score_block(slice(*rows), slice(*cols), reuse=True)
        else:
            out = self.score_block(slice(*rows), slice(*cols))
        return as_block(out, (rows[1] - rows[0], cols[1] - cols[0]), self.device)

    def blocks(self, description: str) -> Any:
        """Every block once: yields ``(rows, cols, scores)``."""
        from svta.progress import progress

        plan = [(r, c) for r in self.text_bounds for c in self.video_bounds]
        for rows, cols in progress(plan, description=description):
            yield rows, cols, self.block(rows, cols)


def as_block(out: Any, shape: tuple[int, int], device: Any) -> Any:
    """A score function's output as a floating tensor on ``device``, checked against ``shape``."""
    import torch

    if isinstance(out, np.ndarray):
        with warnings.catch_warnings():  # read-only (memory-mapped) arrays: we never write blocks
            warnings.simplefilter("ignore", UserWarning)
            out = torch.from_numpy(out)
    elif not torch.is_tensor(out):
        out = torch.as_tensor(out)
    if tuple(out.shape) != shape:
        raise InputError(f"score function returned shape {tuple(out.shape)} for a block of shape {shape}")
    if not out.is_floating_point():
        out = out.double()
    return out.to(device)


def stream_ranks(
    score_block: ScoreBlock,
    n_text: int,
    n_video: int,
    text_to_video: np.ndarray | None = None,
    block: int | None = None,
    *,
    ties: Ties = "optimistic",
    compat: str | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
    nan: NanPolicy = "worst",
    rerank: Any = (),
    keep_topk: int = 0,
    device: Any = None,
    description: str = "scoring blocks",
) -> RetrievalResult:
    """Rank every text against every video (and back) from a block score function.

    Args:
        score_block: ``(text_slice, video_slice) -> [n_rows, n_cols]`` scores (tensor or array).
        n_text: number of texts.
        n_video: number of videos.
        text_to_video: ``[n_text]`` video of each text (several texts per video allowed; each
            video's texts must then be one contiguous run). ``None``: text i describes video i.
            V2T candidates are caption groups, each scoring the max of its captions' non-NaN scores.
        block: block edge (default 1024 on CPU, 4096 on CUDA).
        ties: "optimistic" (1 + #strictly higher, the reference's rank when nothing ties),
            "pessimistic" (+ #tied) or "mean" (+ #tied/2; R@K is then the expected recall under a
            uniformly random tie-break).
        compat: "clip4clip" reproduces the reference evaluation digit for digit. One caption per
            video: CLIP4Clip's ``compute_metrics`` on S and Sᵀ (a query tied with k candidates
            counts k times, at positions p..p+k-1; non-finite ground truths are dropped; numpy
            median; needs a square matrix). Several captions per video: T2V as its
            ``tensor_text_to_video_metrics`` (one rank per caption, torch lower median, float32
            R@K, NaN candidates rank first as in torch's descending sort) and V2T over caption
            groups scored by their max, with tie duplication. The reference breaks exact T2V ties
            inside torch's sort, which is unstable beyond 16 videos (arbitrary order); we break
            them by video index, which is what it does for short rows. "gram" reproduces GRAM's
            ``compute_metric_ret`` (with a :class:`~svta.eval.rerank.TopKRescore`: after its
            ``refine_score_matrix``, zero outside the top-k whatever the rescorer's ``tail``): ranks are
            positions in torch's descending sort of whole rows (its tie order), MdR the lower median,
            and V2T ranks single captions, a video counting its best-placed caption
            (see :mod:`svta.eval.gram_compat`).
        ks: recall cut-offs; 1, 5, 10 are always reported.
        nan: a NaN ground truth is ranked last ("worst", counted and listed in ``nan_queries``),
            left out ("drop", listed in ``dropped``) or an error ("raise"). NaN candidates never
            outrank a ground truth (except in the reference's multi-caption T2V).
        rerank: a :class:`~svta.eval.rerank.DualSoftmax` / :class:`~svta.eval.rerank.QueryBankNorm`
            score transform and/or a :class:`~svta.eval.rerank.TopKRescore`, alone or in a list.
        keep_topk: keep the K best candidates per query in the ranks (for breakdowns and figures).
        device: torch device for the blocks and counters (default: CPU).
        description: progress-bar label.

    Returns:
        A :class:`RetrievalResult` with ``.t2v``/``.v2t`` metrics and per-query ranks.
    """
    layout = QueryLayout.build(n_text, n_video, text_to_video)
    source = make_source(score_block, layout, block, device)
    return run_stream(
        source, ties=ties, compat=compat, ks=ks, nan=nan, rerank=rerank, keep_topk=keep_topk, description=description
    )


def make_source(
    score_block: ScoreBlock,
    layout: QueryLayout,
    block: int | None,
    device: Any,
    text_emb: Any = None,
    video_emb: Any = None,
) -> BlockSource:
    """Plan the blocks of an evaluation."""
    import torch

    device = torch.device(device or "cpu")
    if block is None:
        block = 4096 if device.type == "cuda" else 1024
    if block < 1:
        raise ConfigError(f"block must be positive, got {block}")
    return BlockSource(
        score_block, layout, layout.text_bounds(block), layout.video_bounds(block), device, block, text_emb, video_emb
    )


def run_stream(
    source: BlockSource,
    *,
    ties: Ties = "optimistic",
    compat: str | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
    nan: NanPolicy = "worst",
    rerank: Any = (),
    keep_topk: int = 0,
    description: str = "scoring blocks",
) -> RetrievalResult:
    """Run the streamed evaluation of ``source`` (see :func:`stream_ranks` for the arguments)."""
    import torch

    check_options(ties, compat, nan)
    layout = source.layout
    transform, rescore = split_rerank(rerank)
    if compat == "gram":
        return _run_gram(source, ks, nan, transform, rescore, keep_topk)
    _check_compat(layout, compat)
    if rescore is not None and compat is not None:
        raise ConfigError("compat='clip4clip' reproduces the reference, which has no top-k re-scoring")
    positional = compat is not None and layout.multi
    top = max(keep_topk, rescore.k if rescore is not None else 0)
    finite = source.finite and transform is None
    counter = RankCounter(layout, source.device, positional=positional, keep_topk=top, finite=finite)
    with torch.no_grad():
        if transform is not None:
            transform.prepare(source)
        _count_all(source, counter, transform, description)
    arrays = counter.arrays()
    t_rank, v_rank = _rank_results(arrays, layout, top)
    extra = rescore.apply(t_rank, v_rank, layout) if rescore is not None else {}
    settings = {
        "ties": ties,
        "compat": compat,
        "nan": nan,
        "block": source.block_size,
        "rerank": [type(r).__name__ for r in (transform, rescore) if r is not None],
    }
    result = finish_result(t_rank, v_rank, layout, ties, compat, ks, nan, settings, arrays, extra)
    if rescore is not None:
        rescore.annotate(result)
    return result


def _run_gram(
    source: BlockSource, ks: tuple[int, ...], nan: NanPolicy, transform: Any, rescore: Any, keep_topk: int
) -> RetrievalResult:
    """``compat="gram"``: GRAM's own ranking (see :mod:`svta.eval.gram_compat`)."""
    import torch

    from svta.eval.gram_compat import check_gram_options, gram_ranks

    check_gram_options(transform, nan)
    with torch.no_grad():
        t_rank, v_rank, extra = gram_ranks(source, rescore, keep_topk)
    for rank in (t_rank, v_rank):
        rank.nan_queries = rank.queries[np.isnan(rank.gt_score)]
    t2v, v2t = summarize(t_rank, ks, "gram"), summarize(v_rank, ks, "gram")
    t2v.extra.update(extra.get("t2v", {}))
    v2t.extra.update(extra.get("v2t", {}))
    settings = {
        "ties": "optimistic",
        "compat": "gram",
        "nan": nan,
        "block": source.block_size,
        "rerank": [type(rescore).__name__] if rescore is not None else [],
    }
    layout = source.layout
    result = RetrievalResult(t2v, v2t, t_rank, v_rank, layout.text_to_video, layout.group_video, settings)
    if rescore is not None:
        rescore.annotate(result)
    return result


def split_rerank(rerank: Any) -> tuple[Any, Any]:
    """Split ``rerank`` into (score transform or None, top-k re-scorer or None)."""
    from svta.eval.rerank import TopKRescore, rerank_items

    items = rerank_items(rerank)
    transforms = [r for r in items if not isinstance(r, TopKRescore)]
    rescores = [r for r in items if isinstance(r, TopKRescore)]
    if len(transforms) > 1 or len(rescores) > 1:
        raise ConfigError("use at most one score transform (DualSoftmax/QueryBankNorm) and one TopKRescore")
    for t in transforms:
        if not (callable(t) and hasattr(t, "prepare")):
            raise ConfigError(f"{t!r} is not a re-ranker (expected DualSoftmax, QueryBankNorm or TopKRescore)")
    return (transforms[0] if transforms else None), (rescores[0] if rescores else None)


def _check_compat(layout: QueryLayout, compat: str | None) -> None:
    if compat is None:
        return
    if not layout.multi and layout.n_text != layout.n_video:
        raise InputError(
            f"compat='clip4clip' needs a square matrix, got {layout.n_text} texts x "
            f"{layout.n_video} videos (the reference's compute_metrics(sim.T) fails on it)"
        )
    if layout.multi and layout.n_groups != layout.n_video:
        raise InputError(
            f"compat='clip4clip' with several captions per video needs a caption for every video; "
            f"{layout.n_video - layout.n_groups} videos have none"
        )


def plan_blocks(
    layout: QueryLayout, text_bounds: list[Bounds], video_bounds: list[Bounds]
) -> tuple[list[tuple[int, int]], set[tuple[int, int]]]:
    """Ground-truth blocks in scoring order, and those that can be counted as soon as scored.

    A block can be counted once the ground truth of all its rows and columns is known; on the
    diagonal that holds for every ground-truth block, so each block is scored exactly once.
    """
    gt_blocks = layout.ground_truth_blocks(text_bounds, video_bounds)
    row_of, col_of = layout.ground_truth_coords(text_bounds, video_bounds)
    row_left = np.bincount(row_of, minlength=len(text_bounds))
    col_left = np.bincount(col_of, minlength=len(video_bounds))
    inside = np.bincount(row_of * len(video_bounds) + col_of, minlength=len(text_bounds) * len(video_bounds))
    ready = set()
    for i, j in gt_blocks:
        n = inside[i * len(video_bounds) + j]
        row_left[i] -= n
        col_left[j] -= n
        if row_left[i] == 0 and col_left[j] == 0:
            ready.add((i, j))
    return gt_blocks, ready


def _count_all(source: BlockSource, counter: RankCounter, transform: Any, description: str) -> None:
    from svta.progress import progress

    tb, vb = source.text_bounds, source.video_bounds
    gt_blocks, ready = plan_blocks(source.layout, tb, vb)
    work = [("gt", i, j) for i, j in gt_blocks]
    work += [("count", i, j) for i in range(len(tb)) for j in range(len(vb)) if (i, j) not in ready]

    def step(item: tuple[str, int, int]) -> None:
        phase, i, j = item
        rows, cols = tb[i], vb[j]
        scores = source.block(rows, cols, reuse=True)  # nothing below keeps a block
        t_blk, v_blk = transform(scores, rows, cols) if transform is not None else (scores, scores)
        if phase == "gt":
            counter.take_ground_truth(t_blk, v_blk, rows, cols)
        if phase == "count" or (i, j) in ready:
            counter.count(t_blk, v_blk, rows, cols)

    # top-k lists merge blocks in scoring order (it picks among tied candidates): kept on one thread
    workers = 1 if counter.keep_topk else _block_workers(source, transform, len(work) - len(gt_blocks))
    if workers < 2:
        for item in progress(work, description=description) if len(work) > 1 else work:
            step(item)
        return
    _count_in_parallel(step, work, len(gt_blocks), workers, description)


def _block_workers(source: BlockSource, transform: Any, n_blocks: int) -> int:
    """Threads that score and count whole blocks side by side: one per CPU thread torch may use, for embedding
    products on CPU. Each worker runs its product and its counting on one core, so no core idles while a block
    is counted (single-threaded, see :func:`svta.eval.counting.one_thread`) and no thread waits on another's
    share of a product; a single-threaded MKL product holds the same bits as a multi-threaded one (checked at
    N = 20,000 by ``tests/eval/test_compat_20k.py``)."""
    import torch
    from torch.utils._python_dispatch import _get_current_dispatch_mode

    if not isinstance(source.score_block, BlockProduct) or transform is not None or source.device.type != "cpu":
        return 1
    if _get_current_dispatch_mode() is not None:  # a flop counter or profiler mode sees its own thread only
        return 1
    return max(1, min(torch.get_num_threads(), MAX_BLOCK_WORKERS, n_blocks))


def _count_in_parallel(step: Callable[[Any], None], work: list[Any], n_gt: int, workers: int, label: str) -> None:
    """``step`` every item of ``work``: the first ``n_gt`` (ground-truth blocks, read before any other is
    counted) in order, the rest on ``workers`` threads of one torch thread each."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    from svta.eval.counting import one_thread
    from svta.progress import progress

    with one_thread(torch, torch.device("cpu")):
        for item in work[:n_gt]:
            step(item)
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(step, item) for item in work[n_gt:]]
            for future in progress(futures, description=label):
                future.result()  # re-raises a worker's error


def _rank_results(arrays: dict[str, np.ndarray], layout: QueryLayout, top: int) -> tuple[RankResult, RankResult]:
    empty = np.zeros(0, dtype=np.int64)
    t_rank = RankResult(
        "t2v",
        np.arange(layout.n_text),
        arrays["t_gt"],
        arrays["t_greater"],
        arrays["t_equal"],
        layout.n_video,
        empty,
        empty,
        empty,
        empty,
        arrays.get("t_top_idx"),
        arrays.get("t_top_val"),
    )
    videos = np.flatnonzero(layout.video_group >= 0)
    v_top, v_val = arrays.get("v_top_idx"), arrays.get("v_top_val")
    v_rank = RankResult(
        "v2t",
        videos,
        arrays["v_gt"][videos],
        arrays["v_greater"][videos],
        arrays["v_equal"][videos],
        layout.n_groups,
        empty,
        empty,
        empty,
        empty,
        None if v_top is None else v_top[videos],
        None if v_val is None else v_val[videos],
    )
    return t_rank, v_rank


def finish_result(
    t_rank: RankResult,
    v_rank: RankResult,
    layout: QueryLayout,
    ties: Ties,
    compat: str | None,
    ks: tuple[int, ...],
    nan: NanPolicy,
    settings: dict[str, Any],
    arrays: dict[str, np.ndarray],
    extra: dict[str, dict[str, float]],
) -> RetrievalResult:
    """Turn counts into ranks and metrics under the tie/compat rules."""
    t_flavor: Flavor
    v_flavor: Flavor
    if compat is None:
        t_flavor = v_flavor = "default"
    else:
        t_flavor, v_flavor = ("torch" if layout.multi else "numpy"), "numpy"
    positional = arrays["t_greater"] + arrays["t_nan"] + arrays["t_before"] if t_flavor == "torch" else None
    rank_entries(t_rank, ties, t_flavor, nan, positional)
    rank_entries(v_rank, ties, v_flavor, nan)
    t2v, v2t = summarize(t_rank, ks, t_flavor, ties), summarize(v_rank, ks, v_flavor, ties)
    t2v.extra.update(extra.get("t2v", {}))
    v2t.extra.update(extra.get("v2t", {}))
    return RetrievalResult(t2v, v2t, t_rank, v_rank, layout.text_to_video, layout.group_video, settings)


# -- embeddings and model features (containers: svta.eval.features) ------------------------------


def evaluate_embeddings(
    text_emb: Any,
    video_emb: Any,
    text_to_video: np.ndarray | None = None,
    *,
    normalize: bool = True,
    block: int | None = None,
    device: Any = None,
    ties: Ties = "optimistic",
    compat: str | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
    nan: NanPolicy = "worst",
    rerank: Any = (),
    keep_topk: int = 0,
) -> RetrievalResult:
    """Evaluate dot-product retrieval (cosine when ``normalize``) of text and video embeddings.

    Args:
        text_emb: ``[n_text, D]`` array or tensor.
        video_emb: ``[n_video, D]`` array or tensor.
        text_to_video: ``[n_text]`` video of each text (any order; texts are grouped internally).
        normalize: L2-normalise both sides first. Under ``compat`` a side whose rows are unit length already
            is used as given, so the scores are bit for bit the reference's ``text @ video.T`` of them.
        block: block edge (default :data:`EMBEDDING_BLOCK` on CPU, 4096 on CUDA); each block is one product.
        device, ties, compat, ks, nan, rerank, keep_topk: as in :func:`stream_ranks`.
    """
    import torch

    dev = torch.device(device or "cpu")
    text, video = embedding_pair(text_emb, video_emb, normalize, keep_unit=compat is not None)
    layout = QueryLayout.build(text.shape[0], video.shape[0], text_to_video)
    order = layout.grouping_order() if layout.multi and not layout.contiguous else None
    if order is not None:
        text, layout = text[torch.as_tensor(order)], layout.permuted(order)
    text, video = text.to(dev), video.to(dev)

    if block is None and dev.type == "cpu":
        block = EMBEDDING_BLOCK
    product = BlockProduct(text, video)
    source = make_source(product, layout, block, dev, text, video)
    source.finite = product.finite()
    options = {"ties": ties, "compat": compat, "ks": ks, "nan": nan, "rerank": rerank, "keep_topk": keep_topk}
    return _stream_in_order(source, order, "scoring embeddings", options)


class BlockProduct:
    """Blocks of ``text @ video.T``, each computed once. With the BLAS torch ships (MKL) a block holds the very bits
    of the same entries of the whole product (checked at N = 20,000 by ``tests/eval/test_compat_20k.py``), so T2V
    and V2T, which read the same block, compare the reference's numbers.

    Args:
        text: ``[n_text, D]`` float tensor.
        video: ``[n_video, D]`` float tensor on the same device.
    """

    def __init__(self, text: Any, video: Any):
        self.text, self.video = text, video
        self._local = threading.local()  # one buffer per thread scoring blocks

    def __call__(self, rows: slice, cols: slice, reuse: bool = False) -> Any:
        """Scores of texts ``rows`` x videos ``cols``, ``[r, c]``. With ``reuse`` the block is written into one
        buffer kept between calls (the caller is done with the previous block): a fresh 64 MiB block per call
        costs the kernel's page faults and unmapping, 10% of the product's time at N = 20,000 on CPU."""
        import torch

        a, b = self.text[rows], self.video[cols]
        if not reuse:
            return a @ b.T
        size = a.shape[0] * b.shape[0]
        storage = getattr(self._local, "storage", None)
        if storage is None or storage.numel() < size:
            storage = self._local.storage = torch.empty(size, dtype=torch.result_type(a, b), device=a.device)
        return torch.matmul(a, b.T, out=storage[:size].view(a.shape[0], b.shape[0]))

    def finite(self) -> bool:
        """Every product is a finite number: both sides finite and no dot product can overflow (then no block
        holds a NaN, and counting need not look for one)."""
        import torch

        bound = self.text.abs().amax() * self.video.abs().amax() * self.text.shape[1]
        return bool(torch.isfinite(bound)) and float(bound) < torch.finfo(self.text.dtype).max / 4


def evaluate_model_scores(
    similarity: Callable[[Any, Any], Any],
    text_feats: Any,
    video_feats: Any,
    text_to_video: np.ndarray | None = None,
    *,
    block: int | None = None,
    device: Any = None,
    ties: Ties = "optimistic",
    compat: str | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
    nan: NanPolicy = "worst",
    rerank: Any = (),
    keep_topk: int = 0,
) -> RetrievalResult:
    """Evaluate a model's similarity head over pre-computed features, block by block.

    Args:
        similarity: ``(text_feats_block, video_feats_block) -> [bt, bv]`` logits, e.g. a
            RetrievalModel's ``similarity``; dot-product and pairwise (X-CLIP, cross-encoder) heads alike.
        text_feats: features of all texts: a tensor/array ``[n_text, ...]`` or a tuple, list, dict or
            dataclass of them (sliced along the first axis).
        video_feats: the same for the videos.
        text_to_video, block, device, ties, compat, ks, nan, rerank, keep_topk: as in :func:`stream_ranks`.
    """
    n_text, n_video = feature_count(text_feats), feature_count(video_feats)
    layout = QueryLayout.build(n_text, n_video, text_to_video)
    order = layout.grouping_order() if layout.multi and not layout.contiguous else None
    if order is not None:
        text_feats, layout = take(text_feats, order), layout.permuted(order)

    def score_block(rows: slice, cols: slice) -> Any:
        return similarity(take(text_feats, rows), take(video_feats, cols))

    source = make_source(score_block, layout, block, device)
    options = {"ties": ties, "compat": compat, "ks": ks, "nan": nan, "rerank": rerank, "keep_topk": keep_topk}
    return _stream_in_order(source, order, "scoring features", options)


def _stream_in_order(source: Any, order: Any, description: str, options: dict[str, Any]) -> RetrievalResult:
    """Stream ``source`` whose texts were grouped by ``order`` (None: as given); results in the caller's order."""
    source.text_index = order
    options = {**options, "rerank": remap_rerank(options["rerank"], order)}
    result = run_stream(source, description=description, **options)
    return result if order is None else in_caller_order(result, order)
