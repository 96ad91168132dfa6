"""Frame-sampling throughput: svta.video_io against CLIP4Clip's OpenCV reader, on the same clips.

CLIP4Clip samples a clip by seeking OpenCV to each wanted frame (``set(CAP_PROP_POS_FRAMES, i)`` +
``read()``), so every sample re-decodes from the preceding keyframe; ``read_frames`` decodes the
clip once, front to back, and stops after the last wanted frame. Both pick the same 12 frames
(``np.linspace(0, n - 1, 12, dtype=int)``); the script checks they return the same pictures.

    .venv/bin/python benchmarks/decode.py [--clips 20 --seconds 5 --fps 30 --size 224 --samples 12]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def make_clips(folder: Path, clips: int, frames: int, size: int, fps: int) -> list[Path]:
    """Moving textured clips (so inter-frame coding does real work), written with write_mp4."""
    from svta.video_io import write_mp4

    rng = np.random.default_rng(0)
    paths = []
    for index in range(clips):
        texture = rng.integers(0, 256, (size, 2 * size, 3), dtype=np.uint8)
        texture = (texture // 32 * 32).astype(np.uint8)  # flat-ish patches: compresses like real video
        shift = 1 + index % 4
        video = np.stack([np.roll(texture, -shift * t, axis=1)[:, :size] for t in range(frames)])
        paths.append(write_mp4(folder / f"clip{index:03d}.mp4", video, fps, crf=23))
    return paths


def clip4clip_frames(path: Path, samples: int) -> np.ndarray:
    """CLIP4Clip-style: OpenCV, one seek + read per sampled frame, BGR -> RGB."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in np.linspace(0, total - 1, num=samples, dtype=int):
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = capture.read()
        if not ok:
            raise RuntimeError(f"{path}: OpenCV could not read frame {index}")
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return np.stack(frames)


def clip4clip_tensor(path: Path, samples: int, size: int):
    """CLIP4Clip's full path: the OpenCV frames above, then CLIP's PIL transform frame by frame."""
    import torch
    from PIL import Image
    from torchvision import transforms

    from svta.retrieval.preprocess import OPENAI_MEAN, OPENAI_STD

    transform = transforms.Compose(
        [
            transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(OPENAI_MEAN, OPENAI_STD),
        ]
    )
    return torch.stack([transform(Image.fromarray(frame)) for frame in clip4clip_frames(path, samples)])


def clips_per_second(readers: list[Callable[[Path], object]], paths: list[Path], repeats: int) -> list[float]:
    """Best-of-``repeats`` clips/s of each reader, passes interleaved so that load from other
    processes hits both alike; one warm-up pass each first (file cache, imports)."""
    for read in readers:
        for path in paths:
            read(path)
    best = [0.0] * len(readers)
    for _ in range(repeats):
        for slot, read in enumerate(readers):
            start = time.perf_counter()
            for path in paths:
                read(path)
            best[slot] = max(best[slot], len(paths) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch

    from svta.retrieval.preprocess import openai_preprocess
    from svta.video_io import load_clip_frames, read_frames

    torch.set_num_threads(1)  # as in DataLoader workers, where loading runs
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_clips(Path(tmp), args.clips, args.seconds * args.fps, args.size, args.fps)
        ours_frames = read_frames(paths[0], num_frames=args.samples)
        theirs_frames = clip4clip_frames(paths[0], args.samples)
        diff = np.abs(ours_frames.astype(int) - theirs_frames.astype(int)).mean()
        print(
            f"{args.clips} clips, {args.seconds * args.fps} frames at {args.size}x{args.size} {args.fps} fps, "
            f"{args.samples} samples per clip, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )
        print(f"same frames check: mean |ours - opencv| = {diff:.2f} levels (colour conversion rounding)")
        rows = [
            ("decode", lambda p: read_frames(p, num_frames=args.samples), lambda p: clip4clip_frames(p, args.samples)),
            (
                "decode+preprocess",
                lambda p: load_clip_frames(p, args.samples, openai_preprocess(args.size)),
                lambda p: clip4clip_tensor(p, args.samples, args.size),
            ),
        ]
        for name, ours, theirs in rows:
            ours_rate, theirs_rate = clips_per_second([ours, theirs], paths, args.repeats)
            print(
                f"{name:18s} svta.video_io {ours_rate:7.1f} clips/s | CLIP4Clip OpenCV seek-per-frame "
                f"{theirs_rate:7.1f} clips/s | ratio {ours_rate / theirs_rate:.2f}x"
            )


if __name__ == "__main__":
    main()
