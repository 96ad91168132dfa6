"""Item sets for cross-dataset work: an evaluation set read by any :mod:`svta.datasets` reader
(UCFCrime-AR, UCA, an svta root, MSR-VTT, caption files, ...) and the training side of a dataset root.
A *spec* names a set on the command line: ``KIND:PATH`` (any reader name or alias) or a bare path
whose kind is detected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from svta.datasets.items import BadRows, Item, ItemSet, RowProblems
from svta.datasets.ucf import source_key

# The kinds of evaluation set the commands document; every registered reader name (and alias) works.
SET_KINDS = ("ucfcrime-ar", "uca", "manifest", "captions")
SetItem = Item  # the one item type of external data
__all__ = [
    "SET_KINDS",
    "BadRows",
    "ItemSet",
    "RowProblems",
    "SetItem",
    "SetSpec",
    "load_set",
    "load_overlap_set",
    "load_training_set",
    "parse_spec",
    "set_kind",
    "source_key",
]


@dataclass(frozen=True)
class SetSpec:
    """What to load: a kind and its annotation file (or root), plus reading options.

    Attributes:
        kind: a reader name or alias (``captions``: a caption file of any kind, detected).
        path: spreadsheet, JSON, manifest/root, or caption file.
        videos: local video folder (UCFCrime-AR, UCA); ``None``: captions only.
        split: manifest split to read (``all``: every row).
        language: UCFCrime-AR caption language, ``en`` (default, as in the paper) or ``zh``.
        bad_rows: ``error`` (default) raises on the first rows with a missing video or an empty caption,
            naming them; ``skip`` leaves them out and lists them in ``skipped``.
        clips_dir: UCA only: cut one clip per sentence timestamp into this folder and use it as the video.
        max_clip_frames: UCA clips: cap on frames written per clip (uniformly subsampled).
        workers: threads hashing videos and cutting UCA clips.
        checksum: sha256 the videos (``None``: whenever a video folder is given).
    """

    kind: str
    path: Path
    videos: Path | None = None
    split: str = "test"
    language: str = "en"
    bad_rows: BadRows = "error"
    clips_dir: Path | None = None
    max_clip_frames: int = 256
    workers: int = 2
    checksum: bool | None = None


def set_kind(text: str) -> str | None:
    """The canonical kind a ``KIND`` prefix names, or ``None`` when it names no reader."""
    from svta.datasets.readers import canonical_name
    from svta.errors import ConfigError

    if text.lower() == "captions":
        return "captions"
    try:
        return canonical_name(text)
    except ConfigError:
        return None


def parse_spec(text: str | Path, **options: Any) -> SetSpec:
    """A :class:`SetSpec` from ``KIND:PATH`` or a bare path (kind detected); ``options`` fill the rest."""
    text = str(text)
    prefix, sep, rest = text.partition(":")
    kind = set_kind(prefix) if sep and len(prefix) > 1 else None  # one letter: a Windows drive
    path = Path(rest) if kind else Path(text)
    return SetSpec(kind=kind or detect_kind(path), path=path, **{k: v for k, v in options.items() if v is not None})


def detect_kind(path: Path) -> str:
    """The set kind of a file or folder (see :func:`svta.datasets.readers.detect_reader`); caption files
    of any layout are ``captions``."""
    from svta.datasets.readers import detect_reader
    from svta.errors import InputError

    if not path.exists():
        raise InputError(f"{path}: evaluation set not found (give KIND:PATH with KIND one of {', '.join(SET_KINDS)})")
    if path.is_dir() and not (path / "MSRVTT_data.json").exists():
        return "svta-root"
    kind = detect_reader(path)
    return "captions" if kind in ("csv", "jsonl", "json") else kind


def load_set(spec: SetSpec | str | Path, **options: Any) -> ItemSet:
    """Load the item set a spec names (a string spec is parsed with ``options``)."""
    from dataclasses import fields

    from svta.datasets.readers import detect_reader, read_dataset, takes_option

    if not isinstance(spec, SetSpec):
        spec = parse_spec(spec, **options)
    kind = detect_reader(spec.path) if spec.kind == "captions" else spec.kind
    # A spec's defaults apply to the kinds that take them (a caption file has no split); a value set away
    # from its default is passed on, and a format that does not take it says so.
    read = {
        f.name: getattr(spec, f.name)
        for f in fields(spec)
        if f.name not in ("kind", "path") and (takes_option(kind, f.name) or getattr(spec, f.name) != f.default)
    }
    return read_dataset(kind, spec.path, **read)


def load_training_set(
    root: Path | str,
    splits: tuple[str, ...] | None = ("train", "val"),
    table: Literal["auto", "manifest", "captions"] = "auto",
) -> ItemSet:
    """The training side of a dataset root (see :func:`svta.datasets.svta_root.read_training_side`)."""
    from svta.datasets.svta_root import read_training_side

    return read_training_side(root, splits, table)


def load_overlap_set(
    spec: str | Path, videos: Path | None = None, bad_rows: BadRows = "error", **options: Any
) -> tuple[ItemSet, list[tuple[str, str]]]:
    """An evaluation set for the overlap check: every row with a usable caption, each with its video where the
    file is present. Text and name matching need no video, so a missing file is noted, never fatal.

    Args:
        spec: the set spec (``KIND:PATH`` or a path).
        videos: the video folder, or ``None`` for captions only.
        bad_rows: the policy for rows that are bad without videos (an empty caption, a duplicate name).
        options: other :class:`SetSpec` fields (split, language, ...).

    Returns:
        ``(the set, [(where, why) of each row whose video is missing or unreadable]``).
    """
    texts = load_set(spec, videos=None, bad_rows=bad_rows, **options)
    if videos is None:
        return texts, []
    with_videos = load_set(spec, videos=videos, bad_rows="skip", **options)
    found = {item.id: item for item in with_videos.items}
    caption_problems = set(texts.skipped)
    missing = [(where, why) for where, why in with_videos.skipped if (where, why) not in caption_problems]
    items = [found.get(item.id, item) for item in texts.items]
    return ItemSet(texts.name, texts.kind, items, list(texts.skipped)), missing
