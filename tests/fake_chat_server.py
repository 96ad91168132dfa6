"""A test double: a real chat-completions HTTP server on loopback that writes numbered caption lists
and injects faults (slow answers, 429, 500, malformed JSON, an HTML page with status 200, refusals,
duplicates). The caption and classifier tests and ``benchmarks/captions.py`` use it in place of an LLM.
"""

from __future__ import annotations

import json
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("ok", "slow", "429", "500", "401", "malformed", "html", "refusal", "garbage", "duplicates", "json")
_ASK = re.compile(r"category:\s*(.+?)\.\s*Continue generating\s+(\d+)", re.IGNORECASE | re.DOTALL)
_COLOURS = ("red", "blue", "green", "yellow", "black", "white", "orange", "purple", "grey", "brown")
_PLACES = ("street", "park", "parking lot", "subway station", "supermarket", "office", "beach", "gym")
_TIMES = ("morning", "afternoon", "evening", "night", "dawn", "noon")
Responder = Callable[[dict[str, Any]], "str | int | bytes"]


class FakeChatServer:
    """Chat-completions on ``127.0.0.1:<port>/v1`` in a background thread.

    Args:
        latency_s: Delay before every answer (a model's generation time).
        script: Faults for the first requests, in order (see :data:`FAULTS`); then ``ok``.
        fault_rates: Probability of each fault for requests after the script (seeded).
        slow_s: How long a ``slow`` answer takes (set it above the client's timeout).
        seed: Seed of the fault draws and of the generated text.
        responder: For other clients than the caption backend: maps an ``ok`` request's JSON body to
            the answer's content, to an HTTP status to fail with, or to bytes sent as a 200 HTML page.

    Use as a context manager; :attr:`url` is the ``base_url`` to give the client; :attr:`requests`
    holds every chat request (``{"path", "body"}``) in arrival order.
    """

    def __init__(
        self,
        latency_s: float = 0.0,
        script: Sequence[str] = (),
        fault_rates: dict[str, float] | None = None,
        slow_s: float = 5.0,
        seed: int = 0,
        responder: Responder | None = None,
    ):
        unknown = [f for f in [*script, *(fault_rates or {})] if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {FAULTS}")
        self.latency_s, self.slow_s = latency_s, slow_s
        self.script = list(script)
        self.fault_rates = dict(fault_rates or {})
        self.rng = random.Random(seed)
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.served: list[str] = []  # every caption text sent in a non-duplicate answer
        self.in_flight = 0
        self.max_in_flight = 0
        self._counter = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeChatServer:
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-chat-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_fault(self) -> str:
        with self.lock:
            if self.script:
                return self.script.pop(0)
            draw = self.rng.random()
            for fault, rate in self.fault_rates.items():
                if draw < rate:
                    return fault
                draw -= rate
            return "ok"

    def make_captions(self, category: str, n: int, duplicates: bool) -> list[str]:
        """``n`` captions; with ``duplicates`` half of them repeat earlier answers."""
        with self.lock:
            reused = self.rng.sample(self.served, min(len(self.served), n // 2 or 1)) if duplicates else []
            fresh = []
            for _ in range(n - len(reused)):
                self._counter += 1
                k, r = self._counter, self.rng
                fresh.append(
                    f"A person wearing {r.choice(_COLOURS)} is seen {category} in the {r.choice(_PLACES)} "
                    f"at {r.choice(_TIMES)}, take {k}."
                )
            self.served.extend(fresh)
            return [*reused, *fresh]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the listen backlog: the default 5 resets bursts of new connections

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed mid-request (the kill-and-rerun test does it on purpose) is not an error here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeChatServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid the 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests and benchmarks read counters instead

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "svta"}]})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        state = self.server_state
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        fault = state.next_fault()
        with state.lock:
            state.requests.append({"path": self.path, "body": body})
            state.counts[fault] += 1
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            time.sleep(state.slow_s if fault == "slow" else state.latency_s)
            self._answer(fault, body)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _answer(self, fault: str, body: dict[str, Any]) -> None:
        if fault == "429":
            self._send(429, {"error": {"message": "rate limited", "type": "rate_limit"}}, {"Retry-After": "0"})
            return
        if fault == "401":
            self._send(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
            return
        if fault == "500":
            self._send(500, {"error": {"message": "internal error"}})
            return
        if fault == "malformed":
            self._send_raw(200, b'{"id": "x", "choices": [{"message": {"content": "1. trunc', "application/json")
            return
        if fault == "html":  # a proxy in front of the model answering 200 with its error page
            self._send_raw(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            return
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        if fault == "ok" and self.server_state.responder is not None:
            answer = self.server_state.responder(body)
            if isinstance(answer, bytes):  # a raw page with status 200, as a proxy in front of the model sends
                self._send_raw(200, answer, "text/html")
            elif isinstance(answer, int):
                self._send(answer, {"error": {"message": "fake failure"}})
            else:
                self._send(200, _completion(body.get("model", "fake"), answer, prompt))
            return
        match = _ASK.search(prompt)
        category, n = (match.group(1).strip(), int(match.group(2))) if match else ("something", 5)
        if fault == "refusal":
            content = "I'm sorry, but I can't help with that request."
        elif fault == "garbage":
            content = "Sure! Here are some ideas for your dataset, let me know if you need more."
        else:
            captions = self.server_state.make_captions(category, n, duplicates=fault == "duplicates")
            if fault == "json":
                content = json.dumps({"prompts": captions})
            else:
                content = "Here are the prompts:\n" + "\n".join(f"{i}. {c}" for i, c in enumerate(captions, 1))
        self._send(200, _completion(body.get("model", "fake"), content, prompt))

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_raw(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout is shorter than a "slow" answer)


def _completion(model: str, content: str, prompt: str) -> dict[str, Any]:
    prompt_tokens, completion_tokens = len(prompt.split()), len(content.split())
    return {
        "id": f"chatcmpl-{random.getrandbits(48):x}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
