"""``svta search index``: find the videos of a dataset root (its manifest, its videos table, or a plain
folder of clips), encode the ones not indexed yet in batches — in process or on Ray actors — and
commit them with thumbnails into a search index.
"""

from __future__ import annotations

import io
import re
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from svta.engine import EngineConfig
from svta.errors import ConfigError, InputError, SvtaError
from svta.search.config import SearchConfig
from svta.search.encoders import Encoder, VideoEmbeddings, create_encoder
from svta.search.paths import resolve_inside
from svta.search.store import PARTS_DIR, SAFE_ID, THUMBNAILS_DIR, IndexStore
from svta.tables import atomic_write_bytes, stable_id, table_path

# thumbnails written (and fsynced) at once: concurrent fsyncs share the filesystem's journal commits (~1 ms a
# clip instead of ~9 ms one after the other); every one is on disk before the row that names it commits
THUMBNAIL_WRITE_THREADS = 4
# thumbnails made while the batch encodes: decoding and JPEG encoding release the GIL, so they use the core the
# encoder leaves idle (the index stage at 1,000 clips: 11.5 -> ~8 ms a clip on 2 cores; benchmarks/RESULTS.md)
THUMBNAIL_THREADS = 2
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")


@dataclass(frozen=True)
class VideoRecord:
    """One video to index; ``path`` is relative to the root (POSIX separators)."""

    id: str
    path: str
    caption: str | None = None
    category: str | None = None
    is_anomaly: bool | None = None

    def metadata(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "caption": self.caption,
            "category": self.category,
            "is_anomaly": self.is_anomaly,
        }


@dataclass
class IndexReport:
    """What one ``svta search index`` run did."""

    index_dir: str
    total: int = 0  # videos found under the root
    added: int = 0
    already_indexed: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)  # {"id", "path", "error"}
    count: int = 0  # videos in the index afterwards
    seconds: float = 0.0


