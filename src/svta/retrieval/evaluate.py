"""The model-level evaluation core under :func:`svta.eval.evaluate`: encode an evaluation set once
(:func:`encode_set`) and rank its features with the streaming engine (:func:`rank_features`); the trainer's
per-epoch evaluation (:func:`evaluate_dataset`) and the set evaluation of :mod:`svta.transfer.evaluate` use the
same two steps.

Every caption and every video is encoded once (sharded over ranks under torchrun); similarity blocks are
then streamed from the model's ``similarity`` into :func:`svta.eval.streaming.stream_ranks`, so the full
``N x N`` matrix is never held. Captions of one video (same ``path``) form a caption group. A video that
does not decode is left out together with its captions, and counted.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from svta.errors import InputError
from svta.progress import progress, warn
from svta.retrieval.base import RetrievalModel, TextFeatures, VideoFeatures
from svta.retrieval.data import ClipDataset, ClipRecord, make_loader, read_split, shard_batches
from svta.retrieval.distributed import DistContext, broadcast_object, gather_objects
from svta.retrieval.model_source import load_model, recorded_root, run_weights
from svta.retrieval.model_source import run_root as run_root  # re-exported: older callers import it from here

if TYPE_CHECKING:
    from svta.eval.config import Ties

# A cross encoder runs a forward pass per pair, so its similarity blocks stay small to bound activation
# memory; dot-product heads use the engine's default block.
PAIRWISE_BLOCK = 32


@dataclass
class EvalReport:
    """The outcome of one evaluation.

    Attributes:
        metrics: ``{"t2v": {...}, "v2t": {...}}`` exactly as ``svta eval metrics --json`` prints them.
        split: the evaluated split.
        n_texts: captions evaluated.
        n_videos: videos evaluated.
        skipped: ``{video id: error}`` for videos left out because they do not decode.
        seconds: wall time.
    """

    metrics: dict[str, Any]
    split: str
    n_texts: int
    n_videos: int
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    # For breakdowns and figures (not serialised): the engine's result with per-query ranks, and the
    # manifest records of its text queries and video candidates, in the result's index order.
    result: Any = field(default=None, repr=False, compare=False)
    text_records: list[Any] = field(default_factory=list, repr=False, compare=False)
    video_records: list[Any] = field(default_factory=list, repr=False, compare=False)

    def to_json_dict(self) -> dict[str, Any]:
        """The metrics plus provenance: ``split``, counts and skipped videos."""
        return {
            **self.metrics,
            "split": self.split,
            "n_texts": self.n_texts,
            "n_videos": self.n_videos,
            "skipped_videos": len(self.skipped),
            "eval_seconds": round(self.seconds, 3),
        }


def autocast_context(device: torch.device, dtype: torch.dtype | None) -> Any:
    """``torch.autocast`` for ``dtype`` on ``device``, or a no-op for full precision."""
    if dtype is None or dtype == torch.float32:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@torch.no_grad()
def encode_texts(
    model: RetrievalModel,
    tokens: torch.Tensor,
    mask: torch.Tensor,
    device: torch.device,
    batch_size: int,
    amp_dtype: torch.dtype | None = None,
) -> TextFeatures:
    """Encode ``[N, L]`` token ids in batches -> features on CPU."""
    parts = []
    for start in range(0, len(tokens), batch_size):
        with autocast_context(device, amp_dtype):
            rows = slice(start, start + batch_size)
            feats = model.encode_text(tokens[rows].to(device), mask[rows].to(device))
        parts.append(feats.map(lambda t: t.float() if t.is_floating_point() else t).to("cpu"))
    return TextFeatures.cat(parts)


@torch.no_grad()
def encode_videos(
    model: RetrievalModel,
    dataset: ClipDataset,
    ctx: DistContext,
    batch_size: int,
    workers: int,
    amp_dtype: torch.dtype | None = None,
) -> tuple[VideoFeatures, np.ndarray, dict[int, str]]:
    """Encode every item of ``dataset`` (this rank's share, then gathered) -> features on CPU.

    Returns:
        ``(features, indices, broken)``: features of the decodable items, their dataset indices (ascending),
        and ``{index: error}`` for items that do not decode.
    """
    batches = shard_batches(len(dataset), batch_size, ctx.world_size, ctx.rank)
    parts, indices, broken = [], [], {}
    loader = make_loader(dataset, batches, workers)
    count = lambda batch: len(batch["index"]) + len(batch["broken"])  # noqa: E731 - videos, not batches
    for batch in progress(loader, description="encoding videos", total=sum(map(len, batches)), count=count):
        broken.update(dict(batch["broken"]))
        if batch["frames"] is None:
            continue
        frame_mask = batch["frame_mask"].to(ctx.device)
        frames = model.preprocess.normalize(batch["frames"].to(ctx.device, non_blocking=True), frame_mask)
        with autocast_context(ctx.device, amp_dtype):
            feats = model.encode_video(frames, frame_mask)
        parts.append(feats.map(lambda t: t.float() if t.is_floating_point() else t).to("cpu"))
        indices.append(batch["index"])
    local = (VideoFeatures.cat(parts), torch.cat(indices) if indices else torch.zeros(0, dtype=torch.long), broken)
    shards = gather_objects(ctx, local)
    all_broken = {index: error for _, _, errors in shards for index, error in errors.items()}
    shards = [s for s in shards if len(s[1])]
    if not shards:
        return VideoFeatures(), np.zeros(0, dtype=np.int64), all_broken
    kept = torch.cat([s[1] for s in shards])
    order = kept.argsort()
    return VideoFeatures.cat([s[0] for s in shards])[order], kept[order].numpy(), all_broken


def video_groups(records: list[ClipRecord]) -> tuple[list[int], np.ndarray]:
    """One entry per distinct video file: ``(first record index of each video, [n_text] video of each text)``."""
    video_of_path: dict[Path, int] = {}
    representatives: list[int] = []
    text_to_video = np.empty(len(records), dtype=np.int64)
    for i, record in enumerate(records):
        if record.path not in video_of_path:
            video_of_path[record.path] = len(representatives)
            representatives.append(i)
        text_to_video[i] = video_of_path[record.path]
    return representatives, text_to_video


@dataclass
class EncodedSet:
    """Every caption and video of an evaluation set encoded once, ready to be ranked (whole or in subsets).

    Attributes:
        videos: the set's distinct videos (one record per video file).
        texts: record indices of the evaluated captions, grouped by video (each video's captions contiguous).
        kept: indices into ``videos`` of the videos that decode, ascending.
        text_to_video: ``[len(texts)]`` position in ``kept`` of each caption's video.
        text_feats: caption features (``None`` off the main rank).
        video_feats: features of the ``kept`` videos.
        broken: ``{index into videos: error}`` of the videos that do not decode.
    """

    videos: ClipDataset
    texts: np.ndarray
    kept: np.ndarray
    text_to_video: np.ndarray
    text_feats: TextFeatures | None
    video_feats: VideoFeatures
    broken: dict[int, str]


def encode_set(
    model: RetrievalModel,
    dataset: ClipDataset,
    ctx: DistContext,
    *,
    batch_size: int,
    workers: int,
    amp_dtype: torch.dtype | None = None,
    text_batch_size: int | None = None,
) -> EncodedSet:
    """Encode each distinct video of ``dataset`` once (sharded over ranks) and, on the main rank, the captions
    of the videos that decode (``text_batch_size``, default ``4 * batch_size``, per batch)."""
    representatives, text_to_video = video_groups(dataset.records)
    videos = _subset(dataset, representatives)
    video_feats, kept, broken = encode_videos(model, videos, ctx, batch_size, workers, amp_dtype)
    # The engine wants each video's captions as one contiguous run: order the texts by video.
    texts = np.flatnonzero(np.isin(text_to_video, kept))
    texts = texts[np.argsort(text_to_video[texts], kind="stable")]
    text_feats = None
    if ctx.is_main:
        text_feats = encode_texts(
            model,
            dataset.tokens[texts],
            dataset.token_mask[texts],
            ctx.device,
            text_batch_size or batch_size * 4,
            amp_dtype,
        )
    return EncodedSet(videos, texts, kept, np.searchsorted(kept, text_to_video[texts]), text_feats, video_feats, broken)


def rank_features(
    model: RetrievalModel,
    text_feats: TextFeatures,
    video_feats: VideoFeatures,
    text_to_video: np.ndarray,
    device: torch.device,
    *,
    amp_dtype: torch.dtype | None = None,
    ties: str = "optimistic",
    compat: str | None = None,
    rerank_tail: str | None = None,
    keep_topk: int = 0,
    description: str = "scoring",
) -> Any:
    """Stream ``model.similarity`` over the features into :func:`svta.eval.streaming.stream_ranks`.

    A model with a second stage (``rerank_k > 0``, GRAM) has each query's top-k re-scored by its ``rerank``;
    ``rerank_tail`` (``keep`` | ``zero``) overrides the model's policy for the candidates beyond the top-k.

    Returns:
        The engine's :class:`~svta.eval.metrics.RetrievalResult`.
    """
    from svta.eval.streaming import stream_ranks
    from svta.retrieval.second_stage import model_rescorer

    def score_block(rows: slice, cols: slice) -> torch.Tensor:
        with torch.no_grad(), autocast_context(device, amp_dtype):
            return model.similarity(text_feats[rows].to(device), video_feats[cols].to(device)).float()

    rescore = model_rescorer(model, text_feats, video_feats, device, tail=rerank_tail, amp_dtype=amp_dtype)
    return stream_ranks(
        score_block,
        len(text_to_video),
        len(video_feats),
        text_to_video,
        PAIRWISE_BLOCK if model.pairwise else None,
        ties=ties,  # type: ignore[arg-type]
        compat=compat,
        device=device,
        description=description,
        rerank=rescore or (),
        keep_topk=keep_topk,
    )


def evaluate_dataset(
    model: RetrievalModel,
    dataset: ClipDataset,
    ctx: DistContext,
    split: str,
    *,
    batch_size: int = 32,
    workers: int = 0,
    amp_dtype: torch.dtype | None = None,
    ties: Ties = "optimistic",
    compat: str | None = None,
    rerank_tail: str | None = None,
    keep_topk: int = 0,
) -> EvalReport:
    """Evaluate ``model`` on ``dataset`` (captions and videos of one split). Collective under torchrun.

    The model-level core under :func:`svta.eval.evaluate` (and the trainer's per-epoch evaluation):
    :func:`encode_set`, then :func:`rank_features` over every caption and video. ``keep_topk`` keeps each text
    query's top videos in the result (for qualitative figures).

    Returns:
        The report on every rank (metrics computed on rank 0 and broadcast).
    """
    start = time.perf_counter()
    was_training = model.training
    model.eval()
    encoded = encode_set(model, dataset, ctx, batch_size=batch_size, workers=workers, amp_dtype=amp_dtype)
    videos, kept = encoded.videos, encoded.kept
    skipped = {videos.records[i].id: error for i, error in encoded.broken.items()}
    if skipped:
        warn(f"{split}: {len(skipped)} video(s) do not decode; left out of the evaluation with their captions")
    report = None
    if ctx.is_main:
        assert encoded.text_feats is not None
        result = rank_features(
            model,
            encoded.text_feats,
            encoded.video_feats,
            encoded.text_to_video,
            ctx.device,
            amp_dtype=amp_dtype,
            ties=ties,
            compat=compat,
            rerank_tail=rerank_tail,
            keep_topk=keep_topk,
            description=f"scoring {split}",
        )
        report = EvalReport(
            result.to_dict(),
            split,
            len(encoded.texts),
            len(kept),
            skipped,
            time.perf_counter() - start,
            result=result if keep_topk else None,
            text_records=[dataset.records[i] for i in encoded.texts] if keep_topk else [],
            video_records=[videos.records[i] for i in kept] if keep_topk else [],
        )
    model.train(was_training)
    return broadcast_object(ctx, report)


def _subset(dataset: ClipDataset, indices: list[int]) -> ClipDataset:
    return ClipDataset(
        [dataset.records[i] for i in indices],
        dataset.tokens[indices],
        dataset.token_mask[indices],
        dataset.num_frames,
        dataset.preprocess,
        dataset.sample_fps,
        dataset.cache,
    )


def build_dataset(
    root: Path | str,
    split: str,
    model: RetrievalModel,
    *,
    num_frames: int | None = None,
    sample_fps: float | None = None,
    cache: Any = None,
) -> ClipDataset:
    """The ``split`` of ``root`` prepared for ``model`` (its words, frame count and frame transform)."""
    from svta.retrieval.tokenizer import tokenize

    records = read_split(root, split)
    if not records:
        raise InputError(f"{Path(root) / 'manifest.parquet'}: split {split!r} has no rows")
    tokens, mask = tokenize([r.caption for r in records], model.max_words)
    return ClipDataset(records, tokens, mask, num_frames or model.max_frames, model.preprocess, sample_fps, cache)


def evaluate_model(
    model: RetrievalModel,
    root: Path | str,
    split: str = "test",
    *,
    ctx: DistContext | None = None,
    batch_size: int = 32,
    workers: int = 0,
    num_frames: int | None = None,
    sample_fps: float | None = None,
    ties: Ties = "optimistic",
    compat: str | None = None,
    rerank_tail: str | None = None,
    keep_topk: int = 0,
    cache_dir: Path | str | None = None,
) -> EvalReport:
    """Evaluate ``model`` on ``split`` of the dataset at ``root`` (model on ``ctx.device``, CPU by default).

    ``cache_dir``: a frame cache root (:mod:`svta.retrieval.frame_cache`); when it already holds frames sampled
    as this evaluation samples them, they are read from it (clips missing or changed are decoded into it) rather
    than decoded again: the same frames, so the same metrics.
    """
    ctx = ctx or DistContext(device=next(model.parameters()).device)
    dataset = build_dataset(root, split, model, num_frames=num_frames, sample_fps=sample_fps)
    if cache_dir is not None:
        dataset.cache = existing_frame_cache(cache_dir, dataset, workers)
    if dataset.cache is not None:
        workers = 0  # the frames are decoded already: reading a row needs no process (nor its copy of memory)
    return evaluate_dataset(
        model,
        dataset,
        ctx,
        split,
        batch_size=batch_size,
        workers=workers,
        ties=ties,
        compat=compat,
        rerank_tail=rerank_tail,
        keep_topk=keep_topk,
    )


def existing_frame_cache(cache_dir: Path | str, dataset: ClipDataset, workers: int = 0) -> Any:
    """The frame cache under ``cache_dir`` for ``dataset``'s sampling, brought up to date for its records;
    ``None`` when no such cache exists yet (evaluation does not start one)."""
    from svta.retrieval.frame_cache import build_frame_cache, cache_directory

    directory = cache_directory(cache_dir, dataset.num_frames, dataset.preprocess, dataset.sample_fps)
    if not (directory / "index.json").is_file():
        return None
    threads = torch.get_num_threads() if workers == 0 else 1
    return build_frame_cache(
        cache_dir, dataset.records, dataset.num_frames, dataset.preprocess, dataset.sample_fps, workers, threads
    )


def evaluate_checkpoint(
    path: Path | str,
    root: Path | str,
    split: str = "test",
    *,
    model_name: str | None = None,
    device: str | None = None,
    max_frames: int | None = None,
    max_words: int | None = None,
    model_args: dict[str, Any] | None = None,
    **options: Any,
) -> EvalReport:
    """Deprecated: ``svta.eval.evaluate(path, root, split=...)``. Evaluate a weight file on ``split`` of ``root``
    (settings of the run holding it, see :func:`svta.retrieval.model_source.load_model`)."""
    _deprecated("evaluate_checkpoint(path, root, split)", "svta.eval.evaluate(path, root, split=split)")
    return _evaluate_source(
        path,
        root,
        split,
        model_name=model_name,
        device=device,
        max_frames=max_frames,
        max_words=max_words,
        model_args=model_args,
        **options,
    )


def evaluate_run(
    run_dir: Path | str,
    root: Path | str | None = None,
    split: str = "test",
    *,
    device: str | None = None,
    **options: Any,
) -> EvalReport:
    """Deprecated: ``svta.eval.evaluate(run_dir, root, split=...)``. Evaluate a training run's selected weights
    (``best_model.bin``) on ``split`` (default root: the run's)."""
    _deprecated("evaluate_run(run_dir, root, split)", "svta.eval.evaluate(run_dir, root, split=split)")
    run_weights(run_dir)
    return _evaluate_source(run_dir, root or recorded_root(run_dir), split, device=device, **options)


def _evaluate_source(
    source: Path | str,
    root: Path | str | None,
    split: str,
    *,
    model_name: str | None = None,
    device: str | None = None,
    max_frames: int | None = None,
    max_words: int | None = None,
    model_args: dict[str, Any] | None = None,
    sample_fps: float | None = None,
    **options: Any,
) -> EvalReport:
    """Load ``source`` (a run folder or weight file) and evaluate it on ``split`` of ``root``."""
    loaded = load_model(
        source,
        model_name=model_name,
        max_frames=max_frames,
        max_words=max_words,
        sample_fps=sample_fps,
        model_args=model_args,
        device=device,
    )
    if root is None:
        raise InputError(f"{source}: no dataset root recorded; give one")
    model = loaded.model
    return evaluate_model(
        model,
        root,
        split,
        ctx=DistContext(device=next(model.parameters()).device),
        sample_fps=loaded.sample_fps,
        **options,
    )


def _deprecated(old: str, new: str) -> None:
    import warnings

    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=3)
