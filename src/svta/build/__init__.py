"""Stage 4, the dataset: build the manifest and its split, statistics, verification, formats.

Public API (imported on first use): :func:`build_dataset` and :func:`dataset_stats` (each takes a
:class:`BuildConfig` or its fields as keyword arguments), :func:`verify_dataset`, :func:`export_dataset`,
:func:`import_dataset`, :func:`stratified_split`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svta._lazy import lazy_dir, lazy_exports

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load on first use (below)
    from pathlib import Path
    from typing import Any

    from svta.build.config import BuildConfig as BuildConfig
    from svta.build.formats.base import export_dataset as export_dataset
    from svta.build.formats.base import import_dataset as import_dataset
    from svta.build.manifest import BuildResult
    from svta.build.split import stratified_split as stratified_split
    from svta.build.stats import StatsResult
    from svta.build.verify import verify_dataset as verify_dataset
    from svta.taxonomy import Taxonomy

    # Stage functions: the real signature plus the config's fields as keyword arguments (see _CONFIGS).
    def build_dataset(
        root: Path | str,
        config: BuildConfig | None = None,
        seed: int = 0,
        *,
        taxonomy: Taxonomy | Path | str | None = None,
        exclude: dict[str, str] | None = None,
        **fields: Any,
    ) -> BuildResult:
        """:func:`svta.build.manifest.build_dataset`, also taking :class:`BuildConfig` fields."""

    def dataset_stats(root: Path | str, config: BuildConfig | None = None, **fields: Any) -> StatsResult:
        """:func:`svta.build.stats.dataset_stats`, also taking :class:`BuildConfig` fields."""


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
