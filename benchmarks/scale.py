"""SVTA at scale: run ``configs/svta-scale.yaml`` at several sizes N and measure every stage.

For each N the config's 98 per-category caption counts are scaled to total N (same long tail, same
anomaly/normal ratio), then each stage runs as its own process (``svta pipeline run CONFIG --stages S``; the
search index with ``svta index``) and is measured: wall time, items/s (N pairs per second), peak RSS of the
whole process tree (the stage and every worker it starts, sampled), and bytes added under the root. Over the
sizes run, the growth exponent of each stage's time and memory is the slope of log(value) against log(N)
(1.0: linear). Results print as Markdown and go to ``--out`` as JSON and Markdown.

    .venv/bin/python benchmarks/scale.py                       # N = 1,000 / 4,000 / 16,000
    .venv/bin/python benchmarks/scale.py --full                # ... and 41,315
    .venv/bin/python benchmarks/scale.py --sizes 200,400 --epochs 1 --out benchmarks/scale-small
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "svta-scale.yaml"
SIZES = (1_000, 4_000, 16_000)
FULL = 41_315
PIPELINE_STAGES = ("captions", "videos", "annotate", "build", "train", "eval")
STAGES = (*PIPELINE_STAGES, "index")
INDEX_MODEL = "clip4clip-seqtransf"  # the run `make scale` indexes with


@dataclass
class StageResult:
    """One stage at one size."""

    stage: str
    n: int
    seconds: float
    peak_rss: int  # bytes, the process tree's largest sampled total
    disk: int  # bytes added under the root
    returncode: int
    error: str = ""

    @property
    def items_per_s(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else float("nan")


def scaled_counts(counts: dict[str, int], total: int) -> dict[str, int]:
    """Per-category counts in the same proportions summing exactly to ``total`` (largest remainder; every
    category keeps at least one caption while ``total`` allows it; ``total`` = the sum gives ``counts`` back)."""
    keys, whole = list(counts), sum(counts.values())
    shares = {k: counts[k] * total / whole for k in keys}
    out = {k: math.floor(shares[k]) for k in keys}
    if total >= len(keys):
        out = {k: max(1, v) for k, v in out.items()}
    leftover = total - sum(out.values())
    by_remainder = sorted(keys, key=lambda k: (out[k] - shares[k], keys.index(k)))  # largest remainder first
    for k in by_remainder[: max(0, leftover)]:
        out[k] += 1
    for k in sorted(keys, key=lambda k: -out[k])[: max(0, -leftover)]:  # the floor of 1 overshot: trim the largest
        out[k] -= 1
    return out


def scaled_config(base: dict, n: int, root: Path, epochs: int | None = None) -> dict:
    """The base config (a YAML mapping) at size ``n`` with its root at ``root``."""
    config = json.loads(json.dumps(base))  # a deep copy
    config["root"] = str(root)
    config["captions"]["counts"] = scaled_counts(base["captions"]["counts"], n)
    if epochs is not None:
        config["train"]["epochs"] = epochs
    return config


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants now (0 once it has exited)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:  # exited between listing and reading
            continue
    return total


class PeakSampler:
    """Samples :func:`tree_rss` of a process in a thread until stopped; ``peak`` is the largest total."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval, self.peak = pid, interval, 0
        self.samples = 0  # samples taken so far
        self._sampled = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            rss = tree_rss(self.pid)
            with self._sampled:
                self.peak, self.samples = max(self.peak, rss), self.samples + 1
                self._sampled.notify_all()
            if self._stop.wait(self.interval):
                return

    def wait_for_sample(self, timeout: float | None = None) -> bool:
        """Block until a sample that began after this call is counted in ``peak`` (False: ``timeout`` passed
        first). The sample in progress at the call may have read the tree before it, so the next one is awaited."""
        with self._sampled:
            target = self.samples + 2
            return self._sampled.wait_for(lambda: self.samples >= target, timeout)


