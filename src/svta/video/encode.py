"""Encode generated clips to mp4 bytes, byte-for-byte reproducibly.

With PyAV 18 and x264 core 165, encoding the same frames again does not always give the same bytes,
even on one thread (measured: 2-6 variants in 30 encodes of one 64x64 clip). Two things removed the
variation in our measurements (1 variant in 60): converting RGB to ``yuv420p`` before the encoder
instead of inside it, and turning off x264's macroblock-tree rate control, whose lookahead changed
the first frame's quantiser from run to run.
"""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from svta.errors import InputError
from svta.video_io.write import even_frame, frame_rate


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
    import av

    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise InputError(f"frames must be uint8 [T, H, W, 3] with T > 0, got {frames.dtype} {frames.shape}")
    rate = frame_rate(fps)
    # a real file: moving the index to the front (faststart) re-reads what was written
    with tempfile.TemporaryDirectory(prefix="svta-encode-") as tmp:
        target = Path(tmp) / "clip.mp4"
        # mbtree off: its lookahead pass made x264's first-frame quantiser vary between runs
        options = {"crf": str(crf), "preset": preset, "threads": str(threads), "x264-params": "mbtree=0"}
        _encode(av, target, frames, rate, options)
        return target.read_bytes()


def _encode(av: Any, target: Path, frames: np.ndarray, rate: Fraction, options: dict[str, str]) -> None:
    with av.open(str(target), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = None
        for index, pixels in enumerate(frames):
            pixels = even_frame(pixels, (2, 2), "pad")
            if stream is None:
                stream = container.add_stream("libx264", rate=rate)
                stream.width, stream.height = pixels.shape[1], pixels.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.codec_context.time_base = 1 / rate
                stream.options = options
            rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            yuv = av.VideoFrame.from_ndarray(rgb.reformat(format="yuv420p").to_ndarray(), format="yuv420p")
            yuv.pts = index
            yuv.time_base = stream.codec_context.time_base
            container.mux(stream.encode(yuv))
        container.mux(stream.encode(None))
