"""Fixtures of the caption tests: a small taxonomy selection, a bag-of-words embedder, the fake LLM server."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from fake_chat_server import FakeChatServer

from svta.captions.config import CaptionsConfig
from svta.embed import TEXT_EMBEDDERS


class HashingEmbedder:
    """Bag-of-words hashed into 512 dims: same words → cosine 1, one word changed → about 0.9."""

    dim = 512

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace(".", " ").replace(",", " ").split():
                out[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


@pytest.fixture
def hashing_embedder(registered):
    """The ``test-hash`` text embedder (a :class:`HashingEmbedder`), registered for one test."""
    registered(
        TEXT_EMBEDDERS.kind, "test-hash", lambda device="cpu": HashingEmbedder(), "bag-of-words hashing (tests only)"
    )


@pytest.fixture
def server():
    with FakeChatServer(latency_s=0.01) as srv:
        yield srv


@pytest.fixture
def llm_config():
    return make_llm_config


def make_llm_config(
    url: str, categories=("abuse", "throw", "walking"), per_category: int = 12, **openai
) -> CaptionsConfig:
    """An ``openai``-backend config for the fake server: small batches, fast backoff."""
    cfg = CaptionsConfig(backend="openai", per_category=per_category, categories=list(categories))
    settings = {
        "base_url": url,
        "batch_size": 5,
        "concurrency": 4,
        "backoff_s": 0.01,
        "backoff_max_s": 0.05,
        "timeout_s": 10.0,  # generous: a loaded shared CPU must not turn into timeouts
        **openai,
    }
    cfg.openai = cfg.openai.model_copy(update=settings)
    return cfg
