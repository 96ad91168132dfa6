"""Reading the files external datasets ship: text (UTF-8, with the line of a decoding error), JSON,
spreadsheet rows (``.xlsx`` through openpyxl, CSV with physical line numbers) and annotation tables
of any common kind as records. Structural errors raise :class:`~svta.errors.InputError` naming the
file and line.
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from svta.errors import InputError
from svta.registry import require

TABLE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet", ".xlsx")


def read_text(path: Path) -> str:
    """The file as UTF-8 text (a BOM is dropped)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None


def load_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None


def line_of(text: str, needle: str) -> int:
    """The 1-based line of ``needle``'s first occurrence in ``text`` (1 when absent)."""
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, values)`` of the first worksheet's non-empty rows."""
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


def allow_fields_of(text: str) -> None:
    """Let the csv module read fields as long as ``text``: an over-long caption is then a bad row that the
    bad-row policy handles (as in every other format), not a parser abort at the module's 128 KiB default."""
    if csv.field_size_limit() <= len(text):
        csv.field_size_limit(len(text) + 1)


def csv_rows(path: Path, delimiter: str = ",") -> Iterator[tuple[int, list[Any]]]:
    """``(first physical line, values)`` of a CSV file's non-empty rows."""
    text = read_text(path)
    allow_fields_of(text)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter, strict=True)
    try:
        end = 0
        for values in reader:
            start, end = end + 1, reader.line_num  # a quoted field may span lines: report the first
            if any(v.strip() for v in values):
                yield start, values
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None


def sheet_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    """Rows of a spreadsheet: ``.xlsx``/``.xlsm`` or CSV/TSV."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return xlsx_rows(path)
    return csv_rows(path, "\t" if suffix == ".tsv" else ",")


def read_records(path: Path, sheet: str | int = 0) -> list[dict[str, Any]]:
    """Rows of a CSV, TSV, JSON (list of records), JSONL, Parquet or XLSX annotation table, as dicts."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = load_json(path)
            if isinstance(data, dict):  # {"annotations": [...]} and similar single-key wrappers
                lists = [v for v in data.values() if isinstance(v, list)]
                data = lists[0] if len(lists) == 1 else data
            if not isinstance(data, list):
                raise InputError(f"{path}: expected a JSON list of records")
            return data
        if suffix == ".jsonl":
            return [json.loads(line) for line in read_text(path).splitlines() if line.strip()]
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
