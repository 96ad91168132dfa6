"""Search over a real index (built by `svta search index` with a trained model): the two-stage search's
recall@10 against the exact scan on captions of the root as queries, then a bounded HTTP load run of
`svta search serve` in both modes (the same client as ``benchmarks/search.py``, queries encoded by the model).

    .venv/bin/python benchmarks/search_index.py --index svta-scale/index --root svta-scale \
        [--queries 1000 --requests 2000 --concurrency 8 --seconds 60]

Prints recall@10 and p50/p95/p99 per mode; exits non-zero if any request failed.
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


def recall_at_10(index_dir: Path, root: Path, n_queries: int, seed: int) -> tuple[float, float, float]:
    """(recall@10 of two-stage vs exact, exact ms per query, two-stage ms per query) on ``n_queries`` captions."""
    from svta.search.config import SearchConfig
    from svta.search.searcher import Searcher
    from svta.tables import read_records, table_path

    rows = read_records(table_path(root, "manifest"), "manifest")
    rng = np.random.default_rng(seed)
    captions = [rows[i]["caption"] for i in rng.choice(len(rows), size=min(n_queries, len(rows)), replace=False)]
    exact = Searcher.open(index_dir, config=SearchConfig(two_stage=False, coalesce_queries=False))
    queries = exact.embed_queries(captions)
    staged = Searcher(exact.index, exact.encoder, SearchConfig(two_stage=True, coalesce_queries=False))
    timings = []
    results = []
    for searcher in (exact, staged):
        start = time.perf_counter()
        got = [searcher.search_vectors(queries[i : i + 1], 10)[1][0] for i in range(len(queries))]
        timings.append((time.perf_counter() - start) / len(queries) * 1e3)
        results.append(got)
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(*results)]))
    return recall, timings[0], timings[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an index folder built by `svta search index`")
    parser.add_argument("--root", type=Path, required=True, help="the dataset root (its captions are the queries)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--k", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0, help="most seconds of load per server mode")
    args = parser.parse_args()
    print(f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    recall, exact_ms, staged_ms = recall_at_10(args.index, args.root, args.queries, args.seed)
    print(
        f"recall@10 of the two-stage search against the exact scan, {args.queries} captions: {recall:.4f} "
        f"(exact {exact_ms:.2f} ms, two-stage {staged_ms:.2f} ms per query; {exact_ms / staged_ms:.1f}x)"
    )
    errors = 0
    for label, mode in (("two-stage (default)", {"two_stage": "true"}), ("exact", {"two_stage": "false"})):
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
