"""The caption stage as a pipeline step: generate the captions the config asks for."""

from __future__ import annotations

from typing import Any

from svta.stages import summary_of


def run(config: Any) -> dict[str, Any]:
    """Generate (or resume) ``config.captions`` into ``config.root``; the result as a summary dict."""
    from svta.captions.generate import generate_captions

    return summary_of(generate_captions(config.root, config.captions, config.seed, taxonomy=config.taxonomy))


def shortfall(summary: dict[str, Any]) -> str | None:
    """Categories that got fewer captions than asked."""
    if summary.get("complete") is False:
        return f"{summary.get('total')}/{summary.get('target')} captions"
    return None
