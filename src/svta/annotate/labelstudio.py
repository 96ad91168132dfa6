"""Label Studio round trip: export review tasks (video, caption, predicted category as a
pre-annotation) with a labelling config listing the taxonomy (plus "Not an anomaly" and "Unusable
clip") at the clips' frame rate, and import a Label Studio JSON export back as reviewed labels.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from svta.annotate.config import ReviewConfig
from svta.annotate.review import (
    VERDICTS,
    ReviewImportResult,
    ReviewItem,
    apply_reviews,
    resolve_choice,
    review_items,
)
from svta.errors import InputError
from svta.tables import atomic_write_json, atomic_write_text
from svta.taxonomy import Taxonomy, resolve_taxonomy

TASKS_FILE = "tasks.json"
CONFIG_FILE = "label_config.xml"


_VERDICT_HINTS = {
    "not_anomaly": "the clip does not show what the caption describes; leave it out of the dataset",
    "unusable": "broken, garbled or unwatchable video; leave it out of the dataset",
}


@dataclass
class ReviewExportResult:
    n_tasks: int
    tasks_path: Path
    config_path: Path
    framerate: float | str = 24  # the labelling config's frameRate: the clips' fps, or "$fps" when they differ
    project: dict | None = None  # the Label Studio project created through the API, when asked


def clip_framerate(items: Sequence[ReviewItem]) -> float | str:
    """The ``frameRate`` of the ``<Video>`` tag: the clips' common fps, ``"$fps"`` (each task's own) when
    they differ, or Label Studio's default 24 when no clip is known."""
    rates = Counter(round(float(item.fps), 3) for item in items if item.video and item.fps)
    if not rates:
        return 24
    if len(rates) > 1:
        return "$fps"
    rate = next(iter(rates))
    return int(rate) if rate == int(rate) else rate


