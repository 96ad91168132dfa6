"""One client for OpenAI-compatible chat servers (vLLM, Ollama, llama.cpp, OpenAI), shared by the caption
backend and the LLM classifier: the API key from the environment, a quick reachability check, connect and
read timeouts, one retry policy (timeouts, 429, 5xx, unparsable bodies; backoff with jitter) and token usage.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from svta.errors import BackendError
from svta.progress import warn
from svta.registry import require
from svta.tables import atomic_write_json

T = TypeVar("T")
# A request the server refuses for these reasons fails the same way every time: retrying cannot help.
FATAL_STATUS = (400, 401, 403, 404, 422)
LOCAL_API_KEY = "EMPTY"  # local servers (vLLM, Ollama, llama.cpp) accept any key


@dataclass(frozen=True)
class ChatSettings:
    """Where the server is and how patiently to talk to it.

    Attributes:
        base_url: The server's OpenAI-compatible root, e.g. ``http://localhost:8000/v1``.
        model: The model name on that server.
        api_key_env: Environment variable holding the API key (unset: a placeholder key).
        timeout_s: Seconds a request may take (the model's generation time included).
        connect_timeout_s: Seconds to open a connection; a dead host is reported after this, not ``timeout_s``.
        max_retries: Extra attempts per request after a timeout, 429, 5xx or unparsable body.
        backoff_s: First retry delay; doubles each retry (with jitter), capped at ``backoff_max_s``.
        backoff_max_s: The longest wait between attempts (a ``Retry-After`` header is honoured up to it).
    """

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 60.0
    connect_timeout_s: float = 5.0
    max_retries: int = 2
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0

    @classmethod
    def of(cls, config: Any) -> ChatSettings:
        """Settings from a stage's config section: every field it has with the same name."""
        names = [f.name for f in fields(cls)]
        return cls(**{name: getattr(config, name) for name in names if hasattr(config, name)})

    @property
    def api_key(self) -> str:
        return os.environ.get(self.api_key_env) or LOCAL_API_KEY


@dataclass
class ChatReply:
    """One chat completion's answer.

    Attributes:
        content: The message text (``None`` when the model sent none).
        finish_reason: ``stop``, ``length`` (cut off by ``max_tokens``), ``content_filter``, ...
        refused: The server flagged a refusal (a ``refusal`` field or the content filter).
        usage: ``prompt_tokens`` and ``completion_tokens`` when the server reports them.
    """

    content: str | None
    finish_reason: str | None = None
    refused: bool = False
    usage: dict[str, int] = field(default_factory=dict)


class ChatError(BackendError):
    """A request failed for good: ``fatal`` when no later request can succeed either (bad key, unknown
    model, server down), else after all its attempts."""

    def __init__(self, message: str, fatal: bool = False):
        super().__init__(message)
        self.fatal = fatal


def check_reachable(base_url: str, timeout_s: float = 5.0, refused_only: bool = False) -> None:
    """Open (and close) a TCP connection to the server, so a dead one is named within seconds.

    Args:
        base_url: The server's URL.
        timeout_s: Seconds to wait for the connection.
        refused_only: Only a refused connection is an error (mid-run, a slow accept is no proof of death).

    Raises:
        ChatError: (fatal) connection refused; unless ``refused_only``, also no answer within
            ``timeout_s`` or an unknown host.
    """
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise ChatError(f"{base_url!r} is not a server URL; expected e.g. http://localhost:8000/v1", fatal=True)
    if _behind_proxy(parts.scheme, parts.hostname):
        return  # requests go through the proxy: a direct connection says nothing about the server
    port = parts.port or (443 if parts.scheme == "https" else 80)
    hint = "is the server running? Start it or point --base-url at a running one"
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return
    except ConnectionRefusedError:
        raise ChatError(f"connection refused at {base_url}: {hint}", fatal=True) from None
    except OSError as exc:
        if not refused_only:
            raise ChatError(_connect_failure(base_url, parts.hostname, timeout_s, exc, hint), fatal=True) from None


def _connect_failure(base_url: str, host: str, timeout_s: float, exc: OSError, hint: str) -> str:
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host {host!r} of {base_url}: {exc.strerror}"
    if isinstance(exc, TimeoutError):
        return f"no answer from {base_url} within {timeout_s:g}s: {hint}"
    return f"cannot connect to {base_url}: {exc.strerror or exc}: {hint}"


def _behind_proxy(scheme: str, host: str) -> bool:
    proxies = urllib.request.getproxies()
    return bool(proxies.get(scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(host)


def reply_of(response: Any) -> ChatReply:
    """The answer inside a chat-completion response object.

    Raises:
        ValueError: The body is not a chat completion (a proxy's HTML page, text, no choices).
    """
    if isinstance(response, str | bytes):  # the SDK hands back non-JSON bodies as text
        text = response.decode(errors="replace") if isinstance(response, bytes) else response
        raise ValueError(f"expected a chat completion, got text: {' '.join(text.split())[:200]!r}")
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise ValueError(f"chat completion without choices: {str(response)[:200]!r}")
    choice = choices[0]
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None)
    if content is not None and not isinstance(content, str):
        raise ValueError(f"message content is {type(content).__name__}, not text")
    finish = getattr(choice, "finish_reason", None)
    refused = bool(getattr(message, "refusal", None)) or finish == "content_filter"
    return ChatReply(content, finish, refused, _usage_of(getattr(response, "usage", None)))


def _usage_of(usage: Any) -> dict[str, int]:
    if usage is None:
        return {}
    try:
        return {
            "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
            "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
        }
    except (TypeError, ValueError):
        return {}


class ChatClient:
    """Chat completions with the retry policy; use as ``async with ChatClient(settings) as client``.

    Args:
        settings: Server, model, timeouts and retry policy.
        seed: Seed of the backoff jitter.
        transport: An ``openai.AsyncOpenAI``-like object to use instead of building one (tests).
        on_malformed: Called with a short description of every unparsable 200 body (for a rejects log).

    :attr:`counts` holds ``requests``, ``retries``, ``timeouts``, ``connection_errors``,
    ``malformed_http`` and ``http_<status>`` counters.
    """

    def __init__(
        self,
        settings: ChatSettings,
        seed: int = 0,
        transport: Any = None,
        on_malformed: Callable[[str], None] | None = None,
    ):
        self.settings = settings
        self.counts: Counter[str] = Counter()
        self.on_malformed = on_malformed
        self._rng = random.Random(f"svta-llm-backoff:{seed}")
        self._transport = transport
        self._owned = transport is None

    async def __aenter__(self) -> ChatClient:
        if self._transport is None:
            self._transport = self._build()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._owned and self._transport is not None:
            await self._transport.close()
            self._transport = None

    def _build(self) -> Any:
        openai = require("openai", "llm")
        s = self.settings
        # openai.Timeout is the timeout class of the HTTP library this openai release is built on (httpx or,
        # since openai 3.x, httpx2); another library's Timeout is refused.
        timeout = openai.Timeout(s.timeout_s, connect=min(s.connect_timeout_s, s.timeout_s))
        # Retries are ours (one policy, counted, jittered), not the SDK's.
        return openai.AsyncOpenAI(base_url=s.base_url, api_key=s.api_key, timeout=timeout, max_retries=0)

    async def complete(self, messages: list[dict[str, str]], **params: Any) -> ChatReply:
        """One chat completion, retried on timeouts, 429, 5xx, dropped connections and unparsable bodies.

        Args:
            messages: The chat messages.
            **params: Request fields (``temperature``, ``max_tokens``, ``seed``, ...).

        Raises:
            ChatError: ``fatal`` for 400/401/403/404/422 and a server that refuses connections;
                otherwise after the last attempt failed (no wait after it).
        """
        openai = require("openai", "llm")
        if self._transport is None:
            raise RuntimeError("ChatClient.complete outside 'async with ChatClient(...)'")
        s, last = self.settings, ""
        for attempt in range(s.max_retries + 1):
            self.counts["requests"] += 1
            if attempt:
                self.counts["retries"] += 1
            try:
                response = await self._transport.chat.completions.create(model=s.model, messages=messages, **params)
                return reply_of(response)
            except (ValueError, TypeError, AttributeError, openai.OpenAIError) as exc:
                last, retry_after = await self._failure(exc)
            if attempt < s.max_retries:
                await asyncio.sleep(self.backoff(attempt, retry_after))
        raise ChatError(f"{s.base_url}: gave up after {s.max_retries + 1} attempt(s); last error: {last}")

    async def _failure(self, exc: Exception) -> tuple[str, float | None]:
        """Count one failed attempt and describe it (with the server's Retry-After); raise when it is fatal."""
        openai = require("openai", "llm")
        s = self.settings
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status in FATAL_STATUS:
                raise ChatError(f"{s.base_url}: model {s.model!r}: HTTP {status}: {exc.message}", fatal=True) from None
            self.counts[f"http_{status}"] += 1
            return f"HTTP {status}: {exc.message}", _retry_after(exc)
        if isinstance(exc, openai.APITimeoutError):  # before APIConnectionError, its base class
            self.counts["timeouts"] += 1
            return f"no answer within {s.timeout_s:g}s", None
        if isinstance(exc, openai.APIConnectionError):
            self.counts["connection_errors"] += 1
            # A server that went away refuses connections: say so now instead of after every backoff.
            await asyncio.to_thread(check_reachable, s.base_url, s.connect_timeout_s, True)
            return f"connection error: {exc}", None
        if isinstance(exc, (ValueError, TypeError, AttributeError, openai.APIResponseValidationError)):
            self.counts["malformed_http"] += 1
            if self.on_malformed is not None:
                self.on_malformed(str(exc)[:500])
            return f"malformed response: {exc}", None
        self.counts["errors"] += 1  # anything else the SDK raises: retried like a bad body
        return f"{type(exc).__name__}: {exc}", None

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``attempt + 1``: doubling, jittered, at least ``Retry-After``."""
        s = self.settings
        delay = min(s.backoff_max_s, s.backoff_s * 2**attempt)
        delay *= 0.5 + 0.5 * self._rng.random()  # jitter, so parallel requests do not retry in lockstep
        if retry_after is not None:
            delay = max(delay, min(retry_after, s.backoff_max_s))
        return delay


def _retry_after(exc: Any) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


class UsageLog:
    """Token usage accumulated across runs in a JSON file (written atomically, at most once a second).

    Holds ``model``, ``base_url`` (of the latest run), ``requests``, ``prompt_tokens``,
    ``completion_tokens``, ``total_tokens`` and the same counters per group (e.g. per category).
    """

    def __init__(self, path: Path, model: str, base_url: str, group_key: str | None = "by_category"):
        self.path, self.group_key = path, group_key
        self.data: dict[str, Any] = {
            "model": model,
            "base_url": base_url,
            "requests": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "total_tokens": 0,
        }
        if group_key is not None:
            self.data[group_key] = {}
        if path.exists():
            try:
                self.data.update(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                warn(f"{path}: unreadable token-usage file; starting a new one")
        self.data.update(model=model, base_url=base_url)  # the latest run's server; totals span all runs
        self._saved_at = 0.0

    def add(self, usage: dict[str, int], group: str | None = None) -> None:
        """Count one answered request and its tokens (under ``group`` too, when given)."""
        targets = [self.data]
        if group is not None and self.group_key is not None:
            per_group = self.data.setdefault(self.group_key, {})
            targets.append(per_group.setdefault(group, {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}))
        for target in targets:
            target["requests"] += 1
            for key in ("prompt_tokens", "completion_tokens"):
                target[key] += usage.get(key, 0)
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
