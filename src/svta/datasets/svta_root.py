"""An svta dataset root (reader ``svta-root``, alias ``manifest``): the rows of its manifest (a split,
or all), videos resolved against the root; and the training side of a root for overlap checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from svta.datasets.items import Item, ItemSet
from svta.datasets.readers import DATASET_FORMATS, DatasetFormat, ReaderOptions
from svta.datasets.ucf import source_key
from svta.datasets.videofolder import with_checksums
from svta.errors import InputError
from svta.tables import read_records, table_path


def manifest_root(path: Path) -> tuple[Path, Path]:
    """(root, manifest file) of a root folder or a manifest file."""
    manifest = table_path(path, "manifest") if path.is_dir() else path
    if not manifest.is_file():
        raise InputError(f"{manifest}: no manifest (run `svta build`, or give the manifest.parquet itself)")
    return manifest.parent, manifest


def _manifest_items(root: Path, manifest: Path, splits: tuple[str, ...] | None) -> list[Item]:
    rows = read_records(manifest, "manifest")
    return [
        Item(
            r["id"],
            r["caption"],
            root / r["path"],
            r["category"],
            bool(r["is_anomaly"]),
            f"{manifest.name}: row {i + 1}",
            source_key(r["path"]),
            r.get("sha256"),
            split=r["split"],
            source_ref=r.get("source_ref"),
            video_rel=r["path"],
        )
        for i, r in enumerate(rows)
        if splits is None or r["split"] in splits
    ]


class SvtaRootOptions(ReaderOptions):
    """Options of the ``svta-root`` reader (a built manifest has no bad rows: ``bad_rows`` is accepted)."""

    split: str = "all"  # a manifest split, or all
    checksum: bool | None = None  # True: sha256 the clips whose manifest row has none (an import without checksums)
    workers: int = 2  # threads hashing clips


def read_svta_root(path: Path, options: SvtaRootOptions) -> ItemSet:
    """The rows of a built root's manifest in ``options.split`` (``all``: every split)."""
    root, manifest = manifest_root(path)
    items = _manifest_items(root, manifest, None if options.split == "all" else (options.split,))
    if not items:
        splits = sorted({str(row["split"]) for row in read_records(manifest, "manifest")})
        raise InputError(f"{manifest}: split {options.split!r} has no rows (splits: {', '.join(splits) or 'none'})")
    found = ItemSet(f"manifest:{root.name}/{options.split}", "svta-root", items)
    return with_checksums(found, options, videos=False) if options.checksum else found


def reread_training_side(root: Path | str, kind: str | None, name: str) -> ItemSet | None:
    """``root``'s training side read the way the one summarised as ``kind`` and ``name`` was (the splits are in
    the name :func:`read_training_side` gives); ``None`` for another kind or when ``root`` lacks that table."""
    if kind not in ("manifest", "captions"):
        return None
    label = name.partition("/")[2]
    splits = None if kind == "captions" or label == "all" else tuple(label.split("+"))
    try:
        return read_training_side(root, splits, table="manifest" if kind == "manifest" else "captions")
    except InputError:
        return None


def read_training_side(
    root: Path | str,
    splits: tuple[str, ...] | None = ("train", "val"),
    table: Literal["auto", "manifest", "captions"] = "auto",
) -> ItemSet:
    """The training side of a dataset root.

    Args:
        root: the dataset root.
        splits: manifest splits the model could have seen (default train and val: val picks the checkpoint);
            ``None``: every split.
        table: ``manifest`` (the built dataset), ``captions`` (``captions.parquet``, with video paths from
            ``videos.parquet`` when present: what ``svta build --exclude-from`` filters), or ``auto``
            (the manifest when it exists).
    """
    root = Path(root)
    manifest = table_path(root, "manifest")
    if table == "manifest" or (table == "auto" and manifest.exists()):
        label = "all" if splits is None else "+".join(splits)
        return ItemSet(f"{root.name}/{label}", "manifest", _manifest_items(root, manifest, splits))
    captions = table_path(root, "captions")
    if not captions.exists():
        raise InputError(f"{root}: no manifest.parquet or captions.parquet to read training captions from")
    videos_path = table_path(root, "videos")
    videos = {v["id"]: v for v in read_records(videos_path, "videos")} if videos_path.exists() else {}
    items = []
    for i, row in enumerate(read_records(captions, "captions")):
        video = videos.get(row["id"])
        items.append(
            Item(
                row["id"],
                row["caption"],
                root / video["path"] if video else None,
                row["category"],
                None,
                row.get("source_ref") or f"{captions.name}: row {i + 1}",
                source_key(row.get("source_ref"), video["path"] if video else None),
                video["sha256"] if video else None,
                source_ref=row.get("source_ref"),
            )
        )
    return ItemSet(f"{root.name}/captions", "captions", items)


@DATASET_FORMATS.register("svta-root", "an svta dataset root (its manifest; alias: manifest)")
class SvtaRootFormat(DatasetFormat):
    name = "svta-root"
    read_options = SvtaRootOptions

    def read(self, path: Path, options: SvtaRootOptions) -> ItemSet:
        return read_svta_root(path, options)
