"""``svta doctor`` and the preflight checks behind it: one row per check, JSON output, quick server checks."""

from __future__ import annotations

import json
import socket

import pytest

from svta.cli.main import main
from svta.doctor import run_checks
from svta.errors import BackendError
from svta.preflight import host_port, reachable, require_server


def test_checks_cover_the_list_without_network():
    names = [c.name for c in run_checks(network=False)]
    assert "extra [gen]" in names and "torch" in names and "CUDA" in names and "PyAV codecs" in names
    assert any(n.startswith("weights OpenAI") for n in names) and "Chromium" in names and "hub" not in names


def test_doctor_json(capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["doctor", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and {r["name"] for r in rows} >= {"torch", "hub", "PyAV codecs"}
    assert all(set(r) == {"name", "status", "detail", "fix"} for r in rows)
    hub = next(r for r in rows if r["name"] == "hub")
    assert hub["status"] == "warn" and "HF_HUB_OFFLINE" in hub["detail"]


@pytest.fixture
def listening():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    server.close()


def closed_address() -> str:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{free.getsockname()[1]}"
    free.close()
    return address


def test_server_checks_answer_in_seconds(listening):
    assert reachable(listening)
    host, port = host_port(listening)
    closed = closed_address()
    with pytest.raises(BackendError, match=f"LLM server at {closed} does not answer.*vllm"):
        require_server(closed, "the LLM server", "start it with vllm serve MODEL")
    assert host_port("ray://head:10001") == ("head", 10001) and host == "127.0.0.1"


def test_caption_stage_fails_at_once_without_its_llm_server(tmp_path):
    import time

    from svta.captions.config import CaptionsConfig
    from svta.captions.generate import generate_captions

    config = CaptionsConfig(
        backend="openai", per_category=2, categories=["walking"], openai={"base_url": f"http://{closed_address()}/v1"}
    )
    start = time.monotonic()
    with pytest.raises(BackendError, match="connection refused at http://127.0.0.1:.*is the server running"):
        generate_captions(tmp_path, config, seed=0)
    assert time.monotonic() - start < 10
