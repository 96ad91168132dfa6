"""Near-duplicate video detection by frame embeddings that need no model weights: each sampled frame
becomes a small grey thumbnail, mean-centred and L2-normalised (so re-encoding, resizing, brightness and
contrast changes keep it), and a video matches another when its frames, on average, find a close frame there.

Similarity of an evaluation video ``e`` to a training video ``t`` is ``mean_i max_j cos(e_i, t_j)`` over their
frame embeddings: a clip cut from a longer recording scores high against the recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svta.errors import SvtaError
from svta.progress import progress

# A thumbnail whose standard deviation is below this (on the 0-255 scale) is flat (black, fades): it is left
# out, since every flat frame would match every other.
FLAT_STD = 2.0
_GREY = (0.299, 0.587, 0.114)


@dataclass
class FrameSignatures:
    """Frame embeddings of several videos, concatenated.

    Attributes:
        vectors: ``[F, side*side]`` float32 unit rows.
        owner: ``[F]`` index of the video each row belongs to.
        n_videos: videos asked for (some may have no row: ``errors`` says why).
        errors: ``{video index: reason}`` for videos that do not decode or hold only flat frames.
    """

    vectors: np.ndarray
    owner: np.ndarray
    n_videos: int
    errors: dict[int, str]


def frame_signature(path: Path | str, *, sample_fps: float = 1.0, max_frames: int = 16, side: int = 32) -> np.ndarray:
    """Embeddings of a video's frames sampled at ``sample_fps`` (at most ``max_frames``) -> ``[T, side*side]``.

    Flat frames are dropped, so ``T`` may be 0. Raises :class:`~svta.errors.VideoDecodeError`.
    """
    import torch
    import torch.nn.functional as F

    from svta.video_io import read_frames

    frames = read_frames(path, sample_fps=sample_fps, max_frames=max_frames)
    x = torch.from_numpy(np.ascontiguousarray(frames)).float() @ torch.tensor(_GREY)  # [T, H, W]
    small = F.adaptive_avg_pool2d(x[:, None], side)[:, 0].reshape(len(x), -1)
    small = small - small.mean(dim=1, keepdim=True)
    textured = small.std(dim=1) >= FLAT_STD
    return F.normalize(small[textured], dim=1).numpy().astype(np.float32)


def signatures(
    paths: Sequence[Path],
    *,
    sample_fps: float = 1.0,
    max_frames: int = 16,
    side: int = 32,
    workers: int = 2,
    description: str = "frame signatures",
) -> FrameSignatures:
    """:func:`frame_signature` of every video (decoded in ``workers`` threads); failures are recorded, not raised."""

    def one(path: Path) -> np.ndarray | str:
        try:
            vectors = frame_signature(path, sample_fps=sample_fps, max_frames=max_frames, side=side)
        except SvtaError as exc:
            return f"does not decode: {exc}"
        return vectors if len(vectors) else "only flat frames"

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(progress(pool.map(one, paths), description=description, total=len(paths)))
    errors = {i: r for i, r in enumerate(results) if isinstance(r, str)}
    good = [(i, r) for i, r in enumerate(results) if not isinstance(r, str)]
    if not good:
        return FrameSignatures(np.zeros((0, side * side), np.float32), np.zeros(0, np.int64), len(paths), errors)
    vectors = np.concatenate([r for _, r in good])
    owner = np.concatenate([np.full(len(r), i, dtype=np.int64) for i, r in good])
    return FrameSignatures(vectors, owner, len(paths), errors)


def video_matches(
    queries: FrameSignatures,
    gallery: FrameSignatures,
    threshold: float,
    *,
    block_videos: int = 64,
    chunk_frames: int = 16384,
) -> tuple[np.ndarray, np.ndarray, list]:
    """Score every query video against every gallery video, block by block.

    Args:
        queries: frame embeddings of the evaluation videos.
        gallery: frame embeddings of the training videos.
        threshold: similarity at or above which a pair is returned.
        block_videos: query videos scored together (memory ``block x n_gallery`` floats).
        chunk_frames: gallery frames per matrix product.

    Returns:
        ``(best [n_query], best_index [n_query], pairs)``: each query video's best similarity (NaN when it
        has no frames) and the gallery video giving it (-1), and every ``(query, gallery, score)`` at or
        above ``threshold``.
    """
    import torch

    best = np.full(queries.n_videos, np.nan, dtype=np.float32)
    best_index = np.full(queries.n_videos, -1, dtype=np.int64)
    pairs: list[tuple[int, int, float]] = []
    if len(gallery.vectors) == 0 or len(queries.vectors) == 0:
        return best, best_index, pairs
    g_vec, g_own = torch.from_numpy(gallery.vectors), torch.from_numpy(gallery.owner)
    videos = np.unique(queries.owner)
    for start in range(0, len(videos), block_videos):
        block = videos[start : start + block_videos]
        rows = np.flatnonzero(np.isin(queries.owner, block))
        local = torch.from_numpy(np.searchsorted(block, queries.owner[rows]))
        q_vec = torch.from_numpy(queries.vectors[rows])
        # Per query frame, its best frame in each gallery video; then the mean over each query video's frames.
        frame_best = torch.full((len(rows), gallery.n_videos), -1.0)
        for c in range(0, len(g_vec), chunk_frames):
            scores = q_vec @ g_vec[c : c + chunk_frames].T
            owner = g_own[c : c + chunk_frames].expand(len(rows), -1)
            frame_best.scatter_reduce_(1, owner, scores, reduce="amax", include_self=True)
        totals = torch.zeros(len(block), gallery.n_videos).index_add_(0, local, frame_best)
        counts = torch.bincount(local, minlength=len(block)).clamp(min=1)[:, None]
        sim = (totals / counts).numpy()
        sim[:, list(gallery.errors)] = -1.0  # videos without frames never match
        top = sim.argmax(axis=1)
        best[block], best_index[block] = sim[np.arange(len(block)), top], top
        for q, g in zip(*np.nonzero(sim >= threshold)):
            pairs.append((int(block[q]), int(g), float(sim[q, g])))
    return best, best_index, pairs
