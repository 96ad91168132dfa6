"""Sharded export for training at scale, in the WebDataset convention: POSIX tar shards where the
files of one sample share a key (``<key>.mp4``, ``<key>.txt``, ``<key>.json``). Shards are
byte-deterministic (sorted samples, fixed metadata) and written atomically.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from svta._configbase import StrictModel
from svta.build.formats.base import DATASET_FORMATS, FormatResult, staged_folder
from svta.build.split import SPLITS
from svta.datasets.webdataset import WebDatasetReader
from svta.errors import InputError
from svta.tables import atomic_path, atomic_write_json, read_records, table_path

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")  # WebDataset splits key from extension at the first dot


class WebDatasetOptions(StrictModel):
    shard_size: int = 1000  # samples per shard
    overwrite: bool = False  # replace a non-empty output folder
    splits: list[str] = Field(default_factory=lambda: list(SPLITS))  # "train,test" on the command line

    @field_validator("splits", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


def sample_key(item_id: str) -> str:
    return _KEY_UNSAFE.sub("_", item_id)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644  # fixed metadata: same rows, same bytes
    tar.addfile(info, io.BytesIO(data))


@DATASET_FORMATS.register(
    "webdataset", "WebDataset tar shards (<key>.mp4/.txt/.json) for training at scale (read, export)"
)
class WebDatasetFormat(WebDatasetReader):
    directions = ("read", "export")
    Options = WebDatasetOptions

    def export(self, root: Path, out: Path, options: Any) -> FormatResult:
        rows = read_records(table_path(root, "manifest"), "manifest")
        unknown = sorted(set(options.splits) - set(SPLITS))
        if unknown or options.shard_size < 1:
            raise InputError(
                f"webdataset: splits must be among {SPLITS} and shard_size >= 1 (got {unknown}, {options.shard_size})"
            )
        keys: dict[str, str] = {}
        for row in rows:
            key = sample_key(row["id"])
            if key in keys:
                raise InputError(f"webdataset: ids {keys[key]!r} and {row['id']!r} map to the same key {key!r}")
            keys[key] = row["id"]
        files, splits = [], {}
        with staged_folder(out, options.overwrite) as staging:
            for split in options.splits:
                chosen = sorted((r for r in rows if r["split"] == split), key=lambda r: r["id"])
                splits[split] = len(chosen)
                files += self._write_split(root, staging, split, chosen, options.shard_size)
        left = {s: sum(r["split"] == s for r in rows) for s in SPLITS if s not in options.splits}
        notes = [f"not exported: {split} ({n} rows; add it with --opt splits=...)" for split, n in left.items() if n]
        return FormatResult("webdataset", "export", sum(splits.values()), out, files, splits, notes=notes)

    def _write_split(self, root: Path, out: Path, split: str, rows: list[dict], shard_size: int) -> list[str]:
        shards = []
        for start in range(0, len(rows), shard_size):
            name = f"{split}/{split}-{start // shard_size:06d}.tar"
            with atomic_path(out / name) as tmp, tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
                for row in rows[start : start + shard_size]:
                    self._add_sample(tar, root, row)
            shards.append({"url": Path(name).name, "samples": len(rows[start : start + shard_size])})
        if rows:
            atomic_write_json(out / split / "shards.json", {"split": split, "samples": len(rows), "shards": shards})
        return [f"{split}/{s['url']}" for s in shards]

    @staticmethod
    def _add_sample(tar: tarfile.TarFile, root: Path, row: dict[str, Any]) -> None:
        video = root / row["path"]
        if not video.is_file():
            raise InputError(f"manifest.parquet, id {row['id']!r}: video file missing: {row['path']}")
        key = sample_key(row["id"])
        meta = {
            k: row[k] for k in ("id", "category", "is_anomaly", "split", "frames", "fps", "width", "height", "source")
        }
        _add(tar, f"{key}{video.suffix.lower() or '.mp4'}", video.read_bytes())
        _add(tar, f"{key}.txt", row["caption"].encode("utf-8"))
        _add(tar, f"{key}.json", json.dumps(meta, sort_keys=True).encode("utf-8"))
