"""Run every benchmark in one command and print each one's comparison against its baseline.

    python benchmarks/run_all.py            # the CPU set, sized for a 2-core machine (~15-25 min)
    python benchmarks/run_all.py --quick    # smaller sizes, for a smoke run (~5 min)
    python benchmarks/run_all.py --only decode,metrics

Each benchmark runs as its own process (so peak-memory figures are its own). GPU-only modes
(`render.py --wan-random-full-size`, `train_step.py --device cuda --backbone ViT-B-32`) are run by
hand on a GPU machine; see RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (full-size arguments, quick arguments); the baseline each one compares against is in its docstring
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "decode": ([], ["--clips", "8", "--repeats", "1"]),
    "resize": ([], ["--repeats", "3"]),
    "rgb_convert": ([], ["--clips", "0.2", "--repeats", "1"]),
    "metrics": (["--full"], ["--n", "5000"]),
    "captions": ([], ["--requests", "64", "--captions", "10000", "--subset", "1000"]),
    "render": (["--clips", "48"], ["--clips", "12", "--steps", "4"]),
    "annotate": ([], ["--captions", "256", "--llm-captions", "64", "--tags", "5000", "--exact-n", "2000"]),
    "train_step": ([], ["--steps", "3", "--clips", "48"]),
    "eval_pairwise": ([], ["--n", "128", "--repeats", "1"]),
    "search": ([], ["--requests", "300"]),
    "frame_cache": ([], ["--clips", "300", "--steps", "10", "--rounds", "2"]),
    "commit_interval": ([], ["--clips", "16", "--rows", "300"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--only", default=None, help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "SVTA_QUIET": "1"}
    failed = []
    for name in names:
        full, quick = BENCHMARKS[name]
        command = [sys.executable, str(HERE / f"{name}.py"), *(quick if args.quick else full)]
        print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(command, env=env)
        print(f"=== {name}: exit {code} in {time.perf_counter() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
