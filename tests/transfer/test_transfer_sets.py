"""Evaluation sets from released formats: UCFCrime-AR spreadsheets joined with a UCF-Crime folder, UCA JSON
with clip extraction, manifests and training roots; bad input names the row."""

from __future__ import annotations

import pytest
from transferkit import (
    UCF_ROWS,
    load_uca,
    load_ucfcrime_ar,
    textured_clip,
    write_sheet,
    write_training_root,
    write_uca,
    write_ucf_videos,
)

from svta.errors import InputError
from svta.transfer.sets import detect_kind, load_set, load_training_set, parse_spec, source_key


@pytest.fixture(scope="module")
def ucf_videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ucf")
    write_ucf_videos(folder, [name for name, _ in UCF_ROWS])
    return folder


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_ucfcrime_ar_joins_spreadsheet_and_videos(tmp_path, ucf_videos, suffix):
    sheet = write_sheet(tmp_path / f"ucf_crime_test{suffix}", UCF_ROWS)
    items = load_ucfcrime_ar(sheet, ucf_videos)
    assert [i.id for i in items.items][:2] == ["Abuse028_x264", "Arrest001_x264"]
    first, explosion, normal = items.items[0], items.items[2], items.items[4]
    # Videos found below the nested archive folder; stray newlines stripped from names and captions.
    assert first.video == ucf_videos / "Anomaly-Videos-Part-1/Abuse/Abuse028_x264.mp4"
    assert (
        explosion.caption == "A gas tank exploded at a roadside station, sending flames and black smoke into the sky."
    )
    assert (first.category, first.is_anomaly) == ("abuse", True) and (normal.category, normal.is_anomaly) == (
        "walking",
        False,
    )
    assert (
        first.ref == f"{sheet.name}: " + ("row 2" if suffix == ".xlsx" else "line 2")
        and first.source_key == "abuse028_x264"
    )
    assert items.has_videos and items.kind == "ucfcrime-ar" and len(items.fingerprint()) == 16
    # Given videos are hashed, so the overlap check's video_hash kind can fire for UCFCrime-AR.
    from svta.video_io import sha256_file

    assert first.sha256 == sha256_file(first.video) and all(i.sha256 for i in items.items)
    zh = load_ucfcrime_ar(sheet, None, language="zh")
    assert zh.items[0].caption == "中文描述" and zh.items[0].video is None and not zh.has_videos


def test_ucfcrime_ar_missing_column_names_the_header_row(tmp_path):
    sheet = write_sheet(tmp_path / "ucf_crime_test.xlsx", UCF_ROWS, columns=("Video Name", "Chinese Text"))
    with pytest.raises(InputError, match=r"ucf_crime_test.xlsx:1: missing column.*English Text"):
        load_ucfcrime_ar(sheet)


def test_ucfcrime_ar_unknown_video_and_empty_caption_name_their_rows(tmp_path, ucf_videos):
    rows = [*UCF_ROWS[:3], ("Abuse/Abuse999_x264.mp4\n", "A man kicks a door."), ("Arson/Arson007_x264.mp4", "  \n")]
    sheet = write_sheet(tmp_path / "ucf_crime_test.xlsx", rows)
    with pytest.raises(InputError) as caught:
        load_ucfcrime_ar(sheet, ucf_videos)
    message = str(caught.value)
    assert "2 bad row(s)" in message
    assert "row 5 (Abuse/Abuse999_x264.mp4): no video file matches it" in message
    assert "row 6 (Arson/Arson007_x264.mp4): empty or unusable 'English Text' caption" in message
    skipped = load_ucfcrime_ar(sheet, ucf_videos, bad_rows="skip")
    assert len(skipped) == 3 and [where for where, _ in skipped.skipped] == [
        "row 5 (Abuse/Abuse999_x264.mp4)",
        "row 6 (Arson/Arson007_x264.mp4)",
    ]
    # CSV messages count physical lines: each name above carries a newline, so rows span two lines.
    duplicate = write_sheet(tmp_path / "dup.csv", [UCF_ROWS[0], UCF_ROWS[1], UCF_ROWS[0]])
    with pytest.raises(InputError, match=r"line 6 \(Abuse/Abuse028_x264.mp4\): video already listed at line 2"):
        load_ucfcrime_ar(duplicate)


