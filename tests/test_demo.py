"""The demo end to end at a very small size, its resume, and its shipped config."""

from __future__ import annotations

import json
import re
from pathlib import Path

from svta.config import load_config
from svta.demo import demo_config

REPO = Path(__file__).resolve().parents[1]


def test_shipped_demo_config_matches_the_demo():
    shipped = load_config(REPO / "configs" / "demo.yaml", root=Path("x"))
    assert shipped == demo_config(Path("x"))


def test_shipped_configs_load():
    for name in ("demo.yaml", "svta-wan.yaml", "ray-cluster.yaml"):
        load_config(REPO / "configs" / name)


def _small_demo_args(out: Path) -> list[str]:
    categories = "[abuse,fighting,falls,explosion,fire,shooting,walking,shopping,talking,cycling]"
    return [
        "demo",
        "--root",
        str(out),
        "--per-category",
        "3",
        "--set",
        f"captions.categories={categories}",
        "--set",
        "train.epochs=2",
        "--set",
        "videos.width=64",
        "--set",
        "videos.height=64",
    ]


def _assert_times_and_next_steps(text: str, out: Path) -> None:
    """The demo ends with the time each stage took (as measured) and what to run next, with the real paths."""
    times = text.split("time per stage (this run):")[1].split("next:")[0]
    for stage in ("captions", "videos", "annotate", "build", "train", "eval", "total"):
        assert re.search(rf"^  {stage} +\d+(\.\d)? s$|^  {stage} +\d+ min", times, re.M), (stage, times)
    steps = text.split("next:")[1]
    assert f"svta search index --root {out} --run " in steps and f"--out {out / 'index'}" in steps
    assert f"svta eval --run {out / 'runs'}/" in steps and "--split val" in steps
    assert f"svta report '{out / 'runs'}/*' --out {out}/report" in steps


def test_small_demo_end_to_end_and_rerun(tmp_path, capsys):
    from svta.cli.main import main

    out = tmp_path / "demo"
    assert main(_small_demo_args(out)) == 0
    text = capsys.readouterr().out
    assert "CLIP4Clip-MeanP" in text and "CLIP4Clip-seqTransf" in text and "chance level" in text
    _assert_times_and_next_steps(text, out)
    for name in (
        "captions.parquet",
        "videos.parquet",
        "labels.parquet",
        "manifest.parquet",
        "stats/stats.json",
        "runs/results.md",
        "svta.yaml",
    ):
        assert (out / name).exists(), name
    for model in ("clip4clip-meanp", "clip4clip-seqtransf"):
        metrics = json.loads((out / "runs" / f"{model}-tiny" / "metrics.json").read_text())
        assert set(metrics["t2v"]) >= {"R1", "R5", "R10", "MdR", "MnR"}
        analysis = out / "runs" / f"{model}-tiny" / "analysis"
        for name in (
            "per_category.csv",
            "anomaly_normal.csv",
            "head_tail.csv",
            "category_hit.csv",
            "per_category_R5.png",
            "qualitative.png",
        ):
            assert (analysis / name).stat().st_size > 0, name
    from svta.build.verify import verify_dataset

    assert verify_dataset(out, workers=1).ok
    state = json.loads((out / "pipeline_state.json").read_text())
    assert all(state[s]["done"] for s in ("captions", "videos", "annotate", "build", "train", "eval"))
    # a rerun resumes: nothing is redone
    assert main(_small_demo_args(out)) == 0
    rerun = capsys.readouterr().out
    assert "resumed (already done): captions, videos, annotate, build, train, eval" in rerun
    assert re.search(r"^  train +already done$", rerun, re.M)
    # the report the demo suggests reads the demo's runs/* as it is, skipping its results tables
    assert main(["report", str(out / "runs" / "*"), "--out", str(out / "report")]) == 0
    captured = capsys.readouterr()
    assert "CLIP4Clip-seqTransf" in captured.out and f"skipped {out / 'runs' / 'results.md'}" in captured.err


