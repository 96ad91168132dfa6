"""Shared test settings: offline, quiet, deterministic."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SVTA_QUIET", "1")
# fitted classifier heads and other caches go to a per-session folder, never the user's home
if "SVTA_CACHE_DIR" not in os.environ:
    os.environ["SVTA_CACHE_DIR"] = tempfile.mkdtemp(prefix="svta-test-cache-")
    atexit.register(shutil.rmtree, os.environ["SVTA_CACHE_DIR"], True)
