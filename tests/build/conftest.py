"""Fixtures for the dataset tests: a session bank of tiny mp4 files and a build-able root."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from datasetkit import make_root


@pytest.fixture(scope="session")
def video_bank(tmp_path_factory) -> list[Path]:
    """40 distinct 4-frame 32x32 mp4 files, encoded once per session."""
    from svta.video_io import write_mp4

    folder = tmp_path_factory.mktemp("video_bank")
    paths = []
    for i in range(40):
        frames = np.zeros((4, 32, 32, 3), dtype=np.uint8)
        frames[..., i % 3] = 40 + 5 * i
        frames[:, : 8 + (i % 20)] = 255 - 5 * i
        paths.append(write_mp4(folder / f"v{i}.mp4", frames, 8.0, preset="ultrafast"))
    return paths


@pytest.fixture
def dataset_root(tmp_path, video_bank) -> Path:
    return make_root(tmp_path / "root", video_bank)


@pytest.fixture
def built_root(dataset_root) -> Path:
    from svta.build.manifest import build_dataset

    build_dataset(dataset_root, seed=0)
    return dataset_root
