"""The video stage runner: ``captions.parquet`` in, ``videos/<id>.mp4`` and ``videos.parquet`` out.

Resumable and crash-safe: workers return encoded clips to the driver, which writes each file
atomically and then commits its row in a table part; a rerun validates what it finds, redoes what
is broken, and skips the rest. Failed items are logged to ``videos.failures.jsonl`` and retried.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
from collections.abc import Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from svta.config import EngineConfig, SvtaConfig
from svta.engine import ItemOutcome, run_items
from svta.errors import InputError, SvtaError, VideoDecodeError
from svta.progress import info, warn
from svta.tables import PartWriter, atomic_write_bytes, read_records, stable_id, table_path, write_table
from svta.videos.base import VIDEO_BACKENDS, VideoRequest, build_backend
from svta.videos.config import VideosConfig
from svta.videos.encode import encode_mp4
from svta.videos.quality import (
    AgreementScorer,
    ClipStats,
    append_lines,
    append_stats,
    build_report,
    clip_stats,
    score_agreement,
)

VIDEO_DIR = "videos"
FAILURES_FILE = "videos.failures.jsonl"
TIMINGS_FILE = "videos.timings.jsonl"  # seconds each clip took to render, one JSON line per clip made
LOCK_FILE = ".videos.lock"
# clip files written (and fsynced) at once by the driver: the filesystem's journal commits concurrent
# fsyncs together, ~0.8 ms a clip instead of ~9 ms one after the other (both durable before the row commits)
WRITE_THREADS = 4
ENCODER_MODULES = ("svta.videos.encode", "svta.video_io.write")


@dataclass
class EncodedClip:
    """A worker's result: the mp4 bytes and what the table and the checks need about them."""

    id: str
    data: bytes
    frames: int
    fps: float
    width: int
    height: int
    params: dict[str, Any]
    stats: ClipStats
    seconds: float


@dataclass
class VideoRunResult:
    """What a :func:`generate_videos` call did.

    Attributes:
        root: The dataset root.
        table: ``videos.parquet``.
        requested: Captions considered.
        skipped: Clips already present and valid.
        redone: Clips found broken (or whose file was missing) and made again.
        generated: Clips made by this run.
        failed: Id → last error, for items that failed every attempt.
        seconds: Wall time.
        quality: The quality report.
    """

    root: Path
    table: Path
    requested: int = 0
    skipped: int = 0
    redone: int = 0
    generated: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    quality: dict[str, Any] = field(default_factory=dict)


class VideoWorker:
    """Builds one backend (e.g. loads one pipeline) and turns request batches into encoded clips."""

    def __init__(self, config: VideosConfig, taxonomy_path: str | None = None):
        self.config = config
        self.backend = build_backend(config.backend, config, taxonomy_path)
        self.describe = self.backend.describe()

    def __call__(self, requests: list[VideoRequest]) -> list[EncodedClip | Exception]:
        start = time.perf_counter()
        clips = self.backend.generate(requests)
        per_clip = (time.perf_counter() - start) / max(1, len(requests))
        out: list[EncodedClip | Exception] = []
        for request, clip in zip(requests, clips):
            if isinstance(clip, Exception):
                out.append(clip)
                continue
            try:
                out.append(self._encode(request, clip, per_clip))
            except Exception as exc:  # noqa: BLE001 - one bad clip must not fail its batch
                out.append(exc)
        return out

    def _encode(self, request: VideoRequest, clip: np.ndarray, seconds: float) -> EncodedClip:
        clip = np.asarray(clip)
        if clip.dtype != np.uint8 or clip.ndim != 4 or clip.shape[-1] != 3 or len(clip) == 0:
            raise InputError(
                f"backend {self.config.backend!r} returned {clip.dtype} {clip.shape}, expected uint8 [T, H, W, 3]"
            )
        fps = float(self.backend.fps)
        data = encode_mp4(clip, fps, crf=self.config.encode_crf, threads=self.config.encode_threads)
        params = {**self.describe, **encode_params(self.config), "seed": request.seed, "category": request.category}
        height, width = clip.shape[1] + clip.shape[1] % 2, clip.shape[2] + clip.shape[2] % 2
        return EncodedClip(
            request.id, data, len(clip), fps, width, height, params, clip_stats(request.id, clip), seconds
        )


def encode_params(config: VideosConfig) -> dict[str, Any]:
    """The encoder settings and a digest of the encoding code, recorded with each clip."""
    from svta.provenance import module_digest

    return {"crf": config.encode_crf, "encoder": module_digest(ENCODER_MODULES)}


