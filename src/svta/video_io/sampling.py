"""Which frames to read: N frames spread uniformly over a clip (CLIP4Clip's ``linspace`` mode), or
frames at a given rate, by frame count or by real timestamps (variable frame rate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from svta.errors import InputError


def uniform_subsample(items: Sequence[int], n: int) -> list[int]:
    """Keep ``n`` of ``items`` spread uniformly, first and last included (all of them when ``n >= len``).

    CLIP4Clip: ``np.linspace(0, len - 1, num=max_frames, dtype=int)`` — positions truncate toward
    zero, they are not rounded to nearest.
    """
    if n < 1:
        raise InputError(f"number of frames to sample must be >= 1, got {n}")
    if len(items) <= n:
        return list(items)
    positions = np.linspace(0, len(items) - 1, num=n, dtype=int)
    return [int(items[p]) for p in positions]


def sample_frame_indices(
    num_frames_total: int,
    n: int | None,
    mode: Literal["uniform", "fps"] = "uniform",
    fps: float | None = None,
    target_fps: float | None = None,
) -> list[int]:
    """Frame indices to read from a clip of ``num_frames_total`` constant-rate frames.

    Args:
        num_frames_total: frames in the clip.
        n: ``uniform``: how many frames (a clip with fewer frames gives all of them, as in CLIP4Clip,
            which then pads and masks); ``fps``: an optional cap, applied by uniform subsampling of
            the fps-sampled frames (CLIP4Clip's recipe: 1 frame/s, then at most 12).
        mode: ``uniform`` spreads ``n`` indices over ``[0, total - 1]``; ``fps`` takes the frame
            shown at each tick of a ``target_fps`` clock (``floor(k * fps / target_fps)``).
        fps: the clip's frame rate (``fps`` mode).
        target_fps: the sampling rate (``fps`` mode).

    Returns:
        Sorted frame indices. ``uniform`` never repeats one; ``fps`` repeats frames when
        ``target_fps`` exceeds the clip's rate.
    """
    if num_frames_total < 0:
        raise InputError(f"num_frames_total must be >= 0, got {num_frames_total}")
    if mode == "uniform":
        if n is None:
            raise InputError("uniform sampling needs n (the number of frames)")
        return uniform_subsample(range(num_frames_total), n)
    if mode != "fps":
        raise InputError(f"unknown sampling mode {mode!r}; use 'uniform' or 'fps'")
    if not fps or fps <= 0 or not target_fps or target_fps <= 0:
        raise InputError(f"fps sampling needs fps > 0 and target_fps > 0, got fps={fps}, target_fps={target_fps}")
    step = fps / target_fps
    # The epsilon absorbs float error in k * step so that e.g. 30/1 fps lands exactly on 30k.
    count = int(np.floor((num_frames_total - 1) / step + 1e-9)) + 1 if num_frames_total else 0
    indices = [int(np.floor(k * step + 1e-9)) for k in range(count)]
    return uniform_subsample(indices, n) if n is not None else indices


def sample_indices_at_times(times: Sequence[float] | np.ndarray, target_fps: float, n: int | None = None) -> list[int]:
    """Frame indices at each tick of a ``target_fps`` clock, from real frame timestamps.

    A frame is shown from its timestamp until the next one starts, so the tick at time ``t`` takes
    the last frame whose timestamp is ``<= t``. For variable-frame-rate video this keeps the
    samples evenly spaced in time; a long still stretch yields the same index more than once.

    Args:
        times: ``[N]`` seconds of each frame, sorted (the first frame's time is the clock's zero).
        target_fps: ticks per second.
        n: optional cap, applied by uniform subsampling of the ticks.

    Returns:
        Frame indices, non-decreasing.
    """
    if not target_fps or target_fps <= 0:
        raise InputError(f"target_fps must be > 0, got {target_fps}")
    stamps = np.asarray(times, dtype=np.float64)
    if stamps.size == 0:
        return []
    stamps = stamps - stamps[0]
    # Tolerance: a frame whose timestamp is a hair after the tick (timestamp rounding in the
    # container's time base) still counts as shown at the tick.
    gaps = np.diff(stamps)
    tolerance = min(1e-3, 0.25 * float(np.median(gaps))) if gaps.size else 1e-3
    ticks = np.arange(0.0, stamps[-1] + tolerance, 1.0 / target_fps)
    indices = np.searchsorted(stamps, ticks + tolerance, side="right") - 1
    result = [int(i) for i in indices]
    return uniform_subsample(result, n) if n is not None else result
