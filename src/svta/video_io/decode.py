"""Read selected frames of a video as upright RGB arrays.

Short clips are decoded sequentially in one pass that stops after the last wanted frame (no seek per
frame, which re-decodes from the keyframe each time). Long clips with sparse samples seek to the
keyframe before each target and decode forward from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from svta.errors import InputError, VideoDecodeError
from svta.progress import warn
from svta.video_io._av import (
    DEFAULT_TIMEOUT_S,
    PacketScan,
    deadline_after,
    decode,
    decoder_log,
    demux,
    frame_rotation,
    frame_to_rgb,
    open_video,
    scan_packets,
)
from svta.video_io.sampling import sample_indices_at_times, uniform_subsample

# Above this many frames, a clip is scanned for keyframes and read by seeking when that skips
# decoding; below it one sequential pass is cheaper than the scan.
SEEK_THRESHOLD_FRAMES = 2000


@dataclass
class DecodedClip:
    """Frames read from a video and where they came from.

    Attributes:
        frames: ``[T, H, W, 3]`` uint8 RGB, upright.
        indices: ``[T]`` frame index of each returned frame (display order, 0-based).
        times: ``[T]`` seconds of each frame from the first frame.
        total_frames: frames the selection was drawn from.
        rotation: counter-clockwise degrees applied to make frames upright.
        resampled: True when fewer frames decoded than the container lists, so the selection was
            drawn again over the frames that do decode (``total_frames`` is then that count).
        decoded: frames the decoder produced for this read (its cost; all passes).
    """

    frames: np.ndarray
    indices: list[int]
    times: list[float]
    total_frames: int
    rotation: int
    resampled: bool = False
    decoded: int = 0


@dataclass
class _Walk:
    """Result of one decoding pass: the wanted frames found, and how far the stream went."""

    pixels: dict[int, np.ndarray] = field(default_factory=dict)
    times: dict[int, float] = field(default_factory=dict)
    rotation: int = 0
    decoded: int = 0  # frames decoded in this pass
    all_times: list[float] = field(default_factory=list)  # seconds of every decoded frame (sequential passes only)
    complete: bool = False  # every wanted frame was found


def _validate_request(
    indices: Sequence[int] | None, num_frames: int | None, sample_fps: float | None, max_frames: int | None
) -> None:
    if indices is not None and (num_frames is not None or sample_fps is not None):
        raise InputError("pass either explicit frame indices or num_frames/sample_fps, not both")
    if num_frames is not None and sample_fps is not None:
        raise InputError("pass either num_frames (uniform) or sample_fps, not both; cap fps sampling with max_frames")
    if num_frames is not None and num_frames < 1:
        raise InputError(f"num_frames must be >= 1, got {num_frames}")
    if sample_fps is not None and sample_fps <= 0:
        raise InputError(f"sample_fps must be > 0, got {sample_fps}")
    if max_frames is not None and max_frames < 1:
        raise InputError(f"max_frames must be >= 1, got {max_frames}")
    if indices is not None and any(int(i) < 0 for i in indices):
        raise InputError("frame indices must be >= 0")


def _select(
    total: int,
    times: np.ndarray | None,
    num_frames: int | None,
    sample_fps: float | None,
    max_frames: int | None,
) -> list[int]:
    """Frame indices for a derived selection (uniform, fps, or all), capped by ``max_frames``."""
    if sample_fps is not None:
        assert times is not None
        selection = sample_indices_at_times(times, sample_fps)
    elif num_frames is not None:
        selection = uniform_subsample(range(total), num_frames)
    else:
        selection = list(range(total))
    return uniform_subsample(selection, max_frames) if max_frames is not None else selection


def _walk_sequential(path: Path, container: Any, stream: Any, wanted: set[int], deadline: float | None) -> _Walk:
    """Decode from the start, keeping the frames whose ordinal is in ``wanted``; stop after the last."""
    last = max(wanted)
    walk = _Walk()
    rate = float(stream.average_rate or stream.guessed_rate or 25)
    start = None
    for frame in decode(path, demux(path, container, stream, deadline)):
        index = walk.decoded
        if index == 0:
            walk.rotation = frame_rotation(path, frame)
        walk.decoded += 1
        # Containers without timestamps: fall back to the nominal rate.
        absolute = float(frame.time) if frame.time is not None else index / rate
        start = absolute if start is None else start
        walk.all_times.append(absolute - start)
        if index in wanted:
            walk.pixels[index] = frame_to_rgb(path, frame, walk.rotation)
            walk.times[index] = absolute - start
        if index >= last:
            walk.complete = True
            break
    return walk


def _walk_seeking(
    path: Path, container: Any, stream: Any, wanted: set[int], scan: PacketScan, deadline: float | None
) -> _Walk:
    """Visit the wanted frames by timestamp, seeking to the keyframe before a target whenever that
    keyframe lies beyond the frames already decoded, and decoding forward otherwise."""
    order = sorted(wanted)
    targets = scan.pts[order]
    walk = _Walk()
    frames = None
    position = None  # pts of the last decoded frame
    sought = None  # keyframe of the last seek: never seek to it twice (open-GOP frames precede it)
    t = 0
    while t < len(order):
        slot = max(int(np.searchsorted(scan.keyframe_pts, targets[t], side="right")) - 1, 0)
        key = int(scan.keyframe_pts[slot])
        if frames is None or (key != sought and position is not None and key > position):
            container.seek(key, stream=stream, backward=True, any_frame=False)
            frames, sought = decode(path, demux(path, container, stream, deadline)), key
        frame = next(frames, None)
        if frame is None or frame.pts is None:
            return walk
        if walk.decoded == 0:
            walk.rotation = frame_rotation(path, frame)
        walk.decoded += 1
        position = frame.pts
        if frame.pts > targets[t]:
            return walk  # the target never came out of the decoder: the sequential pass decides
        while t < len(order) and frame.pts == targets[t]:
            walk.pixels[order[t]] = frame_to_rgb(path, frame, walk.rotation)
            walk.times[order[t]] = float((frame.pts - scan.pts[0]) * scan.time_base)
            t += 1
    walk.complete = True
    return walk


def _walk(path: Path, wanted: set[int], scan: PacketScan | None, deadline: float | None, strict: bool) -> _Walk:
    """One decoding pass: by seeking when a keyframe scan is given, else (or if that falls short)
    sequentially from the start."""
    if scan is not None and scan.has_pts and scan.keyframe_pts.size:
        with open_video(path, threads=not strict) as (container, stream), decoder_log(path, strict):
            walk = _walk_seeking(path, container, stream, wanted, scan, deadline)
        if walk.complete:
            return walk
    with open_video(path, threads=not strict) as (container, stream), decoder_log(path, strict):
        return _walk_sequential(path, container, stream, wanted, deadline)


def _plan(
    path: Path,
    total: int,
    scan: PacketScan | None,
    indices: Sequence[int] | None,
    num_frames: int | None,
    sample_fps: float | None,
    max_frames: int | None,
) -> list[int]:
    """The frame indices to read, checked against the frame count."""
    if total == 0:
        raise VideoDecodeError(path, "the video stream has no frames")
    if indices is None:
        return _select(total, scan.times() if scan is not None else None, num_frames, sample_fps, max_frames)
    selection = [int(i) for i in indices]
    selection = uniform_subsample(selection, max_frames) if max_frames is not None else selection
    if not selection:
        raise InputError("indices is empty: nothing to read")
    if max(selection) >= total:
        raise VideoDecodeError(path, f"frame index {max(selection)} out of range: the video has {total} frames")
    return selection


def _assemble(path: Path, walk: _Walk, selection: list[int], total: int, resampled: bool, cost: int) -> DecodedClip:
    shapes = {pixels.shape for pixels in walk.pixels.values()}
    if len(shapes) > 1:
        raise VideoDecodeError(path, f"frame size changes mid-stream ({sorted(shapes)})")
    frames = np.stack([walk.pixels[i] for i in selection])
    times = [walk.times[i] for i in selection]
    return DecodedClip(frames, list(selection), times, total, walk.rotation, resampled, cost)


def read_clip(
    path: Path | str,
    indices: Sequence[int] | None = None,
    *,
    num_frames: int | None = None,
    sample_fps: float | None = None,
    max_frames: int | None = None,
    strict: bool = False,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    seek_threshold: int = SEEK_THRESHOLD_FRAMES,
) -> DecodedClip:
    """Read selected frames and report which ones were read (see :func:`read_frames` for the
    selection arguments).

    Args:
        strict: also fail when FFmpeg logs a decoding error (concealed damage); decodes on one thread.
        timeout_s: wall-clock limit for the whole read (``None``: none).
        seek_threshold: clips with more frames than this are read by seeking between sparse targets.

    Returns:
        The frames, their indices and timestamps.
    """
    _validate_request(indices, num_frames, sample_fps, max_frames)
    path = Path(path)
    deadline = deadline_after(timeout_s)
    walk = None
    with open_video(path, threads=not strict) as (container, stream), decoder_log(path, strict):
        claimed = int(stream.frames or 0)
        if sample_fps is None and 0 < claimed <= seek_threshold:
            # Short clip with a known frame count: plan and decode in this one open, one pass.
            total, scan = claimed, None
            selection = _plan(path, total, scan, indices, num_frames, sample_fps, max_frames)
            walk = _walk_sequential(path, container, stream, set(selection), deadline)
        else:
            scan = scan_packets(path, container, stream, deadline)
            total = scan.frames
    if walk is None:
        selection = _plan(path, total, scan, indices, num_frames, sample_fps, max_frames)
        walk = _walk(path, set(selection), scan if total > seek_threshold else None, deadline, strict)
    if walk.complete:
        return _assemble(path, walk, selection, total, resampled=False, cost=walk.decoded)
    # The stream ended early: fewer frames decode than the container lists.
    if walk.decoded == 0:
        raise VideoDecodeError(path, f"no frame decodes (the container lists {total})")
    if indices is not None:
        raise VideoDecodeError(
            path, f"frame {max(selection)} requested but only {walk.decoded} of {total} frames decode"
        )
    selection = _select(walk.decoded, np.asarray(walk.all_times), num_frames, sample_fps, max_frames)
    retry = _walk(path, set(selection), None, deadline, strict)
    if not retry.complete:
        raise VideoDecodeError(path, f"decoding stopped early twice ({retry.decoded} of {total} frames)")
    warn(f"{path}: only {walk.decoded} of {total} frames decode; sampled over those")
    return _assemble(path, retry, selection, walk.decoded, resampled=True, cost=walk.decoded + retry.decoded)


def read_frames(
    path: Path | str,
    indices: Sequence[int] | None = None,
    *,
    num_frames: int | None = None,
    sample_fps: float | None = None,
    max_frames: int | None = None,
    strict: bool = False,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
) -> np.ndarray:
    """Read frames of a video as upright RGB.

    Selection (at most one of ``indices`` / ``num_frames`` / ``sample_fps``; none means every frame):

    - ``indices``: these frame indices (display order, 0-based), in the order given.
    - ``num_frames``: that many frames spread uniformly over the clip (CLIP4Clip's ``linspace``);
      a clip with fewer frames returns all of them.
    - ``sample_fps``: the frame shown at each tick of a clock at this rate, from real timestamps
      (correct for variable-frame-rate video).
    - ``max_frames``: a cap on any of the above, by uniform subsampling (CLIP4Clip: 1 fps, max 12).

    If the stream ends before the container's frame count (frames that do not decode), a derived
    selection is drawn again over the frames that do decode, with a warning (see
    :func:`read_clip`'s ``resampled``); explicit ``indices`` past the end raise instead.

    Args:
        path: the video file.
        indices: explicit frame indices.
        num_frames: uniform sample size.
        sample_fps: sampling rate in frames per second.
        max_frames: cap on the number of frames returned.
        strict: also fail when FFmpeg logs a decoding error (concealed damage).
        timeout_s: wall-clock limit (``None``: none).

    Returns:
        ``[T, H, W, 3]`` uint8 RGB frames, rotated upright when the file carries a display rotation.

    Raises:
        VideoDecodeError: the file is missing, empty, not a video, truncated or corrupt, or no
            frame decodes; never returns placeholder (black) frames for frames it could not read.
        InputError: contradictory or invalid selection arguments.
    """
    clip = read_clip(
        path,
        indices,
        num_frames=num_frames,
        sample_fps=sample_fps,
        max_frames=max_frames,
        strict=strict,
        timeout_s=timeout_s,
    )
    return clip.frames
