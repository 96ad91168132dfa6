"""svta.datasets: one registry of readers with canonical names and aliases, one UCF-Crime class rule,
one bad-row policy, and the readers the commands consume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from readerkit import UCF_TEST, clip, write_archive

from svta.cli.main import main
from svta.datasets import ItemSet, RowProblems, canonical_name, detect_reader, read_dataset
from svta.datasets.items import Item
from svta.datasets.ucf import UCF_NORMAL_CATEGORY, ucf_category, ucf_class
from svta.errors import ConfigError, InputError
from svta.tables import read_records, table_path

READERS = {
    "csv",
    "json",
    "jsonl",
    "msrvtt",
    "svta-release",
    "svta-root",
    "uca",
    "ucfcrime-ar",
    "video-folder",
    "webdataset",
}


def test_every_reader_has_one_canonical_name_and_its_aliases():
    from svta.registry import registry

    assert READERS <= set(registry("dataset_format").names())
    for spelling in ("ucfcrime-ar", "ucfcrime_ar", "UCFCrime-AR", " ucf-crime-ar "):
        assert canonical_name(spelling) == "ucfcrime-ar"
    assert canonical_name("manifest") == canonical_name("svta_root") == "svta-root"
    assert canonical_name("MSR-VTT") == "msrvtt" and canonical_name("video_folder") == "video-folder"
    with pytest.raises(ConfigError, match="unknown dataset format 'nope'; known: csv, hf, json"):
        canonical_name("nope")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Testing_Normal_Videos_Anomaly/Normal_Videos_003_x264.mp4", "Normal"),
        ("Normal_Videos014_x264", "Normal"),
        ("Shoplifting_x264.mp4", "Shoplifting"),
        ("Abuse/Abuse028_x264.mp4", "Abuse"),
        ("Anomaly-Videos-Part-2/RoadAccidents/RoadAccidents012_x264.mp4", "RoadAccidents"),
        ("roadaccidents012_x264", "RoadAccidents"),
        ("Arson/clip.mp4", "Arson"),
    ],
)
def test_one_ucf_class_rule(name, expected):
    assert ucf_class(name) == expected


def test_normal_ucf_videos_get_the_generic_normal_category():
    from svta.taxonomy import default_taxonomy

    category = default_taxonomy().get(UCF_NORMAL_CATEGORY)
    assert not category.is_anomaly and ucf_category("Normal") == (category.id, False)
    assert ucf_category("RoadAccidents") == ("road_accident", True)
    assert ucf_category("RoadAccidents", map_to_taxonomy=False) == ("RoadAccidents", True)
    assert ucf_category(None) == (None, None)


def test_bad_row_policy_fails_naming_rows_or_skips_and_lists(tmp_path):
    strict = RowProblems(tmp_path / "a.csv", "error")
    strict.add("line 3", "caption field 'text': empty")
    with pytest.raises(InputError, match=r"a\.csv: 1 bad row\(s\): line 3: caption field 'text': empty; fix them"):
        strict.finish()
    lenient = RowProblems(tmp_path / "a.csv", "skip")
    lenient.add("line 3", "empty")
    result = lenient.result("csv:a.csv", "csv", [Item("x", "a caption")])
    assert result.skipped_list() == [{"where": "line 3", "why": "empty"}]
    broken = RowProblems(tmp_path / "a.csv", "skip")
    broken.add("line 3", "empty")
    with pytest.raises(InputError, match=r"no usable row \(1 skipped\); first problem: line 3: empty"):
        broken.result("csv:a.csv", "csv", [])
    with pytest.raises(InputError, match="bad_rows must be"):
        RowProblems(tmp_path / "a.csv", "maybe")  # type: ignore[arg-type]


def test_detect_reader(tmp_path):
    (tmp_path / "a.csv").write_text("caption\nA man runs.\n")
    (tmp_path / "b.csv").write_text("Video Name,English Text\nAbuse/Abuse001_x264.mp4,A man.\n")
    (tmp_path / "u.json").write_text(json.dumps({"Abuse001_x264": {"sentences": ["A man."], "timestamps": [[0, 1]]}}))
    (tmp_path / "m.json").write_text(json.dumps({"videos": [], "sentences": []}))
    (tmp_path / "clips").mkdir()
    kinds = {name: detect_reader(tmp_path / name) for name in ("a.csv", "b.csv", "u.json", "m.json", "clips")}
    assert kinds == {
        "a.csv": "csv",
        "b.csv": "ucfcrime-ar",
        "u.json": "uca",
        "m.json": "msrvtt",
        "clips": "video-folder",
    }


def test_import_of_the_real_ucf_crime_layout_finds_every_video_and_lists_what_it_drops(tmp_path, capsys):
    """#15.11: videos nested as Anomaly-Videos-Part-N/<Class>/ and Testing_Normal_Videos_Anomaly/ are found
    by name; a row without a video is listed and the run exits 3 after its summary."""
    source = write_archive(tmp_path / "UCF_Crimes")
    import openpyxl

    book = openpyxl.load_workbook(source / "ucf_crime_test.xlsx")
    book.active.append(["Arson/Arson007_x264.mp4\n", "中文", "A man sets fire to a car."])
    book.save(source / "ucf_crime_test.xlsx")
    root = tmp_path / "root"
    assert main(["--quiet", "import", "ucfcrime_ar", str(source), "--root", str(root)]) == 2  # default: fail
    assert "row 7 (Arson/Arson007_x264.mp4): no video file matches" in capsys.readouterr().err and not root.exists()
    args = ["--quiet", "import", "ucfcrime_ar", str(source), "--root", str(root), "--json", "--skip-bad-rows"]
    assert main(args) == 3
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["n_items"] == len(UCF_TEST) and result["format"] == "ucfcrime-ar"
    assert result["skipped"] == [
        {
            "where": "ucf_crime_test.xlsx: row 7 (Arson/Arson007_x264.mp4)",
            "why": f"no video file matches it under {source}",
        }
    ]
    assert "import ucfcrime-ar: 1 item(s) skipped" in captured.err
    manifest = {r["id"]: r for r in read_records(table_path(root, "manifest"), "manifest")}
    assert manifest["Normal_Videos_014_x264"]["category"] == UCF_NORMAL_CATEGORY == "walking"
    assert manifest["Shoplifting005_x264"]["category"] == "shoplifting" and manifest["Abuse028_x264"]["is_anomaly"]
    assert main(["import", "UCFCrime-AR", str(source), "--root", str(tmp_path / "again"), "--skip-bad-rows"]) == 3
    assert "skipped ucf_crime_test.xlsx: row 7 (Arson/Arson007_x264.mp4): no video file" in capsys.readouterr().err


def test_import_with_nothing_usable_exits_2_and_writes_nothing(tmp_path, capsys):
    source = write_archive(tmp_path / "UCF_Crimes", [("Abuse/Abuse028_x264.mp4", "A man hits a dog.", "x")])
    (source / "x/Abuse/Abuse028_x264.mp4").unlink()
    assert main(["import", "ucfcrime-ar", str(source), "--root", str(tmp_path / "root"), "--skip-bad-rows"]) == 2
    assert "ucf_crime_test.xlsx: no usable row (1 skipped); first problem: row 2" in capsys.readouterr().err
    assert not (tmp_path / "root").exists()


def test_captions_import_accepts_every_spelling_and_exits_3_listing_skips(tmp_path, capsys):
    """#15.11: the README's `--format ucfcrime-ar` works, and so does ucfcrime_ar."""
    source = write_archive(tmp_path / "ucf", [*UCF_TEST[:2], ("Arson/Arson007_x264.mp4", "   ", "")])
    sheet = str(source / "ucf_crime_test.xlsx")
    for i, spelling in enumerate(("ucfcrime-ar", "ucfcrime_ar")):
        args = ["--quiet", "captions", "import", sheet, "--format", spelling, "--root", str(tmp_path / f"r{i}")]
        assert main(args) == 2  # a bad row fails the import by default
        assert "row 4 (Arson/Arson007_x264.mp4): empty or unusable" in capsys.readouterr().err
        assert main([*args, "--skip-bad-rows"]) == 3
        err = capsys.readouterr().err
        assert "skipped ucf_crime_test.xlsx: row 4 (Arson/Arson007_x264.mp4): empty or unusable" in err
        assert len(read_records(tmp_path / f"r{i}" / "captions.parquet", "captions")) == 2
    csv = tmp_path / "ok.csv"
    csv.write_text("caption\nA man runs across the road.\n")
    assert main(["--quiet", "captions", "import", str(csv), "--root", str(tmp_path / "r3")]) == 0
    assert main(["captions", "import", str(csv), "--format", "nope", "--root", str(tmp_path / "r3")]) == 2


