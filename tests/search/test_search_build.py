from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from searchkit import CLIPS, FRAMES, ColourEncoder, make_root, write_clip

from svta.engine import EngineConfig
from svta.errors import ConfigError
from svta.search.build import build_index, collect_videos
from svta.search.config import SearchConfig
from svta.search.encoders import HashingEncoder, create_encoder
from svta.search.store import IndexStore

CONFIG = SearchConfig(batch_size=3, commit_every=2, thumbnail_size=16)


def test_index_layout_and_metadata(colour_index):
    root, index_dir = colour_index
    meta = json.loads((index_dir / "index.json").read_text())
    assert meta["count"] == len(CLIPS) and meta["dim"] == 3 and meta["num_frames"] == FRAMES
    assert meta["encoder"] == {"name": "test-colour"} and "root" not in meta and "updated" not in meta
    origin = json.loads((index_dir / "origin.json").read_text())
    assert origin["root"] == str(root.resolve()) and set(origin) == {"root", "updated"}
    loaded = IndexStore(index_dir).load()
    assert loaded.vectors.ntotal == len(CLIPS) and loaded.frames.shape == (len(CLIPS), FRAMES, 3)
    by_id = {item["id"]: item for item in loaded.items}
    assert by_id["red1"]["category"] == "fighting" and by_id["red1"]["is_anomaly"] is True
    assert by_id["blue1"]["n_frames"] == FRAMES and by_id["blue1"]["path"] == "videos/blue1.mp4"
    assert not (index_dir / "parts").exists()
    thumbs = sorted(p.stem for p in (index_dir / "thumbnails").glob("*.jpg"))
    assert thumbs == sorted(c[0] for c in CLIPS)
    assert (index_dir / "thumbnails" / "red1.jpg").read_bytes()[:2] == b"\xff\xd8"  # JPEG


def test_incremental_add_encodes_only_new_videos(tmp_path):
    root = make_root(tmp_path / "root", CLIPS[:3])
    first = build_index(root, tmp_path / "index", ColourEncoder(), CONFIG)
    assert (first.added, first.count) == (3, 3)
    make_root(root, CLIPS)  # the manifest now lists all clips
    second = build_index(root, tmp_path / "index", ColourEncoder(), CONFIG)
    assert (second.added, second.already_indexed, second.count) == (len(CLIPS) - 3, 3, len(CLIPS))
    again = build_index(root, tmp_path / "index", ColourEncoder(), CONFIG)
    assert (again.added, again.count) == (0, len(CLIPS))
    loaded = IndexStore(tmp_path / "index").load()
    assert sorted(i["id"] for i in loaded.items) == sorted(c[0] for c in CLIPS)
    assert [p.name for p in (tmp_path / "index").glob("data-*")] == ["data-000002"]  # old generation removed


def test_other_encoder_or_root_is_refused(colour_index, tmp_path):
    root, index_dir = colour_index
    with pytest.raises(ConfigError, match="another --out"):
        build_index(root, index_dir, HashingEncoder(dim=16, num_frames=FRAMES), CONFIG)
    other = make_root(tmp_path / "other", CLIPS[:1])
    with pytest.raises(ConfigError, match="covers root"):
        build_index(other, index_dir, ColourEncoder(), CONFIG)


