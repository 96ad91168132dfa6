"""Importers of collected descriptions into the captions table, keeping each row's source and
original id (``source_ref``). Supported formats:

- ``csv`` / ``jsonl`` / ``json``: one caption per row/line/record; a column mapping names the fields
  (``{"caption": "text", "source_ref": "vid", "category": "label", "tags": "tags"}``).
- ``msrvtt``: ``MSRVTT_data.json`` ``{"videos": [...], "sentences": [{"video_id", "caption", "sen_id"}]}``;
  ``source_ref`` = ``<video_id>#<sen_id>``.
- ``uca``: UCA (UCF-Crime Annotation) JSON ``{"Abuse037_x264": {"duration", "timestamps": [[s, e], ...],
  "sentences": [...]}}``; one row per sentence, ``source_ref`` = ``<video>#<i>@<s>-<e>``.
- ``ucfcrime_ar``: UCFCrime-AR spreadsheets (``.xlsx`` or ``.csv``) with ``Video Name``, ``Chinese Text``,
  ``English Text``; ``source_ref`` = the video name with its stray newline stripped.

UCF-Crime class names (``Abuse``, ``RoadAccidents``...) become taxonomy categories; structural errors
raise :class:`~svta.errors.InputError` naming the file and line; bad rows are skipped and reported.
"""

from __future__ import annotations

import csv
import json
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svta.captions.config import FilterConfig
from svta.captions.text import check_caption
from svta.errors import InputError
from svta.registry import require
from svta.tables import PartWriter, stable_id, table_path
from svta.taxonomy import Taxonomy, resolve_taxonomy

FORMATS = ("csv", "jsonl", "json", "msrvtt", "uca", "ucfcrime_ar")
FIELD_DEFAULTS: dict[str, tuple[str, ...]] = {
    "caption": ("caption", "text", "sentence", "description", "prompt", "English Text"),
    "source_ref": ("source_ref", "id", "video_id", "vid", "Video Name"),
    "category": ("category", "label", "class"),
    "tags": ("tags",),
}
# Import keeps captions close to the original; only unusable text is refused here (`filter` applies
# the dataset's length and charset policy later).
IMPORT_RULES = FilterConfig(min_chars=1, min_words=1, max_chars=2000, max_words=400, charset="any", min_alpha_ratio=0.0)
_UCF_NAME = re.compile(r"^(?:[^/\\]*[/\\])?([A-Za-z]+?)(?:_?\d+|_Videos?)", re.IGNORECASE)
_CHUNK = 10_000


@dataclass
class RawCaption:
    """One caption read from a file, before validation."""

    caption: Any
    line: int
    source_ref: str | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    span: list[Any] | None = None  # UCA: the sentence's [start, end] seconds, as written in the file


@dataclass
class ImportResult:
    """What :func:`import_captions` did: rows read, rows added, and the skipped rows with reasons."""

    table: Path
    source: str
    format: str
    read: int
    added: int
    skipped: list[dict[str, Any]]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"table": str(self.table), "source": self.source, "format": self.format, "read": self.read,
                "added": self.added, "skipped": len(self.skipped), "skipped_rows": self.skipped[:100],
                "seconds": round(self.seconds, 3)}  # fmt: skip


def detect_format(path: Path) -> str:
    """Guess the format from the file name and the start of its content."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "ucfcrime_ar"
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".csv" or suffix == ".tsv":
        header = _read_text(path)[:4096].splitlines()[:1]
        return "ucfcrime_ar" if header and "English Text" in header[0] else "csv"
    if suffix == ".json":
        data = _load_json(path)
        if isinstance(data, dict) and "sentences" in data and "videos" in data:
            return "msrvtt"
        if isinstance(data, dict) and data and all(isinstance(v, dict) and "sentences" in v for v in data.values()):
            return "uca"
        return "json"
    raise InputError(f"{path}: cannot tell the format from the extension; pass one of {', '.join(FORMATS)}")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None


def _load_json(path: Path) -> Any:
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None


def _line_of(text: str, needle: str) -> int:
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def _resolve_mapping(columns: list[str], mapping: dict[str, str] | None, path: Path) -> dict[str, str]:
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


def _tags_of(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return _tags_of(json.loads(text))
        except ValueError:
            pass
    return [t.strip() for t in re.split(r"[;|,]", text) if t.strip()]


def _record(values: dict[str, Any], mapping: dict[str, str], line: int) -> RawCaption:
    def get(name: str) -> Any:
        return values.get(mapping[name]) if name in mapping else None

    ref = get("source_ref")
    category = get("category")
    return RawCaption(get("caption"), line, str(ref).strip() if ref not in (None, "") else None,
                      str(category).strip() if category not in (None, "") else None, _tags_of(get("tags")))  # fmt: skip


def read_csv(path: Path, mapping: dict[str, str] | None = None) -> Iterator[RawCaption]:
    """Rows of a CSV/TSV file with a header (line numbers are the file's physical lines)."""
    text = _read_text(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter=delimiter, strict=True)
    try:
        resolved = _resolve_mapping(list(reader.fieldnames or []), mapping, path)
        end = reader.line_num
        for values in reader:
            start, end = end + 1, reader.line_num  # a quoted field may span lines: report the first
            if None in values:
                raise InputError(f"{path}:{start}: more fields than the header has")
            yield _record(values, resolved, start)
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None


def read_jsonl(path: Path, mapping: dict[str, str] | None = None) -> Iterator[RawCaption]:
    """One JSON object per line (blank lines ignored)."""
    resolved: dict[str, str] | None = None
    for line_no, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            values = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{line_no}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(values, dict):
            raise InputError(f"{path}:{line_no}: expected a JSON object, got {type(values).__name__}")
        if resolved is None:
            resolved = _resolve_mapping(list(values), mapping, path)
        yield _record(values, resolved, line_no)


def read_json_records(path: Path, mapping: dict[str, str] | None = None) -> Iterator[RawCaption]:
    """A JSON list of objects (or ``{"captions": [...]}``)."""
    text = _read_text(path)
    data = _load_json(path)
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list) or not all(isinstance(v, dict) for v in data):
        raise InputError(f"{path}:1: expected a list of objects")
    resolved = _resolve_mapping(sorted({k for v in data for k in v}), mapping, path)
    for index, values in enumerate(data):
        ref = values.get(resolved.get("source_ref", ""), "")
        line = _line_of(text, json.dumps(ref)) if ref else 1
        yield _record(values, resolved, line if ref else index + 1)


