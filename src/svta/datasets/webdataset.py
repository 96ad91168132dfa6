"""WebDataset shards (reader ``webdataset``): POSIX tar files whose members of one sample share a key
(``<key>.mp4``, ``<key>.txt``, ``<key>.json``), as ``svta build export webdataset`` writes them. Captions and
labels come from ``.txt``/``.json``; videos are extracted (once) into ``options.videos`` when given.
"""

from __future__ import annotations

import json
import tarfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from svta.datasets.items import Item, ItemSet, RowProblems, bad_caption, checked_caption
from svta.datasets.readers import DatasetFormat, VideoReaderOptions
from svta.datasets.videofolder import with_checksums
from svta.errors import InputError
from svta.tables import atomic_path
from svta.video_io import VIDEO_SUFFIXES


def shards_of(path: Path) -> list[Path]:
    """The tar shards of a file or folder (a folder's ``*.tar`` and ``*/*.tar``, sorted)."""
    shards = [path] if path.is_file() else sorted([*path.glob("*.tar"), *path.glob("*/*.tar")])
    if not shards:
        raise InputError(f"{path}: no .tar shards here (expected <split>/<split>-000000.tar files)")
    return shards


def _samples(shard: Path) -> dict[str, dict[str, tarfile.TarInfo]]:
    """key → {extension: member} of one shard (the key ends at the member name's first dot)."""
    try:
        with tarfile.open(shard) as tar:
            members = tar.getmembers()
    except (OSError, tarfile.TarError) as exc:
        raise InputError(f"{shard}: not a readable tar shard: {exc}") from None
    samples: dict[str, dict[str, tarfile.TarInfo]] = defaultdict(dict)
    for member in members:
        if member.isfile():
            key, _, ext = Path(member.name).name.partition(".")
            samples[key]["." + ext.lower()] = member
    return dict(samples)


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    return handle.read() if handle is not None else b""


class WebDatasetReadOptions(VideoReaderOptions):
    """Options of the ``webdataset`` reader (``videos``: the folder clips are extracted into)."""

    split: str = "all"


def _shard_items(shard: Path, options: WebDatasetReadOptions, problems: RowProblems) -> list[Item]:
    items = []
    with tarfile.open(shard) as tar:
        for key, members in sorted(_samples(shard).items()):
            where = f"{shard.name}: {key}"
            meta: dict[str, Any] = json.loads(_read(tar, members[".json"])) if ".json" in members else {}
            text, why = checked_caption(_read(tar, members[".txt"]).decode("utf-8") if ".txt" in members else "")
            clip = next((m for ext, m in members.items() if ext in VIDEO_SUFFIXES), None)
            if text is None or clip is None:
                problems.add(where, bad_caption(".txt", why) if text is None else "no video member")
                continue
            video = None
            if options.videos is not None:
                video = options.videos / f"{key}{Path(clip.name).suffix.lower()}"
                if not video.is_file():
                    with atomic_path(video) as tmp:
                        tmp.write_bytes(_read(tar, clip))
            split = meta.get("split")
            if options.split not in ("all", split):
                continue
            items.append(
                Item(
                    str(meta.get("id", key)),
                    text,
                    video,
                    meta.get("category"),
                    meta.get("is_anomaly"),
                    where,
                    split=split,
                    source_ref=key,
                    video_rel=video.name if video else None,
                )
            )
    return items


def read_webdataset(path: Path, options: WebDatasetReadOptions) -> ItemSet:
    problems = RowProblems(path, options.bad_rows)
    items = [item for shard in shards_of(path) for item in _shard_items(shard, options, problems)]
    return with_checksums(problems.result(f"webdataset:{path.name}", "webdataset", items, "sample"), options)


class WebDatasetReader(DatasetFormat):
    """Reading WebDataset shards (registered with the export by :mod:`svta.build.formats.webdataset`)."""

    name = "webdataset"
    read_options = WebDatasetReadOptions

    def read(self, path: Path, options: WebDatasetReadOptions) -> ItemSet:
        return read_webdataset(path, options)
