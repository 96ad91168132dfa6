"""Recorded clips know what made them (renderer version, source and data digest, taxonomy, encoder,
Wan settings) and are made again when that changes; ``videos.parquet`` is written in id order, so it
is the same bytes whatever the completion order."""

from __future__ import annotations

import json

from videokit import write_captions

from svta.config import EngineConfig
from svta.tables import read_records, write_table
from svta.videos import procedural
from svta.videos.config import WanConfig
from svta.videos.generate import TIMINGS_FILE, expected_params, generate_videos, made_otherwise
from svta.videos.wan import clip_params

CAPTIONS = [
    ("A man in a red jacket fights in the parking lot at night.", "fighting"),
    ("A woman in blue walks in the park in the morning.", "walking"),
    ("Thick smoke pours from a warehouse.", None),
    ("A white dog bites a child in yellow.", "animal_attack"),
]


def _files(root):
    return {p.name: p.read_bytes() for p in sorted((root / "videos").iterdir())}


def test_unchanged_code_keeps_every_clip(tmp_path, small):
    write_captions(tmp_path, CAPTIONS)
    generate_videos(tmp_path, small)
    again = generate_videos(tmp_path, small)
    assert (again.generated, again.skipped, again.redone) == (0, 4, 0)


def test_a_new_renderer_version_redoes_the_clips(tmp_path, small, monkeypatch):
    write_captions(tmp_path, CAPTIONS)
    generate_videos(tmp_path, small)
    old = {r["id"]: json.loads(r["params"]) for r in read_records(tmp_path / "videos.parquet", "videos")}
    monkeypatch.setattr(procedural, "RENDERER_VERSION", procedural.RENDERER_VERSION + 1)
    result = generate_videos(tmp_path, small)
    assert (result.generated, result.skipped, result.redone) == (4, 0, 4)
    rows = read_records(tmp_path / "videos.parquet", "videos")
    assert {json.loads(r["params"])["renderer"] for r in rows} == {old["c000"]["renderer"] + 1}


def test_changed_renderer_source_or_data_redoes_the_clips(tmp_path, small, monkeypatch):
    write_captions(tmp_path, CAPTIONS)
    generate_videos(tmp_path, small)
    # one more data file in the digest stands for an edited source or data file
    monkeypatch.setattr(procedural, "RENDERER_DATA", (*procedural.RENDERER_DATA, "caption_grammar.yaml"))
    result = generate_videos(tmp_path, small)
    assert (result.generated, result.redone) == (4, 4)


def test_another_taxonomy_or_encoder_setting_redoes_the_clips(tmp_path, small):
    write_captions(tmp_path, CAPTIONS)
    generate_videos(tmp_path, small)
    user = tmp_path / "taxonomy.yaml"
    user.write_text(
        "- {id: fighting, name: fighting, kind: anomaly, group: violence, description: x, synonyms: [brawl],"
        " motion: {program: fall}}\n"
    )
    assert generate_videos(tmp_path, small, taxonomy=user).redone == 4
    assert generate_videos(tmp_path, small.model_copy(update={"encode_crf": 23}), taxonomy=user).redone == 4


def test_clips_from_before_provenance_was_recorded_are_redone(tmp_path, small):
    write_captions(tmp_path, CAPTIONS)
    generate_videos(tmp_path, small)
    rows = read_records(tmp_path / "videos.parquet", "videos")
    for row in rows:  # what an older svta recorded: the version and geometry only
        params = json.loads(row["params"])
        row["params"] = json.dumps({k: params[k] for k in ("renderer", "frames", "fps", "width", "height")})
    write_table(rows, tmp_path / "videos.parquet", "videos")
    assert generate_videos(tmp_path, small).redone == 4


def test_wan_settings_are_compared():
    from svta.videos.config import VideosConfig

    config = VideosConfig(backend="wan", wan=WanConfig(model="random:tiny", height=32, width=32, num_frames=5))
    expected = expected_params(config, None)
    row = {"backend": "wan", "params": json.dumps({**expected, "device": "cpu", "seed": 3, "category": None})}
    assert not made_otherwise(row, "wan", expected)
    for change in ({"negative_prompt": "blurry"}, {"steps": 20}, {"flow_shift": 5.0}, {"cache": "first_block"}):
        other = config.model_copy(update={"wan": config.wan.model_copy(update=change)})
        assert made_otherwise(row, "wan", expected_params(other, None)), change
    assert clip_params(config.wan)["wan_backend"] >= 1


def test_table_bytes_do_not_depend_on_completion_order(tmp_path, small):
    one, shuffled, pooled = tmp_path / "one", tmp_path / "shuffled", tmp_path / "pooled"
    for root in (one, shuffled, pooled):
        root.mkdir()
        ids = write_captions(root, CAPTIONS)
    generate_videos(one, small)
    for part in (ids[3], ids[1], ids[2]):  # clips completed out of id order, over several runs
        generate_videos(shuffled, small, ids=[part])
    generate_videos(shuffled, small)
    generate_videos(pooled, small, EngineConfig(workers=2))
    table = (one / "videos.parquet").read_bytes()
    assert (shuffled / "videos.parquet").read_bytes() == table
    assert (pooled / "videos.parquet").read_bytes() == table
    assert _files(shuffled) == _files(one) == _files(pooled)
    assert [r["id"] for r in read_records(one / "videos.parquet", "videos")] == ids
    timings = [json.loads(line) for line in (one / TIMINGS_FILE).read_text().splitlines()]
    assert sorted(t["id"] for t in timings) == ids and all(t["seconds"] >= 0 for t in timings)


def test_a_remade_clip_does_not_inherit_the_old_clips_agreement(tmp_path):
    from svta.videos.quality import ClipStats, append_stats, read_stats

    scored = ClipStats("c000", 100.0, 5.0, [0.5] * 4, agreement=0.9)
    append_stats(tmp_path, [scored, ClipStats("c001", 90.0, 4.0, [0.1] * 4, agreement=0.2)])
    # c000 re-measured (same frames) keeps its score; c001 made again (other frames) loses it
    append_stats(tmp_path, [ClipStats("c000", 100.0, 5.0, [0.5] * 4), ClipStats("c001", 30.0, 4.0, [0.7] * 4)])
    stats = read_stats(tmp_path)
    assert stats["c000"].agreement == 0.9 and stats["c001"].agreement is None


def test_a_clip_from_a_worker_running_other_code_is_not_kept(tmp_path, small, monkeypatch):
    write_captions(tmp_path, CAPTIONS[:2])
    describe = procedural.ProceduralBackend.describe
    # the worker (as a Ray node with another svta would) records another renderer than the driver expects
    monkeypatch.setattr(procedural.ProceduralBackend, "describe", lambda self: {**describe(self), "code": "other"})
    result = generate_videos(tmp_path, small)
    assert result.generated == 0 and sorted(result.failed) == ["c000", "c001"]
    assert "other renderer code" in result.failed["c000"]
    assert read_records(tmp_path / "videos.parquet", "videos") == []
    assert not (tmp_path / "videos").exists() or not list((tmp_path / "videos").iterdir())
