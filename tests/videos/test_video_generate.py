"""generate_videos: table and files, resume with validation, failures and retries, quality flags,
agreement scorer, determinism across roots."""

from __future__ import annotations

import json

import numpy as np
import pytest
from videokit import write_captions

from svta.errors import SvtaError, TableSchemaError
from svta.tables import read_records
from svta.video_io import check_decodable
from svta.videos.config import VideosConfig
from svta.videos.generate import FAILURES_FILE, _exclusive, check_videos, generate_videos
from svta.videos.quality import REPORT_FILE

CAPTIONS = [
    ("A man in a red jacket fights in the parking lot at night.", "fighting"),
    ("A woman in blue walks in the park in the morning.", "walking"),
    ("Thick smoke pours from a warehouse.", None),
    ("A white dog bites a child in yellow.", "animal_attack"),
]


def test_generates_every_clip_with_a_consistent_table(tmp_path, small):
    ids = write_captions(tmp_path, CAPTIONS)
    result = generate_videos(tmp_path, small)
    rows = read_records(tmp_path / "videos.parquet", "videos")
    assert (result.generated, result.skipped, result.failed) == (4, 0, {})
    assert sorted(r["id"] for r in rows) == ids
    for row in rows:
        info = check_decodable(tmp_path / row["path"])
        assert (info.frames, info.width, info.height, row["frames"], row["backend"]) == (6, 32, 32, 6, "procedural")
        assert json.loads(row["params"])["renderer"] >= 1
    assert not (tmp_path / "videos.parts").exists()  # compacted
    report = json.loads((tmp_path / REPORT_FILE).read_text())
    assert report["clips"] == 4 and report["black"] == [] and report["frozen"] == []


def test_rerun_skips_valid_and_redoes_broken_clips(tmp_path, small):
    write_captions(tmp_path, CAPTIONS)
    generate_videos(tmp_path, small)
    before = (tmp_path / "videos" / "c001.mp4").read_bytes()
    (tmp_path / "videos" / "c000.mp4").write_bytes(b"not a video")
    (tmp_path / "videos" / "c002.mp4").unlink()
    result = generate_videos(tmp_path, small)
    assert (result.generated, result.skipped, result.redone) == (2, 2, 2)
    assert (tmp_path / "videos" / "c001.mp4").read_bytes() == before
    assert all(
        check_decodable(tmp_path / r["path"]).frames == 6 for r in read_records(tmp_path / "videos.parquet", "videos")
    )


def test_same_seed_gives_identical_files_in_another_root(tmp_path, small):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for root in (a, b, c):
        root.mkdir()
        write_captions(root, CAPTIONS)
    generate_videos(a, small)
    generate_videos(b, small)
    generate_videos(c, small.model_copy(update={"seed": 1}))
    for clip in ("c000", "c001", "c002", "c003"):
        assert (a / "videos" / f"{clip}.mp4").read_bytes() == (b / "videos" / f"{clip}.mp4").read_bytes()
        assert (a / "videos" / f"{clip}.mp4").read_bytes() != (c / "videos" / f"{clip}.mp4").read_bytes()


def test_failures_are_logged_retried_and_never_kill_the_batch(tmp_path, small, scripted_backend):
    write_captions(tmp_path, [("ok", None), ("fail-once", None), ("fail-always", None), ("ok too", None)])
    config = small.model_copy(update={"backend": "scripted", "retries": 2})
    result = generate_videos(tmp_path, config)
    assert result.generated == 3 and list(result.failed) == ["c002"]
    assert "scripted failure" in result.failed["c002"]
    log = [json.loads(line) for line in (tmp_path / FAILURES_FILE).read_text().splitlines()]
    assert [(e["id"], e["attempt"]) for e in log if e["id"] == "c002"] == [("c002", 1), ("c002", 2), ("c002", 3)]
    assert [e["attempt"] for e in log if e["id"] == "c001"] == [1]
    assert sorted(r["id"] for r in read_records(tmp_path / "videos.parquet", "videos")) == ["c000", "c001", "c003"]
    again = generate_videos(tmp_path, config)  # a rerun tries the failed item again
    assert again.skipped == 3 and list(again.failed) == ["c002"]


def test_quality_flags_black_frozen_and_duplicates(tmp_path, small, scripted_backend):
    write_captions(tmp_path, [("black", None), ("frozen", None), ("fine", None), ("same a", None), ("same b", None)])
    config = small.model_copy(update={"backend": "scripted"})
    report = generate_videos(tmp_path, config).quality
    assert report["black"] == ["c000"] and report["frozen"] == ["c001"]
    assert [(d["a"], d["b"]) for d in report["near_duplicates"]] == [("c003", "c004")]
    (tmp_path / "videos.quality.jsonl").unlink()  # stats lost: check measures the clips again
    (tmp_path / "videos" / "c002.mp4").write_bytes(b"broken")
    checked = check_videos(tmp_path, config, verify="decode")
    assert checked["broken"] == ["c002"] and checked["measured"] == 4 and checked["black"] == ["c000"]


