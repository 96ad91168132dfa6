"""Category classifiers (registry kind ``category_classifier``): map a caption to a taxonomy category.

The embedded default ``minilm-head`` runs logistic-regression heads over MiniLM embeddings
(:mod:`svta.annotate.head`); ``minilm`` scores a caption against each category's name, description
and synonyms with MiniLM cosine similarity; ``openai`` asks an OpenAI-compatible chat server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from svta.annotate.config import AnnotateConfig
from svta.registry import registry
from svta.tables import NEEDS_REVIEW  # noqa: F401  (re-exported: classifiers label with it)

if TYPE_CHECKING:
    from svta.taxonomy import Taxonomy

CATEGORY_CLASSIFIERS = registry("category_classifier")


@dataclass(frozen=True)
class Prediction:
    """One classifier answer.

    Attributes:
        category: a taxonomy category id, or None when the answer matched no category.
        confidence: in [0, 1]; how sure the classifier is.
        answer: what the classifier said (the LLM's raw text, or MiniLM's runner-up category).
        error: set when the item failed (server error, ...); such items are not labelled.
        is_anomaly: the classifier's own anomaly-vs-normal decision, when it makes one (None: take
            the category's kind).
    """

    category: str | None
    confidence: float
    answer: str = ""
    error: str | None = None
    is_anomaly: bool | None = None


class CategoryClassifier(Protocol):
    """Anything that maps captions to :class:`Prediction` objects, one per caption, in order."""

    method: str

    def classify(self, captions: Sequence[str]) -> list[Prediction]: ...


def category_texts(taxonomy: Taxonomy) -> tuple[list[str], list[str], np.ndarray]:
    """The texts that describe each category, flattened.

    Returns:
        (category ids ``[C]``, texts ``[M]``, owner ``[M]`` = index into the ids of each text's
        category). Texts are grouped by owner in ascending order (``reduceat`` relies on it).
    """
    ids, texts, owner = [], [], []
    for index, category in enumerate(taxonomy):
        ids.append(category.id)
        parts = [category.description, category.name, *category.synonyms]
        parts = list(dict.fromkeys(p.strip() for p in parts if p and p.strip()))
        texts.extend(parts)
        owner.extend([index] * len(parts))
    return ids, texts, np.asarray(owner, dtype=np.int64)


class MiniLMClassifier:
    """Nearest category by sentence-embedding similarity, with a margin-based confidence.

    A category's score is the mean of (a) its description's cosine similarity to the caption and
    (b) the best similarity among its description, name and synonyms: descriptions are sentences
    like captions, while short tags catch the key word. Confidence is ``1 - exp(-(s1 - s2) / scale)`` for the best
    score ``s1`` and the runner-up ``s2``: 0 for a tie, approaching 1 for a clear winner.
    """

    def __init__(self, taxonomy: Taxonomy, config: AnnotateConfig | None = None):
        self.config = config or AnnotateConfig()
        self.method = self.config.embedder_model or self.config.embedder  # recorded in labels.parquet
        self.ids, texts, self.owner = category_texts(taxonomy)
        self._starts = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])  # [C]
        from svta.embed import embedder_fingerprint

        fingerprint = embedder_fingerprint(self.config.embedder, self.config.embedder_model)
        self.text_vectors = _embed_cached(self.config.embedder, self.config.embedder_model, fingerprint, tuple(texts))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm embeddings ``[N, D]`` with the configured text embedder."""
        from svta.embed import embed_texts

        return embed_texts(texts, self.config.embedder, self.config.embedder_model)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """Category scores ``[N, C]`` for unit-norm query vectors ``[N, D]``."""
        sims = vectors @ self.text_vectors.T  # [N, M]
        best = np.maximum.reduceat(sims, self._starts, axis=1)  # [N, C], over description, name, synonyms
        description = sims[:, self._starts]  # [N, C]
        return 0.5 * (best + description)

    def classify(self, captions: Sequence[str]) -> list[Prediction]:
        if len(captions) == 0:
            return []
        scores = self.scores(self.embed(captions))
        order = np.argsort(-scores, axis=1)[:, :2]
        top = scores[np.arange(len(captions)), order[:, 0]]
        second = scores[np.arange(len(captions)), order[:, 1]] if scores.shape[1] > 1 else top * 0
        confidence = 1.0 - np.exp(-np.maximum(top - second, 0.0) / self.config.confidence_scale)
        return [
            Prediction(self.ids[order[i, 0]], float(confidence[i]), answer=self.ids[order[i, -1]])
            for i in range(len(captions))
        ]


@lru_cache(maxsize=8)
def _embed_cached(embedder: str, model: str | None, fingerprint: str, texts: tuple[str, ...]) -> np.ndarray:
    # ~900 category texts take seconds on a CPU; classify, cluster and review build classifiers
    # for the same taxonomy repeatedly in one process. ``fingerprint`` (svta.embed.embedder_fingerprint:
    # code, weights, precision) is part of the key only, so a changed precision re-embeds.
    from svta.embed import embed_texts

    vectors = embed_texts(texts, embedder, model)
    vectors.setflags(write=False)
    return vectors


@CATEGORY_CLASSIFIERS.register("minilm", "nearest category by MiniLM similarity (embedded, offline)")
def _minilm(taxonomy: Taxonomy, config: AnnotateConfig) -> MiniLMClassifier:
    return MiniLMClassifier(taxonomy, config)


@CATEGORY_CLASSIFIERS.register(
    "minilm-head", "logistic-regression heads on MiniLM embeddings; anomaly-aware, abstains (embedded, offline)"
)
def _minilm_head(taxonomy: Taxonomy, config: AnnotateConfig) -> Any:
    from svta.annotate.head import MiniLMHeadClassifier

    return MiniLMHeadClassifier(taxonomy, config)


@CATEGORY_CLASSIFIERS.register("openai", "an OpenAI-compatible chat server answering with a category name")
def _openai(taxonomy: Taxonomy, config: AnnotateConfig) -> Any:
    from svta.annotate.llm import LLMClassifier

    return LLMClassifier(taxonomy, config.llm)


def create_classifier(taxonomy: Taxonomy, config: AnnotateConfig | None = None) -> CategoryClassifier:
    """Build the classifier named by ``config.classifier`` from the registry."""
    config = config or AnnotateConfig()
    return CATEGORY_CLASSIFIERS.get(config.classifier)(taxonomy, config)
