"""Where video backends live: ``svta.videos.base`` is the contract (request, protocol, registry, builder);
``svta.videos.builtin_backends`` is the stage's plug-in module whose import registers the shipped backends."""

from __future__ import annotations

import importlib

from svta.stages import stage
from svta.videos import base


def test_the_stage_plugin_module_registers_the_shipped_backends():
    assert stage("videos").plugins == ("svta.videos.builtin_backends",)
    importlib.import_module("svta.videos.builtin_backends")
    assert {"procedural", "wan"} <= set(base.VIDEO_BACKENDS.entries)


def test_the_contract_module_builds_a_registered_backend(small):
    backend = base.build_backend("procedural", small)
    assert backend.fps > 0 and base.VIDEO_BACKENDS.kind == "video_backend"
    request = base.VideoRequest(id="c000", caption="A person walks in the park.", category="walking", seed=1)
    (clip,) = backend.generate([request])
    assert clip.shape == (small.frames, small.height, small.width, 3)