def expected_params(config: VideosConfig, taxonomy: Path | str | None) -> dict[str, Any] | None:
    """What a clip made now by ``config`` records about the code and settings that made it, as stored
    (JSON); ``None`` for a plug-in backend, which is only checked by name."""
    if config.backend == "procedural":
        from svta.videos.procedural import clip_params, load_taxonomy

        made = clip_params(config, load_taxonomy(str(taxonomy) if taxonomy else None))
    elif config.backend == "wan":
        from svta.videos.wan import clip_params as wan_params

        made = wan_params(config.wan)
    else:
        return None
    return json.loads(json.dumps({**made, **encode_params(config)}, sort_keys=True, default=str))


def clip_seed(stage_seed: int, caption_id: str, caption_seed: int | None) -> int:
    """The seed of one clip: stable in the stage seed, the caption id and the caption's own seed."""
    return int(stable_id(stage_seed, caption_id, caption_seed if caption_seed is not None else ""), 16) % (2**31 - 1)


def make_requests(captions: list[dict[str, Any]], seed: int) -> list[VideoRequest]:
    """One request per caption row."""
    return [
        VideoRequest(r["id"], r["caption"], r.get("category"), clip_seed(seed, r["id"], r.get("seed")))
        for r in captions
    ]


@contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """One video run per root at a time (the lock dies with the process, even on kill -9)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SvtaError(f"{root}: another 'svta videos' run is using this root") from None
        yield


def _remove_temp_files(video_dir: Path) -> int:
    """Half-written temp files of a run that was killed (safe: we hold the root's lock)."""
    removed = 0
    if video_dir.exists():
        for path in video_dir.glob(".*"):
            if path.is_file() and (path.name.endswith(".tmp") or path.name.endswith(".tmp.mp4")):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _is_valid(root: Path, row: dict[str, Any], mode: str) -> bool:
    from svta.video_io import check_decodable, probe, sha256_file

    path = root / row["path"]
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return False
        if mode == "probe":
            return probe(path).frames == row["frames"]
        if mode == "decode":
            return check_decodable(path).frames == row["frames"]
        if mode == "sha256":
            return sha256_file(path) == row["sha256"]
        return True
    except (VideoDecodeError, OSError):
        return False


def _drop_rows(writer: PartWriter, bad: set[str]) -> None:
    """Remove rows whose clips are broken, so a failed redo never leaves a row pointing at junk."""
    _compact_in_id_order(writer, drop=bad)


def _compact_in_id_order(writer: PartWriter, drop: Collection[str] = frozenset()) -> list[dict[str, Any]]:
    """Merge the table and its parts into ``videos.parquet``, rows sorted by id (not by completion
    order, so every engine, worker count and resume history writes the same bytes); returns the rows."""
    parts = writer.part_files()
    rows = sorted((r for r in writer.read_all().to_pylist() if r["id"] not in drop), key=lambda r: r["id"])
    write_table(rows, writer.table_path, "videos")
    for part in parts:
        part.unlink(missing_ok=True)
    if writer.parts_dir.exists() and not any(writer.parts_dir.iterdir()):
        writer.parts_dir.rmdir()
    return rows


class _Committer:
    """Driver side: writes each clip atomically, then commits rows in parts every N clips or T seconds.

    Clip files are written on a few threads while rendering goes on; a part commits only the rows whose
    file is written and fsynced, so a committed row never points at a missing or torn file.
    """

    def __init__(
        self,
        root: Path,
        writer: PartWriter,
        config: VideosConfig,
        result: VideoRunResult,
        expected: dict[str, Any] | None = None,
    ):
        self.root, self.writer, self.config, self.result = root, writer, config, result
        self.expected = expected
        self.pending: list[tuple[Future[None], dict[str, Any], ClipStats, str]] = []
        self.writes = ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="svta-clip-write")
        self.last = time.monotonic()
        (root / VIDEO_DIR).mkdir(parents=True, exist_ok=True)

    def accept(self, outcome: ItemOutcome[VideoRequest]) -> None:
        if not outcome.ok:
            self.result.failed[outcome.item.id] = outcome.error or "unknown error"
            return
        clip: EncodedClip = outcome.result
        params = json.dumps(clip.params, sort_keys=True, default=str)
        if made_otherwise({"backend": self.config.backend, "params": params}, self.config.backend, self.expected):
            # a worker running other code (e.g. a Ray node with another svta): keep its clip out of the root
            error = "the worker that made this clip runs other renderer code or settings than this driver"
            self.result.failed[clip.id] = error
            _record_failure(self.root, self.config.backend, outcome.item, error, 0)
            return
        rel = f"{VIDEO_DIR}/{clip.id}.mp4"
        written = self.writes.submit(atomic_write_bytes, self.root / rel, clip.data)
        row = {
            "id": clip.id,
            "path": rel,
            "frames": clip.frames,
            "fps": clip.fps,
            "width": clip.width,
            "height": clip.height,
            "sha256": hashlib.sha256(clip.data).hexdigest(),
            "backend": self.config.backend,
            "params": params,
            "seconds": None,  # wall time varies per run: kept in TIMINGS_FILE so the table repeats byte for byte
        }
        timing = json.dumps({"id": clip.id, "seconds": round(clip.seconds, 4)}) + "\n"
        self.pending.append((written, row, clip.stats, timing))
        if len(self.pending) >= self.config.commit_every or time.monotonic() - self.last >= self.config.commit_seconds:
            self.flush()

    def flush(self) -> None:
        """Wait for the pending clip files, then commit the rows of those written; a failed write (a full
        disk) raises once the others are committed."""
        pending, self.pending, self.last = self.pending, [], time.monotonic()
        error = next((e for e in (w.exception() for w, *_ in pending) if e is not None), None)
        done = [(row, stats, timing) for written, row, stats, timing in pending if written.exception() is None]
        if done:
            self.writer.append([row for row, _, _ in done])
            append_stats(self.root, [stats for _, stats, _ in done])
            append_lines(self.root / TIMINGS_FILE, "".join(timing for _, _, timing in done))
            self.result.generated += len(done)
        if error is not None:
            raise error

    def close(self) -> None:
        """Commit what is pending and stop the write threads."""
        try:
            self.flush()
        finally:
            self.writes.shutdown(wait=True)