def test_bad_videos_are_reported_not_fatal(tmp_path):
    from svta.tables import read_records, table_path, write_table

    root = make_root(tmp_path / "root", CLIPS[:3])
    (root / "videos" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    outside = tmp_path / "secret.mp4"
    write_clip(outside, ["red"])
    os.symlink(outside, root / "videos" / "link.mp4")
    rows = read_records(table_path(root, "manifest"), "manifest")
    extra = [
        ("broken", "videos/broken.mp4"),
        ("escape", "../secret.mp4"),
        ("link", "videos/link.mp4"),
        ("abs", str(outside)),
        ("bad id!", "videos/red1.mp4"),
    ]
    rows += [{**rows[0], "id": i, "path": p} for i, p in extra]
    write_table(rows, table_path(root, "manifest"), "manifest")
    report = build_index(root, tmp_path / "index", ColourEncoder(), CONFIG)
    failed = {f["id"]: f["error"] for f in report.failed}
    assert report.added == 3 and set(failed) == {i for i, _ in extra}
    assert "outside the root" in failed["escape"] and "outside the root" in failed["link"]
    assert "VideoDecodeError" in failed["broken"]


def test_folder_of_videos_without_tables(tmp_path):
    folder = tmp_path / "clips"
    write_clip(folder / "a b (1).mp4", ["red"])
    write_clip(folder / "sub" / "a b (1).mp4", ["blue"])
    write_clip(folder / "Abuse028_x264.mp4", ["green"])
    records, rejected = collect_videos(folder)
    assert not rejected and len({r.id for r in records}) == 3
    assert {r.path for r in records} == {"a b (1).mp4", "sub/a b (1).mp4", "Abuse028_x264.mp4"}
    assert "Abuse028_x264" in {r.id for r in records} and all(r.caption is None for r in records)
    report = build_index(folder, tmp_path / "index", HashingEncoder(dim=32, num_frames=4), CONFIG)
    assert report.count == 3 and not report.failed


def test_parts_of_an_interrupted_run_are_loaded_and_merged(tmp_path, monkeypatch):
    root = make_root(tmp_path / "root", CLIPS[:4])
    store_cls = IndexStore
    calls = {"n": 0}
    real_write = store_cls.write_part

    def crash_after_first_part(self, records, embeddings):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real_write(self, records, embeddings)

    monkeypatch.setattr(store_cls, "write_part", crash_after_first_part)
    with pytest.raises(KeyboardInterrupt):
        build_index(root, tmp_path / "index", ColourEncoder(), CONFIG)
    monkeypatch.setattr(store_cls, "write_part", real_write)
    store = IndexStore(tmp_path / "index")
    assert len(store.part_files()) == 1 and len(store.load()) == 2  # the committed part is searchable
    report = build_index(root, tmp_path / "index", ColourEncoder(), CONFIG)
    assert (report.added, report.already_indexed, report.count) == (2, 2, 4)
    assert store.part_files() == []


def test_hashing_encoder_is_deterministic(tmp_path):
    encoder = create_encoder({"name": "hashing", "dim": 64, "num_frames": 4})
    texts = encoder.encode_texts(["a man climbs the fence", "a man climbs the fence", "", "cyclist hit by car"])
    assert texts.shape == (4, 64) and np.allclose(texts[0], texts[1]) and not texts[2].any()
    assert np.allclose(np.linalg.norm(texts[[0, 3]], axis=1), 1.0, atol=1e-5)
    clip = write_clip(tmp_path / "c.mp4", ["red", "blue"])
    one, two = encoder.encode_videos([clip]), encoder.encode_videos([clip])
    assert one.frames.shape == (1, 4, 64) and one.frame_mask.all() and np.allclose(one.video, two.video)
    assert np.all(np.diff(one.frame_times[0]) > 0)
    assert encoder.spec() == {"name": "hashing", "dim": 64, "num_frames": 4, "grid": 8, "seed": 0}
    with pytest.raises(ConfigError, match="unknown search_encoder"):
        create_encoder({"name": "nope"})


def test_missing_index_is_a_clear_error(tmp_path: Path):
    from svta.errors import InputError

    with pytest.raises(InputError, match="not a search index"):
        IndexStore(tmp_path)


def index_files(index_dir: Path) -> dict[str, bytes]:
    """Every file of an index but ``origin.json`` (this machine's root and the commit time), by relative path."""
    return {
        p.relative_to(index_dir).as_posix(): p.read_bytes()
        for p in sorted(index_dir.rglob("*"))
        if p.is_file() and p.name != "origin.json"
    }


def test_index_files_do_not_depend_on_completion_order_or_root(tmp_path):
    """Two builds whose videos finish in opposite orders, in different batches and parts, from two roots at
    different paths, write byte-identical index files; only origin.json tells them apart."""
    first = make_root(tmp_path / "a" / "root", CLIPS)
    second = make_root(tmp_path / "somewhere" / "else", list(reversed(CLIPS)))  # the reverse completion order
    build_index(first, tmp_path / "a" / "index", ColourEncoder(), SearchConfig(batch_size=4, commit_every=4))
    build_index(second, tmp_path / "b", ColourEncoder(), SearchConfig(batch_size=1, commit_every=1))
    a, b = index_files(tmp_path / "a" / "index"), index_files(tmp_path / "b")
    assert {"index.json", "data-000001/items.parquet", "data-000001/vectors.faiss", "data-000001/frames.npy"} <= set(a)
    assert sorted(a) == sorted(b) and all(a[name] == b[name] for name in a), [n for n in a if a[n] != b.get(n)]
    assert [item["id"] for item in IndexStore(tmp_path / "b").load().items] == sorted(c[0] for c in CLIPS)
    origins = [json.loads((d / "origin.json").read_text())["root"] for d in (tmp_path / "a" / "index", tmp_path / "b")]
    assert origins == [str(first.resolve()), str(second.resolve())]


def test_rows_of_an_older_index_are_put_in_id_order_by_the_next_commit(tmp_path):
    """An index written before rows were sorted (format 1: root and time in index.json) still loads; adding to
    it rewrites every row in id order and moves root and time to origin.json."""
    root = make_root(tmp_path / "root", CLIPS)
    build_index(root, tmp_path / "index", ColourEncoder(), SearchConfig(batch_size=1, commit_every=1))
    meta_path, origin_path = tmp_path / "index" / "index.json", tmp_path / "index" / "origin.json"
    old = {**json.loads(meta_path.read_text()), **json.loads(origin_path.read_text()), "format": 1}
    meta_path.write_text(json.dumps(old))
    origin_path.unlink()
    assert IndexStore(tmp_path / "index").load().meta.root == str(root.resolve())
    make_root(root, [*CLIPS, ("aaa", ["green"], "walking", False, "first by id")])
    build_index(root, tmp_path / "index", ColourEncoder(), CONFIG)
    loaded = IndexStore(tmp_path / "index").load()
    ids = [item["id"] for item in loaded.items]
    assert ids == sorted(ids) and ids[0] == "aaa" and len(ids) == len(CLIPS) + 1
    assert json.loads(meta_path.read_text())["format"] == 2 and "root" not in json.loads(meta_path.read_text())
    green = loaded.vectors.reconstruct(0)  # row 0 (aaa) holds aaa's vector, not the row added first
    assert np.allclose(green, loaded.vectors.reconstruct(ids.index("green1")), atol=1e-6)


def test_ray_engine_builds_the_same_index_files(tmp_path):
    """Encoding fanned out to two Ray actors writes the same bytes as in-process encoding, every index file."""
    import shutil
    import tempfile

    import ray

    root = make_root(tmp_path / "root", CLIPS)
    spec = {"name": "hashing", "dim": 16, "num_frames": 4}
    config = SearchConfig(batch_size=1, commit_every=2, thumbnail_size=16)
    build_index(root, tmp_path / "local", spec, config)
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths have a length limit
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp_dir)
    try:
        remote = build_index(root, tmp_path / "ray", spec, config, EngineConfig(name="ray", workers=2))
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert (remote.added, remote.count, remote.failed) == (len(CLIPS), len(CLIPS), [])
    a, b = index_files(tmp_path / "local"), index_files(tmp_path / "ray")
    assert len([n for n in a if n.startswith("thumbnails/")]) == len(CLIPS)
    assert sorted(a) == sorted(b) and all(a[name] == b[name] for name in a), [n for n in a if a[n] != b.get(n)]


