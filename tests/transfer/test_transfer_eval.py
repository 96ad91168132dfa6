"""Zero-shot transfer with a (tiny, random) model: the clean view equals an evaluation on a spreadsheet that never
had the overlapping rows; manifests give the retrieval evaluator's numbers; ``svta eval --dataset`` and
``svta build --exclude-from`` end to end."""

from __future__ import annotations

import pytest
from transferkit import (
    PARAPHRASE,
    PARAPHRASED,
    UCF_ROWS,
    UNRELATED,
    VERBATIM,
    load_uca,
    load_ucfcrime_ar,
    textured_clip,
    write_sheet,
    write_training_root,
    write_uca,
    write_ucf_videos,
)

from svta.retrieval.model_source import load_model
from svta.transfer.clean import excluded_items
from svta.transfer.evaluate import evaluate_transfer
from svta.transfer.overlap import check_overlap
from svta.transfer.sets import load_set, load_training_set

FRAMES, WORDS = 3, 16


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from svta.retrieval.checkpoint import save_model_weights
    from svta.retrieval.factory import create_model

    base = tmp_path_factory.mktemp("transfer")
    write_ucf_videos(base / "ucf", [name for name, _ in UCF_ROWS])
    sheet = write_sheet(base / "ucf_crime_test.xlsx", UCF_ROWS)
    root = write_training_root(base / "train", [UCF_ROWS[VERBATIM][1], PARAPHRASE, *UNRELATED])
    model = create_model("clip4clip-meanp", "tiny", max_frames=FRAMES, max_words=WORDS)
    checkpoint = base / "model.bin"
    save_model_weights(model, checkpoint)
    return {"base": base, "sheet": sheet, "videos": base / "ucf", "root": root, "checkpoint": checkpoint}


@pytest.fixture(scope="module")
def model(world):
    loaded = load_model(world["checkpoint"], max_frames=FRAMES, max_words=WORDS, device="cpu")
    return loaded.model, loaded.info


def test_clean_view_equals_a_set_that_never_had_the_items(world, model, tmp_path):
    net, info = model
    evaluation = load_ucfcrime_ar(world["sheet"], world["videos"])
    report = check_overlap(load_training_set(world["root"]), evaluation)
    exclude = excluded_items(report, evaluation)
    assert exclude == {evaluation.items[VERBATIM].id, evaluation.items[PARAPHRASED].id}
    # One video and one caption per batch: every feature is computed exactly as in the comparison run.
    result = evaluate_transfer(net, evaluation, exclude=exclude, model_info=info, batch_size=1, text_batch_size=1)
    kept = [row for i, row in enumerate(UCF_ROWS) if i not in (VERBATIM, PARAPHRASED)]
    never = load_ucfcrime_ar(write_sheet(tmp_path / "never.xlsx", kept), world["videos"])
    baseline = evaluate_transfer(net, never, batch_size=1, text_batch_size=1)
    assert result.clean == baseline.full and result.full != result.clean
    assert result.full["t2v"]["n_tied"] == 0 and result.full["t2v"]["MdR"] > 1  # distinct scores, real ranks
    assert result.counts == {"texts": 8, "videos": 8, "excluded": 2, "clean_texts": 6, "clean_videos": 6}
    assert result.full["SumR"] == pytest.approx(
        sum(result.full[d][r] for d in ("t2v", "v2t") for r in ("R1", "R5", "R10"))
    )
    table = result.table().splitlines()
    assert (
        table[0].endswith("| SumR | chance R@1 | chance SumR |") and "full (8)" in table[2] and "clean (6)" in table[3]
    )
    # Each row names the model and carries the chance level of its own gallery (8 and 6 videos).
    assert table[2].startswith(f"| {info['name']} · ") and table[2].endswith("| 12.5 | 350.0 |")
    assert table[3].endswith("| 16.7 | 400.0 |")
    assert result.excluded == sorted(exclude) and result.settings["frames"] == FRAMES


