"""The LLM category classifier: an OpenAI-compatible chat server is asked, with the SVTA paper's
prompt constrained to the taxonomy's names, which category a caption belongs to; the answer is
fuzzy-matched back to a category, and an answer that names none is left for human review.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from svta.annotate.classifiers import Prediction
from svta.annotate.config import LLMClassifierConfig
from svta.registry import require

if TYPE_CHECKING:
    from svta.taxonomy import Category, Taxonomy

# SVTA (arXiv 2506.01466), stage 3: "Help me classify text content according to the type of
# exception or accident/event ... Only answer one of the most likely ..."; the list of names keeps
# the answer inside the taxonomy.
PROMPT = (
    "Help me classify text content according to the type of exception or accident/event it "
    "describes, or the everyday activity if nothing abnormal happens.\n"
    "Categories: {names}.\n"
    "Only answer one of the most likely categories, written exactly as in the list, with no other words.\n"
    "Text: {caption}"
)
_PREFIX = re.compile(r"^\s*(?:the\s+)?(?:category|answer|label)\s*(?:is)?\s*[:\-]?\s*", re.IGNORECASE)


def build_prompt(caption: str, taxonomy: Taxonomy) -> str:
    """The user message asking for ``caption``'s category among the taxonomy's names."""
    names = "; ".join(category.name for category in taxonomy)
    return PROMPT.format(names=names, caption=" ".join(caption.split()))


def match_answer(answer: str, taxonomy: Taxonomy) -> Category | None:
    """The category an LLM answer names, or ``None``.

    Tries, in order: the whole answer (first line, without a "Category:" prefix, quotes and a
    final period) as an exact or fuzzy key; then the longest category name or synonym that occurs
    as whole words inside the answer ("I think it is fighting." → fighting).
    """
    line = answer.strip().splitlines()[0] if answer.strip() else ""
    cleaned = _PREFIX.sub("", line).strip().strip("\"'`*“”.").strip()
    if cleaned:
        category = taxonomy.match(cleaned)
        if category is not None:
            return category
    words = f" {' '.join(re.findall(r'[a-z0-9]+', answer.lower()))} "
    best: tuple[int, Category] | None = None
    for category in taxonomy:
        for key in category.lookup_keys():
            if f" {key} " in words and (best is None or len(key) > best[0]):
                best = (len(key), category)
    return best[1] if best else None


class LLMClassifier:
    """Asks an OpenAI-compatible chat-completions server for each caption's category.

    Requests run concurrently on a thread pool (they are I/O bound). A failed request yields a
    :class:`Prediction` with ``error`` set, so the caller can skip and report it; an answer that
    matches no category yields ``category=None`` (needs review).
    """

    def __init__(self, taxonomy: Taxonomy, config: LLMClassifierConfig | None = None, client: Any = None):
        self.taxonomy = taxonomy
        self.config = config or LLMClassifierConfig()
        self.method = f"llm:{self.config.model}"
        self._client = client

    @property
    def client(self) -> Any:
        """The ``openai.OpenAI`` client, created on first use."""
        if self._client is None:
            openai = require("openai", "llm")
            self._client = openai.OpenAI(
                base_url=self.config.base_url,
                api_key=os.environ.get(self.config.api_key_env) or "not-needed",
                timeout=self.config.timeout_s,
                max_retries=self.config.max_retries,
            )
        return self._client

    def ask(self, caption: str) -> str:
        """The server's raw answer for one caption."""
        response = self.client.chat.completions.create(
            model=self.config.model,
            messages=[{"role": "user", "content": build_prompt(caption, self.taxonomy)}],
            temperature=self.config.temperature,
            max_tokens=self.config.max_tokens,
        )
        return response.choices[0].message.content or ""

    def classify_one(self, caption: str) -> Prediction:
        openai = require("openai", "llm")
        try:
            answer = self.ask(caption)
        except (openai.OpenAIError, OSError, ValueError) as exc:  # reported per item, not fatal
            return Prediction(None, 0.0, error=f"{type(exc).__name__}: {exc}")
        category = match_answer(answer, self.taxonomy)
        if category is None:
            return Prediction(None, 0.0, answer=answer)
        # An exact answer is worth more than one we had to fish out of a sentence.
        exact = self.taxonomy.match(answer.strip().strip(".")) is category
        return Prediction(category.id, 1.0 if exact else 0.8, answer=answer)

    def classify(self, captions: Sequence[str]) -> list[Prediction]:
        if len(captions) == 0:
            return []
        workers = max(1, min(self.config.workers, len(captions)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self.classify_one, captions))
