"""Retrieval metrics at scale: svta's streamed evaluation against the reference approach.

The reference (CLIP4Clip / X-CLIP ``compute_metrics``) materialises the N×N similarity matrix,
sorts every row of S and of Sᵀ, and reads where the diagonal lands. svta streams blocks of the
product and only counts, per query, the candidates above the ground truth. Each contender runs in
its own child process (peak RSS from ``resource.getrusage``) on the same seeded D=512 embeddings;
a third child times one bare N×N product, the floor of any exact evaluation. The script checks
that both give identical T2V and V2T metrics.

    .venv/bin/python benchmarks/metrics.py [--n 20000] [--full] [--device cpu] [--block 1024]

``--full`` also runs svta alone at N = 41,315 (the whole SVTA benchmark); the reference is not run
there: its memory is extrapolated from the measured run as (41,315 / N)² × its matrix-sized peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

SVTA_N = 41_315
KEYS = ("R1", "R5", "R10", "MdR", "MnR")


def embeddings(n: int, dim: int, seed: int):
    """Seeded text/video embeddings, L2-normalised in float32 (identical in every child)."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    text = torch.from_numpy(rng.standard_normal((n, dim), dtype=np.float32))
    # each video = its text + noise, scaled so R@1 lands near the paper's ~50% rather than 0 or 100
    video = text + torch.from_numpy(rng.standard_normal((n, dim), dtype=np.float32)) * 4.5
    return torch.nn.functional.normalize(text, dim=1), torch.nn.functional.normalize(video, dim=1)


def reference_metrics(x) -> dict:
    """The reference metric: sort each row of -x, find the diagonal value's position(s)."""
    import numpy as np

    sx = np.sort(-x, axis=1)
    d = np.diag(-x)[:, np.newaxis]
    ind = np.where(sx - d == 0)[1]
    return {
        "R1": float(np.sum(ind == 0)) * 100 / len(ind),
        "R5": float(np.sum(ind < 5)) * 100 / len(ind),
        "R10": float(np.sum(ind < 10)) * 100 / len(ind),
        "MdR": float(np.median(ind) + 1),
        "MnR": float(np.mean(ind) + 1),
    }


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(role: str, n: int, dim: int, seed: int, block: int | None, device: str) -> dict:
    """One contender, run inside its own process."""
    import torch

    text, video = embeddings(n, dim, seed)
    if device.startswith("cuda"):  # start the CUDA context outside the timed region
        torch.zeros(1, device=device)
        torch.cuda.synchronize()
    setup_mib = peak_rss_mib()
    start = time.perf_counter()
    if role == "svta":
        from svta.eval.streaming import evaluate_embeddings

        result = evaluate_embeddings(text, video, normalize=False, block=block, device=device).to_dict()
    elif role == "reference":
        sim = (text @ video.T).numpy()
        result = {"t2v": reference_metrics(sim), "v2t": reference_metrics(sim.T)}
    else:  # one bare N×N product: the floor for any exact evaluation
        dev = torch.device(device)
        sim = text.to(dev) @ video.to(dev).T
        if dev.type == "cuda":
            torch.cuda.synchronize()
        result = {}
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "role": role,
        "n": n,
        "seconds": seconds,
        "peak_mib": peak_rss_mib(),
        "setup_mib": setup_mib,
        "metrics": {d: {k: result[d][k] for k in KEYS} for d in result},
    }


def run_child(role: str, args: argparse.Namespace, n: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--role",
        role,
        "--n",
        str(n),
        "--dim",
        str(args.dim),
        "--seed",
        str(args.seed),
        "--device",
        args.device,
    ] + (["--block", str(args.block)] if args.block else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=_quiet_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


def _quiet_env() -> dict:
    import os

    return {**os.environ, "SVTA_QUIET": "1"}


def report(ours: dict, ref: dict | None, floor: dict) -> None:
    n = ours["n"]
    print(f"\nN = {n:,} (D = 512), device = {ours.get('device', 'cpu')}")
    rows = [("svta streamed", ours), ("one N×N product", floor)] + ([("reference", ref)] if ref else [])
    for name, r in rows:
        extra = r["peak_mib"] - r["setup_mib"]
        print(
            f"  {name:16s} {r['seconds']:8.2f} s   peak RSS {r['peak_mib']:9.0f} MiB "
            f"(+{extra:8.0f} MiB over setup {r['setup_mib']:.0f} MiB)"
        )
    print(f"  svta / product time: {ours['seconds'] / floor['seconds']:.2f}x")
    if ref:
        same = ours["metrics"] == ref["metrics"]
        print(
            f"  speed-up vs reference: {ref['seconds'] / ours['seconds']:.1f}x   "
            f"peak RSS: {ref['peak_mib'] / ours['peak_mib']:.1f}x lower "
            f"(above setup: reference +{ref['peak_mib'] - ref['setup_mib']:.0f} MiB, "
            f"svta +{ours['peak_mib'] - ours['setup_mib']:.0f} MiB)"
        )
        print(f"  identical metrics: {same}")
        if not same:
            print("   svta:     ", json.dumps(ours["metrics"]))
            print("   reference:", json.dumps(ref["metrics"]))
    print("  svta metrics:", json.dumps(ours["metrics"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--block", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--full", action="store_true", help=f"also run svta alone at N = {SVTA_N:,}")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--role", choices=["svta", "reference", "product"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        print(json.dumps(child(args.role, args.n, args.dim, args.seed, args.block, args.device)))
        return
    ours, floor = run_child("svta", args, args.n), run_child("product", args, args.n)
    ref = None if args.skip_reference else run_child("reference", args, args.n)
    ours["device"] = args.device
    report(ours, ref, floor)
    if args.full:
        big, big_floor = run_child("svta", args, SVTA_N), run_child("product", args, SVTA_N)
        big["device"] = args.device
        report(big, None, big_floor)
        if ref:
            scale = (SVTA_N / args.n) ** 2
            est = ref["setup_mib"] + (ref["peak_mib"] - ref["setup_mib"]) * scale
            print(
                f"  reference at N = {SVTA_N:,} (not run): ~{est / 1024:.1f} GiB peak RSS estimated "
                f"({scale:.2f}x the measured matrix-sized memory); svta peak {big['peak_mib'] / 1024:.2f} GiB"
            )


if __name__ == "__main__":
    main()
