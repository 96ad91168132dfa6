"""Encoders the search index is built with: a small protocol (texts and videos into one embedding
space), a registry of encoders rebuilt by name from an index's metadata, and a model-free
hashing encoder for plumbing tests and load benchmarks.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from svta.errors import ConfigError
from svta.registry import registry

SEARCH_ENCODERS = registry("search_encoder")


@dataclass
class VideoEmbeddings:
    """Encoded videos.

    Attributes:
        video: ``[N, D]`` float32 L2-normalised clip embeddings (what the index searches).
        frames: ``[N, T, D]`` float32 per-frame embeddings in the text space, zeros where padded (what
            per-frame relevance is computed from). Unit rows, except for models that re-rank from their own
            raw frame features (tightTransf, GRAM).
        frame_mask: ``[N, T]`` bool, True on real frames.
        frame_times: ``[N, T]`` float32 seconds of each sampled frame (NaN where padded or unknown),
            or None when the encoder does not know them.
    """

    video: np.ndarray
    frames: np.ndarray
    frame_mask: np.ndarray
    frame_times: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.video.shape[0])

    def item(self, i: int) -> VideoEmbeddings:
        """The ``i``-th video as a batch of one."""
        times = None if self.frame_times is None else self.frame_times[i : i + 1]
        return VideoEmbeddings(self.video[i : i + 1], self.frames[i : i + 1], self.frame_mask[i : i + 1], times)


@runtime_checkable
class Encoder(Protocol):
    """Texts and videos into one embedding space where a dot product ranks videos for a text.

    Attributes:
        dim: embedding width ``D``.
        num_frames: frames sampled per video ``T``.
    """

    dim: int
    num_frames: int

    def spec(self) -> dict[str, Any]:
        """``{"name": registry name, **options}``: what :func:`create_encoder` rebuilds this encoder from."""
        ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``N`` texts → ``[N, D]`` float32 L2-normalised rows."""
        ...

    def encode_videos(self, paths: Sequence[Path]) -> VideoEmbeddings:
        """Video files → :class:`VideoEmbeddings`; raises ``VideoDecodeError`` naming a file that fails."""
        ...


def encoder_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The keys in which two specs differ, sorted; the device they run on does not change the embedding space."""
    return sorted(k for k in {*a, *b} if k != "device" and a.get(k) != b.get(k))


def same_encoder(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two specs give the same embedding space (the device they run on does not matter)."""
    return not encoder_differences(a, b)


def create_encoder(spec: Mapping[str, Any]) -> Encoder:
    """Build an encoder from ``{"name": ..., **options}`` (as stored in an index's ``index.json``)."""
    options = dict(spec)
    name = options.pop("name", None)
    if not isinstance(name, str):
        raise ConfigError(f"encoder spec {dict(spec)!r} has no 'name'")
    factory = SEARCH_ENCODERS.get(name)
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigError(f"encoder {name!r}: bad options {options!r}: {exc}") from None


def l2_normalize(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Unit rows along ``axis`` (all-zero rows stay zero), float32."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def pool_frames(frames: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Masked mean of unit frame rows, re-normalised: ``[N, T, D]`` + ``[N, T]`` → ``[N, D]`` (CLIP4Clip meanP)."""
    weights = mask.astype(np.float32)[..., None]
    summed = (frames * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
    return l2_normalize(summed)


_WORD = re.compile(r"[a-z0-9]+")


def _bucket(token: str, dim: int) -> tuple[int, float]:
    digest = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")
    return digest % dim, 1.0 if (digest >> 63) & 1 else -1.0


class HashingEncoder:
    """A model-free encoder: signed feature hashing of words and word pairs for texts, a fixed
    random projection of each frame's coarse colour layout for videos.

    Text and video spaces are not aligned, so its rankings carry no meaning: it exists to exercise
    indexing, serving and load tests without a trained model (fast, deterministic, no torch).

    Args:
        dim: embedding width.
        num_frames: frames sampled uniformly per video.
        grid: each frame is averaged down to ``grid × grid`` colour cells before the projection.
        seed: seed of the projection matrix.
    """

    def __init__(self, dim: int = 256, num_frames: int = 8, grid: int = 8, seed: int = 0):
        if dim < 2 or num_frames < 1 or grid < 1:
            raise ConfigError(
                f"hashing encoder needs dim >= 2, num_frames >= 1, grid >= 1 (got {dim}, {num_frames}, {grid})"
            )
        self.dim, self.num_frames, self.grid, self.seed = dim, num_frames, grid, seed

    def spec(self) -> dict[str, Any]:
        return {"name": "hashing", "dim": self.dim, "num_frames": self.num_frames, "grid": self.grid, "seed": self.seed}

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``N`` texts → ``[N, D]`` unit rows (an empty text gives a zero row)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for token in [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]:
                column, sign = _bucket(token, self.dim)
                out[row, column] += sign
        return l2_normalize(out)

    def encode_videos(self, paths: Sequence[Path]) -> VideoEmbeddings:
        """Decode ``num_frames`` frames per file and project their colour layout → :class:`VideoEmbeddings`."""
        from svta.video_io import read_clip

        count, t = len(paths), self.num_frames
        frames = np.zeros((count, t, self.dim), dtype=np.float32)
        mask = np.zeros((count, t), dtype=bool)
        times = np.full((count, t), np.nan, dtype=np.float32)
        projection = _projection(self.grid * self.grid * 3, self.dim, self.seed)
        for i, path in enumerate(paths):
            clip = read_clip(Path(path), num_frames=t)  # at most t frames, spread uniformly
            cells = _colour_layout(clip.frames, self.grid)  # [n, grid*grid*3]
            n = cells.shape[0]
            frames[i, :n] = l2_normalize(cells @ projection)
            mask[i, :n] = True
            times[i, :n] = clip.times[:n]
        return VideoEmbeddings(pool_frames(frames, mask), frames, mask, times)


@lru_cache(maxsize=8)
def _projection(inputs: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((inputs, dim)).astype(np.float32)


def _colour_layout(pixels: np.ndarray, grid: int) -> np.ndarray:
    """``[n, H, W, 3]`` uint8 → ``[n, grid*grid*3]`` cell means centred on zero."""
    n, height, width, _ = pixels.shape
    rows = np.array_split(np.arange(height), grid)
    cols = np.array_split(np.arange(width), grid)
    data = pixels.astype(np.float32) / 255.0 - 0.5
    cells = np.empty((n, grid, grid, 3), dtype=np.float32)
    for r, rr in enumerate(rows):
        band = data[:, rr]
        for c, cc in enumerate(cols):
            cells[:, r, c] = band[:, :, cc].mean(axis=(1, 2)) if len(rr) and len(cc) else 0.0
    return cells.reshape(n, -1)


@SEARCH_ENCODERS.register(
    "hashing", "model-free hashing encoder (plumbing tests, load benchmarks; rankings meaningless)"
)
def _hashing(**options: Any) -> HashingEncoder:
    return HashingEncoder(**options)


@SEARCH_ENCODERS.register("svta-run", "a trained svta retrieval run (runs/<name>/ from svta train)")
def _svta_run(**options: Any) -> Encoder:
    from svta.search.run_encoder import RunEncoder

    return RunEncoder(**options)
