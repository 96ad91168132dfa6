"""Stage 4, the dataset: build the manifest and its split, statistics, verification, formats.

Public API (imported lazily): :func:`build_dataset`, :func:`dataset_stats`, :func:`verify_dataset`,
:func:`export_dataset`, :func:`import_dataset`.
"""

from __future__ import annotations

from svta._lazy import lazy_exports

_API = {
    "build_dataset": "svta.build.manifest",
    "dataset_stats": "svta.build.stats",
    "verify_dataset": "svta.build.verify",
    "export_dataset": "svta.build.formats.base",
    "import_dataset": "svta.build.formats.base",
    "stratified_split": "svta.build.split",
}


__getattr__ = lazy_exports(__name__, _API)
