"""The LLM classifier against a loopback OpenAI-compatible chat-completions server."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
from annotatekit import write_captions
from fake_chat_server import FakeChatServer

from svta.annotate.classifiers import NEEDS_REVIEW
from svta.annotate.classify import classify_captions
from svta.annotate.config import AnnotateConfig, LLMClassifierConfig
from svta.annotate.llm import LLMClassifier, build_prompt, match_answer
from svta.annotate.retry import FAILED_FILE
from svta.errors import BackendError
from svta.tables import PartWriter, read_records, table_path
from svta.taxonomy import default_taxonomy

# caption → what the fake model answers (or an HTTP status to fail with)
ANSWERS = {
    "Two men punch each other.": "fighting",
    "A car hits a wall.": "The category is: Road accident.",
    "Someone sets a bin alight on purpose.": "I think this is arson",
    "Nothing to see here.": "I cannot decide.",
    "A server error happens.": 500,
}


def answer(body: dict) -> str | int:
    """The fake model: the answer ``ANSWERS`` gives the caption after "Text: " (500 for unknown ones)."""
    caption = body["messages"][-1]["content"].rsplit("Text: ", 1)[-1]
    return ANSWERS.get(caption, 500)


@pytest.fixture
def chat_server():
    with FakeChatServer(responder=answer) as server:
        yield server


def llm_config(base_url: str) -> AnnotateConfig:
    return AnnotateConfig(
        classifier="openai", llm=LLMClassifierConfig(base_url=base_url, model="fake-llm", max_retries=0, workers=3)
    )


def test_classify_through_a_chat_server(tmp_path, chat_server):
    write_captions(tmp_path, [{"id": f"c{i}", "caption": caption} for i, caption in enumerate(ANSWERS)])
    result = classify_captions(tmp_path, llm_config(chat_server.url))
    labels = {row["id"]: row for row in read_records(table_path(tmp_path, "labels"), "labels")}
    assert labels["c0"]["category"] == "fighting" and labels["c0"]["confidence"] == 1.0
    assert labels["c1"]["category"] == "road_accident"  # prefix and period stripped, name matched
    assert labels["c2"]["category"] == "arson" and labels["c2"]["confidence"] < 1.0  # found inside a sentence
    assert labels["c3"]["category"] == NEEDS_REVIEW
    assert "c4" not in labels and [f[0] for f in result.failed] == ["c4"]
    assert result.n_needs_review == 1 and result.method == "llm:fake-llm"
    assert all(row["method"] == "llm:fake-llm" for row in labels.values())
    # the request is a chat completion with the taxonomy-constrained paper prompt
    request = chat_server.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["body"]["model"] == "fake-llm"
    prompt = request["body"]["messages"][0]["content"]
    assert prompt.startswith("Help me classify text content according to the type of exception or accident/event")
    assert "Only answer one of the most likely" in prompt
    assert all(category.name in prompt for category in default_taxonomy())


def test_unreachable_server_is_a_backend_error(tmp_path, chat_server):
    write_captions(tmp_path, [{"id": "c0", "caption": "A server error happens."}])
    with pytest.raises(BackendError, match="first batch"):
        classify_captions(tmp_path, llm_config(chat_server.url))


def test_match_answer_variants():
    taxonomy = default_taxonomy()
    assert match_answer("Fighting", taxonomy).id == "fighting"
    assert match_answer('"theft or stealing"', taxonomy).id == "stealing"
    assert match_answer("Answer: figthing", taxonomy).id == "fighting"  # fuzzy
    assert match_answer("It looks like a fall from height to me.", taxonomy).id == "fall_from_height"  # longest key
    assert match_answer("", taxonomy) is None
    assert match_answer("no idea at all", taxonomy) is None


def test_prompt_lists_names_and_flattens_caption():
    prompt = build_prompt("A man\n  falls.", default_taxonomy())
    assert prompt.endswith("Text: A man falls.") and "loss of balance or falls" in prompt


def test_classifier_uses_injected_client():
    class Client:
        class chat:
            class completions:
                @staticmethod
                async def create(**kwargs):
                    message = type("M", (), {"content": "smoke"})
                    return type("R", (), {"choices": [type("C", (), {"message": message})]})

    predictions = LLMClassifier(default_taxonomy(), client=Client()).classify(["Grey smoke rises."])
    assert predictions[0].category == "smoke"


CARRIED = [  # captions that carry their category (as generated captions do): only --all selects them
    ("A man punches another man outside a bar.", "fighting"),
    ("Grey smoke pours out of a window.", "smoke"),
    ("A woman sets a bin alight on purpose.", "arson"),
    ("A car crashes into a wall.", "road_accident"),
    ("Two men fight in a car park.", "fighting"),
    ("Black smoke rises over a warehouse.", "smoke"),
    ("A man sets fire to a parked car.", "arson"),
    ("A bus crashes into a lamppost.", "road_accident"),
    ("Two boys fight in a schoolyard.", "fighting"),
    ("A proxy error happens here.", "smoke"),
    ("Another proxy error happens here.", "arson"),
]
NAMES = {"fighting": "fighting", "smoke": "smoke", "arson": "arson", "road_accident": "road accident"}


def carried_answer(body: dict) -> str | bytes:
    """The fake model: the caption's own category; the two "proxy error" captions get a 502 page with status 200."""
    caption = body["messages"][-1]["content"].rsplit("Text: ", 1)[-1]
    if "proxy error" in caption:
        return b"<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
    return NAMES[dict(CARRIED)[caption]]


