"""Shared test settings (offline, quiet, deterministic) and ``registered``: registry entries for one test."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from registrykit import temporarily_registered

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SVTA_QUIET", "1")
# fitted classifier heads and other caches go to a per-session folder, never the user's home
if "SVTA_CACHE_DIR" not in os.environ:
    os.environ["SVTA_CACHE_DIR"] = tempfile.mkdtemp(prefix="svta-test-cache-")
    atexit.register(shutil.rmtree, os.environ["SVTA_CACHE_DIR"], True)


@pytest.fixture
def registered() -> Iterator[Callable[..., Any]]:
    """``registered(kind, name, obj, description="")``: a registry entry for this test only."""
    with contextlib.ExitStack() as stack:

        def register(kind: str, name: str, obj: Any, description: str = "") -> Any:
            return stack.enter_context(temporarily_registered(kind, name, obj, description))

        yield register
