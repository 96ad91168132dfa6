from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from fake_chat_server import FakeChatServer

from svta.captions.config import CaptionsConfig, OpenAIBackendConfig
from svta.captions.generate import generate_captions
from svta.captions.llm import render_prompt
from svta.captions.llm_parse import parse_reply
from svta.errors import BackendError
from svta.tables import PartWriter, read_records


def test_parse_numbered_bulleted_and_json_answers():
    answer = (
        'Sure! Here are 3 prompts:\n1. A man runs.\n2) **Prompt 2:** "A dog barks loudly."\n- A bus stops\n\nEnjoy!'
    )
    assert parse_reply(answer).items == ("A man runs.", "A dog barks loudly.", "A bus stops")
    fenced = 'Here you go:\n```json\n{"prompts": ["one caption here", "two caption here"]}\n```'
    assert (
        parse_reply(fenced).items == ("one caption here", "two caption here") and parse_reply(fenced).format == "json"
    )
    objects = '[{"id": 1, "prompt": "first one"}, {"id": 2, "description": "second one"}] trailing words'
    assert parse_reply(objects).items == ("first one", "second one")
    refusal = parse_reply("I'm sorry, but I can't help with generating that content.")
    assert refusal.items == () and refusal.refusal
    garbage = parse_reply("Happy to help with your dataset!")
    assert garbage.items == () and not garbage.refusal and garbage.format == "none"
    mixed = parse_reply("1. A woman falls off a ladder.\n2. I cannot write more of these, as an AI.")
    assert mixed.items == ("A woman falls off a ladder.",)


CORPUS = yaml.safe_load((Path(__file__).parents[1] / "data" / "llm_caption_replies.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CORPUS, ids=[case["name"] for case in CORPUS])
def test_reply_corpus(case):
    parsed = parse_reply(case["reply"])
    assert list(parsed.items) == case["captions"]
    if not case["captions"]:
        assert parsed.format == "none" and parsed.refusal == case["refusal"]


def test_prompt_is_the_papers_template_and_validated():
    text = render_prompt(OpenAIBackendConfig(), "throw", "A person hurls stones.", "anomaly", 50)
    assert "Next anomalous behavior category: throw. Continue generating 50 prompts for this." in text
    assert "abnormal, unreasonable, or even dangerous" in text
    assert "Next normal behavior category: walking" in render_prompt(OpenAIBackendConfig(), "walking", "", "normal", 5)
    with pytest.raises(ValueError, match="prompt template"):
        OpenAIBackendConfig(prompt_template="category {cat}")


def _check_table(root, per_category, categories):
    rows = read_records(root / "captions.parquet", "captions")
    counts = Counter(r["category"] for r in rows)
    assert counts == {c: per_category for c in categories}
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["caption"].lower() for r in rows}) == len(rows)
    return rows


def test_faults_are_retried_and_refusals_logged_not_stored(tmp_path, llm_config):
    script = ["429", "500", "malformed", "refusal", "garbage", "slow", "duplicates", "json", "duplicates"]
    with FakeChatServer(latency_s=0.01, script=script, slow_s=1.5) as server:
        cfg = llm_config(server.url, timeout_s=0.5, concurrency=3)
        result = generate_captions(tmp_path, cfg, seed=0)
        assert server.max_in_flight <= 3
    rows = _check_table(tmp_path, 12, ["abuse", "throwing_objects", "walking"])
    assert result.complete and result.added == 36
    stats = result.stats
    assert stats["http_429"] == 1 and stats["http_500"] == 1 and stats["malformed_http"] == 1 and stats["timeouts"] == 1
    assert stats["refusal"] == 1 and stats["malformed"] == 1 and stats["duplicates"] >= 1 and stats["retries"] >= 4
    assert not any("sorry" in r["caption"].lower() for r in rows)
    assert {r["source"] for r in rows} == {"openai"} and rows[0]["tags"]
    usage = json.loads((tmp_path / "captions.llm_usage.json").read_text())
    assert (
        usage["total_tokens"] > 0
        and usage["requests"] >= 8
        and set(usage["by_category"]) == {"abuse", "throwing_objects", "walking"}
    )
    rejects = [json.loads(line) for line in (tmp_path / "captions.llm_rejects.jsonl").read_text().splitlines()]
    assert {"refusal", "malformed", "malformed_http"} <= {r["kind"] for r in rejects}
    again = generate_captions(tmp_path, cfg, seed=0)
    assert again.added == 0 and again.stats.get("requests", 0) == 0


