"""A local folder of videos: find the files a foreign annotation names inside it even when its
layout differs from the one the annotation assumes (UCF-Crime is shipped as ``Abuse/Abuse028_x264.mp4``,
but also as ``Anomaly-Videos-Part-1/Abuse/...`` or flat), matching by relative path first, then by
file stem; hash the videos a set uses; and read a bare folder as a set (reader ``video-folder``).
"""

from __future__ import annotations

import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from svta.datasets.items import Item, ItemSet
from svta.datasets.readers import DATASET_FORMATS, DatasetFormat, ReaderOptions
from svta.datasets.ucf import source_key
from svta.errors import InputError
from svta.video_io import VIDEO_SUFFIXES


class VideoFolder:
    """A folder of videos, indexed by file stem on first use.

    Args:
        root: the folder (searched recursively, symlinks followed).

    Raises:
        InputError: ``root`` is not a directory.
    """

    def __init__(self, root: Path | str):
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"{self.root}: video folder not found")
        self._by_stem: dict[str, list[Path]] | None = None

    def _index(self) -> dict[str, list[Path]]:
        if self._by_stem is None:  # walked once, on the first name that is not at its path
            by_stem: dict[str, list[Path]] = defaultdict(list)
            for folder, _, files in os.walk(self.root, followlinks=True):
                for name in files:
                    if name.lower().endswith(VIDEO_SUFFIXES):
                        path = Path(folder) / name
                        by_stem[path.stem.lower()].append(path)
            self._by_stem = dict(by_stem)
        return self._by_stem

    def resolve(self, name: str) -> Path | None:
        """The file ``name`` refers to (a relative path, a file name, or a stem without extension).

        Returns:
            The path, or ``None`` when no file matches.

        Raises:
            InputError: several files share the name's stem and none sits at the name's relative path.
        """
        name = name.strip().replace("\\", "/")
        direct = self.root / name
        if name and direct.is_file():
            return direct
        stem = Path(name).stem if Path(name).suffix.lower() in VIDEO_SUFFIXES else Path(name).name
        candidates = self._index().get(stem.lower(), [])
        if len(candidates) > 1:
            # Prefer the copy whose path ends with the annotation's relative path.
            tail = [p for p in candidates if p.as_posix().lower().endswith("/" + name.lower())]
            candidates = tail if len(tail) == 1 else candidates
        if len(candidates) > 1:
            shown = ", ".join(str(p.relative_to(self.root)) for p in sorted(candidates)[:3])
            raise InputError(
                f"{self.root}: {len(candidates)} files match video {name!r} ({shown}); "
                "keep one or pass the folder that holds the intended copy"
            )
        return candidates[0] if candidates else None


def resolve_or_why(folder: VideoFolder, name: str) -> Path | str:
    """The file ``name`` refers to, or why it has none (no match, or several equally good matches):
    a per-row problem for the bad-row policy rather than an error that stops the whole read."""
    try:
        found = folder.resolve(name)
    except InputError as exc:
        return str(exc).split(": ", 1)[-1]
    return found if found is not None else f"no video file matches it under {folder.root}"


class HashingOptions(Protocol):
    """What :func:`with_checksums` reads of a reader's options."""

    @property
    def checksum(self) -> bool | None: ...

    @property
    def workers(self) -> int: ...


def with_checksums(items: ItemSet, options: HashingOptions, videos: bool | None = None) -> ItemSet:
    """The set with every video's sha256 filled in (each distinct file hashed once, in threads).

    Hashing is on whenever videos are given (``options.checksum`` is ``None``), so the overlap
    check's ``video_hash`` kind finds byte-identical copies of training clips in external sets.
    """
    videos_given = videos if videos is not None else getattr(options, "videos", None) is not None
    wanted = options.checksum if options.checksum is not None else videos_given
    paths = sorted({item.video for item in items.items if item.video is not None and item.sha256 is None})
    if not wanted or not paths:
        return items
    from svta.progress import progress
    from svta.video_io import sha256_file

    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        digests = dict(
            zip(paths, progress(pool.map(sha256_file, paths), description="hashing videos", total=len(paths)))
        )
    hashed = [item.but(sha256=digests[item.video]) if item.video in digests else item for item in items.items]
    return replace(items, items=hashed, skipped=list(items.skipped))


class VideoFolderOptions(ReaderOptions):
    """Options of the ``video-folder`` reader: hashing (on by default: the folder holds the videos)."""

    checksum: bool | None = None
    workers: int = 2


def read_video_folder(path: Path, options: VideoFolderOptions) -> ItemSet:
    """Every video below ``path`` as an item: id and caption from the file (``<stem>.txt`` beside it, else
    empty), ``source_key`` from a UCF-Crime name. Useful for video-only overlap checks (hash, frames)."""
    folder = VideoFolder(path)
    items = []
    for stem, paths in sorted(folder._index().items()):
        for video in sorted(paths):
            sidecar = video.with_suffix(".txt")
            caption = " ".join(sidecar.read_text(encoding="utf-8").split()) if sidecar.is_file() else ""
            relative = video.relative_to(folder.root).as_posix()
            item_id = stem if len(paths) == 1 else relative
            items.append(
                Item(
                    item_id,
                    caption,
                    video,
                    ref=relative,
                    source_key=source_key(relative),
                    source_ref=relative,
                    video_rel=relative,
                )
            )
    if not items:
        raise InputError(f"{path}: no video files ({', '.join(VIDEO_SUFFIXES)}) below this folder")
    return with_checksums(ItemSet(f"video-folder:{path.name}", "video-folder", items), options, videos=True)


@DATASET_FORMATS.register("video-folder", "a folder of videos (captions from <stem>.txt beside each, if any)")
class VideoFolderFormat(DatasetFormat):
    name = "video-folder"
    read_options = VideoFolderOptions

    def read(self, path: Path, options: VideoFolderOptions) -> ItemSet:
        return read_video_folder(path, options)
