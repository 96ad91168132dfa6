"""The rows of a release and their Parquet shards: one row per video–text pair, grouped by split,
sorted by id, cut into shards of at most ``max_shard_bytes`` (the Hub's ``data/<split>-NNNNN-of-NNNNN``
naming), so a 41k-clip dataset becomes a handful of files that ``datasets`` streams.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from svta.build.split import SPLITS
from svta.errors import InputError
from svta.tables import atomic_path
from svta.taxonomy import Taxonomy

DATA_DIR = "data"
VIDEOS_DIR = "videos"

# The release schema: what a user of the dataset sees, in this column order. ``video`` is the clip's
# path relative to the release folder; ``video_bytes`` holds the clip itself with --embed-videos.
RELEASE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("caption", pa.string()),
        ("category", pa.string()),
        ("category_name", pa.string()),
        ("group", pa.string()),
        ("is_anomaly", pa.bool_()),
        ("source", pa.string()),
        ("video", pa.string()),
        ("frames", pa.int32()),
        ("fps", pa.float64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("sha256", pa.string()),
    ]
)
FIELD_DESCRIPTIONS = {
    "id": "Stable id of the video-text pair.",
    "caption": "The English text describing the clip.",
    "category": "Taxonomy id of the event shown (68 anomaly and 30 normal categories by default).",
    "category_name": "Human-readable name of the category.",
    "group": "Taxonomy group of the category.",
    "is_anomaly": "Whether the category is an anomaly (true) or normal activity (false).",
    "source": "Which backend or import produced the pair.",
    "video": "Path of the mp4 clip, relative to the dataset folder.",
    "frames": "Number of frames in the clip.",
    "fps": "Frame rate of the clip.",
    "width": "Frame width in pixels.",
    "height": "Frame height in pixels.",
    "sha256": "SHA-256 of the clip file.",
    "video_bytes": "The mp4 file itself (only in releases exported with --embed-videos).",
}


@dataclass(frozen=True)
class Shard:
    """One Parquet file of a split."""

    split: str
    path: str  # relative to the release folder
    rows: int


def release_video_path(manifest_path: str, item_id: str) -> str:
    """Where a clip goes inside the release: its path below the root when that stays inside
    ``videos/``, else ``videos/<id>.mp4`` (clips imported in place may live outside the root)."""
    path = PurePosixPath(manifest_path)
    if path.parts and path.parts[0] == VIDEOS_DIR and ".." not in path.parts and not path.is_absolute():
        return path.as_posix()
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in item_id)
    return f"{VIDEOS_DIR}/{safe}{path.suffix or '.mp4'}"


def release_rows(manifest: list[dict[str, Any]], taxonomy: Taxonomy) -> dict[str, list[dict[str, Any]]]:
    """Manifest rows as release rows, per split, sorted by id."""
    per_split: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
    known = set(taxonomy.ids())
    for index, row in enumerate(manifest):
        split = row.get("split")
        if split not in per_split:
            raise InputError(
                f"manifest.parquet: row {index} (id {row['id']!r}) has split {split!r}, not one of {SPLITS}"
            )
        category = taxonomy.get(row["category"]) if row["category"] in known else None
        per_split[split].append(
            {
                **{name: row.get(name) for name in RELEASE_SCHEMA.names if name in row},
                "category_name": category.name if category else row["category"],
                "group": category.group if category else None,
                "video": release_video_path(row["path"], row["id"]),
            }
        )
    for rows in per_split.values():
        rows.sort(key=lambda r: r["id"])
    return per_split


def _row_bytes(row: dict[str, Any], video_sizes: dict[str, int]) -> int:
    text = sum(len(str(v)) for v in row.values() if v is not None)
    return text + video_sizes.get(row["video"], 0)


def plan_shards(rows: list[dict[str, Any]], max_bytes: int, video_sizes: dict[str, int]) -> list[list[dict[str, Any]]]:
    """Consecutive groups of rows, each at most ``max_bytes`` (estimated) unless one row alone is larger."""
    groups: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        row_size = _row_bytes(row, video_sizes)
        if current and size + row_size > max_bytes:
            groups.append(current)
            current, size = [], 0
        current.append(row)
        size += row_size
    if current:
        groups.append(current)
    return groups


def shard_name(split: str, index: int, count: int) -> str:
    return f"{DATA_DIR}/{split}-{index:05d}-of-{count:05d}.parquet"


def release_schema(embed_videos: bool) -> pa.Schema:
    return RELEASE_SCHEMA.append(pa.field("video_bytes", pa.binary())) if embed_videos else RELEASE_SCHEMA


def write_split(
    out: Path, split: str, rows: list[dict[str, Any]], max_bytes: int, video_files: dict[str, Path] | None
) -> list[Shard]:
    """Write one split's shards; with ``video_files`` (release path → file) the clips are embedded."""
    sizes = {name: path.stat().st_size for name, path in (video_files or {}).items()}
    groups = plan_shards(rows, max_bytes, sizes)
    schema = release_schema(video_files is not None)
    shards = []
    for index, group in enumerate(groups):
        name = shard_name(split, index, len(groups))
        columns = {f.name: [r.get(f.name) for r in group] for f in RELEASE_SCHEMA}
        if video_files is not None:
            columns["video_bytes"] = [video_files[r["video"]].read_bytes() for r in group]
        table = pa.Table.from_pydict(columns, schema=schema)
        with atomic_path(out / name) as tmp:
            pq.write_table(table, tmp, compression="zstd" if video_files is None else "none")
        shards.append(Shard(split, name, len(group)))
    return shards


def _shard_files(folder: Path) -> list[Path]:
    data = folder / DATA_DIR
    files = sorted(data.glob("*.parquet")) if data.is_dir() else []
    if not files:
        raise InputError(
            f"{folder}: no {DATA_DIR}/*.parquet shards; is this a folder written by `svta build export hf`?"
        )
    return files


def count_rows(folder: Path) -> int:
    """Rows in all shards, from the Parquet footers (nothing is decoded)."""
    return sum(pq.ParquetFile(path).metadata.num_rows for path in _shard_files(folder))


def read_shards(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(split, row) for every row of every shard below ``folder/data``, in file order, a batch at a time."""
    for path in _shard_files(folder):
        split = path.name.split("-", 1)[0]
        if split not in SPLITS:
            raise InputError(f"{path}: shard name does not start with a split ({', '.join(SPLITS)})")
        try:
            shard = pq.ParquetFile(path)
            missing = [name for name in RELEASE_SCHEMA.names if name not in shard.schema_arrow.names]
            if missing:
                raise InputError(f"{path}: missing column(s) {missing}; expected the svta release schema")
            for batch in shard.iter_batches(batch_size=256):
                for row in batch.to_pylist():
                    yield split, row
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputError(f"{path}: cannot read shard: {exc}") from None


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` bucket for ``n`` examples."""
    if n < 1000:
        return "n<1K"
    bounds = ["1K", "10K", "100K", "1M", "10M", "100M", "1B"]
    exponent = min(int(math.log10(n)) - 3, len(bounds) - 2)
    return f"{bounds[exponent]}<n<{bounds[exponent + 1]}"
