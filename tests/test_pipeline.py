"""The pipeline runner: inputs checked before the root is touched, and a stage whose items fail is kept but
not recorded as finished, so a rerun retries it."""

from __future__ import annotations

import json

import pytest

from svta.config import load_config
from svta.errors import ConfigError
from svta.pipeline import STATE_FILE, run_pipeline, shortfall
from svta.videos.base import VIDEO_BACKENDS


class _NoClips:
    """A video backend whose every clip fails."""

    name = "pipeline-test-failing"
    fps = 4.0

    def __init__(self, config, taxonomy_path=None):
        pass

    def generate(self, requests):
        return [RuntimeError("no clip") for _ in requests]

    def describe(self):
        return {}


@pytest.fixture
def no_clips_backend(registered):
    registered(VIDEO_BACKENDS.kind, _NoClips.name, _NoClips, "test backend: every clip fails")


def _config(root, *overrides):
    return load_config(
        overrides=[
            "captions.per_category=1",
            "captions.categories=[fighting, walking]",
            "videos.frames=4",
            "videos.width=32",
            "videos.height=32",
            *overrides,
        ],
        root=root,
    )


def test_a_stage_with_failed_items_is_kept_but_not_recorded_as_done(tmp_path, no_clips_backend):
    config = _config(tmp_path / "root", f"videos.backend={_NoClips.name}")
    result = run_pipeline(config, stages=["captions", "videos"])
    assert result.ran == ["captions", "videos"] and result.incomplete == {"videos": "2 clip(s) failed"}
    state = json.loads((tmp_path / "root" / STATE_FILE).read_text())
    assert state["captions"]["done"] is True and state["videos"]["done"] is False
    again = run_pipeline(config, stages=["captions", "videos"])
    assert again.skipped == ["captions"] and again.ran == ["videos"]  # the rerun retries the failed stage


def test_unknown_names_fail_before_the_root_is_touched(tmp_path):
    root = tmp_path / "root"
    for override, message in (
        ("videos.backend=nosuch", "videos.backend: unknown video_backend 'nosuch'"),
        ("annotate.classifier=nosuch", "annotate.classifier: unknown category_classifier"),
        ("models=[nosuch]", "models: unknown retrieval_model 'nosuch'"),
    ):
        with pytest.raises(ConfigError, match=message):
            run_pipeline(_config(root, override))
        assert not root.exists()
    with pytest.raises(ConfigError, match="unknown stage"):
        run_pipeline(_config(root), stages=["captions", "paint"])
    assert not root.exists()


def test_shortfall_reads_each_stage_summary():
    assert shortfall("captions", {"complete": False, "total": 3, "target": 4}) == "3/4 captions"
    assert shortfall("captions", {"complete": True}) is None
    assert shortfall("annotate", {"classify": {"failed": [["c1", "timeout"]]}}) == "1 caption(s) not classified"
    assert shortfall("build", {"build": {"skipped": []}}) is None
    assert shortfall("build", {"build": {"skipped": [["c1", "no video"]]}}) == "1 caption(s) left out of the manifest"
