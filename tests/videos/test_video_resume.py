"""Crash safety: kill -9 a running generation, rerun it, and every clip is there once, decodes,
and matches the table."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from videokit import write_captions

from svta.tables import PartWriter, read_records
from svta.video_io import check_decodable

DRIVER = '''
import sys, time
from svta.videos.backend import VIDEO_BACKENDS
from svta.videos.config import VideosConfig
from svta.videos.generate import generate_videos
from svta.videos.procedural import ProceduralBackend

class SlowProcedural(ProceduralBackend):
    """The procedural renderer, slowed down so the test can kill it mid-run."""

    def generate(self, requests):
        time.sleep(float(sys.argv[2]))
        return super().generate(requests)

VIDEO_BACKENDS.register("slow_procedural_test")(lambda config, taxonomy=None: SlowProcedural(config, taxonomy))
config = VideosConfig(backend="slow_procedural_test", frames=4, width=32, height=32, commit_every=2)
result = generate_videos(sys.argv[1], config)
print("done", result.generated, result.skipped)
'''


def _run(root: Path, script: Path, delay: float) -> subprocess.Popen:
    env = {**os.environ, "SVTA_QUIET": "1"}
    command = [sys.executable, str(script), str(root), str(delay)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_9_mid_run_then_rerun_completes_consistently(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    ids = write_captions(root, [(f"A person in red walks in the park, take {i}.", "walking") for i in range(60)])
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    writer = PartWriter(root / "videos.parquet", "videos")
    proc = _run(root, script, 0.03)
    deadline = time.monotonic() + 60
    while len(writer.part_files()) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = writer.done_ids()
    assert 0 < len(committed) < len(ids), "the run should have been killed part-way"
    assert not (root / "videos.parquet").exists()  # killed before compaction

    rerun = _run(root, script, 0.0)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    generated, skipped = (int(x) for x in out.decode().split()[1:3])
    assert skipped == len(committed) and generated == len(ids) - len(committed)

    rows = read_records(root / "videos.parquet", "videos")
    assert sorted(r["id"] for r in rows) == ids  # every clip once
    files = sorted(p.name for p in (root / "videos").iterdir())
    assert files == [f"{i}.mp4" for i in ids]  # no leftovers from the killed run
    for row in rows:
        assert check_decodable(root / row["path"]).frames == row["frames"] == 4
    assert not writer.part_files()
