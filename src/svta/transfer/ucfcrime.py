"""UCFCrime-AR (Wu et al., IEEE TIP 2024) as an evaluation set: a released spreadsheet (``Video Name``,
``Chinese Text``, ``English Text``; ``.xlsx`` or a ``.csv`` with those columns) joined with a local UCF-Crime
video folder. One caption per video; the item id is the video stem (``Abuse028_x264``).
"""

from __future__ import annotations

from pathlib import Path

from svta.errors import InputError
from svta.transfer.sets import BadRows, ItemSet, RowProblems, SetItem, source_key
from svta.transfer.videofolder import VideoFolder

LANGUAGE_COLUMNS = {"en": "English Text", "zh": "Chinese Text"}


def load_ucfcrime_ar(sheet: Path | str, videos: Path | str | None = None, *, language: str = "en",
                     bad_rows: BadRows = "error", map_to_taxonomy: bool = True) -> ItemSet:
    """Read a UCFCrime-AR spreadsheet, optionally joined with the UCF-Crime videos.

    Stray newlines in names and captions are stripped (most released names end in one). Row numbers in
    messages are the spreadsheet's (the header is row 1).

    Args:
        sheet: ``ucf_crime_test.xlsx`` / ``ucf_crime_train.xlsx`` (or a CSV export of one).
        videos: the UCF-Crime folder; names resolve by relative path, then by file stem anywhere below it.
            ``None``: captions only (enough for overlap checks).
        language: ``en`` (the paper's protocol) or ``zh``.
        bad_rows: ``error`` raises naming every bad row (up to five shown); ``skip`` lists them in ``skipped``.
        map_to_taxonomy: UCF-Crime classes become taxonomy ids (``RoadAccidents`` → ``road_accident``).

    Raises:
        InputError: a missing column (names the header row), or, with ``bad_rows="error"``, rows with an
            empty video name, an empty caption, a duplicate video or a video that matches no file.
    """
    from svta.build.formats.ucfcrime_ar import category_of, ucf_class
    from svta.captions.importers import IMPORT_RULES, read_ucfcrime_ar
    from svta.captions.text import check_caption

    sheet = Path(sheet)
    if not sheet.is_file():
        raise InputError(f"{sheet}: UCFCrime-AR spreadsheet not found")
    column = LANGUAGE_COLUMNS.get(language)
    if column is None:
        raise InputError(f"{sheet}: language must be one of {', '.join(LANGUAGE_COLUMNS)}, got {language!r}")
    folder = VideoFolder(videos) if videos is not None else None
    problems = RowProblems(sheet, bad_rows)
    items: list[SetItem] = []
    first_row: dict[str, int] = {}
    unit = "row" if sheet.suffix.lower() in (".xlsx", ".xlsm") else "line"  # CSV: a quoted name may span lines
    for raw in read_ucfcrime_ar(sheet, language):
        where = f"{unit} {raw.line}"
        name = raw.source_ref or ""
        check = check_caption(raw.caption, IMPORT_RULES)
        if not name:
            problems.add(where, "empty 'Video Name'")
            continue
        if not check.ok:
            problems.add(f"{where} ({name})", f"empty or unusable {column!r} caption ({check.reason})")
            continue
        item_id = Path(name).stem
        if item_id in first_row:
            problems.add(f"{where} ({name})", f"video already listed at {unit} {first_row[item_id]}")
            continue
        first_row[item_id] = raw.line
        video = folder.resolve(name) if folder is not None else None
        if folder is not None and video is None:
            problems.add(f"{where} ({name})", f"no video file matches it under {folder.root}")
            continue
        category, is_anomaly = category_of(ucf_class(name), map_to_taxonomy)
        items.append(SetItem(item_id, check.text, video, category, is_anomaly, f"{sheet.name}: {where}",
                             source_key(name), None))
    problems.finish()
    if not items:
        raise InputError(f"{sheet}: no usable row ({len(problems.skipped)} skipped)")
    return ItemSet(f"ucfcrime-ar:{sheet.name}", "ucfcrime-ar", items, problems.skipped)
