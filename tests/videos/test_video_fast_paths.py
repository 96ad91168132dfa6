"""The video stage's cheap paths give the old results: grey frames without a float copy, compact stats
signatures that rewrite digit for digit, scratch-file encoding, clip files written on threads."""

from __future__ import annotations

import numpy as np
import pytest
from videokit import write_captions

from svta.tables import read_records
from svta.video_io import write_mp4
from svta.videos import generate
from svta.videos.encode import encode_mp4
from svta.videos.quality import STATS_FILE, ClipStats, append_stats, clip_stats, grey_frames, read_stats


def test_grey_frames_equal_the_float_mean_for_every_channel_sum():
    sums = np.arange(766)
    pixels = np.stack([np.minimum(sums, 255), np.clip(sums - 255, 0, 255), np.clip(sums - 510, 0, 255)], -1)
    pixels = pixels.astype(np.uint8)
    assert np.array_equal(grey_frames(pixels), pixels.astype(np.float32).mean(axis=-1))
    clip = np.random.default_rng(0).integers(0, 256, (3, 7, 9, 3), dtype=np.uint8)
    assert np.array_equal(grey_frames(clip), clip.astype(np.float32).mean(axis=-1))


def test_signatures_are_arrays_and_a_rewrite_keeps_every_digit(tmp_path):
    clip = np.random.default_rng(1).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    append_stats(tmp_path, [clip_stats("c000", clip)])
    first = (tmp_path / STATS_FILE).read_text()
    read = read_stats(tmp_path)["c000"]
    assert isinstance(read.signature, np.ndarray) and read.signature.shape == (256,)
    assert read == clip_stats("c000", clip)
    append_stats(tmp_path, [read])  # what score_agreement does with recorded stats
    assert (tmp_path / STATS_FILE).read_text() == first * 2


def test_stats_from_lists_still_load(tmp_path):
    append_stats(tmp_path, [ClipStats("c000", 1.0, 2.0, [0.25, 0.5])])
    assert read_stats(tmp_path)["c000"].signature.tolist() == [0.25, 0.5]


def test_scratch_encoding_gives_the_atomic_file_bytes(tmp_path):
    frames = np.random.default_rng(2).integers(0, 256, (4, 18, 22, 3), dtype=np.uint8)
    atomic = write_mp4(tmp_path / "a.mp4", frames, 8.0, options={"threads": "1"}).read_bytes()
    direct = write_mp4(tmp_path / "b.mp4", frames, 8.0, options={"threads": "1"}, atomic=False).read_bytes()
    assert atomic == direct == encode_mp4(frames, 8.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4"]


def test_a_clip_file_that_cannot_be_written_keeps_the_others(tmp_path, small, monkeypatch):
    ids = write_captions(tmp_path, [(f"A man in red walks in the park, take {i}.", "walking") for i in range(5)])
    real = generate.atomic_write_bytes

    def write(path, data):
        if path.stem == ids[1]:
            raise OSError(28, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(generate, "atomic_write_bytes", write)
    with pytest.raises(OSError, match="No space left"):
        generate.generate_videos(tmp_path, small.model_copy(update={"commit_every": 16}))
    rows = read_records(tmp_path / "videos.parquet", "videos")
    assert sorted(r["id"] for r in rows) == [i for i in ids if i != ids[1]]  # the clips after it too
    assert all((tmp_path / r["path"]).is_file() for r in rows)
