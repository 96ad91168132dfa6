"""A released SVTA-style directory (reader ``svta-release``): an annotation table (CSV/TSV/JSON/JSONL/
Parquet/XLSX) plus a folder of videos. Release layouts vary and the full SVTA category list is not
public, so the column names are options and category names are taken from the data as they are.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from svta._configbase import StrictModel
from svta.datasets.files import TABLE_SUFFIXES, read_records
from svta.datasets.items import Item, ItemSet, RowProblems, bad_caption, checked_caption
from svta.datasets.msrvtt import normalize_split
from svta.datasets.readers import DatasetFormat, VideoReaderOptions
from svta.errors import InputError

ANOMALY_WORDS = {"anomaly", "abnormal", "anomalous", "true", "1", "yes"}
NORMAL_WORDS = {"normal", "false", "0", "no"}


def _as_list(value: Any) -> Any:
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


class ReleaseColumns(StrictModel):
    """Where a release keeps what (options of the ``svta-release`` reader and import)."""

    table: str | None = None  # the annotation file below the source; None: the only table there
    videos_dir: str = "videos"
    video_suffix: str = ".mp4"  # appended to names without one
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
    if source.is_file():
        return source
    if name:
        if not (source / name).is_file():
            raise InputError(f"{source / name}: annotation table not found")
        return source / name
    found = sorted(p for p in source.iterdir() if p.suffix.lower() in TABLE_SUFFIXES and p.is_file())
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise InputError(f"{source}: pass table=FILE to pick the annotation table (found: {names})")
    return found[0]


def kind_of(category: str, row: dict[str, Any], columns: ReleaseColumns, where: str) -> bool:
    """Whether a row is an anomaly, from its kind column, the normal list, or the taxonomy."""
    from svta.taxonomy import default_taxonomy

    if columns.kind_column:
        value = str(row.get(columns.kind_column, "")).strip().lower()
        if value in ANOMALY_WORDS or value in NORMAL_WORDS:
            return value in ANOMALY_WORDS
        raise InputError(f"{where}: column {columns.kind_column!r} holds {value!r}, not anomaly/normal")
    if columns.normal_categories:
        return category not in columns.normal_categories
    if columns.unknown_kind in ("anomaly", "normal"):
        return columns.unknown_kind == "anomaly"
    match = default_taxonomy().match(category)
    if match is None:
        raise InputError(
            f"{where}: cannot tell whether category {category!r} is an anomaly; "
            "pass kind_column=..., normal_categories=a,b,... or unknown_kind=anomaly|normal"
        )
    return match.is_anomaly


class SVTAReleaseReadOptions(VideoReaderOptions, ReleaseColumns):
    """Options of the ``svta-release`` reader: where the release keeps what, and the split to read."""

    split: str = "all"


def read_svta_release(source: Path, options: SVTAReleaseReadOptions) -> ItemSet:
    columns = options
    table = find_table(source, columns.table)
    rows = read_records(table)
    present = set(rows[0]) if rows else set()
    missing = [
        f"{getattr(columns, o)!r} ({o})"
        for o in ("video_column", "caption_column", "category_column")
        if getattr(columns, o) not in present
    ]
    if missing:
        raise InputError(f"{table}: missing column(s) {', '.join(missing)}; found {sorted(present)}")
    base = source if source.is_dir() else source.parent
    videos_dir = options.videos or (base / columns.videos_dir if (base / columns.videos_dir).is_dir() else base)
    per_video: Counter = Counter()
    problems = RowProblems(table, options.bad_rows)
    items = []
    for index, row in enumerate(rows):
        where = f"{table.name}: row {index + 1}"
        name = str(row.get(columns.video_column) or "").strip()
        caption = " ".join(str(row.get(columns.caption_column) or "").split())
        category = " ".join(str(row.get(columns.category_column) or "").split())
        if not name or not caption or not category:
            empty = [
                c
                for c, v in (
                    (columns.video_column, name),
                    (columns.caption_column, caption),
                    (columns.category_column, category),
                )
                if not v
            ]
            problems.add(where, f"empty field(s) {empty}")
            continue
        checked, why = checked_caption(caption)
        if checked is None:
            problems.add(where, bad_caption(columns.caption_column, why))
            continue
        if not Path(name).suffix:
            name += columns.video_suffix
        per_video[name] += 1
        item_id = str(row[columns.id_column]) if columns.id_column else Path(name).stem
        if not columns.id_column and per_video[name] > 1:
            item_id = f"{item_id}#{per_video[name] - 1}"
        try:
            split = normalize_split(row.get(columns.split_column), where) if columns.split_column else None
            if options.split not in ("all", split):
                continue
            is_anomaly = kind_of(category, row, columns, where)
        except InputError as exc:  # a value of this row: the bad-row policy decides
            problems.add(where, str(exc).removeprefix(f"{where}: "))
            continue
        items.append(
            Item(
                item_id,
                caption,
                videos_dir / name,
                category,
                is_anomaly,
                where,
                split=split,
                source_ref=name,
                label=category,
                video_rel=name,
                line=index + 1,
            )
        )
    return problems.result(f"svta-release:{table.name}", "svta-release", items)


class SVTAReleaseReader(DatasetFormat):
    """Reading a released SVTA-style folder (registered with its import by :mod:`svta.build.formats.svta_release`)."""

    name = "svta-release"
    read_options = SVTAReleaseReadOptions

    def read(self, path: Path, options: SVTAReleaseReadOptions) -> ItemSet:
        return read_svta_release(path, options)
