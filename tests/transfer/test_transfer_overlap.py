"""The overlap checker finds planted contamination (a verbatim caption, a paraphrase, a re-encoded video, a
sentence of the same source recording, an identical file) and nothing else; its report round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transferkit import (
    PARAPHRASE,
    PARAPHRASED,
    UCF_ROWS,
    UNRELATED,
    VERBATIM,
    load_ucfcrime_ar,
    textured_clip,
    write_sheet,
    write_training_root,
    write_ucf_videos,
)

from svta.cli.main import main
from svta.errors import InputError
from svta.transfer.overlap import OverlapOptions, OverlapReport, check_overlap
from svta.transfer.overlap_report import read_overlap_report, write_overlap_report
from svta.transfer.sets import ItemSet, SetItem, load_training_set

REENCODED = 6  # the eval video (Fighting014) the training root holds again, resized and re-encoded


def _resized(frames: np.ndarray, side: int) -> np.ndarray:
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    x = torch.nn.functional.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An evaluation spreadsheet + videos and a training root with the planted overlaps."""
    base = tmp_path_factory.mktemp("overlap")
    write_ucf_videos(base / "ucf", [name for name, _ in UCF_ROWS])
    sheet = write_sheet(base / "ucf_crime_test.xlsx", UCF_ROWS)
    captions = [UCF_ROWS[VERBATIM][1].upper(), PARAPHRASE, *UNRELATED]
    videos = [textured_clip(100 + i) for i in range(len(captions))]
    videos[2] = _resized(textured_clip(REENCODED), 48)  # same seed as the eval clip write_ucf_videos made
    root = write_training_root(base / "train", captions, videos)
    return {"root": root, "sheet": sheet, "videos": base / "ucf"}


def test_planted_verbatim_and_paraphrase_are_found(world, tmp_path):
    evaluation = load_ucfcrime_ar(world["sheet"])
    report = check_overlap(load_training_set(world["root"]), evaluation)
    ids = [item.id for item in evaluation.items]
    assert report.flagged == {ids[VERBATIM]: ["exact"], ids[PARAPHRASED]: ["near"]}
    assert report.train_flagged == {"train-000": ["exact"], "train-001": ["near"]}
    assert report.counts == {"exact": 1, "near": 1, "source": 0, "video_hash": 0, "video": 0, "any": 2, "clean": 6}
    near = next(p for p in report.pairs if p["kind"] == "near")
    assert near["train_caption"] == PARAPHRASE and 0.8 <= near["score"] < 1.0
    best = report.best_text_similarity
    assert best[ids[VERBATIM]] == pytest.approx(1.0, abs=1e-5)
    assert max(v for k, v in best.items() if k not in report.flagged) < 0.8
    assert sum(report.histogram["counts"]) == len(evaluation)
    assert report.excluded() == {ids[VERBATIM], ids[PARAPHRASED]} and report.excluded(["exact"]) == {ids[VERBATIM]}
    with pytest.raises(InputError, match="unknown overlap kind"):
        report.excluded(["caption"])
    # A stricter threshold keeps the verbatim match only.
    strict = check_overlap(load_training_set(world["root"]), evaluation, OverlapOptions(text_threshold=0.99))
    assert set(strict.flagged) == {ids[VERBATIM]}

    files = write_overlap_report(report, tmp_path / "report")
    assert files.figure is not None and files.figure.read_bytes()[:4] == b"\x89PNG"
    assert read_overlap_report(tmp_path / "report").to_dict() == json.loads(json.dumps(report.to_dict()))
    markdown = files.markdown.read_text()
    assert "2 of 8 evaluation items (25.0%) overlap" in markdown and PARAPHRASE in markdown
    with pytest.raises(InputError, match="not an svta overlap report"):
        OverlapReport.from_dict({"flagged": {}}, "x.json")


def test_reencoded_video_is_found_by_frame_embeddings(world):
    evaluation = load_ucfcrime_ar(world["sheet"], world["videos"])
    report = check_overlap(load_training_set(world["root"]), evaluation, OverlapOptions(videos=True))
    flagged_by_video = {item for item, kinds in report.flagged.items() if "video" in kinds}
    assert flagged_by_video == {evaluation.items[REENCODED].id}
    assert report.train_flagged["train-002"] == ["video"] and report.video["checked"]
    score = next(p["score"] for p in report.pairs if p["kind"] == "video")
    assert score > 0.95


def test_same_source_recording_and_identical_files():
    def item(item_id: str, caption: str, key: str | None = None, sha: str | None = None) -> SetItem:
        return SetItem(item_id, caption, source_key=key, sha256=sha)

    train = ItemSet(
        "train",
        "captions",
        [
            item("uca-1", "A man walks into a yard.", "abuse028_x264"),
            item("t-2", "Rain falls on a parked truck.", None, "f" * 64),
        ],
    )
    evaluation = ItemSet(
        "eval",
        "manifest",
        [
            item("Abuse028_x264", "A man beats a dog.", "abuse028_x264"),
            item("e-2", "Birds fly over a lake.", None, "f" * 64),
            item("e-3", "A boy rides a bike.", None, "0" * 64),
        ],
    )
    report = check_overlap(train, evaluation)
    assert report.flagged == {"Abuse028_x264": ["source"], "e-2": ["video_hash"]}
    assert report.train_flagged == {"uca-1": ["source"], "t-2": ["video_hash"]}


