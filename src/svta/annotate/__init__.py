"""Stage 3, annotation: category classification (MiniLM or an LLM), K-Means over tags, and
human review through Label Studio or CSV.

Public API (imported on first use): :func:`classify_captions` and :func:`cluster_tags` (each takes an
:class:`AnnotateConfig` or its fields as keyword arguments), :func:`export_label_studio`,
:func:`import_label_studio`, :func:`export_review_csv`, :func:`import_review_csv`.
"""

from __future__ import annotations

from svta._lazy import lazy_dir, lazy_exports

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
