"""MSR-VTT (reader ``msrvtt``): ``MSRVTT_data.json`` alone gives its sentences (captions; videos
``<videos>/<video_id>.mp4`` when a folder is given); a folder in the layout CLIP4Clip and X-CLIP read
(the JSON, a train CSV of video ids, JSFUSION val/test CSVs, ``videos/``) gives the pairs of each
split, as svta's own ``export msrvtt`` writes them.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from svta.datasets.files import line_of, load_json, read_text
from svta.datasets.items import Item, ItemSet, RowProblems, bad_caption, checked_caption
from svta.datasets.readers import DatasetFormat, VideoReaderOptions
from svta.datasets.videofolder import with_checksums
from svta.errors import ConfigError, InputError

DATA_JSON = "MSRVTT_data.json"
TRAIN_CSV = "MSRVTT_train.csv"
VAL_CSV = "MSRVTT_JSFUSION_val.csv"
TEST_CSV = "MSRVTT_JSFUSION_test.csv"
# MSR-VTT's own file names, read when ours are absent (importing the original dataset)
ORIGINAL_TRAIN_CSV = "MSRVTT_train.9k.csv"
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validate": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}


def normalize_split(value: Any, where: str) -> str | None:
    """``train``/``val``/``test`` from the many spellings datasets use; None for an empty value."""
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() == "":
        return None
    split = SPLIT_NAMES.get(str(value).strip().lower())
    if split is None:
        raise InputError(f"{where}: unknown split {value!r} (expected one of {sorted(SPLIT_NAMES)})")
    return split


def read_sentences(path: Path) -> list[tuple[int, str, Any, Any]]:
    """``(line, video_id, sen_id, caption)`` of the JSON's sentences."""
    text = read_text(path)
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("sentences"), list):
        raise InputError(f"{path}:1: not an MSR-VTT file (expected a 'sentences' list)")
    out = []
    for index, item in enumerate(data["sentences"]):
        if not isinstance(item, dict) or "video_id" not in item or "caption" not in item:
            needle = json.dumps(item.get("sen_id")) if isinstance(item, dict) and "sen_id" in item else '"sentences"'
            raise InputError(f"{path}:{line_of(text, needle)}: sentence #{index} needs 'video_id' and 'caption'")
        out.append((index + 1, str(item["video_id"]), item.get("sen_id", index), item["caption"]))
    return out


def _category(video: dict[str, Any]) -> tuple[str, bool]:
    from svta.taxonomy import default_taxonomy

    name = video.get("category_name")
    if name is None:
        return f"msrvtt_{video.get('category', 'unknown')}", False  # MSR-VTT's 20 genres: not anomalies
    if "is_anomaly" in video:
        return str(name), bool(video["is_anomaly"])
    category = default_taxonomy().match(str(name))
    return str(name), bool(category is not None and category.is_anomaly)


def _csv_splits(source: Path, names: dict[str, str | None]) -> dict[str, list[dict[str, str]]]:
    """split → CSV rows, for the CSVs present (train: video ids; val/test: JSFUSION rows)."""
    defaults = {"train": [TRAIN_CSV, ORIGINAL_TRAIN_CSV], "val": [VAL_CSV], "test": [TEST_CSV]}
    found = {}
    for split, candidates in defaults.items():
        given = names.get(split)
        for name in [given] if given else candidates:
            if (source / name).is_file():
                with open(source / name, newline="", encoding="utf-8") as handle:
                    found[split] = list(csv.DictReader(handle))
                break
            if name in names.values():
                raise InputError(f"{source / name}: split CSV not found")
    return found


def _pairs(
    videos: dict[str, dict], sentences: list[dict], csv_splits: dict[str, list[dict]], path: Path
) -> list[tuple[str, str, str | None, Any]]:
    """(video id, caption, split, sentence id): train sentences from the JSON for the train CSV's videos;
    val/test pairs from the JSFUSION CSVs (one sentence per video)."""
    if not csv_splits:  # no CSVs: every JSON sentence, split from the video's split field
        return [
            (
                s["video_id"],
                s["caption"],
                normalize_split(videos.get(s["video_id"], {}).get("split"), str(path)),
                s.get("sen_id"),
            )
            for s in sentences
        ]
    train = {row["video_id"] for row in csv_splits.get("train", [])}
    pairs: list[tuple[str, str, str | None, Any]] = [
        (s["video_id"], s["caption"], "train", s.get("sen_id")) for s in sentences if s["video_id"] in train
    ]
    for split in ("val", "test"):
        pairs += [(r["video_id"], r["sentence"], split, r.get("key")) for r in csv_splits.get(split, [])]
    return pairs


