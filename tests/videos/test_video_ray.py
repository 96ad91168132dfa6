"""The video stage on a local Ray cluster (2 CPUs): actors render, the driver commits."""

from __future__ import annotations

import shutil
import tempfile

from videokit import write_captions

from svta.config import EngineConfig
from svta.tables import read_records
from svta.video_io import check_decodable
from svta.videos.generate import generate_videos


def test_ray_engine_generates_a_small_batch(tmp_path, small):
    import ray

    ids = write_captions(tmp_path, [(f"A man in green runs in the park, take {i}.", "running") for i in range(6)])
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, log_to_driver=False)
    try:
        result = generate_videos(tmp_path, small, EngineConfig(name="ray", workers=2))
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    assert result.generated == 6 and not result.failed
    rows = read_records(tmp_path / "videos.parquet", "videos")
    assert sorted(r["id"] for r in rows) == ids
    assert all(check_decodable(tmp_path / r["path"]).frames == 6 for r in rows)
    local = tmp_path / "local"
    local.mkdir()
    write_captions(local, [(f"A man in green runs in the park, take {i}.", "running") for i in range(6)])
    generate_videos(local, small)
    for clip_id in ids:  # the engine does not change the clips
        assert (local / "videos" / f"{clip_id}.mp4").read_bytes() == (
            tmp_path / "videos" / f"{clip_id}.mp4"
        ).read_bytes()
