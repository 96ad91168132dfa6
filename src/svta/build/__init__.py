"""Stage 4, the dataset: build the manifest and its split, statistics, verification, formats.

Public API (imported on first use): :func:`build_dataset` and :func:`dataset_stats` (each takes a
:class:`BuildConfig` or its fields as keyword arguments), :func:`verify_dataset`, :func:`export_dataset`,
:func:`import_dataset`, :func:`stratified_split`.
"""

from __future__ import annotations

from svta._lazy import lazy_dir, lazy_exports

_API = {
    "build_dataset": "svta.build.manifest",
    "dataset_stats": "svta.build.stats",
    "verify_dataset": "svta.build.verify",
    "export_dataset": "svta.build.formats.base",
    "import_dataset": "svta.build.formats.base",
    "stratified_split": "svta.build.split",
    "BuildConfig": "svta.build.config",
}
_CONFIGS = {
    "build_dataset": "svta.build.config:BuildConfig",
    "dataset_stats": "svta.build.config:BuildConfig",
}
__all__ = sorted(_API)

__getattr__ = lazy_exports(__name__, _API, _CONFIGS)
__dir__ = lazy_dir(globals(), _API)
