"""A release folder written by ``svta build export hf`` (reader ``hf``): the rows of its Parquet shards
(a split, or all), each clip resolved inside the folder. Releases with embedded clips
(``--embed-videos``) give caption-only items; import them with ``svta build import hf`` to get the files.
"""

from __future__ import annotations

from pathlib import Path

from svta.datasets.items import Item, ItemSet, RowProblems
from svta.datasets.readers import DatasetFormat, ReaderOptions
from svta.datasets.ucf import source_key


class HFReadOptions(ReaderOptions):
    """Options of the ``hf`` reader."""

    split: str = "all"  # train, val, test or all


def read_hf_release(path: Path, options: HFReadOptions) -> ItemSet:
    """The pairs of ``options.split`` (``all``: every split) of the release at ``path``."""
    from svta.release.shards import read_shards

    problems = RowProblems(path, options.bad_rows)
    items = []
    for index, (split, row) in enumerate(read_shards(path), start=1):
        if options.split not in ("all", split):
            continue
        video = path / row["video"] if row.get("video_bytes") is None else None
        if video is not None and not video.is_file():
            problems.add(f"{split}: row {index} (id {row['id']!r})", f"clip not found: {row['video']}")
            continue
        items.append(
            Item(
                row["id"],
                row["caption"],
                video,
                row["category"],
                bool(row["is_anomaly"]),
                f"{split}: row {index}",
                source_key(row["video"]),
                row.get("sha256"),
                split=split,
                video_rel=row["video"],
            )
        )
    return problems.result(f"hf:{path.name}/{options.split}", "hf", items, what="pair")


class HFReader(DatasetFormat):
    """Reading a release folder (registered with its import and export by :mod:`svta.release.hf`)."""

    name = "hf"
    read_options = HFReadOptions

    def read(self, path: Path, options: HFReadOptions) -> ItemSet:
        return read_hf_release(path, options)
