"""The registry of external-data readers (kind ``dataset_reader``) and the one way to call them.

Every reader is a function ``read(path, options) -> ItemSet`` registered under one canonical,
hyphenated name (``ucfcrime-ar``); the other spellings users type (``ucfcrime_ar``, ``UCFCrime-AR``,
``manifest`` for an svta root) are accepted as aliases by :func:`canonical_name`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from svta.datasets.items import BadRows, ItemSet
from svta.errors import ConfigError, InputError
from svta.registry import registry

DATASET_READERS = registry("dataset_reader")
# Spellings that a hyphen/lower-case rewrite does not reach.
ALIASES = {
    "manifest": "svta-root",
    "root": "svta-root",
    "msr-vtt": "msrvtt",
    "ucf-crime-ar": "ucfcrime-ar",
    "wds": "webdataset",
    "videos": "video-folder",
    "videofolder": "video-folder",
    "folder": "video-folder",
    "release": "svta-release",
}
_READER_MODULES = (
    "svta.datasets.captions_file",
    "svta.datasets.hf_release",
    "svta.datasets.msrvtt",
    "svta.datasets.svta_release",
    "svta.datasets.svta_root",
    "svta.datasets.uca",
    "svta.datasets.ucfcrime_ar",
    "svta.datasets.videofolder",
    "svta.datasets.webdataset",
)
Reader = Callable[[Path, "ReadOptions"], ItemSet]


@dataclass(frozen=True)
class ReadOptions:
    """What every reader may be asked; each reader reads the fields that apply to it.

    Attributes:
        videos: the local video folder (UCFCrime-AR, UCA, MSR-VTT captions); ``None``: captions only.
        split: the split to read from data that carries splits (``all``: every row).
        language: UCFCrime-AR caption language, ``en`` (the paper's) or ``zh``.
        bad_rows: ``error`` fails naming every bad row; ``skip`` leaves them out and lists them.
        checksum: sha256 each video (``None``: whenever videos are given, so byte-identical copies are found).
        mapping: caption files and releases: our field → the file's column.
        map_to_taxonomy: UCF-Crime classes become taxonomy ids (``RoadAccidents`` → ``road_accident``).
        clips_dir: UCA: cut one clip per sentence timestamp into this folder and use it as the video.
        max_clip_frames: UCA clips: cap on frames written per clip.
        workers: threads hashing videos or cutting clips.
        extra: reader-specific options (e.g. an SVTA release's column names).
    """

    videos: Path | None = None
    split: str = "all"
    language: str = "en"
    bad_rows: BadRows = "error"
    checksum: bool | None = None
    mapping: dict[str, str] | None = None
    map_to_taxonomy: bool = True
    clips_dir: Path | None = None
    max_clip_frames: int = 256
    workers: int = 2
    extra: dict[str, Any] | None = None

    @classmethod
    def of(cls, **options: Any) -> ReadOptions:
        """Options from keywords (``None`` values keep the defaults); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"unknown reader option(s) {unknown}; options: {', '.join(sorted(known))}")
        values = {k: (Path(v) if k in ("videos", "clips_dir") else v) for k, v in options.items() if v is not None}
        return cls(**values)


def load_readers() -> None:
    """Register the built-in readers (importing their modules is cheap)."""
    import importlib

    for module in _READER_MODULES:
        importlib.import_module(module)


def normalize_name(name: str) -> str:
    """A user's spelling of a format as registries spell names: lower case, hyphens, known aliases."""
    key = name.strip().lower().replace("_", "-")
    return ALIASES.get(key, key)


def canonical_name(name: str) -> str:
    """The registered name a user's spelling means (``ucfcrime_ar`` → ``ucfcrime-ar``).

    Raises:
        ConfigError: no reader has that name or alias.
    """
    load_readers()
    key = normalize_name(name)
    if key not in DATASET_READERS.entries:
        known = ", ".join(DATASET_READERS.names())
        raise ConfigError(f"unknown dataset format {name!r}; known: {known} (aliases: {', '.join(sorted(ALIASES))})")
    return key


def detect_reader(path: Path) -> str:
    """The reader of a file or folder, from its name and the start of its content."""
    from svta.datasets.files import load_json, read_text

    load_readers()
    if path.is_dir():
        return _detect_folder(path)
    if not path.exists():
        raise InputError(
            f"{path}: not found (give FORMAT:PATH with FORMAT one of {', '.join(DATASET_READERS.names())})"
        )
    suffix = path.suffix.lower()
    by_suffix = {
        ".parquet": "svta-root",
        ".xlsx": "ucfcrime-ar",
        ".xlsm": "ucfcrime-ar",
        ".jsonl": "jsonl",
        ".tar": "webdataset",
    }
    if suffix in by_suffix:
        return by_suffix[suffix]
    if suffix in (".csv", ".tsv"):
        header = read_text(path)[:4096].splitlines()[:1]
        return "ucfcrime-ar" if header and "English Text" in header[0] else "csv"
    if suffix == ".json":
        data = load_json(path)
        if isinstance(data, dict) and "sentences" in data and "videos" in data:
            return "msrvtt"
        if isinstance(data, dict) and data and all(isinstance(v, dict) and "sentences" in v for v in data.values()):
            return "uca"
        return "json"
    raise InputError(
        f"{path}: cannot tell the format from the extension; give one of {', '.join(DATASET_READERS.names())}"
    )


def _detect_folder(path: Path) -> str:
    from svta.tables import table_path

    if table_path(path, "manifest").exists() or table_path(path, "captions").exists():
        return "svta-root"
    if (path / "MSRVTT_data.json").is_file():
        return "msrvtt"
    if any(path.glob("*.tar")) or any(path.glob("*/*.tar")):
        return "webdataset"
    return "video-folder"


def read_dataset(name: str, path: Path | str, options: ReadOptions | None = None, **keywords: Any) -> ItemSet:
    """Read ``path`` with the reader ``name`` (``auto``: :func:`detect_reader`).

    Args:
        name: a reader name or alias, or ``auto``.
        path: the dataset's file or folder.
        options: reading options (or give them as ``keywords``).

    Raises:
        InputError: the data is unreadable or, with ``bad_rows="error"``, has bad rows (named).
        ConfigError: an unknown reader or option.
    """
    path = Path(path)
    load_readers()
    kind = detect_reader(path) if name == "auto" else canonical_name(name)
    if not path.exists():
        raise InputError(f"{path}: {kind} data not found")
    options = options or ReadOptions.of(**keywords)
    reader: Reader = DATASET_READERS.get(kind)
    return reader(path, options)
