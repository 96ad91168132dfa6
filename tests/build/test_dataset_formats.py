from __future__ import annotations

import csv
import json
import shutil
import tarfile

import pandas as pd
import pytest

from svta.build.formats import export_dataset, import_dataset
from svta.errors import ConfigError, InputError
from svta.registry import registry
from svta.tables import read_records, table_path


def pairs(root) -> set[tuple]:
    return {
        (r["id"], r["caption"], r["category"], r["is_anomaly"], r["split"])
        for r in read_records(table_path(root, "manifest"), "manifest")
    }


def test_formats_are_registered():
    assert {"msrvtt", "svta-release", "ucfcrime-ar", "webdataset"} <= set(registry("dataset_format").names())


def test_msrvtt_export_layout(built_root, tmp_path):
    out = tmp_path / "msrvtt"
    result = export_dataset(built_root, "msrvtt", out)
    data = json.loads((out / "MSRVTT_data.json").read_text())
    manifest = read_records(table_path(built_root, "manifest"), "manifest")
    assert result.n_items == len(manifest) == len(data["sentences"]) == len(data["videos"])
    video = next(v for v in data["videos"] if v["video_id"] == "fighting-0")
    assert video["url"].split("?v=")[-1] == "fighting-0"  # what CLIP4Clip's loader reads
    assert data["info"]["categories"][video["category"]] == "fighting" == video["category_name"]
    assert {s["video_id"] for s in data["sentences"]} == {v["video_id"] for v in data["videos"]}
    with open(out / "MSRVTT_train.csv") as handle:
        train = [row["video_id"] for row in csv.DictReader(handle)]
    with open(out / "MSRVTT_JSFUSION_test.csv") as handle:
        test = list(csv.DictReader(handle))
    assert set(train) == {r["id"] for r in manifest if r["split"] == "train"}
    assert list(test[0]) == ["key", "vid_key", "video_id", "sentence"] and test[0]["key"] == "ret0"
    assert {(t["video_id"], t["sentence"]) for t in test} == {
        (r["id"], r["caption"]) for r in manifest if r["split"] == "test"
    }
    assert (out / "videos" / "fighting-0.mp4").resolve() == (built_root / "videos" / "fighting-0.mp4").resolve()


def test_msrvtt_reimports_to_the_same_pairs(built_root, tmp_path):
    export_dataset(built_root, "msrvtt", tmp_path / "msrvtt", {"link": "copy"})
    result = import_dataset("msrvtt", tmp_path / "msrvtt", tmp_path / "back")
    assert pairs(tmp_path / "back") == pairs(built_root) and not result.skipped
    manifest = {r["id"]: r for r in read_records(table_path(tmp_path / "back", "manifest"), "manifest")}
    original = {r["id"]: r for r in read_records(table_path(built_root, "manifest"), "manifest")}
    assert all(manifest[i]["sha256"] == original[i]["sha256"] and manifest[i]["frames"] == 4 for i in original)
    labels = read_records(table_path(tmp_path / "back", "labels"), "labels")
    assert {row["method"] for row in labels} == {"import:msrvtt"} and all(row["reviewed"] for row in labels)
    with pytest.raises(InputError, match="already holds"):
        import_dataset("msrvtt", tmp_path / "msrvtt", tmp_path / "back")


def test_msrvtt_import_of_original_style_files(tmp_path, video_bank):
    src = tmp_path / "orig"
    (src / "videos").mkdir(parents=True)
    for i in range(3):
        shutil.copyfile(video_bank[i], src / "videos" / f"video{i}.mp4")
    data = {
        "videos": [
            {"video_id": f"video{i}", "category": i, "url": "https://www.youtube.com/watch?v=x", "split": "train"}
            for i in range(3)
        ],
        "sentences": [
            {"video_id": f"video{i}", "caption": f"caption {i} {j}", "sen_id": 2 * i + j}
            for i in range(3)
            for j in range(2)
        ],
    }
    (src / "MSRVTT_data.json").write_text(json.dumps(data))
    (src / "MSRVTT_train.9k.csv").write_text("video_id\nvideo0\nvideo1\n")
    (src / "MSRVTT_JSFUSION_test.csv").write_text("key,vid_key,video_id,sentence\nret0,msr2,video2,caption 2 1\n")
    import_dataset("msrvtt", src, tmp_path / "root", {"checksum": "false"})
    manifest = read_records(table_path(tmp_path / "root", "manifest"), "manifest")
    assert sorted((r["id"], r["split"]) for r in manifest) == [
        ("video0#0", "train"),
        ("video0#1", "train"),
        ("video1#2", "train"),
        ("video1#3", "train"),
        ("video2", "test"),
    ]
    assert {r["category"] for r in manifest} == {"msrvtt_0", "msrvtt_1", "msrvtt_2"} and not any(
        r["is_anomaly"] for r in manifest
    )
    assert not table_path(tmp_path / "root", "videos").exists()  # no checksums, no videos table


