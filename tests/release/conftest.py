"""Fixtures for the release tests: a small built root with real mp4 clips and an overlap report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SIZES = {"fighting": 6, "walking": 5, "explosion": 4, "shopping": 3, "arson": 2}


@pytest.fixture(scope="session")
def built_root(tmp_path_factory) -> Path:
    """20 pairs over five categories, built (manifest + stats) once per session; tests copy it."""
    from svta.build.manifest import build_dataset
    from svta.build.stats import dataset_stats
    from svta.tables import atomic_write_json, table_path, write_table
    from svta.video_io import probe, sha256_file, write_mp4

    root = tmp_path_factory.mktemp("release_root")
    captions, videos = [], []
    for c, (category, n) in enumerate(SIZES.items()):
        for k in range(n):
            item_id = f"{category}-{k}"
            frames = np.full((4, 32, 32, 3), 20 * c + 10 * k, dtype=np.uint8)
            path = write_mp4(root / "videos" / f"{item_id}.mp4", frames, 8.0, preset="ultrafast")
            info = probe(path)
            captions.append(
                {
                    "id": item_id,
                    "caption": f"a clip of {category} number {k}",
                    "category": category,
                    "source": "template",
                }
            )
            videos.append(
                {
                    "id": item_id,
                    "path": f"videos/{item_id}.mp4",
                    "frames": info.frames,
                    "fps": info.fps,
                    "width": info.width,
                    "height": info.height,
                    "sha256": sha256_file(path),
                    "backend": "procedural",
                }
            )
    write_table(captions, table_path(root, "captions"), "captions")
    write_table(videos, table_path(root, "videos"), "videos")
    build_dataset(root, seed=0)
    dataset_stats(root)
    report = {
        "eval": {"name": "UCFCrime-AR test", "n_items": 40},
        "counts": {"exact": 1, "near": 2, "any": 3, "clean": 37},
    }
    atomic_write_json(root / "stats" / "overlap" / "ucfcrime-ar-test" / "overlap.json", report)
    return root
