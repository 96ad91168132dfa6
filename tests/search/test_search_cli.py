from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from searchkit import CLIPS, make_root

from svta.cli.main import main


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_root(tmp_path_factory.mktemp("cli") / "root", CLIPS[:4])


def test_index_command_json_and_incremental(root, tmp_path, capsys):
    out = tmp_path / "index"
    args = ["index", "--root", str(root), "--out", str(out), "--encoder", "hashing", "--batch-size", "2", "--json"]
    assert main(["--set", "search.encoder_options={dim: 32, num_frames: 4}", *args]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["added"], report["count"], report["failed"]) == (4, 4, [])
    assert main(["--set", "search.encoder_options={dim: 32, num_frames: 4}", *args]) == 0
    assert json.loads(capsys.readouterr().out)["already_indexed"] == 4
    meta = json.loads((out / "index.json").read_text())
    assert meta["encoder"] == {"name": "hashing", "dim": 32, "num_frames": 4, "grid": 8, "seed": 0}


def test_index_command_errors_are_one_line(root, tmp_path, capsys):
    assert main(["index", "--root", str(root), "--out", str(tmp_path / "i")]) == 2
    assert "exactly one of --run" in capsys.readouterr().err
    assert main(["index", "--root", str(root), "--out", str(tmp_path / "i"), "--run", "missing"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no training run" in err[0]
    assert (
        main(["index", "--root", str(tmp_path / "absent"), "--out", str(tmp_path / "i"), "--encoder", "hashing"]) == 2
    )
    assert "dataset root not found" in capsys.readouterr().err
    assert main(["serve", "--index", str(tmp_path / "nothing"), "--port", "0"]) == 2
    assert "not a search index" in capsys.readouterr().err


def test_index_takes_the_video_stage_engine_options(root, tmp_path, capsys):
    """--engine/--workers/--ray-address are the top-level engine options; a dead cluster is one fast line."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    args = ["index", "--root", str(root), "--out", str(tmp_path / "i"), "--encoder", "hashing"]
    start = time.perf_counter()
    assert main([*args, "--engine", "ray", "--workers", "2", "--ray-address", dead]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert time.perf_counter() - start < 30
    assert len(err) == 1 and f"Ray cluster at {dead}: nothing answers" in err[0]
    assert not (tmp_path / "i").exists()  # nothing left behind
    assert main([*args, "--engine", "nosuch"]) == 2
    assert "engine" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_command_binds_loopback_and_answers(root, tmp_path):
    out = tmp_path / "index"
    assert main(["-q", "index", "--root", str(root), "--out", str(out), "--encoder", "hashing"]) == 0
    port = _free_port()
    env = {**os.environ, "SVTA_QUIET": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "svta.cli.main", "serve", "--index", str(out), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(url + "/healthz", timeout=2).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    proc.stdout.read().decode() if proc.stdout else ""
                )
                time.sleep(0.2)
        assert health["videos"] == 4 and health["encoder"] == "hashing"
        results = httpx.get(url + "/api/search", params={"q": "a person walks", "k": 2}).json()["results"]
        assert len(results) == 2
        listening = subprocess.run(
            ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
        ).stdout.split()
        assert listening[3] == f"127.0.0.1:{port}"  # the local address: loopback only
    finally:
        proc.terminate()
        proc.wait(timeout=10)
