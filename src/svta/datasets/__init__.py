"""External data in one place: every foreign dataset (UCFCrime-AR, UCA, MSR-VTT, an SVTA release,
WebDataset shards, a folder of videos, an svta root, plain caption files) is read by one reader,
registered under one canonical name, into one item type (:class:`~svta.datasets.items.Item`).

``svta captions import``, ``svta build import`` and the transfer sets (``svta eval --dataset``, ``svta
overlap``) all read through :func:`~svta.datasets.readers.read_dataset`.
"""

from __future__ import annotations

from svta.datasets.items import BadRows, Item, ItemSet, ItemsSkipped, RowProblems
from svta.datasets.readers import DATASET_READERS, canonical_name, detect_reader, read_dataset

__all__ = [
    "DATASET_READERS",
    "BadRows",
    "Item",
    "ItemSet",
    "ItemsSkipped",
    "RowProblems",
    "canonical_name",
    "detect_reader",
    "read_dataset",
]
