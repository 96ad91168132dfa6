"""Decoded frame → RGB: svta's kept single-threaded converter against PyAV's ``frame.to_ndarray(format="rgb24")``.

``to_ndarray(format=...)`` reformats through a new scaler context for every frame (and, on PyAV ≥ 14, a scaler
thread per CPU); svta keeps one single-threaded converter per thread (``svta.video_io._av.frame_to_rgb``). Both
convert the same decoded yuv420p frames, clip by clip as svta reads them; the script checks the pixels are equal
and prints the conversion time per frame (decoding not counted).

    .venv/bin/python benchmarks/rgb_convert.py [--clips 1.0 --repeats 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

# (height, width, clips): the scale config's clips, CLIP's input size, a 360p video; 16 frames a clip
SIZES = ((96, 96, 200), (224, 224, 50), (360, 640, 20))
FRAMES = 16


def make_clips(folder: Path, height: int, width: int, clips: int) -> list[Path]:
    from svta.video_io import write_mp4

    rng = np.random.default_rng(0)
    paths = []
    for index in range(clips):
        texture = (rng.integers(0, 256, (height, 2 * width, 3), dtype=np.uint8) // 32 * 32).astype(np.uint8)
        video = np.stack([np.roll(texture, -2 * t, axis=1)[:, :width] for t in range(FRAMES)])
        paths.append(write_mp4(folder / f"{height}x{width}-{index:03d}.mp4", video, 8, crf=23))
    return paths


def convert_clips(paths: list[Path], convert) -> tuple[float, list[np.ndarray]]:
    """Decode every clip (one container at a time, as svta reads clips) and convert each frame as it comes;
    returns the seconds spent converting and the RGB frames."""
    import av

    seconds, out = 0.0, []
    for path in paths:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                start = time.perf_counter()
                out.append(convert(frame))
                seconds += time.perf_counter() - start
    return seconds, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=float, default=1.0, help="scale the number of clips per size")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from svta.video_io._av import frame_to_rgb

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("| frames | PyAV to_ndarray(rgb24) | svta frame_to_rgb | ratio | pixels equal |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for height, width, clips in SIZES:
            paths = make_clips(Path(tmp), height, width, max(1, round(clips * args.clips)))
            pyav = svta = float("inf")
            for _ in range(args.repeats):  # interleaved, best of each
                seconds, expected = convert_clips(paths, lambda f: f.to_ndarray(format="rgb24"))
                pyav = min(pyav, seconds)
                seconds, got = convert_clips(paths, lambda f: frame_to_rgb(Path("clip"), f, 0))
                svta = min(svta, seconds)
            equal = all(np.array_equal(a, b) for a, b in zip(expected, got))
            n = len(expected)
            print(
                f"| {len(paths)} clips × {FRAMES} × {height}×{width} | {1e6 * pyav / n:.0f} µs | {1e6 * svta / n:.0f} µs "
                f"| **{pyav / svta:.1f}×** | {equal} |"
            )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
