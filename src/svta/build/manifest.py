"""Stage 4: join captions, videos and labels into ``manifest.parquet`` with a stratified,
seeded train/val/test split. Items that cannot go in (no video, no category, a missing file) are
skipped and reported, never silently dropped.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from svta.build.config import BuildConfig
from svta.build.split import SPLITS, stratified_split
from svta.tables import (
    NEEDS_REVIEW,
    PartWriter,
    atomic_write_json,
    carried_category,
    read_records,
    table_path,
    write_table,
)
from svta.taxonomy import Taxonomy, resolve_taxonomy

BUILD_REPORT = "stats/build_report.json"


@dataclass
class BuildResult:
    n_items: int
    splits: dict[str, int]
    categories: dict[str, int]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (caption id, reason)
    videos_without_caption: list[str] = field(default_factory=list)
    manifest_path: Path | None = None
    report_path: Path | None = None
    seconds: float = 0.0

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(reason for _, reason in self.skipped))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["manifest_path"] = str(self.manifest_path) if self.manifest_path else None
        data["report_path"] = str(self.report_path) if self.report_path else None
        data["skipped_by_reason"] = self.skipped_by_reason()
        return data


def resolve_category(caption: dict, label: dict | None, taxonomy: Taxonomy) -> tuple[str, bool] | str:
    """The (category, is_anomaly) of a caption, or the reason it has none.

    Precedence: a human-reviewed label, then the category the caption was generated for, then an
    automatic label. The caption's own category outranks a classifier's guess because it is what
    the caption (and its video) were made from.
    """
    if label is not None and label.get("reviewed"):
        if label["category"] not in taxonomy.ids():  # a reviewer's verdict: "not_anomaly", "unusable"
            return f"reviewer: {label['category']}"
        return str(label["category"]), bool(label["is_anomaly"])
    carried = carried_category(caption, taxonomy)
    if carried is not None:
        return carried, taxonomy.get(carried).is_anomaly
    if caption.get("category"):
        return f"unknown category {caption['category']!r}"
    if label is None:
        return "no category (run `svta annotate classify`)"
    if label["category"] == NEEDS_REVIEW:
        return "needs review"
    return str(label["category"]), bool(label["is_anomaly"])


def manifest_row(caption: dict, video: dict, category: str, is_anomaly: bool) -> dict[str, Any]:
    return {
        "id": caption["id"],
        "caption": caption["caption"],
        "category": category,
        "is_anomaly": is_anomaly,
        "path": video["path"],
        "frames": video["frames"],
        "fps": video["fps"],
        "width": video["width"],
        "height": video["height"],
        "sha256": video["sha256"],
        "source": caption.get("source"),
    }


def join_tables(
    root: Path,
    captions: list[dict],
    videos: dict[str, dict],
    labels: dict[str, dict],
    taxonomy: Taxonomy,
    check_files: bool,
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Manifest rows (without split) for the captions that can go in, and (id, reason) for the rest."""
    rows, skipped = [], []
    for caption in captions:
        video = videos.get(caption["id"])
        resolved = resolve_category(caption, labels.get(caption["id"]), taxonomy)
        if video is None:
            skipped.append((caption["id"], "no video"))
        elif isinstance(resolved, str):
            skipped.append((caption["id"], resolved))
        elif check_files and not (root / video["path"]).is_file():
            skipped.append((caption["id"], f"video file missing: {video['path']}"))
        else:
            rows.append(manifest_row(caption, video, *resolved))
    return rows, skipped


def build_dataset(
    root: Path | str,
    config: BuildConfig | None = None,
    seed: int = 0,
    *,
    taxonomy: Taxonomy | Path | str | None = None,
    exclude: dict[str, str] | None = None,
) -> BuildResult:
    """Write ``<root>/manifest.parquet`` from captions, videos and labels.

    Args:
        root: the dataset root (``captions.parquet`` and ``videos.parquet`` required,
            ``labels.parquet`` optional).
        config: the ``build`` section (split ratios, whether to check video files exist).
        seed: the split seed: the same inputs and seed give the same manifest.
        taxonomy: resolves caption categories; None: the shipped taxonomy.
        exclude: ``{caption id: reason}`` to keep out of the manifest, e.g. items overlapping an
            evaluation set (:func:`svta.transfer.clean.training_exclusions`); listed as skipped.

    Returns:
        counts per split and category, the skipped items with reasons, output paths.
    """
    start = time.perf_counter()
    root, config, taxonomy = Path(root), config or BuildConfig(), resolve_taxonomy(taxonomy)
    captions = read_records(table_path(root, "captions"), "captions")
    videos = {row["id"]: row for row in read_records(table_path(root, "videos"), "videos")}
    labels = {row["id"]: row for row in PartWriter(table_path(root, "labels"), "labels").read_all().to_pylist()}
    rows, skipped = join_tables(root, captions, videos, labels, taxonomy, config.check_files)
    if exclude:
        skipped += [(row["id"], exclude[row["id"]]) for row in rows if row["id"] in exclude]
        rows = [row for row in rows if row["id"] not in exclude]
    by_category: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_category[row["category"]].append(row["id"])
    splits = stratified_split(by_category, config.split, seed)
    for row in rows:
        row["split"] = splits[row["id"]]
    rows.sort(key=lambda r: (SPLITS.index(r["split"]), r["category"], r["id"]))  # stable bytes for a seed
    manifest_path = table_path(root, "manifest")
    write_table(rows, manifest_path, "manifest")
    caption_ids = {c["id"] for c in captions}
    report_path = root / BUILD_REPORT
    result = BuildResult(
        n_items=len(rows),
        splits={s: sum(r["split"] == s for r in rows) for s in SPLITS},
        categories={c: len(ids) for c, ids in sorted(by_category.items(), key=lambda kv: (-len(kv[1]), kv[0]))},
        skipped=skipped,
        videos_without_caption=sorted(set(videos) - caption_ids),
        manifest_path=manifest_path,
        report_path=report_path,
    )
    result.seconds = time.perf_counter() - start
    atomic_write_json(report_path, result.to_dict())
    return result
