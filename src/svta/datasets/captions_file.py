"""Plain caption files (readers ``csv``, ``jsonl``, ``json``): one caption per row, line or record,
with a column mapping naming the fields (``{"caption": "text", "source_ref": "vid", "category":
"label", "tags": "tags"}``); unmapped fields use common column names. Captions only, no videos.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from svta.datasets.files import allow_fields_of, line_of, load_json, read_text
from svta.datasets.items import Item, ItemSet, RowProblems, bad_caption, checked_caption
from svta.datasets.readers import DATASET_FORMATS, DatasetFormat, ReaderOptions
from svta.datasets.ucf import source_key
from svta.errors import InputError
from svta.tables import stable_id

FIELD_DEFAULTS: dict[str, tuple[str, ...]] = {
    "caption": ("caption", "text", "sentence", "description", "prompt", "English Text"),
    "source_ref": ("source_ref", "id", "video_id", "vid", "Video Name"),
    "category": ("category", "label", "class"),
    "tags": ("tags",),
}
Row = tuple[int, dict[str, Any]]


class CaptionFileOptions(ReaderOptions):
    """Options of the ``csv`` / ``jsonl`` / ``json`` readers: our field → the file's column (unmapped fields
    use common column names)."""

    mapping: dict[str, str] | None = None


def resolve_mapping(columns: list[str], mapping: dict[str, str] | None, path: Path) -> dict[str, str]:
    """Our field → the file's column; the caption column must exist."""
    unknown = set(mapping or {}) - set(FIELD_DEFAULTS)
    if unknown:
        raise InputError(f"{path}: unknown mapping field(s) {sorted(unknown)}; fields: {', '.join(FIELD_DEFAULTS)}")
    resolved = {}
    for name, candidates in FIELD_DEFAULTS.items():
        wanted = (mapping or {}).get(name)
        if wanted is not None:
            if wanted not in columns:
                raise InputError(f"{path}:1: mapped column {wanted!r} for {name!r} not found; columns: {columns}")
            resolved[name] = wanted
        else:
            found = next((c for c in candidates if c in columns), None)
            if found:
                resolved[name] = found
    if "caption" not in resolved:
        raise InputError(
            f"{path}:1: no caption column (tried {list(FIELD_DEFAULTS['caption'])}); map one, e.g. caption=text"
        )
    return resolved


def tags_of(value: Any) -> tuple[str, ...]:
    """Tags from a list, a JSON list or a ``;``/``|``/``,``-separated string."""
    if value is None or value == "":
        return ()
    if isinstance(value, list):
        return tuple(str(v) for v in value if str(v).strip())
    text = str(value).strip()
    if text.startswith("["):
        try:
            return tags_of(json.loads(text))
        except ValueError:
            pass
    return tuple(t.strip() for t in re.split(r"[;|,]", text) if t.strip())


def csv_records(path: Path, mapping: dict[str, str] | None) -> tuple[dict[str, str], Iterator[Row]]:
    """The resolved mapping and ``(line, values)`` of a CSV/TSV file with a header."""
    text = read_text(path)
    allow_fields_of(text)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter=delimiter, strict=True)
    try:
        resolved = resolve_mapping(list(reader.fieldnames or []), mapping, path)
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None

    def rows() -> Iterator[Row]:
        try:
            end = reader.line_num
            for values in reader:
                start, end = end + 1, reader.line_num  # a quoted field may span lines: report the first
                if None in values:
                    raise InputError(f"{path}:{start}: more fields than the header has")
                yield start, values
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None

    return resolved, rows()


def jsonl_records(path: Path, mapping: dict[str, str] | None) -> tuple[dict[str, str], Iterator[Row]]:
    """One JSON object per line (blank lines ignored)."""
    rows: list[Row] = []
    for line_no, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            values = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{line_no}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(values, dict):
            raise InputError(f"{path}:{line_no}: expected a JSON object, got {type(values).__name__}")
        rows.append((line_no, values))
    if not rows:
        raise InputError(f"{path}: no JSON lines")
    return resolve_mapping(list(rows[0][1]), mapping, path), iter(rows)


def json_records(path: Path, mapping: dict[str, str] | None) -> tuple[dict[str, str], Iterator[Row]]:
    """A JSON list of objects (or ``{"captions": [...]}``); lines are where each record's reference sits."""
    text = read_text(path)
    data = load_json(path)
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list) or not all(isinstance(v, dict) for v in data):
        raise InputError(f"{path}:1: expected a list of objects")
    resolved = resolve_mapping(sorted({k for v in data for k in v}), mapping, path)

    def rows() -> Iterator[Row]:
        for index, values in enumerate(data):
            ref = values.get(resolved.get("source_ref", ""), "")
            yield (line_of(text, json.dumps(ref)) if ref else index + 1), values

    return resolved, rows()


def _text(value: Any) -> str | None:
    return str(value).strip() if value not in (None, "") else None


def caption_items(
    path: Path, kind: str, mapping: dict[str, str], rows: Iterator[Row], options: CaptionFileOptions, unit: str = "line"
) -> ItemSet:
    """Items of mapped caption rows, bad captions handled by the bad-row policy."""
    problems = RowProblems(path, options.bad_rows)
    items = []
    for line, values in rows:
        get = {name: values.get(column) for name, column in mapping.items()}
        ref = _text(get.get("source_ref"))
        where = f"{unit} {line}"
        text, why = checked_caption(get.get("caption"))
        if text is None:
            problems.add(where + (f" ({ref})" if ref else ""), bad_caption(mapping["caption"], why))
            continue
        items.append(
            Item(
                stable_id(path.name, ref or where, text),
                text,
                ref=f"{path.name}: {where}",
                source_key=source_key(ref),
                source_ref=ref,
                label=_text(get.get("category")),
                tags=tags_of(get.get("tags")),
                line=line,
            )
        )
    return problems.result(f"{kind}:{path.name}", kind, items, "caption")


class CaptionFileFormat(DatasetFormat):
    """A caption file: its records (:attr:`records`: ``(path, mapping) -> (mapping, rows)``) through one row policy."""

    read_options = CaptionFileOptions
    records: Callable[[Path, dict[str, str] | None], tuple[dict[str, str], Iterator[Row]]]

    def read(self, path: Path, options: CaptionFileOptions) -> ItemSet:
        mapping, rows = self.records(path, options.mapping)
        return caption_items(path, self.name, mapping, rows, options)


@DATASET_FORMATS.register("csv", "a CSV/TSV file of captions with a header (column mapping optional)")
class CSVFormat(CaptionFileFormat):
    name = "csv"
    records = staticmethod(csv_records)


@DATASET_FORMATS.register("jsonl", "a JSON Lines file of captions, one object per line")
class JSONLFormat(CaptionFileFormat):
    name = "jsonl"
    records = staticmethod(jsonl_records)


@DATASET_FORMATS.register("json", 'a JSON list of caption records (or {"captions": [...]})')
class JSONFormat(CaptionFileFormat):
    name = "json"
    records = staticmethod(json_records)
