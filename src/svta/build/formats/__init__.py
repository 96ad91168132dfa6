"""Dataset formats (the one registry, kind ``dataset_format``): MSR-VTT read/import/export, released SVTA
and UCFCrime-AR read/import, WebDataset read/export. Importing this package registers them all (cheaply),
with the read-only formats of :mod:`svta.datasets` (caption files, UCA, a video folder, an svta root).
"""

from __future__ import annotations

from svta.build.formats import msrvtt, svta_release, ucfcrime_ar, webdataset  # noqa: F401  (registers)
from svta.build.formats.base import DATASET_FORMATS, DatasetFormat, FormatResult, export_dataset, import_dataset
from svta.datasets import captions_file, svta_root, uca, videofolder  # noqa: F401  (registers the read-only formats)

__all__ = ["DATASET_FORMATS", "DatasetFormat", "FormatResult", "export_dataset", "import_dataset"]