def test_manifest_set_matches_the_retrieval_evaluator(world, model):
    from svta.retrieval.evaluate import evaluate_model

    net, _ = model
    root = write_training_root(
        world["base"] / "with-videos", UNRELATED, [textured_clip(i) for i in range(len(UNRELATED))]
    )
    ours = evaluate_transfer(net, load_set(f"manifest:{root}", split="train"))
    reference = evaluate_model(net, root, "train")
    assert {d: ours.full[d] for d in ("t2v", "v2t")} == reference.metrics
    # Several sentences per recording (UCA without clips): one caption group per video.
    uca = write_uca(
        world["base"] / "UCFCrime_Test.json",
        {
            "Abuse028_x264": [(0, 1, "A man lifts a stick."), (1, 2, "He hits the dog.")],
            "Arrest001_x264": [(0, 1, "Officers run to a car.")],
            "Explosion002_x264": [(0, 2, "Fire bursts from a tank.")],
        },
    )
    multi = evaluate_transfer(net, load_uca(uca, world["videos"]))
    assert multi.counts["texts"] == 4 and multi.counts["videos"] == 3 and multi.full["v2t"]["n_queries"] == 3


def test_build_exclude_from_drops_overlapping_training_items(world, tmp_path, capsys):
    import json

    from transferkit import write_caption_root

    from svta.cli.main import main
    from svta.tables import read_records

    captions = [UCF_ROWS[VERBATIM][1], PARAPHRASE, *UNRELATED]
    root = write_caption_root(tmp_path / "root", captions)
    assert (
        main(["--quiet", "build", "--root", str(root), "--exclude-from", f"ucfcrime-ar:{world['sheet']}", "--json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    ids = {row["id"] for row in read_records(root / "manifest.parquet", "manifest")}
    assert ids == {f"cap-{i:03d}" for i in range(2, len(captions))} and result["n_items"] == len(UNRELATED)
    reasons = dict(map(tuple, result["skipped"]))
    assert reasons == {
        "cap-000": "overlaps ucfcrime-ar:ucf_crime_test.xlsx (exact)",
        "cap-001": "overlaps ucfcrime-ar:ucf_crime_test.xlsx (near)",
    }
    # A saved overlap report works as the source too.
    assert (
        main(
            [
                "--quiet",
                "overlap",
                "--train",
                str(root),
                "--train-table",
                "captions",
                "--eval",
                str(world["sheet"]),
                "--out",
                str(tmp_path / "report"),
                "--json",
            ]
        )
        == 1  # overlap found: the check exits 1, its report is written all the same
    )
    capsys.readouterr()
    assert (
        main(
            [
                "--quiet",
                "build",
                "--root",
                str(root),
                "--exclude-from",
                str(tmp_path / "report" / "overlap.json"),
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["n_items"] == len(UNRELATED)
    # Captions regenerated since the report: its ids now name other captions, so it is refused before any write.
    manifest = (root / "manifest.parquet").read_bytes()
    write_caption_root(tmp_path / "root", [*UNRELATED, UCF_ROWS[VERBATIM][1], PARAPHRASE])
    stale = ["--quiet", "build", "--root", str(root), "--exclude-from", str(tmp_path / "report" / "overlap.json")]
    assert main(stale) == 2
    err = capsys.readouterr().err
    assert "may name other captions" in err and "svta eval overlap" in err and len(err.strip().splitlines()) == 1
    assert (root / "manifest.parquet").read_bytes() == manifest


def test_cli_eval_on_ucfcrime_ar_full_and_clean(world, tmp_path, capsys):
    import json

    from svta.cli.main import main

    assert (
        main(
            [
                "--quiet",
                "overlap",
                "--train",
                str(world["root"]),
                "--eval",
                f"ucfcrime-ar:{world['sheet']}",
                "--out",
                str(tmp_path / "overlap"),
                "--json",
                "--exit-zero",  # a pipeline step that wants the report, not the verdict
            ]
        )
        == 0
    )
    capsys.readouterr()
    base = [
        "--quiet",
        "eval",
        "--checkpoint",
        str(world["checkpoint"]),
        "--frames",
        str(FRAMES),
        "--workers",
        "0",
        "--device",
        "cpu",
        "--dataset",
        "ucfcrime-ar",
        "--annotations",
        str(world["sheet"]),
        "--videos",
        str(world["videos"]),
    ]
    report_json = str(tmp_path / "overlap" / "overlap.json")
    assert main([*base, "--exclude-overlap", report_json, "--output", str(tmp_path / "t.json"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"]["excluded"] == 2 and data["clean"]["t2v"]["n_queries"] == 6
    assert data["dataset"]["name"] == "ucfcrime-ar:ucf_crime_test.xlsx" and data["overlap_report"] == report_json
    assert json.loads((tmp_path / "t.json").read_text()) == data and (tmp_path / "t.md").exists()
    assert main([*base, "--exclude-overlap", report_json, "--exclude-kinds", "exact"]) == 0
    table = capsys.readouterr().out
    assert "| SumR |" in table and "full (8)" in table and "clean (7)" in table and "1 overlapping item(s)" in table
    # A person rejected the near pair: the clean row rests on the confirmed exact match only, and says so.
    from svta.transfer.overlap_report import read_overlap_report, write_overlap_report
    from svta.transfer.overlap_review import apply_review

    overlap = read_overlap_report(report_json)
    verdicts = {p["pair_id"]: p["kind"] == "exact" for p in overlap.pairs}
    write_overlap_report(apply_review(overlap, verdicts, "reviewed.csv"), tmp_path / "reviewed", figure=False)
    assert main([*base, "--exclude-overlap", str(tmp_path / "reviewed" / "overlap.json")]) == 0
    table = capsys.readouterr().out
    assert "clean (7)" in table and "1 pair(s) confirmed and used, 1 rejected" in table
    # Bad input is one line naming the row.
    bad = write_sheet(tmp_path / "bad.xlsx", [*UCF_ROWS[:2], ("Abuse/Abuse999_x264.mp4", "A man kicks a door.")])
    assert (
        main(
            [
                "eval",
                "--checkpoint",
                str(world["checkpoint"]),
                "--dataset",
                f"ucfcrime-ar:{bad}",
                "--videos",
                str(world["videos"]),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "row 4 (Abuse/Abuse999_x264.mp4): no video file matches" in err
    assert "\n" not in err
    # Skipping bad rows lists them (text and JSON) and exits 3 after the table; any spelling of the kind works.
    skip = [
        "--quiet",
        "eval",
        "--checkpoint",
        str(world["checkpoint"]),
        "--frames",
        str(FRAMES),
        "--workers",
        "0",
        "--device",
        "cpu",
        "--dataset",
        "ucfcrime_ar",
        "--annotations",
        str(bad),
        "--videos",
        str(world["videos"]),
        "--skip-bad-rows",
    ]
    assert main([*skip, "--json"]) == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out)["skipped_rows"] == [
        {"where": "row 4 (Abuse/Abuse999_x264.mp4)", "why": f"no video file matches it under {world['videos']}"}
    ]
    assert "1 item(s) skipped" in captured.err
    assert main(skip) == 3
    captured = capsys.readouterr()
    assert "full (2)" in captured.out and "skipped row 4 (Abuse/Abuse999_x264.mp4): no video file" in captured.err


def test_cli_eval_run_on_its_own_manifest_with_exclusions(world, tmp_path, capsys):
    import json
    import shutil

    from svta.cli.main import main
    from svta.retrieval.results import BEST_MODEL_FILE, write_config

    root = write_training_root(tmp_path / "root", UNRELATED, [textured_clip(i) for i in range(len(UNRELATED))])
    run = tmp_path / "root" / "runs" / "r1"
    run.mkdir(parents=True)
    shutil.copy(world["checkpoint"], run / BEST_MODEL_FILE)
    write_config(
        run,
        {
            "root": str(root),
            "train": {"model": "clip4clip-meanp", "max_frames": FRAMES, "max_words": WORDS, "sample_fps": None},
        },
    )
    other = write_training_root(tmp_path / "other", UNRELATED[:2])  # its captions overlap two of ours
    assert (
        main(
            [
                "--quiet",
                "overlap",
                "--train",
                str(other),
                "--eval",
                f"manifest:{root}",
                "--split",
                "train",
                "--out",
                str(tmp_path / "ov"),
                "--json",
            ]
        )
        == 1  # two captions overlap
    )
    capsys.readouterr()
    assert (
        main(
            [
                "--quiet",
                "eval",
                "--run",
                str(run),
                "--split",
                "train",
                "--workers",
                "0",
                "--device",
                "cpu",
                "--exclude-overlap",
                str(tmp_path / "ov"),
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"texts": 6, "videos": 6, "excluded": 2, "clean_texts": 4, "clean_videos": 4}
    assert data["model"]["run"] == str(run) and data["excluded"] == ["train-000", "train-001"]
    saved = run / "transfer" / "manifest_root_train.json"
    assert json.loads(saved.read_text()) == data and saved.with_suffix(".md").read_text().startswith("# Zero-shot")
