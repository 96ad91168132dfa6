"""Stage 3, annotation: category classification (MiniLM or an LLM), K-Means over tags, and
human review through Label Studio or CSV.

Public API (imported on first use): :func:`classify_captions` and :func:`cluster_tags` (each takes an
:class:`AnnotateConfig` or its fields as keyword arguments), :func:`export_label_studio`,
:func:`import_label_studio`, :func:`export_review_csv`, :func:`import_review_csv`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svta._lazy import lazy_dir, lazy_exports

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load on first use (below)
    from pathlib import Path
    from typing import Any

    from svta.annotate.classifiers import CategoryClassifier
    from svta.annotate.classify import ClassifyResult
    from svta.annotate.cluster import ClusterResult
    from svta.annotate.config import AnnotateConfig as AnnotateConfig
    from svta.annotate.config import ClusterConfig as ClusterConfig
    from svta.annotate.config import LLMClassifierConfig as LLMClassifierConfig
    from svta.annotate.config import ReviewConfig as ReviewConfig
    from svta.annotate.labelstudio import export_label_studio as export_label_studio
    from svta.annotate.labelstudio import import_label_studio as import_label_studio
    from svta.annotate.review_csv import export_review_csv as export_review_csv
    from svta.annotate.review_csv import import_review_csv as import_review_csv
    from svta.taxonomy import Taxonomy

    # Stage functions: the real signature plus the config's fields as keyword arguments (see _CONFIGS).
    def classify_captions(
        root: Path | str,
        config: AnnotateConfig | None = None,
        *,
        taxonomy: Taxonomy | Path | str | None = None,
        all_captions: bool = False,
        classifier: CategoryClassifier | None = None,
        **fields: Any,
    ) -> ClassifyResult:
        """:func:`svta.annotate.classify.classify_captions`, also taking :class:`AnnotateConfig` fields."""

    def cluster_tags(
        root: Path | str,
        config: AnnotateConfig | None = None,
        *,
        taxonomy: Taxonomy | Path | str | None = None,
        apply: bool = False,
        out_dir: Path | str | None = None,
        **fields: Any,
    ) -> ClusterResult:
        """:func:`svta.annotate.cluster.cluster_tags`, also taking :class:`AnnotateConfig` fields."""


_API = {
    "classify_captions": "svta.annotate.classify",
    "cluster_tags": "svta.annotate.cluster",
    "export_label_studio": "svta.annotate.labelstudio",
    "import_label_studio": "svta.annotate.labelstudio",
    "export_review_csv": "svta.annotate.review_csv",
    "import_review_csv": "svta.annotate.review_csv",
    "AnnotateConfig": "svta.annotate.config",
    "ClusterConfig": "svta.annotate.config",
    "LLMClassifierConfig": "svta.annotate.config",
    "ReviewConfig": "svta.annotate.config",
}
_CONFIGS = {
    "classify_captions": "svta.annotate.config:AnnotateConfig",
    "cluster_tags": "svta.annotate.config:AnnotateConfig",
}
__all__ = sorted(_API)

__getattr__ = lazy_exports(__name__, _API, _CONFIGS)
__dir__ = lazy_dir(globals(), _API)