def collect_videos(root: Path) -> tuple[list[VideoRecord], list[dict[str, str]]]:
    """The videos of ``root``: ``manifest.parquet`` if present, else ``videos.parquet`` (+ labels and
    captions), else every video file below it.

    Returns:
        ``(records, rejected)``: records whose file is a regular file inside the root, and one
        ``{"id", "path", "error"}`` per refused entry (outside the root, missing, unsafe id).
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: dataset root not found (or not a directory)")
    if table_path(root, "manifest").exists():
        candidates = _from_manifest(root)
    elif table_path(root, "videos").exists():
        candidates = _from_videos_table(root)
    else:
        candidates = _from_folder(root)
    records, rejected = [], []
    for record in candidates:
        error = None
        if not SAFE_ID.match(record.id):
            error = "id has characters outside [A-Za-z0-9._-] (or is over 128 long)"
        elif resolve_inside(root, record.path) is None:
            error = "file missing, not a regular file, or outside the root"
        if error:
            rejected.append({"id": record.id, "path": record.path, "error": error})
        else:
            records.append(record)
    return records, rejected


def _from_manifest(root: Path) -> list[VideoRecord]:
    from svta.tables import read_records

    return [
        VideoRecord(r["id"], r["path"], r.get("caption"), r.get("category"), r.get("is_anomaly"))
        for r in read_records(table_path(root, "manifest"), "manifest")
    ]


def _from_videos_table(root: Path) -> list[VideoRecord]:
    from svta.tables import read_records

    labels = _optional_records(root, "labels")
    captions = _optional_records(root, "captions")
    out = []
    for row in read_records(table_path(root, "videos"), "videos"):
        label, caption = labels.get(row["id"], {}), captions.get(row["id"], {})
        out.append(
            VideoRecord(
                row["id"],
                row["path"],
                caption.get("caption"),
                label.get("category") or caption.get("category"),
                label.get("is_anomaly"),
            )
        )
    return out


def _optional_records(root: Path, kind: str) -> dict[str, dict[str, Any]]:
    from svta.tables import read_records

    path = table_path(root, kind)
    return {r["id"]: r for r in read_records(path, kind)} if path.exists() else {}


def _from_folder(root: Path) -> list[VideoRecord]:
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    out, used = [], set()
    for path in files:
        relative = path.relative_to(root).as_posix()
        # A clip's id is its file stem when that is URL-safe and unique, else a stable hash of its path.
        candidate = re.sub(r"[^A-Za-z0-9._-]", "_", path.stem).lstrip("._-")[:100]
        if not candidate or candidate in used:
            candidate = f"{candidate[:80]}-{stable_id(relative, length=12)}" if candidate else stable_id(relative)
        used.add(candidate)
        out.append(VideoRecord(candidate, relative))
    return out


def make_thumbnail(path: Path, size: int) -> bytes:
    """JPEG bytes of the middle frame of ``path``, longest side ``size`` pixels."""
    from PIL import Image

    from svta.video_io import probe, read_frames

    info = probe(path)
    frame = read_frames(path, [max(0, info.frames // 2)])[0]
    image = Image.fromarray(frame)
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


class IndexWorker:
    """Encodes a batch of videos and makes their thumbnails; one per process or Ray actor.

    Args:
        encoder: an encoder instance (in-process) or the spec to build one (``create_encoder``).
        root: the dataset root the records' paths are relative to.
        thumbnail_size: longest side of thumbnails in pixels.
    """

    def __init__(self, encoder: Encoder | Mapping[str, Any], root: Path, thumbnail_size: int):
        self.encoder = encoder if isinstance(encoder, Encoder) else create_encoder(encoder)
        self.root = Path(root)
        self.thumbnail_size = thumbnail_size
        self._thumbnails = ThreadPoolExecutor(THUMBNAIL_THREADS, thread_name_prefix="svta-thumbnail")

    def __call__(self, records: list[VideoRecord]) -> list[tuple[VideoEmbeddings, bytes | None]]:
        paths = [self.root / r.path for r in records]
        thumbnails = [self._thumbnails.submit(self._thumbnail, path) for path in paths]
        try:
            embeddings = self.encoder.encode_videos(paths)  # a bad file raises; the engine retries items alone
        except BaseException:
            for future in thumbnails:
                future.cancel()
            raise
        return [(embeddings.item(i), thumbnail.result()) for i, thumbnail in enumerate(thumbnails)]

    def _thumbnail(self, path: Path) -> bytes | None:
        try:
            return make_thumbnail(path, self.thumbnail_size)
        except (SvtaError, OSError, ValueError):  # a missing thumbnail must not drop an encoded video
            return None


def _make_worker(encoder: Encoder | Mapping[str, Any], root: Path, thumbnail_size: int) -> IndexWorker:
    return IndexWorker(encoder, root, thumbnail_size)


def build_index(
    root: Path | str,
    out_dir: Path | str,
    encoder: Encoder | Mapping[str, Any],
    config: SearchConfig | None = None,
    engine: EngineConfig | None = None,
) -> IndexReport:
    """Encode every video of ``root`` that ``out_dir`` does not hold yet, and commit them.

    Args:
        root: a dataset root or a folder of video files.
        out_dir: the index directory (created, or grown incrementally).
        encoder: an encoder (used in this process) or its spec (required with a Ray engine, where
            each actor builds its own).
        config: batch size, commit size, thumbnail size and device.
        engine: the top-level ``engine:`` section shared with the video stage (``local``: in this process;
            ``ray``: ``workers`` encoder actors at ``ray_address``). Default: local.

    Returns:
        An :class:`IndexReport`; videos that fail to decode are listed there, not fatal.
    """
    config = config or SearchConfig()
    root, out_dir, start = Path(root).resolve(), Path(out_dir), time.perf_counter()
    records, rejected = collect_videos(root)
    instance = encoder if isinstance(encoder, Encoder) else create_encoder(encoder)
    fresh = not out_dir.exists()
    try:
        with exclusive_writer(out_dir):
            return _build_locked(root, out_dir, instance, config, engine or EngineConfig(), records, rejected, start)
    except SvtaError:
        if fresh and not any((out_dir / PARTS_DIR).glob("part-*.npz")):  # e.g. Ray unreachable: leave nothing
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


@contextmanager
def exclusive_writer(out_dir: Path) -> Iterator[None]:
    """Hold ``<out_dir>/.lock`` so two ``svta search index`` runs never commit into one index at once."""
    import fcntl

    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"{out_dir}: another `svta search index` is writing this index") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_locked(
    root: Path,
    out_dir: Path,
    instance: Encoder,
    config: SearchConfig,
    engine: EngineConfig,
    records: list[VideoRecord],
    rejected: list[dict[str, str]],
    start: float,
) -> IndexReport:
    store = IndexStore.open_or_create(out_dir, instance.spec(), instance.dim, instance.num_frames, root)
    done = store.done_ids()
    todo = [r for r in records if r.id not in done]
    report = IndexReport(
        str(out_dir),
        total=len(records) + len(rejected),
        already_indexed=len(records) - len(todo),
        failed=list(rejected),
    )
    if todo:
        worker_encoder: Encoder | Mapping[str, Any] = instance if engine.name == "local" else instance.spec()
        make_worker = partial(_make_worker, worker_encoder, root, config.thumbnail_size)
        _encode_and_commit(store, todo, make_worker, config, _indexing_engine(engine, config), report)
    report.count = store.compact()
    report.seconds = time.perf_counter() - start
    return report


def _indexing_engine(engine: EngineConfig, config: SearchConfig) -> EngineConfig:
    """The engine the encoders run on: local encoding stays in this process (the encoder is already loaded
    here, and torch uses the cores); on Ray each actor holds one encoder, with one GPU when encoding on CUDA."""
    if engine.name != "ray":
        return engine.model_copy(update={"workers": 1})
    gpus = engine.num_gpus_per_worker or (1.0 if config.device.startswith("cuda") else 0.0)
    return engine.model_copy(update={"num_gpus_per_worker": gpus})


def _encode_and_commit(
    store: IndexStore,
    todo: Sequence[VideoRecord],
    make_worker: Any,
    config: SearchConfig,
    engine: EngineConfig,
    report: IndexReport,
) -> None:
    from svta.engine import run_items

    pending: list[tuple[Future[None] | None, dict[str, Any], VideoEmbeddings]] = []
    writes = ThreadPoolExecutor(THUMBNAIL_WRITE_THREADS, thread_name_prefix="svta-thumbnail-write")

    def commit() -> None:
        """Wait for the pending thumbnails, commit the rows whose thumbnail is on disk; a failed write (a full
        disk) raises once the others are committed."""
        batch = pending[:]
        pending.clear()
        error = next((e for e in (f.exception() for f, *_ in batch if f is not None) if e is not None), None)
        done = [(meta, emb) for written, meta, emb in batch if written is None or written.exception() is None]
        if done:
            store.write_part([meta for meta, _ in done], _stack([e for _, e in done]))
            report.added += len(done)
        if error is not None:
            raise error

    def on_outcome(outcome: Any) -> None:
        record: VideoRecord = outcome.item
        if not outcome.ok:
            report.failed.append({"id": record.id, "path": record.path, "error": outcome.error or "failed"})
            return
        embeddings, thumbnail = outcome.result
        written = None
        if thumbnail is not None:
            written = writes.submit(
                atomic_write_bytes, store.directory / THUMBNAILS_DIR / f"{record.id}.jpg", thumbnail
            )
        pending.append((written, {**record.metadata(), "thumbnail": thumbnail is not None}, embeddings))
        if len(pending) >= config.commit_every:
            commit()

    try:
        run_items(
            todo,
            make_worker,
            engine,
            on_outcome=on_outcome,
            description="indexing videos",
            batch_size=config.batch_size,
            kind="process",
            cpus_per_worker=1.0,
        )
    finally:
        try:
            commit()  # keep what was encoded before an interruption
        finally:
            writes.shutdown(wait=True)


def _stack(items: list[VideoEmbeddings]) -> VideoEmbeddings:
    times = None
    if all(e.frame_times is not None for e in items):
        times = np.concatenate([e.frame_times for e in items])
    return VideoEmbeddings(
        np.concatenate([e.video for e in items]),
        np.concatenate([e.frames for e in items]),
        np.concatenate([e.frame_mask for e in items]),
        times,
    )
