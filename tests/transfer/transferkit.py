"""Fixtures for the transfer tests: UCFCrime-AR spreadsheets and UCA JSON in the released formats, a small
UCF-Crime-like video folder (distinct textured clips), and training roots with planted overlaps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# (UCF-Crime relative name, English caption) in the released layout; the names end in the stray newline
# most released names carry.
UCF_ROWS = [
    ("Abuse/Abuse028_x264.mp4\n", "A man in a hat beat a white dog in the yard with a stick outside the railing."),
    (
        "Arrest/Arrest001_x264.mp4\n",
        ("Police officers pushed a man in a black coat to the ground next to a car and handcuffed him."),
    ),
    (
        "Explosion/Explosion002_x264.mp4\n",
        ("A gas tank exploded at a roadside station,\nsending flames and black smoke into the sky."),
    ),
    (
        "RoadAccidents/RoadAccidents010_x264.mp4\n",
        ("A white car ran a red light and crashed into a motorcycle at the intersection."),
    ),
    (
        "Testing_Normal_Videos_Anomaly/Normal_Videos_003_x264.mp4\n",
        ("Customers walk slowly between the shelves of a supermarket."),
    ),
    (
        "Shoplifting/Shoplifting005_x264.mp4\n",
        ("A woman slipped a bottle of perfume into her handbag while the clerk looked away."),
    ),
    (
        "Fighting/Fighting014_x264.mp4\n",
        ("Two young men punch each other in front of a bar until a guard pulls them apart."),
    ),
    ("Burglary/Burglary021_x264.mp4\n", "A masked person climbs through the back window of a house at night."),
]
VERBATIM = 0  # planted word for word in the training data
PARAPHRASED = 3  # planted as a paraphrase
PARAPHRASE = "At the intersection, a white car ran the red light and hit a motorcycle."
UNRELATED = [
    "a person is cooking pasta in a kitchen",
    "two kids play football on a grass field",
    "A car drives down an empty highway at night.",
    "A man walks his bicycle across a bridge in the rain.",
    "Children are running around a playground at school.",
    "A woman paints a fence in her garden on a sunny day.",
]


def textured_clip(seed: int, frames: int = 16, size: int = 32) -> np.ndarray:
    """``[frames, size, size, 3]`` uint8: blocky noise (robust to resizing) drifting one pixel per frame."""
    rng = np.random.default_rng(seed)
    base = np.kron(rng.integers(0, 256, size=(size // 4 + 2, size // 4 + 2, 3)), np.ones((4, 4, 1)))
    return np.stack([base[t % 4 : t % 4 + size, :size] for t in range(frames)]).astype(np.uint8)


def write_ucf_videos(folder: Path, names: list[str], frames: int = 16, size: int = 32, seed: int = 0) -> list[Path]:
    """Write one distinct clip per UCF-Crime name, nested the way the public archive nests them."""
    from svta.video_io import write_mp4

    paths = []
    for i, name in enumerate(names):
        name = name.strip()
        path = folder / ("Anomaly-Videos-Part-1/" + name if "Normal" not in name else name)
        write_mp4(path, textured_clip(seed + i, frames, size), fps=8, preset="ultrafast")
        paths.append(path)
    return paths


def write_sheet(
    path: Path, rows: list[tuple], columns: tuple[str, ...] = ("Video Name", "Chinese Text", "English Text")
) -> Path:
    """A UCFCrime-AR spreadsheet (``.xlsx`` via openpyxl, or ``.csv``) with ``rows`` of (name, english)."""
    records = [{"Video Name": name, "Chinese Text": "中文描述", "English Text": text} for name, text in rows]
    table = [[record.get(c) for c in columns] for record in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        import csv

        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(table)
        return path
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(columns))
    for row in table:
        sheet.append(row)
    book.save(path)
    return path


def write_uca(path: Path, videos: dict[str, list[tuple[float, float, str]]], duration: float = 5.0) -> Path:
    """UCA JSON: ``{video: {"duration", "timestamps": [[s, e]], "sentences": [...]}}``."""
    data = {
        name: {
            "duration": duration,
            "timestamps": [[s, e] for s, e, _ in rows],
            "sentences": [text for _, _, text in rows],
        }
        for name, rows in videos.items()
    }
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def write_training_root(
    root: Path, captions: list[str], videos: list[np.ndarray] | None = None, category: str = "fighting"
) -> Path:
    """A built training root: ``manifest.parquet`` (all train split) and, optionally, one video per caption."""
    from svta.tables import write_table
    from svta.video_io import write_mp4

    rows = []
    for i, caption in enumerate(captions):
        path = f"videos/train-{i:03d}.mp4"
        if videos is not None:
            write_mp4(root / path, videos[i], fps=8, preset="ultrafast")
        rows.append(
            {
                "id": f"train-{i:03d}",
                "caption": caption,
                "category": category,
                "is_anomaly": True,
                "path": path,
                "split": "train",
                "source": "test",
            }
        )
    write_table(rows, root / "manifest.parquet", "manifest")
    return root


def write_caption_root(root: Path, captions: list[str], category: str = "fighting") -> Path:
    """An unbuilt root: ``captions.parquet`` + ``videos.parquet`` + one tiny mp4 per caption (``svta build`` input)."""
    from svta.tables import table_path, write_table
    from svta.video_io import write_mp4

    caption_rows, video_rows = [], []
    for i, caption in enumerate(captions):
        item_id, path = f"cap-{i:03d}", f"videos/cap-{i:03d}.mp4"
        write_mp4(root / path, textured_clip(200 + i, frames=4, size=16), fps=8, preset="ultrafast")
        caption_rows.append({"id": item_id, "caption": caption, "category": category, "source": "test"})
        video_rows.append(
            {
                "id": item_id,
                "path": path,
                "frames": 4,
                "fps": 8.0,
                "width": 16,
                "height": 16,
                "sha256": f"{i:064d}",
                "backend": "test",
            }
        )
    write_table(caption_rows, table_path(root, "captions"), "captions")
    write_table(video_rows, table_path(root, "videos"), "videos")
    return root


def load_ucfcrime_ar(sheet, videos=None, **options):
    """A UCFCrime-AR spreadsheet through the ``ucfcrime-ar`` reader (the tests' shorthand)."""
    from svta.datasets import read_dataset

    return read_dataset("ucfcrime-ar", sheet, videos=videos, **options)


def load_uca(path, videos=None, **options):
    """A UCA JSON through the ``uca`` reader."""
    from svta.datasets import read_dataset

    return read_dataset("uca", path, videos=videos, **options)
