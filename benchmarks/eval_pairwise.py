"""X-CLIP pairwise similarity on CPU: svta's blockwise scoring against the naive ways, in pairs per second.

X-CLIP's frame-word score builds a ``[texts, words, videos, frames]`` similarity tensor. Three contenders
score the same seeded features (D = 512, 32 words, 12 frames, X-CLIP's ViT-B sizes), each in its own child
process (peak RSS from ``resource.getrusage``):

- ``blockwise``: :func:`svta.retrieval.xclip.xclip_logits` with its default block budget;
- ``one-block``: the same equations over the whole N x N matrix at once (X-CLIP's formulation);
- ``per-pair``: one call per (text, video) pair, on a sample of texts (the naive pairwise loop).

The script checks the three agree on the texts they all score, then prints throughput and ratios.

    .venv/bin/python benchmarks/eval_pairwise.py [--n 256] [--threads 2] [--repeats 3] [--sweep]

``--sweep`` also times blockwise scoring at several block budgets (the default is the smallest fast one).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

WORDS, FRAMES, DIM = 32, 12, 512


def features(n: int, seed: int):
    """Seeded unit features and re-mixing matrices near the identity (identical in every child)."""
    import torch
    import torch.nn.functional as F

    from svta.retrieval.base import TextFeatures, VideoFeatures
    from svta.retrieval.xclip import XCLIPWeights

    g = torch.Generator().manual_seed(seed)

    def unit(*shape: int) -> torch.Tensor:
        return F.normalize(torch.randn(*shape, generator=g), dim=-1)

    mask = torch.ones(n, WORDS, dtype=torch.long)
    mask[:, 20:] = 0  # captions shorter than 32 tokens, as most are
    text = TextFeatures(embeds=unit(n, DIM), tokens=unit(n, WORDS, DIM), mask=mask)
    video = VideoFeatures(
        embeds=unit(n, DIM), frames=unit(n, FRAMES, DIM), mask=torch.ones(n, FRAMES, dtype=torch.long)
    )
    sizes = {"global_mat_weight": DIM, "local_mat_weight": DIM}
    weights = XCLIPWeights(
        *(torch.eye(sizes.get(name, WORDS if "word" in name else FRAMES)) for name in XCLIPWeights._fields)
    )
    return text, video, weights


def child(role: str, n: int, seed: int, threads: int, budget: int | None, sample: int, repeats: int) -> dict:
    """One contender, run inside its own process."""
    import torch

    from svta.retrieval.xclip import DEFAULT_BLOCK_ELEMENTS, xclip_logits

    torch.set_num_threads(threads)
    text, video, weights = features(n, seed)
    setup_mib = peak_rss_mib()
    times = []
    with torch.no_grad():
        xclip_logits(weights, text[:2], video[:2], 100.0)  # warm-up: first-call allocations
        for _ in range(1 if role == "per-pair" else repeats):  # best of: the machine may be shared
            start = time.perf_counter()
            if role == "per-pair":
                rows = [
                    [
                        xclip_logits(weights, text[i : i + 1], video[j : j + 1], 100.0, block_elements=None).item()
                        for j in range(n)
                    ]
                    for i in range(sample)
                ]
                logits, pairs = torch.tensor(rows), sample * n
            else:
                block = None if role == "one-block" else (budget or DEFAULT_BLOCK_ELEMENTS)
                logits, pairs = xclip_logits(weights, text, video, 100.0, block_elements=block), n * n
            times.append(time.perf_counter() - start)
    return {
        "role": role,
        "budget": budget,
        "n": n,
        "pairs": pairs,
        "seconds": min(times),
        "peak_mib": peak_rss_mib(),
        "setup_mib": setup_mib,
        "head": logits[:sample].tolist(),
    }


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_child(role: str, args: argparse.Namespace, budget: int | None = None) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--role",
        role,
        "--n",
        str(args.n),
        "--seed",
        str(args.seed),
        "--threads",
        str(args.threads),
        "--sample",
        str(args.sample),
        "--repeats",
        str(args.repeats),
    ]
    cmd += ["--budget", str(budget)] if budget else []
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "SVTA_QUIET": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def line(name: str, r: dict) -> str:
    rate = r["pairs"] / r["seconds"]
    return (
        f"  {name:22s} {rate:12,.0f} pairs/s   {r['seconds']:7.2f} s for {r['pairs']:,} pairs   "
        f"peak RSS +{r['peak_mib'] - r['setup_mib']:7.0f} MiB over setup"
    )


def max_difference(a: dict, b: dict) -> float:
    return max(abs(x - y) for ra, rb in zip(a["head"], b["head"]) for x, y in zip(ra, rb))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="texts = videos (the matrix is n x n)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sample", type=int, default=2, help="texts the per-pair loop scores (against all videos)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each block contender (best kept)")
    parser.add_argument("--sweep", action="store_true", help="also time several block budgets")
    parser.add_argument("--role", choices=["blockwise", "one-block", "per-pair"], help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        print(json.dumps(child(args.role, args.n, args.seed, args.threads, args.budget, args.sample, args.repeats)))
        return
    ours, whole, pairwise = (run_child(role, args) for role in ("blockwise", "one-block", "per-pair"))
    print(
        f"\nX-CLIP similarity, {args.n} x {args.n} pairs, D = {DIM}, {WORDS} words, {FRAMES} frames, "
        f"CPU, {args.threads} thread(s)"
    )
    for name, r in (("svta blockwise", ours), ("naive: one block", whole), ("naive: pair by pair", pairwise)):
        print(line(name, r))
    rate = {k: r["pairs"] / r["seconds"] for k, r in (("ours", ours), ("whole", whole), ("pair", pairwise))}
    print(
        f"  blockwise vs one block:    {rate['ours'] / rate['whole']:.2f}x throughput, "
        f"{(whole['peak_mib'] - whole['setup_mib']) / max(ours['peak_mib'] - ours['setup_mib'], 1):.1f}x "
        f"less memory above setup"
    )
    print(f"  blockwise vs pair by pair: {rate['ours'] / rate['pair']:.1f}x throughput")
    print(
        f"  max |difference| on the first {args.sample} texts: vs one block {max_difference(ours, whole):.2e}, "
        f"vs pair by pair {max_difference(ours, pairwise):.2e}"
    )
    if args.sweep:
        print("  block budget sweep (elements of the [texts, words, videos, frames] tensor):")
        for shift in (18, 20, 22, 24):
            print(line(f"budget 2^{shift}", run_child("blockwise", args, 1 << shift)))


if __name__ == "__main__":
    main()
