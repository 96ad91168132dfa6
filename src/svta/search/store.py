"""The on-disk search index: a FAISS inner-product index of clip embeddings, per-frame embeddings,
item metadata and thumbnails, grown incrementally and committed crash-safely.

Layout of an index directory::

    index.json              # format, encoder spec, dim, frames, count, current generation
    origin.json             # the absolute root indexed and the time of the last commit (this machine's facts)
    data-000003/            # one committed generation (replaced whole, switched by index.json)
        items.parquet       # rows in id order = FAISS ids: id, path, caption, category, is_anomaly, n_frames, ...
        vectors.faiss       # IndexFlatIP over L2-normalised clip embeddings [N, D]
        frames.npy          # [N, T, D] float16 per-frame embeddings (valid frames first, zero padding)
    parts/part-*.npz        # encoded batches not yet merged (a crash loses at most the batch in flight)
    thumbnails/<id>.jpg

Every file but ``origin.json`` depends only on the videos indexed, the encoder and the number of commits: a
commit writes its rows in id order, whatever order the engine finished them in, so two builds of the same
root (local or Ray, any number of workers) give byte-identical files.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from svta.errors import ConfigError, InputError
from svta.registry import require
from svta.search.encoders import VideoEmbeddings, encoder_differences
from svta.tables import atomic_path, atomic_write_json

INDEX_FORMAT = 2  # 2: root and time moved from index.json to origin.json; rows in id order
READABLE_FORMATS = (1, 2)
META_FILE = "index.json"
ORIGIN_FILE = "origin.json"
ORIGIN_FIELDS = ("root", "updated")  # facts of the machine and the moment, kept out of the compared files
PARTS_DIR = "parts"
THUMBNAILS_DIR = "thumbnails"
# Ids name thumbnail files and appear in URLs, so only this conservative alphabet is indexed.
# how an index's refusal names what differs (other keys are named as they are)
CHANGE_NAMES = {
    "decoder": "frame-decoding code",
    "fingerprint": "weights",
    "dim": "vector size",
    "num_frames": "frames",
}
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

ITEM_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("path", pa.string()),  # relative to the indexed root
        ("caption", pa.string()),
        ("category", pa.string()),
        ("is_anomaly", pa.bool_()),
        ("n_frames", pa.int32()),
        ("frame_times", pa.list_(pa.float32())),  # seconds of each sampled frame (NaN: unknown)
        ("thumbnail", pa.bool_()),
    ]
)


@dataclass
class IndexMeta:
    """The ``index.json`` of an index directory."""

    encoder: dict[str, Any]
    dim: int
    num_frames: int
    root: str
    count: int = 0
    generation: str | None = None
    format: int = INDEX_FORMAT
    updated: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        """The contents of ``index.json``: what the indexed videos and the encoder determine."""
        return {key: value for key, value in self.__dict__.items() if key not in ORIGIN_FIELDS}

    def origin_json(self) -> dict[str, Any]:
        """The contents of ``origin.json``: where the indexed root is on this machine, when the index last changed."""
        return {key: self.__dict__[key] for key in ORIGIN_FIELDS}

    def write(self, directory: Path) -> None:
        """Write ``origin.json``, then ``index.json`` (the commit point), each atomically."""
        self.format = INDEX_FORMAT
        atomic_write_json(directory / ORIGIN_FILE, self.origin_json())
        atomic_write_json(directory / META_FILE, self.to_json())


@dataclass
class LoadedIndex:
    """An index in memory, ready to search.

    Attributes:
        meta: the index's metadata.
        items: one dict per row (row ``i`` is FAISS id ``i``).
        vectors: the FAISS ``IndexFlatIP`` over ``[N, D]`` clip embeddings.
        frames: ``[N, T, D]`` float16 per-frame embeddings (memory-mapped when fully committed).
        directory: the index directory.
    """

    meta: IndexMeta
    items: list[dict[str, Any]]
    vectors: Any
    frames: np.ndarray
    directory: Path

    def __len__(self) -> int:
        return len(self.items)


class IndexStore:
    """Reads and grows one index directory.

    Args:
        directory: the index directory (created by :meth:`create`).
    """

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)
        meta_path = self.directory / META_FILE
        if not meta_path.is_file():
            raise InputError(
                f"{self.directory}: not a search index (no {META_FILE}); build one with `svta search index`"
            )
        origin_path = self.directory / ORIGIN_FILE
        try:
            data = json.loads(meta_path.read_text(encoding="utf-8"))
            if origin_path.is_file():  # format 1 kept these in index.json
                data.update(json.loads(origin_path.read_text(encoding="utf-8")))
            self.meta = IndexMeta(**data)
        except (json.JSONDecodeError, TypeError) as exc:
            raise InputError(f"{meta_path}: unreadable index metadata (with {ORIGIN_FILE}): {exc}") from None
        if self.meta.format not in READABLE_FORMATS:
            raise InputError(f"{meta_path}: index format {self.meta.format} is not supported (expected {INDEX_FORMAT})")

    @classmethod
    def open_or_create(
        cls, directory: Path | str, encoder_spec: dict[str, Any], dim: int, num_frames: int, root: Path
    ) -> IndexStore:
        """Open ``directory`` for adding, or create an empty index there.

        Raises:
            ConfigError: the existing index was built with another encoder or root (mixing
                embedding spaces would make scores meaningless).
        """
        directory = Path(directory)
        if not (directory / META_FILE).exists():
            meta = IndexMeta(encoder=dict(encoder_spec), dim=dim, num_frames=num_frames, root=str(Path(root).resolve()))
            directory.mkdir(parents=True, exist_ok=True)
            meta.write(directory)
        store = cls(directory)
        made = {**store.meta.encoder, "dim": store.meta.dim, "num_frames": store.meta.num_frames}
        asked = {**encoder_spec, "dim": dim, "num_frames": num_frames}
        changed = encoder_differences(made, asked)
        if changed:
            what = ", ".join(CHANGE_NAMES.get(key, key) for key in changed)
            details = "; ".join(f"{key} {made.get(key)!r}, now {asked.get(key)!r}" for key in changed)
            raise ConfigError(
                f"{directory}: index was made with other {what} ({details}); its vectors would not match new ones: "
                "build it again under another --out"
            )
        if Path(store.meta.root) != Path(root).resolve():
            raise ConfigError(
                f"{directory}: index covers root {store.meta.root}, not {Path(root).resolve()}; use another --out"
            )
        return store

    @property
    def root(self) -> Path:
        return Path(self.meta.root)

    def part_files(self) -> list[Path]:
        parts = self.directory / PARTS_DIR
        return sorted(p for p in parts.glob("part-*.npz") if not p.name.startswith(".")) if parts.exists() else []

    def _generation_dir(self) -> Path | None:
        return self.directory / self.meta.generation if self.meta.generation else None

    def committed_items(self) -> list[dict[str, Any]]:
        gen = self._generation_dir()
        if gen is None:
            return []
        return pq.read_table(gen / "items.parquet").to_pylist()

    def done_ids(self) -> set[str]:
        """Ids already indexed, committed or waiting in parts."""
        ids = {item["id"] for item in self.committed_items()}
        for part in self.part_files():
            ids.update(record["id"] for record in _read_part(part)[0])
        return ids

    def write_part(self, records: list[dict[str, Any]], embeddings: VideoEmbeddings) -> Path:
        """Commit one encoded batch atomically (``records[i]`` ↔ ``embeddings`` row ``i``)."""
        if len(records) != len(embeddings):
            raise ValueError(f"{len(records)} records for {len(embeddings)} embeddings")
        frames, n_frames, times = _pack_frames(embeddings)
        rows = [
            {**record, "n_frames": int(n), "frame_times": [float(t) for t in times[i, :n]]}
            for i, (record, n) in enumerate(zip(records, n_frames))
        ]
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.npz"
        path = self.directory / PARTS_DIR / name
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(
                handle,
                video=embeddings.video.astype(np.float32),
                frames=frames.astype(np.float16),
                meta=np.frombuffer(json.dumps(rows).encode("utf-8"), dtype=np.uint8),
            )
        return path

    def load(self) -> LoadedIndex:
        """The committed generation plus any parts not merged yet, ready to search."""
        faiss = require("faiss", "search")
        items, vectors, frames = self._load_committed(faiss)
        seen = {item["id"] for item in items}
        extra_items, extra_video, extra_frames = self._read_new_parts(seen)
        if extra_items:
            items = items + extra_items
            vectors.add(np.concatenate(extra_video))
            frames = np.concatenate([np.asarray(frames), *extra_frames])
        return LoadedIndex(self.meta, items, vectors, frames, self.directory)

    def _load_committed(self, faiss: Any) -> tuple[list[dict[str, Any]], Any, np.ndarray]:
        gen = self._generation_dir()
        if gen is None:
            return [], faiss.IndexFlatIP(self.meta.dim), np.zeros((0, self.meta.num_frames, self.meta.dim), np.float16)
        items = pq.read_table(gen / "items.parquet").to_pylist()
        vectors = faiss.read_index(str(gen / "vectors.faiss"))
        frames = np.load(gen / "frames.npy", mmap_mode="r")
        if vectors.ntotal != len(items) or frames.shape[0] != len(items):
            raise InputError(f"{gen}: {len(items)} items but {vectors.ntotal} vectors and {frames.shape[0]} frame rows")
        return items, vectors, frames

    def _read_new_parts(self, seen: set[str]) -> tuple[list[dict[str, Any]], list[np.ndarray], list[np.ndarray]]:
        items: list[dict[str, Any]] = []
        videos: list[np.ndarray] = []
        frames: list[np.ndarray] = []
        for part in self.part_files():
            rows, video, frame = _read_part(part)
            keep = [i for i, row in enumerate(rows) if row["id"] not in seen]
            seen.update(rows[i]["id"] for i in keep)
            if keep:
                items.extend(rows[i] for i in keep)
                videos.append(video[keep])
                frames.append(frame[keep])
        return items, videos, frames

    def compact(self) -> int:
        """Merge parts into a new generation, switch ``index.json`` to it, drop the old files.

        Returns the number of indexed videos. ``index.json`` is the commit point: a crash before it
        leaves the old generation and the parts (still loadable); after it, stale parts are ignored.
        """
        parts = self.part_files()
        if not parts and self.meta.generation:
            return self.meta.count
        faiss = require("faiss", "search")
        items, vectors, frames = self._load_committed(faiss)
        extra_items, extra_video, extra_frames = self._read_new_parts({item["id"] for item in items})
        old_gen = self._generation_dir()
        number = int(self.meta.generation.split("-")[1]) + 1 if self.meta.generation else 1
        gen = self.directory / f"data-{number:06d}"
        if gen.exists():  # a leftover of a crash before the switch
            shutil.rmtree(gen)
        gen.mkdir(parents=True)
        all_items = items + extra_items
        # id order: the files must not depend on the order the engine finished the videos in
        order = np.array(sorted(range(len(all_items)), key=lambda i: all_items[i]["id"]), dtype=np.int64)
        sorted_items = [all_items[i] for i in order]
        pq.write_table(pa.Table.from_pylist(sorted_items, schema=ITEM_SCHEMA), gen / "items.parquet")
        faiss.write_index(_sorted_vectors(faiss, vectors, extra_video, order), str(gen / "vectors.faiss"))
        _write_frames(gen / "frames.npy", [frames, *extra_frames], order, self.meta.num_frames, self.meta.dim)
        self.meta.generation, self.meta.count, self.meta.updated = gen.name, len(all_items), time.time()
        self.meta.write(self.directory)
        for part in parts:
            part.unlink(missing_ok=True)
        if (self.directory / PARTS_DIR).is_dir() and not any((self.directory / PARTS_DIR).iterdir()):
            (self.directory / PARTS_DIR).rmdir()
        if old_gen is not None and old_gen != gen:
            shutil.rmtree(old_gen, ignore_errors=True)
        return len(all_items)


def _pack_frames(embeddings: VideoEmbeddings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move each video's valid frames to the front: ``[N, T, D]``, counts ``[N]``, times ``[N, T]``."""
    frames = np.zeros_like(embeddings.frames, dtype=np.float32)
    times = np.full(embeddings.frame_mask.shape, np.nan, dtype=np.float32)
    counts = embeddings.frame_mask.sum(axis=1).astype(np.int32)
    for i in range(len(embeddings)):
        valid = np.flatnonzero(embeddings.frame_mask[i])
        frames[i, : len(valid)] = embeddings.frames[i, valid]
        if embeddings.frame_times is not None:
            times[i, : len(valid)] = embeddings.frame_times[i, valid]
    return frames, counts, times


