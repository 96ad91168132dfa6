"""The exit-code contract command by command (0 done, 1 a check found problems, 2 bad input and nothing written,
3 finished short), one line instead of a traceback for OS and validation errors, names that stay names, options
checked before any work, and one vocabulary for the same thing."""

from __future__ import annotations

import errno
import json
import re
from pathlib import Path

import pytest

from svta.cli.main import main
from svta.errors import EXIT_CODES
from svta.tables import table_path, write_table

REPO = Path(__file__).resolve().parents[2]


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _captions(root: Path, n: int = 3) -> None:
    rows = [
        {"id": f"c{i}", "caption": f"a person walks down street {i}", "category": "walking", "source": "test"}
        for i in range(n)
    ]
    write_table(rows, table_path(root, "captions"), "captions")


def _render(root: Path, *ids: str) -> None:
    argv = ["videos", "generate", "--root", str(root), "--backend", "procedural", "--frames", "4", "--size", "32"]
    assert main([*argv, *(a for i in ids for a in ("--id", i))]) == 0


@pytest.fixture
def rendered(tmp_path, capsys) -> Path:
    """A root with three captions and their procedural clips."""
    root = tmp_path / "root"
    root.mkdir()
    _captions(root)
    _render(root)
    capsys.readouterr()
    return root


# --- exit codes ---------------------------------------------------------------------------------------------------


def test_the_contract_is_in_help_and_readme(capsys):
    assert main(["--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    for code, meaning in EXIT_CODES.items():
        assert f"{code} {' '.join(meaning.split())}" in help_text
        assert f"| {code} | {meaning} |" in readme


def test_videos_check_with_a_broken_clip_exits_1(rendered, capsys):
    assert main(["videos", "check", "--root", str(rendered)]) == 0
    capsys.readouterr()
    (rendered / "videos" / "c1.mp4").write_bytes(b"not a video")
    assert main(["videos", "check", "--root", str(rendered)]) == 1
    err = capsys.readouterr().err
    assert "broken c1" in err and err.strip().splitlines()[-1].startswith("problems: 1 of 3 clip(s) broken")


def test_videos_check_decode_flag_and_old_verify_spelling(rendered, capsys):
    (rendered / "videos" / "c1.mp4").write_bytes(b"not a video")
    assert main(["videos", "check", "--root", str(rendered), "--no-decode"]) == 1  # sha256 differs
    assert main(["videos", "check", "--root", str(rendered), "--verify", "exists"]) == 0  # the file exists
    capsys.readouterr()
    assert main(["videos", "check", "--root", str(rendered), "--verify", "bogus"]) == 2
    assert "--verify 'bogus'" in _one_error_line(capsys)


def test_build_that_skips_a_missing_video_exits_3_and_keeps_the_manifest(tmp_path, capsys):
    root = tmp_path / "root"
    root.mkdir()
    _captions(root)
    _render(root, "c0", "c1")
    capsys.readouterr()
    assert main(["build", "--root", str(root)]) == 3
    err = capsys.readouterr().err
    assert "skipped 1: no video" in err and err.strip().splitlines()[-1].startswith("incomplete: 1 caption(s)")
    assert table_path(root, "manifest").exists()


def test_videos_generate_with_an_unknown_id_exits_2_writing_nothing(tmp_path, capsys):
    _captions(tmp_path)
    before = _files(tmp_path)
    assert main(["videos", "generate", "--root", str(tmp_path), "--id", "c0", "--id", "nosuchid"]) == 2
    assert "--id nosuchid: no such caption id" in _one_error_line(capsys)
    assert main(["videos", "generate", "--root", str(tmp_path), "--limit", "0"]) == 2
    assert "--limit 0" in _one_error_line(capsys)
    assert _files(tmp_path) == before


def test_annotate_refuses_bad_k_and_unknown_classifier_writing_nothing(tmp_path, capsys):
    _captions(tmp_path)
    before = _files(tmp_path)
    assert main(["annotate", "cluster", "--root", str(tmp_path), "--k", "0"]) == 2
    assert "--k 0" in _one_error_line(capsys)
    assert main(["annotate", "classify", "--root", str(tmp_path), "--classifier", "nosuch"]) == 2
    assert "--classifier 'nosuch': unknown category_classifier" in _one_error_line(capsys)
    assert _files(tmp_path) == before  # no labels.parquet, no annotate/


def test_doctor_exits_1_when_a_check_fails(monkeypatch, capsys):
    from svta import doctor

    monkeypatch.setattr(doctor, "run_checks", lambda **_: [doctor.Check("PyAV codecs", "fail", "no h264", "fix")])
    assert main(["doctor", "--json", "--offline"]) == 1
    assert capsys.readouterr().err.strip() == "problems: 1 check(s) failed: PyAV codecs (see the fix column)"


# --- one line instead of a traceback --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, value",
    [
        ("--epochs", "-1"),
        ("--batch-size", "0"),
        ("--frames", "0"),
        ("--lr", "0"),
        ("--workers", "-1"),
        ("--max-steps", "0"),
    ],
)
def test_bad_training_values_name_the_option(tmp_path, capsys, option, value):
    assert main(["train", "--root", str(tmp_path), option, value]) == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"error: {option} ") and "must be" in line
    assert _files(tmp_path) == []


