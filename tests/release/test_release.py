"""`svta export hf` / `svta import hf` / `svta verify --release`: the release loads with `datasets`
and `mlcroissant` offline, its checksums hold, and importing it back gives the same manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from svta.cli.main import main
from svta.errors import InputError
from svta.release import HFOptions, export_release, import_release, verify_release
from svta.tables import table_path


@pytest.fixture(scope="module")
def release(built_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("releases") / "rel"
    export_release(built_root, out, HFOptions(name="tiny-svta"))
    return out


def _manifest(root: Path):
    return pq.read_table(table_path(root, "manifest")).sort_by("id")


def test_datasets_loads_the_release_offline(release, built_root, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    import datasets

    loaded = datasets.load_dataset(str(release), cache_dir=str(tmp_path / "cache"))
    manifest = _manifest(built_root).to_pylist()
    for split in ("train", "val", "test"):
        assert loaded[split].num_rows == sum(row["split"] == split for row in manifest)
    row = loaded["train"][0]
    original = next(r for r in manifest if r["id"] == row["id"])
    assert row["caption"] == original["caption"] and row["category"] == original["category"]
    assert row["is_anomaly"] == original["is_anomaly"] and row["sha256"] == original["sha256"]
    assert (release / row["video"]).is_file()


def test_card_header_and_sections(release):
    text = (release / "README.md").read_text()
    import yaml

    header = yaml.safe_load(text.split("---\n")[1])
    assert header["license"] == "unknown" and header["language"] == ["en"]
    assert header["size_categories"] == ["n<1K"] and "text-to-video" in header["task_categories"]
    assert [f["split"] for f in header["configs"][0]["data_files"]] == ["train", "val", "test"]
    for section in (
        "## Motivation",
        "## Composition",
        "## Collection process",
        "## Labelling",
        "## Contamination report",
        "## Uses",
        "## Limitations and biases",
        "## Citation",
    ):
        assert section in text
    assert "| UCFCrime-AR test | 40 | 3 | 7.5% | exact 1, near 2 |" in text
    assert (
        "![category_counts](figures/category_counts.png)" in text
        and (release / "figures/category_counts.png").is_file()
    )


def test_croissant_validates_and_iterates_offline(release, built_root):
    import mlcroissant as mlc

    metadata = json.loads((release / "croissant.json").read_text())
    assert metadata["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    assert metadata["rai:dataCollectionType"] and metadata["rai:dataAnnotationProtocol"]
    shards = [d for d in metadata["distribution"] if d["@type"] == "cr:FileObject"]
    from svta.video_io import sha256_file

    assert shards and all(sha256_file(release / d["contentUrl"]) == d["sha256"] for d in shards)
    dataset = mlc.Dataset(jsonld=release / "croissant.json")
    assert not dataset.metadata.ctx.issues.errors
    records = list(dataset.records(record_set="test"))
    expected = {r["id"] for r in _manifest(built_root).to_pylist() if r["split"] == "test"}
    assert {r["test/id"].decode() for r in records} == expected


def test_checksums_catch_a_changed_a_missing_and_an_extra_file(release, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    assert verify_release(copy).ok
    clip = sorted((copy / "videos").glob("*.mp4"))[0]
    clip.write_bytes(clip.read_bytes() + b"x")
    sorted((copy / "videos").glob("*.mp4"))[1].unlink()
    (copy / "notes.txt").write_text("stray")
    problems = verify_release(copy).problems
    assert sum(p.startswith("[checksum]") for p in problems) == 1
    assert sum(p.startswith("[missing]") for p in problems) == 1
    assert problems[-1] == "[unlisted] notes.txt: not in checksums.sha256"


def test_import_rebuilds_an_identical_manifest(release, built_root, tmp_path):
    result = import_release(release, tmp_path / "back", HFOptions())
    assert result.n_items == _manifest(built_root).num_rows and not result.skipped
    assert _manifest(tmp_path / "back").equals(_manifest(built_root))


def test_embedded_videos_round_trip_and_shard_by_size(built_root, tmp_path):
    out = tmp_path / "embedded"
    result = export_release(built_root, out, HFOptions(embed_videos=True, max_shard_mb=0.004))
    assert not (out / "videos").exists()
    train_shards = sorted((out / "data").glob("train-*.parquet"))
    assert len(train_shards) > 1 and train_shards[0].name.endswith(f"-of-{len(train_shards):05d}.parquet")
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in train_shards) == result.splits["train"]
    import_release(out, tmp_path / "back", HFOptions())
    assert _manifest(tmp_path / "back").equals(_manifest(built_root))


def test_import_skips_a_corrupted_clip_and_lists_it(release, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    clip = sorted((copy / "videos").glob("*.mp4"))[0]
    clip.write_bytes(b"not a video")
    with pytest.raises(InputError, match=r"1 bad row\(s\): .*sha256 differs.*--skip-bad-rows"):
        import_release(copy, tmp_path / "back", HFOptions())  # the default policy fails, writing nothing
    assert not [p for p in (tmp_path / "back").rglob("*") if p.is_file()]
    result = import_release(copy, tmp_path / "back", HFOptions(skip_bad_rows=True))
    assert [item for item, _ in result.skipped] == [clip.stem]
    assert "sha256 differs" in result.skipped[0][1]


def test_failed_export_leaves_nothing_behind(built_root, tmp_path):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(built_root, root)
    sorted((root / "videos").glob("*.mp4"))[0].unlink()
    with pytest.raises(InputError, match="clip\\(s\\) named in manifest.parquet are missing"):
        export_release(root, tmp_path / "out", HFOptions())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]


def test_export_refuses_a_non_empty_folder(built_root, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="already exists and is not empty"):
        export_release(built_root, tmp_path / "out", HFOptions())
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_cli_export_verify_import(built_root, tmp_path, capsys):
    out = tmp_path / "rel"
    assert main(["export", "hf", str(out), "--root", str(built_root)]) == 0
    assert main(["verify", "--release", str(out)]) == 0
    assert "0 problem(s)" in capsys.readouterr().out
    assert main(["import", "hf", str(out), "--root", str(tmp_path / "back")]) == 0
    assert _manifest(tmp_path / "back").equals(_manifest(built_root))
    (out / "README.md").write_text("changed")
    assert main(["verify", "--release", str(out)]) == 1  # problems found, as `svta verify`
    assert "[checksum] README.md" in capsys.readouterr().err


def test_the_hf_reader_reads_a_split_of_the_release(release, built_root):
    from svta.datasets import read_dataset

    test = read_dataset("hf", release, split="test")
    expected = {r["id"]: r for r in _manifest(built_root).to_pylist() if r["split"] == "test"}
    assert {item.id for item in test.items} == set(expected) and test.kind == "hf"
    item = test.items[0]
    assert item.video.is_file() and item.sha256 == expected[item.id]["sha256"]
    assert item.category == expected[item.id]["category"]


def _copy_root(built_root: Path, tmp_path: Path) -> Path:
    import shutil

    root = tmp_path / "root"
    shutil.copytree(built_root, root)
    return root


def test_card_states_no_filter_when_the_filter_never_ran(built_root, tmp_path):
    """The config names a near-duplicate threshold, but no filter run recorded anything: no claim is made."""
    import yaml

    root = _copy_root(built_root, tmp_path)
    (root / "svta.yaml").write_text(yaml.safe_dump({"seed": 0, "captions": {"filter": {"near_threshold": 0.95}}}))
    export_release(root, tmp_path / "rel", HFOptions(name="t"))
    card = (tmp_path / "rel" / "README.md").read_text()
    rai = json.loads((tmp_path / "rel" / "croissant.json").read_text())["rai:dataPreprocessingProtocol"]
    for text in (card, " ".join(rai)):
        assert "0.95" not in text and "near duplicates removed" not in text.lower()
        assert "`svta captions filter` was not run on this root" in text
        assert "no `svta build` report" not in text  # the fixture root was built
    assert "7:1:2" not in card and "clips were not checked for black, frozen" in card


def test_card_states_the_filter_run_from_its_record(built_root, tmp_path):
    from svta.captions.config import FilterConfig
    from svta.captions.filter import RECORD_FILE, filter_captions
    from svta.tables import read_records, write_table

    root = _copy_root(built_root, tmp_path)
    rows = read_records(table_path(root, "captions"), "captions")
    write_table([*rows, {**rows[0], "id": "dup"}], table_path(root, "captions"), "captions")
    filter_captions(root, FilterConfig(near_duplicates=False), report=tmp_path / "elsewhere.json")
    assert json.loads((root / RECORD_FILE).read_text())["removed"] == 1
    export_release(root, tmp_path / "rel", HFOptions(name="t"))
    card = (tmp_path / "rel" / "README.md").read_text()
    assert "`svta captions filter` kept 20 of 21 captions (removed: exact_duplicate 1)" in card
    assert "near duplicates not checked" in card


def test_a_dry_run_filter_is_not_a_filter_record(built_root, tmp_path):
    from svta.captions.config import FilterConfig
    from svta.captions.filter import RECORD_FILE, filter_captions

    root = _copy_root(built_root, tmp_path)
    filter_captions(root, FilterConfig(near_duplicates=False), dry_run=True)
    assert not (root / RECORD_FILE).exists()


def test_licence_is_the_one_chosen_or_none(built_root, tmp_path):
    import yaml

    export_release(built_root, tmp_path / "none", HFOptions(name="t"))
    card = (tmp_path / "none" / "README.md").read_text()
    assert yaml.safe_load(card.split("---\n")[1])["license"] == "unknown"
    assert "No licence was chosen for this release" in card and "cc-by" not in card
    assert "license" not in json.loads((tmp_path / "none" / "croissant.json").read_text())
    export_release(built_root, tmp_path / "mit", HFOptions(name="t", license="mit"))
    card = (tmp_path / "mit" / "README.md").read_text()
    assert "License: mit (chosen at export)." in card
    assert (
        json.loads((tmp_path / "mit" / "croissant.json").read_text())["license"]
        == "https://opensource.org/licenses/MIT"
    )


def test_card_names_the_recorded_backends_and_no_unrun_step(built_root, tmp_path):
    """Without svta.yaml, the card says the seed was not recorded; backends come from the tables."""
    export_release(built_root, tmp_path / "rel", HFOptions(name="t"))
    card = (tmp_path / "rel" / "README.md").read_text()
    assert "**Captions:** `template` (20 pairs)." in card
    assert "**Clips:** the procedural backend, 32x32, 4 frames at 8 fps (20 clips)." in card
    assert "No svta.yaml in the root: the seed and settings the stages ran with were not recorded." in card
    assert "human review" not in card and "Label Studio" not in card


def test_imported_clips_are_not_called_synthetic(built_root, tmp_path):
    import yaml

    from svta.tables import read_records, write_table

    root = _copy_root(built_root, tmp_path)
    rows = read_records(table_path(root, "videos"), "videos")
    write_table([{**r, "backend": "import:ucfcrime-ar"} for r in rows], table_path(root, "videos"), "videos")
    export_release(root, tmp_path / "rel", HFOptions(name="t"))
    card = (tmp_path / "rel" / "README.md").read_text()
    metadata = json.loads((tmp_path / "rel" / "croissant.json").read_text())
    assert "synthetic" not in yaml.safe_load(card.split("---\n")[1])["tags"]
    assert "synthetic data" not in metadata["keywords"] and "synthetic" not in metadata["keywords"]
    assert metadata["rai:dataCollectionRawData"].startswith("Clips imported from existing datasets")
    assert (
        "Synthetic clips differ" not in card
        and "**Clips:** imported from ucfcrime-ar, 32x32, 4 frames at 8 fps (20" in card
    )
    export_release(built_root, tmp_path / "gen", HFOptions(name="t"))
    assert "synthetic" in json.loads((tmp_path / "gen" / "croissant.json").read_text())["keywords"]


def test_a_reimported_release_records_its_clips_as_imported(release, tmp_path):
    """The release carries no video backend: the rebuilt videos table says the clips came from it (not
    the caption source), so a card written from that root does not invent a renderer."""
    from svta.tables import read_records

    import_release(release, tmp_path / "back", HFOptions())
    backends = {r["backend"] for r in read_records(table_path(tmp_path / "back", "videos"), "videos")}
    assert backends == {"import:hf"}
    export_release(tmp_path / "back", tmp_path / "again", HFOptions(name="t"))
    card = (tmp_path / "again" / "README.md").read_text()
    assert (
        "**Clips:** imported from hf, 32x32, 4 frames at 8 fps (20 clips)." in card
        and "**Captions:** `template` (20 pairs)." in card
    )
