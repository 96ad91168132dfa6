"""Small learnable video-text datasets for retrieval tests: a coloured square moving in a direction,
captioned with its colour and direction, written as real mp4 files with a manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLORS = {
    "red": (220, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 80, 230),
    "yellow": (230, 220, 40),
    "white": (240, 240, 240),
    "purple": (150, 50, 200),
}
MOTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def render_clip(color: str, motion: str, frames: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``[frames, size, size, 3]`` uint8: a square of ``color`` crossing a dark noisy background."""
    out = rng.integers(0, 40, size=(frames, size, size, 3), dtype=np.uint8)
    side = size // 4
    dx, dy = MOTIONS[motion]
    cx, cy = rng.integers(side, size - 2 * side, size=2)
    travel = size // 2
    for t in range(frames):
        step = int(travel * t / max(1, frames - 1)) - travel // 2
        x = int(np.clip(cx + dx * step, 0, size - side))
        y = int(np.clip(cy + dy * step, 0, size - side))
        out[t, y : y + side, x : x + side] = COLORS[color]
    return out


def make_dataset(
    root: Path, counts: dict[str, int], frames: int = 6, size: int = 48, seed: int = 0, broken: int = 0
) -> list[dict]:
    """Write ``root/videos/*.mp4`` and ``root/manifest.parquet``; ``broken`` train videos are garbage bytes."""
    from svta.tables import write_table
    from svta.video_io import write_mp4

    rng = np.random.default_rng(seed)
    combos = [(c, m) for c in COLORS for m in MOTIONS]
    rows = []
    for offset, (split, count) in enumerate(counts.items()):
        for i in range(count):
            color, motion = combos[(i * 5 + offset * 3) % len(combos)]  # 5 is coprime with the 24 combinations
            clip_id = f"{split}-{i:03d}"
            path = root / "videos" / f"{clip_id}.mp4"
            if split == "train" and i < broken:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"not a video at all")
            else:
                write_mp4(path, render_clip(color, motion, frames, size, rng), fps=8, preset="ultrafast")
            rows.append(
                {
                    "id": clip_id,
                    "caption": f"a {color} square moves {motion}",
                    "category": motion,
                    "is_anomaly": motion in ("left", "up"),
                    "path": f"videos/{clip_id}.mp4",
                    "frames": frames,
                    "fps": 8.0,
                    "width": size,
                    "height": size,
                    "sha256": None,
                    "split": split,
                    "source": "test",
                }
            )
    write_table(rows, root / "manifest.parquet", "manifest")
    return rows


def tiny_train_config(model: str = "clip4clip-meanp", **overrides: object) -> object:
    """The one-epoch fp32 tiny-backbone training config the evaluation tests train with (2 frames, 12 words)."""
    from svta.retrieval.config import TrainConfig

    settings: dict[str, object] = {
        "model": model,
        "backbone": "tiny",
        "max_words": 12,
        "max_frames": 2,
        "batch_size": 4,
        "epochs": 1,
        "num_workers": 0,
        "tensorboard": False,
        "validate_every_epoch": False,
        "precision": "fp32",
    }
    return TrainConfig(**{**settings, **overrides})
