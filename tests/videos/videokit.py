"""Helpers of the video tests (a module of its own: test modules import it by name, unlike a conftest)."""

from __future__ import annotations

from pathlib import Path

from svta.tables import write_table


def write_captions(root: Path, captions: list[tuple[str, str | None]]) -> list[str]:
    """Write ``captions.parquet`` with ids c000, c001, ...; returns the ids."""
    rows = [
        {"id": f"c{i:03d}", "caption": text, "category": cat, "source": "test", "seed": i}
        for i, (text, cat) in enumerate(captions)
    ]
    write_table(rows, root / "captions.parquet", "captions")
    return [r["id"] for r in rows]
