"""Helpers of the search tests: a dataset root of tiny solid-colour clips with a manifest, and a
colour encoder whose text and video spaces are aligned ("red" matches red frames), so rankings and
per-frame relevance can be checked exactly without a trained model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from svta.search.encoders import VideoEmbeddings, l2_normalize, pool_frames

COLOURS = {"red": (230, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 230), "yellow": (230, 230, 20)}
SIZE, FRAMES, FPS = 32, 8, 8.0


class ColourEncoder:
    """Text: colour words → an RGB direction. Video: each frame's mean colour (centred). ``dim`` 3."""

    dim = 3
    num_frames = FRAMES

    def spec(self) -> dict[str, Any]:
        return {"name": "test-colour"}

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), 3), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                if word in COLOURS:
                    out[i] += _direction(COLOURS[word])
        return l2_normalize(out)

    def encode_videos(self, paths: Sequence[Path]) -> VideoEmbeddings:
        from svta.video_io import read_clip

        frames = np.zeros((len(paths), FRAMES, 3), dtype=np.float32)
        mask = np.zeros((len(paths), FRAMES), dtype=bool)
        times = np.full((len(paths), FRAMES), np.nan, dtype=np.float32)
        for i, path in enumerate(paths):
            clip = read_clip(path, num_frames=FRAMES)
            n = len(clip.frames)
            frames[i, :n] = l2_normalize(np.stack([_direction(f.reshape(-1, 3).mean(0)) for f in clip.frames]))
            mask[i, :n] = True
            times[i, :n] = clip.times
        return VideoEmbeddings(pool_frames(frames, mask), frames, mask, times)


def _direction(rgb: Any) -> np.ndarray:
    v = np.asarray(rgb, dtype=np.float32) / 255.0
    return v - v.mean() + 1e-3  # centred so that colours, not brightness, decide


def solid(colour: str, frames: int = FRAMES) -> np.ndarray:
    out = np.zeros((frames, SIZE, SIZE, 3), dtype=np.uint8)
    out[:] = COLOURS[colour]
    return out


def write_clip(path: Path, parts: Sequence[str]) -> Path:
    """An mp4 whose frames are the colours of ``parts`` in equal consecutive runs."""
    from svta.video_io import write_mp4

    per = FRAMES // len(parts)
    return write_mp4(path, np.concatenate([solid(c, per) for c in parts]), FPS, preset="ultrafast")


# id, colours over time, category, is_anomaly, caption
CLIPS = [
    ("red1", ["red"], "fighting", True, "two men fight in a red room"),
    ("red2", ["red"], "arson", True, "flames everywhere"),
    ("green1", ["green"], "walking", False, "a person walks on grass"),
    ("blue1", ["blue"], "shopping", False, "a calm blue shop"),
    ("blue2red", ["blue", "blue", "red", "red"], "explosion", True, "<img src=x onerror=alert(1)> a blast"),
    ("yellow1", ["yellow"], "talking", False, None),
]


def make_root(root: Path, clips: Sequence[tuple[Any, ...]] = CLIPS) -> Path:
    """A dataset root with ``videos/<id>.mp4`` and a manifest."""
    from svta.tables import table_path, write_table

    rows = []
    for clip_id, parts, category, is_anomaly, caption in clips:
        write_clip(root / "videos" / f"{clip_id}.mp4", parts)
        rows.append(
            {
                "id": clip_id,
                "caption": caption or "",
                "category": category,
                "is_anomaly": is_anomaly,
                "path": f"videos/{clip_id}.mp4",
                "split": "test",
            }
        )
    write_table(rows, table_path(root, "manifest"), "manifest")
    return root
