"""The MSR-VTT layout that the original CLIP4Clip and X-CLIP code reads: ``MSRVTT_data.json``
(videos + sentences), a train CSV of video ids, JSFUSION-style val/test CSVs (key, vid_key,
video_id, sentence) and ``videos/<video_id>.mp4``. Exported roots re-import to the same pairs.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from svta.build.formats.base import DATASET_FORMATS, DatasetFormat, FormatResult
from svta.build.formats.importing import ImportedItem, ImportOptions, write_import
from svta.errors import InputError
from svta.tables import atomic_path, atomic_write_json, atomic_write_text, read_records, stable_id, table_path
from svta.taxonomy import default_taxonomy

DATA_JSON = "MSRVTT_data.json"
TRAIN_CSV = "MSRVTT_train.csv"
VAL_CSV = "MSRVTT_JSFUSION_val.csv"
TEST_CSV = "MSRVTT_JSFUSION_test.csv"
# MSR-VTT's own file names, read when ours are absent (importing the original dataset)
ORIGINAL_TRAIN_CSV = "MSRVTT_train.9k.csv"
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
    hardlink; ``none`` means symlink, since the layout needs ``videos/<video_id>.mp4``)."""

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


@DATASET_FORMATS.register("msrvtt", "MSR-VTT layout read by CLIP4Clip / X-CLIP (export and import)")
class MSRVTTFormat(DatasetFormat):
    name = "msrvtt"
    directions = ("export", "import")
    Options = MSRVTTOptions

    def export(self, root: Path, out: Path, options: Any) -> FormatResult:
        rows = read_records(table_path(root, "manifest"), "manifest")
        ids = _video_ids(rows)
        categories = sorted({r["category"] for r in rows})
        videos: dict[str, dict[str, Any]] = {}
        sentences, missing = [], []
        for row in rows:
            vid = ids[row["path"]]
            if vid not in videos:
                if not (root / row["path"]).is_file():
                    missing.append((row["id"], f"video file missing: {row['path']}"))
                    continue
                _place(root / row["path"], out / "videos" / f"{vid}.mp4", options.link)
                videos[vid] = self._video_record(row, vid, len(videos), categories)
            sentences.append(
                {"video_id": vid, "caption": row["caption"], "sen_id": len(sentences), "svta_id": row["id"]}
            )
        if missing:
            raise InputError(f"{root}: {len(missing)} manifest row(s) name missing videos, first: {missing[0]}")
        data = {
            "info": {"source": "svta", "categories": categories},
            "videos": list(videos.values()),
            "sentences": sentences,
        }
        atomic_write_json(out / DATA_JSON, data)
        self._write_split_csvs(out, videos, sentences)
        usage = USAGE.format(out=out, data_json=DATA_JSON, train_csv=TRAIN_CSV, test_csv=TEST_CSV)
        atomic_write_text(out / "README.txt", usage)
        splits = {s: sum(v["split"] == JSON_SPLIT[s] for v in videos.values()) for s in JSON_SPLIT}
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
        path = source / options.data_json
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            videos = {v["video_id"]: v for v in data["videos"]}
            sentences = data["sentences"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not an MSR-VTT data JSON: {exc}") from None
        csv_splits = self._csv_splits(source, options)
        pairs = self._pairs(videos, sentences, csv_splits, path)
        per_video = defaultdict(int)
        for vid, _, _ in pairs:
            per_video[vid] += 1
        items, skipped = [], []
        for vid, caption, (split, sen_id) in pairs:
            video = videos.get(vid)
            if video is None:
                skipped.append((vid, f"sentence {sen_id} names a video missing from {path.name}"))
                continue
            category, is_anomaly = self._category(video)
            item_id = vid if per_video[vid] == 1 else f"{vid}#{sen_id}"
            items.append(ImportedItem(item_id, caption, category, is_anomaly, source / options.videos_dir / f"{vid}.mp4",
                                      f"{vid}.mp4", split, f"{path.name}:{vid}:{sen_id}"))  # fmt: skip
        return write_import(items, root, options, "msrvtt", skipped)

    @staticmethod
    def _category(video: dict[str, Any]) -> tuple[str, bool]:
        name = video.get("category_name")
        if name is None:
            return f"msrvtt_{video.get('category', 'unknown')}", False  # MSR-VTT's 20 genres: not anomalies
        if "is_anomaly" in video:
            return str(name), bool(video["is_anomaly"])
        category = default_taxonomy().match(str(name))
        return str(name), bool(category is not None and category.is_anomaly)

    @staticmethod
    def _csv_splits(source: Path, options: MSRVTTOptions) -> dict[str, list[dict[str, str]]]:
        """split → CSV rows, for the CSVs present (train: video ids; val/test: JSFUSION rows)."""
        wanted = {
            "train": [options.train_csv] if options.train_csv else [TRAIN_CSV, ORIGINAL_TRAIN_CSV],
            "val": [options.val_csv] if options.val_csv else [VAL_CSV],
            "test": [options.test_csv] if options.test_csv else [TEST_CSV],
        }
        found = {}
        for split, names in wanted.items():
            for name in names:
                if (source / name).is_file():
                    with open(source / name, newline="", encoding="utf-8") as handle:
                        found[split] = list(csv.DictReader(handle))
                    break
                if name in (options.train_csv, options.val_csv, options.test_csv):
                    raise InputError(f"{source / name}: split CSV not found")
        return found

    @staticmethod
    def _pairs(
        videos: dict[str, dict], sentences: list[dict], csv_splits: dict[str, list[dict]], path: Path
    ) -> list[tuple[str, str, tuple[str | None, Any]]]:
        """(video id, caption, (split, sentence id)) pairs: train sentences from the JSON for the
        train CSV's videos; val/test pairs from the JSFUSION CSVs (one sentence per video)."""
        from svta.build.formats.importing import normalize_split

        if not csv_splits:  # no CSVs: every JSON sentence, split from the video's split field
            return [
                (s["video_id"], s["caption"], (normalize_split(videos.get(s["video_id"], {}).get("split"), str(path)), s.get("sen_id")))
                for s in sentences
            ]  # fmt: skip
        train = {row["video_id"] for row in csv_splits.get("train", [])}
        pairs = [(s["video_id"], s["caption"], ("train", s.get("sen_id"))) for s in sentences if s["video_id"] in train]
        for split in ("val", "test"):
            pairs += [(r["video_id"], r["sentence"], (split, r.get("key"))) for r in csv_splits.get(split, [])]
        return pairs
