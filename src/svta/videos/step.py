"""The video stage as a pipeline step: render a clip for every caption."""

from __future__ import annotations

from typing import Any

from svta.stages import summary_of


def run(config: Any) -> dict[str, Any]:
    """Generate (or resume) a clip per caption with ``config.videos`` on ``config.engine``."""
    from svta.videos.generate import generate_videos

    return summary_of(generate_videos(config.root, config.videos, config.engine, taxonomy=config.taxonomy))


def shortfall(summary: dict[str, Any]) -> str | None:
    """Clips that failed."""
    if summary.get("failed"):
        return f"{len(summary['failed'])} clip(s) failed"
    return None