def test_webdataset_shards(built_root, tmp_path):
    out = tmp_path / "wds"
    result = export_dataset(built_root, "webdataset", out, {"shard_size": "4", "splits": ["train", "test"]})
    manifest = {r["id"]: r for r in read_records(table_path(built_root, "manifest"), "manifest")}
    assert result.splits["train"] == sum(r["split"] == "train" for r in manifest.values())
    index = json.loads((out / "train" / "shards.json").read_text())
    assert sum(s["samples"] for s in index["shards"]) == result.splits["train"] and index["shards"][0]["samples"] == 4
    with tarfile.open(out / "train" / "train-000000.tar") as tar:
        names = tar.getnames()
        key = names[0].split(".")[0]
        assert names[:3] == [f"{key}.mp4", f"{key}.txt", f"{key}.json"]
        assert tar.extractfile(f"{key}.txt").read().decode() == manifest[key]["caption"]
        assert json.loads(tar.extractfile(f"{key}.json").read())["category"] == manifest[key]["category"]
        assert tar.extractfile(f"{key}.mp4").read() == (built_root / manifest[key]["path"]).read_bytes()
    first = (out / "train" / "train-000000.tar").read_bytes()
    export_dataset(built_root, "webdataset", out, {"shard_size": 4, "overwrite": True})
    assert (out / "train" / "train-000000.tar").read_bytes() == first  # byte-deterministic
    with pytest.raises(InputError, match="cannot import"):
        import_dataset("webdataset", out, tmp_path / "x")


def test_svta_release_with_column_mapping(tmp_path, video_bank):
    src = tmp_path / "release"
    (src / "clips").mkdir(parents=True)
    for i in range(6):
        shutil.copyfile(video_bank[i], src / "clips" / f"clip{i}.mp4")
    rows = [
        {
            "file": f"clip{i}",
            "text": f" A caption\n{i} ",
            "label": ["Falling", "Walk"][i % 2],
            "subset": ["training", "testing"][i % 2],
        }
        for i in range(6)
    ]
    rows.append({"file": "clip99", "text": "no video", "label": "Walk", "subset": "test"})
    pd.DataFrame(rows).to_csv(src / "annotations.csv", index=False)
    options = {
        "videos_dir": "clips",
        "video_column": "file",
        "caption_column": "text",
        "category_column": "label",
        "split_column": "subset",
        "normal_categories": "Walk",
    }
    with pytest.raises(InputError, match=r"1 bad row\(s\): annotations.csv: row 7: video not found"):
        import_dataset("svta-release", src, tmp_path / "root", options)
    assert not (tmp_path / "root").exists()  # the default policy fails before anything is written
    result = import_dataset("svta-release", src, tmp_path / "root", {**options, "skip_bad_rows": True})
    manifest = {r["id"]: r for r in read_records(table_path(tmp_path / "root", "manifest"), "manifest")}
    assert (
        result.n_items == 6 and result.skipped[0][0] == "annotations.csv: row 7" and "not found" in result.skipped[0][1]
    )
    assert manifest["clip0"]["caption"] == "A caption 0"
    assert manifest["clip0"]["category"] == "Falling" and manifest["clip0"]["is_anomaly"] is True
    assert manifest["clip1"]["category"] == "Walk" and manifest["clip1"]["is_anomaly"] is False
    assert manifest["clip1"]["split"] == "test" and manifest["clip0"]["split"] == "train"
    assert (tmp_path / "root" / manifest["clip0"]["path"]).is_symlink()


def test_svta_release_errors(tmp_path, video_bank):
    src = tmp_path / "release"
    src.mkdir()
    (src / "a.csv").write_text("video,caption,category\nv0,hello,Mystery\n")
    shutil.copyfile(video_bank[0], src / "v0.mp4")
    with pytest.raises(InputError, match="a.csv: row 1.*'Mystery'.*unknown_kind"):
        import_dataset("svta-release", src, tmp_path / "r1")
    result = import_dataset("svta-release", src, tmp_path / "r2", {"unknown_kind": "anomaly"})
    assert result.n_items == 1 and sum(result.splits.values()) == 1  # one item, no split column: a seeded split
    (src / "b.json").write_text("[]")
    with pytest.raises(InputError, match="table=FILE"):
        import_dataset("svta-release", src, tmp_path / "r3")
    with pytest.raises(InputError, match="missing column.*caption_column"):
        import_dataset("svta-release", src, tmp_path / "r4", {"table": "a.csv", "caption_column": "text"})
    with pytest.raises(ConfigError, match="format 'svta-release' takes no option 'bogus'"):
        import_dataset("svta-release", src, tmp_path / "r5", {"bogus": 1})


