"""The two ``svta build`` entry points of a dataset format (the one registry, kind ``dataset_format``, lives
in :mod:`svta.datasets.readers`): :func:`export_dataset` writes a built root in a foreign layout,
:func:`import_dataset` turns a foreign dataset into an svta root (tables + manifest).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from svta._configbase import StrictModel
from svta.datasets.readers import DATASET_FORMATS, DatasetFormat, get_format, typed_options, unsupported
from svta.errors import InputError

__all__ = [
    "DATASET_FORMATS",
    "DatasetFormat",
    "FormatResult",
    "export_dataset",
    "get_format",
    "import_dataset",
    "parse_options",
    "staged_folder",
]


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
    """The format's typed import/export options from a mapping (CLI ``--opt key=value`` pairs) or a model;
    an option the format does not take is one :class:`ConfigError` line naming it and the format."""
    return typed_options(fmt, fmt.Options, options)


def export_dataset(
    root: Path | str, fmt: str, out: Path | str, options: Mapping[str, Any] | StrictModel | None = None
) -> FormatResult:
    """Write the built dataset at ``root`` (its manifest) to ``out`` in format ``fmt``."""
    format_ = get_format(fmt)
    if "export" not in format_.directions:
        raise unsupported(format_, "export")
    return format_.export(Path(root), Path(out), parse_options(format_, options))


def import_dataset(
    fmt: str, source: Path | str, root: Path | str, options: Mapping[str, Any] | StrictModel | None = None
) -> FormatResult:
    """Turn the dataset at ``source`` (format ``fmt``) into an svta root with a manifest."""
    format_ = get_format(fmt)
    if "import" not in format_.directions:
        raise unsupported(format_, "import")
    if not Path(source).exists():
        raise InputError(f"{source}: dataset to import not found")
    return format_.load(Path(source), Path(root), parse_options(format_, options))
