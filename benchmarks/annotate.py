"""Annotation-stage throughput, each against its baseline in one run.

1. MiniLM classification (embedding + category scoring): captions/s of ``MiniLMClassifier`` on
   batches of 256 against the baseline of one caption per call (what a naive per-row loop does).
2. LLM classification: captions/s of the ``openai`` classifier against a loopback chat server that
   answers after a fixed latency (50 ms, as a model would), 1 request at a time (baseline) vs
   ``--workers`` concurrent requests.
3. K-Means over 50k tag embeddings (384-d, synthetic, clustered around 98 centres so the work is
   realistic without embedding 50k tags first): fit time for k=98; svta's sampled silhouette
   against the exact one (baseline, timed on ``--exact-n`` points and extrapolated); and choosing
   k by silhouette on a 5k sample against searching on all 50k (estimated from the k=98 fit).

    .venv/bin/python benchmarks/annotate.py [--captions 1024 --tags 50000 --workers 16]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

SUBJECTS = ("A man", "A woman", "Two teenagers", "An old man", "A child", "A worker", "A driver", "A crowd")
PLACES = ("in the street", "in a parking lot", "at a subway station", "in a supermarket", "in a park", "at night")


def make_captions(n: int, seed: int = 0) -> list[str]:
    """Varied captions built from taxonomy descriptions (first clause) with subjects and places."""
    from svta.taxonomy import default_taxonomy

    rng = np.random.default_rng(seed)
    descriptions = [c.description.rstrip(".").split(",")[0] for c in default_taxonomy()]
    out = []
    for i in range(n):
        text = descriptions[i % len(descriptions)]
        out.append(f"{rng.choice(SUBJECTS)} {rng.choice(PLACES)}: {text.lower()}.")
    return out


def bench_minilm(n: int) -> None:
    from svta.annotate.classifiers import MiniLMClassifier
    from svta.embed import embed_texts
    from svta.taxonomy import default_taxonomy

    start = time.perf_counter()
    classifier = MiniLMClassifier(default_taxonomy())
    print(
        f"setup (model load + {len(classifier.text_vectors)} category texts embedded): {time.perf_counter() - start:.1f}s"
    )
    captions = make_captions(n)
    classifier.classify(captions[:32])  # warm-up
    start = time.perf_counter()
    embed_texts(captions)
    embed_s = time.perf_counter() - start
    start = time.perf_counter()
    batched = classifier.classify(captions)
    batched_s = time.perf_counter() - start
    few = captions[: max(16, n // 16)]
    start = time.perf_counter()
    single = [classifier.classify([c])[0] for c in few]
    single_s = (time.perf_counter() - start) * len(captions) / len(few)
    same = all(a.category == b.category for a, b in zip(batched, single))
    print(f"MiniLM embedding only:        {n / embed_s:8.1f} captions/s")
    print(f"MiniLM classify, batch 256:   {n / batched_s:8.1f} captions/s  (embedding + scoring 98 categories)")
    print(f"baseline, one per call:       {n / single_s:8.1f} captions/s  (timed on {len(few)})")
    print(f"  speed-up {single_s / batched_s:.1f}x; same answers: {same}")


SERVER = """
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep({latency})
        msg = {{"role": "assistant", "content": "fighting"}}
        data = json.dumps({{"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                           "choices": [{{"index": 0, "finish_reason": "stop", "message": msg}}]}}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
    def log_message(self, *a): pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H); s.daemon_threads = True
print(s.server_address[1], flush=True); s.serve_forever()
"""


@contextmanager
def chat_server(latency: float) -> Iterator[str]:
    """A loopback chat server in its own process (its threads must not share our GIL)."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER.format(latency=latency)], stdout=subprocess.PIPE, text=True)
    try:
        yield f"http://127.0.0.1:{proc.stdout.readline().strip()}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bench_llm(n: int, workers: int, latency: float) -> None:
    from svta.annotate.config import LLMClassifierConfig
    from svta.annotate.llm import LLMClassifier
    from svta.taxonomy import default_taxonomy

    captions = make_captions(n)
    with chat_server(latency) as url:
        rates = {}
        for w in (1, workers):
            classifier = LLMClassifier(default_taxonomy(), LLMClassifierConfig(base_url=url, model="fake", workers=w))
            count = n if w > 1 else max(8, n // 8)
            classifier.classify(captions[:2])  # connect
            start = time.perf_counter()
            predictions = classifier.classify(captions[:count])
            rates[w] = count / (time.perf_counter() - start)
            assert all(p.category == "fighting" for p in predictions)
    print(f"LLM classify, {latency * 1000:.0f} ms/answer, 1 request at a time: {rates[1]:8.1f} captions/s")
    print(f"LLM classify, {workers} concurrent requests:        {rates[workers]:8.1f} captions/s")
    print(f"  speed-up {rates[workers] / rates[1]:.1f}x")


def clustered_tags(n: int, k: int = 98, dim: int = 384, seed: int = 0) -> np.ndarray:
    """Unit vectors around ``k`` random centres, like MiniLM embeddings of tags of k categories."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, dim)).astype(np.float32)
    points = centres[rng.integers(0, k, n)] + 0.8 * rng.standard_normal((n, dim)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def bench_kmeans(n: int, exact_n: int) -> None:
    from sklearn.metrics import silhouette_score

    from svta.annotate.cluster import choose_k, fit_kmeans, silhouette
    from svta.annotate.config import ClusterConfig

    vectors = clustered_tags(n)
    config = ClusterConfig(k=98)
    start = time.perf_counter()
    model = fit_kmeans(vectors, 98, config)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    sampled = silhouette(vectors, model.labels_, config)
    sampled_s = time.perf_counter() - start
    subset = np.random.default_rng(1).permutation(n)[:exact_n]
    start = time.perf_counter()
    exact = silhouette_score(vectors[subset], model.labels_[subset])
    exact_s = (time.perf_counter() - start) * (n / exact_n) ** 2  # O(N^2): extrapolated to all n
    print(f"K-Means k=98 on {n} tags x 384-d (n_init={config.n_init}): {fit_s:.1f}s")
    print(f"silhouette, svta sample of {config.silhouette_sample}: {sampled_s:.2f}s  (score {sampled:.3f})")
    print(f"baseline exact silhouette: {exact_s:.1f}s extrapolated from {exact_n} points  (score {exact:.3f})")
    print(f"  speed-up {exact_s / sampled_s:.0f}x")
    search = ClusterConfig(k_min=34, k_max=130, k_step=16)  # 7 candidates around the true 98
    start = time.perf_counter()
    k, _ = choose_k(vectors, search)
    search_s = time.perf_counter() - start
    per_k_full = fit_s + sampled_s
    full_s = per_k_full * len(range(search.k_min, search.k_max + 1, search.k_step))
    print(
        f"choosing k in {search.k_min}..{search.k_max} step {search.k_step} on a {search.k_search_sample} sample: "
        f"{search_s:.1f}s (k={k})"
    )
    print(
        f"baseline search on all {n}: ~{full_s:.0f}s estimated from the k=98 fit  -> speed-up {full_s / search_s:.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captions", type=int, default=1024)
    parser.add_argument("--llm-captions", type=int, default=256)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--tags", type=int, default=50000)
    parser.add_argument("--exact-n", type=int, default=8000)
    parser.add_argument("--only", default="minilm,llm,kmeans", help="Comma-separated parts to run.")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if "minilm" in parts:
        bench_minilm(args.captions)
    if "llm" in parts:
        bench_llm(args.llm_captions, args.workers, args.latency)
    if "kmeans" in parts:
        bench_kmeans(args.tags, args.exact_n)


if __name__ == "__main__":
    main()
