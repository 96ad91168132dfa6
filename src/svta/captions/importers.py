"""Import collected descriptions into the captions table, keeping each row's source and original id
(``source_ref``). Files are read by the :mod:`svta.datasets` readers, so every format name and alias
they accept works here (``ucfcrime-ar`` and ``ucfcrime_ar`` alike):

- ``csv`` / ``jsonl`` / ``json``: one caption per row/line/record; a column mapping names the fields
  (``{"caption": "text", "source_ref": "vid", "category": "label", "tags": "tags"}``).
- ``msrvtt``: ``MSRVTT_data.json``; ``source_ref`` = ``<video_id>#<sen_id>``.
- ``uca``: UCA JSON; one row per sentence, ``source_ref`` = ``<video>#<i>@<s>-<e>``.
- ``ucfcrime-ar``: UCFCrime-AR spreadsheets (``.xlsx`` or ``.csv``); ``source_ref`` = the video name.

UCF-Crime class names (``Abuse``, ``RoadAccidents``...) become taxonomy categories (normal videos stay
unlabelled: the annotate stage picks their normal category from the caption). Structural errors raise
:class:`~svta.errors.InputError` naming the file and line; bad rows (and rows repeated within the file)
follow the one bad-row policy of :mod:`svta.datasets.items`: an error naming them, or skipped and listed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svta.datasets.items import BadRows, Item, RowProblems
from svta.datasets.readers import ReadOptions, canonical_name, detect_reader, read_dataset
from svta.tables import PartWriter, stable_id, table_path
from svta.taxonomy import Taxonomy, resolve_taxonomy

FORMATS = ("csv", "jsonl", "json", "msrvtt", "uca", "ucfcrime-ar")  # caption-bearing readers
_MAPPED = ("csv", "jsonl", "json")
_NAMED_SOURCES = ("msrvtt", "uca", "ucfcrime-ar")
_CHUNK = 10_000


@dataclass
class ImportResult:
    """What :func:`import_captions` did: rows read, rows added, and every skipped row with its reason."""

    table: Path
    source: str
    format: str
    read: int
    added: int
    skipped: list[dict[str, Any]]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "source": self.source,
            "format": self.format,
            "read": self.read,
            "added": self.added,
            "skipped": len(self.skipped),
            "skipped_rows": self.skipped,
            "seconds": round(self.seconds, 3),
        }


def detect_format(path: Path) -> str:
    """The caption format of a file, from its name and the start of its content."""
    from svta.errors import InputError

    fmt = detect_reader(Path(path))
    if fmt not in FORMATS:
        raise InputError(f"{path}: {fmt} data holds no caption file; pass --format with one of {', '.join(FORMATS)}")
    return fmt


def caption_format(path: Path, format: str) -> str:
    """The canonical reader for ``format`` (``auto``: detected), which must be a caption format."""
    from svta.errors import InputError

    fmt = detect_format(path) if format == "auto" else canonical_name(format)
    if fmt not in FORMATS:
        raise InputError(f"{path}: {fmt!r} is not a caption format; known: auto, {', '.join(FORMATS)}")
    return fmt


def read_captions(
    path: Path | str,
    format: str = "auto",
    mapping: dict[str, str] | None = None,
    language: str = "en",
    bad_rows: BadRows = "error",
) -> tuple[str, list[Item], list[tuple[str, str]]]:
    """``(format, items, skipped rows)`` of a caption file under the bad-row policy ``bad_rows``."""
    from svta.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    fmt = caption_format(path, format)
    if mapping and fmt not in _MAPPED:
        raise InputError(f"{path}: a column mapping applies to csv/jsonl/json files, not {fmt}")
    items = read_dataset(fmt, path, ReadOptions(language=language, bad_rows=bad_rows, mapping=mapping))
    return fmt, items.items, items.skipped


def import_captions(
    root: Path | str,
    path: Path | str,
    format: str = "auto",
    mapping: dict[str, str] | None = None,
    source: str | None = None,
    category: str | None = None,
    language: str = "en",
    taxonomy: Taxonomy | Path | str | None = None,
    bad_rows: BadRows = "error",
) -> ImportResult:
    """Add the captions of a file to ``<root>/captions.parquet`` (all or nothing; re-importing is idempotent).

    Args:
        root: The dataset root.
        path: The file to import.
        format: One of :data:`FORMATS` (or an alias such as ``ucfcrime_ar``), or ``auto`` to detect it.
        mapping: Our field (``caption``, ``source_ref``, ``category``, ``tags``) → the file's column,
            for csv/jsonl/json files; unmapped fields use common column names.
        source: The ``source`` value of the rows (default: the format for known datasets, else the file stem).
        category: A taxonomy category for every row (else labels in the file are looked up).
        language: ``en`` or ``zh`` for UCFCrime-AR.
        taxonomy: The taxonomy (or a path to one) to look labels up in (default: the shipped one).
        bad_rows: ``error`` fails naming every bad row (nothing written); ``skip`` leaves them out and lists them.

    Raises:
        InputError: The file is unreadable or malformed; the message names the file and line.
    """
    started = time.perf_counter()
    path = Path(path)
    fmt, items, bad = read_captions(path, format, mapping, language, bad_rows)
    source = source or (fmt if fmt in _NAMED_SOURCES else path.stem)
    taxonomy = resolve_taxonomy(taxonomy)
    fixed = taxonomy.get(category).id if category else None
    problems = RowProblems(path, bad_rows)
    problems.skipped = list(bad)
    rows, seen = [], set()
    for item in items:
        row_id = stable_id(source, item.source_ref or "", item.caption)
        if row_id in seen:
            problems.add(item.ref, "duplicate row")
            continue
        seen.add(row_id)
        category_id = fixed or _category_of(item.label, taxonomy)
        tags = list(item.tags) + (
            [item.label] if item.label and item.label not in item.tags and not category_id else []
        )
        rows.append(
            {
                "id": row_id,
                "caption": item.caption,
                "category": category_id,
                "tags": tags,
                "source": source,
                "source_ref": item.source_ref,
                "seed": None,
            }
        )
    problems.finish()
    skipped = [{"where": where, "reason": why} for where, why in problems.skipped]
    writer = PartWriter(table_path(root, "captions"), "captions")
    before = writer.done_ids()
    for start in range(0, len(rows), _CHUNK):
        writer.append(rows[start : start + _CHUNK])
    writer.compact()
    added = len(seen - before)
    read = len(items) + len(bad)
    return ImportResult(writer.table_path, source, fmt, read, added, skipped, time.perf_counter() - started)


def _category_of(label: str | None, taxonomy: Taxonomy) -> str | None:
    if not label or label.lower() in ("normal", "normal videos"):
        return None
    match = taxonomy.match(label)
    return match.id if match else None
