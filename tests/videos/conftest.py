"""Fixtures of the video tests: a dataset root with captions, small clip settings, and test backends."""

from __future__ import annotations

import numpy as np
import pytest

from svta.videos.base import VIDEO_BACKENDS
from svta.videos.config import VideosConfig


class ScriptedBackend:
    """A test backend: clips are solid colours chosen per caption, with failures on demand.

    Captions containing ``fail-once`` fail on their first attempt (per worker), ``fail-always``
    on every attempt, ``black`` give black frames, ``frozen`` a still picture, ``same`` one fixed clip.
    """

    name = "scripted"
    fps = 4.0

    def __init__(self, config, taxonomy_path=None):
        self.frames, self.size = config.frames, config.width
        self.seen: set[str] = set()

    def generate(self, requests):
        out = []
        for r in requests:
            if "fail-always" in r.caption or ("fail-once" in r.caption and r.id not in self.seen):
                self.seen.add(r.id)
                out.append(RuntimeError(f"scripted failure for {r.id}"))
                continue
            rng = np.random.default_rng(0 if "same" in r.caption else r.seed)
            clip = rng.integers(0, 256, (self.frames, self.size, self.size, 3), dtype=np.uint8)
            if "black" in r.caption:
                clip[:] = 0
            if "frozen" in r.caption:
                clip[:] = clip[0]
            out.append(clip)
        return out

    def describe(self):
        return {"scripted": True}


@pytest.fixture
def scripted_backend(registered):
    """The ``scripted`` video backend, registered for one test."""
    registered(VIDEO_BACKENDS.kind, "scripted", ScriptedBackend, "test backend")


@pytest.fixture
def small() -> VideosConfig:
    """Tiny clips: 6 frames of 32x32, one commit per 2 clips."""
    return VideosConfig(frames=6, width=32, height=32, commit_every=2)
