"""The one registry of dataset formats (kind ``dataset_format``) and the one way to read them.

A format is a :class:`DatasetFormat` class registered under one canonical, hyphenated name
(``ucfcrime-ar``): ``read`` turns a foreign file or folder into an :class:`~svta.datasets.items.ItemSet`
with the format's typed :attr:`~DatasetFormat.read_options` (a pydantic model per format, as Hugging Face
``datasets`` gives each builder its ``BuilderConfig`` subclass); formats that ``svta build`` imports or
exports also implement ``load`` / ``export`` with their typed ``Options``. An option a format does not take
is an error naming the option and the format. The other spellings users type (``ucfcrime_ar``,
``UCFCrime-AR``, ``manifest`` for an svta root) are aliases resolved by :func:`canonical_name`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from svta._configbase import StrictModel
from svta.datasets.items import BadRows, ItemSet
from svta.errors import ConfigError, InputError
from svta.registry import load_builtin_plugins, registry

DATASET_FORMATS = registry("dataset_format")
DATASET_READERS = DATASET_FORMATS  # the name this registry had when it held readers only
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
    "svta.datasets.svta_root",
    "svta.datasets.uca",
    "svta.datasets.videofolder",
    "svta.build.formats",  # msrvtt, ucfcrime-ar, svta-release, webdataset: read, import, export
    "svta.release.hf",  # hf: read, import, export
)


class ReaderOptions(StrictModel):
    """What every format's reader takes: the bad-row policy (``error`` fails naming every bad row,
    ``skip`` leaves them out and lists them)."""

    bad_rows: BadRows = "error"


class VideoReaderOptions(ReaderOptions):
    """Options of formats whose captions come with videos.

    Attributes:
        videos: the local video folder (UCFCrime-AR, UCA, MSR-VTT captions; WebDataset: where clips are
            extracted); ``None``: captions only.
        checksum: sha256 each video (``None``: whenever videos are given, so byte-identical copies are found).
        workers: threads hashing videos (UCA: also cutting clips).
    """

    videos: Path | None = None
    checksum: bool | None = None
    workers: int = 2


class DatasetFormat:
    """A dataset layout svta can ``read`` (into items), ``import`` (into a root) and/or ``export``.

    Subclasses set ``name``, ``directions``, ``read_options`` (the typed options of :meth:`read`) and
    ``Options`` (the typed options of :meth:`load` / :meth:`export`), and implement their directions.
    """

    name: ClassVar[str] = ""
    directions: ClassVar[tuple[str, ...]] = ("read",)
    read_options: ClassVar[type[ReaderOptions]] = ReaderOptions
    Options: ClassVar[type[StrictModel]] = StrictModel

    def read(self, path: Path, options: Any) -> ItemSet:
        """The items of the file or folder ``path``; formats with "read"."""
        raise unsupported(self, "read")

    def export(self, root: Path, out: Path, options: Any) -> Any:
        """Write the built root's manifest (and videos) to ``out``; formats with "export"."""
        raise unsupported(self, "export")

    def load(self, source: Path, root: Path, options: Any) -> Any:
        """Turn ``source`` into an svta root at ``root``; formats with "import"."""
        raise unsupported(self, "import")


def unsupported(fmt: DatasetFormat, direction: str) -> InputError:
    return InputError(f"format {fmt.name!r} cannot {direction} (it supports: {', '.join(fmt.directions)})")


def typed_options(fmt: DatasetFormat, model: type[StrictModel], options: Mapping[str, Any] | StrictModel | None) -> Any:
    """``options`` as the format's ``model``; an option it does not take is one :class:`ConfigError` line."""
    if isinstance(options, model):
        return options
    values = options.model_dump(exclude_unset=True) if isinstance(options, StrictModel) else dict(options or {})
    unknown = sorted(set(values) - set(model.model_fields))
    if unknown:
        raise ConfigError(
            f"format {fmt.name!r} takes no option {unknown[0]!r} (its options: {', '.join(model.model_fields)})"
        )
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"format {fmt.name!r} option {where}: {first['msg']}") from None


