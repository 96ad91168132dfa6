"""Dataset formats (registry kind ``dataset_format``): MSR-VTT export/import, released SVTA and
UCFCrime-AR import, WebDataset shards. Importing this package registers them all (cheaply), and the
external-data readers of :mod:`svta.datasets` that the imports read through.
"""

from __future__ import annotations

from svta.build.formats import msrvtt, svta_release, ucfcrime_ar, webdataset  # noqa: F401  (registers)
from svta.build.formats.base import DATASET_FORMATS, DatasetFormat, FormatResult, export_dataset, import_dataset
from svta.datasets.readers import load_readers

load_readers()  # `svta list` shows the readers beside the formats

__all__ = ["DATASET_FORMATS", "DatasetFormat", "FormatResult", "export_dataset", "import_dataset"]