def test_video_folder_and_msrvtt_captions(tmp_path):
    from svta.video_io import sha256_file, write_mp4

    folder = tmp_path / "clips"
    write_mp4(folder / "a" / "one.mp4", clip(1), fps=8, preset="ultrafast")
    write_mp4(folder / "two.mp4", clip(2), fps=8, preset="ultrafast")
    (folder / "two.txt").write_text("A dog  runs.\n")
    found = read_dataset("video_folder", folder)
    assert [(i.id, i.caption, i.video_rel) for i in found.items] == [
        ("one", "", "a/one.mp4"),
        ("two", "A dog runs.", "two.mp4"),
    ]
    assert found.items[0].sha256 == sha256_file(folder / "a" / "one.mp4")
    data = {
        "videos": [{"video_id": "v0"}, {"video_id": "v1"}],
        "sentences": [
            {"video_id": "v0", "caption": "a man cooks", "sen_id": 0},
            {"video_id": "v1", "caption": "a car drives", "sen_id": 1},
        ],
    }
    path = tmp_path / "MSRVTT_data.json"
    path.write_text(json.dumps(data))
    (tmp_path / "mv").mkdir()
    write_mp4(tmp_path / "mv" / "v0.mp4", clip(3), fps=8, preset="ultrafast")
    with pytest.raises(InputError, match=r"1 bad row\(s\): sentence 2 \(v1\): video not found"):
        read_dataset("msr-vtt", path, videos=tmp_path / "mv")
    kept = read_dataset("msrvtt", path, videos=tmp_path / "mv", bad_rows="skip")
    assert [i.id for i in kept.items] == ["v0#0"] and kept.items[0].sha256 and len(kept.skipped) == 1
    assert [i.video for i in read_dataset("auto", path).items] == [None, None]


