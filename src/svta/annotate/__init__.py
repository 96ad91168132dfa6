"""Stage 3, annotation: category classification (MiniLM or an LLM), K-Means over tags, and
human review through Label Studio or CSV.

Public API (imported lazily): :func:`classify_captions`, :func:`cluster_tags`,
:func:`export_label_studio`, :func:`import_label_studio`, :func:`export_review_csv`,
:func:`import_review_csv`.
"""

from __future__ import annotations

from svta._lazy import lazy_exports

_API = {
    "classify_captions": "svta.annotate.classify",
    "cluster_tags": "svta.annotate.cluster",
    "export_label_studio": "svta.annotate.labelstudio",
    "import_label_studio": "svta.annotate.labelstudio",
    "export_review_csv": "svta.annotate.review_csv",
    "import_review_csv": "svta.annotate.review_csv",
}


__getattr__ = lazy_exports(__name__, _API)