def _record_failure(root: Path, backend: str, request: VideoRequest, error: str, attempt: int) -> None:
    line = json.dumps({"id": request.id, "attempt": attempt, "error": error, "backend": backend, "time": time.time()})
    append_lines(root / FAILURES_FILE, line + "\n")


def _resolve(config: VideosConfig | SvtaConfig | None, engine_config: EngineConfig | None, taxonomy: Path | str | None):
    if isinstance(config, SvtaConfig):
        return config.videos, engine_config or config.engine, taxonomy or config.taxonomy
    return config or VideosConfig(), engine_config or EngineConfig(), taxonomy


def generate_videos(
    root: Path | str,
    config: VideosConfig | SvtaConfig | None = None,
    engine_config: EngineConfig | None = None,
    *,
    taxonomy: Path | str | None = None,
    ids: list[str] | None = None,
    limit: int | None = None,
    overwrite: bool = False,
    scorer: AgreementScorer | None = None,
) -> VideoRunResult:
    """Make a clip for every caption of ``<root>/captions.parquet`` that has no valid one yet.

    Args:
        root: The dataset root.
        config: The ``videos`` section (or a whole :class:`SvtaConfig`, whose engine and taxonomy are used).
        engine_config: ``local`` or ``ray``; default local, in-process.
        taxonomy: Taxonomy file for category lookups (default: the shipped one).
        ids: Only these caption ids.
        limit: Only the first ``limit`` captions (after ``ids``).
        overwrite: Make every selected clip again, even valid ones.
        scorer: Optional caption-video agreement scorer run on the new clips.

    Returns:
        Counts, failures and the quality report.

    Raises:
        TableSchemaError: ``captions.parquet`` is missing or invalid.
        SvtaError: another run holds the root.
    """
    root = Path(root)
    cfg, engine, taxonomy = _resolve(config, engine_config, taxonomy)
    VIDEO_BACKENDS.get(cfg.backend)  # an unknown name fails now, not in a worker
    start = time.perf_counter()
    result = VideoRunResult(root, table_path(root, "videos"))
    with _exclusive(root):
        captions = read_records(table_path(root, "captions"), "captions")
        if ids is not None:
            wanted = set(ids)
            captions = [r for r in captions if r["id"] in wanted]
        captions = captions[:limit] if limit is not None else captions
        requests = make_requests(captions, cfg.seed)
        result.requested = len(requests)
        _remove_temp_files(root / VIDEO_DIR)
        writer = PartWriter(result.table, "videos")
        expected = expected_params(cfg, taxonomy)
        todo = _plan(root, writer, requests, cfg, expected, overwrite, result)
        committer = _Committer(root, writer, cfg, result, expected)
        try:
            if todo:
                run_items(
                    todo,
                    partial(VideoWorker, cfg, str(taxonomy) if taxonomy else None),
                    engine,
                    on_outcome=committer.accept,
                    description=f"rendering videos ({cfg.backend})",
                    on_failure=partial(_record_failure, root, cfg.backend),
                    retries=cfg.retries,
                    batch_size=cfg.wan.batch_size if cfg.backend == "wan" else 1,
                )
        finally:
            try:
                committer.close()
            finally:
                rows = _compact_in_id_order(
                    writer
                )  # even when the run stops: videos.parquet holds every committed clip
        if scorer is not None and todo:
            new = {r.id for r in todo} - set(result.failed)
            score_agreement(
                root, [r for r in rows if r["id"] in new], {r["id"]: r["caption"] for r in captions}, scorer
            )
        result.seconds = time.perf_counter() - start
        summary = {
            "run": {
                "generated": result.generated,
                "skipped": result.skipped,
                "redone": result.redone,
                "failed": len(result.failed),
                "seconds": round(result.seconds, 2),
            }
        }
        result.quality = build_report(root, [r["id"] for r in rows], cfg.quality, summary)
    if result.failed:
        warn(f"{len(result.failed)} clip(s) failed after {cfg.retries + 1} attempt(s); see {root / FAILURES_FILE}")
    return result


