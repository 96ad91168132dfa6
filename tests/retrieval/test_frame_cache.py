"""The frame cache reads rows from disk: exact frames, bounded open files, picklable, damage reported."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from svta.errors import InputError
from svta.retrieval import frame_cache
from svta.retrieval.frame_cache import FrameCache, _write_shard


def _cache(directory: Path, clips: int, per_shard: int, frames: int = 3, size: int = 8) -> tuple[FrameCache, dict]:
    index = {"version": 1, "num_frames": frames, "size": size, "shards": [], "items": {}, "broken": {}}
    rng = np.random.default_rng(0)
    written = {}
    for first in range(0, clips, per_shard):
        chunk = []
        for i in range(first, min(clips, first + per_shard)):
            written[f"c{i}"] = rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
            chunk.append((f"c{i}", written[f"c{i}"], frames - i % 2))
        _write_shard(directory, index, chunk, {cid: "fp" for cid, _, _ in chunk})
    return FrameCache(directory, index), written


def test_rows_read_back_exactly_and_are_writable(tmp_path):
    cache, written = _cache(tmp_path, clips=7, per_shard=3)
    for i, (clip_id, frames) in enumerate(written.items()):
        got, n = cache.load(clip_id)
        assert np.array_equal(got, frames) and n == 3 - i % 2
        got[0, 0, 0, 0] = 1  # a fresh array: the caller may modify it (torch.from_numpy needs that)
    assert np.array_equal(cache.load("c0")[0], written["c0"])
    with pytest.raises(InputError, match="not in the frame cache"):
        cache.load("nope")


def test_open_shards_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(frame_cache, "MAX_OPEN_SHARDS", 2)
    cache, written = _cache(tmp_path, clips=10, per_shard=2)
    for clip_id, frames in [*written.items(), *reversed(written.items())]:
        assert np.array_equal(cache.load(clip_id)[0], frames)
        assert len(cache._shards) <= 2


def test_pickled_cache_reopens_its_files(tmp_path):
    cache, written = _cache(tmp_path, clips=4, per_shard=2)
    cache.load("c0")
    copy = pickle.loads(pickle.dumps(cache))  # what a DataLoader worker receives
    assert not copy._shards and np.array_equal(copy.load("c3")[0], written["c3"])


def test_damaged_shards_name_the_file(tmp_path):
    cache, _ = _cache(tmp_path, clips=4, per_shard=2)
    shard = tmp_path / cache.index["shards"][1]
    shard.write_bytes(shard.read_bytes()[:200])  # truncated
    with pytest.raises(InputError, match="short read"):
        cache.load("c3")
    shard.write_bytes(b"not a numpy file")
    with pytest.raises(InputError, match="damaged frame-cache shard"):
        FrameCache(tmp_path, cache.index).load("c2")


def test_the_cache_key_hashes_the_resampling_code():
    """Cached frames are made by the model transform's resize: a change to it must rebuild the cache."""
    from svta.video_io import FramePreprocess

    assert FramePreprocess.resize_crop.__module__ in frame_cache.DECODER_MODULES
    assert frame_cache.decode_clip.__module__ in frame_cache.DECODER_MODULES
