"""The train, eval and index stages of ``configs/svta-scale.yaml`` on one prepared root, old code against new.

``benchmarks/scale.py --stages captions,videos,annotate,build`` prepares a root at size N once; this script
copies it (without ``runs/``, ``cache/`` and ``index/``) for each variant and runs the three stages as
``scale.py`` does (each its own process), measuring wall seconds, CPU seconds of the process tree (user +
system, from the children's rusage) and peak tree RSS. A variant is a ``src`` folder put first on
``PYTHONPATH`` (e.g. an older checkout's) plus ``train.*`` settings over the config. The test metrics of every
run are compared with the first variant's: equal digits mean the change kept the outputs.

    python benchmarks/scale.py --sizes 1000 --workdir /tmp/pt --stages captions,videos,annotate,build
    python benchmarks/train_stages.py --root /tmp/pt/n1000 --config /tmp/pt/svta-scale-1000.yaml \\
        --variant old=/old/checkout/src --variant new=src --variant new-threads2=src:cpu_threads=2,num_workers=0
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import INDEX_MODEL, PeakSampler, stage_command  # noqa: E402  (the sibling script)

STAGES = ("train", "eval", "index")
PRODUCTS = ("runs", "cache", "index")  # what the measured stages write under the root


def parse_variant(text: str) -> tuple[str, Path, dict[str, object]]:
    """``name=SRC[:key=value,...]`` -> (name, src folder, train settings)."""
    name, _, rest = text.partition("=")
    src, _, settings = rest.partition(":")
    train = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in settings.split(",") if kv)}
    return name, Path(src).resolve(), train


def run_stage(command: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run one stage; wall and CPU seconds, peak tree RSS (MiB), return code."""
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with PeakSampler(process.pid) as sampler:
        _, errors = process.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if process.returncode:
        print(errors.decode("utf-8", "replace")[-2000:], file=sys.stderr)
    return {"wall": wall, "cpu": cpu, "rss_mib": sampler.peak / 2**20, "rc": process.returncode}


def test_metrics(root: Path) -> dict[str, object]:
    """Each run's test metrics (``metrics.json`` without timings)."""
    out = {}
    for path in sorted((root / "runs").glob("*/metrics.json")):
        metrics = json.loads(path.read_text(encoding="utf-8"))
        out[path.parent.name] = {k: metrics[k] for k in ("t2v", "v2t") if k in metrics}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="a root the build stage finished")
    parser.add_argument("--config", type=Path, required=True, help="the scaled config of that root")
    parser.add_argument("--variant", action="append", required=True, help="name=SRC[:key=value,...]")
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--workdir", type=Path, default=None, help="default: beside the root")
    args = parser.parse_args(argv)
    stages = [s for s in args.stages.split(",") if s]
    base = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    workdir = args.workdir or args.root.parent
    first_metrics = None
    print(f"load average before: {os.getloadavg()}")
    for text in args.variant:
        name, src, train = parse_variant(text)
        root = workdir / f"stages-{name}"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(
            args.root, root, ignore=lambda d, names: [n for n in names if d == str(args.root) and n in PRODUCTS]
        )
        config = json.loads(json.dumps(base))
        config["root"] = str(root)
        config["train"].update(train)
        config_path = workdir / f"stages-{name}.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        total_wall = total_cpu = 0.0
        for stage in stages:
            command = stage_command(stage, config_path, root, INDEX_MODEL, config["train"].get("backbone", "tiny"))
            result = run_stage(command, env)
            total_wall, total_cpu = total_wall + result["wall"], total_cpu + result["cpu"]
            print(
                f"{name:<14} {stage:<6} wall {result['wall']:7.1f} s  cpu {result['cpu']:7.1f} s  "
                f"peak RSS {result['rss_mib']:6.0f} MiB  rc {result['rc']}  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            if result["rc"]:
                return 3
        metrics = test_metrics(root)
        first_metrics = metrics if first_metrics is None else first_metrics
        same = "same test metrics as the first variant" if metrics == first_metrics else "test metrics DIFFER"
        print(f"{name:<14} total  wall {total_wall:7.1f} s  cpu {total_cpu:7.1f} s  ({same})", flush=True)
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