def test_unknown_options_and_missing_paths(tmp_path):
    with pytest.raises(ConfigError, match=r"format 'csv' takes no option 'colour' \(its options: bad_rows, mapping\)"):
        read_dataset("csv", tmp_path, colour="red")
    with pytest.raises(InputError, match="ucfcrime-ar data not found"):
        read_dataset("ucfcrime-ar", tmp_path / "nope.xlsx")
    assert isinstance(read_dataset("auto", write_archive(tmp_path / "u") / "ucf_crime_test.xlsx"), ItemSet)


def test_a_name_matching_several_files_is_a_bad_row_not_a_crash(tmp_path):
    from svta.video_io import write_mp4

    source = write_archive(
        tmp_path / "ucf",
        [
            ("Normal_Videos_003_x264.mp4", "People walk in a hall.", "Testing"),
            ("Abuse/Abuse028_x264.mp4", "A man hits a dog.", ""),
        ],
    )
    write_mp4(source / "Event_Recognition" / "Normal_Videos_003_x264.mp4", clip(9), fps=8, preset="ultrafast")
    sheet = source / "ucf_crime_test.xlsx"
    with pytest.raises(InputError, match=r"row 2 \(Normal_Videos_003_x264.mp4\): 2 files match video"):
        read_dataset("ucfcrime-ar", sheet, videos=source)
    kept = read_dataset("ucfcrime-ar", sheet, videos=source, bad_rows="skip")
    assert [i.id for i in kept.items] == ["Abuse028_x264"] and "keep one or pass the folder" in kept.skipped[0][1]


