"""Automatic checks of generated clips: black, frozen and near-duplicate clips, and an optional
caption-video agreement score from any scorer callable (e.g. a retrieval model).

Each clip's statistics are measured once, when it is made, and kept in ``videos.quality.jsonl``;
the report ``videos.quality.json`` is rebuilt from them after every run. Flags never delete clips.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from svta.tables import atomic_write_json

STATS_FILE = "videos.quality.jsonl"
REPORT_FILE = "videos.quality.json"
SIGNATURE_FRAMES = 4
SIGNATURE_SIDE = 8
# A scorer takes captions and their clips (uint8 [T, H, W, 3] each) and returns one score per pair.
AgreementScorer = Callable[[list[str], list[np.ndarray]], Sequence[float]]


@dataclass
class ClipStats:
    """What the checks need from one clip.

    Attributes:
        id: The clip id.
        mean: Mean pixel value (0-255) over all frames.
        motion: Mean absolute difference between consecutive frames (0-255).
        signature: Grey 8x8 thumbnails of 4 frames spread over the clip, flattened: float64 ``[256]``, 0-1
            (a list is converted; one array, not 256 Python floats, keeps 41k clips' report at ~85 MB).
        agreement: Caption-video score, when a scorer ran.
    """

    id: str
    mean: float
    motion: float
    signature: np.ndarray
    agreement: float | None = None

    def __post_init__(self) -> None:
        self.signature = np.asarray(self.signature, dtype=np.float64).reshape(-1)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClipStats):
            return NotImplemented
        return self.id == other.id and _same_clip(self, other) and self.agreement == other.agreement

    def to_record(self) -> dict[str, Any]:
        """The JSON line's fields (float64 values give back the floats they were read from, digit for digit)."""
        return {
            "id": self.id,
            "mean": self.mean,
            "motion": self.motion,
            "signature": self.signature.tolist(),
            "agreement": self.agreement,
        }


def clip_stats(clip_id: str, frames: np.ndarray) -> ClipStats:
    """Measure a clip.

    Args:
        clip_id: Its id.
        frames: uint8 ``[T, H, W, 3]``.
    """
    grey = grey_frames(np.asarray(frames))  # [T, H, W]
    motion = float(np.abs(np.diff(grey, axis=0)).mean()) if len(grey) > 1 else 0.0
    picks = np.linspace(0, len(grey) - 1, SIGNATURE_FRAMES).round().astype(int)
    thumbs = [_block_mean(grey[i], SIGNATURE_SIDE) for i in picks]
    signature = (np.concatenate(thumbs) / 255.0).round(4)
    return ClipStats(clip_id, float(grey.mean()), motion, signature)


def grey_frames(frames: np.ndarray) -> np.ndarray:
    """Mean of the three channels, float32: uint8 ``[..., 3]`` -> ``[...]``.

    The same values as ``frames.astype(np.float32).mean(axis=-1)`` (a sum of three uint8 is exact in either
    type, and so is its float32 division by 3) at a tenth of the cost: no float copy of every channel.
    """
    total = frames[..., 0].astype(np.uint16)
    total += frames[..., 1]
    total += frames[..., 2]
    grey = total.astype(np.float32)
    grey /= np.float32(3)
    return grey


def _block_mean(image: np.ndarray, side: int) -> np.ndarray:
    """Average-pool ``[H, W]`` to ``side x side`` (sizes not divisible by ``side`` are cropped first)."""
    h, w = image.shape
    bh, bw = max(1, h // side), max(1, w // side)
    crop = image[: bh * side, : bw * side]
    if crop.shape[0] < side or crop.shape[1] < side:  # tiny frames: sample instead of pooling
        ys = np.linspace(0, h - 1, side).astype(int)
        xs = np.linspace(0, w - 1, side).astype(int)
        return image[np.ix_(ys, xs)].reshape(-1)
    return crop.reshape(side, bh, side, bw).mean(axis=(1, 3)).reshape(-1)


def append_stats(root: Path, stats: Iterable[ClipStats]) -> None:
    """Append stats lines (flushed and fsynced; a torn last line from a crash is skipped on read)."""
    append_lines(Path(root) / STATS_FILE, "".join(json.dumps(s.to_record()) + "\n" for s in stats))


def append_lines(path: Path, lines: str) -> None:
    """Append ``lines`` (newline-terminated) to ``path``, flushed and fsynced; nothing when empty."""
    if not lines:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())


def _same_clip(a: ClipStats, b: ClipStats) -> bool:
    """Whether two records measure the same frames (a clip made again with other frames drops its old score)."""
    return (a.mean, a.motion) == (b.mean, b.motion) and np.array_equal(a.signature, b.signature)


def read_stats(root: Path) -> dict[str, ClipStats]:
    """All recorded stats by id (the latest line per id wins; unreadable lines are skipped)."""
    path = Path(root) / STATS_FILE
    out: dict[str, ClipStats] = {}
    if not path.exists():
        return out
    with open(path, encoding="utf-8") as handle:  # a line at a time: the file is ~2 KB a clip
        for line in handle:
            stats = _parse_stats(line)
            if stats is None:
                continue
            previous = out.get(stats.id)
            if stats.agreement is None and previous is not None and _same_clip(stats, previous):
                stats.agreement = previous.agreement  # re-measured, not re-made: the score still holds
            out[stats.id] = stats
    return out


def _parse_stats(line: str) -> ClipStats | None:
    """One stats line, or None when it is unreadable (a torn last line, a record of another shape)."""
    try:
        return ClipStats(**json.loads(line))
    except (ValueError, TypeError):
        return None


def near_duplicates(
    ids: list[str], signatures: np.ndarray, min_cosine: float, block_bytes: int = 64 * 2**20
) -> list[tuple[str, str, float]]:
    """Pairs of clips whose mean-centred signatures have cosine >= ``min_cosine``.

    Args:
        ids: Clip ids, ``N``.
        signatures: ``[N, D]`` float.
        min_cosine: Threshold.
        block_bytes: Size of one block of similarities: rows are compared a block at a time against the
            rows after them, so memory stays bounded (64 MiB) whatever ``N`` (41,315 clips: 406 rows a block).
    """
    if len(ids) < 2:
        return []
    x = signatures.astype(np.float32)
    x = x - x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.maximum(norms, 1e-6)
    flat = norms[:, 0] < 1e-3  # uniform clips: compare their raw signatures instead
    block = max(1, block_bytes // (4 * len(ids)))
    pairs: list[tuple[str, str, float]] = []
    for start in range(0, len(ids), block):
        sims = x[start : start + block] @ x[start:].T  # [block, N - start]: each pair once, a < b
        rows, cols = np.nonzero(sims >= min_cosine)
        above = cols > rows  # column j is clip start + j, row i clip start + i
        rows, cols = rows[above], cols[above]
        values = sims[rows, cols].tolist()  # Python floats, rounded as before (round(), not np.round)
        pairs.extend(
            (ids[start + i], ids[start + j], round(v, 4)) for i, j, v in zip(rows.tolist(), cols.tolist(), values)
        )
    groups: dict[bytes, list[int]] = {}
    for index in np.nonzero(flat)[0]:  # uniform clips (all one colour) are duplicates when the colour matches
        groups.setdefault(np.round(signatures[index], 2).tobytes(), []).append(int(index))
    for members in groups.values():
        pairs.extend((ids[a], ids[b], 1.0) for k, a in enumerate(members) for b in members[k + 1 :])
    return pairs


def build_report(root: Path, ids: Sequence[str], config: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Flag black, frozen, near-duplicate and low-agreement clips among ``ids`` and write the report.

    Args:
        root: The dataset root (reads ``videos.quality.jsonl``, writes ``videos.quality.json``).
        ids: The clips to check (normally every row of ``videos.parquet``).
        config: A :class:`~svta.videos.config.QualityConfig`.
        extra: More fields for the report (run summary).

    Returns:
        The report as written.
    """
    stats = read_stats(root)
    known = [i for i in ids if i in stats]
    black = [i for i in known if stats[i].mean < config.black_max_mean]
    frozen = [i for i in known if stats[i].motion < config.frozen_max_motion and i not in black]
    signatures = np.array([stats[i].signature for i in known], dtype=np.float32) if known else np.zeros((0, 1))
    dups = near_duplicates(known, signatures, config.duplicate_min_cosine)
    scored = {i: stats[i].agreement for i in known if stats[i].agreement is not None}
    low = []
    if config.min_agreement is not None:
        low = sorted(i for i, score in scored.items() if score < config.min_agreement)
    report = {
        "clips": len(ids),
        "measured": len(known),
        "unmeasured": sorted(set(ids) - set(known)),
        "black": black,
        "frozen": frozen,
        "near_duplicates": [{"a": a, "b": b, "cosine": c} for a, b, c in dups],
        "agreement": {"scored": len(scored), "low": low, "min": config.min_agreement},
        "thresholds": {
            "black_max_mean": config.black_max_mean,
            "frozen_max_motion": config.frozen_max_motion,
            "duplicate_min_cosine": config.duplicate_min_cosine,
        },
        **(extra or {}),
    }
    atomic_write_json(Path(root) / REPORT_FILE, report)
    return report


def problem_counts(report: dict[str, Any]) -> dict[str, int]:
    """How many clips (pairs, for near-duplicates) a quality report flags, per kind, in the order users read them.

    Every kind is a problem a person must look at in a benchmark: a broken, black or frozen clip shows no event,
    a near-duplicate pair puts one clip twice, a low agreement score means the clip may not show its caption.
    ``broken`` is filled only in :func:`svta.videos.generate.check_videos` reports; the agreement kind is there
    only when a floor (``min_agreement``) is set.
    """
    counts = {
        "broken": len(report.get("broken") or []),
        "black": len(report.get("black") or []),
        "frozen": len(report.get("frozen") or []),
        "near-duplicate pair(s)": len(report.get("near_duplicates") or []),
    }
    agreement = report.get("agreement") or {}
    if agreement.get("min") is not None:
        counts["below the agreement floor"] = len(agreement.get("low") or [])
    return counts


def score_agreement(
    root: Path,
    rows: Sequence[dict[str, Any]],
    captions: dict[str, str],
    scorer: AgreementScorer,
    num_frames: int = 8,
    batch_size: int = 32,
) -> dict[str, float]:
    """Score caption-video agreement of clips with ``scorer`` and record the scores.

    Args:
        root: The dataset root.
        rows: ``videos.parquet`` records of the clips to score (``id``, ``path``).
        captions: Caption text by id.
        scorer: Callable ``(captions, clips) -> scores``; clips are uint8 ``[T, H, W, 3]``.
        num_frames: Frames decoded per clip for the scorer.
        batch_size: Clips per scorer call.

    Returns:
        Score by id.
    """
    from svta.video_io import read_frames

    stats = read_stats(root)
    scores: dict[str, float] = {}
    rows = [r for r in rows if r["id"] in captions]
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        clips = [read_frames(Path(root) / r["path"], num_frames=num_frames) for r in batch]
        values = list(scorer([captions[r["id"]] for r in batch], clips))
        if len(values) != len(batch):
            raise ValueError(f"agreement scorer returned {len(values)} scores for {len(batch)} clips")
        scores.update({r["id"]: float(v) for r, v in zip(batch, values)})
    updated = []
    for clip_id, score in scores.items():
        base = stats.get(clip_id)
        if base is not None:
            base.agreement = score
            updated.append(base)
    append_stats(root, updated)
    return scores
