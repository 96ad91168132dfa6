"""Shared test settings: offline, quiet, deterministic."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SVTA_QUIET", "1")
# fitted classifier heads and other caches go to a per-session folder, never the user's home
os.environ.setdefault("SVTA_CACHE_DIR", tempfile.mkdtemp(prefix="svta-test-cache-"))