def test_two_writers_are_refused(colour_index):
    from svta.search.build import exclusive_writer

    root, index_dir = colour_index
    with exclusive_writer(index_dir), pytest.raises(ConfigError, match="another `svta search index`"):
        build_index(root, index_dir, ColourEncoder(), CONFIG)
    assert build_index(root, index_dir, ColourEncoder(), CONFIG).added == 0  # the lock is released


def test_a_failed_thumbnail_write_commits_the_others_and_raises(tmp_path, monkeypatch):
    import svta.search.build as build

    real = build.atomic_write_bytes

    def full_disk_for_red1(path, data):
        if Path(path).stem == "red1":
            raise OSError(28, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(build, "atomic_write_bytes", full_disk_for_red1)
    root = make_root(tmp_path / "root", CLIPS)
    with pytest.raises(OSError, match="No space left"):
        build_index(root, tmp_path / "index", ColourEncoder(), CONFIG)
    monkeypatch.setattr(build, "atomic_write_bytes", real)
    again = build_index(root, tmp_path / "index", ColourEncoder(), CONFIG)  # the rerun finishes only what is missing
    assert again.count == len(CLIPS) and 0 < again.already_indexed < len(CLIPS)
    items = IndexStore(tmp_path / "index").load().items
    assert all((tmp_path / "index" / "thumbnails" / f"{i['id']}.jpg").exists() for i in items)
