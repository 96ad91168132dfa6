"""Pre-extracted frames: every clip's sampled, resized uint8 frames decoded once into ``.npy`` shards, so
epochs after the first read them from disk instead of decoding video.

Layout: ``<cache_dir>/t<T>-s<S>[-fps<F>][-<kernel>]/shard-00000.npy`` (``[n, T, S, S, 3]`` uint8) and ``index.json`` mapping clip
ids to ``(shard, row, real frames, fingerprint)``; clips that failed to decode are recorded with their error.
A clip whose file changed (sha256, or size and mtime) is decoded again; shards and index are written atomically.
The index records what decoded the frames (:data:`CACHE_VERSION`, a digest of the decoding code, the PyAV
version); a cache made by other code is discarded and rebuilt.

Reads are positioned reads of one row (``os.preadv``), not a memory map: the OS page cache still keeps hot
shards in RAM, but a process's resident memory stays one batch, whatever the cache's size (a memory map
grows the reader's RSS towards the whole cache over an epoch: ~18 GB at SVTA's 41k clips x 16 x 96 px).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from torch.utils.data import Dataset  # torch is loaded already: svta.retrieval.data imports it

from svta.errors import InputError, SvtaError, VideoDecodeError
from svta.progress import progress
from svta.retrieval.data import ClipRecord, decode_clip
from svta.tables import atomic_path, atomic_write_json

if TYPE_CHECKING:
    from svta.video_io.preprocess import FramePreprocess

CACHE_VERSION = 1
# the code that turns a clip into cached frames: its digest is recorded in the index
DECODER_MODULES = (
    "svta.retrieval.data",
    "svta.video_io.decode",
    "svta.video_io.sampling",
    "svta.video_io.preprocess",
    "svta.video_io._av",
)
SHARD_ITEMS = 256  # clips per shard: ~0.6 GB at 12 x 224 px, small enough to rewrite, few enough files to keep open
MAX_OPEN_SHARDS = 64  # shard files one reader keeps open


def cache_directory(
    cache_dir: Path | str, num_frames: int, preprocess: FramePreprocess, sample_fps: float | None = None
) -> Path:
    """Where frames sampled as ``num_frames`` (uniformly, or at ``sample_fps``) and resized by ``preprocess`` live:
    ``t<T>-s<S>[-fps<F>]``, plus the resampling kernel when it is not bicubic."""
    rate = "" if sample_fps is None else f"-fps{sample_fps:g}"
    kernel = "" if preprocess.interpolation == "bicubic" else f"-{preprocess.interpolation}"
    return Path(cache_dir) / f"t{num_frames}-s{preprocess.size}{rate}{kernel}"


def fingerprint(record: ClipRecord) -> str:
    """What identifies the video's content: its sha256 when the manifest has one, else size and mtime."""
    if record.sha256:
        return record.sha256
    try:
        stat = record.path.stat()
    except OSError:
        return "missing"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


