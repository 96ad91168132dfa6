"""The video and index stages of ``configs/svta-scale.yaml`` (scaled to ``--n`` pairs) on a local Ray cluster
(started on loopback with 2 worker processes) against the local engine (2 worker processes): the clips must be
byte-identical, the videos tables equal but for timings, and the index's vectors and frame embeddings
bit-identical. Prints the wall time of each engine and exits non-zero on any difference.

The index uses the model-free hashing encoder (the engines' code path is the same for a trained run's encoder).

    .venv/bin/python benchmarks/ray_identity.py [--n 200]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import CONFIG, scaled_config  # noqa: E402

TIMING_FIELDS = ("seconds",)


def file_digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.mp4"))}


def videos_rows(root: Path) -> list[dict]:
    from svta.tables import read_records, table_path

    rows = read_records(table_path(root, "videos"), "videos")
    return sorted(({k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows), key=lambda r: r["id"])


def run_stages(root: Path, config: dict, engine: object) -> tuple[float, float]:
    """``(videos seconds, index seconds)`` of both stages on ``engine``."""
    from svta.config import SvtaConfig
    from svta.search.build import build_index
    from svta.search.config import SearchConfig
    from svta.videos.generate import generate_videos

    cfg = SvtaConfig.model_validate(config)
    start = time.perf_counter()
    made = generate_videos(root, cfg.videos, engine)
    if made.failed:
        raise SystemExit(f"{root}: {len(made.failed)} clip(s) failed")
    videos = time.perf_counter() - start
    start = time.perf_counter()
    spec = {"name": "hashing", "dim": 256, "num_frames": 8}
    report = build_index(root, root / "index", spec, SearchConfig(batch_size=16), engine)
    if report.failed:
        raise SystemExit(f"{root}: {len(report.failed)} video(s) failed to index")
    return videos, time.perf_counter() - start


def compare(local: Path, remote: Path) -> list[str]:
    from svta.search.store import IndexStore

    problems = []
    if file_digests(local / "videos") != file_digests(remote / "videos"):
        problems.append("clip bytes differ")
    if videos_rows(local) != videos_rows(remote):
        problems.append("videos tables differ")
    a, b = IndexStore(local / "index").load(), IndexStore(remote / "index").load()
    order = {item["id"]: i for i, item in enumerate(b.items)}
    rows = [order[item["id"]] for item in a.items]
    if not np.array_equal(a.vectors.reconstruct_n(0, len(rows)), b.vectors.reconstruct_n(0, len(rows))[rows]):
        problems.append("index clip vectors differ")
    if not np.array_equal(np.asarray(a.frames), np.asarray(b.frames)[rows]):
        problems.append("index frame embeddings differ")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    import ray

    from svta.config import SvtaConfig
    from svta.engine import EngineConfig
    from svta.pipeline import run_pipeline

    with tempfile.TemporaryDirectory(prefix="svta-ray-") as tmp:
        base = Path(tmp)
        config = scaled_config(yaml.safe_load(CONFIG.read_text(encoding="utf-8")), args.n, base / "local")
        run_pipeline(SvtaConfig.model_validate(config), stages=["captions"])
        shutil.copytree(base / "local", base / "ray")
        local = run_stages(base / "local", config, EngineConfig(name="local", workers=2))
        # a local cluster on loopback: two worker CPUs, its own temp dir (short: Ray's socket paths are limited)
        ray_tmp = tempfile.mkdtemp(prefix="r", dir="/tmp")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=ray_tmp)
        try:
            remote = run_stages(
                base / "ray", {**config, "root": str(base / "ray")}, EngineConfig(name="ray", workers=2)
            )
        finally:
            ray.shutdown()
            shutil.rmtree(ray_tmp, ignore_errors=True)
        problems = compare(base / "local", base / "ray")
    print(
        f"{args.n} clips: local engine videos {local[0]:.1f} s + index {local[1]:.1f} s; "
        f"Ray (2 actors) videos {remote[0]:.1f} s + index {remote[1]:.1f} s"
    )
    print("identical: clip bytes, videos table, index vectors and frames" if not problems else "; ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