def test_cli_overlap_writes_the_report_and_exits_1_on_overlap(world, capsys):
    """A contamination check that finds overlap exits 1 (after writing every file), saying why in its last line;
    --exit-zero makes it a pure report."""
    args = ["--quiet", "overlap", "--train", str(world["root"]), "--eval", f"ucfcrime-ar:{world['sheet']}"]
    code = main([*args, "--json"])
    assert code == 1
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert captured.err.strip().splitlines()[-1] == (
        f"problems: 2 of 8 evaluation item(s) overlap train/train+val (exact 1, near 1): report "
        f"{out['json']} (`svta eval --exclude-overlap` it for clean numbers)"
    )
    assert all(Path(out[key]).exists() for key in ("json", "markdown", "review_csv", "review_tasks"))
    assert main([*args, "--json", "--exit-zero"]) == 0
    assert capsys.readouterr().err.strip().endswith("for clean numbers) (exit 0: --exit-zero)")
    assert out["counts"]["any"] == 2 and out["n_eval"] == 8 and out["n_train"] == 8
    report = read_overlap_report(out["json"])
    assert report.eval["name"] == "ucfcrime-ar:ucf_crime_test.xlsx" and out["json"].startswith(str(world["root"]))
    assert main(["overlap", "--train", str(world["root"]), "--eval", "ucfcrime-ar:/no/such.xlsx"]) == 2
    assert "ucfcrime-ar data not found" in capsys.readouterr().err


def test_video_hash_fires_for_a_byte_identical_ucfcrime_ar_video(world, tmp_path):
    """#15.12: evaluation videos are hashed when given, so a byte-identical training copy is a video_hash match."""
    import shutil

    root = write_training_root(
        tmp_path / "train",
        ["a cat sleeps on a sofa", "a bus stops at a red light"],
        [textured_clip(300), textured_clip(301)],
    )
    copied = world["videos"] / "Anomaly-Videos-Part-1/Burglary/Burglary021_x264.mp4"
    shutil.copyfile(copied, root / "videos/train-001.mp4")
    training = load_training_set(root)
    from svta.video_io import sha256_file

    training = ItemSet(
        training.name, training.kind, [item.but(sha256=sha256_file(item.video)) for item in training.items]
    )
    report = check_overlap(training, load_ucfcrime_ar(world["sheet"], world["videos"]))
    assert report.counts["video_hash"] == 1 and report.flagged["Burglary021_x264"] == ["video_hash"]
    assert check_overlap(training, load_ucfcrime_ar(world["sheet"])).counts["video_hash"] == 0  # no videos: no hash


def test_cli_overlap_with_no_overlap_exits_0(world, tmp_path, capsys):
    sheet = write_sheet(tmp_path / "ucf_crime_test.xlsx", UCF_ROWS[1:3])
    args = ["--quiet", "overlap", "--train", str(world["root"]), "--eval", f"ucfcrime-ar:{sheet}"]
    assert main([*args, "--out", str(tmp_path / "report")]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("0 of 2 evaluation items overlap") and captured.err == ""


def test_cli_overlap_found_with_skipped_rows_exits_1_and_names_both(world, tmp_path, capsys):
    sheet = write_sheet(tmp_path / "ucf_crime_test.xlsx", [*UCF_ROWS[:3], ("Arson/Arson007_x264.mp4", "  ")])
    args = ["--quiet", "overlap", "--train", str(world["root"]), "--eval", f"ucfcrime_ar:{sheet}", "--skip-bad-rows"]
    assert main([*args, "--out", str(tmp_path / "report")]) == 1  # the overlap is the answer, skipped rows or not
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("skipped row 5 (Arson/Arson007_x264.mp4)")
    assert err[-1].startswith("problems: 1 of 3 evaluation item(s) overlap") and "exact 1" in err[-1]
    assert err[-1].endswith("; 1 item(s) skipped (listed above)")


def test_cli_overlap_lists_skipped_rows_and_exits_3(world, tmp_path, capsys):
    sheet = write_sheet(tmp_path / "ucf_crime_test.xlsx", [*UCF_ROWS[1:3], ("Arson/Arson007_x264.mp4", "  ")])
    args = [
        "--quiet",
        "overlap",
        "--train",
        str(world["root"]),
        "--eval",
        f"ucfcrime_ar:{sheet}",
        "--skip-bad-rows",
        "--out",
        str(tmp_path / "report"),
    ]
    assert main([*args, "--json"]) == 3
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["skipped"] == [
        {"where": "row 4 (Arson/Arson007_x264.mp4)", "why": "empty or unusable 'English Text' caption (empty)"}
    ]
    assert "1 item(s) skipped" in captured.err
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "skipped row 4 (Arson/Arson007_x264.mp4): empty or unusable" in err