def _refuse_writes(monkeypatch, code: int, message: str) -> None:
    """Every atomic write fails as on a read-only or full disk (tests run as root, where chmod stops nothing)."""
    import tempfile

    def failing(*args, dir=None, **kwargs):
        raise OSError(code, message, str(dir))

    monkeypatch.setattr(tempfile, "mkstemp", failing)


@pytest.mark.parametrize(
    "code, message, said",
    [
        (errno.EROFS, "Read-only file system", "read-only file system"),
        (errno.ENOSPC, "No space left on device", "no space left on device"),
        (errno.EACCES, "Permission denied", "permission denied"),
    ],
)
def test_unwritable_root_is_one_line_naming_the_path_and_a_rerun_completes(
    tmp_path, monkeypatch, capsys, code, message, said
):
    argv = ["captions", "generate", "--root", str(tmp_path), "--category", "walking", "-n", "2"]
    with monkeypatch.context() as patch:
        _refuse_writes(patch, code, message)
        assert main(argv) == 2
        line = _one_error_line(capsys)
    assert line.startswith(f"error: {tmp_path}") and said in line
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nothing half-written
    assert main(argv) == 0  # the cause fixed, a rerun completes
    assert table_path(tmp_path, "captions").exists()


def test_a_full_disk_mid_write_names_the_file(tmp_path, capsys, monkeypatch):
    """A write that fails without naming its file (ENOSPC from write()) is still one line naming it."""
    from svta.tables import atomic_write_text

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError) as caught:
        atomic_write_text(tmp_path / "x.json", "{}")
    assert caught.value.filename == str(tmp_path / "x.json") and caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_search_index_into_an_unwritable_folder_is_one_line(rendered, tmp_path, monkeypatch, capsys):
    out = tmp_path / "idx"
    argv = ["search", "index", "--root", str(rendered), "--encoder", "hashing", "--out", str(out)]
    with monkeypatch.context() as patch:
        _refuse_writes(patch, errno.EROFS, "Read-only file system")
        assert main(argv) == 2
        line = _one_error_line(capsys)
    assert line.startswith(f"error: {out}") and "read-only file system" in line
    assert main(argv) == 0


def test_export_onto_an_existing_file_is_refused_before_writing(tmp_path, capsys):
    blocker = tmp_path / "export"
    blocker.write_text("keep me")
    assert main(["build", "export", "msrvtt", "--out", str(blocker), "--root", str(tmp_path)]) == 2
    assert f"--out {blocker}: {blocker} is a file" in _one_error_line(capsys)
    assert main(["build", "export", "msrvtt", "--out", str(blocker / "sub"), "--root", str(tmp_path)]) == 2
    assert "is a file" in _one_error_line(capsys)
    assert blocker.read_text() == "keep me"


def test_a_validation_error_reaching_main_is_one_line():
    from pydantic import ValidationError

    from svta.cli.main import error_line
    from svta.retrieval.config import TrainConfig

    with pytest.raises(ValidationError) as caught:
        TrainConfig.model_validate({"epochs": 0})
    assert error_line(caught.value) == ("error: epochs: Value error, must be >= 1, got 0", 2)


def test_an_unexpected_os_error_keeps_its_traceback():
    from svta.cli.main import error_line

    assert error_line(OSError(errno.EIO, "Input/output error", "/x")) is None
    assert error_line(RuntimeError("a bug")) is None


# --- names are names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "..", "", "  ", "a\\b"])
def test_run_name_must_be_a_name(tmp_path, capsys, name):
    root = tmp_path / "deep" / "root"
    root.mkdir(parents=True)
    assert main(["train", "--root", str(root), "--name", name]) == 2
    assert "--name" in _one_error_line(capsys)
    assert _files(tmp_path) == ["deep", "deep/root"]


