"""The annotation stage as a pipeline step: classify every caption, then cluster the tags."""

from __future__ import annotations

from typing import Any

from svta.stages import summary_of


def run(config: Any) -> dict[str, Any]:
    """Classify all captions and cluster their tags; both summaries."""
    from svta.annotate.classify import classify_captions
    from svta.annotate.cluster import cluster_tags

    labelled = classify_captions(config.root, config.annotate, taxonomy=config.taxonomy, all_captions=True)
    clusters = cluster_tags(config.root, config.annotate, taxonomy=config.taxonomy)
    return {"classify": summary_of(labelled), "cluster": summary_of(clusters)}


def shortfall(summary: dict[str, Any]) -> str | None:
    """Captions the classifier could not label."""
    failed = (summary.get("classify") or {}).get("failed")
    if failed:
        return f"{len(failed)} caption(s) not classified"
    return None