def test_concurrency_is_bounded_and_used(tmp_path, llm_config):
    with FakeChatServer(latency_s=0.05) as server:
        result = generate_captions(tmp_path, llm_config(server.url, per_category=20, concurrency=6), seed=0)
        assert server.max_in_flight == 6
    assert result.complete


def test_random_faults_still_reach_exact_targets(tmp_path, llm_config):
    rates = {"429": 0.1, "500": 0.1, "malformed": 0.05, "refusal": 0.1, "garbage": 0.05, "duplicates": 0.2, "json": 0.1}
    with FakeChatServer(latency_s=0.005, fault_rates=rates, seed=7) as server:
        # ~30% of attempts fail with a retried fault here, so 7 attempts give up on ~1 request in 5,000 (which
        # the generator reports, leaving the category short): 13 attempts make that ~1 in 6 million
        cfg = llm_config(
            server.url,
            categories=("fighting", "smoke", "falls", "eating"),
            per_category=15,
            concurrency=8,
            max_retries=12,
        )
        assert generate_captions(tmp_path, cfg, seed=1).complete
    _check_table(tmp_path, 15, ["fighting", "smoke", "falls", "eating"])


def test_fatal_status_raises_with_the_url(tmp_path, llm_config):
    with FakeChatServer(script=["401"]) as server, pytest.raises(BackendError, match=r"127\.0\.0\.1.*HTTP 401"):
        generate_captions(tmp_path / "a", llm_config(server.url, concurrency=1), seed=0)


def test_a_request_failing_all_attempts_leaves_its_category_short_and_the_run_goes_on(tmp_path, llm_config):
    # concurrency 1: the first request (abuse) gets three 500s, then every other request succeeds
    with FakeChatServer(script=["500"] * 3) as server:
        cfg = llm_config(server.url, concurrency=1, max_retries=2)
        result = generate_captions(tmp_path, cfg, seed=0)
    assert not result.complete and result.stats["failed_requests"] == 1
    assert set(result.stats["failed"]) == {"abuse"} and "gave up after 3 attempt(s)" in result.stats["failed"]["abuse"]
    assert result.stats["gave_up"] == {"abuse": 12}
    assert result.counts == {"abuse": 0, "throwing_objects": 12, "walking": 12}
    # a plain rerun fills the short category
    with FakeChatServer() as server:
        again = generate_captions(tmp_path, llm_config(server.url, concurrency=1), seed=0)
    assert again.complete and again.added == 12


def test_no_wait_after_the_last_failed_attempt(monkeypatch):
    from svta.llm import ChatClient, ChatError, ChatSettings, run_sync

    waits = []
    monkeypatch.setattr(ChatClient, "backoff", lambda self, attempt, retry_after=None: waits.append(attempt) or 0.0)

    class HtmlTransport:  # the SDK hands a non-JSON 200 body back as text
        class chat:
            class completions:
                @staticmethod
                async def create(**kwargs):
                    return "<html><body>502 Bad Gateway</body></html>"

    async def ask():
        async with ChatClient(
            ChatSettings("http://127.0.0.1:1/v1", "m", max_retries=3), transport=HtmlTransport()
        ) as c:
            return await c.complete([{"role": "user", "content": "hi"}])

    with pytest.raises(ChatError, match="gave up after 4 attempt.*502 Bad Gateway"):
        run_sync(ask())
    assert waits == [0, 1, 2]  # three waits between four attempts, none after the last


def test_dead_server_is_named_within_seconds(tmp_path, llm_config):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    started = time.monotonic()
    with pytest.raises(BackendError, match=rf"connection refused at {re.escape(url)}"):
        generate_captions(tmp_path / "root", llm_config(url, max_retries=6, backoff_s=1.0), seed=0)
    assert time.monotonic() - started < 5
    assert not (tmp_path / "root").exists()  # nothing written


