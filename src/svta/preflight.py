"""Checks a stage runs before long work: weights on disk or fetchable, a GPU where one is needed, servers that
answer. Each takes seconds and raises one :class:`~svta.errors.SvtaError` line naming the fix.

Nothing here imports torch or a hub client at import time; ``svta doctor`` reports the same checks as a table.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

from svta.errors import BackendError, ConfigError

CONNECT_TIMEOUT = 3.0  # seconds: a reachable host answers a TCP connect in well under this
_TRUE = ("1", "true", "yes", "on")


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) asks for no downloads."""
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_endpoint() -> str:
    """The Hugging Face hub URL downloads go to (``HF_ENDPOINT`` or huggingface.co)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def host_port(url: str, default_port: int = 443) -> tuple[str, int]:
    """``(host, port)`` of ``url``; a bare ``host:port`` works too."""
    parsed = urlparse(url if "://" in url else f"tcp://{url}")
    default = {"http": 80, "https": 443}.get(parsed.scheme, default_port)
    return parsed.hostname or "", parsed.port or default


def reachable(url: str, timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether a TCP connection to ``url``'s host and port opens within ``timeout`` seconds."""
    host, port = host_port(url)
    if not host:
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_download(what: str, looked_in: str, url: str, fetch: str) -> None:
    """Before downloading ``what`` from ``url``: fail now when offline or when the server does not answer.

    Args:
        what: the weights, e.g. ``"OpenAI ViT-B-32 weights"``.
        looked_in: where they were looked for on disk.
        url: where they would be downloaded from.
        fetch: how to get them onto this machine.

    Raises:
        BackendError: ``HF_HUB_OFFLINE`` is set, or ``url``'s host is not reachable.
    """
    if hub_offline():
        raise BackendError(f"{what} not found in {looked_in} and HF_HUB_OFFLINE is set (no downloads); {fetch}")
    if not reachable(url):
        host, port = host_port(url)
        raise BackendError(f"{what} not found in {looked_in} and {host}:{port} does not answer; {fetch}")


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (imports torch)."""
    import torch

    return bool(torch.cuda.is_available())


def resolve_gpu_device(device: str, what: str, cpu_hint: str) -> str:
    """The device a GPU backend runs on: ``auto`` -> ``cuda``; refuses to fall back to CPU silently.

    Args:
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``.
        what: the backend, for the message.
        cpu_hint: the flag or setting that forces CPU.

    Raises:
        ConfigError: no CUDA device while ``device`` is ``auto`` or names one.
    """
    if device == "cpu":
        return device
    if not cuda_available():
        wanted = "a CUDA GPU" if device == "auto" else device
        raise ConfigError(
            f"{what} needs {wanted} and torch sees none; run on a GPU machine, or force the CPU "
            f"(very slow) with {cpu_hint}"
        )
    return "cuda" if device == "auto" else device


def require_server(url: str, what: str, fix: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Fail in seconds when nothing listens at ``url`` (an LLM server, a Ray head).

    Raises:
        BackendError: naming ``what``, the address and ``fix``.
    """
    if not reachable(url, timeout):
        host, port = host_port(url)
        raise BackendError(f"{what} at {host}:{port} does not answer (connect timed out or refused); {fix}")


RAY_PROBE_TIMEOUT = 3.0  # seconds: a Ray GCS answers one RPC in milliseconds
# A gRPC answer from a Ray head is any status but these: nobody speaks gRPC there, or not Ray's services.
_NOT_RAY = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "UNIMPLEMENTED")
_RAY_PROBE_METHOD = {
    "gcs": "/ray.rpc.NodeInfoGcsService/GetClusterId",  # a head's GCS (``host:port``, default port 6379)
    "client": "/ray.rpc.RayletDriver/ClusterInfo",  # a Ray Client server (``ray://host:port``, default 10001)
}


