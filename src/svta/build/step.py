"""The build stage as a pipeline step: the split manifest and its statistics."""

from __future__ import annotations

from typing import Any

from svta.stages import summary_of


def run(config: Any) -> dict[str, Any]:
    """Build ``manifest.parquet`` and ``stats/``; both summaries."""
    from svta.build.manifest import build_dataset
    from svta.build.stats import dataset_stats

    built = build_dataset(config.root, config.build, config.seed, taxonomy=config.taxonomy)
    stats = dataset_stats(config.root, config.build)
    return {"build": summary_of(built), "stats": summary_of(stats)}


def shortfall(summary: dict[str, Any]) -> str | None:
    """Captions left out of the manifest (no video, no category, a missing file), as `svta build` reports them.

    The pipeline builds without contamination exclusions, so every skipped caption fell short.
    """
    skipped = (summary.get("build") or {}).get("skipped") or []
    if skipped:
        return f"{len(skipped)} caption(s) left out of the manifest"
    return None