def test_html_page_with_status_200_is_retried(tmp_path, llm_config):
    with FakeChatServer(script=["html", "html"]) as server:
        result = generate_captions(tmp_path, llm_config(server.url, concurrency=1), seed=0)
    assert result.complete and result.stats["malformed_http"] == 2


def test_cli_exits_3_when_categories_are_short(tmp_path, capsys):
    from svta.cli.main import main

    with FakeChatServer(script=["500"] * 2) as server:
        code = main(
            [
                "--root",
                str(tmp_path),
                "--set",
                "captions.openai.max_retries=1",
                "--set",
                "captions.openai.backoff_s=0",
                "captions",
                "generate",
                "--backend",
                "openai",
                "--base-url",
                server.url,
                "-n",
                "2",
                "--category",
                "abuse",
                "--concurrency",
                "1",
            ]
        )
    captured = capsys.readouterr()
    assert code == 3 and "incomplete: 1 categor(ies) short" in captured.err and "abuse: " in captured.err


def test_gives_up_a_category_after_max_rounds(tmp_path, llm_config):
    with FakeChatServer(script=["refusal"] * 10) as server:
        cfg = llm_config(server.url, categories=("abuse",), concurrency=1, max_rounds=3)
        result = generate_captions(tmp_path, cfg, seed=0)
    assert not result.complete and result.stats["gave_up"] == {"abuse": 12} and result.added == 0


def test_api_key_comes_from_the_environment(tmp_path, llm_config, monkeypatch):
    seen = []
    with FakeChatServer() as server:
        import fake_chat_server as fake

        original = fake._Handler.do_POST

        def spy(self):
            seen.append(self.headers.get("Authorization"))
            original(self)

        monkeypatch.setattr(fake._Handler, "do_POST", spy)
        monkeypatch.setenv("MY_LLM_KEY", "sk-test-123")
        cfg = llm_config(server.url, categories=("walking",), per_category=3, api_key_env="MY_LLM_KEY")
        generate_captions(tmp_path, cfg, seed=0)
    assert seen and all(h == "Bearer sk-test-123" for h in seen)


def test_kill_and_rerun_gives_exact_count_without_duplicates(tmp_path):
    """SIGKILL the CLI mid-run, rerun it: exactly the target per category, no duplicates, nothing lost."""
    categories = ["abuse", "throw", "walking", "fighting"]
    with FakeChatServer(latency_s=0.1, fault_rates={"duplicates": 0.3, "429": 0.1}, seed=3) as server:
        args = [
            sys.executable,
            "-m",
            "svta.cli.main",
            "--quiet",
            "--root",
            str(tmp_path),
            "--set",
            "captions.openai.batch_size=6",
            "--set",
            "captions.openai.backoff_s=0.01",
            "--set",
            "captions.openai.commit_interval_s=0.05",
            "--set",
            "captions.openai.max_rounds=200",  # 30% duplicates must never exhaust a category's rounds
            "captions",
            "generate",
            "--backend",
            "openai",
            "--base-url",
            server.url,
            "--per-category",
            "24",
            "--concurrency",
            "4",
            *[a for c in categories for a in ("--category", c)],
        ]
        env = {**os.environ, "SVTA_QUIET": "1"}
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        parts = PartWriter(tmp_path / "captions.parquet", "captions")
        deadline = time.monotonic() + 30
        while len(parts.part_files()) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        partial = parts.read_all().num_rows
        assert 0 < partial < 96 and not (tmp_path / "captions.parquet").exists()
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
    rows = _check_table(tmp_path, 24, ["abuse", "throwing_objects", "walking", "fighting"])
    served = set(server.served)
    assert all(r["caption"] in served for r in rows)
    assert not parts.part_files()  # compacted


def test_openai_config_knobs_via_yaml(tmp_path):
    cfg = CaptionsConfig.model_validate({"backend": "openai", "openai": {"batch_size": 7, "concurrency": 2}})
    assert cfg.openai.batch_size == 7 and cfg.openai.api_key_env == "OPENAI_API_KEY"
    with pytest.raises(ValueError):
        CaptionsConfig.model_validate({"openai": {"concurrency": 0}})
