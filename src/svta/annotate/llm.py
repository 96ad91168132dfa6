"""The LLM category classifier: an OpenAI-compatible chat server is asked, with the SVTA paper's
prompt constrained to the taxonomy's names, which category a caption belongs to; the answer is
fuzzy-matched back to a category, and an answer that names none is left for human review.

Requests go through the shared :mod:`svta.llm` client (retries, timeouts, API key). Every transport or
parse failure (a 5xx, an HTML page with status 200, a body that is not a chat completion, an empty
answer) fails that caption only: it is reported, left unlabelled and retried by the next run.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svta.annotate.classifiers import Prediction
from svta.annotate.config import LLMClassifierConfig
from svta.llm import ChatClient, ChatError, ChatReply, ChatSettings, UsageLog, check_reachable, run_sync

if TYPE_CHECKING:
    from svta.taxonomy import Category, Taxonomy

USAGE_FILE = "labels.llm_usage.json"
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

    Up to ``config.workers`` requests run at once (asyncio; they are I/O bound). A caption whose
    request fails for good yields a :class:`Prediction` with ``error`` set (skipped, reported and
    retried by the next run); an answer that matches no category yields ``category=None`` (needs
    review). A server that refuses connections or rejects the key raises :class:`~svta.llm.ChatError`.

    Args:
        taxonomy: The categories to choose from.
        config: Server, model and request settings.
        client: An ``openai.AsyncOpenAI``-like transport to use instead of building one (tests).
    """

    def __init__(self, taxonomy: Taxonomy, config: LLMClassifierConfig | None = None, client: Any = None):
        self.taxonomy = taxonomy
        self.config = config or LLMClassifierConfig()
        self.settings = ChatSettings.of(self.config)
        self.method = f"llm:{self.config.model}"
        # Labels are committed in parts of this many captions: a crash loses at most one part of answers.
        self.commit_every = 4 * max(1, self.config.workers)
        self.counts: Counter[str] = Counter()  # requests, retries, timeouts, malformed_http, http_<status>
        self.usage: UsageLog | None = None
        self._transport = client
        self._checked = client is not None

    def attach_root(self, root: Path) -> None:
        """Record token usage in ``<root>/labels.llm_usage.json`` (accumulated across runs)."""
        self.usage = UsageLog(Path(root) / USAGE_FILE, self.config.model, self.config.base_url, group_key=None)

    def classify(self, captions: Sequence[str]) -> list[Prediction]:
        """One prediction per caption, in order."""
        if len(captions) == 0:
            return []
        if not self._checked:  # a dead server is named at once, not after every caption's retries
            check_reachable(self.settings.base_url, self.settings.connect_timeout_s)
            self._checked = True
        try:
            return run_sync(self._classify_all(list(captions)))
        finally:
            if self.usage is not None:
                self.usage.save(force=True)

    async def _classify_all(self, captions: list[str]) -> list[Prediction]:
        client = ChatClient(self.settings, transport=self._transport)
        slots = asyncio.Semaphore(max(1, self.config.workers))

        async def one(caption: str) -> Prediction:
            async with slots:
                return await self._classify_one(client, caption)

        try:
            async with client:
                return list(await asyncio.gather(*(one(caption) for caption in captions)))
        finally:
            self.counts.update(client.counts)

    async def _classify_one(self, client: ChatClient, caption: str) -> Prediction:
        messages = [{"role": "user", "content": build_prompt(caption, self.taxonomy)}]
        try:
            reply = await client.complete(
                messages, temperature=self.config.temperature, max_tokens=self.config.max_tokens
            )
        except ChatError as exc:
            if exc.fatal:
                raise
            return Prediction(None, 0.0, error=str(exc))
        if self.usage is not None and reply.usage:
            self.usage.add(reply.usage)
        return self.prediction_of(reply)

    def prediction_of(self, reply: ChatReply) -> Prediction:
        """The prediction an answer makes: a category, ``None`` (needs review) or an error (retry later)."""
        answer = (reply.content or "").strip()
        if reply.refused:
            return Prediction(None, 0.0, answer=answer or "(refused)")
        if not answer:
            return Prediction(None, 0.0, error=f"empty answer (finish_reason {reply.finish_reason!r})")
        category = match_answer(answer, self.taxonomy)
        if category is None:
            return Prediction(None, 0.0, answer=answer)
        # An exact answer is worth more than one we had to fish out of a sentence.
        exact = self.taxonomy.match(answer.strip(".")) is category
        return Prediction(category.id, 1.0 if exact else 0.8, answer=answer)
