"""The ``minilm-head`` category classifier: logistic-regression heads on MiniLM caption embeddings.

Nearest-category matching compares a caption with one description and a few tags per category; a
head trained on many examples per category learns which parts of a caption matter. The examples are
captions from the template grammar, each category's description, name and synonyms, the hand-written
exemplars of ``svta/data/category_exemplars.yaml`` and any human-reviewed labels. A second, binary head
decides anomaly vs normal (the bit of a label a benchmark depends on most); below a calibrated
confidence the classifier abstains and the caption becomes ``needs_review``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from svta.annotate.classifiers import Prediction
from svta.annotate.config import AnnotateConfig, HeadConfig
from svta.errors import ConfigError
from svta.registry import require

if TYPE_CHECKING:
    from svta.taxonomy import Taxonomy

EXEMPLARS_SOURCE = "svta/data/category_exemplars.yaml"


@cache
def shipped_exemplars() -> dict[str, tuple[str, ...]]:
    """Hand-written example captions per category id, from ``svta/data/category_exemplars.yaml``."""
    import yaml

    text = resources.files("svta").joinpath("data", "category_exemplars.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ConfigError(f"{EXEMPLARS_SOURCE}: expected a mapping of category id -> list of captions")
    return {str(key): tuple(str(item) for item in value) for key, value in data.items()}


def template_exemplars(taxonomy: Taxonomy, per_category: int, seed: int) -> list[tuple[str, str]]:
    """``per_category`` distinct template-grammar captions per category, as (caption, category id)."""
    from svta.captions.grammar import GrammarBook
    from svta.captions.template import compose_caption

    book = GrammarBook()
    pairs = []
    for category in taxonomy:
        grammar = book.for_category(category)
        rng = random.Random(f"svta-head:{seed}:{category.id}")  # not the generator's stream: unseen captions
        texts: dict[str, None] = {}
        for _ in range(per_category * 4):
            texts.setdefault(compose_caption(grammar, rng)[0], None)
            if len(texts) == per_category:
                break
        pairs.extend((text, category.id) for text in texts)
    return pairs


def training_pairs(taxonomy: Taxonomy, config: HeadConfig) -> list[tuple[str, str]]:
    """Every (text, category id) the heads learn from before any human review."""
    pairs = template_exemplars(taxonomy, config.exemplars, config.seed)
    extra = shipped_exemplars()
    for category in taxonomy:
        texts = [category.description, category.name, *category.synonyms, *extra.get(category.id, ())]
        pairs.extend((text, category.id) for text in dict.fromkeys(t.strip() for t in texts if t.strip()))
    return pairs


class MiniLMHeadClassifier:
    """Logistic-regression heads over MiniLM embeddings: a category head and an anomaly head.

    The probability of "anomaly" is the mean of the binary head's answer and the category head's
    total mass on anomaly categories; the label's category is the most probable one of the decided
    kind, so category and ``is_anomaly`` always agree. When ``max(p, 1 - p)`` is below
    ``config.head.review_below`` the prediction abstains (category None, ``is_anomaly`` None).

    Args:
        taxonomy: the categories to choose from.
        config: the ``annotate`` section (embedder and the ``head`` sub-section).
    """

    def __init__(self, taxonomy: Taxonomy, config: AnnotateConfig | None = None):
        self.config = config or AnnotateConfig()
        self.head_config = self.config.head
        self.method = "minilm-head"
        self.taxonomy = taxonomy
        self.ids = list(taxonomy.ids())
        self.kinds = np.array([category.is_anomaly for category in taxonomy], dtype=bool)  # [C]
        self.pairs = training_pairs(taxonomy, self.head_config)
        self.weights = self._fit(self.pairs)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm embeddings ``[N, D]`` with the configured text embedder."""
        from svta.embed import embed_texts

        return embed_texts(texts, self.config.embedder, self.config.embedder_model)

    def learn(self, texts: Sequence[str], categories: Sequence[str]) -> int:
        """Add human-reviewed (caption, category id) examples and refit; returns how many were used.

        Reviewed captions count ``config.head.reviewed_weight`` times (they are the real thing,
        the generated examples only an approximation). Unknown categories are skipped.
        """
        known = set(self.ids)
        extra = [(text, category) for text, category in zip(texts, categories) if category in known and text]
        if not extra:
            return 0
        repeat = max(1, int(self.head_config.reviewed_weight))
        vectors = np.concatenate(
            [self.weights["vectors"], np.repeat(self.embed([t for t, _ in extra]), repeat, axis=0)]
        )
        labels = [self.ids.index(c) for _, c in self.pairs] + [
            self.ids.index(c) for _, c in extra for _ in range(repeat)
        ]
        fitted = fit_heads(vectors, np.asarray(labels), self.kinds, self.head_config.c, self.head_config.anomaly_c)
        self.weights = {**fitted, "vectors": self.weights["vectors"]}
        return len(extra)

    def probabilities(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Category probabilities ``[N, C]`` and P(anomaly) ``[N]`` for unit-norm vectors ``[N, D]``."""
        logits = vectors @ self.weights["category_coef"].T + self.weights["category_bias"]  # [N, C]
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        binary = vectors @ self.weights["anomaly_coef"] + self.weights["anomaly_bias"]  # [N]
        mean = 0.5 * (1.0 / (1.0 + np.exp(-binary)) + probs[:, self.kinds].sum(axis=1))
        mean = np.clip(mean, 1e-6, 1.0 - 1e-6)
        # temperature scaling (fitted on held-out captions) makes P(anomaly) a calibrated confidence
        return probs, 1.0 / (1.0 + np.exp(-np.log(mean / (1.0 - mean)) / self.head_config.anomaly_temperature))

    def classify(self, captions: Sequence[str]) -> list[Prediction]:
        if len(captions) == 0:
            return []
        probs, p_anomaly = self.probabilities(self.embed(captions))
        return [self._decide(probs[i], float(p_anomaly[i])) for i in range(len(captions))]

    def _decide(self, probs: np.ndarray, p_anomaly: float) -> Prediction:
        is_anomaly = p_anomaly >= 0.5
        sure = max(p_anomaly, 1.0 - p_anomaly)
        of_kind = np.where(self.kinds == is_anomaly, probs, -1.0)
        best, runner_up = np.argsort(-of_kind)[:2]
        answer = self.ids[int(runner_up)]
        if sure < self.head_config.review_below:
            return Prediction(None, sure, answer=self.ids[int(best)], is_anomaly=None)
        return Prediction(self.ids[int(best)], float(probs[best]), answer=answer, is_anomaly=bool(is_anomaly))

    def _fit(self, pairs: list[tuple[str, str]]) -> dict[str, np.ndarray]:
        texts = tuple(text for text, _ in pairs)
        labels = tuple(self.ids.index(category) for _, category in pairs)
        spec = HeadSpec(
            self.config.embedder,
            self.config.embedder_model,
            self.head_config.c,
            self.head_config.anomaly_c,
            str(cache_directory(self.head_config)),
        )
        return _fit_cached(spec, texts, labels, tuple(self.kinds.tolist()))


@dataclass(frozen=True)
class HeadSpec:
    """What a fit depends on besides its examples (hashable, for the in-process cache)."""

    embedder: str
    embedder_model: str | None
    c: float
    anomaly_c: float
    cache_dir: str


def cache_directory(config: HeadConfig) -> Path:
    """Where fitted heads are kept: ``config.cache_dir``, else ``$SVTA_CACHE_DIR/annotate`` or ``~/.cache/svta/annotate``."""
    if config.cache_dir is not None:
        return Path(config.cache_dir)
    base = os.environ.get("SVTA_CACHE_DIR") or Path.home() / ".cache" / "svta"
    return Path(base) / "annotate"


@lru_cache(maxsize=4)
def _fit_cached(
    spec: HeadSpec, texts: tuple[str, ...], labels: tuple[int, ...], kinds: tuple[bool, ...]
) -> dict[str, np.ndarray]:
    # Embedding a few thousand examples takes most of a minute on two busy cores: fitted heads and
    # their training embeddings are kept on disk by content hash, so only a changed taxonomy,
    # grammar or exemplar file refits.
    sklearn = require("sklearn", "embed")
    from svta.embed import resolve_precision

    setup = asdict(spec) | {"cache_dir": None, "precision": resolve_precision()}
    key = json.dumps([2, setup, texts, labels, kinds, sklearn.__version__])
    path = Path(spec.cache_dir) / f"head-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:24]}.npz"
    if path.is_file():
        with np.load(path) as data:
            return {name: data[name] for name in data.files}
    from svta.embed import embed_texts

    vectors = embed_texts(texts, spec.embedder, spec.embedder_model)
    weights = fit_heads(vectors, np.asarray(labels), np.asarray(kinds, dtype=bool), spec.c, spec.anomaly_c)
    weights["vectors"] = vectors  # [M, D] training embeddings: learning reviewed labels refits without re-embedding
    _save_npz(path, weights)
    return weights


def fit_heads(
    vectors: np.ndarray, labels: np.ndarray, kinds: np.ndarray, c: float = 16.0, anomaly_c: float = 4.0
) -> dict[str, np.ndarray]:
    """Fit the category head (multinomial) and the anomaly head (binary, class-balanced).

    Args:
        vectors: unit-norm training embeddings ``[M, D]``.
        labels: category index of each ``[M]``.
        kinds: whether each category is an anomaly ``[C]``.
        c, anomaly_c: inverse L2 strengths of the category and anomaly heads.
    """
    linear = require("sklearn.linear_model", "embed")
    n_classes = len(kinds)
    category = linear.LogisticRegression(C=c, max_iter=3000).fit(vectors, labels)
    coef = np.zeros((n_classes, vectors.shape[1]), dtype=np.float32)
    bias = np.full(n_classes, -1e4, dtype=np.float32)  # a category without examples is never chosen
    coef[category.classes_] = category.coef_
    bias[category.classes_] = category.intercept_
    anomaly = linear.LogisticRegression(C=anomaly_c, max_iter=3000, class_weight="balanced")
    anomaly.fit(vectors, kinds[labels])
    return {
        "category_coef": coef,
        "category_bias": bias,
        "anomaly_coef": anomaly.coef_[0].astype(np.float32),
        "anomaly_bias": np.float32(anomaly.intercept_[0]),
    }


def _save_npz(path: Path, weights: dict[str, Any]) -> None:
    from svta.tables import atomic_path

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **weights)
    except OSError:
        pass  # a read-only home only costs a refit next time