class FrameCache:
    """Read access to a built cache directory (see :func:`build_frame_cache`); picklable, so DataLoader
    workers each open their own file handles."""

    def __init__(self, directory: Path, index: dict[str, Any]):
        self.directory, self.index = directory, index
        self._shards: dict[int, _ShardFile] = {}  # opened lazily, per process (DataLoader workers included)

    def __getstate__(self) -> dict[str, Any]:
        return {"directory": self.directory, "index": self.index}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["directory"], state["index"])  # type: ignore[misc]

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the shard files (they reopen on the next :meth:`load`)."""
        for shard in getattr(self, "_shards", {}).values():
            shard.close()
        self._shards = {}

    @property
    def num_frames(self) -> int:
        return int(self.index["num_frames"])

    @property
    def size(self) -> int:
        return int(self.index["size"])

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self.index["items"] or clip_id in self.index["broken"]

    def load(self, clip_id: str) -> tuple[np.ndarray, int]:
        """``([T, S, S, 3] uint8, real frame count)`` of a clip, read from disk (a fresh, writable array).

        Raises:
            VideoDecodeError: the clip failed to decode when the cache was built.
            InputError: the clip is not in the cache, or its shard is damaged.
        """
        broken = self.index["broken"].get(clip_id)
        if broken is not None:
            raise VideoDecodeError(broken["path"], broken["error"].removeprefix(f"{broken['path']}: "))
        entry = self.index["items"].get(clip_id)
        if entry is None:
            raise InputError(f"{self.directory}: clip {clip_id!r} is not in the frame cache")
        shard = self._shards.get(entry["shard"])
        if shard is None:
            if len(self._shards) >= MAX_OPEN_SHARDS:  # bound open files; reopening a shard costs one header read
                self.close()
            shard = _ShardFile(self.directory / self.index["shards"][entry["shard"]])
            self._shards[entry["shard"]] = shard
        return shard.row(int(entry["row"])), int(entry["n"])


class _ShardFile:
    """One ``.npy`` shard read a row at a time: ``[n, T, S, S, 3]`` uint8, C order."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)
        try:
            with open(path, "rb", buffering=0) as handle:
                version = np.lib.format.read_magic(handle)
                read_header = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = read_header(handle)
                self.offset = handle.tell()
        except (OSError, ValueError) as exc:
            os.close(self.fd)
            raise InputError(
                f"{path}: damaged frame-cache shard ({exc}); delete the cache directory to rebuild"
            ) from None
        if fortran or dtype != np.uint8 or len(shape) != 5:
            os.close(self.fd)
            raise InputError(f"{path}: not a frame-cache shard (shape {shape}, dtype {dtype})")
        self.rows, self.row_shape = int(shape[0]), tuple(int(d) for d in shape[1:])
        self.row_bytes = int(np.prod(self.row_shape))

    def row(self, i: int) -> np.ndarray:
        if not 0 <= i < self.rows:
            raise InputError(f"{self.path}: row {i} outside the shard's {self.rows} rows")
        out = np.empty(self.row_shape, dtype=np.uint8)  # not zero-filled: the read overwrites every byte
        got = os.preadv(self.fd, [out.data.cast("B")], self.offset + i * self.row_bytes)
        if got != self.row_bytes:
            raise InputError(f"{self.path}: short read of row {i}; delete the cache directory to rebuild")
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def decoder_digest() -> str:
    """What made the cached frames: the cache format, the decoding code's digest and the PyAV version."""
    from importlib.metadata import PackageNotFoundError, version

    from svta.provenance import module_digest

    try:
        av = version("av")
    except PackageNotFoundError:
        av = "none"
    return f"{CACHE_VERSION}:{module_digest(DECODER_MODULES)}:av{av}"


def _read_index(directory: Path, num_frames: int, size: int) -> dict[str, Any]:
    path = directory / "index.json"
    made_by = decoder_digest()
    empty = {
        "version": CACHE_VERSION,
        "decoder": made_by,
        "num_frames": num_frames,
        "size": size,
        "shards": [],
        "items": {},
        "broken": {},
    }
    if not path.exists():
        return empty
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}  # a damaged index: rebuild rather than trust it
    expected = (CACHE_VERSION, made_by, num_frames, size)
    if tuple(index.get(key) for key in ("version", "decoder", "num_frames", "size")) != expected:
        _discard(directory)
        return empty
    return index


def _discard(directory: Path) -> None:
    """Remove a cache made by other code (its index first, so a crash in between leaves no index to trust)."""
    (directory / "index.json").unlink(missing_ok=True)
    for shard in directory.glob("shard-*.npy"):
        shard.unlink(missing_ok=True)


# A decoded record: (record, frames or None, frames read, error or None).
_Decoded = tuple[ClipRecord, np.ndarray | None, int, str | None]


class _DecodeJob(Dataset[_Decoded]):
    """Picklable decode function for loader workers: one record -> (record, frames, n, error)."""

    def __init__(
        self, records: Sequence[ClipRecord], num_frames: int, preprocess: FramePreprocess, sample_fps: float | None
    ):
        self.records, self.num_frames, self.preprocess = list(records), num_frames, preprocess
        self.sample_fps = sample_fps

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> _Decoded:
        record = self.records[i]
        try:
            frames, n = decode_clip(record.path, self.num_frames, self.preprocess, self.sample_fps)
        except SvtaError as exc:
            return record, None, 0, str(exc)
        return record, frames, n, None