def read_msrvtt(path: Path) -> Iterator[RawCaption]:
    """Sentences of ``MSRVTT_data.json``."""
    text = _read_text(path)
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("sentences"), list):
        raise InputError(f"{path}:1: not an MSR-VTT file (expected a 'sentences' list)")
    for index, item in enumerate(data["sentences"]):
        if not isinstance(item, dict) or "video_id" not in item or "caption" not in item:
            needle = json.dumps(item.get("sen_id")) if isinstance(item, dict) and "sen_id" in item else '"sentences"'
            raise InputError(f"{path}:{_line_of(text, needle)}: sentence #{index} needs 'video_id' and 'caption'")
        ref = f"{item['video_id']}#{item.get('sen_id', index)}"
        yield RawCaption(item["caption"], index + 1, ref, None, [])


def ucf_class(name: str) -> str | None:
    """The UCF-Crime class of a video name: ``"Abuse/Abuse028_x264.mp4"`` → ``"Abuse"``, normal videos → ``"Normal"``."""
    base = name.strip().replace("\\", "/")
    if "/" in base and not base.lower().startswith("normal"):
        return base.split("/", 1)[0].strip() or None
    match = _UCF_NAME.match(base.rsplit("/", 1)[-1])
    return match.group(1) if match else None


def read_uca(path: Path) -> Iterator[RawCaption]:
    """Sentences of a UCA annotation JSON, with their segment times."""
    text = _read_text(path)
    data = _load_json(path)
    if not isinstance(data, dict):
        raise InputError(f"{path}:1: expected an object of videos")
    for video, entry in data.items():
        line = _line_of(text, json.dumps(video))
        if not isinstance(entry, dict) or not isinstance(entry.get("sentences"), list):
            raise InputError(f"{path}:{line}: video {video!r} needs a 'sentences' list")
        stamps = entry.get("timestamps") or []
        if stamps and len(stamps) != len(entry["sentences"]):
            raise InputError(
                f"{path}:{line}: video {video!r} has {len(stamps)} timestamps for {len(entry['sentences'])} sentences"
            )
        label = ucf_class(video)
        for i, sentence in enumerate(entry["sentences"]):
            span = f"@{stamps[i][0]}-{stamps[i][1]}" if stamps and len(stamps[i]) == 2 else ""
            yield RawCaption(sentence, line, f"{video}#{i}{span}", label, [label] if label else [],
                             list(stamps[i]) if stamps and isinstance(stamps[i], list) else None)


