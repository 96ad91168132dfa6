"""Running the search app under uvicorn: in the foreground for ``svta search serve``, or in a background
thread on a free loopback port for tests and benchmarks.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from svta.errors import ConfigError
from svta.registry import require
from svta.search.config import SearchConfig
from svta.search.encoders import Encoder


def build_app(index_dir: Path | str, config: SearchConfig | None = None, encoder: Encoder | None = None) -> Any:
    """Load the index at ``index_dir`` (and its encoder) and return the FastAPI app serving it."""
    require("fastapi", "search")
    from svta.search.app import create_app
    from svta.search.searcher import Searcher

    config = config or SearchConfig()
    return create_app(Searcher.open(index_dir, encoder, config), config)


def _uvicorn_config(app: Any, config: SearchConfig, host: str, port: int, log_level: str) -> Any:
    uvicorn = require("uvicorn", "search")
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        server_header=False,
        limit_concurrency=config.limit_concurrency,
        timeout_keep_alive=5,
        # a request head (target + headers) over this is refused by the HTTP parser itself
        h11_max_incomplete_event_size=max(16384, 4 * config.max_url_bytes),
    )


def serve(
    index_dir: Path | str, config: SearchConfig | None = None, encoder: Encoder | None = None, log_level: str = "info"
) -> None:
    """Serve the index at ``index_dir`` on ``config.host:config.port`` until interrupted (``svta search serve``)."""
    config = config or SearchConfig()
    app = build_app(index_dir, config, encoder)
    server = require("uvicorn", "search").Server(_uvicorn_config(app, config, config.host, config.port, log_level))
    server.run()


class BackgroundServer:
    """uvicorn in a daemon thread on a free port of ``host``; a context manager yielding the base URL.

    Args:
        app: an ASGI app (e.g. from :func:`build_app`).
        config: server limits.
        host: interface to bind (loopback by default).
    """

    def __init__(
        self, app: Any, config: SearchConfig | None = None, host: str = "127.0.0.1", log_level: str = "warning"
    ):
        uvicorn = require("uvicorn", "search")
        self.server = uvicorn.Server(_uvicorn_config(app, config or SearchConfig(), host, 0, log_level))
        self.thread = threading.Thread(target=self.server.run, name="svta-search-server", daemon=True)
        self.url = ""

    def start(self, timeout_s: float = 20.0) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError("the search server did not start")
            time.sleep(0.02)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
