"""Captions a classification run could not label (server errors, unusable answers) are recorded under the
root, so that a plain rerun retries them: without the record, a caption that carries a category would be
selected again only by ``--all``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from svta.progress import warn
from svta.tables import atomic_write_json

FAILED_FILE = "annotate/classify_failed.json"


def read_failed(root: Path) -> set[str]:
    """Ids of the captions the last run failed to label."""
    path = Path(root) / FAILED_FILE
    if not path.exists():
        return set()
    try:
        return {str(item["id"]) for item in json.loads(path.read_text(encoding="utf-8"))["failed"]}
    except (OSError, ValueError, KeyError, TypeError):
        warn(f"{path}: unreadable list of failed captions; ignoring it (use --all to relabel everything)")
        return set()


def retry_targets(
    root: Path, captions: Sequence[dict[str, Any]], labels: dict[str, dict], targets: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Captions an earlier run failed on that are not among ``targets`` yet (never human-reviewed ones)."""
    failed, chosen = read_failed(root), {caption["id"] for caption in targets}
    return [
        caption
        for caption in captions
        if caption["id"] in failed
        and caption["id"] not in chosen
        and not (labels.get(caption["id"]) or {}).get("reviewed")
    ]


def record_failed(root: Path, failed: Sequence[tuple[str, str]]) -> None:
    """Remember this run's failures (``(caption id, error)``) for the next run; none: forget the old ones."""
    path = Path(root) / FAILED_FILE
    if failed:
        atomic_write_json(path, {"failed": [{"id": caption_id, "error": error} for caption_id, error in failed]})
    elif path.exists():
        path.unlink()
