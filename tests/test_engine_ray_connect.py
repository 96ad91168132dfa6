"""Connecting to Ray fails fast, in one line naming the address and the fix."""

from __future__ import annotations

import socket
import time

import pytest

from svta.engine import _ray_host_port, connect_ray
from svta.errors import BackendError


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _FakeRay:
    """Stands in for the ``ray`` module: ``init`` raises what a real cluster would."""

    def __init__(self, error: BaseException | None = None):
        self.error, self.calls = error, []

    def init(self, **kwargs):
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error


class AuthenticationError(Exception):
    """Same name as ``ray.exceptions.AuthenticationError`` (matched by name, so ray need not import)."""


def test_unreachable_address_fails_in_seconds_without_calling_ray():
    port = _closed_port()
    fake = _FakeRay()
    start = time.perf_counter()
    with pytest.raises(BackendError) as caught:
        connect_ray(fake, f"127.0.0.1:{port}")
    message = str(caught.value)
    assert time.perf_counter() - start < 5 and not fake.calls
    assert f"127.0.0.1:{port}" in message and "ray start --head" in message and "\n" not in message


def test_the_real_ray_is_never_reached_for_a_dead_address():
    ray = pytest.importorskip("ray")
    port = _closed_port()
    with pytest.raises(BackendError, match=f"Ray cluster at ray://127.0.0.1:{port}: cannot connect"):
        connect_ray(ray, f"ray://127.0.0.1:{port}")
    assert not ray.is_initialized()


def test_auth_token_failure_is_one_line():
    with pytest.raises(BackendError) as caught:
        connect_ray(_FakeRay(AuthenticationError("Unauthenticated: token mismatch\nlong details")), None)
    message = str(caught.value)
    assert "auth token" in message and "RAY_AUTH_TOKEN" in message and "\n" not in message


def test_no_running_cluster_for_auto():
    error = ConnectionError("Could not find any running Ray instance. Please specify the one to connect to")
    with pytest.raises(BackendError, match=r"Ray cluster at auto: .*ray start --head"):
        connect_ray(_FakeRay(error), "auto")


def test_other_errors_pass_through_and_a_good_address_connects():
    with pytest.raises(ValueError, match="bad option"):
        connect_ray(_FakeRay(ValueError("bad option")), None)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        fake = _FakeRay()
        connect_ray(fake, f"127.0.0.1:{server.getsockname()[1]}")
    assert fake.calls and fake.calls[0]["address"].startswith("127.0.0.1:")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (None, None),
        ("auto", None),
        ("10.0.0.5:6379", ("10.0.0.5", 6379)),
        ("ray://head:10001", ("head", 10001)),
        ("[::1]:6379", ("::1", 6379)),
        ("head", None),
    ],
)
def test_host_port_of_addresses(address, expected):
    assert _ray_host_port(address) == expected
