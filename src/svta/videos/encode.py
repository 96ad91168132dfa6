"""Encode generated clips to mp4 bytes, byte-for-byte reproducibly.

Workers (possibly Ray actors on other machines) return clip bytes and the driver writes files, so
encoding goes to bytes here; the encoder settings that make the bytes repeat live in
:func:`svta.video_io.write_mp4`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from svta.errors import InputError
from svta.video_io import write_mp4


def encode_mp4(frames: np.ndarray, fps: float, *, crf: int = 18, preset: str = "medium", threads: int = 1) -> bytes:
    """H.264 (yuv420p) mp4 of ``frames`` as bytes.

    Args:
        frames: uint8 ``[T, H, W, 3]`` RGB; odd sizes are padded to even by repeating the edge.
        fps: Frame rate.
        crf: x264 constant rate factor (18: visually lossless).
        preset: x264 speed preset.
        threads: x264 threads; output bytes are only guaranteed identical across machines with 1.

    Returns:
        The mp4 file's bytes (index at the front, ready to stream).
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise InputError(f"frames must be uint8 [T, H, W, 3] with T > 0, got {frames.dtype} {frames.shape}")
    # the muxer moves the index to the front by re-reading its output, so it needs a file; a scratch
    # file, read back at once, needs neither an atomic rename nor fsync (both cost more than encoding)
    fd, name = tempfile.mkstemp(prefix="svta-encode-", suffix=".mp4")
    os.close(fd)
    target = Path(name)
    try:
        write_mp4(target, frames, fps, crf=crf, preset=preset, options={"threads": str(threads)}, atomic=False)
        return target.read_bytes()
    finally:
        target.unlink(missing_ok=True)
