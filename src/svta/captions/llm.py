"""The ``openai`` caption backend: the paper's prompt sent to any OpenAI-compatible chat server (vLLM,
Ollama, llama.cpp, OpenAI) with bounded asyncio concurrency, retries with backoff, refusal and
malformed-answer handling, token accounting, and per-answer atomic commits through the sink.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from svta.captions.base import CAPTION_BACKENDS, CaptionDraft, CaptionSink, CategoryJob
from svta.captions.config import CaptionsConfig, OpenAIBackendConfig
from svta.captions.llm_parse import parse_reply
from svta.errors import BackendError
from svta.progress import info, warn
from svta.registry import require
from svta.tables import atomic_write_json, stable_id

T = TypeVar("T")
USAGE_FILE = "captions.llm_usage.json"
REJECTS_FILE = "captions.llm_rejects.jsonl"
_FATAL_STATUS = (400, 401, 403, 404, 422)


def render_prompt(config: OpenAIBackendConfig, name: str, description: str, kind: str, n: int) -> str:
    """The user message for ``n`` captions of a category (the anomaly or the normal template)."""
    template = config.prompt_template if kind == "anomaly" else config.normal_prompt_template
    return template.format(category=name, description=description, n=n)


@dataclass
class _Reply:
    category_id: str
    asked: int
    content: str | None = None
    finish_reason: str | None = None
    refused: bool = False
    usage: dict[str, int] = field(default_factory=dict)


@dataclass
class _State:
    job: CategoryJob
    in_flight: int = 0  # captions asked for by requests not yet answered
    launched: int = 0


class UsageLog:
    """Token usage accumulated across runs in ``<root>/captions.llm_usage.json`` (written atomically)."""

    def __init__(self, path: Path, model: str, base_url: str):
        self.path = path
        self.data: dict[str, Any] = {"model": model, "base_url": base_url, "requests": 0, "prompt_tokens": 0,
                                     "completion_tokens": 0, "total_tokens": 0, "by_category": {}}  # fmt: skip
        if path.exists():
            try:
                self.data.update(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                warn(f"{path}: unreadable token-usage file; starting a new one")
        self.data.update(model=model, base_url=base_url)  # the latest run's server; totals span all runs
        self._saved_at = 0.0

    def add(self, category_id: str, usage: dict[str, int]) -> None:
        per = self.data["by_category"].setdefault(
            category_id, {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
        )
        self.data["requests"] += 1
        per["requests"] += 1
        for key in ("prompt_tokens", "completion_tokens"):
            self.data[key] += usage.get(key, 0)
            per[key] += usage.get(key, 0)
        self.data["total_tokens"] = self.data["prompt_tokens"] + self.data["completion_tokens"]

    def save(self, force: bool = False) -> None:
        # At most once a second while running: an fsync per answer would cap the request rate.
        if force or time.monotonic() - self._saved_at > 1.0:
            atomic_write_json(self.path, self.data)
            self._saved_at = time.monotonic()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, in a helper thread when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="svta-llm")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


@CAPTION_BACKENDS.register("openai", "any OpenAI-compatible chat server: vLLM, Ollama, llama.cpp, OpenAI")
class OpenAICaptionBackend:
    """Asks an LLM for captions per category until each reaches its target of unique, valid ones."""

    source = "openai"

    def __init__(self, config: CaptionsConfig, seed: int):
        self.config = config.openai
        self.seed = seed

    def generate(self, jobs: Sequence[CategoryJob], sink: CaptionSink) -> dict[str, Any]:
        """Run every job against the server; returns counters (requests, retries, refusals, tokens, ...)."""
        from svta.preflight import require_server

        if any(job.need > 0 for job in jobs):  # seconds, not minutes of retries, when nothing listens
            require_server(self.config.base_url, "the LLM server",
                           "start it (e.g. `vllm serve MODEL`) or set captions.openai.base_url")
        return run_sync(_Run(self.config, self.seed, sink).run(jobs))


class _Run:
    """One generation run: the scheduler, the request/retry loop and the answer handling."""

    def __init__(self, config: OpenAIBackendConfig, seed: int, sink: CaptionSink):
        self.config, self.seed, self.sink = config, seed, sink
        self.rng = random.Random(f"svta-llm-backoff:{seed}")
        self.usage = UsageLog(sink.root / USAGE_FILE, config.model, config.base_url)
        self.rejects_path = sink.root / REJECTS_FILE
        self.counts: Counter[str] = Counter()
        self.client: Any = None
        self.names: dict[str, str] = {}
        self.flushed_at = time.monotonic()

    async def run(self, jobs: Sequence[CategoryJob]) -> dict[str, Any]:
        openai = require("openai", "llm")
        api_key = os.environ.get(self.config.api_key_env) or "EMPTY"  # local servers accept any key
        self.client = openai.AsyncOpenAI(
            base_url=self.config.base_url, api_key=api_key, timeout=self.config.timeout_s, max_retries=0
        )
        self.names = {job.category.id: job.category.name for job in jobs}
        states = [_State(job) for job in jobs if self.sink.remaining(job.category.id) > 0]
        try:
            await self._schedule(states)
        finally:
            self.sink.flush()
            self.usage.save(force=True)
            await self.client.close()
        gave_up = {s.job.category.id: self.sink.remaining(s.job.category.id) for s in states}
        gave_up = {cid: left for cid, left in gave_up.items() if left > 0}
        for cid, left in gave_up.items():
            warn(f"openai: category {cid!r} stopped {left} short after {self.config.max_rounds} requests")
        return {**dict(self.counts), "gave_up": gave_up, "tokens": self.usage.data["total_tokens"]}

    async def _schedule(self, states: list[_State]) -> None:
        pending: set[asyncio.Task[_Reply]] = set()
        try:
            while True:
                self._launch(states, pending)
                if not pending:
                    return
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    self._handle(task.result())
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    def _launch(self, states: list[_State], pending: set[asyncio.Task[_Reply]]) -> None:
        """Fill free request slots round-robin over the categories that still need captions."""
        launched = True
        while launched and len(pending) < self.config.concurrency:
            launched = False
            for state in states:
                if len(pending) >= self.config.concurrency:
                    return
                unasked = self.sink.remaining(state.job.category.id) - state.in_flight
                if unasked <= 0 or state.launched >= self.config.max_rounds:
                    continue
                n = min(self.config.batch_size, unasked)
                state.in_flight += n
                state.launched += 1
                task = asyncio.create_task(self._ask(state, n, state.launched))
                task.add_done_callback(lambda _t, s=state, k=n: setattr(s, "in_flight", s.in_flight - k))
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

    async def _ask(self, state: _State, n: int, round_index: int) -> _Reply:
        """One request for ``n`` captions, retried on timeouts, 429, 5xx and unparsable bodies."""
        openai = require("openai", "llm")
        category_id = state.job.category.id
        request_seed = int(stable_id(self.seed, category_id, round_index, length=8), 16) % 2**31
        last: str = ""
        for attempt in range(self.config.max_retries + 1):
            self.counts["requests"] += 1
            if attempt:
                self.counts["retries"] += 1
            try:
                response = await self.client.chat.completions.create(
                    model=self.config.model,
                    messages=self._messages(state, n),
                    temperature=self.config.temperature,
                    max_tokens=self.config.max_tokens,
                    seed=request_seed,
                )
                return _reply_of(category_id, n, response)
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status in _FATAL_STATUS:
                    raise BackendError(
                        f"{self.config.base_url}: model {self.config.model!r}: HTTP {status}: {exc.message}"
                    ) from None
                self.counts[f"http_{status}"] += 1
                last, delay = f"HTTP {status}: {exc.message}", _retry_after(exc)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                self.counts["timeouts" if isinstance(exc, openai.APITimeoutError) else "connection_errors"] += 1
                last, delay = type(exc).__name__, None
            except (ValueError, TypeError, openai.APIResponseValidationError) as exc:
                # a 200 whose body is not chat-completion JSON (truncated, HTML from a proxy, ...)
                self.counts["malformed_http"] += 1
                self._log_reject(category_id, "malformed_http", str(exc)[:500])
                last, delay = f"malformed response: {exc}", None
            await asyncio.sleep(self._backoff(attempt, delay))
        raise BackendError(
            f"{self.config.base_url}: gave up after {self.config.max_retries + 1} attempts; last error: {last}"
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        delay = min(self.config.backoff_max_s, self.config.backoff_s * 2**attempt)
        delay *= 0.5 + 0.5 * self.rng.random()  # jitter, so parallel requests do not retry in lockstep
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.config.backoff_max_s))
        return delay

    def _handle(self, reply: _Reply) -> None:
        """Parse an answer and commit its captions; refusals and unusable answers are logged, not stored."""
        category_id = reply.category_id
        if reply.usage:
            self.usage.add(category_id, reply.usage)
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

    def _log_reject(self, category_id: str, kind: str, content: str) -> None:
        record = {"time": time.time(), "category": category_id, "kind": kind, "content": content[:2000]}
        with open(self.rejects_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def _reply_of(category_id: str, asked: int, response: Any) -> _Reply:
    if isinstance(response, str | bytes):  # some servers answer 200 with a non-JSON body
        raise TypeError(f"expected a chat completion, got text: {str(response)[:200]!r}")
    choices = getattr(response, "choices", None) or []
    if not choices:
        raise ValueError("chat completion without choices")
    choice = choices[0]
    message = choice.message
    usage = getattr(response, "usage", None)
    tokens = (
        {"prompt_tokens": int(usage.prompt_tokens or 0), "completion_tokens": int(usage.completion_tokens or 0)}
        if usage
        else {}
    )
    refused = bool(getattr(message, "refusal", None)) or choice.finish_reason == "content_filter"
    return _Reply(category_id, asked, message.content, choice.finish_reason, refused, tokens)


def _retry_after(exc: Any) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None
