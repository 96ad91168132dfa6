"""Training frame cache: positioned reads from disk (svta) against frames held in RAM and against a memory
map of the same shards, per training step (a batch of random clips), with the reader's RSS growth.

The cache is written with the real shard writer from seeded random frames (no decoding), then each reader
serves the same random batches. RAM holds the whole array (what an in-memory cache needs: N x T x S x S x 3
bytes); the memory map's RSS grows with the pages an epoch touches; svta's reads keep RSS at one batch.

    .venv/bin/python benchmarks/frame_cache.py [--clips 1000 --frames 16 --size 96 --batch 64 --steps 40]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def rss_mib() -> float:
    """Current resident set size of this process, MiB (Linux /proc)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def write_cache(directory: Path, clips: int, frames: int, size: int) -> dict:
    from svta.retrieval.frame_cache import SHARD_ITEMS, _write_shard

    index = {"version": 1, "num_frames": frames, "size": size, "shards": [], "items": {}, "broken": {}}
    rng = np.random.default_rng(0)
    for first in range(0, clips, SHARD_ITEMS):
        n = min(SHARD_ITEMS, clips - first)
        chunk = [
            (f"c{first + i:06d}", rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8), frames)
            for i in range(n)
        ]
        _write_shard(directory, index, chunk, {cid: "x" for cid, _, _ in chunk})
    return index


class MemoryMapReader:
    """The cache's previous reader: each shard memory-mapped, a row copied out per clip."""

    def __init__(self, directory: Path, index: dict):
        self.directory, self.index, self.shards = directory, index, {}

    def load(self, clip_id: str) -> tuple[np.ndarray, int]:
        entry = self.index["items"][clip_id]
        shard = self.shards.get(entry["shard"])
        if shard is None:
            shard = self.shards[entry["shard"]] = np.load(
                self.directory / self.index["shards"][entry["shard"]], mmap_mode="r"
            )
        return np.array(shard[entry["row"]]), int(entry["n"])


class InMemoryReader:
    """Every clip's frames in one array in RAM."""

    def __init__(self, directory: Path, index: dict):
        mapped = MemoryMapReader(directory, index)
        ids = list(index["items"])
        self.rows = {cid: i for i, cid in enumerate(ids)}
        self.frames = np.stack([mapped.load(cid)[0] for cid in ids])

    def load(self, clip_id: str) -> tuple[np.ndarray, int]:
        return self.frames[self.rows[clip_id]].copy(), self.frames.shape[1]


READERS = [("disk, positioned reads (svta)", None), ("memory map", MemoryMapReader), ("in memory", InMemoryReader)]


def time_steps(reader, batches: list[list[str]]) -> float:
    """Mean seconds per step: load a batch of clips and stack them as the collate does."""
    start = time.perf_counter()
    for batch in batches:
        np.stack([reader.load(cid)[0] for cid in batch])
    return (time.perf_counter() - start) / len(batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from svta.retrieval.frame_cache import FrameCache

    READERS[0] = (READERS[0][0], FrameCache)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        index = write_cache(directory, args.clips, args.frames, args.size)
        ids = list(index["items"])
        rng = np.random.default_rng(1)
        batches = [list(rng.choice(ids, args.batch, replace=False)) for _ in range(args.steps)]
        epoch = [ids[i : i + args.batch] for i in range(0, len(ids), args.batch)]
        size_mib = args.clips * args.frames * args.size**2 * 3 / 2**20
        print(
            f"{args.clips} clips x {args.frames} x {args.size}^2 x 3 = {size_mib:.0f} MiB cache, "
            f"batch {args.batch}, {args.steps} steps (page cache warm)"
        )
        readers, grown = {}, {}
        for name, make in READERS:
            before = rss_mib()
            readers[name] = make(directory, index)
            time_steps(readers[name], epoch)  # one pass over every clip, as an epoch does
            grown[name] = rss_mib() - before
        # The machine is shared: readers take turns over several rounds and each keeps its best round.
        results = {name: min(time_steps(readers[name], batches) for _ in range(args.rounds)) for name, _ in READERS}
        for name, _ in READERS:
            print(f"{name:32s} {results[name] * 1e3:7.2f} ms/step  RSS +{grown[name]:7.1f} MiB after an epoch")
        base = results["in memory"]
        print(
            f"in-memory / disk time per step: {base / results['disk, positioned reads (svta)']:.2f} "
            "(>= 1: the disk-backed cache is at least as fast)"
        )


if __name__ == "__main__":
    main()
