"""Import UCFCrime-AR (Wu et al., IEEE TIP 2024) for zero-shot evaluation: the spreadsheets
``ucf_crime_train.xlsx`` / ``ucf_crime_test.xlsx`` (columns ``Video Name``, ``Chinese Text``,
``English Text``) joined with the UCF-Crime videos. English captions are used, as in the paper.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from svta.build.formats.base import DATASET_FORMATS, DatasetFormat, FormatResult
from svta.build.formats.importing import ImportedItem, ImportOptions, write_import
from svta.build.formats.svta_release import read_rows
from svta.errors import InputError
from svta.taxonomy import default_taxonomy

VIDEO_COLUMN = "Video Name"
TEXT_COLUMNS = {"en": "English Text", "zh": "Chinese Text"}
NORMAL = "normal"
_CLASS_PREFIX = re.compile(r"^([A-Za-z]+?)(?:_?\d|_x264|$)")


class UCFCrimeAROptions(ImportOptions):
    train_file: str = "ucf_crime_train.xlsx"
    test_file: str = "ucf_crime_test.xlsx"
    splits: list[Literal["train", "test"]] = Field(
        default_factory=lambda: ["test"]
    )  # zero-shot evaluation reads the 290 test pairs
    videos_dir: str = "videos"  # the UCF-Crime video root, relative to the source or absolute
    language: Literal["en", "zh"] = "en"
    # map UCF-Crime classes to taxonomy ids (RoadAccidents → road_accident) so per-category
    # breakdowns line up with SVTA; off: keep the class names from the data
    map_to_taxonomy: bool = True

    @field_validator("splits", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


def ucf_class(video_name: str) -> str:
    """The UCF-Crime class of a video name: its folder, else the letters before its number.

    ``"Abuse/Abuse028_x264.mp4"`` → ``"Abuse"``; ``"Normal_Videos_003_x264.mp4"`` and
    ``"Testing_Normal_Videos_Anomaly/…"`` → ``"Normal"``.
    """
    parts = Path(video_name).parts
    if "normal" in video_name.lower():
        return "Normal"
    if len(parts) > 1:
        return parts[0]
    match = _CLASS_PREFIX.match(Path(video_name).stem)
    return match.group(1) if match else Path(video_name).stem


def category_of(ucf: str, map_to_taxonomy: bool) -> tuple[str, bool]:
    """(category, is_anomaly) of a UCF-Crime class."""
    if ucf == "Normal":
        return NORMAL, False
    if map_to_taxonomy:
        category = default_taxonomy().by_ucf_crime().get(ucf)
        if category is not None:
            return category.id, True
    return ucf, True


@DATASET_FORMATS.register("ucfcrime-ar", "UCFCrime-AR spreadsheets + UCF-Crime videos (import, zero-shot eval)")
class UCFCrimeARFormat(DatasetFormat):
    name = "ucfcrime-ar"
    directions = ("import",)
    Options = UCFCrimeAROptions

    def load(self, source: Path, root: Path, options: Any) -> FormatResult:
        videos_dir = Path(options.videos_dir)
        videos_dir = videos_dir if videos_dir.is_absolute() else source / videos_dir
        items, skipped = [], []
        for split in options.splits:
            sheet = source / (options.train_file if split == "train" else options.test_file)
            if not sheet.is_file():
                raise InputError(f"{sheet}: UCFCrime-AR {split} spreadsheet not found")
            text_column = TEXT_COLUMNS[options.language]
            for index, row in enumerate(read_rows(sheet)):
                where = f"{sheet.name}: row {index}"
                if VIDEO_COLUMN not in row or text_column not in row:
                    raise InputError(
                        f"{where}: needs columns {VIDEO_COLUMN!r} and {text_column!r}, found {sorted(row)}"
                    )
                name = str(row[VIDEO_COLUMN] or "").strip()  # most names end in a stray newline
                caption = " ".join(str(row[text_column] or "").split())
                if not name or not caption:
                    skipped.append((where, "empty video name or caption"))
                    continue
                category, is_anomaly = category_of(ucf_class(name), options.map_to_taxonomy)
                item = ImportedItem(
                    Path(name).stem, caption, category, is_anomaly, videos_dir / name, name, split, where
                )
                items.append(item)
        return write_import(items, root, options, self.name, skipped)
