"""Fixtures for the reader tests: tiny distinct clips and a UCFCrime-AR spreadsheet laid out as the
public UCF-Crime archive ships its videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# (name as the spreadsheet writes it, caption); the folder each video sits in inside the archive.
UCF_TEST = [
    ("Abuse/Abuse028_x264.mp4\n", "A man in a hat beat a white dog in the yard with a stick.", "Anomaly-Videos-Part-1"),
    (
        "RoadAccidents/RoadAccidents010_x264.mp4\n",
        "A white car ran a red light and hit a motorcycle.",
        "Anomaly-Videos-Part-3",
    ),
    (
        "Shoplifting/Shoplifting005_x264.mp4\n",
        "A woman slipped a bottle of perfume into her handbag.",
        "Anomaly-Videos-Part-4",
    ),
    ("Testing_Normal_Videos_Anomaly/Normal_Videos_003_x264.mp4\n", "Customers walk slowly between the shelves.", ""),
    ("Normal_Videos_014_x264.mp4\n", "People cross a hall at a train station.", "Testing_Normal_Videos_Anomaly"),
]


def clip(seed: int, frames: int = 4, size: int = 16) -> np.ndarray:
    """``[frames, size, size, 3]`` uint8 blocky noise, distinct per seed."""
    rng = np.random.default_rng(seed)
    return np.kron(rng.integers(0, 256, size=(frames, size // 4, size // 4, 3)), np.ones((1, 4, 4, 1))).astype(np.uint8)


def write_archive(folder: Path, rows: list[tuple[str, str, str]] = UCF_TEST) -> Path:
    """The UCF-Crime videos of ``rows`` nested as the archive nests them, beside ``ucf_crime_test.xlsx``."""
    import openpyxl

    from svta.video_io import write_mp4

    for i, (name, _, part) in enumerate(rows):
        write_mp4(folder / part / name.strip(), clip(i), fps=8, preset="ultrafast")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Video Name", "Chinese Text", "English Text"])
    for name, caption, _ in rows:
        sheet.append([name, "中文", caption])
    folder.mkdir(parents=True, exist_ok=True)
    book.save(folder / "ucf_crime_test.xlsx")
    return folder