def _read_part(path: Path) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    with np.load(path) as data:
        rows = json.loads(data["meta"].tobytes().decode("utf-8"))
        return rows, data["video"], data["frames"]


def _sorted_vectors(faiss: Any, committed: Any, extra: list[np.ndarray], order: np.ndarray) -> Any:
    """A new ``IndexFlatIP`` holding the committed then the extra vectors, rows permuted by ``order``."""
    stored = committed.reconstruct_n(0, committed.ntotal) if committed.ntotal else np.zeros((0, committed.d), "f4")
    everything = np.concatenate([stored, *extra]) if extra else stored
    out = faiss.IndexFlatIP(committed.d)
    if len(order):
        out.add(np.ascontiguousarray(everything[order], dtype=np.float32))
    return out


def _gather(sources: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Rows ``[R]`` of the concatenation of ``sources`` (each ``[n_i, T, D]``), without concatenating them."""
    bounds = np.cumsum([0] + [len(s) for s in sources])
    which = np.searchsorted(bounds, rows, side="right") - 1
    out = np.empty((len(rows), *sources[0].shape[1:]), dtype=np.float16)
    for source in np.unique(which):
        picked = np.flatnonzero(which == source)
        local = rows[picked] - bounds[source]
        ascending = np.argsort(local)  # a memory-mapped source reads fastest in row order
        out[picked[ascending]] = sources[source][local[ascending]]
    return out


def _write_frames(path: Path, sources: list[np.ndarray], order: np.ndarray, num_frames: int, dim: int) -> None:
    """Write ``[N, T, D]`` float16, row ``i`` being row ``order[i]`` of the concatenated ``sources``, by streaming
    chunks into a memory-mapped file (no full copy in RAM)."""
    with atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(len(order), num_frames, dim))
        for start in range(0, len(order), 4096):
            rows = order[start : start + 4096]
            out[start : start + len(rows)] = _gather(sources, rows)
        out.flush()
        del out