def test_bad_replies_fail_per_item_and_a_plain_rerun_retries_them(tmp_path):
    write_captions(tmp_path, [{"id": f"c{i:02d}", "caption": c, "category": cat} for i, (c, cat) in enumerate(CARRIED)])
    with FakeChatServer(responder=carried_answer) as server:
        config = llm_config(server.url)
        config.llm = config.llm.model_copy(update={"max_retries": 1})
        result = classify_captions(tmp_path, config, all_captions=True)
        assert sorted(f[0] for f in result.failed) == ["c09", "c10"]
        assert all("502 Bad Gateway" in error for _, error in result.failed)
        labels = {row["id"]: row for row in read_records(table_path(tmp_path, "labels"), "labels")}
        assert len(labels) == 9 and all(labels[f"c{i:02d}"]["category"] == CARRIED[i][1] for i in range(9))
        usage = json.loads((tmp_path / "labels.llm_usage.json").read_text())
        assert usage["requests"] == 9 and usage["total_tokens"] > 0 and usage["model"] == "fake-llm"
        assert (tmp_path / FAILED_FILE).exists()

        # the proxy recovers; a plain rerun (no --all) retries exactly the two failed captions
        CARRIED_FIXED.update({CARRIED[9][0]: "smoke", CARRIED[10][0]: "arson"})
        server.responder = lambda body: CARRIED_FIXED.get(body["messages"][-1]["content"].rsplit("Text: ", 1)[-1], 500)
        again = classify_captions(tmp_path, config)
    assert again.n_targets == 2 and again.n_labelled == 2 and not again.failed
    labels = {row["id"]: row for row in read_records(table_path(tmp_path, "labels"), "labels")}
    assert labels["c09"]["category"] == "smoke" and labels["c10"]["category"] == "arson"
    assert not (tmp_path / FAILED_FILE).exists()
    assert json.loads((tmp_path / "labels.llm_usage.json").read_text())["requests"] == 11  # accumulated


CARRIED_FIXED: dict[str, str] = {}


def test_labels_are_committed_in_parts(tmp_path):
    captions = [c for c, _ in CARRIED[:9]]
    write_captions(tmp_path, [{"id": f"c{i}", "caption": c} for i, c in enumerate(captions)])

    def answer_then_reject_key(body: dict) -> str | int:
        caption = body["messages"][-1]["content"].rsplit("Text: ", 1)[-1]
        return 401 if caption == captions[-1] else NAMES[dict(CARRIED)[caption]]

    with FakeChatServer(responder=answer_then_reject_key) as server:
        config = llm_config(server.url)
        config.llm = config.llm.model_copy(update={"workers": 1})  # one at a time: parts of 4 captions
        with pytest.raises(BackendError, match="HTTP 401"):
            classify_captions(tmp_path, config)
    kept = PartWriter(table_path(tmp_path, "labels"), "labels").read_all().to_pylist()
    assert len(kept) == 8  # the two parts before the fatal answer


def test_dead_server_is_named_within_seconds(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    write_captions(tmp_path, [{"id": "c0", "caption": "Two men punch each other."}])
    started = time.monotonic()
    with pytest.raises(BackendError, match=f"connection refused at {re.escape(url)}"):
        classify_captions(tmp_path, llm_config(url))
    assert time.monotonic() - started < 5


def test_cli_exits_3_after_its_summary_when_captions_failed(tmp_path, capsys):
    from svta.cli.main import main

    write_captions(tmp_path, [{"id": f"c{i}", "caption": c} for i, c in enumerate(ANSWERS)])
    with FakeChatServer(responder=answer) as server:
        code = main(
            [
                "--root",
                str(tmp_path),
                "--set",
                f"annotate.llm.base_url={server.url}",
                "--set",
                "annotate.llm.max_retries=0",
                "annotate",
                "classify",
                "--classifier",
                "openai",
            ]
        )
    captured = capsys.readouterr()
    assert code == 3 and "1 failed" in captured.out and "failed c4" in captured.err
