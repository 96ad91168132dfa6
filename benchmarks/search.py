"""Search service at SVTA scale: a bounded HTTP load run against a 41,315-video index, FAISS against
brute-force numpy top-k on the same vectors, and the two-stage search (IVF-SQ8 candidates re-scored exactly)
against the exact ranking: recall@10 on 1,000 queries and its latency.

The index holds seeded synthetic embeddings (D=512) shaped like a trained model's: each clip lies around one of
98 category directions (cosine ~0.5 to it) and its frames around the clip; the recall queries are other points
around the same directions, like captions of those categories. They are committed through the real index store;
HTTP queries are embedded by the model-free hashing encoder, so the load run measures the service (HTTP,
validation, encoding a query, top-k, per-frame relevance, JSON) rather than a model. The server runs in its own
process (``svta serve``) and a client with ``--concurrency`` connections sends ``--requests`` distinct queries
over loopback. The script exits non-zero if any request fails.

    .venv/bin/python benchmarks/search.py [--videos 41315 --dim 512 --frames 12 --requests 2000 --concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SVTA_VIDEOS = 41_315
ANOMALY_SHARE = 25_170 / 41_315  # the SVTA benchmark's anomaly : normal ratio
WORDS = [
    "man",
    "woman",
    "child",
    "car",
    "cyclist",
    "dog",
    "crowd",
    "fence",
    "night",
    "street",
    "store",
    "fire",
    "smoke",
    "fight",
    "falls",
    "runs",
    "climbs",
    "throws",
    "steals",
    "shouting",
    "explosion",
    "water",
    "crash",
    "walking",
    "talking",
    "shopping",
    "phone",
    "riding",
]


CATEGORIES = 98
CLIP_SPREAD = 1.5  # noise norm around a category direction of norm 1: cosine ~0.55 to it
FRAME_SPREAD = 0.5  # noise norm of a frame around its clip


def category_directions(dim: int, seed: int) -> np.ndarray:
    """``[98, D]`` unit category directions shared by the index and the recall queries."""
    from svta.search.encoders import l2_normalize

    return l2_normalize(np.random.default_rng(seed + 7).standard_normal((CATEGORIES, dim), dtype=np.float32))


def around(centres: np.ndarray, spread: float, rng: np.random.Generator) -> np.ndarray:
    """Unit points at a random offset of norm ~``spread`` from each row of ``centres`` (any leading shape)."""
    from svta.search.encoders import l2_normalize

    dim = centres.shape[-1]
    return l2_normalize(centres + rng.standard_normal(centres.shape, dtype=np.float32) * spread / np.sqrt(dim))


def build_index(directory: Path, videos: int, dim: int, frames: int, seed: int) -> float:
    """Write a ``videos``-row index of clustered unit embeddings with the real store; returns seconds."""
    from svta.search.encoders import HashingEncoder, VideoEmbeddings, pool_frames
    from svta.search.store import IndexStore

    start = time.perf_counter()
    encoder = HashingEncoder(dim=dim, num_frames=frames)
    store = IndexStore.open_or_create(directory, encoder.spec(), dim, frames, directory)
    rng = np.random.default_rng(seed)
    directions = category_directions(dim, seed)
    chunk = 4096
    for first in range(0, videos, chunk):
        n = min(chunk, videos - first)
        clips = around(directions[rng.integers(0, CATEGORIES, n)], CLIP_SPREAD, rng)
        frame_emb = around(np.repeat(clips[:, None], frames, axis=1), FRAME_SPREAD, rng)
        mask = np.ones((n, frames), dtype=bool)
        times = np.tile(np.arange(frames, dtype=np.float32) / 2.0, (n, 1))
        is_anomaly = rng.random(n) < ANOMALY_SHARE
        records = [
            {
                "id": f"v{first + i:06d}",
                "path": f"videos/v{first + i:06d}.mp4",
                "caption": f"synthetic clip {first + i}",
                "category": "anomaly-x" if a else "normal-y",
                "is_anomaly": bool(a),
                "thumbnail": False,
            }
            for i, a in enumerate(is_anomaly)
        ]
        store.write_part(records, VideoEmbeddings(pool_frames(frame_emb, mask), frame_emb, mask, times))
    store.compact()
    return time.perf_counter() - start


def two_stage_recall(index_dir: Path, args: argparse.Namespace) -> list[tuple[int, float, float, float, float]]:
    """``(probe, recall@10, two-stage ms, exact ms, build s)`` per probe: 1,000 category queries, batches of 8."""
    import faiss

    from svta.search.store import IndexStore
    from svta.search.two_stage import TwoStageIndex

    faiss.omp_set_num_threads(1)
    faiss.cvar.distance_compute_blas_threshold = 4  # what the searcher sets
    flat = IndexStore(index_dir).load().vectors
    rng = np.random.default_rng(args.seed + 3)
    queries = around(category_directions(args.dim, args.seed)[rng.integers(0, CATEGORIES, 1000)], CLIP_SPREAD, rng)
    _, exact = flat.search(queries, 10)
    start = time.perf_counter()
    staged = TwoStageIndex(flat, candidates=args.candidates)
    built = time.perf_counter() - start
    batches = [queries[i : i + 8] for i in range(0, 400, 8)]
    exact_ms = time_calls(lambda: [flat.search(b, 10) for b in batches], 3) / len(batches) * 1e3
    rows = []
    default_probe = staged.probe  # a third of the lists
    for probe in sorted({4, 8, 16, 32, default_probe}):
        staged.probe = probe
        _, got = staged.search(queries, 10)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, got)]))
        staged_ms = time_calls(lambda: [staged.search(b, 10) for b in batches], 3) / len(batches) * 1e3
        rows.append((probe, recall, staged_ms, exact_ms, built))
    return rows


def time_calls(fn, repeats: int) -> float:
    """Median seconds of ``repeats`` calls (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


def numpy_topk(vectors: np.ndarray, queries: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Exact top-k by brute force: one matrix product, argpartition, then sort the k."""
    scores = queries @ vectors.T
    if mask is not None:
        scores = np.where(mask[None, :], scores, -np.inf)
    part = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def compare_search(index_dir: Path, k: int, seed: int, threads: int) -> list[tuple[str, float, float]]:
    """``(case, faiss seconds, numpy seconds)`` for single, batched and filtered queries (same results)."""
    try:  # one limit for numpy's BLAS, FAISS's OpenMP and FAISS's BLAS, so both sides get the same cores
        from threadpoolctl import threadpool_limits
    except ImportError:
        from contextlib import nullcontext as threadpool_limits  # type: ignore[assignment]
    with threadpool_limits(threads):
        return _compare_search(index_dir, k, seed, threads)


def _compare_search(index_dir: Path, k: int, seed: int, threads: int) -> list[tuple[str, float, float]]:
    import faiss

    from svta.search.store import IndexStore

    faiss.omp_set_num_threads(threads)
    loaded = IndexStore(index_dir).load()
    vectors = loaded.vectors.reconstruct_n(0, loaded.vectors.ntotal)
    anomaly = np.array([bool(i["is_anomaly"]) for i in loaded.items])
    rng = np.random.default_rng(seed + 1)
    queries = rng.standard_normal((100, vectors.shape[1]), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    bits = np.packbits(anomaly, bitorder="little")
    params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(len(anomaly), faiss.swig_ptr(bits)))
    default_threshold = faiss.cvar.distance_compute_blas_threshold
    _, got = loaded.vectors.search(queries, k)
    assert np.array_equal(got, numpy_topk(vectors, queries, k)), "FAISS and numpy disagree"
    rows = []
    one = queries[:1]
    rows.append(
        (
            "1 query",
            time_calls(lambda: loaded.vectors.search(one, k), 50),
            time_calls(lambda: numpy_topk(vectors, one, k), 50),
        )
    )
    rows.append(
        (
            "1 query, anomaly only",
            time_calls(lambda: loaded.vectors.search(one, k, params=params), 50),
            time_calls(lambda: numpy_topk(vectors, one, k, anomaly), 50),
        )
    )
    numpy_batch = time_calls(lambda: numpy_topk(vectors, queries, k), 5)
    faiss.cvar.distance_compute_blas_threshold = default_threshold
    rows.append(
        (
            f"100 queries (BLAS threshold {default_threshold})",
            time_calls(lambda: loaded.vectors.search(queries, k), 5),
            numpy_batch,
        )
    )
    faiss.cvar.distance_compute_blas_threshold = 20
    rows.append(
        ("100 queries (BLAS threshold 20)", time_calls(lambda: loaded.vectors.search(queries, k), 5), numpy_batch)
    )
    return rows


def start_server(index_dir: Path, port: int, mode: dict[str, str]) -> subprocess.Popen:
    """``svta serve`` in its own process (so client and server do not share an interpreter)."""
    env = {**os.environ, "SVTA_QUIET": "1"}
    settings = ["--set", "search.limit_concurrency=256"]
    for key, value in mode.items():
        settings += ["--set", f"search.{key}={value}"]
    command = [sys.executable, "-m", "svta.cli.main", "-q", *settings, "serve", "--index", str(index_dir)]
    return subprocess.Popen([*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(url: str, proc: subprocess.Popen, timeout_s: float = 120.0) -> float:
    import httpx

    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return time.perf_counter() - start
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not become ready")


async def load_run(
    url: str, requests: int, concurrency: int, k: int, seed: int, seconds: float = 60.0
) -> tuple[list[float], int, float]:
    """``requests`` distinct queries over ``concurrency`` keep-alive connections → (latencies, errors, seconds)."""
    import httpx

    rng = np.random.default_rng(seed + 2)
    kinds = ("all", "anomaly", "normal")
    queries = [(" ".join(rng.choice(WORDS, 6)) + f" {i}", kinds[i % 3]) for i in range(requests)]
    latencies: list[float] = []
    errors = 0
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal next_index, errors
        while next_index < len(queries) and time.perf_counter() < deadline:
            q, kind = queries[next_index]
            next_index += 1
            start = time.perf_counter()
            try:
                response = await client.get("/api/search", params={"q": q, "k": k, "kind": kind})
                ok = response.status_code == 200 and len(response.json()["results"]) == k
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += not ok

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    return latencies, errors, seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=SVTA_VIDEOS)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--k", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="threads for FAISS vs numpy (the server uses 1)")
    parser.add_argument("--candidates", type=int, default=100, help="two-stage: candidates re-scored exactly")
    parser.add_argument("--seconds", type=float, default=60.0, help="most seconds of load per server mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="svta-search-bench-") as tmp:
        index_dir = Path(tmp) / "index"
        seconds = build_index(index_dir, args.videos, args.dim, args.frames, args.seed)
        size = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file()) / 2**20
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine: {os.cpu_count()} CPUs, load average {load} (timings on a shared machine vary)")
        print(f"index: {args.videos} videos, D={args.dim}, T={args.frames}: built in {seconds:.1f} s, {size:.0f} MiB")
        print(
            f"\ntop-{args.k} search, {args.threads} thread(s), median per call | FAISS IndexFlatIP | numpy brute force "
            "| numpy / FAISS"
        )
        for case, faiss_s, numpy_s in compare_search(index_dir, args.k, args.seed, args.threads):
            print(f"  {case:<34} | {faiss_s * 1e3:8.2f} ms | {numpy_s * 1e3:8.2f} ms | {numpy_s / faiss_s:5.2f}x")
        print(
            f"\ntwo-stage search (IVF-SQ8, {args.candidates} candidates re-scored exactly) against the exact ranking, "
            "1,000 category queries; latency per batch of 8 queries, 1 thread"
        )
        for probe, recall, staged_ms, exact_ms, built in two_stage_recall(index_dir, args):
            print(
                f"  nprobe {probe:3d} | recall@10 {recall:.4f} | two-stage {staged_ms:6.2f} ms | "
                f"exact {exact_ms:6.2f} ms | {exact_ms / staged_ms:5.2f}x | first stage built in {built:.1f} s"
            )
        print(
            f"\nHTTP load, svta serve in its own process: {args.requests} distinct queries over {args.concurrency} "
            f"connections, k={args.k}, kinds all/anomaly/normal in turn, at most {args.seconds:.0f} s per mode"
        )
        errors = 0
        modes = {
            "exact, one call per request": {"coalesce_queries": "false", "two_stage": "false"},
            "exact, coalesced (default below search.two_stage_min_items)": {"coalesce_queries": "true"},
            "two-stage, coalesced": {"coalesce_queries": "true", "two_stage": "true", "two_stage_min_items": "0"},
        }
        for label, mode in modes.items():
            latencies, failed, elapsed = serve_and_load(index_dir, mode, args)
            ms = np.array(latencies) * 1e3
            errors += failed
            p50, p95, p99 = np.percentile(ms, [50, 95, 99])
            print(
                f"  {label:<30} | {len(ms) / elapsed:6.1f} requests/s | p50 {p50:6.1f} ms | p95 {p95:6.1f} ms | "
                f"p99 {p99:6.1f} ms | max {ms.max():6.1f} ms | {len(ms)} requests | errors {failed}"
            )
        print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 1 if errors else 0


def serve_and_load(index_dir: Path, mode: dict[str, str], args: argparse.Namespace) -> tuple[list[float], int, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(index_dir, port, mode)
    try:
        wait_ready(url, proc)
        return asyncio.run(load_run(url, args.requests, args.concurrency, args.k, args.seed, args.seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
