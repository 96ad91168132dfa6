"""UCFCrime-AR (Wu et al., IEEE TIP 2024): the spreadsheets ``ucf_crime_train.xlsx`` /
``ucf_crime_test.xlsx`` (columns ``Video Name``, ``Chinese Text``, ``English Text``; ``.xlsx`` or a
``.csv`` with those columns), optionally joined with a local UCF-Crime video folder. One caption per
video; the item id is the video stem (``Abuse028_x264``). English captions are the paper's protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from svta.datasets.files import sheet_rows
from svta.datasets.items import Item, ItemSet, RowProblems, checked_caption
from svta.datasets.readers import DatasetFormat, VideoReaderOptions
from svta.datasets.ucf import UCF_NORMAL_CATEGORY, source_key, ucf_category, ucf_class
from svta.datasets.videofolder import VideoFolder, resolve_or_why, with_checksums
from svta.errors import InputError

VIDEO_COLUMN = "Video Name"
LANGUAGE_COLUMNS = {"en": "English Text", "zh": "Chinese Text"}
TRAIN_FILE, TEST_FILE = "ucf_crime_train.xlsx", "ucf_crime_test.xlsx"


def sheet_records(path: Path, language: str = "en") -> Iterator[tuple[int, str, Any]]:
    """``(row, video name with the stray newline stripped, caption cell)`` of every data row.

    Raises:
        InputError: the file is unreadable, empty, or lacks the name or caption column (names the header row).
    """
    column = LANGUAGE_COLUMNS.get(language)
    if column is None:
        raise InputError(f"{path}: language must be one of {', '.join(LANGUAGE_COLUMNS)}, got {language!r}")
    header: list[str] | None = None
    for line, values in sheet_rows(path):
        if header is None:
            header = [str(v).strip() if v is not None else "" for v in values]
            missing = [c for c in (VIDEO_COLUMN, column) if c not in header]
            if missing:
                raise InputError(f"{path}:{line}: missing column(s) {missing}; found {header}")
            continue
        record = dict(zip(header, values))
        yield line, str(record.get(VIDEO_COLUMN) or "").strip(), record.get(column)
    if header is None:
        raise InputError(f"{path}:1: empty spreadsheet")


def sheet_of(path: Path, split: str) -> Path:
    """The spreadsheet to read: ``path`` itself, or for a folder the split's released file."""
    if path.is_file():
        return path
    name = TRAIN_FILE if split == "train" else TEST_FILE
    found = next((p for p in (path / name, (path / name).with_suffix(".csv")) if p.is_file()), None)
    if found is None:
        raise InputError(f"{path / name}: UCFCrime-AR {split} spreadsheet not found")
    return found


class UCFCrimeARReadOptions(VideoReaderOptions):
    """Options of the ``ucfcrime-ar`` reader."""

    split: str = "all"  # a folder's sheets: train, test or all (a single spreadsheet is read whole)
    language: str = "en"  # caption column: en (the paper's) or zh
    map_to_taxonomy: bool = True  # UCF-Crime classes become taxonomy ids (RoadAccidents -> road_accident)
    normal_category: str = UCF_NORMAL_CATEGORY  # the taxonomy id normal videos get


