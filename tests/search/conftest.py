"""Fixtures of the search tests (helpers live in ``searchkit``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from searchkit import CLIPS, ColourEncoder, make_root


@pytest.fixture(scope="module")
def colour_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(root, index_dir)`` built once per test module with the colour encoder."""
    from svta.search.build import build_index
    from svta.search.config import SearchConfig

    base = tmp_path_factory.mktemp("search")
    root = make_root(base / "root")
    index_dir = base / "index"
    report = build_index(root, index_dir, ColourEncoder(), SearchConfig(batch_size=4, commit_every=4))
    assert report.added == len(CLIPS) and not report.failed
    return root, index_dir
