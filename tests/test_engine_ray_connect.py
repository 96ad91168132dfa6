"""Connecting to Ray fails fast, in one line naming the address and the fix; a head lost mid-run ends the
run in one line with exit code 3."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from svta import engine
from svta.engine import EngineConfig, RayClusterLost, connect_ray, run_items
from svta.errors import BackendError, ConfigError
from svta.progress import set_verbose


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


class _Listener:
    """A local TCP server that is no Ray head: it accepts and stays silent, or answers like a web server."""

    def __init__(self, reply: bytes | None = None):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.reply, self.conns = reply, []
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply is not None:
                conn.sendall(self.reply)
                conn.close()

    def close(self):
        self.server.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture
def quick_head_checks(monkeypatch):
    monkeypatch.setattr("svta.preflight.RAY_PROBE_TIMEOUT", 1.0)


def test_unreachable_address_fails_in_seconds_without_calling_ray():
    port = _closed_port()
    fake = _FakeRay()
    start = time.perf_counter()
    with pytest.raises(BackendError) as caught:
        connect_ray(fake, f"127.0.0.1:{port}")
    message = str(caught.value)
    assert time.perf_counter() - start < 5 and not fake.calls
    assert f"127.0.0.1:{port}" in message and "ray start --head" in message and "\n" not in message


@pytest.mark.parametrize("reply", [None, b"HTTP/1.1 400 Bad Request\r\n\r\n"], ids=["silent", "web-server"])
def test_a_listener_that_is_no_ray_head_fails_in_seconds(reply):
    listener = _Listener(reply)
    fake = _FakeRay()
    start = time.perf_counter()
    try:
        with pytest.raises(BackendError) as caught:
            connect_ray(fake, listener.address)
    finally:
        listener.close()
    message = str(caught.value)
    assert time.perf_counter() - start < 6 and not fake.calls
    assert message.startswith(f"Ray cluster at {listener.address}: ") and "\n" not in message
    assert ("no Ray answer within 3s" if reply is None else "not a Ray head") in message


def test_the_real_ray_is_never_reached_for_a_dead_address():
    ray = pytest.importorskip("ray")
    port = _closed_port()
    with pytest.raises(BackendError, match=f"Ray cluster at ray://127.0.0.1:{port}: nothing answers"):
        connect_ray(ray, f"ray://127.0.0.1:{port}")
    assert not ray.is_initialized()


def test_an_address_without_a_port_is_a_config_error():
    with pytest.raises(ConfigError, match="expected"):
        connect_ray(_FakeRay(), "head")


def test_auth_token_failure_is_one_line():
    with pytest.raises(BackendError) as caught:
        connect_ray(_FakeRay(AuthenticationError("Unauthenticated: token mismatch\nlong details")), None)
    message = str(caught.value)
    assert "auth token" in message and "RAY_AUTH_TOKEN" in message and "\n" not in message


def test_no_running_cluster_for_auto(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    monkeypatch.setattr("svta.preflight.ray_head_answer", lambda address, timeout=3.0: None)  # gone since
    error = ConnectionError("Could not find any running Ray instance. Please specify the one to connect to")
    with pytest.raises(BackendError, match=r"Ray cluster at auto: .*ray start --head"):
        connect_ray(_FakeRay(error), "auto")


def test_other_errors_pass_through_and_ray_logs_only_when_verbose(monkeypatch):
    with pytest.raises(ValueError, match="bad option"):
        connect_ray(_FakeRay(ValueError("bad option")), None)
    monkeypatch.setattr("svta.preflight.ray_head_answer", lambda address, timeout=3.0: None)  # a head answers
    fake = _FakeRay()
    connect_ray(fake, "10.0.0.5:6379")
    set_verbose(True)
    try:
        connect_ray(fake, "10.0.0.5:6379")
    finally:
        set_verbose(False)
    quiet, verbose = fake.calls
    assert quiet["address"] == "10.0.0.5:6379"
    assert (quiet["log_to_driver"], quiet["logging_level"]) == (False, logging.ERROR)
    assert (verbose["log_to_driver"], verbose["logging_level"]) == (True, logging.INFO)


class _LostHeadRay:
    """A connected ``ray`` whose head answers ``answered`` results, then dies (its GCS port refuses)."""

    class exceptions:  # noqa: N801 - mirrors ray.exceptions
        class RayActorError(Exception):
            pass

    def __init__(self, answered: int):
        self.answered, self.results = answered, {}
        self.gcs = f"127.0.0.1:{_closed_port()}"

    def is_initialized(self):
        return True

    def get_runtime_context(self):
        return type("Context", (), {"gcs_address": self.gcs})()

    def remote(self, cls):
        ray = self

        class Actor:
            def __init__(self):
                self.run = type("Method", (), {"remote": staticmethod(lambda items: ray._submit(items))})()

        class Handle:
            def options(self, **_):
                return self

            def remote(self, *_):
                return Actor()

        return Handle()

    def _submit(self, items):
        ref = object()
        self.results[ref] = ([2 * i for i in items], 0.0)
        return ref

    def wait(self, refs, num_returns, timeout):
        if self.answered == 0:
            return [], refs
        self.answered -= 1
        return refs[:1], refs[1:]

    def get(self, ref):
        return self.results[ref]

    def kill(self, actor):
        raise AssertionError("a lost head has no actors to kill")


def test_a_lost_head_ends_the_run_in_one_line_with_exit_3(monkeypatch):
    fake = _LostHeadRay(answered=3)
    monkeypatch.setattr(engine, "require", lambda module, extra: fake)
    monkeypatch.setattr(engine, "RAY_LOST_AFTER_S", 0.2)
    kept = []
    start = time.perf_counter()
    with pytest.raises(RayClusterLost) as caught:
        run_items(list(range(10)), lambda: None, EngineConfig(name="ray", workers=1), on_outcome=kept.append)
    message = str(caught.value)
    assert time.perf_counter() - start < 10 and caught.value.exit_code == 3 and "\n" not in message
    assert len(kept) == 3 and f"the Ray head at {fake.gcs} stopped answering" in message
    assert "after 3 of 10 item(s) done (0 failed, 7 not run)" in message and "rerun to finish" in message


def test_the_cli_prints_one_line_and_exits_3_when_the_head_is_lost(monkeypatch, capsys, tmp_path):
    from svta.cli.main import main

    def lost(*args, **kwargs):
        raise RayClusterLost("the Ray head at 10.0.0.5:6379 stopped answering (nothing answers): ... rerun to finish")

    monkeypatch.setattr("svta.cli.annotate.stage_setup", lost)
    assert main(["annotate", "classify", "--root", str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("incomplete: the Ray head at 10.0.0.5:6379 stopped answering")


def test_videos_on_a_listener_that_is_no_ray_head_write_nothing(tmp_path, capsys):
    from svta.cli.main import main
    from svta.tables import table_path, write_table

    write_table(
        [{"id": "a", "caption": "A man falls off a ladder.", "source": "test"}],
        table_path(tmp_path, "captions"),
        "captions",
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    listener = _Listener(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    start = time.perf_counter()
    try:
        argv = ["videos", "generate", "--root", str(tmp_path), "--engine", "ray", "--ray-address", listener.address]
        code = main(argv)
    finally:
        listener.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and time.perf_counter() - start < 10
    assert len(err) == 1 and f"Ray cluster at {listener.address}: something that is not a Ray head" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no svta.yaml, no videos/


class _TokenGcs:
    """A gRPC server answering Ray's GetClusterId like a head with token authentication."""

    def __init__(self, token: str):
        from concurrent.futures import ThreadPoolExecutor

        import grpc

        def get_cluster_id(request, context):
            if ("authorization", f"Bearer {token}") not in context.invocation_metadata():
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "InvalidAuthToken")
            return b""

        handler = grpc.method_handlers_generic_handler(
            "ray.rpc.NodeInfoGcsService", {"GetClusterId": grpc.unary_unary_rpc_method_handler(get_cluster_id)}
        )
        self.server = grpc.server(ThreadPoolExecutor(2), handlers=[handler])
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.server.start()


def test_a_head_that_rejects_our_token_fails_in_seconds(monkeypatch, tmp_path):
    gcs = _TokenGcs("right")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "none"))
    try:
        monkeypatch.setenv("RAY_AUTH_TOKEN", "wrong")
        with pytest.raises(BackendError, match=f"Ray cluster at {gcs.address}: the head rejects our auth token"):
            connect_ray(_FakeRay(), gcs.address)
        monkeypatch.setenv("RAY_AUTH_TOKEN", "right")
        fake = _FakeRay()
        connect_ray(fake, gcs.address)
        assert fake.calls[0]["address"] == gcs.address
    finally:
        gcs.server.stop(None)


def test_auto_without_a_cluster_on_this_machine_fails_before_ray(monkeypatch, tmp_path):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    fake = _FakeRay()
    with pytest.raises(BackendError, match="Ray cluster at auto: no Ray cluster runs on this machine"):
        connect_ray(fake, "auto")
    (tmp_path / "ray").mkdir()
    port = _closed_port()
    (tmp_path / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{port}\n")
    with pytest.raises(BackendError, match=f"Ray cluster at 127.0.0.1:{port}: nothing answers"):
        connect_ray(fake, "auto")
    assert not fake.calls