class MSRVTTReadOptions(VideoReaderOptions):
    """Options of the ``msrvtt`` reader (the file names apply to a folder in the CLIP4Clip layout)."""

    split: str = "all"  # train, val, test or all
    data_json: str = DATA_JSON
    train_csv: str | None = None  # None: ours, else MSR-VTT's 9k file, else the JSON's split field
    val_csv: str | None = None
    test_csv: str | None = None
    videos_dir: str = "videos"


def _folder_items(source: Path, options: MSRVTTReadOptions, problems: RowProblems) -> list[Item]:
    path = source / options.data_json
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        videos = {v["video_id"]: v for v in data["videos"]}
        sentences = data["sentences"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not an MSR-VTT data JSON: {exc}") from None
    names = {"train": options.train_csv, "val": options.val_csv, "test": options.test_csv}
    pairs = _pairs(videos, sentences, _csv_splits(source, names), path)
    per_video: dict[str, int] = defaultdict(int)
    for vid, *_ in pairs:
        per_video[vid] += 1
    video_dir = source / options.videos_dir
    items = []
    for vid, caption, split, sen_id in pairs:
        video = videos.get(vid)
        where = f"{path.name}: video {vid} sentence {sen_id}"
        text, why = checked_caption(caption)
        if video is None or text is None:
            problems.add(
                where, f"names a video missing from {path.name}" if video is None else bad_caption("caption", why)
            )
            continue
        if options.split not in ("all", split):
            continue
        category, is_anomaly = _category(video)
        # The caption as written (not normalised): an exported root re-imports to the same pairs.
        items.append(
            Item(
                vid if per_video[vid] == 1 else f"{vid}#{sen_id}",
                caption,
                video_dir / f"{vid}.mp4",
                category,
                is_anomaly,
                where,
                split=split,
                source_ref=f"{vid}#{sen_id}",
                video_rel=f"{vid}.mp4",
            )
        )
    return items


def _check_file_options(path: Path, options: MSRVTTReadOptions) -> None:
    """A lone JSON file has no CSVs or video folder to name: those options are refused, not ignored."""
    folder_only = ("data_json", "train_csv", "val_csv", "test_csv", "videos_dir")
    given = [name for name in folder_only if name in options.model_fields_set]
    if given:
        raise ConfigError(f"{path}: option {given[0]!r} applies to an MSR-VTT folder, not to a JSON file")


def _video_splits(path: Path) -> dict[str, str | None]:
    """video id → its split from the JSON's ``videos`` (asking for a split of a file without them is an error)."""
    data = load_json(path)
    videos = data.get("videos") if isinstance(data, dict) else None
    splits = {
        str(v["video_id"]): normalize_split(v.get("split"), f"{path}: video {v['video_id']}")
        for v in videos or []
        if isinstance(v, dict) and "video_id" in v
    }
    if not any(splits.values()):
        raise InputError(f"{path}: no video has a 'split' field, so a split cannot be chosen; read split=all")
    return splits


def read_msrvtt(path: Path, options: MSRVTTReadOptions) -> ItemSet:
    problems = RowProblems(path, options.bad_rows)
    if path.is_dir():
        items = _folder_items(path, options, problems)
        return problems.result(f"msrvtt:{path.name}", "msrvtt", items, "pair")
    _check_file_options(path, options)
    splits = _video_splits(path) if options.split != "all" else {}
    items = []
    for line, vid, sen_id, caption in read_sentences(path):
        if options.split != "all" and splits.get(vid) != options.split:
            continue
        text, why = checked_caption(caption)
        where = f"sentence {line} ({vid})"
        if text is None:
            problems.add(where, bad_caption("caption", why))
            continue
        video = options.videos / f"{vid}.mp4" if options.videos is not None else None
        if video is not None and not video.is_file():
            problems.add(where, f"video not found: {video}")
            continue
        items.append(
            Item(
                f"{vid}#{sen_id}",
                text,
                video,
                ref=f"{path.name}: {where}",
                source_ref=f"{vid}#{sen_id}",
                video_rel=f"{vid}.mp4",
                line=line,
            )
        )
    return with_checksums(problems.result(f"msrvtt:{path.name}", "msrvtt", items, "sentence"), options)


class MSRVTTReader(DatasetFormat):
    """Reading MSR-VTT (registered with its import and export by :mod:`svta.build.formats.msrvtt`)."""

    name = "msrvtt"
    read_options = MSRVTTReadOptions

    def read(self, path: Path, options: MSRVTTReadOptions) -> ItemSet:
        return read_msrvtt(path, options)
