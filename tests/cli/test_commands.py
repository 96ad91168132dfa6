"""The command line as a whole: one command shape, usage errors as one line (exit 2), exit 3 when a stage's
items fail, nothing left behind by a refused command, and the ``eval:`` section taking effect."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import typer

from svta.cli.main import ALIASES, STAGES, TOOLS, app, main
from svta.tables import write_table
from svta.videos.base import VIDEO_BACKENDS


def _leaf_commands(command, path=()):
    """Every command path below ``command`` (hidden aliases included)."""
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        yield path
        return
    for name, sub in subcommands.items():
        yield from _leaf_commands(sub, (*path, name))


ALL_COMMANDS = sorted(_leaf_commands(typer.main.get_command(app)))


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_rejects_an_unknown_option_in_one_line(path, capsys):
    assert main([*path, "--no-such-option"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("error: No such option: --no-such-option")
    assert f"see 'svta {' '.join(path)} --help'" in line or "see 'svta" in line


def _walk_argv(path: tuple[str, ...], root: Path) -> list[str]:
    """A command run on an empty root, without anything else it may need; the demo gets a bad value instead of
    running for minutes, the doctor skips its network connects."""
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    argv = [*path, "--root", str(root)] if any("--root" in p.opts for p in command.params) else [*path]
    return argv + {("demo",): ["--per-category", "0"], ("doctor",): ["--offline"]}.get(path, [])


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_keeps_the_exit_contract_without_a_traceback(path, tmp_path, monkeypatch, capsys):
    """On an empty root every command ends with a code of the contract; a refusal (2) is one line and writes
    nothing; --help is 0."""
    assert main([*path, "--help"]) == 0
    capsys.readouterr()
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.chdir(tmp_path)
    code = main(_walk_argv(path, root))
    captured = capsys.readouterr()
    assert code in (0, 1, 2, 3), captured.err
    assert "Traceback" not in captured.out + captured.err
    if code == 2:
        assert len(captured.err.strip().splitlines()) == 1, captured.err
        assert sorted(p.name for p in tmp_path.rglob("*")) == ["root"]
    if code in (1, 3):
        assert captured.err.strip().splitlines()[-1].startswith(("problems:", "incomplete:")), captured.err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["captions", "generate", "-n", "abc"], "'--per-category' / '-n'"),
        (["videos", "generate", "--size", "big"], "'--size'"),
        (["search", "serve", "--port", "abc"], "'--port'"),
        (["serve", "--port", "abc"], "'--port'"),
        (["nosuchcommand"], "No such command 'nosuchcommand'"),
        (["import"], "Missing argument"),
        (["build", "export"], "Missing argument"),
        (["eval", "metrics", "--ks"], "requires an argument"),
    ],
)
def test_usage_errors_are_one_line_with_a_hint_exit_2(argv, expected, capsys):
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert line.startswith("error:") and expected in line and "--help'" in line


def test_help_lists_stages_in_pipeline_order_and_hides_old_spellings(capsys):
    assert main(["--help"]) == 0
    listed = re.findall(r"^\W (\w[\w-]*)\s{2,}", capsys.readouterr().out.split("Commands")[1], re.M)
    assert listed[: len(STAGES) + len(TOOLS)] == [name for name, _ in (*STAGES, *TOOLS)]
    assert listed[len(STAGES)] == "demo"
    assert not set(listed) & {alias for alias, _ in ALIASES}


@pytest.mark.parametrize("alias, _command", ALIASES)
def test_old_spellings_still_work(alias, _command, capsys):
    assert main([alias, "--help"]) == 0
    assert "Usage: svta " in capsys.readouterr().out


def test_stage_default_actions(capsys):
    """`svta build`, `svta train` and `svta eval` still run their main action without naming it; a one-action
    stage's messages name the command as typed (`svta train`)."""
    for stage, path in (("build", "build manifest"), ("train", "train"), ("eval", "eval run")):
        assert main([stage, "--no-such-option"]) == 2
        assert f"see 'svta {path} --help'" in _one_error_line(capsys)
    assert main(["train", "--help"]) == 0
    assert "--epochs" in capsys.readouterr().out


def test_renamed_options_keep_their_old_spelling_hidden(capsys):
    for argv, new, old in (
        (["demo", "--help"], "--root", "--out "),
        (["eval", "overlap", "--help"], "--root", "--train "),
        (["annotate", "csv-export", "--help"], "--file", "--out "),
        (["eval", "overlap", "--help"], "--compare-videos", "--videos "),
        (["demo", "--help"], "--per-category", "--size "),
        (["eval", "run", "--help"], "--json-out", "--output "),
        (["videos", "check", "--help"], "--decode", "--verify "),
        (["build", "import", "--help"], "--opt", " -o "),
    ):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert new in out and old not in out, argv


def test_set_typo_is_blamed_on_set_as_unknown_key(capsys):
    assert main(["--set", "captions.per_categry=3", "taxonomy"]) == 0  # taxonomy reads no config
    capsys.readouterr()
    assert main(["--set", "captions.per_categry=3", "eval", "metrics", "x.npy"]) == 2
    line = _one_error_line(capsys)
    assert "--set captions.per_categry=3" in line and "unknown key" in line and "per_category" in line
    assert "Extra inputs" not in line and "<defaults>" not in line