def test_uca_sentences_and_clip_extraction(tmp_path):
    from svta.video_io import probe, write_mp4

    videos = tmp_path / "ucf"
    write_mp4(videos / "Abuse" / "Abuse037_x264.mp4", textured_clip(1, frames=40), fps=8, preset="ultrafast")
    write_mp4(videos / "Normal_Videos_015_x264.mp4", textured_clip(2, frames=40), fps=8, preset="ultrafast")
    path = write_uca(
        tmp_path / "UCFCrime_Test.json",
        {
            "Abuse037_x264": [(0.0, 1.0, "A man walks into a room."), (1.0, 2.5, "He kicks a dog twice.")],
            "Normal_Videos_015_x264": [(0.5, 4.0, "People stand at a bus stop.")],
        },
    )
    whole = load_uca(path, videos)
    assert [i.id for i in whole.items] == ["Abuse037_x264#0", "Abuse037_x264#1", "Normal_Videos_015_x264#0"]
    assert whole.items[0].video == whole.items[1].video == videos / "Abuse" / "Abuse037_x264.mp4"
    assert whole.items[1].category == "abuse" and whole.items[2].is_anomaly is False
    clips = load_uca(path, videos, clips_dir=tmp_path / "clips")
    info = probe(clips.items[1].video)
    assert clips.items[1].video.parent.name == "Abuse037_x264" and info.frames == 12  # [1.0, 2.5) s at 8 fps
    assert info.duration == pytest.approx(1.5, abs=0.01) and clips.name.endswith("/clips")
    assert load_uca(path, videos, clips_dir=tmp_path / "clips").items[1].video == clips.items[1].video  # kept


def test_uca_bad_sentences_name_their_lines(tmp_path):
    from svta.video_io import write_mp4

    videos = tmp_path / "ucf"
    write_mp4(videos / "Abuse037_x264.mp4", textured_clip(1, frames=16), fps=8, preset="ultrafast")
    path = write_uca(
        tmp_path / "UCFCrime_Test.json",
        {
            "Abuse037_x264": [(0.0, 1.0, ""), (3.0, 1.0, "Backwards stamp."), (9.0, 12.0, "After the end.")],
            "Stealing100_x264": [(0.0, 1.0, "Nobody has this video.")],
        },
    )
    with pytest.raises(InputError) as caught:
        load_uca(path, videos, clips_dir=tmp_path / "clips")
    message = str(caught.value)
    assert "(Abuse037_x264 sentence 0): empty or unusable sentence" in message
    assert "(Abuse037_x264 sentence 1): timestamp [3.0, 1.0] is not an interval" in message
    assert "(Abuse037_x264 sentence 2): cannot cut [9, 12] s" in message and "outside the video" in message
    assert "(Stealing100_x264 sentence 0): no video file matches it under" in message
    assert ":line 2" not in message and "line 2 (Abuse037_x264" in message


def test_specs_manifests_and_training_roots(tmp_path):
    root = write_training_root(tmp_path / "train", ["a dog runs", "a cat sleeps"])
    sheet = write_sheet(tmp_path / "ucf_crime_test.xlsx", UCF_ROWS[:2])
    assert detect_kind(root) == "svta-root" and detect_kind(sheet) == "ucfcrime-ar"
    assert parse_spec(f"ucfcrime-ar:{sheet}", language="zh").language == "zh"
    # Every reader's other spellings are aliases of its canonical name.
    assert parse_spec(f"ucfcrime_ar:{sheet}").kind == parse_spec(f"UCFCrime-AR:{sheet}").kind == "ucfcrime-ar"
    assert parse_spec(str(root / "manifest.parquet")).kind == "svta-root" == parse_spec(f"manifest:{root}").kind
    assert [i.id for i in load_set(f"manifest:{root}", split="train").items] == ["train-000", "train-001"]
    with pytest.raises(InputError, match="split 'test' has no rows"):
        load_set(f"manifest:{root}")
    assert len(load_training_set(root)) == 2 and len(load_training_set(root, ("val",))) == 0
    with pytest.raises(InputError, match="not found"):
        load_set(tmp_path / "nothing.xlsx")
    assert source_key("Abuse037_x264#3@1-2") == "abuse037_x264"
    assert source_key("videos/Testing_Normal_Videos_Anomaly/Normal_Videos_003_x264.mp4") == "normal_videos_003_x264"