def ray_head_answer(address: str, timeout: float = RAY_PROBE_TIMEOUT) -> str | None:
    """Ask the Ray head at ``[ray://]host:port`` one RPC; None when it answers as Ray, else what went wrong.

    A TCP connect is not enough: any listener accepts it, and ``ray.init`` then retries for many minutes (so it
    does for a head that rejects our auth token). A real GCS (or Ray Client server) answers the RPC at once; a
    silent listener times out, a non-gRPC one fails the HTTP/2 handshake, another gRPC server does not know the
    method. The RPC carries the auth token ``ray.init`` would send, so a wrong or missing one shows here.
    """
    from svta.registry import require

    grpc = require("grpc", "ray")  # installed with ray
    kind = "client" if address.startswith("ray://") else "gcs"
    channel = grpc.insecure_channel(address.split("://", 1)[-1].rstrip("/"))
    try:
        channel.unary_unary(_RAY_PROBE_METHOD[kind])(b"", timeout=timeout, metadata=_ray_auth_metadata())
        return None
    except grpc.RpcError as exc:
        code = exc.code().name if exc.code() is not None else "UNKNOWN"
        detail = exc.details() or ""
    finally:
        channel.close()
    if code == "UNAUTHENTICATED":
        return (
            "the head rejects our auth token (missing or wrong); set RAY_AUTH_TOKEN (or ~/.ray/auth_token) to the "
            "cluster's token"
        )
    if code not in _NOT_RAY:
        return None  # Ray answered (an error status still comes from the head)
    if code == "DEADLINE_EXCEEDED":
        return f"no Ray answer within {timeout:g}s"
    if code == "UNIMPLEMENTED":
        return "a gRPC server that is not a Ray head answers there"
    if "HTTP/2" in detail or "http1" in detail:
        return "something that is not a Ray head listens there"
    return "nothing answers (connection refused or unreachable)"


def _ray_auth_metadata() -> tuple[tuple[str, str], ...]:
    """The gRPC metadata Ray's token authentication expects, from where Ray reads the token."""
    token = os.environ.get("RAY_AUTH_TOKEN", "").strip()
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or os.path.join(os.path.expanduser("~"), ".ray", "auth_token")
    if not token and os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as handle:
                token = handle.read().strip()
        except OSError:
            token = ""
    return (("authorization", f"Bearer {token}"),) if token else ()


def require_ray_head(address: str | None, timeout: float = RAY_PROBE_TIMEOUT) -> None:
    """Fail in seconds, in one line, when ``address`` (``[ray://]host:port``) is not a Ray head that answers us.

    ``None`` (start a local Ray) is not probed; ``auto`` is the address Ray itself would join (``RAY_ADDRESS``,
    else the cluster ``ray start`` recorded on this machine), and fails here when there is none.

    Raises:
        ConfigError: ``address`` is not ``[ray://]host:port``.
        BackendError: naming the address, what answered there and the fix.
    """
    if not address or address == "local":
        return
    if address == "auto":
        address = _auto_address()
    _host, sep, port = address.split("://", 1)[-1].rstrip("/").rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"engine.ray_address {address!r}: expected [ray://]host:port or auto")
    problem = ray_head_answer(address, timeout)
    if problem is None:
        return
    if "auth token" not in problem:
        problem += (
            f"; start it with `ray start --head --port={port}` (the GCS port, 6379 by default; ray:// takes the "
            "client port, 10001) or fix --ray-address / engine.ray_address"
        )
    raise BackendError(f"Ray cluster at {address}: {problem}")


def _auto_address() -> str:
    """What ``ray.init(address="auto")`` joins: ``RAY_ADDRESS``, else the head ``ray start`` recorded here."""
    address = os.environ.get("RAY_ADDRESS", "").strip()
    record = os.path.join(os.environ.get("RAY_TMPDIR", "/tmp"), "ray", "ray_current_cluster")
    if not address and os.path.isfile(record):
        with open(record, encoding="utf-8") as handle:
            address = handle.read().strip()
    if not address or address == "auto":
        raise BackendError(
            "Ray cluster at auto: no Ray cluster runs on this machine (no RAY_ADDRESS, no cluster started by "
            "`ray start`); start one with `ray start --head`, or give --ray-address HEAD:6379"
        )
    return address
