"""Helpers for the dataset tests: a small root of captions with real (tiny) mp4 files."""

from __future__ import annotations

import shutil
from pathlib import Path

from svta.tables import table_path, write_table

# category → number of captions; includes the rare cases the split must handle (1 and 2 items)
CATEGORY_SIZES = {"fighting": 10, "walking": 10, "explosion": 6, "shopping": 5, "smoke": 2, "arson": 1}


def make_root(root: Path, video_bank: list[Path], sizes: dict[str, int] = CATEGORY_SIZES) -> Path:
    """captions.parquet + videos/ + videos.parquet: ids ``<category>-<n>``, every caption has a video."""
    from svta.video_io import probe, sha256_file

    captions, videos = [], []
    index = 0
    for category, n in sizes.items():
        for k in range(n):
            item_id = f"{category}-{k}"
            captions.append(
                {
                    "id": item_id,
                    "caption": f"a video of {category} number {k} " + "word " * (k % 4),
                    "category": category,
                    "source": "test",
                }
            )
            dest = root / "videos" / f"{item_id}.mp4"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(video_bank[index % len(video_bank)], dest)
            info = probe(dest)
            videos.append(
                {
                    "id": item_id,
                    "path": f"videos/{item_id}.mp4",
                    "frames": info.frames,
                    "fps": info.fps,
                    "width": info.width,
                    "height": info.height,
                    "sha256": sha256_file(dest),
                    "backend": "test",
                }
            )
            index += 1
    write_table(captions, table_path(root, "captions"), "captions")
    write_table(videos, table_path(root, "videos"), "videos")
    return root
