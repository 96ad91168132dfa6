"""Cost of the video stage's part-commit interval (``videos.commit_every`` / ``videos.commit_seconds``):
a crash of the driver loses at most the clips rendered since the last committed part, and each part costs
one atomic Parquet write now and one file to merge at the end.

Two measurements, one process: (1) ``svta videos generate`` on procedural 96x96x16 clips with the interval
at 1, 4, 16 and 64 clips (wall time per clip and the overhead against the largest interval); (2) the
commit itself, isolated: ``--rows`` video rows appended to a part table in parts of each size, then merged.
The committing code is the driver's, so the local and Ray engines pay the same.

    .venv/bin/python benchmarks/commit_interval.py [--clips 48 --rows 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

INTERVALS = (1, 4, 16, 64)


def write_captions(root: Path, count: int) -> None:
    from svta.tables import write_table
    from svta.taxonomy import default_taxonomy

    categories = list(default_taxonomy().ids())[:8]
    rows = [
        {
            "id": f"c{i:05d}",
            "caption": f"a person walks past a parked car, take {i}",
            "category": categories[i % len(categories)],
            "tags": [],
            "source": "benchmark",
            "source_ref": None,
            "seed": i,
        }
        for i in range(count)
    ]
    write_table(rows, root / "captions.parquet", "captions")


def generate_seconds(base: Path, clips: int, every: int) -> float:
    from svta.videos.config import VideosConfig
    from svta.videos.generate import generate_videos

    root = base / f"every-{every}"
    root.mkdir()
    write_captions(root, clips)
    config = VideosConfig(width=96, height=96, frames=16, fps=8.0, commit_every=every, commit_seconds=3600.0)
    start = time.perf_counter()
    result = generate_videos(root, config)
    seconds = time.perf_counter() - start
    if result.generated != clips:
        raise SystemExit(f"commit_every={every}: made {result.generated} of {clips} clips")
    return seconds


def commit_seconds(base: Path, rows: int, every: int) -> tuple[float, float]:
    """Seconds to append ``rows`` video rows in parts of ``every``, and to merge the parts."""
    from svta.tables import PartWriter

    writer = PartWriter(base / f"videos-{every}.parquet", "videos")
    records = [
        {
            "id": f"v{i:06d}",
            "path": f"videos/v{i:06d}.mp4",
            "frames": 16,
            "fps": 8.0,
            "width": 96,
            "height": 96,
            "sha256": "0" * 64,
            "backend": "procedural",
            "params": "{}",
            "seconds": 0.1,
        }
        for i in range(rows)
    ]
    start = time.perf_counter()
    for first in range(0, rows, every):
        writer.append(records[first : first + every])
    appended = time.perf_counter() - start
    start = time.perf_counter()
    table = writer.compact()
    merged = time.perf_counter() - start
    if table.num_rows != rows:
        raise SystemExit(f"merged {table.num_rows} of {rows} rows")
    return appended, merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        print(f"(1) videos generate, {args.clips} procedural clips 96x96x16, local engine")
        walls = {every: generate_seconds(base, args.clips, every) for every in INTERVALS}
        for every, wall in walls.items():
            overhead = (wall / walls[INTERVALS[-1]] - 1) * 100
            print(
                f"  commit_every {every:3d}: {wall:6.2f} s, {wall / args.clips * 1e3:6.1f} ms/clip, "
                f"{overhead:+5.1f}% against every {INTERVALS[-1]}; a driver crash loses <= {every} clip(s)"
            )
        print(f"(2) the commit alone: {args.rows} rows")
        for every in INTERVALS:
            appended, merged = commit_seconds(base, args.rows, every)
            parts = -(-args.rows // every)
            print(
                f"  parts of {every:3d}: {parts:5d} parts, append {appended:6.2f} s "
                f"({appended / parts * 1e3:5.2f} ms/part), merge {merged:5.2f} s"
            )


if __name__ == "__main__":
    main()