def _plan(
    root: Path,
    writer: PartWriter,
    requests: list[VideoRequest],
    cfg: VideosConfig,
    expected: dict[str, Any] | None,
    overwrite: bool,
    result: VideoRunResult,
) -> list[VideoRequest]:
    """Which requests need a clip: redo the recorded ones made by other code or settings, validate the
    rest, and drop the rows of clips to redo."""
    recorded = {r["id"]: r for r in writer.read_all().to_pylist()}
    wanted = {r.id for r in requests}
    stale = {i for i, row in recorded.items() if i in wanted and made_otherwise(row, cfg.backend, expected)}
    if stale:
        info(
            f"{len(stale)} recorded clip(s) were made by another backend, renderer version or settings; "
            "making them again"
        )
    bad = stale | {
        i for i, row in recorded.items() if i in wanted and i not in stale and not _is_valid(root, row, cfg.verify)
    }
    if len(bad) > len(stale):
        info(f"{len(bad) - len(stale)} recorded clip(s) are missing or broken; making them again")
    if bad:
        _drop_rows(writer, bad)
    result.redone = len(bad)
    done = set(recorded) - bad
    todo = [r for r in requests if overwrite or r.id not in done]
    result.skipped = len(requests) - len(todo)
    return todo


def made_otherwise(row: dict[str, Any], backend: str, expected: dict[str, Any] | None) -> bool:
    """Whether a recorded clip came from another backend, or another code version or setting than
    ``expected`` (see :func:`expected_params`) records."""
    if row.get("backend") != backend:
        return True
    if expected is None:  # a plug-in backend: its settings are its own business
        return False
    try:
        params = json.loads(row.get("params") or "{}")
    except ValueError:
        return True
    return not isinstance(params, dict) or any(params.get(key) != value for key, value in expected.items())


def check_videos(root: Path | str, config: VideosConfig | None = None, verify: str = "decode") -> dict[str, Any]:
    """Verify every clip recorded in ``videos.parquet`` and rebuild the quality report.

    Clips without recorded statistics are decoded and measured. Broken clips are listed, not
    removed: the next :func:`generate_videos` run makes them again.

    Returns:
        The quality report plus ``broken`` (ids whose file fails ``verify``).
    """
    from svta.video_io import read_frames
    from svta.videos.quality import read_stats

    root = Path(root)
    cfg = config or VideosConfig()
    rows = PartWriter(table_path(root, "videos"), "videos").read_all().to_pylist()
    with _exclusive(root):
        broken = sorted(r["id"] for r in rows if not _is_valid(root, r, verify))
        known = read_stats(root)
        missing = [r for r in rows if r["id"] not in known and r["id"] not in broken]
        append_stats(root, [clip_stats(r["id"], read_frames(root / r["path"])) for r in missing])
        report = build_report(root, [r["id"] for r in rows if r["id"] not in broken], cfg.quality, {"broken": broken})
    return {**report, "clips": len(rows)}
