"""What a video file holds (frames, rate, duration, size, codec, rotation, variable rate) and whether
it decodes end to end; plus the file hash recorded in ``videos.parquet``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from svta.errors import InputError, VideoDecodeError
from svta.video_io._av import (
    DEFAULT_TIMEOUT_S,
    PacketRecorder,
    PacketScan,
    deadline_after,
    decode,
    decoder_log,
    frame_rotation,
    open_video,
)

# File name suffixes svta treats as videos when it scans a folder.
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")


@dataclass(frozen=True)
class VideoInfo:
    """A video's stream facts.

    Attributes:
        path: the file.
        frames: number of frames (video packets in the file; decoded frames for ``check_decodable``).
        fps: average frame rate (exact for constant-rate files).
        duration: seconds, from the first frame's timestamp to the end of the last frame.
        width: width of the upright picture (after ``rotation`` is applied), as ``read_frames`` returns it.
        height: height of the upright picture.
        codec: FFmpeg decoder name (``h264``, ``hevc``, ``mpeg4``, ...).
        rotation: counter-clockwise degrees (0/90/180/270) the display matrix asks for; frames
            returned by ``read_frames`` already have it applied.
        vfr: True when frame durations vary by more than 5% (timestamps are then used for fps sampling).
    """

    path: Path
    frames: int
    fps: float
    duration: float
    width: int
    height: int
    codec: str
    rotation: int
    vfr: bool


def is_variable_rate(scan: PacketScan) -> bool:
    """Whether frame durations vary by more than 5% (or 2 ticks of timestamp rounding)."""
    if not scan.has_pts or scan.frames < 3:
        return False
    gaps = np.diff(scan.pts)
    typical = float(np.median(gaps))
    return bool(np.max(np.abs(gaps - typical)) > max(2.0, 0.05 * typical))


def _duration(container: Any, stream: Any, scan: PacketScan) -> float:
    if scan.has_pts and scan.frames:
        return float((scan.end_pts - scan.pts[0]) * scan.time_base)
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    rate = float(stream.average_rate or stream.guessed_rate or 0)
    return scan.frames / rate if rate else 0.0


def build_info(path: Path, container: Any, stream: Any, scan: PacketScan, first_frame: Any) -> VideoInfo:
    """A :class:`VideoInfo` from a packet scan and the first decoded frame."""
    rotation = frame_rotation(path, first_frame)
    width, height = first_frame.width, first_frame.height
    if rotation in (90, 270):
        width, height = height, width
    duration = _duration(container, stream, scan)
    vfr = is_variable_rate(scan)
    if not vfr and stream.average_rate:
        fps = float(stream.average_rate)
    elif duration > 0:
        fps = scan.frames / duration
    else:
        fps = float(stream.guessed_rate or 0)
    codec = stream.codec_context.name or "unknown"
    return VideoInfo(path, scan.frames, fps, duration, width, height, codec, rotation, vfr)


def probe(path: Path | str, *, timeout_s: float | None = DEFAULT_TIMEOUT_S) -> VideoInfo:
    """Describe a video: demux every packet (cheap, no decoding) and decode only the first frame.

    Args:
        path: the video file.
        timeout_s: wall-clock limit (``None``: none).

    Returns:
        The stream facts; ``frames`` counts the packets actually present in the file.

    Raises:
        VideoDecodeError: missing/empty file, not a media file, no video stream, cut short
            (a partial last packet), or no frame decodes.
    """
    path = Path(path)
    deadline = deadline_after(timeout_s)
    with open_video(path) as (container, stream):
        recorder = PacketRecorder(path, container, stream, deadline)
        packets = iter(recorder)
        first = next(decode(path, packets), None)
        for _ in packets:  # the rest only needs demuxing: timestamps, not pixels
            pass
        if first is None:
            raise VideoDecodeError(path, "the video stream has no decodable frame")
        return build_info(path, container, stream, recorder.scan(), first)


def check_decodable(path: Path | str, *, timeout_s: float | None = DEFAULT_TIMEOUT_S) -> VideoInfo:
    """Decode every frame and fail on anything wrong: the check a resumable stage runs before it
    trusts a video it finds on disk.

    Stricter than :func:`read_frames`: decoding runs on one thread with FFmpeg's error log captured,
    so damage the decoder conceals (and would otherwise pass silently) is an error too. Damage that
    still parses as valid video cannot be detected by any decoder.

    Args:
        path: the video file.
        timeout_s: wall-clock limit (``None``: none).

    Returns:
        The stream facts, with ``frames`` = frames decoded.

    Raises:
        VideoDecodeError: everything :func:`probe` raises, plus decoder errors, frames flagged
            corrupt, fewer frames decoding than packets present, or a frame size change mid-stream.
    """
    path = Path(path)
    deadline = deadline_after(timeout_s)
    with open_video(path, threads=False) as (container, stream), decoder_log(path, strict=True):
        recorder = PacketRecorder(path, container, stream, deadline)
        first = None
        decoded = 0
        for frame in decode(path, iter(recorder)):
            if first is None:
                first = frame
            elif (frame.width, frame.height) != (first.width, first.height):
                raise VideoDecodeError(path, f"frame size changes mid-stream at frame {decoded}")
            decoded += 1
        scan = recorder.scan()
        if first is None:
            raise VideoDecodeError(path, "the video stream has no decodable frame")
        if decoded < scan.frames:
            raise VideoDecodeError(path, f"only {decoded} of {scan.frames} frames decode")
        info = build_info(path, container, stream, scan, first)
    return info


def sha256_file(path: Path | str, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    path = Path(path)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(chunk_bytes):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"{path}: cannot read file to hash it ({exc.strerror or exc})") from None
    return digest.hexdigest()