def labeling_config(taxonomy: Taxonomy, config: ReviewConfig | None = None, framerate: float | str = 24) -> str:
    """Label Studio's labelling config: the video at ``framerate``, its caption, one single choice per
    category, then "Not an anomaly" and "Unusable clip"."""
    config = config or ReviewConfig()
    lines = [
        f"    <Choice value={quoteattr(c.name)} hint={quoteattr(f'{c.kind}: {c.description}')}/>" for c in taxonomy
    ]
    lines += [
        f"    <Choice value={quoteattr(name)} hint={quoteattr(_VERDICT_HINTS[key])}/>" for key, name in VERDICTS.items()
    ]
    choices = "\n".join(lines)
    return (
        "<View>\n"
        f'  <Video name="{config.to_name}" value="$video" frameRate={quoteattr(str(framerate))}/>\n'
        '  <Text name="caption" value="$caption"/>\n'
        f'  <Choices name="{config.from_name}" toName="{config.to_name}" choice="single" showInLine="false">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def video_url(root: Path, relative: str | None, config: ReviewConfig) -> str:
    """How Label Studio reaches a video: ``url_prefix`` + path relative to the root, or an absolute path."""
    if not relative:
        return ""
    if config.url_prefix:
        return f"{config.url_prefix}{relative}"
    return str((root / relative).resolve())


def task(item: ReviewItem, root: Path, taxonomy: Taxonomy, config: ReviewConfig) -> dict[str, Any]:
    """One Label Studio task; the current guess rides along as a ``choices`` prediction."""
    data: dict[str, Any] = {
        "video": video_url(root, item.video, config),
        "caption": item.caption,
        "svta_id": item.id,
        "predicted": taxonomy.get(item.predicted).name if item.predicted else "",
        "method": item.method,
    }
    if item.fps:
        data["fps"] = float(item.fps)
    out: dict[str, Any] = {"data": data}
    if item.predicted:
        result = {
            "from_name": config.from_name,
            "to_name": config.to_name,
            "type": "choices",
            "value": {"choices": [taxonomy.get(item.predicted).name]},
        }
        score = item.confidence if item.confidence is not None else 0.0
        out["predictions"] = [{"model_version": item.method, "score": score, "result": [result]}]
    return out


def export_label_studio(
    root: Path | str,
    out_dir: Path | str | None = None,
    config: ReviewConfig | None = None,
    *,
    taxonomy: Taxonomy | Path | str | None = None,
    include_reviewed: bool = False,
    max_confidence: float | None = None,
    labelstudio_url: str | None = None,
    token: str | None = None,
    project_title: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> ReviewExportResult:
    """Write ``tasks.json`` (import it into a project) and ``label_config.xml`` (its labelling interface);
    with ``labelstudio_url`` also create the project, its Local Files storage and the tasks through
    Label Studio's REST API.

    Args:
        root: the dataset root.
        out_dir: output folder (default ``<root>/review``).
        config: the ``annotate.review`` section (video URL prefix, control names).
        taxonomy: the categories offered as choices.
        include_reviewed: also export captions already reviewed.
        max_confidence: only captions whose current label is less confident than this.
        labelstudio_url: Label Studio's address (e.g. ``http://localhost:8080``); None: files only.
        token: a personal access token or a legacy token (with ``labelstudio_url``: this or a login).
        project_title: the new project's title (default: "svta review: <root folder name>").
        username: a Label Studio account to log in as (creating a personal access token) instead of ``token``.
        password: that account's password.

    Raises:
        InputError: ``labelstudio_url`` without a token or a user name and password.
        BackendError: Label Studio refused a request (the message names it and the likely fix); nothing is
            written then (the project is made first, the files after it).
    """
    root, config, taxonomy = Path(root), config or ReviewConfig(), resolve_taxonomy(taxonomy)
    login = _login(labelstudio_url, token, username, password)
    out = Path(out_dir) if out_dir else root / "review"
    items = review_items(root, taxonomy, include_reviewed=include_reviewed, max_confidence=max_confidence)
    tasks = [task(item, root, taxonomy, config) for item in items]
    framerate = clip_framerate(items)
    label_config = labeling_config(taxonomy, config, framerate)
    result = ReviewExportResult(len(tasks), out / TASKS_FILE, out / CONFIG_FILE, framerate)
    if labelstudio_url:  # before any file: a refused server or token leaves nothing behind
        from svta.annotate.labelstudio_api import clips_folder, create_review_project

        title = project_title or f"svta review: {root.resolve().name}"
        clips = clips_folder(root, [item.video for item in items if item.video])
        project = create_review_project(labelstudio_url, token, title, label_config, tasks, clips, login=login)
        result.project = {
            "id": project.id,
            "url": project.url,
            "storage_id": project.storage_id,
            "n_tasks": project.n_tasks,
            "clips_dir": str(clips),
        }
    atomic_write_json(out / TASKS_FILE, tasks)
    atomic_write_text(out / CONFIG_FILE, label_config)
    return result


def _login(url: str | None, token: str | None, username: str | None, password: str | None) -> Any:
    """The account to log in as (None: use ``token``), after checking that a Label Studio export can authorise."""
    from svta.annotate.labelstudio_api import LabelStudioLogin

    if (username is None) != (password is None):
        raise InputError("--labelstudio-username and --labelstudio-password go together (or give --token)")
    if url and not token and username is None:
        raise InputError(
            "--labelstudio-url needs --token (or LABEL_STUDIO_API_KEY), a personal access token from Label "
            "Studio's Account & Settings page, or --labelstudio-username and --labelstudio-password "
            "(or LABEL_STUDIO_PASSWORD)"
        )
    return LabelStudioLogin(username, password) if username is not None and password is not None else None


def task_choice(entry: dict[str, Any], from_name: str) -> str | None:
    """The chosen category of one exported task, or None when it has no usable answer.

    Reads the full JSON export (latest non-cancelled ``annotations[].result[]`` of type
    ``choices``) and the JSON-MIN export (the choice stored under the control's name).
    """
    if "annotations" in entry:
        done = [a for a in entry["annotations"] or [] if not a.get("was_cancelled")]
        done.sort(key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))
        for annotation in reversed(done):
            for result in annotation.get("result") or []:
                if result.get("type") == "choices" and result.get("from_name", from_name) == from_name:
                    choices = (result.get("value") or {}).get("choices") or []
                    if choices:
                        return str(choices[0])
        return None
    value = entry.get(from_name)
    if isinstance(value, dict):  # JSON-MIN keeps {"choices": [...]} for multi-choice controls
        value = (value.get("choices") or [None])[0]
    return str(value) if value else None


def import_label_studio(
    root: Path | str,
    export_path: Path | str,
    config: ReviewConfig | None = None,
    *,
    taxonomy: Taxonomy | Path | str | None = None,
) -> ReviewImportResult:
    """Read a Label Studio JSON (or JSON-MIN) export into ``labels.parquet`` with ``reviewed=True``.

    Raises:
        InputError: the file is not a JSON list of tasks, a task lacks ``svta_id``, or a choice is
            not a taxonomy category (the message names the task).
    """
    config, taxonomy, export_path = config or ReviewConfig(), resolve_taxonomy(taxonomy), Path(export_path)
    try:
        entries = json.loads(export_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{export_path}: not a readable Label Studio JSON export: {exc}") from None
    if not isinstance(entries, list):
        raise InputError(f"{export_path}: expected a JSON list of tasks, found {type(entries).__name__}")
    reviews = []
    for index, entry in enumerate(entries):
        data = entry.get("data", entry) if isinstance(entry, dict) else None
        where = f"{export_path}: task {entry.get('id', '#' + str(index)) if isinstance(entry, dict) else index}"
        if not isinstance(data, dict) or not data.get("svta_id"):
            raise InputError(f"{where}: no svta_id in the task data (was it exported by svta?)")
        choice = task_choice(entry, config.from_name)
        if choice is not None:
            reviews.append((str(data["svta_id"]), resolve_choice(choice, taxonomy, where), where))
    return apply_reviews(root, reviews, taxonomy, n_rows=len(entries))