def test_check_exits_1_on_black_frozen_and_duplicate_clips(tmp_path, scripted_backend, capsys):
    """Not only broken clips: a black, frozen or duplicated clip is a problem of the benchmark (exit 1), each kind
    counted in the last line; generating says they are kept and the check lists them; --exit-zero reports only."""
    from svta.cli.main import main

    write_captions(tmp_path, [("black", None), ("frozen", None), ("fine", None), ("same a", None), ("same b", None)])
    argv = ["videos", "generate", "--root", str(tmp_path), "--backend", "scripted", "--size", "32", "--frames", "6"]
    assert main(argv) == 0  # generating is not the check: every clip was made
    out = capsys.readouterr().out
    assert "checks: 1 black, 1 frozen, 1 near-duplicate pair(s); flagged clips are kept, `svta videos check`" in out
    assert main(["videos", "check", "--root", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.strip() == "5 clip(s): 0 broken, 1 black, 1 frozen, 1 near-duplicate pair(s)"
    err = captured.err.splitlines()
    assert err[:3] == ["  black c000", "  frozen c001", "  near-duplicate c003 ~ c004 (cosine 1.0)"]
    assert err[-1] == (
        "problems: 0 of 5 clip(s) broken, 1 black, 1 frozen, 1 near-duplicate pair(s) "
        f"(listed in {tmp_path / REPORT_FILE})"
    )
    assert main(["videos", "check", "--root", str(tmp_path), "--exit-zero", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["black"] == ["c000"] and captured.err.strip().endswith("(exit 0: --exit-zero)")


def test_duplicates_detected_from_signatures(tmp_path):
    from svta.videos.quality import clip_stats, near_duplicates

    rng = np.random.default_rng(0)
    clip = rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    other = rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    noisy = np.clip(clip.astype(int) + rng.integers(-2, 3, clip.shape), 0, 255).astype(np.uint8)
    stats = [clip_stats(i, c) for i, c in (("a", clip), ("b", other), ("c", noisy))]
    pairs = near_duplicates([s.id for s in stats], np.array([s.signature for s in stats]), 0.99)
    assert [(a, b) for a, b, _ in pairs] == [("a", "c")]


def test_duplicate_search_is_the_same_in_blocks_of_any_size():
    from svta.videos.quality import near_duplicates

    rng = np.random.default_rng(1)
    base = rng.normal(size=(40, 16)).astype(np.float32)
    signatures = np.concatenate([base, base[:15] + rng.normal(scale=0.01, size=(15, 16)).astype(np.float32)])
    ids = [f"c{i:03d}" for i in range(len(signatures))]
    whole = near_duplicates(ids, signatures, 0.99)
    assert sorted((a, b) for a, b, _ in whole) == [(f"c{i:03d}", f"c{40 + i:03d}") for i in range(15)]
    for rows in (1, 3, 7):  # a block of 1, 3 and 7 rows: pairs straddle block edges
        assert sorted(near_duplicates(ids, signatures, 0.99, block_bytes=rows * 4 * len(ids))) == sorted(whole)


def test_agreement_scorer_hook_flags_low_scores(tmp_path, small):
    write_captions(tmp_path, CAPTIONS)
    seen = {}

    def scorer(captions, clips):
        seen["shapes"] = [c.shape for c in clips]
        return [1.0 if "dog" in text else 0.1 for text in captions]

    config = small.model_copy(update={"quality": small.quality.model_copy(update={"min_agreement": 0.5})})
    report = generate_videos(tmp_path, config, scorer=scorer).quality
    assert report["agreement"]["scored"] == 4 and report["agreement"]["low"] == ["c000", "c001", "c002"]
    assert all(shape[1:] == (32, 32, 3) for shape in seen["shapes"])
    from svta.videos.quality import problem_counts

    assert problem_counts(report)["below the agreement floor"] == 3  # a floor set: clips under it are problems
    assert "below the agreement floor" not in problem_counts({**report, "agreement": {"low": [], "min": None}})


def test_selection_limit_and_ids(tmp_path, small):
    write_captions(tmp_path, CAPTIONS)
    assert generate_videos(tmp_path, small, limit=1).generated == 1
    assert generate_videos(tmp_path, small, ids=["c003"]).generated == 1
    assert sorted(p.stem for p in (tmp_path / "videos").glob("*.mp4")) == ["c000", "c003"]
    assert generate_videos(tmp_path, small, ids=["c003"], overwrite=True).generated == 1


def test_missing_captions_and_concurrent_runs_are_clear_errors(tmp_path, small):
    with pytest.raises(TableSchemaError, match="captions.parquet"):
        generate_videos(tmp_path, small)
    write_captions(tmp_path, CAPTIONS)
    with _exclusive(tmp_path), pytest.raises(SvtaError, match="another 'svta videos' run"):
        generate_videos(tmp_path, small)


def test_whole_config_and_cli(tmp_path):
    from svta.cli.main import main
    from svta.config import load_config

    write_captions(tmp_path, CAPTIONS[:2])
    config = load_config(overrides=["videos.width=32", "videos.height=32", "videos.frames=4"], root=tmp_path)
    assert generate_videos(tmp_path, config).generated == 2
    assert (
        main(["--quiet", "videos", "generate", "--root", str(tmp_path), "--size", "32", "--frames", "4", "--json"]) == 0
    )
    assert main(["--quiet", "videos", "check", "--root", str(tmp_path)]) == 0
    assert main(["--quiet", "videos", "generate", "--root", str(tmp_path), "--backend", "nope"]) == 2
    assert VideosConfig().frames == 16 and VideosConfig().width == 224 and VideosConfig().fps == 8.0