def test_ucfcrime_ar_from_spreadsheets(tmp_path, video_bank):
    src = tmp_path / "ucf"
    names = [
        "Abuse/Abuse028_x264.mp4",
        "RoadAccidents/RoadAccidents001_x264.mp4",
        "Testing_Normal_Videos_Anomaly/Normal_Videos_003_x264.mp4",
    ]
    for i, name in enumerate(names):
        (src / "videos" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(video_bank[i], src / "videos" / name)
    sheet = pd.DataFrame(
        {
            "Video Name": [n + "\n" for n in names] + ["Arson/Arson001_x264.mp4\n"],
            "Chinese Text": ["一个男人"] * 4,
            "English Text": [
                "A man in a hat beat a white dog\nin the yard.",
                "A car hits a man.",
                "People walk.",
                "Fire.",
            ],
        }
    )
    sheet.to_excel(src / "ucf_crime_test.xlsx", index=False)
    result = import_dataset("ucfcrime-ar", src, tmp_path / "root", {"skip_bad_rows": "true"})
    manifest = {r["id"]: r for r in read_records(table_path(tmp_path / "root", "manifest"), "manifest")}
    assert result.n_items == 3 and result.skipped == [
        ("ucf_crime_test.xlsx: row 5 (Arson/Arson001_x264.mp4)", f"no video file matches it under {src / 'videos'}")
    ]
    assert manifest["Abuse028_x264"]["caption"] == "A man in a hat beat a white dog in the yard."
    assert (
        manifest["Abuse028_x264"]["category"] == "abuse"
        and manifest["RoadAccidents001_x264"]["category"] == "road_accident"
    )
    assert (
        manifest["Normal_Videos_003_x264"]["category"] == "walking"  # the generic normal category
        and not manifest["Normal_Videos_003_x264"]["is_anomaly"]
    )
    assert {r["split"] for r in manifest.values()} == {"test"}
    assert manifest["Abuse028_x264"]["path"] == "videos/Abuse/Abuse028_x264.mp4"
    with pytest.raises(InputError, match="ucf_crime_train.xlsx.*not found"):
        import_dataset("ucfcrime-ar", src, tmp_path / "root2", {"splits": "train,test"})
    raw_options = {"map_to_taxonomy": "false", "link": "none", "skip_bad_rows": True}
    raw = import_dataset("ucfcrime-ar", src, tmp_path / "raw", raw_options)
    manifest = {r["id"]: r for r in read_records(table_path(tmp_path / "raw", "manifest"), "manifest")}
    assert raw.n_items == 3 and manifest["RoadAccidents001_x264"]["category"] == "RoadAccidents"
    assert (tmp_path / "raw" / manifest["Abuse028_x264"]["path"]).resolve() == (src / "videos" / names[0]).resolve()


@pytest.mark.parametrize("fmt", ["msrvtt", "webdataset", "hf"])
def test_every_export_refuses_a_non_empty_folder_and_a_file(built_root, tmp_path, fmt):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="already exists and is not empty.*overwrite=true"):
        export_dataset(built_root, fmt, out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        export_dataset(built_root, fmt, tmp_path / "file")
    with pytest.raises(InputError, match="cannot create the export folder"):
        export_dataset(built_root, fmt, tmp_path / "file" / "below")
    result = export_dataset(built_root, fmt, out, {"overwrite": True})  # replaces the folder whole
    assert result.out == out and not (out / "notes.txt").exists() and result.n_items > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_cli_export_into_a_non_empty_folder_is_one_line_exit_2(built_root, tmp_path, capsys):
    from svta.cli.main import main

    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["build", "export", "msrvtt", str(out), "--root", str(built_root)]) == 2
    assert main(["build", "export", "msrvtt", str(tmp_path / "out" / "notes.txt"), "--root", str(built_root)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_msrvtt_export_with_overwrite_replaces_an_earlier_export_whole(built_root, tmp_path):
    out = tmp_path / "msrvtt"
    export_dataset(built_root, "msrvtt", out)
    (out / "videos" / "stale.mp4").write_bytes(b"old")
    result = export_dataset(built_root, "msrvtt", out, {"overwrite": "true"})
    assert result.out == out and not (out / "videos" / "stale.mp4").exists()
    assert "--data_path " + str(out) in (out / "README.txt").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_export_needs_a_manifest(tmp_path):
    from svta.errors import TableSchemaError

    with pytest.raises(TableSchemaError, match="manifest"):
        export_dataset(tmp_path, "msrvtt", tmp_path / "out")


def test_manifest_with_duplicate_ids_or_missing_videos_is_refused(built_root, tmp_path):
    import pyarrow.parquet as pq

    from svta.errors import TableSchemaError

    (built_root / "videos" / "smoke-1.mp4").unlink()
    with pytest.raises(InputError, match=r"1 row\(s\) name missing video files.*smoke-1.*nothing was written"):
        export_dataset(built_root, "msrvtt", tmp_path / "a")
    assert not (tmp_path / "a").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(InputError, match="id 'smoke-1': video file missing"):
        export_dataset(built_root, "webdataset", tmp_path / "b")
    path = table_path(built_root, "manifest")
    table = pq.read_table(path)
    pq.write_table(table.take([0, 1, 0]), path)
    with pytest.raises(TableSchemaError, match=r"manifest.parquet, row 2, field 'id': duplicate id"):
        export_dataset(built_root, "msrvtt", tmp_path / "c")


def test_webdataset_shards_read_back_through_the_reader(built_root, tmp_path):
    from svta.datasets import read_dataset

    out = tmp_path / "wds"
    export_dataset(built_root, "webdataset", out, {"shard_size": 4})
    manifest = {r["id"]: r for r in read_records(table_path(built_root, "manifest"), "manifest")}
    back = read_dataset("wds", out, videos=tmp_path / "clips", split="test")
    assert back.kind == "webdataset" and {i.id for i in back.items} == {
        k for k, r in manifest.items() if r["split"] == "test"
    }
    item = back.items[0]
    assert item.caption == " ".join(manifest[item.id]["caption"].split()) and item.sha256 == manifest[item.id]["sha256"]
    assert item.video.read_bytes() == (built_root / manifest[item.id]["path"]).read_bytes()
    assert all(i.video is None for i in read_dataset("webdataset", out).items)  # no folder: captions only


def test_ucfcrime_ar_import_says_which_sheets_it_read(tmp_path, video_bank, capsys):
    """#24.12: a folder with both sheets: the default imports the test sheet and says the train sheet was not read."""
    from svta.cli.main import main

    src = tmp_path / "ucf"
    (src / "videos").mkdir(parents=True)
    for i, (name, split) in enumerate((("Abuse001_x264.mp4", "test"), ("Arson002_x264.mp4", "train"))):
        shutil.copyfile(video_bank[i], src / "videos" / name)
        frame = {"Video Name": [name], "Chinese Text": ["中文"], "English Text": [f"A caption for {split}."]}
        pd.DataFrame(frame).to_excel(src / f"ucf_crime_{split}.xlsx", index=False)
    result = import_dataset("ucfcrime-ar", src, tmp_path / "root")
    assert result.notes == [
        "read ucf_crime_test.xlsx (1 rows, test split)",
        "not read: ucf_crime_train.xlsx (the train split; add it with --opt splits=train,test)",
    ]
    both = import_dataset("ucfcrime-ar", src, tmp_path / "both", {"splits": "train,test"})
    assert both.splits == {"train": 1, "val": 0, "test": 1} and len(both.notes) == 2
    assert main(["build", "import", "ucfcrime-ar", str(src), "--root", str(tmp_path / "cli")]) == 0
    assert "not read: ucf_crime_train.xlsx" in capsys.readouterr().out


def test_export_split_counts_are_pairs_and_left_out_splits_are_said(tmp_path, video_bank, built_root):
    """A video with several sentences: the split counts add up to the pairs exported; webdataset names
    the splits it did not export."""
    src = tmp_path / "orig"
    (src / "videos").mkdir(parents=True)
    for i in range(2):
        shutil.copyfile(video_bank[i], src / "videos" / f"video{i}.mp4")
    data = {
        "videos": [{"video_id": f"video{i}", "category": i, "split": ["train", "test"][i]} for i in range(2)],
        "sentences": [{"video_id": "video0", "caption": f"caption {j}", "sen_id": j} for j in range(3)]
        + [{"video_id": "video1", "caption": "caption x", "sen_id": 3}],
    }
    (src / "MSRVTT_data.json").write_text(json.dumps(data))
    import_dataset("msrvtt", src, tmp_path / "imported", {"checksum": "false"})
    result = export_dataset(tmp_path / "imported", "msrvtt", tmp_path / "out")
    assert result.n_items == 4 and result.splits == {"train": 3, "val": 0, "test": 1}
    wds = export_dataset(built_root, "webdataset", tmp_path / "wds", {"splits": "train"})
    n_val = sum(r["split"] == "val" for r in read_records(table_path(built_root, "manifest"), "manifest"))
    assert wds.notes[0] == f"not exported: val ({n_val} rows; add it with --opt splits=...)"


def test_import_of_a_caption_only_item_is_a_one_line_input_error(tmp_path, video_bank):
    from svta.build.formats.importing import ImportOptions, write_import
    from svta.datasets.items import Item

    items = [Item("a", "a man walks", video_bank[0], "normal", False), Item("b", "a dog runs", None, "normal", False)]
    with pytest.raises(InputError, match="item 'b' .* has no video to import"):
        write_import(items, tmp_path / "root", ImportOptions(), "test")
    assert not (tmp_path / "root").exists()
