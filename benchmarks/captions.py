"""Caption-stage throughput, each against its baseline in one run.

1. LLM generation: requests/s of the ``openai`` backend against the loopback chat server with a
   fixed per-answer latency (50 ms, as a model would take), concurrency 1 (the baseline) vs 32, on
   the same workload; every answer is parsed, deduplicated and committed as an atomic part.
2. Near-duplicate filtering of 50k captions: svta's blockwise greedy search (bf16 prefilter + fp32
   re-check where the CPU has fast bf16, else fp32) against the naive row-by-row greedy loop (timed
   on a subset and on the full set by extrapolation), plus MiniLM embedding throughput on a sample
   (``--embed-all`` embeds all 50k with MiniLM instead of using clustered synthetic embeddings).

    .venv/bin/python benchmarks/captions.py [--latency 0.05 --requests 128 --captions 50000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


@contextmanager
def server_process(latency: float) -> Iterator[str]:
    """The loopback chat server in its own process, so its threads do not share the client's GIL."""
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[1] / 'tests')!r})\n"  # the test double lives in tests/
        "from fake_chat_server import FakeChatServer\n"
        f"server = FakeChatServer(latency_s={latency}).start()\n"
        "print(server.url, flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def llm_requests_per_second(url: str, concurrency: int, requests: int, batch: int = 5) -> tuple[float, int]:
    """Run a generation of ``requests * batch`` captions; return (requests/s, requests)."""
    from svta.captions.config import CaptionsConfig
    from svta.captions.generate import generate_captions
    from svta.taxonomy import default_taxonomy

    categories = [c.id for c in default_taxonomy()][:16]
    per_category = requests * batch // len(categories)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = CaptionsConfig(backend="openai", per_category=per_category, categories=categories)
        cfg.openai = cfg.openai.model_copy(update={"base_url": url, "batch_size": batch, "concurrency": concurrency})
        started = time.perf_counter()
        result = generate_captions(Path(tmp), cfg, seed=0)
        seconds = time.perf_counter() - started
        assert result.complete, result.to_dict()
        sent = result.stats["requests"]
    return sent / seconds, sent


def clustered_embeddings(n: int, dim: int = 384, dup_rate: float = 0.08, seed: int = 0) -> np.ndarray:
    """Unit rows sharing a common direction (caption embeddings are not orthogonal: pairwise cosine
    ~0.3 here), with ``dup_rate`` of them noisy copies (cosine ~0.97) of an earlier row."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=dim).astype(np.float32)
    x = rng.normal(size=(n, dim)).astype(np.float32) + 0.65 * common / np.linalg.norm(common) * np.sqrt(dim)
    copies = np.flatnonzero(rng.random(n) < dup_rate)
    copies = copies[copies > 0]
    sources = (rng.random(len(copies)) * copies).astype(np.int64)
    x[copies] = x[sources] + rng.normal(scale=0.2, size=(len(copies), dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def naive_greedy(emb: np.ndarray, threshold: float) -> int:
    """Baseline: compare each row with every kept row, one row at a time; returns #duplicates."""
    kept = np.empty_like(emb)
    k = dups = 0
    for row in emb:
        if k and float((kept[:k] @ row).max()) >= threshold:
            dups += 1
        else:
            kept[k] = row
            k += 1
    return dups


def near_dup_benchmark(n: int, subset: int, threshold: float, embed_all: bool) -> None:
    from svta.captions.neardup import _bf16_is_fast, near_duplicates

    texts = template_captions(n) if embed_all else template_captions(1024)
    embed_rate = minilm_rate(texts[:1024])
    print(f"MiniLM embedding: {embed_rate:.0f} captions/s -> {n / embed_rate:.1f} s for {n} captions (CPU)")
    if embed_all:
        from svta.embed import embed_texts

        emb = embed_texts(texts)
        print(f"embedded {len(texts)} real template captions")
    else:
        emb = clustered_embeddings(n)
    small = emb[:subset]
    started = time.perf_counter()
    base_dups = naive_greedy(small, threshold)
    naive_s = time.perf_counter() - started
    dup_of, _ = near_duplicates(small, threshold, fast=False)
    assert int((dup_of >= 0).sum()) == base_dups, "blockwise disagrees with the naive reference"
    timings = {}
    for label, fast in (("fp32", False), ("bf16+fp32", True)):
        started = time.perf_counter()
        dup_of, _ = near_duplicates(emb, threshold, fast=fast)
        timings[label] = (time.perf_counter() - started, int((dup_of >= 0).sum()))
    started = time.perf_counter()
    near_duplicates(small, threshold, fast=False)
    block_small = time.perf_counter() - started
    naive_full = naive_s * (n / subset) ** 2  # both scale with N^2 comparisons
    print(
        f"near-dup, {subset} rows: naive row loop {naive_s:.2f} s vs blockwise fp32 {block_small:.2f} s "
        f"-> {naive_s / block_small:.1f}x"
    )
    for label, (seconds, dups) in timings.items():
        print(
            f"near-dup, {n} rows, blockwise {label}: {seconds:.2f} s ({dups} duplicates) "
            f"vs naive ~{naive_full:.0f} s (extrapolated) -> {naive_full / seconds:.0f}x"
        )
    print(f"bf16 auto-selected on this CPU: {_bf16_is_fast()}")


def template_captions(n: int) -> list[str]:
    from svta.captions.config import CaptionsConfig
    from svta.captions.generate import generate_captions
    from svta.tables import read_table

    with tempfile.TemporaryDirectory() as tmp:
        generate_captions(tmp, CaptionsConfig(per_category=-(-n // 98)), seed=0)
        return read_table(Path(tmp) / "captions.parquet", "captions").column("caption").to_pylist()[:n]


def minilm_rate(texts: list[str]) -> float:
    from svta.embed import embed_texts

    embed_texts(texts[:32])  # load the model outside the timing
    started = time.perf_counter()
    embed_texts(texts)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--requests", type=int, default=128)
    parser.add_argument("--captions", type=int, default=50_000)
    parser.add_argument("--subset", type=int, default=5_000)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--embed-all", action="store_true")
    parser.add_argument("--skip-llm", action="store_true")
    parser.add_argument("--skip-neardup", action="store_true")
    args = parser.parse_args()
    from svta.progress import set_quiet

    set_quiet(True)
    if not args.skip_llm:
        with server_process(args.latency) as url:
            llm_requests_per_second(url, 4, 16)  # warm-up: imports and first connections stay out of the timings
            one, sent = llm_requests_per_second(url, 1, args.requests)
            many, _ = llm_requests_per_second(url, 32, args.requests)
        print(
            f"LLM backend, {sent} requests at {args.latency * 1000:.0f} ms latency (server in its own process): "
            f"concurrency 1 {one:.1f} req/s vs concurrency 32 {many:.1f} req/s -> {many / one:.1f}x"
        )
    if not args.skip_neardup:
        near_dup_benchmark(args.captions, args.subset, args.threshold, args.embed_all)


if __name__ == "__main__":
    main()
