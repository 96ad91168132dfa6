"""Shared import machinery: items read by a :mod:`svta.datasets` reader (caption, category, video
file, split) become an svta root — videos placed under ``<root>/videos``, probed and hashed, and the
captions, labels, videos and manifest tables written. Items whose video is missing or unreadable are
skipped and listed with the rows the reader skipped.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from svta._configbase import StrictModel
from svta.build.formats.base import FormatResult
from svta.build.split import SPLITS, stratified_split
from svta.datasets.items import Item, ItemSet, RowProblems, bad_rows_policy
from svta.datasets.msrvtt import SPLIT_NAMES, normalize_split
from svta.datasets.readers import ReaderOptions
from svta.errors import InputError, SvtaError
from svta.progress import progress
from svta.tables import table_path, write_table

__all__ = ["SPLIT_NAMES", "ImportOptions", "normalize_split", "read_options", "write_import"]


class ImportOptions(StrictModel):
    """Options every importer takes."""

    skip_bad_rows: bool = False  # False: a bad row (or an unusable video) fails the import, naming it; True: listed
    link: Literal["symlink", "copy", "hardlink", "none"] = "symlink"  # none: reference files in place
    checksum: bool = True  # sha256 every video (videos.parquet is only written with checksums)
    overwrite: bool = False  # replace the tables of a root that already has some
    seed: int = 0  # split seed for data that carries no split
    split: tuple[float, float, float] = (0.7, 0.1, 0.2)
    workers: int = 4  # threads probing and hashing videos


def read_options(options: ImportOptions, model: type[ReaderOptions], **fields: Any) -> Any:
    """The format's typed read options for an import: the bad-row policy of ``skip_bad_rows`` (an import that
    skipped rows exits 3), no hashing by the reader (the import hashes the videos it keeps), and ``fields``."""
    values = {"bad_rows": bad_rows_policy(options.skip_bad_rows), **fields}
    if "checksum" in model.model_fields:
        values["checksum"] = False
    return model(**values)


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


def _probe_video(source: Path, options: ImportOptions) -> dict[str, Any] | str:
    """The videos-table fields of one source video (its ``path`` still to be set), or why it is unusable."""
    from svta.video_io import probe, sha256_file

    if not source.is_file():
        return f"video not found: {source}"
    try:
        info = probe(source)
    except SvtaError as exc:
        return f"unreadable video: {exc}"
    return {
        "path": None,
        "frames": int(info.frames),
        "fps": float(info.fps),
        "width": int(info.width),
        "height": int(info.height),
        "sha256": sha256_file(source) if options.checksum else None,
    }


def write_import(
    items: Sequence[Item] | ItemSet,
    root: Path,
    options: ImportOptions,
    fmt: str,
    skipped: list[tuple[str, str]] | None = None,
) -> FormatResult:
    """Probe the videos, apply the bad-row policy to the unusable ones, then place the videos, split what
    has no split and write the four tables (nothing is written when the policy fails the import).

    Args:
        items: the items to import (an :class:`ItemSet` brings its skipped rows and notes along); each needs a
            caption, a category, ``is_anomaly``, a ``video`` and its ``video_rel``.
        skipped: ``(where, why)`` of rows already left out; the result lists them and the videos that fail.
    """
    notes: list[str] = []
    if isinstance(items, ItemSet):
        skipped, notes = [*items.skipped, *(skipped or [])], list(items.notes)
        items = items.items
    check_root(root, options.overwrite)
    if not items:
        raise InputError(f"{fmt}: nothing to import ({len(skipped or [])} item(s) skipped)")
    by_video: dict[Path, str] = {}
    for item in items:
        path = _video_of(item, fmt)
        by_video[path] = item.video_rel or path.name
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        jobs = {src: pool.submit(_probe_video, src, options) for src in by_video}
        videos = {src: job.result() for src, job in progress(list(jobs.items()), description="importing videos")}
    problems = RowProblems(f"{fmt} import", bad_rows_policy(options.skip_bad_rows))
    problems.skipped = list(skipped or [])
    kept = []
    for item in items:
        video = videos[_video_of(item, fmt)]
        if isinstance(video, str):
            problems.add(item.ref or item.id, video)
        else:
            kept.append(item)
    problems.finish()
    if not kept:
        first = problems.skipped[0]
        raise InputError(f"{fmt}: no item has a readable video; first problem: {first[0]}: {first[1]}")
    root.mkdir(parents=True, exist_ok=True)
    for src, rel in by_video.items():
        if isinstance(videos[src], dict):
            videos[src]["path"] = place_video(src, root / "videos" / rel, root, options.link)  # type: ignore[index]
    kept = _assign_splits(kept, options)
    _write_tables(kept, videos, root, options, fmt)
    return FormatResult(
        format=fmt,
        direction="import",
        n_items=len(kept),
        out=root,
        files=["captions.parquet", "labels.parquet", "manifest.parquet"]
        + (["videos.parquet"] if options.checksum else []),
        splits={s: sum(i.split == s for i in kept) for s in SPLITS},
        skipped=problems.skipped,
        notes=notes,
    )


def _video_of(item: Item, fmt: str) -> Path:
    """The item's video file (an import copies videos: a caption-only item cannot be imported)."""
    if item.video is None:
        raise InputError(f"{fmt}: item {item.id!r} ({item.ref or 'no source row'}) has no video to import")
    return item.video


def _assign_splits(items: list[Item], options: ImportOptions) -> list[Item]:
    unsplit: dict[str, list[str]] = defaultdict(list)
    for item in items:
        if item.split is None:
            unsplit[str(item.category)].append(item.id)
    if not unsplit:
        return items
    assigned = stratified_split(unsplit, options.split, options.seed)
    return [item if item.split else replace(item, split=assigned[item.id]) for item in items]


def _write_tables(items: list[Item], videos: dict[Path, Any], root: Path, options: ImportOptions, fmt: str) -> None:
    source = f"import:{fmt}"
    captions, labels, video_rows, manifest = [], [], [], []
    for item in items:
        video = videos[_video_of(item, fmt)]
        captions.append(
            {
                "id": item.id,
                "caption": item.caption,
                "category": item.category,
                "source": source,
                "source_ref": item.source_ref or item.ref,
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
        manifest.append(
            {
                "id": item.id,
                "caption": item.caption,
                "category": item.category,
                "is_anomaly": item.is_anomaly,
                "split": item.split,
                "source": source,
                **video,
            }
        )
    write_table(captions, table_path(root, "captions"), "captions")
    write_table(labels, table_path(root, "labels"), "labels")
    if options.checksum:
        write_table(video_rows, table_path(root, "videos"), "videos")
    write_table(manifest, table_path(root, "manifest"), "manifest")
