"""Worker lifecycle: SIGKILL of the driver of ``svta videos generate --workers 2`` takes its spawn
workers and multiprocessing's resource tracker with it, instead of leaving them alive under PID 1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from videokit import write_captions

from svta.tables import PartWriter

STARTUP_S = 120  # spawn workers import numpy/PyAV on a possibly busy machine
EXIT_S = 20  # the kernel (Linux) or the parent-pid watch (every 0.5 s) ends them well within this


def _start_generation(root: Path) -> subprocess.Popen:
    env = {**os.environ, "SVTA_QUIET": "1"}
    command = [
        sys.executable,
        "-m",
        "svta.cli.main",
        "videos",
        "generate",
        "--root",
        str(root),
        "--workers",
        "2",
        "--size",
        "48",
        "--frames",
        "8",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_running_workers(proc: subprocess.Popen, writer: PartWriter) -> list[psutil.Process]:
    """The driver's descendants once two workers exist and clips are being committed."""
    driver = psutil.Process(proc.pid)
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        children = driver.children(recursive=True)
        workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
        if len(workers) >= 2 and writer.part_files():
            return children
        try:
            proc.wait(timeout=0.1)  # the poll tick; returning means the driver ended early
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"generation ended before it could be killed: {proc.stderr.read().decode()[-2000:]}")
    pytest.fail("two workers did not start committing clips in time")


@pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs POSIX signals")
def test_kill_9_of_the_driver_ends_its_workers_and_resource_tracker(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    write_captions(root, [(f"A man in red runs across the street, take {i}.", "running") for i in range(2000)])
    writer = PartWriter(root / "videos.parquet", "videos")
    proc = _start_generation(root)
    children: list[psutil.Process] = []
    try:
        children = _wait_for_running_workers(proc, writer)
        assert any("resource_tracker" in " ".join(c.cmdline()) for c in children)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=EXIT_S)
        _, alive = psutil.wait_procs(children, timeout=EXIT_S)
        assert not alive, f"left running after the driver died: {[(p.pid, p.cmdline()) for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for child in children:  # this test's own leftovers, so a failure does not leak processes
            if child.is_running():
                child.kill()