def test_eval_split_and_model_are_names(tmp_path, capsys):
    (tmp_path / "runs" / "r").mkdir(parents=True)
    assert main(["eval", "--root", str(tmp_path), "--run", "r", "--split", "../../x"]) == 2
    assert "--split '../../x'" in _one_error_line(capsys)
    assert main(["train", "--root", str(tmp_path), "--model", "../x"]) == 2
    assert "--model '../x': unknown retrieval_model" in _one_error_line(capsys)


# --- options checked before any work ------------------------------------------------------------------------------


@pytest.fixture
def no_evaluation(monkeypatch):
    """Evaluation that must not start: the options are checked first."""
    import svta.eval.api as api
    import svta.retrieval.model_source as model_source

    def must_not_run(*args, **kwargs):
        raise AssertionError("evaluation started before the options were checked")

    monkeypatch.setattr(api, "evaluate", must_not_run)
    monkeypatch.setattr(model_source, "load_model", must_not_run)


@pytest.mark.parametrize(
    "extra, said",
    [
        (["--ties", "bogus"], "--ties 'bogus': eval.ties"),
        (["--compat", "bogus"], "--compat 'bogus'"),
        (["--rerank-tail", "bogus"], "--rerank-tail 'bogus'"),
        (["--batch-size", "0"], "--batch-size 0"),
        (["--sample-fps", "0"], "--sample-fps 0.0"),
        (["--dataset", "ucfcrime-ar", "--out", "x"], "--out: not used with --dataset"),
        (["--dataset", "ucfcrime-ar", "--rerank-tail", "zero"], "--rerank-tail: not used with --dataset"),
        (["--dataset", "ucfcrime-ar", "--no-analysis"], "--analysis/--no-analysis: not used with --dataset"),
    ],
)
def test_eval_options_are_checked_before_any_work(tmp_path, capsys, no_evaluation, extra, said):
    (tmp_path / "runs" / "r").mkdir(parents=True)
    assert main(["eval", "--root", str(tmp_path), "--run", "r", *extra]) == 2
    assert said in _one_error_line(capsys)


def test_report_skips_what_is_not_a_run_and_says_so(tmp_path, capsys):
    runs = tmp_path / "runs"
    metrics = {d: {"R1": 1.0, "R5": 5.0, "R10": 10.0, "MdR": 3.0, "MnR": 4.0} for d in ("t2v", "v2t")}
    (runs / "clip4clip-meanp-tiny").mkdir(parents=True)
    (runs / "clip4clip-meanp-tiny" / "metrics.json").write_text(json.dumps({**metrics, "model": "clip4clip-meanp"}))
    for name in ("results.md", "results.csv"):  # what the demo's eval stage writes beside the runs
        (runs / name).write_text("x")
    (runs / "unfinished").mkdir()
    assert main(["report", str(runs / "*"), "-o", str(tmp_path / "report")]) == 0
    captured = capsys.readouterr()
    assert "CLIP4Clip-MeanP" in captured.out
    for name in ("results.md", "results.csv", "unfinished"):
        assert f"skipped {runs / name}: not a run (no metrics.json)" in captured.err
    assert main(["report", str(runs / "results.md")]) == 2  # named, not matched: it must be a run
    _one_error_line(capsys)


# --- one vocabulary -----------------------------------------------------------------------------------------------


def test_version_and_quiet_after_the_subcommand(capsys):
    from svta import __version__
    from svta.cli._common import STATE

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"svta {__version__}"
    assert main(["taxonomy", "--json", "-q"]) == 0 and STATE.quiet
    assert main(["taxonomy", "--json"]) == 0 and not STATE.quiet
    assert main(["taxonomy", "--quiet", "--json"]) == 0 and STATE.quiet


def test_hoisting_stops_at_double_dash():
    from svta.cli.main import hoist_global_flags

    assert hoist_global_flags(["demo", "-q", "--root", "x"]) == ["-q", "demo", "--root", "x"]
    assert hoist_global_flags(["x", "--", "-q"]) == ["x", "--", "-q"]


def _help(capsys, *argv: str) -> str:
    assert main([*argv, "--help"]) == 0
    return capsys.readouterr().out


