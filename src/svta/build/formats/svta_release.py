"""Import a released SVTA-style directory: an annotation table (CSV/TSV/JSON/JSONL/Parquet/XLSX)
plus a folder of videos, read by the ``svta-release`` reader of :mod:`svta.datasets` (column names
are options; category names are taken from the data as they are).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from svta.build.formats.base import DATASET_FORMATS, FormatResult
from svta.build.formats.importing import ImportOptions, read_options, write_import
from svta.datasets.readers import read_dataset
from svta.datasets.svta_release import ReleaseColumns, SVTAReleaseReader, SVTAReleaseReadOptions


class SVTAReleaseOptions(ImportOptions, ReleaseColumns):
    """Import options plus where the release keeps what (:class:`~svta.datasets.svta_release.ReleaseColumns`)."""


@DATASET_FORMATS.register("svta-release", "a released SVTA-style directory: annotation table + videos (read, import)")
class SVTAReleaseFormat(SVTAReleaseReader):
    directions = ("read", "import")
    Options = SVTAReleaseOptions

    def load(self, source: Path, root: Path, options: Any) -> FormatResult:
        columns = {name: getattr(options, name) for name in ReleaseColumns.model_fields}
        found = read_dataset("svta-release", source, read_options(options, SVTAReleaseReadOptions, **columns))
        return write_import(found, root, options, self.name)
