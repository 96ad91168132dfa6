"""Fixtures for the annotation tests: a shared MiniLM classifier and a root of known captions."""

from __future__ import annotations

from pathlib import Path

import pytest
from annotatekit import known_pairs, write_captions


@pytest.fixture(scope="session")
def minilm_classifier():
    """One MiniLM classifier for the session (loading the model takes seconds)."""
    from svta.annotate.classifiers import MiniLMClassifier
    from svta.taxonomy import default_taxonomy

    return MiniLMClassifier(default_taxonomy())


@pytest.fixture
def caption_root(tmp_path: Path) -> Path:
    """A root whose captions are the known ones: even ones carry their category, odd ones none."""
    rows = []
    for index, (caption, category) in enumerate(known_pairs()):
        rows.append({"id": f"c{index:02d}", "caption": caption, "category": category if index % 2 == 0 else None})
    write_captions(tmp_path, rows)
    return tmp_path


@pytest.fixture(scope="session")
def head_classifier():
    """One ``minilm-head`` classifier with the default config (fitted heads are cached on disk)."""
    from svta.annotate.head import MiniLMHeadClassifier
    from svta.taxonomy import default_taxonomy

    return MiniLMHeadClassifier(default_taxonomy())
