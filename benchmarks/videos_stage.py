"""The video stage of ``configs/svta-scale.yaml`` at N clips: this checkout against a baseline checkout.

Each variant renders the same N captions into its own copy of one root, as ``svta pipeline run CONFIG
--stages videos`` in its own process (the source tree on PYTHONPATH), and is measured: wall seconds,
clips/s, CPU seconds per clip of the whole process tree (driver and worker processes: less sensitive to
other load than wall time), peak RSS of the tree. Every variant must write the same clips (sha256 of
each file, from ``videos.parquet``) and the same quality records; the load average is printed alongside.

    python benchmarks/videos_stage.py --baseline /path/to/old/checkout/src --clips 1000
    python benchmarks/videos_stage.py --baseline OLD/src --variants old:1,new:1,new:2 --rounds 2
    python benchmarks/videos_stage.py --baseline OLD/src --report-clips 41315   # the quality report alone

``--report-clips N`` measures only the end of the stage, the quality report over N clips' recorded stats
(a synthetic ``videos.quality.jsonl``: 4-decimal signatures in near-duplicate clusters), old code against new.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import CONFIG, PeakSampler, scaled_config  # noqa: E402

HERE = Path(__file__).resolve().parents[1] / "src"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every waited-for descendant, pool workers included
    return usage.ru_utime + usage.ru_stime


def run_variant(src: Path, config: dict, base: Path, root: Path, workers: int) -> dict:
    """Render the videos stage into a copy of ``base`` at ``root`` with the code under ``src``."""
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(base, root)
    config = {**config, "root": str(root), "engine": {"name": "local", "workers": workers}}
    config_path = root.parent / f"{root.name}.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-m", "svta.cli.main", "-q", "pipeline", "run", str(config_path), "--stages", "videos"]
    cpu, start = children_cpu(), time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with PeakSampler(process.pid) as sampler:
        _, errors = process.communicate()
    seconds, cpu = time.perf_counter() - start, children_cpu() - cpu
    if process.returncode != 0:
        raise SystemExit(f"{src}: videos stage failed: {errors.decode(errors='replace').strip().splitlines()[-1:]}")
    table = pq.read_table(root / "videos.parquet", columns=["id", "sha256"]).to_pylist()
    stats = (root / "videos.quality.jsonl").read_text(encoding="utf-8").splitlines()
    report = json.loads((root / "videos.quality.json").read_text(encoding="utf-8"))
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak": sampler.peak,
        "clips": {r["id"]: r["sha256"] for r in table},
        "stats": sorted(stats),
        "duplicates": report["near_duplicates"],
    }


REPORT_SCRIPT = """
import json, sys, time
from pathlib import Path
from svta.videos.config import QualityConfig
from svta.videos.quality import build_report
root = Path(sys.argv[1])
ids = [json.loads(line)["id"] for line in (root / "videos.quality.jsonl").open()]
start = time.perf_counter()
build_report(root, ids, QualityConfig(duplicate_min_cosine=0.98))
print(time.perf_counter() - start)
"""


def synthetic_stats(path: Path, clips: int, seed: int = 0) -> None:
    """``clips`` stats lines as the stage writes them: 256-value signatures with 4 decimals, in clusters of
    near-copies (so the near-duplicate pass finds pairs), a few uniform (flat) clips."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.random((max(1, clips // 20), 256))
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(clips):
            signature = centres[i % len(centres)] + rng.normal(scale=0.02, size=256)
            if i % 997 == 0:
                signature = np.full(256, 0.5)
            signature = np.clip(signature, 0, 1).round(4)
            record = {"id": f"{i:016x}", "mean": float(rng.random() * 255), "motion": float(rng.random() * 5)}
            record |= {"signature": signature.tolist(), "agreement": None}
            handle.write(json.dumps(record) + "\n")


def bench_report(sources: dict[str, Path], clips: int, workdir: Path) -> None:
    """The quality report over ``clips`` synthetic stats, with each source tree: seconds, peak RSS, same report."""
    root = workdir / f"report{clips}"
    root.mkdir(parents=True, exist_ok=True)
    synthetic_stats(root / "videos.quality.jsonl", clips)
    reports = {}
    for code, src in sources.items():
        command = [sys.executable, "-c", REPORT_SCRIPT, str(root)]
        process = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(src)}, stdout=subprocess.PIPE)
        with PeakSampler(process.pid, 0.05) as sampler:
            out, _ = process.communicate()
        reports[code] = (root / "videos.quality.json").read_text(encoding="utf-8")
        pairs = len(json.loads(reports[code])["near_duplicates"])
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"{code}: report over {clips} clips {float(out):.1f} s, peak RSS {sampler.peak / 2**20:.0f} MiB, "
            f"{pairs} near-duplicate pairs, same report as old: {reports[code] == reports['old']}  load {load}",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the baseline checkout's src folder")
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--variants", default="old:1,new:1,old:2,new:2", help="CODE:WORKERS, CODE old or new")
    parser.add_argument("--rounds", type=int, default=1, help="the variants run in turn this many times")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--report-clips", type=int, default=0, help="measure only the quality report over N clips")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="svta-videos-stage-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sources = {"old": args.baseline.resolve(), "new": HERE}
    if args.report_clips:
        bench_report(sources, args.report_clips, workdir)
        return 0
    config = scaled_config(yaml.safe_load(CONFIG.read_text(encoding="utf-8")), args.clips, workdir / "base")
    config.pop("engine", None)
    (workdir / "base.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    command = [sys.executable, "-m", "svta.cli.main", "-q", "pipeline", "run", str(workdir / "base.yaml")]
    subprocess.run([*command, "--stages", "captions"], env={**os.environ, "PYTHONPATH": str(HERE)}, check=True)
    variants = [(code, int(workers)) for code, workers in (v.split(":") for v in args.variants.split(","))]
    results: dict[tuple[str, int], list[dict]] = {}
    reference = None
    for round_ in range(args.rounds):
        for code, workers in variants:
            out = run_variant(sources[code], config, workdir / "base", workdir / f"{code}{workers}", workers)
            same = reference is None or all(out[k] == reference[k] for k in ("clips", "stats", "duplicates"))
            reference = reference or out
            results.setdefault((code, workers), []).append(out)
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(
                f"round {round_ + 1} {code} x{workers}: {out['seconds']:6.1f} s  {args.clips / out['seconds']:6.1f} "
                f"clips/s  CPU {1e3 * out['cpu'] / args.clips:5.1f} ms/clip  peak RSS {out['peak'] / 2**20:5.0f} MiB"
                f"  same output as the first: {same}  load {load}",
                flush=True,
            )
            if not same:
                raise SystemExit("outputs differ")
    base = results.get(("old", 1)) or next(iter(results.values()))
    best = lambda runs, key: min(r[key] for r in runs)  # noqa: E731
    print(f"\n{args.clips} clips, best of {args.rounds}; ratios against {variants[0][0]} x{variants[0][1]}")
    print("| variant | wall s | clips/s | CPU ms/clip | peak RSS MiB | wall ratio | CPU ratio |")
    print("|---|---|---|---|---|---|---|")
    for (code, workers), runs in results.items():
        wall, cpu = best(runs, "seconds"), best(runs, "cpu")
        peak = max(r["peak"] for r in runs)
        print(
            f"| {code} x{workers} | {wall:.1f} | {args.clips / wall:.1f} | {1e3 * cpu / args.clips:.1f} | "
            f"{peak / 2**20:.0f} | {best(base, 'seconds') / wall:.2f}x | {best(base, 'cpu') / cpu:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
