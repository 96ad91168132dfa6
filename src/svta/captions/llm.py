"""The ``openai`` caption backend: the paper's prompt sent to any OpenAI-compatible chat server (vLLM,
Ollama, llama.cpp, OpenAI) through the shared :mod:`svta.llm` client, with bounded asyncio concurrency,
refusal and malformed-answer handling, token accounting, and per-answer atomic commits through the sink.
A request that fails all its attempts leaves its category short; the other categories go on.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from svta.captions.base import CAPTION_BACKENDS, CaptionDraft, CaptionSink, CategoryJob
from svta.captions.config import CaptionsConfig, OpenAIBackendConfig
from svta.captions.llm_parse import parse_reply
from svta.llm import ChatClient, ChatError, ChatReply, ChatSettings, UsageLog, check_reachable, run_sync
from svta.progress import info, warn
from svta.tables import stable_id

USAGE_FILE = "captions.llm_usage.json"
REJECTS_FILE = "captions.llm_rejects.jsonl"


def render_prompt(config: OpenAIBackendConfig, name: str, description: str, kind: str, n: int) -> str:
    """The user message for ``n`` captions of a category (the anomaly or the normal template)."""
    template = config.prompt_template if kind == "anomaly" else config.normal_prompt_template
    return template.format(category=name, description=description, n=n)


@dataclass
class _Answer:
    category_id: str
    reply: ChatReply | None = None  # None: the request failed all its attempts
    error: str = ""


@dataclass
class _State:
    job: CategoryJob
    in_flight: int = 0  # captions asked for by requests not yet answered
    launched: int = 0
    failed: str = ""  # the last error of a request that failed all its attempts: no more requests


def _answered(state: _State, asked: int, _task: asyncio.Task[_Answer]) -> None:
    state.in_flight -= asked


@CAPTION_BACKENDS.register("openai", "any OpenAI-compatible chat server: vLLM, Ollama, llama.cpp, OpenAI")
class OpenAICaptionBackend:
    """Asks an LLM for captions per category until each reaches its target of unique, valid ones."""

    source = "openai"

    def __init__(self, config: CaptionsConfig, seed: int):
        self.config = config.openai
        self.seed = seed

    def check(self) -> None:
        """Fail within seconds, naming the URL, when the server does not accept connections."""
        check_reachable(self.config.base_url, ChatSettings.of(self.config).connect_timeout_s)

    def generate(self, jobs: Sequence[CategoryJob], sink: CaptionSink) -> dict[str, Any]:
        """Run every job against the server; returns counters (requests, retries, refusals, tokens,
        ``gave_up``: captions short per category, ``failed``: the error that stopped a category).

        Raises:
            ChatError: The server cannot be reached or refuses every request alike (bad key, unknown model).
        """
        return run_sync(_Run(self.config, self.seed, sink).run(jobs))


class _Run:
    """One generation run: the scheduler and the answer handling (the client does the retrying)."""

    def __init__(self, config: OpenAIBackendConfig, seed: int, sink: CaptionSink):
        self.config, self.seed, self.sink = config, seed, sink
        self.usage = UsageLog(sink.root / USAGE_FILE, config.model, config.base_url)
        self.rejects_path = sink.root / REJECTS_FILE
        self.counts: Counter[str] = Counter()
        self.client = ChatClient(ChatSettings.of(config), seed, on_malformed=self._log_malformed)
        self.names: dict[str, str] = {}
        self.flushed_at = time.monotonic()

    async def run(self, jobs: Sequence[CategoryJob]) -> dict[str, Any]:
        self.names = {job.category.id: job.category.name for job in jobs}
        states = [_State(job) for job in jobs if self.sink.remaining(job.category.id) > 0]
        try:
            async with self.client:
                await self._schedule(states)
        finally:
            self.sink.flush()
            self.usage.save(force=True)
            self.counts.update(self.client.counts)
        gave_up = {s.job.category.id: self.sink.remaining(s.job.category.id) for s in states}
        gave_up = {cid: left for cid, left in gave_up.items() if left > 0}
        failed = {s.job.category.id: s.failed for s in states if s.failed and s.job.category.id in gave_up}
        for cid, left in gave_up.items():
            why = failed.get(cid) or f"after {self.config.max_rounds} requests"
            warn(f"openai: category {cid!r} stopped {left} short: {why}")
        return {**dict(self.counts), "gave_up": gave_up, "failed": failed, "tokens": self.usage.data["total_tokens"]}

    async def _schedule(self, states: list[_State]) -> None:
        pending: set[asyncio.Task[_Answer]] = set()
        try:
            while True:
                self._launch(states, pending)
                if not pending:
                    return
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    self._handle(task.result(), states)
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    def _launch(self, states: list[_State], pending: set[asyncio.Task[_Answer]]) -> None:
        """Fill free request slots round-robin over the categories that still need captions."""
        launched = True
        while launched and len(pending) < self.config.concurrency:
            launched = False
            for state in states:
                if len(pending) >= self.config.concurrency:
                    return
                unasked = self.sink.remaining(state.job.category.id) - state.in_flight
                if unasked <= 0 or state.failed or state.launched >= self.config.max_rounds:
                    continue
                n = min(self.config.batch_size, unasked)
                state.in_flight += n
                state.launched += 1
                task = asyncio.create_task(self._ask(state, n, state.launched))
                task.add_done_callback(functools.partial(_answered, state, n))
                pending.add(task)
                launched = True

    def _messages(self, state: _State, n: int) -> list[dict[str, str]]:
        category = state.job.category
        prompt = render_prompt(self.config, category.name, category.description, category.kind, n)
        recent = (
            self.sink.recent.get(category.id, [])[-self.config.avoid_examples :] if self.config.avoid_examples else []
        )
        if recent:
            prompt += "\nDo not repeat these, which are already written:\n" + "\n".join(f"- {c}" for c in recent)
        messages = [{"role": "user", "content": prompt}]
        if self.config.system_prompt:
            messages.insert(0, {"role": "system", "content": self.config.system_prompt})
        return messages

    async def _ask(self, state: _State, n: int, round_index: int) -> _Answer:
        """One request for ``n`` captions; a request that fails all its attempts is an answer with an error."""
        category_id = state.job.category.id
        request_seed = int(stable_id(self.seed, category_id, round_index, length=8), 16) % 2**31
        try:
            reply = await self.client.complete(
                self._messages(state, n),
                temperature=self.config.temperature,
                max_tokens=self.config.max_tokens,
                seed=request_seed,
            )
        except ChatError as exc:
            if exc.fatal:
                raise
            return _Answer(category_id, error=str(exc))
        return _Answer(category_id, reply)

    def _handle(self, answer: _Answer, states: list[_State]) -> None:
        """Parse an answer and commit its captions; refusals and unusable answers are logged, not stored."""
        category_id, reply = answer.category_id, answer.reply
        if reply is None:
            self.counts["failed_requests"] += 1
            for state in states:
                if state.job.category.id == category_id:
                    state.failed = answer.error
            return
        if reply.usage:
            self.usage.add(reply.usage, category_id)
        parsed = parse_reply(reply.content)
        items = list(parsed.items)
        if reply.finish_reason == "length" and parsed.format == "list" and items:
            items.pop()  # cut off mid-sentence by max_tokens
        if reply.refused or parsed.refusal or not items:
            kind = "refusal" if reply.refused or parsed.refusal else "malformed"
            self.counts[kind] += 1
            self._log_reject(category_id, kind, reply.content or "")
            self.usage.save()
            return
        self._commit(category_id, items)

    def _commit(self, category_id: str, items: list[str]) -> None:
        tags = (self.names.get(category_id, category_id),)
        drafts = [CaptionDraft(text, tags, self.config.model) for text in items]
        stats = self.sink.commit(category_id, drafts, flush=False)
        for key in ("accepted", "duplicates", "invalid", "surplus"):
            self.counts[key] += getattr(stats, key)
        complete = self.sink.remaining(category_id) == 0
        # One part per answer would cap a fast server at the disk's fsync rate; batch them in time.
        if complete or time.monotonic() - self.flushed_at >= self.config.commit_interval_s:
            self.sink.flush()
            self.flushed_at = time.monotonic()
        self.usage.save()
        if complete:
            info(f"openai: {category_id} complete ({self.sink.targets[category_id]})")

    def _log_malformed(self, detail: str) -> None:
        self._log_reject(None, "malformed_http", detail)

    def _log_reject(self, category_id: str | None, kind: str, content: str) -> None:
        record = {"time": time.time(), "category": category_id, "kind": kind, "content": content[:2000]}
        with open(self.rejects_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
