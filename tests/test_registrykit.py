"""Test registry entries last one test: the registry is put back as it was, and no test module registers at
import time (an entry registered on import leaks into every test that runs after it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from registrykit import temporarily_registered

from svta.registry import registry

TESTS = Path(__file__).resolve().parent


def _backend(config, taxonomy_path=None):
    return None


def test_an_entry_is_gone_after_the_block():
    table = registry("video_backend")
    with temporarily_registered("video_backend", "registrykit-test", _backend, "for this test") as entry:
        assert entry is _backend and table.get("registrykit-test") is _backend
        assert table.descriptions["registrykit-test"] == "for this test"
    assert "registrykit-test" not in table.entries and "registrykit-test" not in table.descriptions


def test_a_replaced_entry_comes_back():
    table = registry("video_backend")
    original, description = table.get("procedural"), table.descriptions["procedural"]
    with temporarily_registered("video_backend", "procedural", _backend):
        assert table.get("procedural") is _backend
    assert table.get("procedural") is original and table.descriptions["procedural"] == description


def test_the_fixture_registers_for_one_test(registered):
    assert registered("text_embedder", "registrykit-embedder", _backend) is _backend
    assert registry("text_embedder").get("registrykit-embedder") is _backend


def test_importing_the_test_modules_registers_nothing():
    # the modules that define test backends and embedders, imported afresh: an import-time register() shows here
    for relative in (
        "conftest.py",
        "captions/conftest.py",
        "videos/conftest.py",
        "test_pipeline.py",
        "cli/test_commands.py",
    ):
        spec = importlib.util.spec_from_file_location(f"registrykit_probe_{relative}", TESTS / relative)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    video_backends = {"scripted", "pipeline-test-failing", "cli-test-failing", "registrykit-test"}
    assert not video_backends & set(registry("video_backend").names())
    assert not {"test-hash", "registrykit-embedder"} & set(registry("text_embedder").names())
