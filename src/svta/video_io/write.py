"""Write uint8 RGB frames to an mp4 (H.264, yuv420p by default), atomically: the file appears
complete under its name or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np

from svta.errors import InputError
from svta.video_io._av import import_av, normalise_rotation, reformat_on_one_thread

# Pixel formats whose chroma planes are subsampled 2x: (horizontally, vertically).
_SUBSAMPLED = {
    "yuv420p": (2, 2),
    "yuvj420p": (2, 2),
    "nv12": (2, 2),
    "nv21": (2, 2),
    "yuv420p10le": (2, 2),
    "yuv422p": (2, 1),
    "yuvj422p": (2, 1),
    "yuv422p10le": (2, 1),
}
_CRF_CODECS = {"libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1"}


def frame_rate(fps: float | Fraction) -> Fraction:
    """``fps`` as an exact rational; NTSC rates (29.97, 23.976, 59.94) become ``N*1000/1001``."""
    if isinstance(fps, Fraction):
        rate = fps
    elif fps > 0 and abs(fps * 1.001 - round(fps * 1.001)) < 1e-3 and abs(fps - round(fps)) > 1e-3:
        rate = Fraction(round(fps * 1.001) * 1000, 1001)
    else:
        rate = Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise InputError(f"fps must be > 0, got {fps}")
    return rate


def even_frame(pixels: np.ndarray, multiple: tuple[int, int], mode: Literal["pad", "crop"]) -> np.ndarray:
    """Make ``[H, W, 3]`` pixels a multiple of ``(x, y)`` in size for a subsampled pixel format.

    ``pad`` repeats the last column/row (no black edge, nothing lost, one pixel larger);
    ``crop`` drops it (one pixel smaller).
    """
    height, width = pixels.shape[:2]
    extra_h, extra_w = height % multiple[1], width % multiple[0]
    if not extra_h and not extra_w:
        return pixels
    if mode == "crop":
        return pixels[: height - extra_h, : width - extra_w]
    pad_h = (multiple[1] - extra_h) % multiple[1]
    pad_w = (multiple[0] - extra_w) % multiple[0]
    return np.pad(pixels, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")


def _frames_of(frames: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    if isinstance(frames, np.ndarray) and frames.ndim != 4:
        raise InputError(f"frames must be [T, H, W, 3], got shape {frames.shape}")
    for index, pixels in enumerate(frames):
        pixels = np.asarray(pixels)
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[-1] != 3:
            raise InputError(f"frame {index} must be uint8 [H, W, 3], got {pixels.dtype} {pixels.shape}")
        yield pixels


def _add_stream(container: Any, codec: str, rate: Fraction, size: tuple[int, int], pix_fmt: str, options: dict) -> Any:
    av = import_av()
    try:
        stream = container.add_stream(codec, rate=rate)
    except (av.FFmpegError, ValueError) as exc:
        raise InputError(f"cannot encode with codec {codec!r}: {exc}") from None
    stream.width, stream.height = size
    stream.pix_fmt = pix_fmt
    stream.codec_context.time_base = 1 / rate
    stream.options = options
    return stream


def _encode(target: Path, frames: Iterable[np.ndarray], rate: Fraction, settings: dict[str, Any]) -> int:
    """Encode into ``target``; returns the number of frames written."""
    av = import_av()
    from av.video.reformatter import VideoReformatter

    container_options = {"movflags": "+faststart"} if settings["faststart"] else {}
    multiple = _SUBSAMPLED.get(settings["pix_fmt"], (1, 1))
    # one converter for every frame, on one thread: frame.reformat() builds a new scaler context (and,
    # by default, a thread per CPU) for each frame, several times the conversion's own cost on small
    # frames; the cached single-threaded context converts to the same pixels
    converter = VideoReformatter()
    count = 0
    with av.open(str(target), mode="w", format="mp4", options=container_options) as container:
        stream = None
        for pixels in frames:
            pixels = even_frame(pixels, multiple, settings["even"])
            if stream is None:
                size = (pixels.shape[1], pixels.shape[0])
                stream = _add_stream(container, settings["codec"], rate, size, settings["pix_fmt"], settings["options"])
                if settings["rotation"]:
                    stream.set_display_rotation(settings["rotation"])
            elif (pixels.shape[1], pixels.shape[0]) != (stream.width, stream.height):
                raise InputError(
                    f"frame {count} is {pixels.shape[1]}x{pixels.shape[0]}, earlier frames "
                    f"{stream.width}x{stream.height}"
                )
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            if settings["pix_fmt"] == "yuv420p":
                # converting before the encoder (not inside it) is one of the two things that make
                # x264's output byte-identical across runs; the other is mbtree=0 (see write_mp4)
                frame = av.VideoFrame.from_ndarray(
                    reformat_on_one_thread(converter, frame, "yuv420p").to_ndarray(), format="yuv420p"
                )
            frame.pts = count
            frame.time_base = stream.codec_context.time_base
            container.mux(stream.encode(frame))
            count += 1
        if stream is None:
            raise InputError("no frames to write")
        container.mux(stream.encode(None))
    return count


def write_mp4(
    path: Path | str,
    frames: np.ndarray | Iterable[np.ndarray],
    fps: float | Fraction,
    *,
    crf: int = 18,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    preset: str = "medium",
    even: Literal["pad", "crop"] = "pad",
    rotation: int = 0,
    faststart: bool = True,
    options: dict[str, str] | None = None,
    atomic: bool = True,
) -> Path:
    """Encode frames to an mp4 file, atomically (temp file in the same folder, fsync, rename).

    yuv420p stores colour at half resolution, so H.264 needs even width and height. Odd sizes are
    made even: ``even="pad"`` (default) repeats the last column/row, so the file is one pixel
    wider/taller than the input; ``even="crop"`` drops it. Formats without subsampling (e.g.
    ``yuv444p``) keep odd sizes as they are.

    The same frames and settings give the same bytes (x264 is deterministic; no timestamps are written).

    Args:
        path: output file (parent folders are created).
        frames: ``[T, H, W, 3]`` uint8 RGB array, or an iterable of ``[H, W, 3]`` uint8 frames (streamed).
        fps: frame rate (float or exact ``Fraction``; 29.97 is stored as 30000/1001).
        crf: constant rate factor for x264/x265/VP9/AV1 (lower is better; 18 is visually lossless).
        codec: FFmpeg encoder name.
        pix_fmt: stored pixel format.
        preset: x264/x265 speed preset.
        even: how to fix odd sizes for subsampled pixel formats: ``pad`` or ``crop``.
        rotation: counter-clockwise display rotation to record (0/90/180/270); readers that honour it,
            including :func:`read_frames`, show frames rotated by this much.
        faststart: put the index at the front of the file so it can stream over HTTP.
        options: extra encoder options (FFmpeg names), merged over ``crf``/``preset``.
        atomic: write a temp file, fsync it and rename it over ``path``; ``False`` writes ``path`` directly
            without fsync (a scratch file that is read back at once, as :func:`svta.videos.encode.encode_mp4` does).

    Returns:
        ``path``.

    Raises:
        InputError: frames are not uint8 RGB, sizes differ, there are none, or the codec is unknown.
    """
    from svta.tables import atomic_path  # lazy: pyarrow only when writing

    path = Path(path)
    if even not in ("pad", "crop"):
        raise InputError(f"even must be 'pad' or 'crop', got {even!r}")
    if normalise_rotation(rotation) < 0:
        raise InputError(f"rotation must be a multiple of 90 degrees, got {rotation}")
    encoder_options = {"crf": str(crf)} if codec in _CRF_CODECS else {}
    if codec in ("libx264", "libx265"):
        encoder_options["preset"] = preset
    if codec == "libx264":
        # x264's macroblock-tree lookahead made the first frame's quantiser vary between runs
        # (2-6 different files in 30 encodes of the same frames); without it the bytes repeat
        encoder_options["x264-params"] = "mbtree=0"
    encoder_options.update(options or {})
    settings = {
        "codec": codec,
        "pix_fmt": pix_fmt,
        "even": even,
        "rotation": normalise_rotation(rotation),
        "faststart": faststart,
        "options": encoder_options,
    }
    if not atomic:
        path.parent.mkdir(parents=True, exist_ok=True)
        _encode(path, _frames_of(frames), frame_rate(fps), settings)
        return path
    with atomic_path(path, suffix=".tmp.mp4") as tmp:
        _encode(tmp, _frames_of(frames), frame_rate(fps), settings)
    return path