def read_ucfcrime_ar(path: Path, language: str = "en") -> Iterator[RawCaption]:
    """Rows of a UCFCrime-AR spreadsheet (``.xlsx``, or ``.csv`` with the same columns)."""
    column = {"en": "English Text", "zh": "Chinese Text"}.get(language)
    if column is None:
        raise InputError(f"{path}: language must be 'en' or 'zh', got {language!r}")
    rows = _xlsx_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _csv_rows(path)
    header, start = None, 0
    for line, values in rows:
        if header is None:
            header = [str(v).strip() if v is not None else "" for v in values]
            missing = [c for c in ("Video Name", column) if c not in header]
            if missing:
                raise InputError(f"{path}:{line}: missing column(s) {missing}; found {header}")
            start = line
            continue
        record = dict(zip(header, values))
        name = str(record.get("Video Name") or "").strip()
        label = ucf_class(name) if name else None
        yield RawCaption(record.get(column), line, name or None, label, [label] if label else [])
    if header is None:
        raise InputError(f"{path}:{start or 1}: empty spreadsheet")


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    openpyxl = require("openpyxl", "io")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, openpyxl.utils.exceptions.InvalidFileException) as exc:
        raise InputError(f"{path}: not a readable .xlsx workbook: {exc}") from None
    try:
        for line, values in enumerate(book.worksheets[0].iter_rows(values_only=True), 1):
            if any(v is not None and str(v).strip() for v in values):
                yield line, list(values)
    finally:
        book.close()


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(_read_text(path).splitlines(keepends=True), strict=True)
    try:
        end = 0
        for values in reader:
            start, end = end + 1, reader.line_num  # a quoted field may span lines: report the first
            if any(v.strip() for v in values):
                yield start, values
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None


def read_captions(path: Path | str, format: str = "auto", mapping: dict[str, str] | None = None,
                  language: str = "en") -> Iterator[RawCaption]:  # fmt: skip
    """The raw captions of a file in one of :data:`FORMATS` (``auto``: :func:`detect_format`)."""
    path = Path(path)
    fmt = detect_format(path) if format == "auto" else format
    if fmt not in FORMATS:
        raise InputError(f"{path}: unknown import format {fmt!r}; known: auto, {', '.join(FORMATS)}")
    if mapping and fmt not in ("csv", "jsonl", "json"):
        raise InputError(f"{path}: a column mapping applies to csv/jsonl/json files, not {fmt}")
    readers = {
        "csv": lambda: read_csv(path, mapping),
        "jsonl": lambda: read_jsonl(path, mapping),
        "json": lambda: read_json_records(path, mapping),
        "msrvtt": lambda: read_msrvtt(path),
        "uca": lambda: read_uca(path),
        "ucfcrime_ar": lambda: read_ucfcrime_ar(path, language),
    }
    return readers[fmt]()


def import_captions(
    root: Path | str,
    path: Path | str,
    format: str = "auto",
    mapping: dict[str, str] | None = None,
    source: str | None = None,
    category: str | None = None,
    language: str = "en",
    taxonomy: Taxonomy | Path | str | None = None,
) -> ImportResult:
    """Add the captions of a file to ``<root>/captions.parquet`` (all or nothing; re-importing is idempotent).

    Args:
        root: The dataset root.
        path: The file to import.
        format: One of :data:`FORMATS`, or ``auto`` to detect it.
        mapping: Our field (``caption``, ``source_ref``, ``category``, ``tags``) → the file's column,
            for csv/jsonl/json files; unmapped fields use common column names.
        source: The ``source`` value of the rows (default: the format for known datasets, else the file stem).
        category: A taxonomy category for every row (else labels in the file are looked up).
        language: ``en`` or ``zh`` for UCFCrime-AR.
        taxonomy: The taxonomy (or a path to one) to look labels up in (default: the shipped one).

    Raises:
        InputError: The file is unreadable or malformed; the message names the file and line.
    """
    started = time.perf_counter()
    path = Path(path)
    fmt = detect_format(path) if format == "auto" else format
    source = source or (fmt if fmt in ("msrvtt", "uca", "ucfcrime_ar") else path.stem)
    taxonomy = resolve_taxonomy(taxonomy)
    fixed = taxonomy.get(category).id if category else None
    rows, skipped, seen, read = [], [], set(), 0
    for raw in read_captions(path, fmt, mapping, language):
        read += 1
        check = check_caption(raw.caption, IMPORT_RULES)
        if not check.ok:
            skipped.append(
                {"line": raw.line, "source_ref": raw.source_ref, "reason": check.reason, "detail": check.detail}
            )
            continue
        row_id = stable_id(source, raw.source_ref or "", check.text)
        if row_id in seen:
            skipped.append({"line": raw.line, "source_ref": raw.source_ref, "reason": "duplicate_row", "detail": ""})
            continue
        seen.add(row_id)
        category_id = fixed or _category_of(raw.category, taxonomy)
        tags = raw.tags + ([raw.category] if raw.category and raw.category not in raw.tags and not category_id else [])
        rows.append({"id": row_id, "caption": check.text, "category": category_id, "tags": tags,
                     "source": source, "source_ref": raw.source_ref, "seed": None})  # fmt: skip
    writer = PartWriter(table_path(root, "captions"), "captions")
    before = writer.done_ids()
    for start in range(0, len(rows), _CHUNK):
        writer.append(rows[start : start + _CHUNK])
    writer.compact()
    added = len(seen - before)
    return ImportResult(writer.table_path, source, fmt, read, added, skipped, time.perf_counter() - started)


def _category_of(label: str | None, taxonomy: Taxonomy) -> str | None:
    if not label or label.lower() in ("normal", "normal videos"):
        return None
    match = taxonomy.match(label)
    return match.id if match else None
