"""The ``minilm-head`` category classifier: logistic-regression heads on MiniLM caption embeddings.

Nearest-category matching compares a caption with one description and a few tags per category; a
head trained on many examples per category learns which parts of a caption matter. The examples are
captions from the template grammar, each category's description, name and synonyms, the hand-written
exemplars of ``svta/resources/category_exemplars.yaml`` (with the dev half of the real-style evaluation set)
and any human-reviewed labels. A second, binary head decides anomaly vs normal (the bit of a label a
benchmark depends on most); below a calibrated confidence the classifier abstains and the caption
becomes ``needs_review``. A caption of several sentences (a whole video: context, then the event) is
scored as the mean of the whole caption and its most anomalous sentence, whose vector is pooled from the
whole caption's tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
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

EXEMPLARS_SOURCE = "svta/resources/category_exemplars.yaml"
HEAD_CACHE_VERSION = 3  # bump when the saved arrays change meaning
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def split_sentences(caption: str) -> list[str]:
    """The sentences of a caption (split after ``.``, ``!``, ``?`` or ``;``); fragments under 3 characters are
    dropped; a caption of one sentence comes back as ``[caption]``."""
    parts = [part.strip() for part in _SENTENCE_END.split(caption.strip())]
    parts = [part for part in parts if len(part) >= 3]
    return parts if len(parts) > 1 else [caption]


def sentence_spans(caption: str) -> list[tuple[int, int]]:
    """Character ``(start, end)`` spans in ``caption`` of the sentences :func:`split_sentences` finds; empty
    for a caption of one sentence."""
    sentences = split_sentences(caption)
    if len(sentences) == 1:
        return []
    spans, position = [], 0
    for sentence in sentences:
        start = caption.index(sentence, position)
        position = start + len(sentence)
        spans.append((start, position))
    return spans


@cache
def shipped_exemplars() -> dict[str, tuple[str, ...]]:
    """Hand-written example captions per category id, from ``svta/resources/category_exemplars.yaml``."""
    import yaml

    text = resources.files("svta").joinpath("resources").joinpath("category_exemplars.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ConfigError(f"{EXEMPLARS_SOURCE}: expected a mapping of category id -> list of captions")
    return {str(key): tuple(str(item) for item in value) for key, value in data.items()}


def template_exemplars(taxonomy: Taxonomy, per_category: int, seed: int) -> list[tuple[str, str]]:
    """``per_category`` distinct template-grammar captions per category, as (caption, category id)."""
    from svta.captions.grammar import GrammarBook
    from svta.captions.template import compose_caption

    book = GrammarBook()
    pairs: list[tuple[str, str]] = []
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

    def raw_probabilities(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Category probabilities ``[N, C]`` and uncalibrated P(anomaly) ``[N]`` for unit-norm vectors ``[N, D]``."""
        logits = vectors @ self.weights["category_coef"].T + self.weights["category_bias"]  # [N, C]
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        binary = vectors @ self.weights["anomaly_coef"] + self.weights["anomaly_bias"]  # [N]
        mean = 0.5 * (1.0 / (1.0 + np.exp(-binary)) + probs[:, self.kinds].sum(axis=1))
        return probs, np.clip(mean, 1e-6, 1.0 - 1e-6)

    def calibrate(self, p_anomaly: np.ndarray) -> np.ndarray:
        """Temperature-scaled P(anomaly) ``[N]`` (the temperature was fitted on held-out captions)."""
        logit = np.log(p_anomaly / (1.0 - p_anomaly))
        return 1.0 / (1.0 + np.exp(-logit / self.head_config.anomaly_temperature))

    def probabilities(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Category probabilities ``[N, C]`` and calibrated P(anomaly) ``[N]`` for unit-norm vectors ``[N, D]``."""
        probs, p_anomaly = self.raw_probabilities(vectors)
        return probs, self.calibrate(p_anomaly)

    def caption_probabilities(self, captions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Category probabilities ``[N, C]`` and calibrated P(anomaly) ``[N]`` for captions of any length.

        A caption of several sentences is mostly context (people walking, cars passing) around one
        event: its answer is the mean of the whole caption's and its most anomalous sentence's, so the
        event sentence decides without the context drowning it. Sentence vectors are pooled from the
        whole caption's token vectors (one forward pass per caption, not one per sentence as well:
        1.6x the captions/s on real-style captions, same accuracy; ``benchmarks/annotate.py``).
        """
        from svta.embed import embed_text_spans

        vectors, sentences = embed_text_spans(
            captions,
            [sentence_spans(caption) for caption in captions],
            self.config.embedder,
            self.config.embedder_model,
        )
        probs, p_anomaly = self.raw_probabilities(vectors)
        counts = [len(group) for group in sentences]
        if sum(counts) == 0:
            return probs, self.calibrate(p_anomaly)
        sentence_probs, sentence_anomaly = self.raw_probabilities(np.concatenate(sentences))  # [S, C], [S]
        start = 0
        for index, count in enumerate(counts):
            if count == 0:
                continue
            event = start + int(np.argmax(sentence_anomaly[start : start + count]))
            start += count
            probs[index] = 0.5 * (probs[index] + sentence_probs[event])
            p_anomaly[index] = 0.5 * (p_anomaly[index] + sentence_anomaly[event])
        return probs, self.calibrate(p_anomaly)

    def classify(self, captions: Sequence[str]) -> list[Prediction]:
        if len(captions) == 0:
            return []
        probs, p_anomaly = self.caption_probabilities(captions)
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
        from svta.embed import resolve_precision

        texts = tuple(text for text, _ in pairs)
        labels = tuple(self.ids.index(category) for _, category in pairs)
        spec = HeadSpec(
            self.config.embedder,
            self.config.embedder_model,
            self.head_config.c,
            self.head_config.anomaly_c,
            str(cache_directory(self.head_config)),
            resolve_precision(),
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
    precision: str  # the embedder's, as resolved when the head was built


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
    # their training embeddings are kept on disk, keyed by the examples (taxonomy, grammar, exemplar
    # file) and by the code and weights that made them; the key is recorded in the file and checked.
    sklearn = require("sklearn", "embed")
    made_by = head_code_version(spec)
    key = hashlib.sha256(json.dumps([made_by, texts, labels, kinds, sklearn.__version__]).encode("utf-8")).hexdigest()
    path = Path(spec.cache_dir) / f"head-{key[:24]}.npz"
    cached = _load_npz(path, key)
    if cached is not None:
        return cached
    from svta.embed import embed_texts

    vectors = embed_texts(texts, spec.embedder, spec.embedder_model)
    weights = fit_heads(vectors, np.asarray(labels), np.asarray(kinds, dtype=bool), spec.c, spec.anomaly_c)
    weights["vectors"] = vectors  # [M, D] training embeddings: learning reviewed labels refits without re-embedding
    _save_npz(path, {**weights, "key": np.asarray(key), "made_by": np.asarray(json.dumps(made_by))})
    return weights


def head_code_version(spec: HeadSpec) -> dict[str, Any]:
    """What made a fitted head besides its examples: this module's source, the embedder's fingerprint
    (its code, weights and precision) and the fit settings; a cached head recording another is refit."""
    from svta.embed import embedder_fingerprint
    from svta.provenance import module_digest

    return asdict(spec) | {
        "cache_dir": None,
        "format": HEAD_CACHE_VERSION,
        "head_source": module_digest((__name__,)),
        "embedder": embedder_fingerprint(spec.embedder, spec.embedder_model, spec.precision),
    }


def _load_npz(path: Path, key: str) -> dict[str, np.ndarray] | None:
    """The arrays cached at ``path`` if the file records ``key`` (what made it), else None."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            if "key" not in data.files or str(data["key"]) != key:
                return None
            return {name: data[name] for name in data.files if name not in ("key", "made_by")}
    except (OSError, ValueError):
        return None  # a damaged cache file is refit


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
