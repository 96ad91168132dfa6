"""Crash safety: kill -9 a running generation, rerun it, and every clip is there once, decodes,
and matches the table. The run to kill announces on stdout when it has committed three parts and then
blocks, so the kill lands at a known point (no timing)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from videokit import write_captions

from svta.tables import PartWriter, read_records
from svta.video_io import check_decodable

DRIVER = '''
import sys
from svta.videos.base import VIDEO_BACKENDS
from svta.videos.config import VideosConfig
from svta.videos.generate import generate_videos
from svta.videos.procedural import ProceduralBackend

BLOCK_AFTER = int(sys.argv[2])  # clips to make before announcing and blocking; 0: never block

class BlockingProcedural(ProceduralBackend):
    """The procedural renderer, which stops after ``BLOCK_AFTER`` clips until it is killed."""

    made = 0

    def generate(self, requests):
        if BLOCK_AFTER and BlockingProcedural.made == BLOCK_AFTER:
            print("blocked", flush=True)
            sys.stdin.read()  # the test holds stdin open and kills us
        BlockingProcedural.made += len(requests)
        return super().generate(requests)

VIDEO_BACKENDS.register("blocking_procedural_test")(lambda config, taxonomy=None: BlockingProcedural(config, taxonomy))
config = VideosConfig(backend="blocking_procedural_test", frames=4, width=32, height=32, commit_every=2)
result = generate_videos(sys.argv[1], config)
print("done", result.generated, result.skipped)
'''


def _run(root: Path, script: Path, block_after: int) -> subprocess.Popen:
    env = {**os.environ, "SVTA_QUIET": "1"}
    command = [sys.executable, str(script), str(root), str(block_after)]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.Popen(command, env=env, text=True, **pipes)


def test_kill_9_mid_run_then_rerun_completes_consistently(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    ids = write_captions(root, [(f"A person in red walks in the park, take {i}.", "walking") for i in range(60)])
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    writer = PartWriter(root / "videos.parquet", "videos")
    proc = _run(root, script, 6)
    line = proc.stdout.readline()  # returns when the driver blocks (or "" if it died)
    assert line == "blocked\n", proc.communicate()[1]
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    committed = writer.done_ids()
    assert len(writer.part_files()) == 3 and len(committed) == 6, "killed after three committed parts"
    assert not (root / "videos.parquet").exists()  # killed before compaction

    rerun = _run(root, script, 0)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    generated, skipped = (int(x) for x in out.split()[1:3])
    assert skipped == len(committed) and generated == len(ids) - len(committed)

    rows = read_records(root / "videos.parquet", "videos")
    assert sorted(r["id"] for r in rows) == ids  # every clip once
    files = sorted(p.name for p in (root / "videos").iterdir())
    assert files == [f"{i}.mp4" for i in ids]  # no leftovers from the killed run
    for row in rows:
        assert check_decodable(root / row["path"]).frames == row["frames"] == 4
    assert not writer.part_files()
