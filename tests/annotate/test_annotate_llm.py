"""The LLM classifier against a loopback OpenAI-compatible chat-completions server."""

from __future__ import annotations

import pytest
from annotatekit import write_captions
from fake_chat_server import FakeChatServer

from svta.annotate.classifiers import NEEDS_REVIEW
from svta.annotate.classify import classify_captions
from svta.annotate.config import AnnotateConfig, LLMClassifierConfig
from svta.annotate.llm import LLMClassifier, build_prompt, match_answer
from svta.errors import BackendError
from svta.tables import read_records, table_path
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
                def create(**kwargs):
                    message = type("M", (), {"content": "smoke"})
                    return type("R", (), {"choices": [type("C", (), {"message": message})]})

    predictions = LLMClassifier(default_taxonomy(), client=Client()).classify(["Grey smoke rises."])
    assert predictions[0].category == "smoke"
