"""Frame data for retrieval training and evaluation: manifest splits, a dataset of (caption, sampled frames)
pairs, a resumable epoch sampler that shards batches over ranks; frames are prepared by the model's
:class:`~svta.retrieval.preprocess.FramePreprocess`.

Workers ship uint8 frames (4x less than float); normalisation happens on the training device. A video that
does not decode becomes a *broken* item: collation drops it and the trainer counts it instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from svta.errors import InputError, SvtaError
from svta.tables import read_records, table_path

if TYPE_CHECKING:
    from svta.retrieval.frame_cache import FrameCache
    from svta.retrieval.preprocess import FramePreprocess


@dataclass(frozen=True)
class ClipRecord:
    """One manifest row: a caption and the video it describes (``path`` resolved against the root)."""

    id: str
    caption: str
    path: Path
    category: str
    is_anomaly: bool
    sha256: str | None = None


def read_split(root: Path | str, split: str) -> list[ClipRecord]:
    """The rows of ``<root>/manifest.parquet`` whose ``split`` is ``split``, in table order (validated)."""
    root = Path(root)
    rows = read_records(table_path(root, "manifest"), "manifest")
    return [
        ClipRecord(r["id"], r["caption"], root / r["path"], r["category"], bool(r["is_anomaly"]), r["sha256"])
        for r in rows
        if r["split"] == split
    ]


def decode_clip(
    path: Path, num_frames: int, preprocess: FramePreprocess, sample_fps: float | None = None
) -> tuple[np.ndarray, int]:
    """Sample a clip's frames, resize and crop them with the model's transform.

    Args:
        path: the video.
        num_frames: frames per clip: spread uniformly over the clip (CLIP4Clip ``linspace``), or the cap when
            ``sample_fps`` is given.
        preprocess: the model's frame transform (:attr:`~svta.retrieval.base.RetrievalModel.preprocess`).
        sample_fps: take frames at this rate first (CLIP4Clip MSR-VTT: 1 fps, at most 12).

    Returns:
        ``(frames, n)``: ``[num_frames, size, size, 3]`` uint8, zero after the ``n`` real frames (a clip shorter
        than ``num_frames`` gives all its frames).

    Raises:
        VideoDecodeError: the file is missing or does not decode.
    """
    from svta.video_io import read_frames

    if sample_fps is None:
        frames = read_frames(path, num_frames=num_frames)
    else:
        frames = read_frames(path, sample_fps=sample_fps, max_frames=num_frames)
    frames = preprocess.resize_crop(frames[:num_frames])
    size = preprocess.size
    out = np.zeros((num_frames, size, size, 3), dtype=np.uint8)
    out[: len(frames)] = frames
    return out, len(frames)


class ClipDataset(Dataset):
    """``(caption tokens, sampled frames)`` items over manifest records.

    Args:
        records: the split's rows.
        tokens: ``[N, L]`` token ids of the captions (tokenised once, up front).
        token_mask: ``[N, L]``.
        num_frames: frames per clip (padded and masked when a clip is shorter).
        preprocess: the model's frame transform (side and resampling; normalisation happens on the device).
        sample_fps: optional frame rate to sample at (see :func:`decode_clip`).
        cache: decoded frames to read instead of the videos (see :mod:`svta.retrieval.frame_cache`).
    """

    def __init__(
        self,
        records: Sequence[ClipRecord],
        tokens: torch.Tensor,
        token_mask: torch.Tensor,
        num_frames: int,
        preprocess: FramePreprocess,
        sample_fps: float | None = None,
        cache: FrameCache | None = None,
    ):
        if len(records) != len(tokens):
            raise InputError(f"{len(records)} records but {len(tokens)} tokenised captions")
        self.records, self.tokens, self.token_mask = list(records), tokens, token_mask
        self.num_frames, self.preprocess, self.sample_fps, self.cache = num_frames, preprocess, sample_fps, cache

    @property
    def size(self) -> int:
        """Frame side."""
        return self.preprocess.size

    def __len__(self) -> int:
        return len(self.records)

    def load_frames(self, index: int) -> tuple[np.ndarray, int]:
        """``([T, S, S, 3] uint8, real frame count)`` of item ``index`` (raises VideoDecodeError)."""
        record = self.records[index]
        if self.cache is not None:
            return self.cache.load(record.id)
        return decode_clip(record.path, self.num_frames, self.preprocess, self.sample_fps)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = {"index": index, "tokens": self.tokens[index], "mask": self.token_mask[index]}
        try:
            frames, n = self.load_frames(index)
        except SvtaError as exc:  # VideoDecodeError and friends: reported by the collate, never fatal
            return {**item, "error": str(exc)}
        frame_mask = torch.zeros(self.num_frames, dtype=torch.long)
        frame_mask[:n] = 1
        return {**item, "frames": torch.from_numpy(frames), "frame_mask": frame_mask}


def collate_clips(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the decodable items; broken ones are listed under ``"broken"`` as ``(index, error)``."""
    good = [it for it in items if "error" not in it]
    batch: dict[str, Any] = {"broken": [(it["index"], it["error"]) for it in items if "error" in it]}
    batch["index"] = torch.tensor([it["index"] for it in good], dtype=torch.long)
    for key in ("tokens", "mask", "frames", "frame_mask"):
        batch[key] = torch.stack([it[key] for it in good]) if good else None
    return batch


class EpochBatchSampler(Sampler[list[int]]):
    """Deterministic, resumable batches of one epoch, sharded over ranks.

    The epoch's order is a permutation seeded by ``(seed, epoch)``; global batch ``k`` is positions
    ``[k*G, (k+1)*G)`` of it (``G = per_rank * world``, the remainder is dropped) and rank ``r`` takes slice
    ``r`` of each. ``start`` skips batches already consumed, which is what exact resume needs; ``limit`` caps
    the batches of the epoch.
    """

    def __init__(
        self,
        n: int,
        per_rank: int,
        *,
        world: int = 1,
        rank: int = 0,
        seed: int = 0,
        epoch: int = 0,
        start: int = 0,
        limit: int | None = None,
    ):
        self.n, self.per_rank, self.world, self.rank = n, per_rank, world, rank
        self.seed, self.epoch, self.start, self.limit = seed, epoch, start, limit

    def num_batches(self) -> int:
        full = self.n // (self.per_rank * self.world)
        return full if self.limit is None else min(full, self.limit)

    def __len__(self) -> int:
        return max(0, self.num_batches() - self.start)

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.n, generator=generator).tolist()
        size = self.per_rank * self.world
        for k in range(self.start, self.num_batches()):
            lo = k * size + self.rank * self.per_rank
            yield order[lo : lo + self.per_rank]


def shard_batches(n: int, batch_size: int, world: int = 1, rank: int = 0) -> list[list[int]]:
    """Sequential evaluation batches of this rank's items (``i % world == rank``), the last one may be short."""
    mine = list(range(rank, n, world))
    return [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]


def make_loader(dataset: ClipDataset, batches: Sampler[list[int]] | list[list[int]], workers: int) -> DataLoader:
    """A loader over precomputed batches with ``workers`` decoding processes (0: in-process).

    The loader draws its worker seeds from its own generator, not the global RNG, so creating one (e.g. on
    resume, or for validation) does not shift the random stream training draws from.
    """
    return DataLoader(
        dataset,
        batch_sampler=batches,
        num_workers=workers,
        collate_fn=collate_clips,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=4 if workers > 0 else None,
        generator=torch.Generator().manual_seed(0),
    )
