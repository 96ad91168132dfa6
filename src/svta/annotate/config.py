"""Configuration of the annotation stage (stage 3): category classification, tag clustering and
human review export/import.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from svta._configbase import StrictModel


class LLMClassifierConfig(StrictModel):
    """An OpenAI-compatible chat server (vLLM, Ollama, llama.cpp, OpenAI) used as a classifier."""

    base_url: str = "http://localhost:8000/v1"
    model: str = "Qwen/Qwen2.5-7B-Instruct"
    api_key_env: str = "OPENAI_API_KEY"  # read from the environment; local servers accept any key
    temperature: float = 0.0
    max_tokens: int = 24
    timeout_s: float = 60.0
    max_retries: int = 2
    workers: int = 8  # concurrent requests: LLM calls are I/O bound


class ClusterConfig(StrictModel):
    """K-Means over MiniLM embeddings of free-form tags (or captions)."""

    source: Literal["tags", "captions"] = "tags"
    k: int | None = None  # None: choose k in [k_min, k_max] by the silhouette rule below
    k_min: int | None = None  # None: half the taxonomy's size
    k_max: int | None = None  # None: 1.5 x the taxonomy's size (SVTA: 98 categories -> 49..147)
    k_step: int | None = None  # None: a twelfth of the range
    # the smallest k whose silhouette is within k_tolerance of the best wins (silhouette on tag
    # embeddings keeps creeping up with k; a flat gain is not worth more clusters), and the scan
    # stops after k_patience candidates without a gain beyond the tolerance
    k_tolerance: float = 0.005
    k_patience: int = 3
    k_search_sample: int = 5000  # choose k on a seeded sample of this many texts; the final fit uses all
    silhouette_sample: int = 4000  # silhouette is O(n^2): score a seeded sample
    minibatch_above: int = 10000  # mini-batch K-Means above this many texts (the 5k k-search sample uses full K-Means)
    n_init: int = 3
    seed: int = 0
    examples: int = 5
    # a cluster whose centroid is less similar than this to every category is a candidate new category
    new_category_below: float = 0.6  # measured: a planted unknown category 0.47-0.57, known ones 0.68-0.82
    plot: bool = True


class HeadConfig(StrictModel):
    """The ``minilm-head`` classifier: logistic-regression heads trained on generated examples."""

    exemplars: int = 24  # template-grammar captions per category in the training set
    seed: int = 0
    c: float = 16.0  # inverse L2 strength of the category head
    anomaly_c: float = 4.0  # ... and of the anomaly-vs-normal head
    reviewed_weight: int = 4  # a human-reviewed caption counts this many times
    # calibration of P(anomaly) and the abstention threshold, fitted on the dev half of
    # tests/data/annotate_eval.csv by benchmarks/annotate.py (never on the test half; refit 2026-12-05
    # for the sentence-level scoring: 0.5 / 0.65 before)
    anomaly_temperature: float = 0.6
    review_below: float = 0.75  # below this P(anomaly side) the label is needs_review
    cache_dir: str | None = None  # fitted heads; None: $SVTA_CACHE_DIR/annotate or ~/.cache/svta/annotate


class ReviewConfig(StrictModel):
    """Label Studio export: how a task points at its video."""

    # Label Studio serves files below LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (set it to the dataset
    # root) at this prefix; an empty prefix writes absolute file paths instead.
    url_prefix: str = "/data/local-files/?d="
    from_name: str = "category"
    to_name: str = "video"


class AnnotateConfig(StrictModel):
    classifier: str = "minilm-head"  # registry kind "category_classifier": minilm-head | minilm | openai
    embedder: str = "minilm"  # registry kind "text_embedder"
    embedder_model: str | None = None  # for embedder "sentence-transformers"
    batch_size: int = 256  # captions per classification batch (and per committed part)
    confidence_scale: float = 0.05  # MiniLM: confidence = 1 - exp(-margin / scale)
    min_confidence: float = 0.0  # below it a label becomes "needs_review"
    llm: LLMClassifierConfig = Field(default_factory=LLMClassifierConfig)
    head: HeadConfig = Field(default_factory=HeadConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
