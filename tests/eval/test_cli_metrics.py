"""``svta metrics``: JSON/table output for matrices and embeddings; bad input -> one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from evalkit import clip4clip_compute_metrics
from typer.testing import CliRunner

from svta.cli.main import main
from svta.cli.metrics import metrics_command


@pytest.fixture()
def sim_file(tmp_path):
    rng = np.random.default_rng(0)
    S = (rng.normal(size=(30, 30)) + 2 * np.eye(30)).astype(np.float32)
    path = tmp_path / "sim.npy"
    np.save(path, S)
    return S, path


def test_json_matches_reference(sim_file, capsys):
    S, path = sim_file
    assert main(["metrics", str(path), "--compat", "clip4clip", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for direction, matrix in (("t2v", S), ("v2t", S.T)):
        ref = clip4clip_compute_metrics(matrix)
        assert {k: data[direction][k] for k in ("R1", "R5", "R10", "MdR", "MnR")} == ref


def test_table_output_and_global_json(sim_file, capsys):
    _, path = sim_file
    assert main(["metrics", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| Method | T2V R@1") and "| sim.npy |" in out and "T2V: 30 queries" in out
    assert main(["--json", "metrics", str(path), "--ks", "1,2"]) == 0
    assert "R2" in json.loads(capsys.readouterr().out)["t2v"]


def test_embeddings(tmp_path, capsys):
    rng = np.random.default_rng(1)
    T = rng.normal(size=(25, 8)).astype(np.float32)
    np.save(tmp_path / "t.npy", T)
    np.save(tmp_path / "v.npy", T + 0.01 * rng.normal(size=T.shape).astype(np.float32))
    np.save(tmp_path / "map.npy", np.arange(25))
    argv = ["metrics", "--text-emb", str(tmp_path / "t.npy"), "--video-emb", str(tmp_path / "v.npy"), "--json"]
    assert main(argv + ["--text-to-video", str(tmp_path / "map.npy")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["t2v"]["R1"] == 100.0 and set(data) == {"t2v", "v2t"}


def _bad_inputs(tmp_path):
    cases = {}
    np.save(tmp_path / "rect.npy", np.zeros((3, 4), np.float32))
    cases["square"] = ([str(tmp_path / "rect.npy"), "--compat", "clip4clip"], "square")
    np.save(tmp_path / "nan.npy", np.full((4, 4), np.nan))
    cases["nan"] = ([str(tmp_path / "nan.npy")], "every ground-truth score is NaN")
    np.save(tmp_path / "int.npy", np.eye(3, dtype=np.int64))
    cases["dtype"] = ([str(tmp_path / "int.npy")], "floating-point, got dtype int64")
    (tmp_path / "empty.npy").write_bytes(b"")
    cases["empty"] = ([str(tmp_path / "empty.npy")], "empty file")
    (tmp_path / "sim.csv").write_text("1,0\n0,1\n")
    cases["not npy"] = ([str(tmp_path / "sim.csv")], "not a .npy file")
    np.save(tmp_path / "vec.npy", np.zeros(3))
    cases["1-D"] = ([str(tmp_path / "vec.npy")], "must be 2-D")
    cases["missing"] = ([str(tmp_path / "nope.npy")], "no such file")
    cases["nothing"] = ([], "give SIM.npy")
    cases["ties"] = ([str(tmp_path / "rect.npy"), "--ties", "random"], "ties must be one of")
    np.save(tmp_path / "obj.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    cases["pickle"] = ([str(tmp_path / "obj.npy")], "cannot read")
    return cases


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    for name, (args, message) in _bad_inputs(tmp_path).items():
        assert main(["metrics", *args]) == 2, name
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, (name, err)


def test_standalone_typer_app(sim_file):
    _, path = sim_file
    app = typer.Typer()
    app.command("metrics")(metrics_command)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["metrics", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["v2t"]["n"] == 30