@dataclass(frozen=True)
class ReadOptions:
    """The options a caller may give any reader, as one value (kept for callers that build one for every
    kind of set). Only the fields a caller set away from their defaults are passed on, and each must be an
    option of the format read (else a :class:`ConfigError` names it): nothing is silently ignored.

    Attributes:
        videos, checksum, workers: see :class:`VideoReaderOptions`.
        split: the split to read from data that carries splits (``all``: every row).
        language: UCFCrime-AR caption language, ``en`` (the paper's) or ``zh``.
        bad_rows: the bad-row policy.
        mapping: caption files: our field → the file's column.
        map_to_taxonomy: UCF-Crime classes become taxonomy ids (``RoadAccidents`` → ``road_accident``).
        clips_dir, max_clip_frames: UCA clips cut per sentence.
        extra: more options of the format read, by name (e.g. an SVTA release's column names).
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
        values: dict[str, Any] = {
            k: (Path(v) if k in ("videos", "clips_dir") else v) for k, v in options.items() if v is not None
        }
        return cls(**values)

    def given(self) -> dict[str, Any]:
        """The options set away from their defaults, ``extra`` merged in."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        given = {k: v for k, v in values.items() if v != _READ_DEFAULTS[k]}
        return {**given, **(self.extra or {})}


_READ_DEFAULTS = {f.name: f.default for f in fields(ReadOptions)}


def load_readers() -> None:
    """Register the built-in formats (importing their modules is cheap)."""
    import importlib

    for module in _READER_MODULES:
        importlib.import_module(module)
    load_builtin_plugins()


def get_format(name: str) -> DatasetFormat:
    """The format registered as ``name`` or one of its spellings (``ucfcrime_ar``, ``UCFCrime-AR``, ``msr-vtt``)."""
    return DATASET_FORMATS.get(canonical_name(name))()


def takes_option(name: str, option: str) -> bool:
    """Whether the format ``name`` reads with ``option``."""
    return option in get_format(name).read_options.model_fields


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
    if key not in DATASET_FORMATS.entries:
        known = ", ".join(DATASET_FORMATS.names())
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
            f"{path}: not found (give FORMAT:PATH with FORMAT one of {', '.join(DATASET_FORMATS.names())})"
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
        f"{path}: cannot tell the format from the extension; give one of {', '.join(DATASET_FORMATS.names())}"
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


def read_dataset(
    name: str,
    path: Path | str,
    options: ReaderOptions | ReadOptions | Mapping[str, Any] | None = None,
    **keywords: Any,
) -> ItemSet:
    """Read ``path`` with the format ``name`` (``auto``: :func:`detect_reader`).

    Args:
        name: a format name or alias, or ``auto``.
        path: the dataset's file or folder.
        options: the format's typed read options, a mapping of them, or a :class:`ReadOptions`; or give
            them as ``keywords``.

    Raises:
        InputError: the data is unreadable or, with ``bad_rows="error"``, has bad rows (named).
        ConfigError: an unknown format, or an option the format does not take (named).
    """
    path = Path(path)
    load_readers()
    kind = detect_reader(path) if name == "auto" else canonical_name(name)
    if not path.exists():
        raise InputError(f"{path}: {kind} data not found")
    fmt = DATASET_FORMATS.get(kind)()
    if "read" not in fmt.directions:
        raise unsupported(fmt, "read")
    if isinstance(options, ReadOptions):
        options = options.given()
    given = {k: v for k, v in keywords.items() if v is not None}
    if given:
        options = {
            **(options.model_dump(exclude_unset=True) if isinstance(options, StrictModel) else options or {}),
            **given,
        }
    return fmt.read(path, typed_options(fmt, fmt.read_options, options))
