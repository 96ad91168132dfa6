"""Guarded access to PyAV: open a file, demux and decode with limits, and turn every failure into
:class:`~svta.errors.VideoDecodeError` naming the path. Internal to :mod:`svta.video_io`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from svta.errors import VideoDecodeError

if TYPE_CHECKING:
    import av

# Packets in a row that may go into the decoder without a frame coming out. Reorder delay and frame
# threading hold back a few dozen at most; a stream that starts without a keyframe holds back one GOP
# (x264 default: 250). Past this the stream is treated as undecodable instead of being walked to its end.
MAX_IDLE_PACKETS = 2000
DEFAULT_TIMEOUT_S = 300.0
# frames up to this size decode on the calling thread: starting FFmpeg's decoding threads costs more than they
# save on a clip of small frames (and callers decode several clips at once on their own threads)
SMALL_FRAME_PIXELS = 320 * 240


def import_av() -> Any:
    import av  # lazy: keeps `import svta.video_io` cheap

    return av


def deadline_after(timeout_s: float | None) -> float | None:
    """A ``time.monotonic()`` deadline ``timeout_s`` from now (``None``: no limit)."""
    return None if timeout_s is None else time.monotonic() + timeout_s


def check_deadline(path: Path, deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise VideoDecodeError(path, "decoding exceeded its time limit (timeout_s); the file may be damaged")


def _reason(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)
    return str(strerror or exc).strip() or type(exc).__name__


def check_file(path: Path) -> None:
    """Fail early on what FFmpeg would either misreport or block on (FIFOs, devices)."""
    if not path.exists():
        raise VideoDecodeError(path, "file does not exist")
    if not path.is_file():
        raise VideoDecodeError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise VideoDecodeError(path, "file is empty (0 bytes)")


def _is_still_image(container: Any) -> bool:
    # FFmpeg's image demuxers ("png_pipe", "image2", ...) open a picture as a one-frame stream.
    name = container.format.name or ""
    return name.endswith("_pipe") or name in ("image2", "image2pipe")


@contextmanager
def open_video(path: Path, *, threads: bool = True) -> Iterator[tuple[av.container.InputContainer, Any]]:
    """Open ``path`` and yield ``(container, first video stream)``; PyAV errors raised inside the
    ``with`` body become :class:`VideoDecodeError`.

    ``threads=False`` keeps decoding on the calling thread, so decoder log messages can be
    attributed to this call (strict mode).
    """
    av = import_av()
    check_file(path)
    try:
        container = _open_for_reading(av, path)
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoDecodeError(path, f"not a readable media file ({_reason(exc)})") from None
    try:
        if not container.streams.video:
            raise VideoDecodeError(path, "no video stream (audio-only, no frames written, or not a video)")
        if _is_still_image(container):
            raise VideoDecodeError(path, f"a still image ({container.format.name}), not a video")
        stream = container.streams.video[0]
        context = stream.codec_context
        if threads and (context.width or 0) * (context.height or 0) > SMALL_FRAME_PIXELS:
            stream.thread_type = "AUTO"
        else:
            context.thread_count = 1
        yield container, stream
    except av.FFmpegError as exc:
        raise VideoDecodeError(path, f"decoding failed ({_reason(exc)})") from None
    finally:
        container.close()


def demux(path: Path, container: Any, stream: Any, deadline: float | None) -> Iterator[Any]:
    """Yield the video packets of ``stream`` (ending with FFmpeg's empty flush packet).

    Raises on a packet the demuxer marks corrupt, which is what a file cut short looks like: its last
    packet is partial and the ones after it are missing.
    """
    for packet in container.demux(stream):
        check_deadline(path, deadline)
        if packet.size and packet.is_corrupt:
            raise VideoDecodeError(path, f"truncated or corrupt data at byte {packet.pos} (pts {packet.pts})")
        yield packet


def decode(path: Path, packets: Iterator[Any]) -> Iterator[Any]:
    """Decode ``packets`` into frames, giving up when the decoder stays silent for too long."""
    idle = 0
    for packet in packets:
        produced = False
        for frame in packet.decode():
            produced = True
            if frame.is_corrupt:
                raise VideoDecodeError(path, f"decoder flagged frame at pts {frame.pts} as corrupt")
            yield frame
        idle = 0 if produced else idle + 1
        if idle > MAX_IDLE_PACKETS:
            raise VideoDecodeError(path, f"no frame decoded from {MAX_IDLE_PACKETS} packets in a row")


# FFmpeg's log level is process-wide: concurrent strict checks share one raised level, and the
# last one to finish restores the original (a plain save/restore per call could leave it raised,
# and a raised level with threaded decoding elsewhere can deadlock).
_log_lock = threading.Lock()
_log_users = 0
_log_previous: int | None = None


def _raise_log_level(avlog: Any) -> None:
    global _log_users, _log_previous
    with _log_lock:
        if _log_users == 0:
            _log_previous = avlog.get_level()
            avlog.set_level(avlog.ERROR)
        _log_users += 1


def _restore_log_level(avlog: Any) -> None:
    global _log_users
    with _log_lock:
        _log_users -= 1
        if _log_users == 0:
            avlog.set_level(_log_previous)


def _open_for_reading(av: Any, path: Path) -> Any:
    # PyAV < 19 decodes metadata eagerly and needs `metadata_errors` to survive non-UTF-8 tags;
    # PyAV 19 removed the argument (metadata is decoded lazily there).
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except TypeError:
        return av.open(str(path), mode="r")


@contextmanager
def decoder_log(path: Path, strict: bool) -> Iterator[None]:
    """In strict mode, raise if FFmpeg logs an error while the body runs.

    H.264 conceals damaged slices and returns plausible-looking frames; the only sign is an error
    line in FFmpeg's log ("error while decoding MB ..."), so strict checks capture the log. The
    capture is thread-local: pair it with ``open_video(threads=False)``.
    """
    if not strict:
        yield
        return
    import av.logging as avlog

    _raise_log_level(avlog)
    try:
        with avlog.Capture(local=True) as logs:
            yield
    finally:
        _restore_log_level(avlog)
    errors = [message.strip() for level, _, message in logs if level <= avlog.ERROR]
    if errors:
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise VideoDecodeError(path, f"decoder reported errors: {errors[0]}{more}")


def normalise_rotation(degrees: float) -> int:
    """A display rotation as one of 0, 90, 180, 270 (counter-clockwise)."""
    rounded = round(degrees) % 360
    return rounded if rounded % 90 == 0 else -1


def frame_rotation(path: Path, frame: Any) -> int:
    """The counter-clockwise rotation the frame's display matrix asks for (0/90/180/270)."""
    rotation = normalise_rotation(getattr(frame, "rotation", 0) or 0)
    if rotation < 0:
        raise VideoDecodeError(path, f"unsupported display rotation {frame.rotation} degrees (not a multiple of 90)")
    return rotation


def rotate_upright(pixels: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate ``[..., H, W, C]`` pixels counter-clockwise by ``rotation`` degrees (a multiple of 90)."""
    turns = (rotation // 90) % 4
    if turns == 0:
        return pixels
    return np.ascontiguousarray(np.rot90(pixels, k=turns, axes=(-3, -2)))


# one RGB converter per thread: ``frame.to_ndarray(format="rgb24")`` builds a new scaler context (and a thread per
# CPU) for every frame, ~10x the conversion itself on small frames; a kept single-threaded context gives the same
# pixels (pinned by tests/test_video_io.py)
_converters = threading.local()


def reformat_on_one_thread(converter: Any, frame: Any, pix_fmt: str) -> Any:
    """``frame`` in ``pix_fmt`` through ``converter`` (a kept ``VideoReformatter``), scaling on one thread; the
    frame itself when it is already in ``pix_fmt``."""
    try:
        return converter.reformat(frame, format=pix_fmt, threads=1)
    except TypeError:  # a PyAV without ``threads`` (before 14) scales on one thread anyway
        return converter.reformat(frame, format=pix_fmt)


def _rgb_converter() -> Any:
    converter = getattr(_converters, "rgb", None)
    if converter is None:
        from av.video.reformatter import VideoReformatter

        converter = _converters.rgb = VideoReformatter()
    return converter


def frame_to_rgb(path: Path, frame: Any, rotation: int) -> np.ndarray:
    """``frame`` as upright ``[H, W, 3]`` uint8 RGB."""
    try:
        pixels = reformat_on_one_thread(_rgb_converter(), frame, "rgb24").to_ndarray()
    except ValueError as exc:  # pixel formats swscale cannot convert (hardware surfaces, ...)
        raise VideoDecodeError(path, f"cannot convert {frame.format.name} frames to RGB ({exc})") from None
    return rotate_upright(pixels, rotation)


@dataclass(frozen=True)
class PacketScan:
    """What demuxing a stream (without decoding it) tells: one entry per frame, in display order."""

    pts: np.ndarray  # [N] int64 presentation timestamps, sorted (stream time base)
    keyframe_pts: np.ndarray  # [K] int64, sorted
    time_base: float
    has_pts: bool  # False when the container stores no timestamps (pts are then frame ordinals)
    end_pts: int  # pts just past the last frame (last pts + its duration)

    @property
    def frames(self) -> int:
        return int(self.pts.size)

    def times(self) -> np.ndarray:
        """Seconds of each frame from the first one, ``[N]`` float64."""
        return (self.pts - (self.pts[0] if self.pts.size else 0)) * self.time_base


class PacketRecorder:
    """Iterate the video packets of a stream (see :func:`demux`) while noting timestamps and
    keyframes, so one pass can both feed a decoder and describe the stream."""

    def __init__(self, path: Path, container: Any, stream: Any, deadline: float | None):
        self._packets = demux(path, container, stream, deadline)
        self._stream = stream
        self._pts: list[int] = []
        self._keys: list[int] = []
        self._missing = False
        self._last_duration = 0

    def __iter__(self) -> Iterator[Any]:
        for packet in self._packets:
            if packet.size:
                self._note(packet)
            yield packet

    def _note(self, packet: Any) -> None:
        stamp = packet.pts if packet.pts is not None else packet.dts
        if stamp is None:
            self._missing = True
            stamp = len(self._pts)
        self._pts.append(int(stamp))
        self._last_duration = int(packet.duration or 0)
        if packet.is_keyframe:
            self._keys.append(int(stamp))

    def scan(self) -> PacketScan:
        """The packets seen so far, as a :class:`PacketScan`."""
        count = len(self._pts)
        time_base = float(self._stream.time_base) if self._stream.time_base else 0.0
        if self._missing or time_base <= 0:
            rate = float(self._stream.average_rate or self._stream.guessed_rate or 25)
            ordinals = np.arange(count, dtype=np.int64)
            return PacketScan(ordinals, ordinals[:0], 1.0 / rate, False, count)
        order = np.sort(np.asarray(self._pts, dtype=np.int64))
        last = self._last_duration
        if not last and order.size > 1:
            last = int(np.median(np.diff(order)))
        end = int(order[-1]) + last if order.size else 0
        return PacketScan(order, np.sort(np.asarray(self._keys, dtype=np.int64)), time_base, True, end)


def scan_packets(path: Path, container: Any, stream: Any, deadline: float | None) -> PacketScan:
    """Demux every packet of ``stream`` (no decoding) to get frame timestamps and keyframes."""
    recorder = PacketRecorder(path, container, stream, deadline)
    for _ in recorder:
        pass
    return recorder.scan()
