"""Search against the exact scan: at several index sizes (seeded synthetic clips written through the index
store), and over a real index (built by `svta search index` with a trained model, its root's captions as
queries), the share of queries whose top 10 equals the exact scan's and recall@10, for the default search and
for the approximate first stage forced on; then a bounded HTTP load run of `svta search serve` in both modes
(the same client as ``benchmarks/search.py``, queries encoded by the model).

    .venv/bin/python benchmarks/search_index.py --sizes 50,98,1000,5000,41315
    .venv/bin/python benchmarks/search_index.py --index svta-scale/index --root svta-scale \
        [--queries 1000 --requests 2000 --concurrency 8 --seconds 60]

Exits non-zero if any answer held fewer than min(k, matching) results, or any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import free_port, load_run, start_server, wait_ready  # noqa: E402  (the same client and server)

MODES = {"default": {}, "first stage forced": {"two_stage_min_items": 0}}


def agreement(index: object, encoder: object, queries: np.ndarray) -> dict[str, tuple[float, float, float, int]]:
    """Per search mode: (share of queries whose top-10 set equals the exact scan's, recall@10, ms per query,
    answers shorter than min(k, matching) over k in 10/100/N+5 and the three kinds)."""
    from svta.search.config import SearchConfig
    from svta.search.searcher import KINDS, Searcher

    exact = Searcher(index, encoder, SearchConfig(two_stage=False, coalesce_queries=False))
    truth = [set(row) for row in exact.search_vectors(queries, 10)[1]]
    out = {}
    for label, settings in MODES.items():
        searcher = Searcher(index, encoder, SearchConfig(coalesce_queries=False, **settings))
        start = time.perf_counter()
        got = [set(searcher.search_vectors(queries[i : i + 1], 10)[1][0]) for i in range(len(queries))]
        ms = (time.perf_counter() - start) / len(queries) * 1e3
        equal = float(np.mean([a == b for a, b in zip(got, truth)]))
        recall = float(np.mean([len(a & b) / len(b) for a, b in zip(got, truth)]))
        short = 0
        for kind in KINDS:
            for k in (10, 100, len(searcher) + 5):
                rows = searcher.search_vectors(queries[:20], k, kind)[1]  # type: ignore[arg-type]
                short += int(((rows >= 0).sum(axis=1) < min(k, searcher.counts()[kind])).sum())
        out[label] = (equal, recall, ms, short)
    return out


def synthetic_index(directory: Path, n: int, dim: int, seed: int) -> tuple[object, object, np.ndarray]:
    """``(loaded index, encoder, queries [200, D])``: ``n`` clips around 98 category directions (cosine ~0.5 to
    theirs, ~69% anomalies), written through the index store; queries around the same directions."""
    from svta.search.encoders import HashingEncoder, VideoEmbeddings, l2_normalize
    from svta.search.store import IndexStore

    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.standard_normal((98, dim)))

    def around(count: int) -> np.ndarray:
        noise = rng.standard_normal((count, dim)) / np.sqrt(dim)
        return l2_normalize(centres[rng.integers(0, 98, count)] + 1.7 * noise).astype(np.float32)

    video, queries = around(n), around(200)
    encoder = HashingEncoder(dim=dim, num_frames=1)
    store = IndexStore.open_or_create(directory, encoder.spec(), dim, 1, directory)
    anomaly = rng.random(n) < 68 / 98
    rows = [
        {
            "id": f"c{i:06d}",
            "path": f"c{i}.mp4",
            "caption": None,
            "category": None,
            "is_anomaly": bool(a),
            "thumbnail": False,
        }
        for i, a in enumerate(anomaly)
    ]
    store.write_part(rows, VideoEmbeddings(video, video[:, None, :], np.ones((n, 1), bool), None))
    store.compact()
    return store.load(), encoder, queries


def report_sizes(sizes: list[int], dim: int, seed: int) -> int:
    """Print one row per size and mode; returns the number of short answers."""
    import tempfile

    short_total = 0
    print("| clips | search | top-10 = exact (200 queries) | recall@10 | ms / query | short answers |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            index, encoder, queries = synthetic_index(Path(tmp) / "idx", n, dim, seed + n)
            for label, (equal, recall, ms, short) in agreement(index, encoder, queries).items():
                short_total += short
                print(f"| {n:,} | {label} | {equal:.1%} | {recall:.4f} | {ms:.2f} | {short} |")
    return short_total


def real_index_agreement(index_dir: Path, root: Path, n_queries: int, seed: int) -> int:
    """Print the agreement table of a real index on ``n_queries`` captions; returns the number of short answers."""
    from svta.search.searcher import Searcher
    from svta.tables import read_records, table_path

    rows = read_records(table_path(root, "manifest"), "manifest")
    rng = np.random.default_rng(seed)
    captions = [rows[i]["caption"] for i in rng.choice(len(rows), size=min(n_queries, len(rows)), replace=False)]
    searcher = Searcher.open(index_dir)
    queries = searcher.embed_queries(captions)
    short_total = 0
    print(f"{len(searcher):,} clips, {len(captions)} captions as queries")
    for label, (equal, recall, ms, short) in agreement(searcher.index, searcher.encoder, queries).items():
        short_total += short
        print(f"  {label:<30} | top-10 = exact {equal:.1%} | recall@10 {recall:.4f} | {ms:.2f} ms | short {short}")
    return short_total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated index sizes of synthetic clips, e.g. 50,98,1000,41315")
    parser.add_argument("--dim", type=int, default=128, help="embedding width of the synthetic clips")
    parser.add_argument("--index", type=Path, help="an index folder built by `svta search index`")
    parser.add_argument("--root", type=Path, help="the dataset root (its captions are the queries)")
    parser.add_argument("--no-load", dest="load", action="store_false", help="skip the HTTP load run")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--k", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0, help="most seconds of load per server mode")
    args = parser.parse_args()
    if (args.index is None) != (args.root is None) or (args.index is None and not args.sizes):
        parser.error("give --sizes, or --index with --root, or both")
    print(f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    short = report_sizes([int(s) for s in args.sizes.split(",")], args.dim, args.seed) if args.sizes else 0
    if args.index is not None:
        short += real_index_agreement(args.index, args.root, args.queries, args.seed)
    errors = short
    if args.index is None or not args.load:
        print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        return 1 if errors else 0
    modes = {"default": {}, "first stage forced": {"two_stage_min_items": "0"}, "exact": {"two_stage": "false"}}
    for label, mode in modes.items():
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(args.index, port, mode)
        try:
            wait_ready(url, proc)
            latencies, failed, elapsed = asyncio.run(
                load_run(url, args.requests, args.concurrency, args.k, args.seed, args.seconds)
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        ms = np.array(latencies) * 1e3
        errors += failed
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        print(
            f"  {label:<20} | {len(ms) / elapsed:6.1f} requests/s | p50 {p50:6.1f} ms | p95 {p95:6.1f} ms | "
            f"p99 {p99:6.1f} ms | {len(ms)} requests | errors {failed}"
        )
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
