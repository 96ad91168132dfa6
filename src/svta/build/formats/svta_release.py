"""Import a released SVTA-style directory: an annotation table (CSV/TSV/JSON/JSONL/Parquet/XLSX)
plus a folder of videos. Release layouts vary and the full SVTA category list is not public, so
the column names are configurable and category names are taken from the data as they are.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from svta.build.formats.base import DATASET_FORMATS, DatasetFormat, FormatResult
from svta.build.formats.importing import ImportedItem, ImportOptions, normalize_split, write_import
from svta.errors import InputError
from svta.registry import require
from svta.taxonomy import default_taxonomy

TABLE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet", ".xlsx")
ANOMALY_WORDS = {"anomaly", "abnormal", "anomalous", "true", "1", "yes"}
NORMAL_WORDS = {"normal", "false", "0", "no"}


def read_rows(path: Path, sheet: str | int = 0) -> list[dict[str, Any]]:
    """Rows of a CSV, TSV, JSON (list of records), JSONL, Parquet or XLSX file, as dicts."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):  # {"annotations": [...]} and similar single-key wrappers
                lists = [v for v in data.values() if isinstance(v, list)]
                data = lists[0] if len(lists) == 1 else data
            if not isinstance(data, list):
                raise InputError(f"{path}: expected a JSON list of records")
            return data
        if suffix == ".jsonl":
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        import pandas as pd

        if suffix == ".xlsx":
            require("openpyxl", "io")
            frame = pd.read_excel(path, sheet_name=sheet, dtype=object)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=object, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read annotation table: {exc}") from None
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def _as_list(value: Any) -> Any:
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


class SVTAReleaseOptions(ImportOptions):
    table: str | None = None  # the annotation file below the source; None: the only table there
    videos_dir: str = "videos"
    video_suffix: str = ".mp4"  # appended to names without one
    # column mapping: which column holds what (None: absent)
    video_column: str = "video"
    caption_column: str = "caption"
    category_column: str = "category"
    split_column: str | None = "split"
    kind_column: str | None = None  # anomaly/normal (or true/false) per row
    id_column: str | None = None  # None: the video file's stem (+ "#n" for extra captions)
    # without a kind column: these categories are normal; unknown ones follow ``unknown_kind``
    normal_categories: list[str] = Field(default_factory=list)
    unknown_kind: Literal["taxonomy", "anomaly", "normal", "error"] = "taxonomy"

    @field_validator("normal_categories", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        return _as_list(value)


def find_table(source: Path, name: str | None) -> Path:
    if name:
        if not (source / name).is_file():
            raise InputError(f"{source / name}: annotation table not found")
        return source / name
    found = sorted(p for p in source.iterdir() if p.suffix.lower() in TABLE_SUFFIXES and p.is_file())
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise InputError(f"{source}: pass table=FILE to pick the annotation table (found: {names})")
    return found[0]


def kind_of(category: str, row: dict[str, Any], options: SVTAReleaseOptions, where: str) -> bool:
    """Whether a row is an anomaly, from its kind column, the normal list, or the taxonomy."""
    if options.kind_column:
        value = str(row.get(options.kind_column, "")).strip().lower()
        if value in ANOMALY_WORDS or value in NORMAL_WORDS:
            return value in ANOMALY_WORDS
        raise InputError(f"{where}: column {options.kind_column!r} holds {value!r}, not anomaly/normal")
    if options.normal_categories:
        return category not in options.normal_categories
    if options.unknown_kind in ("anomaly", "normal"):
        return options.unknown_kind == "anomaly"
    match = default_taxonomy().match(category)
    if match is None:
        raise InputError(
            f"{where}: cannot tell whether category {category!r} is an anomaly; "
            "pass kind_column=..., normal_categories=a,b,... or unknown_kind=anomaly|normal"
        )
    return match.is_anomaly


@DATASET_FORMATS.register("svta-release", "a released SVTA-style directory: annotation table + videos (import)")
class SVTAReleaseFormat(DatasetFormat):
    name = "svta-release"
    directions = ("import",)
    Options = SVTAReleaseOptions

    def load(self, source: Path, root: Path, options: Any) -> FormatResult:
        table = find_table(source, options.table)
        rows = read_rows(table)
        columns = set(rows[0]) if rows else set()
        missing = [
            f"{getattr(options, option)!r} ({option})"
            for option in ("video_column", "caption_column", "category_column")
            if getattr(options, option) not in columns
        ]
        if missing:
            raise InputError(f"{table}: missing column(s) {', '.join(missing)}; found {sorted(columns)}")
        videos_dir = source / options.videos_dir if (source / options.videos_dir).is_dir() else source
        per_video: Counter = Counter()
        items, skipped = [], []
        for index, row in enumerate(rows):
            where = f"{table}: row {index}"
            name = str(row.get(options.video_column) or "").strip()
            caption = " ".join(str(row.get(options.caption_column) or "").split())
            category = " ".join(str(row.get(options.category_column) or "").split())
            if not name or not caption or not category:
                skipped.append((where, "empty video, caption or category"))
                continue
            if not Path(name).suffix:
                name += options.video_suffix
            per_video[name] += 1
            item_id = str(row[options.id_column]) if options.id_column else Path(name).stem
            if not options.id_column and per_video[name] > 1:
                item_id = f"{item_id}#{per_video[name] - 1}"
            split = normalize_split(row.get(options.split_column), where) if options.split_column else None
            is_anomaly = kind_of(category, row, options, where)
            items.append(ImportedItem(item_id, caption, category, is_anomaly, videos_dir / name, name, split, where))
        return write_import(items, root, options, self.name, skipped)
