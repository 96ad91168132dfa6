"""What a plain rerun of ``svta annotate classify`` picks up: the captions the last run could not label (server
errors, unusable answers), which only ``--all`` would select again otherwise, and the record of a run that was
interrupted (killed, or stopped by an error), which the rerun finishes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
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


# An unfinished classification run: what was asked (the captions to label, ``--all``) and the settings it
# ran with. A rerun finishes it; parts committed under other settings are redone, never mixed in.
RUN_FILE = "annotate/classify_run.json"


@dataclass
class ClassifyRun:
    """The resume record of one classification run (``annotate/classify_run.json`` while it is unfinished)."""

    run: str
    settings: str  # a hash of the classifier, its settings, the taxonomy and svta's version
    all_captions: bool
    targets: list[str]  # ids the run was asked to label
    done: list[str] = field(default_factory=list)  # ids labelled before an error compacted its parts

    def tag(self) -> dict[str, str]:
        """The tag of every part this run commits."""
        return {"run": self.run, "settings": self.settings}


def read_run(root: Path) -> ClassifyRun | None:
    """The record of an unfinished run, or None (none, or unreadable: then nothing is resumed)."""
    path = Path(root) / RUN_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ClassifyRun(
            str(data["run"]),
            str(data["settings"]),
            bool(data["all_captions"]),
            list(data["targets"]),
            list(data["done"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        warn(f"{path}: unreadable record of an unfinished run; starting afresh")
        return None


def write_run(root: Path, run: ClassifyRun) -> None:
    atomic_write_json(Path(root) / RUN_FILE, asdict(run))


def finish_run(root: Path) -> None:
    """The run did all it was asked (failures are in :data:`FAILED_FILE`): nothing left to resume."""
    (Path(root) / RUN_FILE).unlink(missing_ok=True)


def new_run(settings: str, all_captions: bool, targets: Sequence[str]) -> ClassifyRun:
    return ClassifyRun(uuid.uuid4().hex[:12], settings, all_captions, list(targets))
