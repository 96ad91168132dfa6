"""What a dataset format is (registry kind ``dataset_format``) and the two entry points that use
one: :func:`export_dataset` writes a built root in a foreign layout, :func:`import_dataset` turns a
foreign dataset into an svta root (tables + manifest).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from svta._configbase import StrictModel
from svta.errors import ConfigError, InputError
from svta.registry import registry

DATASET_FORMATS = registry("dataset_format")


@dataclass
class FormatResult:
    """What an export or import wrote."""

    format: str
    direction: str  # "export" | "import"
    n_items: int
    out: Path
    files: list[str] = field(default_factory=list)  # main files written, relative to ``out``
    splits: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why): every item left out
    notes: list[str] = field(default_factory=list)  # what was read and what was not (sheets, splits)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["out"] = str(self.out)
        data["skipped"] = [{"where": where, "why": why} for where, why in self.skipped]
        return data


class DatasetFormat:
    """A layout svta can write (``export``) and/or read (``load``).

    Subclasses set ``name``, ``Options`` (a pydantic model: the format's typed options) and
    implement the directions they list in ``directions``.
    """

    name: ClassVar[str] = ""
    directions: ClassVar[tuple[str, ...]] = ()
    Options: ClassVar[type[StrictModel]] = StrictModel

    def export(self, root: Path, out: Path, options: Any) -> FormatResult:
        """Write the built root's manifest (and videos) to ``out``; formats with "export"."""
        raise _unsupported(self, "export")

    def load(self, source: Path, root: Path, options: Any) -> FormatResult:
        """Turn ``source`` into an svta root at ``root``; formats with "import"."""
        raise _unsupported(self, "import")


def _unsupported(fmt: DatasetFormat, direction: str) -> InputError:
    return InputError(f"format {fmt.name!r} cannot {direction} (it supports: {', '.join(fmt.directions)})")


@contextmanager
def staged_folder(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """A fresh folder beside ``out`` that becomes ``out`` (by rename) only when the block succeeds.

    Every export writes through this, so a failed export leaves nothing behind and a finished one
    never mixes with files already there.

    Raises:
        InputError: ``out`` is a file, or a non-empty folder and ``overwrite`` is false (nothing written).
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is a file, not a folder; choose a folder to export into")
    if out.exists() and not overwrite and any(out.iterdir()):
        raise InputError(f"{out}: already exists and is not empty; choose another folder or pass --opt overwrite=true")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as exc:
        raise InputError(f"{out}: cannot create the export folder: {exc.strerror or exc}") from None
    try:
        yield staging
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "out")
            shutil.rmtree(old, ignore_errors=True)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def parse_options(fmt: DatasetFormat, options: Mapping[str, Any] | StrictModel | None) -> StrictModel:
    """The format's typed options from a mapping (CLI ``--opt key=value`` pairs) or a model."""
    if isinstance(options, fmt.Options):
        return options
    try:
        return fmt.Options.model_validate(dict(options or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        allowed = ", ".join(fmt.Options.model_fields)
        raise ConfigError(f"format {fmt.name!r} option {where}: {first['msg']} (options: {allowed})") from None


def get_format(name: str) -> DatasetFormat:
    """The format registered as ``name`` or one of its spellings (``ucfcrime_ar``, ``UCFCrime-AR``, ``msr-vtt``)."""
    from svta.datasets.readers import normalize_name

    if name not in DATASET_FORMATS.names():
        name = normalize_name(name) if normalize_name(name) in DATASET_FORMATS.names() else name
    return DATASET_FORMATS.get(name)()


def export_dataset(
    root: Path | str, fmt: str, out: Path | str, options: Mapping[str, Any] | StrictModel | None = None
) -> FormatResult:
    """Write the built dataset at ``root`` (its manifest) to ``out`` in format ``fmt``."""
    format_ = get_format(fmt)
    if "export" not in format_.directions:
        raise _unsupported(format_, "export")
    return format_.export(Path(root), Path(out), parse_options(format_, options))


def import_dataset(
    fmt: str, source: Path | str, root: Path | str, options: Mapping[str, Any] | StrictModel | None = None
) -> FormatResult:
    """Turn the dataset at ``source`` (format ``fmt``) into an svta root with a manifest."""
    format_ = get_format(fmt)
    if "import" not in format_.directions:
        raise _unsupported(format_, "import")
    if not Path(source).exists():
        raise InputError(f"{source}: dataset to import not found")
    return format_.load(Path(source), Path(root), parse_options(format_, options))
