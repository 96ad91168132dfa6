"""The video and index stages of ``configs/svta-scale.yaml`` (scaled to ``--n`` pairs) on a local Ray cluster
(started on loopback with 2 worker processes) against the local engine (2 worker processes): the clips must be
byte-identical, the videos tables equal but for timings, and every index file (items, vectors, frames,
index.json, thumbnails; not origin.json, which records the root's path and the time) byte-identical. Prints the wall time of each engine and exits non-zero on any difference.

The index uses the model-free hashing encoder (the engines' code path is the same for a trained run's encoder).

    .venv/bin/python benchmarks/ray_identity.py [--n 200]
    .venv/bin/python benchmarks/ray_identity.py --against /tmp/scale41k/n41315 [--no-index]

``--against ROOT`` reuses a root the local engine already rendered (``benchmarks/scale.py --workdir``, e.g. all
41,315 clips): only the Ray side renders (its captions copied from ROOT, the videos settings from ROOT's
``svta.yaml``), and the clips and videos table are compared with ROOT's; the indexes (hashing encoder, under
``index-hashing/``) are built on both sides unless ``--no-index``.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import CONFIG, scaled_config  # noqa: E402

TIMING_FIELDS = ("seconds",)
INDEX_DIR = "index-hashing"  # not "index": a root from benchmarks/scale.py keeps its trained model's index there


def file_digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.mp4"))}


def videos_rows(root: Path) -> list[dict]:
    from svta.tables import read_records, table_path

    rows = read_records(table_path(root, "videos"), "videos")
    return sorted(({k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows), key=lambda r: r["id"])


def run_stages(
    root: Path, config: dict, engine: object, videos: bool = True, index: bool = True
) -> tuple[float, float]:
    """``(videos seconds, index seconds)`` of the stages asked for on ``engine`` (0 for one skipped)."""
    from svta.config import SvtaConfig
    from svta.search.build import build_index
    from svta.search.config import SearchConfig
    from svta.videos.generate import generate_videos

    cfg = SvtaConfig.model_validate(config)
    videos_s = index_s = 0.0
    if videos:
        start = time.perf_counter()
        made = generate_videos(root, cfg.videos, engine)
        if made.failed:
            raise SystemExit(f"{root}: {len(made.failed)} clip(s) failed")
        videos_s = time.perf_counter() - start
    if index:
        start = time.perf_counter()
        spec = {"name": "hashing", "dim": 256, "num_frames": 8}
        report = build_index(root, root / INDEX_DIR, spec, SearchConfig(batch_size=16), engine)
        if report.failed:
            raise SystemExit(f"{root}: {len(report.failed)} video(s) failed to index")
        index_s = time.perf_counter() - start
    return videos_s, index_s


def compare(local: Path, remote: Path, index: bool = True) -> list[str]:

    problems = []
    if file_digests(local / "videos") != file_digests(remote / "videos"):
        problems.append("clip bytes differ")
    if videos_rows(local) != videos_rows(remote):
        problems.append("videos tables differ")
    if not index:
        return problems
    a, b = index_digests(local / INDEX_DIR), index_digests(remote / INDEX_DIR)
    differ = sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))
    if differ:
        problems.append(f"index files differ: {', '.join(differ[:5])}{' ...' if len(differ) > 5 else ''}")
    return problems


def index_digests(index_dir: Path) -> dict[str, str]:
    """SHA-256 of every index file but ``origin.json`` (the root's absolute path and the commit time)."""
    files = (p for p in sorted(index_dir.rglob("*")) if p.is_file() and p.name not in ("origin.json", ".lock"))
    return {p.relative_to(index_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def start_ray() -> str:
    """A local cluster on loopback: two worker CPUs, its own temp dir (short: Ray's socket paths are limited)."""
    import ray

    ray_tmp = tempfile.mkdtemp(prefix="r", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=ray_tmp)
    return ray_tmp


def stop_ray(ray_tmp: str) -> None:
    import ray

    ray.shutdown()
    shutil.rmtree(ray_tmp, ignore_errors=True)


def against_root(local: Path, index: bool, workdir: Path) -> int:
    """Render ``local``'s captions on Ray into ``workdir/ray`` and compare with ``local``'s clips."""
    from svta.engine import EngineConfig
    from svta.tables import read_records, table_path

    config = yaml.safe_load((local / "svta.yaml").read_text(encoding="utf-8"))
    remote = workdir / "ray"
    shutil.rmtree(remote, ignore_errors=True)
    remote.mkdir(parents=True)
    shutil.copy2(table_path(local, "captions"), table_path(remote, "captions"))
    n = len(read_records(table_path(local, "captions"), "captions"))
    local_index = 0.0
    if index:
        _, local_index = run_stages(local, {**config, "root": str(local)}, EngineConfig(name="local", workers=2), False)
    ray_tmp = start_ray()
    try:
        remote_s = run_stages(remote, {**config, "root": str(remote)}, EngineConfig(name="ray", workers=2), index=index)
    finally:
        stop_ray(ray_tmp)
    problems = compare(local, remote, index)
    print(
        f"{n} clips: Ray (2 actors) videos {remote_s[0]:.1f} s"
        + (f" + index {remote_s[1]:.1f} s; local engine index {local_index:.1f} s" if index else "")
        + f"; compared with the local engine's clips in {local}"
    )
    what = "clip bytes, videos table" + (", index files" if index else "")
    print(f"identical: {what}" if not problems else "; ".join(problems))
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--against", type=Path, default=None, help="a root the local engine already rendered")
    parser.add_argument("--no-index", dest="index", action="store_false", help="compare the video stage only")
    parser.add_argument("--workdir", type=Path, default=None, help="where the Ray side goes with --against")
    args = parser.parse_args()

    from svta.config import SvtaConfig
    from svta.engine import EngineConfig
    from svta.pipeline import run_pipeline

    if args.against is not None:
        with tempfile.TemporaryDirectory(prefix="svta-ray-") as tmp:
            return against_root(args.against, args.index, args.workdir or Path(tmp))
    with tempfile.TemporaryDirectory(prefix="svta-ray-") as tmp:
        base = Path(tmp)
        config = scaled_config(yaml.safe_load(CONFIG.read_text(encoding="utf-8")), args.n, base / "local")
        run_pipeline(SvtaConfig.model_validate(config), stages=["captions"])
        shutil.copytree(base / "local", base / "ray")
        local = run_stages(base / "local", config, EngineConfig(name="local", workers=2), index=args.index)
        ray_tmp = start_ray()
        try:
            remote = run_stages(
                base / "ray",
                {**config, "root": str(base / "ray")},
                EngineConfig(name="ray", workers=2),
                index=args.index,
            )
        finally:
            stop_ray(ray_tmp)
        problems = compare(base / "local", base / "ray", args.index)
    print(
        f"{args.n} clips: local engine videos {local[0]:.1f} s + index {local[1]:.1f} s; "
        f"Ray (2 actors) videos {remote[0]:.1f} s + index {remote[1]:.1f} s"
    )
    what = "clip bytes, videos table" + (", index files" if args.index else "")
    print(f"identical: {what}" if not problems else "; ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