def test_demo_killed_mid_run_resumes_without_redoing_finished_stages(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "demo"
    command = [sys.executable, "-m", "svta.cli.main", *_small_demo_args(out)]
    env = {**os.environ, "SVTA_QUIET": "1"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_path = out / "pipeline_state.json"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if state_path.exists() and "videos" in json.loads(state_path.read_text() or "{}"):
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the demo finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    clips_before = {p.name: p.stat().st_mtime_ns for p in (out / "videos").glob("*.mp4")}
    assert clips_before
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    ran = next(line for line in rerun.stdout.splitlines() if line.startswith("ran:"))
    assert "resumed (already done): captions, videos" in ran
    clips_after = {p.name: p.stat().st_mtime_ns for p in (out / "videos").glob("*.mp4")}
    assert clips_after == clips_before  # no clip was rendered again


def test_pipeline_run_cli_runs_selected_stages_and_records_them(tmp_path, capsys):
    from svta.cli.main import main

    root = tmp_path / "p"
    args = [
        "pipeline",
        "run",
        str(REPO / "configs" / "demo.yaml"),
        "--root",
        str(root),
        "--stages",
        "captions,videos",
        "--set",
        "captions.per_category=1",
        "--set",
        "captions.categories=[fire,walking]",
        "--set",
        "videos.width=32",
        "--set",
        "videos.height=32",
    ]
    assert main(args) == 0
    assert "ran: captions, videos" in capsys.readouterr().out
    assert len(list((root / "videos").glob("*.mp4"))) == 2
    assert (root / "svta.yaml").exists()
    assert main(args) == 0  # recorded as done: skipped
    assert "already done: captions, videos" in capsys.readouterr().out
    assert main([*args[:-2], "--set", "videos.height=48"]) == 0  # the videos section changed: it runs again
    assert "ran: videos" in capsys.readouterr().out
    from svta.tables import read_records, table_path

    assert {r["height"] for r in read_records(table_path(root, "videos"), "videos")} == {48}  # clips were remade
    assert main(["pipeline", "run", str(REPO / "configs" / "demo.yaml"), "--root", str(root), "--stages", "paint"]) == 2


def test_pipeline_run_says_which_clips_the_checks_flagged_and_still_exits_0(tmp_path, capsys):
    """Making clips is not the check: flagged clips leave the stage done (exit 0), and the output says so truly,
    naming the command that lists them (``svta videos check``, which exits 1)."""
    from svta.cli.main import main

    root = tmp_path / "p"
    args = ["pipeline", "run", str(REPO / "configs" / "demo.yaml"), "--root", str(root), "--stages", "captions,videos"]
    small = ["captions.per_category=1", "captions.categories=[fire,walking]", "videos.width=32", "videos.height=32"]
    args += [a for value in small for a in ("--set", value)]
    assert main(args) == 0
    assert "clip checks" not in capsys.readouterr().out  # nothing flagged: nothing said
    assert main([*args, "--set", "videos.quality.frozen_max_motion=1000"]) == 0  # every moving clip now "frozen"
    said = "clip checks: 0 black, 2 frozen, 0 near-duplicate pair(s); the clips are kept, `svta videos check --root"
    assert f"{said} {root}` lists them" in capsys.readouterr().out
    assert main(["--set", "videos.quality.frozen_max_motion=1000", "videos", "check", "--root", str(root)]) == 1


def test_next_steps_and_times_are_what_the_readme_shows(capsys):
    """The README's block after the demo is what the demo prints for its default root (best run: seqTransf)."""
    from svta.cli.pipeline import _next_steps, _stage_times
    from svta.demo import DemoResult
    from svta.pipeline import PipelineResult

    root = Path("svta-demo")
    runs = {"clip4clip-meanp": {"t2v": {"R5": 46.8}}, "clip4clip-seqtransf": {"t2v": {"R5": 49.4}}}
    result = DemoResult(
        root=root,
        pipeline=PipelineResult(root=root, seconds={"captions": 0.4, "train": 130.2}),
        runs=runs,
        n_test=79,
        chance_r5=6.3,
        run_dirs={model: root / "runs" / f"{model}-tiny" for model in runs},
    )
    _stage_times(result.stage_seconds(), 162.0)
    _next_steps(result.next_steps())
    printed = capsys.readouterr().out
    assert "  captions         0.4 s\n  videos    already done\n" in printed
    assert "  train     2 min 10.2 s\n" in printed and "  total     2 min 42.0 s\n" in printed
    steps = printed.split("next:\n")[1]
    assert steps in (REPO / "README.md").read_text(encoding="utf-8")