HUGE = "x" * 1_000_000  # a 1 MB caption: unusable in every format


def _bad_row_files(tmp_path: Path) -> dict[str, Path]:
    """One file per caption-bearing format: two good rows, the second row's caption 1 MB long."""
    import csv as csvlib

    rows = [("v0", "A man runs across the road."), ("v1", HUGE), ("v2", "A dog chases a ball.")]
    files = {}
    files["csv"] = tmp_path / "c.csv"
    with open(files["csv"], "w", newline="") as handle:
        csvlib.writer(handle).writerows([("id", "caption"), *rows])
    files["jsonl"] = tmp_path / "c.jsonl"
    files["jsonl"].write_text("".join(json.dumps({"id": i, "caption": c}) + "\n" for i, c in rows))
    files["json"] = tmp_path / "c.json"
    files["json"].write_text(json.dumps([{"id": i, "caption": c} for i, c in rows]))
    files["msrvtt"] = tmp_path / "MSRVTT_data.json"
    files["msrvtt"].write_text(
        json.dumps(
            {"videos": [], "sentences": [{"video_id": i, "caption": c, "sen_id": k} for k, (i, c) in enumerate(rows)]}
        )
    )
    files["uca"] = tmp_path / "uca.json"
    files["uca"].write_text(
        json.dumps({i: {"duration": 9.0, "timestamps": [[0.0, 1.0]], "sentences": [c]} for i, c in rows})
    )
    files["ucfcrime-ar"] = tmp_path / "ucf.csv"
    with open(files["ucfcrime-ar"], "w", newline="") as handle:
        csvlib.writer(handle).writerows(
            [("Video Name", "English Text"), *((f"Abuse/Abuse00{i[1]}_x264.mp4", c) for i, c in rows)]
        )
    return files


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "msrvtt", "uca", "ucfcrime-ar"])
def test_the_same_bad_row_gets_the_same_treatment_in_every_format(tmp_path, fmt):
    """#24.12: a 1 MB caption fails the read naming file, row and field; skipped, it is listed and the rest kept."""
    path = _bad_row_files(tmp_path)[fmt]
    with pytest.raises(InputError, match=rf"{path.name}: 1 bad row\(s\): .*too_long"):
        read_dataset(fmt, path)
    found = read_dataset(fmt, path, bad_rows="skip")
    assert len(found.items) == 2 and len(found.skipped) == 1 and "too_long" in found.skipped[0][1]


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_captions_import_of_a_1mb_caption_exits_2_or_with_skip_bad_rows_3(tmp_path, capsys, suffix):
    path = _bad_row_files(tmp_path)[suffix]
    root = tmp_path / "root"
    assert main(["--quiet", "captions", "import", str(path), "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert (
        f"{path.name}: 1 bad row(s): line " in err
        and "(v1): caption field 'caption': too_long" in err
        and "Traceback" not in err
    )
    assert not (root / "captions.parquet").exists()
    assert main(["--quiet", "captions", "import", str(path), "--root", str(root), "--skip-bad-rows"]) == 3
    assert len(read_records(root / "captions.parquet", "captions")) == 2


def test_ucfcrime_ar_folder_reads_every_sheet_or_the_split_asked_for(tmp_path):
    folder = tmp_path / "ucf"
    folder.mkdir()
    (folder / "ucf_crime_test.csv").write_text("Video Name,English Text\nAbuse001_x264.mp4,A man hits a dog.\n")
    (folder / "ucf_crime_train.csv").write_text("Video Name,English Text\nArson002_x264.mp4,A car burns.\n")
    every = read_dataset("ucfcrime-ar", folder)
    assert {(i.id, i.split) for i in every.items} == {("Abuse001_x264", "test"), ("Arson002_x264", "train")}
    test = read_dataset("ucfcrime-ar", folder, split="test")
    assert [i.id for i in test.items] == ["Abuse001_x264"]
    assert test.notes == [
        "read ucf_crime_test.csv (1 pairs, test)",
        "not read: ucf_crime_train.csv (the train split; ask for split=train or all)",
    ]


def test_one_registry_every_format_reads_with_typed_options():
    """#25.2: one registry (kind dataset_format); every format reads, with its own typed options class."""
    from svta.datasets.readers import DATASET_FORMATS, ReaderOptions, load_readers
    from svta.registry import REGISTRIES

    load_readers()
    assert "dataset_reader" not in REGISTRIES or REGISTRIES["dataset_reader"] is DATASET_FORMATS
    for name in DATASET_FORMATS.names():
        fmt = DATASET_FORMATS.get(name)()
        assert fmt.name == name and "read" in fmt.directions and issubclass(fmt.read_options, ReaderOptions)
    imports = {n for n in DATASET_FORMATS.names() if "import" in DATASET_FORMATS.get(n).directions}
    assert imports == {"hf", "msrvtt", "svta-release", "ucfcrime-ar"}


def test_an_option_a_format_does_not_take_is_an_error_naming_both(tmp_path, capsys):
    from svta.datasets.readers import ReadOptions

    path = tmp_path / "c.csv"
    path.write_text("caption\nA man runs across the road.\n")
    with pytest.raises(ConfigError, match=r"format 'csv' takes no option 'videos'"):
        read_dataset("csv", path, videos=tmp_path)
    with pytest.raises(ConfigError, match=r"format 'csv' takes no option 'language'"):
        read_dataset("csv", path, ReadOptions(language="zh"))  # the one-bag options no longer pass silently
    with pytest.raises(ConfigError, match=r"format 'svta-root' takes no option 'language'"):
        read_dataset("manifest", tmp_path, language="zh")
    assert len(read_dataset("csv", path, ReadOptions(bad_rows="skip"))) == 1  # what it takes still works
    source = write_archive(tmp_path / "ucf")
    args = ["build", "import", "ucfcrime-ar", str(source), "--root", str(tmp_path / "r"), "-o", "shard_size=3"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "format 'ucfcrime-ar' takes no option 'shard_size'" in err
    assert not (tmp_path / "r").exists()


def test_msrvtt_json_reads_the_split_asked_for_and_refuses_folder_options(tmp_path):
    """A split asked of a lone MSRVTT_data.json is applied from its videos' split field, not ignored."""
    path = tmp_path / "MSRVTT_data.json"
    data = {
        "videos": [{"video_id": "v0", "split": "train"}, {"video_id": "v1", "split": "validate"}],
        "sentences": [
            {"video_id": "v0", "caption": "a man cooks", "sen_id": 0},
            {"video_id": "v1", "caption": "a car drives", "sen_id": 1},
        ],
    }
    path.write_text(json.dumps(data))
    assert [i.id for i in read_dataset("msrvtt", path, split="val").items] == ["v1#1"]
    assert len(read_dataset("msrvtt", path).items) == 2
    with pytest.raises(ConfigError, match="option 'train_csv' applies to an MSR-VTT folder"):
        read_dataset("msrvtt", path, train_csv="x.csv")
    path.write_text(json.dumps({"videos": [], "sentences": data["sentences"]}))
    with pytest.raises(InputError, match="no video has a 'split' field"):
        read_dataset("msrvtt", path, split="test")
