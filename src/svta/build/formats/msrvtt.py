"""The MSR-VTT layout that the original CLIP4Clip and X-CLIP code reads: ``MSRVTT_data.json``
(videos + sentences), a train CSV of video ids, JSFUSION-style val/test CSVs (key, vid_key,
video_id, sentence) and ``videos/<video_id>.mp4``. Exported roots re-import to the same pairs.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from svta.build.formats.base import DATASET_FORMATS, FormatResult, staged_folder
from svta.build.formats.importing import ImportOptions, read_options, write_import
from svta.datasets.msrvtt import DATA_JSON, TEST_CSV, TRAIN_CSV, VAL_CSV, MSRVTTReader, MSRVTTReadOptions
from svta.datasets.readers import read_dataset
from svta.errors import InputError
from svta.tables import atomic_path, atomic_write_json, atomic_write_text, read_records, stable_id, table_path

JSON_SPLIT = {"train": "train", "val": "validate", "test": "test"}  # MSR-VTT spells val "validate"
# CLIP4Clip's train loader takes a video's parent clip from ``url.split("?v=")[-1]``; every
# generated video is its own parent.
URL_TEMPLATE = "https://svta.invalid/watch?v={video_id}"
USAGE = """\
Train CLIP4Clip / X-CLIP on this export (MSR-VTT data type):
  --data_path {out}/{data_json} --features_path {out}/videos \\
  --train_csv {out}/{train_csv} --val_csv {out}/{test_csv}
"""


class MSRVTTOptions(ImportOptions):
    """Import options; an export reads only ``link`` (how videos are placed: symlink, copy or
    hardlink; ``none`` means symlink, since the layout needs ``videos/<video_id>.mp4``) and ``overwrite``
    (replace a non-empty output folder)."""

    data_json: str = DATA_JSON
    train_csv: str | None = None  # None: ours, else MSR-VTT's 9k file, else the JSON's split field
    val_csv: str | None = None
    test_csv: str | None = None
    videos_dir: str = "videos"


def _video_ids(rows: list[dict[str, Any]]) -> dict[str, str]:
    """path → video id: the file stem (an svta id for svta roots), a hash when stems collide."""
    stems: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        stems[Path(row["path"]).stem].add(row["path"])
    return {
        row["path"]: Path(row["path"]).stem if len(stems[Path(row["path"]).stem]) == 1 else stable_id(row["path"])
        for row in rows
    }


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _place(source: Path, dest: Path, link: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink() or dest.exists():
        dest.unlink()
    if link == "copy":
        shutil.copy2(source, dest)
    elif link == "hardlink":
        dest.hardlink_to(source)
    else:
        dest.symlink_to(source.resolve())


@DATASET_FORMATS.register("msrvtt", "MSR-VTT: MSRVTT_data.json or the CLIP4Clip / X-CLIP layout (read, import, export)")
class MSRVTTFormat(MSRVTTReader):
    directions = ("read", "import", "export")
    Options = MSRVTTOptions

    def export(self, root: Path, out: Path, options: Any) -> FormatResult:
        """Validate every row first, then write into a staging folder renamed to ``out`` at the end: a failed
        export leaves nothing behind, and a non-empty ``out`` is refused unless ``overwrite`` replaces it."""
        rows = read_records(table_path(root, "manifest"), "manifest")
        missing = [(row["id"], row["path"]) for row in rows if not (root / row["path"]).is_file()]
        if missing:
            shown = ", ".join(f"{i} ({p})" for i, p in missing[:3])
            raise InputError(
                f"{table_path(root, 'manifest')}: {len(missing)} row(s) name missing video files, "
                f"e.g. {shown}; run `svta build verify` and rebuild, nothing was written"
            )
        with staged_folder(out, options.overwrite) as staging:
            result = self._export_to(root, rows, staging, out, options)
        result.out = out
        return result

    def _export_to(self, root: Path, rows: list[dict[str, Any]], out: Path, final: Path, options: Any) -> FormatResult:
        ids = _video_ids(rows)
        categories = sorted({r["category"] for r in rows})
        videos: dict[str, dict[str, Any]] = {}
        sentences: list[dict[str, Any]] = []
        for row in rows:
            vid = ids[row["path"]]
            if vid not in videos:
                _place(root / row["path"], out / "videos" / f"{vid}.mp4", options.link)
                videos[vid] = self._video_record(row, vid, len(videos), categories)
            sentences.append(
                {"video_id": vid, "caption": row["caption"], "sen_id": len(sentences), "svta_id": row["id"]}
            )
        data = {
            "info": {"source": "svta", "categories": categories},
            "videos": list(videos.values()),
            "sentences": sentences,
        }
        atomic_write_json(out / DATA_JSON, data)
        self._write_split_csvs(out, videos, sentences)
        usage = USAGE.format(out=final, data_json=DATA_JSON, train_csv=TRAIN_CSV, test_csv=TEST_CSV)
        atomic_write_text(out / "README.txt", usage)
        # pairs per split, as n_items counts pairs (a video may carry several sentences)
        splits = {s: sum(videos[p["video_id"]]["split"] == JSON_SPLIT[s] for p in sentences) for s in JSON_SPLIT}
        return FormatResult("msrvtt", "export", len(sentences), out, [DATA_JSON, TRAIN_CSV, VAL_CSV, TEST_CSV], splits)

    @staticmethod
    def _video_record(row: dict[str, Any], vid: str, index: int, categories: list[str]) -> dict[str, Any]:
        seconds = (row["frames"] / row["fps"]) if row.get("frames") and row.get("fps") else None
        return {
            "video_id": vid,
            "id": index,
            "url": URL_TEMPLATE.format(video_id=vid),
            "category": categories.index(row["category"]),  # MSR-VTT stores an integer class
            "category_name": row["category"],
            "is_anomaly": bool(row["is_anomaly"]),
            "split": JSON_SPLIT[row["split"]],
            "start time": 0.0,
            "end time": seconds,
        }

    @staticmethod
    def _write_split_csvs(out: Path, videos: dict[str, dict], sentences: list[dict]) -> None:
        _write_csv(out / TRAIN_CSV, ["video_id"], [[v] for v, rec in videos.items() if rec["split"] == "train"])
        for split, name in (("validate", VAL_CSV), ("test", TEST_CSV)):
            rows = [
                [f"ret{i}", f"msr{videos[s['video_id']]['id']}", s["video_id"], s["caption"]]
                for i, s in enumerate(s for s in sentences if videos[s["video_id"]]["split"] == split)
            ]
            _write_csv(out / name, ["key", "vid_key", "video_id", "sentence"], rows)

    def load(self, source: Path, root: Path, options: Any) -> FormatResult:
        names = ("data_json", "train_csv", "val_csv", "test_csv", "videos_dir")
        read = read_options(options, MSRVTTReadOptions, **{name: getattr(options, name) for name in names})
        found = read_dataset("msrvtt", source, read)
        return write_import(found, root, options, "msrvtt")