def read_ucfcrime_ar(path: Path, options: UCFCrimeARReadOptions) -> ItemSet:
    """Read a UCFCrime-AR spreadsheet, or a folder's sheets (``split``: train, test, or ``all`` for every
    sheet there), optionally with videos; ``notes`` say which sheets were read and which were not.

    Videos resolve by relative path, then by file name anywhere below ``options.videos`` (the public
    archive nests them as ``Anomaly-Videos-Part-1/Abuse/...`` and ``Testing_Normal_Videos_Anomaly/...``).
    Normal videos get the category ``options.normal_category`` (default :data:`UCF_NORMAL_CATEGORY`).

    Raises:
        InputError: a missing column (names the header row), or, with ``bad_rows="error"``, rows with an
            empty video name, an empty caption, a duplicate video or a video that matches no file.
    """
    if path.is_file():
        found = _read_sheet(path, None, options)
        found.notes.append(f"read {path.name} ({len(found.items)} pairs)")
        return found
    splits = _folder_splits(path, options.split)
    sets = [_read_sheet(sheet_of(path, split), split, options) for split in splits]
    items = [item for found in sets for item in found.items]
    skipped = [(f"{found.name.split(':', 1)[1]}: {where}", why) for found in sets for where, why in found.skipped]
    notes = [
        f"read {found.name.split(':', 1)[1]} ({len(found.items)} pairs, {split})" for found, split in zip(sets, splits)
    ]
    for split in ("train", "test"):
        sheet = _present_sheet(path, split)
        if split not in splits and sheet is not None:
            notes.append(f"not read: {sheet.name} (the {split} split; ask for split={split} or all)")
    return ItemSet(f"ucfcrime-ar:{path.name}/{'+'.join(splits)}", "ucfcrime-ar", items, skipped, notes)


def _present_sheet(folder: Path, split: str) -> Path | None:
    name = TRAIN_FILE if split == "train" else TEST_FILE
    return next((p for p in (folder / name, (folder / name).with_suffix(".csv")) if p.is_file()), None)


def _folder_splits(folder: Path, split: str) -> list[str]:
    """The splits to read from a folder: the one asked for, or (``all``) every sheet present."""
    if split in ("train", "test"):
        return [split]
    if split != "all":
        raise InputError(f"{folder}: UCFCrime-AR has a train and a test spreadsheet; split must be train, test or all")
    present = [s for s in ("train", "test") if _present_sheet(folder, s) is not None]
    if not present:
        raise InputError(f"{folder / TEST_FILE}: UCFCrime-AR spreadsheet not found (nor {TRAIN_FILE})")
    return present


def _read_sheet(sheet: Path, split: str | None, options: UCFCrimeARReadOptions) -> ItemSet:
    """The items of one spreadsheet (``split``: what its rows are, for a folder's released sheets)."""
    folder = VideoFolder(options.videos) if options.videos is not None else None
    normal = options.normal_category
    problems = RowProblems(sheet, options.bad_rows)
    items: list[Item] = []
    first_row: dict[str, int] = {}
    unit = "row" if sheet.suffix.lower() in (".xlsx", ".xlsm") else "line"  # CSV: a quoted name may span lines
    column = LANGUAGE_COLUMNS.get(options.language, "")
    for line, name, cell in sheet_records(sheet, options.language):
        where = f"{unit} {line}"
        text, why = checked_caption(cell)
        if not name:
            problems.add(where, f"empty {VIDEO_COLUMN!r}")
            continue
        if text is None:
            problems.add(f"{where} ({name})", f"empty or unusable {column!r} caption ({why.split()[0]})")
            continue
        item_id = Path(name).stem
        if item_id in first_row:
            problems.add(f"{where} ({name})", f"video already listed at {unit} {first_row[item_id]}")
            continue
        first_row[item_id] = line
        video = resolve_or_why(folder, name) if folder is not None else None
        if isinstance(video, str):
            problems.add(f"{where} ({name})", video)
            continue
        label = ucf_class(name)
        category, is_anomaly = ucf_category(label, options.map_to_taxonomy, normal_category=normal)
        items.append(
            Item(
                item_id,
                text,
                video,
                category,
                is_anomaly,
                f"{sheet.name}: {where}",
                source_key(name),
                split=split,
                source_ref=name,
                label=label,
                tags=(label,) if label else (),
                video_rel=name,
                line=line,
            )
        )
    result = problems.result(f"ucfcrime-ar:{sheet.name}", "ucfcrime-ar", items)
    return with_checksums(result, options)


class UCFCrimeARReader(DatasetFormat):
    """Reading UCFCrime-AR (registered with its import by :mod:`svta.build.formats.ucfcrime_ar`)."""

    name = "ucfcrime-ar"
    read_options = UCFCrimeARReadOptions

    def read(self, path: Path, options: UCFCrimeARReadOptions) -> ItemSet:
        return read_ucfcrime_ar(path, options)