def _unbatched(item: Any) -> Any:
    return item


def build_frame_cache(
    cache_dir: Path | str,
    records: Sequence[ClipRecord],
    num_frames: int,
    preprocess: FramePreprocess,
    sample_fps: float | None = None,
    workers: int = 0,
    threads: int = 1,
) -> FrameCache:
    """Decode every record not yet cached (or changed) and append it to the cache; return the cache.

    Args:
        cache_dir: cache root (a sub-directory per ``num_frames`` x side, see :func:`cache_directory`).
        records: clips to cache.
        num_frames: frames sampled per clip.
        preprocess: the model's frame transform (its resize and crop make the cached frames).
        sample_fps: optional sampling rate (see :func:`svta.retrieval.data.decode_clip`).
        workers: decoding processes (0: in-process).
        threads: with ``workers`` 0, decoding threads in this process (PyAV and torch release the GIL; no
            forked process, so no second copy of the caller's memory). The cache is the same either way.
    """
    directory = cache_directory(cache_dir, num_frames, preprocess, sample_fps)
    directory.mkdir(parents=True, exist_ok=True)
    index = _read_index(directory, num_frames, preprocess.size)
    fingerprints = {r.id: fingerprint(r) for r in records}
    todo = [r for r in records if _stale(index, r.id, fingerprints[r.id])]
    if todo:
        job = _DecodeJob(todo, num_frames, preprocess, sample_fps)
        chunk: list[tuple[str, np.ndarray, int]] = []
        decoded = _decoded(job, workers, threads)
        for record, frames, n, error in progress(decoded, description="caching frames", total=len(todo)):
            index["items"].pop(record.id, None)
            index["broken"].pop(record.id, None)
            if error is not None:
                index["broken"][record.id] = {"error": error, "fp": fingerprints[record.id], "path": str(record.path)}
            elif frames is not None:  # always, without an error
                chunk.append((record.id, frames, n))
            if len(chunk) == SHARD_ITEMS:
                _write_shard(directory, index, chunk, fingerprints)
                chunk = []
        if chunk:
            _write_shard(directory, index, chunk, fingerprints)
        atomic_write_json(directory / "index.json", index)
    return FrameCache(directory, index)


def _decoded(job: _DecodeJob, workers: int, threads: int) -> Iterator[_Decoded]:
    """``job``'s items in order: from ``workers`` loader processes, else from ``threads`` threads a shard's worth
    at a time (bounded memory)."""
    if workers > 0 or threads <= 1:
        from torch.utils.data import DataLoader

        yield from DataLoader(job, batch_size=None, num_workers=workers, collate_fn=_unbatched)
        return
    with ThreadPoolExecutor(threads) as pool:
        for start in range(0, len(job), SHARD_ITEMS):
            yield from pool.map(job.__getitem__, range(start, min(start + SHARD_ITEMS, len(job))))


def _stale(index: dict[str, Any], clip_id: str, fp: str) -> bool:
    entry = index["items"].get(clip_id) or index["broken"].get(clip_id)
    return entry is None or entry["fp"] != fp


def _write_shard(
    directory: Path, index: dict[str, Any], chunk: list[tuple[str, np.ndarray, int]], fingerprints: dict[str, str]
) -> None:
    shard_no = len(index["shards"])
    name = f"shard-{shard_no:05d}.npy"
    with atomic_path(directory / name) as tmp, open(tmp, "wb") as handle:
        np.save(handle, np.stack([frames for _, frames, _ in chunk]))
    index["shards"].append(name)
    for row, (clip_id, _, n) in enumerate(chunk):
        index["items"][clip_id] = {"shard": shard_no, "row": row, "n": n, "fp": fingerprints[clip_id]}
    # The index is committed after every shard, so an interrupted build keeps what it finished.
    atomic_write_json(directory / "index.json", index)
