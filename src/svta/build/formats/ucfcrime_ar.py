"""Import UCFCrime-AR (Wu et al., IEEE TIP 2024) for zero-shot evaluation: the spreadsheets
``ucf_crime_train.xlsx`` / ``ucf_crime_test.xlsx`` joined with the UCF-Crime videos, read by the
``ucfcrime-ar`` reader of :mod:`svta.datasets` (videos are found by name anywhere below the video
folder, as the public archive nests them). English captions are used, as in the paper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from svta.build.formats.base import DATASET_FORMATS, FormatResult
from svta.build.formats.importing import ImportOptions, read_options, write_import
from svta.datasets.items import ItemSet
from svta.datasets.readers import read_dataset
from svta.datasets.ucf import UCF_NORMAL_CATEGORY
from svta.datasets.ucfcrime_ar import UCFCrimeARReader, UCFCrimeARReadOptions
from svta.errors import InputError

SheetSplit = Literal["train", "test"]


def _test_split_only() -> list[SheetSplit]:
    return ["test"]  # zero-shot evaluation reads the 290 test pairs


class UCFCrimeAROptions(ImportOptions):
    train_file: str = "ucf_crime_train.xlsx"
    test_file: str = "ucf_crime_test.xlsx"
    splits: list[SheetSplit] = Field(default_factory=_test_split_only)
    # the UCF-Crime video folder, relative to the source or absolute; None: <source>/videos if it exists,
    # else the source itself (the archive's Anomaly-Videos-Part-*/ and *Normal* folders beside the sheets)
    videos_dir: str | None = None
    language: Literal["en", "zh"] = "en"
    # map UCF-Crime classes to taxonomy ids (RoadAccidents → road_accident) so per-category
    # breakdowns line up with SVTA; off: keep the class names from the data
    map_to_taxonomy: bool = True
    normal_category: str = UCF_NORMAL_CATEGORY  # the taxonomy id normal videos get

    @field_validator("splits", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


def _videos_dir(source: Path, options: UCFCrimeAROptions) -> Path:
    if options.videos_dir is None:
        return source / "videos" if (source / "videos").is_dir() else source
    videos = Path(options.videos_dir)
    videos = videos if videos.is_absolute() else source / videos
    if not videos.is_dir():
        raise InputError(
            f"{videos}: UCF-Crime video folder not found; pass -o videos_dir=PATH (the folder that "
            "holds Anomaly-Videos-Part-1/ ... and the normal video folders)"
        )
    return videos


@DATASET_FORMATS.register("ucfcrime-ar", "UCFCrime-AR spreadsheets + UCF-Crime videos (read, import; zero-shot eval)")
class UCFCrimeARFormat(UCFCrimeARReader):
    directions = ("read", "import")
    Options = UCFCrimeAROptions

    def load(self, source: Path, root: Path, options: Any) -> FormatResult:
        videos = _videos_dir(source, options)
        items, skipped, notes = [], [], []
        for split in ("train", "test"):
            sheet = source / (options.train_file if split == "train" else options.test_file)
            if split not in options.splits:
                if sheet.is_file():
                    notes.append(f"not read: {sheet.name} (the {split} split; add it with --opt splits=train,test)")
                continue
            if not sheet.is_file():
                raise InputError(f"{sheet}: UCFCrime-AR {split} spreadsheet not found")
            read = read_options(
                options,
                UCFCrimeARReadOptions,
                videos=videos,
                language=options.language,
                map_to_taxonomy=options.map_to_taxonomy,
                normal_category=options.normal_category,
            )
            found = read_dataset("ucfcrime-ar", sheet, read)
            items += [item.but(split=split) for item in found.items]
            skipped += [(f"{sheet.name}: {where}", why) for where, why in found.skipped]
            notes.insert(0, f"read {sheet.name} ({len(found.items) + len(found.skipped)} rows, {split} split)")
        found_set = ItemSet("ucfcrime-ar", "ucfcrime-ar", items, skipped, notes)
        return write_import(found_set, root, options, self.name)