def run_measured(command: Sequence[str], interval: float = 0.2) -> tuple[float, int, int, str]:
    """Run ``command``; ``(seconds, peak tree RSS bytes, return code, last stderr line)``."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(list(command), stdout=subprocess.DEVNULL, stderr=errors)
        with PeakSampler(process.pid, interval) as sampler:
            returncode = process.wait()
        seconds = time.perf_counter() - start
        errors.seek(0)
        lines = errors.read().decode("utf-8", "replace").strip().splitlines()
    return seconds, sampler.peak, returncode, lines[-1] if lines else ""


def dir_bytes(path: Path) -> int:
    """Bytes of the regular files below ``path``."""
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                continue
    return total


def growth_exponent(sizes: Sequence[int], values: Sequence[float]) -> float | None:
    """Least-squares slope of log(value) on log(size); None without two positive points at distinct sizes."""
    points = [(math.log(n), math.log(v)) for n, v in zip(sizes, values) if n > 0 and v > 0]
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return num / sum((x - mean_x) ** 2 for x, _ in points)


def stage_command(stage: str, config_path: Path, root: Path, model: str, backbone: str) -> list[str]:
    svta = [sys.executable, "-m", "svta.cli.main", "-q"]
    if stage == "index":
        run = f"{model}-{backbone}".replace("/", "-")
        return [
            *svta,
            "--config",
            str(config_path),
            "index",
            "--root",
            str(root),
            "--run",
            run,
            "--out",
            str(root / "index"),
            "--workers",  # the config's two engine workers are for rendering; the index was measured on one
            "1",
        ]
    return [*svta, "pipeline", "run", str(config_path), "--stages", stage]


def run_size(base: dict, n: int, workdir: Path, stages: Sequence[str], epochs: int | None) -> list[StageResult]:
    """Every stage of the config at size ``n`` under ``workdir/n<N>``; stops at the first failing stage."""
    root = workdir / f"n{n}"
    config = scaled_config(base, n, root, epochs)
    config_path = workdir / f"svta-scale-{n}.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    root.mkdir(parents=True, exist_ok=True)
    results = []
    for stage in stages:
        before = dir_bytes(root)
        command = stage_command(stage, config_path, root, INDEX_MODEL, config["train"].get("backbone", "tiny"))
        seconds, peak, returncode, last = run_measured(command)
        result = StageResult(stage, n, seconds, peak, dir_bytes(root) - before, returncode, last if returncode else "")
        results.append(result)
        print(
            f"  N={n:>6} {stage:<9} {seconds:8.1f} s  {result.items_per_s:9.1f} items/s  "
            f"peak RSS {peak / 2**20:7.0f} MiB  disk +{result.disk / 2**20:7.1f} MiB  rc {returncode}",
            flush=True,
        )
        if returncode != 0:
            print(f"    stopped: {last}", flush=True)
            break
    return results


def exponents(results: Sequence[StageResult]) -> dict[str, dict[str, float | None]]:
    """Per stage: growth exponents of time and of peak RSS over the sizes where it succeeded."""
    out = {}
    for stage in dict.fromkeys(r.stage for r in results):
        ok = [r for r in results if r.stage == stage and r.returncode == 0]
        out[stage] = {
            "time": growth_exponent([r.n for r in ok], [r.seconds for r in ok]),
            "rss": growth_exponent([r.n for r in ok], [r.peak_rss for r in ok]),
        }
    return out


def markdown(results: Sequence[StageResult], growth: dict[str, dict[str, float | None]]) -> str:
    """The "Scale" table: a row per stage, time / items/s / peak RSS / disk per N, then the exponents."""
    sizes = sorted({r.n for r in results})
    by = {(r.stage, r.n): r for r in results}
    head = "| stage | " + " | ".join(f"N={n:,}: s · items/s · RSS MiB · disk MiB" for n in sizes)
    lines = [head + " | time exp. | RSS exp. |", "|---" * (len(sizes) + 3) + "|"]
    for stage in dict.fromkeys(r.stage for r in results):
        cells = []
        for n in sizes:
            r = by.get((stage, n))
            if r is None:
                cells.append("—")
            elif r.returncode:
                cells.append(f"failed (rc {r.returncode})")
            else:
                cells.append(f"{r.seconds:.1f} · {r.items_per_s:.1f} · {r.peak_rss / 2**20:.0f} · {r.disk / 2**20:.1f}")
        fmt = [f"{v:.2f}" if v is not None else "—" for v in (growth[stage]["time"], growth[stage]["rss"])]
        lines.append(f"| {stage} | " + " | ".join(cells) + f" | {fmt[0]} | {fmt[1]} |")
    totals = [sum(by[(s, n)].seconds for s in STAGES if (s, n) in by) for n in sizes]
    lines.append(
        "| **whole run** | "
        + " | ".join(f"{t:.0f} s" for t in totals)
        + " | "
        + (f"{growth_exponent(sizes, totals):.2f}" if len(sizes) > 1 else "—")
        + " | |"
    )
    return "\n".join(lines)


def merged_results(path: Path, skip_sizes: Sequence[int], stages: Sequence[str]) -> list[StageResult]:
    """The stages of an earlier ``--out`` JSON at sizes not in ``skip_sizes``."""
    payload = json.loads(path.read_text(encoding="utf-8"))
    rows = [StageResult(**row) for row in payload["stages"]]
    return [r for r in rows if r.n not in skip_sizes and r.stage in stages]


def machine_note() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs, {memory:.0f} GiB RAM, load average {load}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES), help="comma-separated N")
    parser.add_argument("--full", action="store_true", help=f"also N = {FULL:,} (about 36 min on 2 idle cores)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"subset of {','.join(STAGES)}")
    parser.add_argument("--epochs", type=int, default=None, help="override train.epochs (the config says 3)")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the roots here (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=None, help="write <out>.json and <out>.md")
    parser.add_argument(
        "--merge",
        type=Path,
        action="append",
        default=[],
        help="an earlier run's <out>.json: its sizes not run now join the table and the exponents",
    )
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s} | ({FULL} if args.full else set()))
    stages = [s for s in args.stages.split(",") if s]
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not sizes or min(sizes) < 1:
        parser.error(f"stages must be among {', '.join(STAGES)} (got {unknown}); sizes must be >= 1")
    base = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    print(f"machine: {machine_note()}; config {args.config.name}; sizes {sizes}; stages {', '.join(stages)}")
    with tempfile.TemporaryDirectory(prefix="svta-scale-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = [r for n in sizes for r in run_size(base, n, workdir, stages, args.epochs)]
    for path in args.merge:
        earlier = merged_results(path, sizes, stages)
        print(f"merged from {path}: N = {sorted({r.n for r in earlier})}")
        results += earlier
    growth = exponents(results)
    table = markdown(results, growth)
    print(table)
    print(f"machine after: {machine_note()}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "machine": machine_note(),
            "sizes": sorted({r.n for r in results}),
            "stages": [asdict(r) for r in results],
            "exponents": growth,
        }
        args.out.with_suffix(".json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
        args.out.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    return 0 if all(r.returncode == 0 for r in results) else 3


if __name__ == "__main__":
    sys.exit(main())
