"""Frame resize + centre crop: the model transform's uint8 kernel (PIL's) against torch's float kernel it replaced.

Both run :meth:`FramePreprocess.resize_crop`'s job on the same random uint8 clips in one process, one torch
thread (as in a loader worker); the float kernel is the former path (``float()``, antialiased bicubic, round
to uint8). Also prints how far each is from PIL's ``Image.resize(..., BICUBIC)``.

    .venv/bin/python benchmarks/resize.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

CASES = ((16, 96, 96, 64), (12, 240, 320, 224), (12, 360, 640, 224))  # (frames, height, width, side)


def float_kernel(frames: np.ndarray, size: int) -> np.ndarray:
    """The former path: torch's float antialiased bicubic, rounded to uint8, then the centre crop."""
    import torch
    import torch.nn.functional as F

    from svta.video_io.preprocess import resized_size

    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    new_h, new_w = resized_size(frames.shape[1], frames.shape[2], size)
    x = F.interpolate(x, size=(new_h, new_w), mode="bicubic", align_corners=False, antialias=True)
    top, left = round((new_h - size) / 2.0), round((new_w - size) / 2.0)
    x = x[..., top : top + size, left : left + size]
    return x.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def pil_reference(frames: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    from svta.video_io.preprocess import resized_size

    new_h, new_w = resized_size(frames.shape[1], frames.shape[2], size)
    top, left = round((new_h - size) / 2.0), round((new_w - size) / 2.0)
    out = [np.asarray(Image.fromarray(f).resize((new_w, new_h), Image.Resampling.BICUBIC)) for f in frames]
    return np.stack(out)[:, top : top + size, left : left + size]


def best_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    import torch

    from svta.retrieval.preprocess import openai_preprocess

    torch.set_num_threads(1)
    print(f"{os.cpu_count()} CPUs, 1 torch thread, load average {os.getloadavg()[0]:.1f}")
    rng = np.random.default_rng(0)
    for count, height, width, size in CASES:
        frames = rng.integers(0, 256, (count, height, width, 3), dtype=np.uint8)
        transform = openai_preprocess(size)
        new = best_ms(lambda: transform.resize_crop(frames), args.repeats)  # noqa: B023
        old = best_ms(lambda: float_kernel(frames, size), args.repeats)  # noqa: B023
        pil = pil_reference(frames, size).astype(int)
        new_diff = np.abs(transform.resize_crop(frames) - pil)
        old_diff = np.abs(float_kernel(frames, size) - pil)
        print(
            f"{count} x {height}x{width} -> {size}: uint8 kernel {new:6.2f} ms | float kernel {old:6.2f} ms | "
            f"ratio {old / new:.1f}x | |x - PIL| max/mean: uint8 {new_diff.max()}/{new_diff.mean():.4f}, "
            f"float {old_diff.max()}/{old_diff.mean():.4f}"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