def test_o_means_out(capsys):
    for argv in (("eval", "run"), ("report",), ("build", "export")):
        out = _help(capsys, *argv)
        assert "--out" in out and "--opt  -o" not in out and "--output" not in out, argv
    for argv in (("eval", "run"), ("report",)):
        assert re.search(r"--out\s+-o\s", _help(capsys, *argv)), argv
    assert "--json-out" in _help(capsys, "eval", "run")


def test_one_name_for_one_thing_with_old_spellings_hidden(capsys):
    demo = _help(capsys, "demo")
    assert "--per-category" in demo and "--size" not in demo
    assert "--decode" in _help(capsys, "build", "verify") and "--decode" in _help(capsys, "videos", "check")
    assert "--verify" not in _help(capsys, "videos", "check")
    classify = _help(capsys, "annotate", "classify")
    for option in ("--base-url", "--model", "--api-key-env", "--concurrency"):
        assert option in classify and option in _help(capsys, "captions", "generate")


def test_train_help_names_the_command_users_type(capsys):
    out = _help(capsys, "train")
    assert "Usage: svta train [OPTIONS]" in out and "svta train run" not in out and "--epochs" in out
    assert "Usage: svta train run [OPTIONS]" in _help(capsys, "train", "run")


def test_llm_classifier_options_reach_its_config(tmp_path, capsys):
    rows = [{"id": "u0", "caption": "a man drops a box on the stairs", "source": "test"}]  # no category: classify it
    write_table(rows, table_path(tmp_path, "captions"), "captions")
    argv = ["annotate", "classify", "--root", str(tmp_path), "--classifier", "openai"]
    code = main([*argv, "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--concurrency", "0"])
    assert code == 2 and "--concurrency 0" in _one_error_line(capsys)
    assert main([*argv, "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]) == 2
    assert "127.0.0.1:9" in _one_error_line(capsys)
    assert not table_path(tmp_path, "labels").exists()


def test_export_takes_out_and_the_old_positional_folder(tmp_path, capsys):
    assert main(["build", "export", "msrvtt", str(tmp_path / "a"), "--out", str(tmp_path / "b")]) == 2
    assert "give one output folder" in _one_error_line(capsys)
    assert main(["build", "export", "msrvtt"]) == 2
    assert "--out FOLDER" in _one_error_line(capsys)


def test_doctor_names_the_real_keys_and_the_release_extra():
    from svta.doctor import EXTRAS, check_servers

    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    section = pyproject.split("[project.optional-dependencies]")[1].split("\n[")[0]
    extras = re.findall(r"^([\w-]+) = \[", section, re.M)
    assert set(EXTRAS) == set(extras) - {"dev", "all"}
    checks = check_servers(llm_url="http://127.0.0.1:9/v1", classifier_url="http://127.0.0.1:9/v1")
    assert [c.fix.split()[-1] for c in checks] == ["captions.openai.base_url", "annotate.llm.base_url"]


def test_every_visible_o_is_out_and_every_out_has_o():
    import typer

    from svta.cli.main import app

    def commands(command, path=()):
        subcommands = getattr(command, "commands", None) or {}
        for name, sub in subcommands.items():
            yield from commands(sub, (*path, name))
        if not subcommands:
            yield path, command

    for path, command in commands(typer.main.get_command(app)):
        visible = [p for p in command.params if not getattr(p, "hidden", False)]
        # build export reads a hidden -o itself: a folder, or the old -o KEY=VALUE
        short_o = any("-o" in p.opts for p in command.params)
        for param in visible:
            if "-o" in param.opts or "--out" in param.opts:
                assert param.opts[0] == "--out" and short_o, (path, param.opts)


def test_demo_keeps_its_old_size_spelling(capsys):
    assert main(["demo", "--size", "0"]) == 2
    assert "--size 0" in _one_error_line(capsys)


@pytest.mark.parametrize(
    "argv, said",
    [
        (["videos", "generate", "--size", "0"], "error: --size 0: videos.width"),
        (["videos", "generate", "--frames", "0"], "error: --frames 0: videos.frames"),
        (["search", "index", "--encoder", "hashing", "--out", "idx", "--batch-size", "0"], "error: --batch-size 0:"),
        (["captions", "generate", "--per-category", "-1"], "error: --per-category -1: captions.per_category"),
    ],
)
def test_a_config_value_refused_names_the_option_typed(tmp_path, monkeypatch, capsys, argv, said):
    _captions(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _files(tmp_path)
    assert main([*argv, "--root", str(tmp_path)]) == 2
    assert _one_error_line(capsys).startswith(said)
    assert _files(tmp_path) == before