def test_eval_section_sets_the_defaults_of_svta_eval(tmp_path, capsys):
    sim = tmp_path / "sim.npy"
    np.save(sim, np.zeros((4, 4), dtype=np.float32))  # every score ties
    results = {}
    for ties in ("optimistic", "pessimistic"):
        assert main(["--set", f"eval.ties={ties}", "eval", "metrics", str(sim), "--json"]) == 0
        results[ties] = json.loads(capsys.readouterr().out)["t2v"]
    assert results["optimistic"]["R1"] == 100.0 and results["pessimistic"]["R1"] == 0.0
    assert main(["--set", "eval.ties=bogus", "eval", "metrics", str(sim)]) == 2
    assert "--set eval.ties=bogus" in _one_error_line(capsys)


class _FailingBackend:
    """A video backend whose every clip fails."""

    name = "cli-test-failing"
    fps = 4.0

    def __init__(self, config, taxonomy_path=None):
        pass

    def generate(self, requests):
        return [RuntimeError(f"no clip for {r.id}") for r in requests]

    def describe(self):
        return {}


@pytest.fixture
def failing_backend(registered):
    registered(VIDEO_BACKENDS.kind, _FailingBackend.name, _FailingBackend, "test backend: every clip fails")


def _captions(root: Path, n: int = 2) -> None:
    rows = [
        {"id": f"c{i}", "caption": f"a person walks {i}", "category": "walking", "source": "test", "seed": i}
        for i in range(n)
    ]
    write_table(rows, root / "captions.parquet", "captions")


def test_videos_that_all_fail_exit_3_after_the_summary(tmp_path, capsys, failing_backend):
    _captions(tmp_path)
    code = main(
        [
            "videos",
            "generate",
            "--root",
            str(tmp_path),
            "--backend",
            _FailingBackend.name,
            "--frames",
            "4",
            "--size",
            "32",
        ]
    )
    captured = capsys.readouterr()
    assert code == 3
    assert "made 0" in captured.out and "failed 2 of 2" in captured.out
    assert captured.err.strip().splitlines()[-1].startswith("incomplete: 2 of 2 clip(s) failed")
    assert ": 0 done, 2 failed" in captured.err and "2 done" not in captured.err  # the progress line


def test_index_with_failing_files_exits_3(tmp_path, capsys):
    videos = tmp_path / "clips"
    videos.mkdir()
    (videos / "broken.mp4").write_bytes(b"not a video at all")
    code = main(["search", "index", "--root", str(videos), "--encoder", "hashing", "--out", str(tmp_path / "idx")])
    captured = capsys.readouterr()
    assert code == 3, captured.err
    assert "1 failed" in captured.out and "incomplete:" in captured.err


def test_refused_commands_leave_nothing_behind(tmp_path, capsys):
    new_root = tmp_path / "new"
    assert main(["videos", "generate", "--root", str(new_root)]) == 2
    assert "dataset root not found" in _one_error_line(capsys)
    assert not new_root.exists()
    _captions(tmp_path)
    assert main(["videos", "generate", "--root", str(tmp_path), "--backend", "nosuch"]) == 2
    assert "unknown video_backend" in _one_error_line(capsys)
    assert main(["captions", "generate", "--root", str(new_root), "--backend", "nosuch"]) == 2
    _one_error_line(capsys)
    config = tmp_path / "pipeline.yaml"
    config.write_text(f"root: {new_root}\n")
    assert main(["pipeline", "run", str(config), "--set", "videos.backend=nosuch"]) == 2
    assert "videos.backend: unknown video_backend 'nosuch'" in _one_error_line(capsys)
    assert not new_root.exists() and not (tmp_path / "svta.yaml").exists()


def test_missing_inputs_name_the_next_step(tmp_path, capsys):
    assert main(["verify", "--root", str(tmp_path / "nope")]) == 2
    assert "dataset root not found" in _one_error_line(capsys)
    assert main(["build", "stats", "--root", str(tmp_path)]) == 2
    assert "run `svta build` first" in _one_error_line(capsys)
    assert main(["search", "serve", "--index", str(tmp_path / "nope")]) == 2
    captured = capsys.readouterr()
    assert "serving" not in captured.out + captured.err and "svta search index" in captured.err
    assert main(["eval", "--run", "nosuch", "--root", str(tmp_path)]) == 2
    assert "train one with `svta train`" in _one_error_line(capsys)


def test_run_option_takes_a_name_or_a_folder(tmp_path):
    from svta.cli._common import resolve_run

    run = tmp_path / "runs" / "clip4clip-meanp-tiny"
    run.mkdir(parents=True)
    assert resolve_run("clip4clip-meanp-tiny", tmp_path) == run
    assert resolve_run(str(run), None) == run


def test_the_run_summary_says_how_many_captions_went_to_review(capsys):
    """Captions sent to review count as misses in the agreement; the summary line says how many there are."""
    from svta.cli.pipeline import _annotation_summary

    agreement = {"n": 392, "accuracy": 0.936, "kappa": 0.935}
    _annotation_summary({"classify": {"method": "minilm-head", "n_needs_review": 19, "agreement": agreement}})
    line = capsys.readouterr().out.strip()
    assert line.startswith("minilm-head classification vs the generator's categories: accuracy 93.6%")
    assert line.endswith("over 392 captions; 19 sent to review (each a miss until a person labels it)")
    _annotation_summary({"classify": {"method": "minilm-head", "n_needs_review": 0, "agreement": agreement}})
    assert capsys.readouterr().out.strip().endswith("over 392 captions")
