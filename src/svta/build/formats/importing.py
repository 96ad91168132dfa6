"""Shared import machinery: foreign items (caption, category, video file, split) become an svta
root — videos placed under ``<root>/videos``, probed and hashed, and the captions, labels, videos
and manifest tables written. Items whose video is missing or unreadable are skipped and reported.
"""

from __future__ import annotations

import math
import os
import shutil
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from svta._configbase import StrictModel
from svta.build.formats.base import FormatResult
from svta.build.split import SPLITS, stratified_split
from svta.errors import InputError, SvtaError
from svta.progress import progress
from svta.tables import table_path, write_table

SPLIT_NAMES = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validate": "val", "validation": "val", "dev": "val",
    "test": "test", "testing": "test",
}  # fmt: skip


class ImportOptions(StrictModel):
    """Options every importer takes."""

    link: Literal["symlink", "copy", "hardlink", "none"] = "symlink"  # none: reference files in place
    checksum: bool = True  # sha256 every video (videos.parquet is only written with checksums)
    overwrite: bool = False  # replace the tables of a root that already has some
    seed: int = 0  # split seed for data that carries no split
    split: tuple[float, float, float] = (0.7, 0.1, 0.2)
    workers: int = 4  # threads probing and hashing videos


@dataclass
class ImportedItem:
    """One video–caption pair read from a foreign dataset."""

    id: str
    caption: str
    category: str
    is_anomaly: bool
    video: Path  # the source video file
    video_rel: str  # where it goes below <root>/videos
    split: str | None = None  # None: assigned by a stratified split
    ref: str = ""  # where it came from (file and row), kept as source_ref


def normalize_split(value: Any, where: str) -> str | None:
    """``train``/``val``/``test`` from the many spellings datasets use; None for an empty value."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return None
    split = SPLIT_NAMES.get(str(value).strip().lower())
    if split is None:
        raise InputError(f"{where}: unknown split {value!r} (expected one of {sorted(SPLIT_NAMES)})")
    return split


def check_root(root: Path, overwrite: bool) -> None:
    existing = [k for k in ("captions", "manifest") if table_path(root, k).exists()]
    if existing and not overwrite:
        raise InputError(
            f"{root}: already holds {existing[0]}.parquet; import into an empty root or pass overwrite=true"
        )


def place_video(source: Path, dest: Path, root: Path, link: str) -> str:
    """Put ``source`` at ``dest`` (or reference it in place) and return its path relative to ``root``."""
    if link == "none":
        return os.path.relpath(source.resolve(), root.resolve())
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink() or dest.exists():
        dest.unlink()
    if link == "symlink":
        dest.symlink_to(source.resolve())
    elif link == "hardlink":
        os.link(source, dest)
    else:
        shutil.copy2(source, dest)
    return dest.relative_to(root).as_posix()


def _prepare_video(source: Path, dest: Path, root: Path, options: ImportOptions) -> dict[str, Any] | str:
    """The videos-table fields of one source video, or why it was skipped."""
    from svta.video_io import probe, sha256_file

    if not source.is_file():
        return f"video not found: {source}"
    try:
        info = probe(source)
    except SvtaError as exc:
        return f"unreadable video: {exc}"
    relative = place_video(source, dest, root, options.link)
    return {
        "path": relative,
        "frames": int(info.frames),
        "fps": float(info.fps),
        "width": int(info.width),
        "height": int(info.height),
        "sha256": sha256_file(source) if options.checksum else None,
    }


def write_import(
    items: Sequence[ImportedItem], root: Path, options: ImportOptions, fmt: str, skipped: list[tuple[str, str]]
) -> FormatResult:
    """Place and probe the videos, split what has no split, and write the four tables."""
    check_root(root, options.overwrite)
    if not items:
        raise InputError(f"{fmt}: nothing to import ({len(skipped)} item(s) skipped)")
    root.mkdir(parents=True, exist_ok=True)
    by_video: dict[Path, str] = {item.video: item.video_rel for item in items}
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        jobs = {
            src: pool.submit(_prepare_video, src, root / "videos" / rel, root, options) for src, rel in by_video.items()
        }
        videos = {src: job.result() for src, job in progress(list(jobs.items()), description="importing videos")}
    kept = []
    for item in items:
        video = videos[item.video]
        if isinstance(video, str):
            skipped.append((item.id, video))
        else:
            kept.append(item)
    if not kept:
        raise InputError(f"{fmt}: no item has a readable video; first problem: {skipped[0][1]}")
    _assign_splits(kept, options)
    _write_tables(kept, videos, root, options, fmt)
    return FormatResult(
        format=fmt,
        direction="import",
        n_items=len(kept),
        out=root,
        files=["captions.parquet", "labels.parquet", "manifest.parquet"]
        + (["videos.parquet"] if options.checksum else []),
        splits={s: sum(i.split == s for i in kept) for s in SPLITS},
        skipped=skipped,
    )


def _assign_splits(items: list[ImportedItem], options: ImportOptions) -> None:
    unsplit: dict[str, list[str]] = defaultdict(list)
    for item in items:
        if item.split is None:
            unsplit[item.category].append(item.id)
    if unsplit:
        assigned = stratified_split(unsplit, options.split, options.seed)
        for item in items:
            item.split = item.split or assigned[item.id]


def _write_tables(
    items: list[ImportedItem], videos: dict[Path, Any], root: Path, options: ImportOptions, fmt: str
) -> None:
    source = f"import:{fmt}"
    captions, labels, video_rows, manifest = [], [], [], []
    for item in items:
        video = videos[item.video]
        captions.append(
            {
                "id": item.id,
                "caption": item.caption,
                "category": item.category,
                "source": source,
                "source_ref": item.ref,
            }
        )
        labels.append(
            {
                "id": item.id,
                "category": item.category,
                "is_anomaly": item.is_anomaly,
                "method": source,
                "reviewed": True,
            }
        )
        video_rows.append({"id": item.id, **video, "backend": source})
        manifest.append({"id": item.id, "caption": item.caption, "category": item.category, "is_anomaly": item.is_anomaly,
                         "split": item.split, "source": source, **video})  # fmt: skip
    write_table(captions, table_path(root, "captions"), "captions")
    write_table(labels, table_path(root, "labels"), "labels")
    if options.checksum:
        write_table(video_rows, table_path(root, "videos"), "videos")
    write_table(manifest, table_path(root, "manifest"), "manifest")
