from __future__ import annotations

import itertools
import queue
import threading

import numpy as np
import pytest
from searchkit import FRAMES, ColourEncoder

from svta.errors import InputError
from svta.search.config import SearchConfig
from svta.search.encoders import HashingEncoder, VideoEmbeddings, l2_normalize
from svta.search.searcher import Searcher
from svta.search.store import IndexStore


@pytest.fixture(scope="module")
def searcher(colour_index) -> Searcher:
    return Searcher.open(colour_index[1], ColourEncoder())


def test_ranking_follows_the_query(searcher):
    hits = searcher.search("red", k=3)
    assert {h.id for h in hits[:2]} == {"red1", "red2"} and hits[2].id == "blue2red"
    assert hits[0].score == pytest.approx(1.0, abs=1e-4) and hits[0].score >= hits[1].score >= hits[2].score
    assert searcher.search("blue", k=1)[0].id == "blue1"
    assert searcher.search("green", k=1)[0].category == "walking"


def test_kind_filter_and_short_results(searcher):
    anomaly = searcher.search("blue", k=10, kind="anomaly")
    assert {h.id for h in anomaly} == {"red1", "red2", "blue2red"} and all(h.is_anomaly for h in anomaly)
    normal = searcher.search("red", k=10, kind="normal")
    assert {h.id for h in normal} == {"green1", "blue1", "yellow1"} and not any(h.is_anomaly for h in normal)
    assert len(searcher.search("red", k=100)) == 6
    assert searcher.counts() == {"all": 6, "anomaly": 3, "normal": 3}
    with pytest.raises(InputError):
        searcher.search("red", kind="weird")  # type: ignore[arg-type]


def test_frame_scores_localise_the_moment(searcher):
    hit = next(h for h in searcher.search("red", k=6) if h.id == "blue2red")
    scores = np.array(hit.frame_scores)
    assert len(scores) == FRAMES and scores[FRAMES // 2 :].min() > 0.99 and scores[: FRAMES // 2].max() < 0
    assert hit.best_frame >= FRAMES // 2
    assert hit.frame_times[0] == 0.0 and all(b > a for a, b in itertools.pairwise(hit.frame_times))
    blue = next(h for h in searcher.search("blue", k=6) if h.id == "blue2red")
    assert blue.best_frame < FRAMES // 2


def test_faiss_matches_brute_force(tmp_path):
    """FAISS top-k over a random index equals numpy's exact top-k (filtered too)."""
    rng = np.random.default_rng(0)
    n, t, d = 500, 4, 32
    frames = l2_normalize(rng.standard_normal((n, t, d)))
    video = l2_normalize(frames.mean(1))
    encoder = HashingEncoder(dim=d, num_frames=t)
    store = IndexStore.open_or_create(tmp_path / "idx", encoder.spec(), d, t, tmp_path)
    records = [
        {
            "id": f"v{i}",
            "path": f"v{i}.mp4",
            "caption": None,
            "category": None,
            "is_anomaly": bool(i % 3 == 0),
            "thumbnail": False,
        }
        for i in range(n)
    ]
    store.write_part(records, VideoEmbeddings(video, frames, np.ones((n, t), bool), None))
    store.compact()
    searcher = Searcher.open(tmp_path / "idx", encoder, SearchConfig(two_stage=False))  # the exact scan
    number = np.array([int(item["id"][1:]) for item in searcher.index.items])  # rows are in id order, not added
    queries = l2_normalize(rng.standard_normal((7, d)))
    scores, rows = searcher.search_vectors(queries, 10)
    exact = queries @ video.T
    assert np.array_equal(number[rows], np.argsort(-exact, axis=1)[:, :10])
    assert np.allclose(scores, np.sort(exact, axis=1)[:, ::-1][:, :10], atol=1e-5)
    _, rows = searcher.search_vectors(queries, 10, kind="anomaly")
    masked = np.where(np.arange(n) % 3 == 0, exact, -np.inf)
    assert np.array_equal(number[rows], np.argsort(-masked, axis=1)[:, :10])


def test_query_embeddings_are_cached(colour_index):
    class Counting(ColourEncoder):
        calls = 0

        def encode_texts(self, texts):
            Counting.calls += len(texts)
            return super().encode_texts(texts)

    searcher = Searcher.open(colour_index[1], Counting(), SearchConfig(text_cache_size=2))
    for query in ["red", "red", "blue", "red", "green", "blue"]:
        searcher.search(query, k=1)
    assert Counting.calls == 4  # red, blue, green, then blue again after it was evicted


def test_reranker_reorders_candidates(colour_index):
    class Reranking(ColourEncoder):
        def rerank(self, query, frames, mask):
            return -frames[:, 0, 2]  # prefer the least blue first frame

    hits = Searcher.open(colour_index[1], Reranking(), SearchConfig(rerank_top=6)).search("blue", k=6)
    assert {h.id for h in hits[-2:]} == {"blue1", "blue2red"}  # first-stage winners for "blue", re-ranked last


class _CountingQueue(queue.Queue):
    """A queue that sets ``full`` once ``expected`` items were put, so a test waits on an event, not a sleep."""

    def __init__(self, expected: int):
        super().__init__()
        self.expected, self.puts, self.full = expected, 0, threading.Event()

    def put(self, item, block=True, timeout=None):
        super().put(item, block, timeout)
        if item is not None:
            self.puts += 1
            if self.puts >= self.expected:
                self.full.set()


def test_concurrent_queries_are_coalesced_into_batches():
    from svta.search.batching import QueryCoalescer

    rng = np.random.default_rng(1)
    vectors = l2_normalize(rng.standard_normal((300, 16)))
    batches: list[int] = []
    queued = _CountingQueue(expected=12)
    searching = threading.Event()

    def gated_search(queries, k, kind):
        batches.append(len(queries))
        searching.set()
        # the first call holds the search thread until all 12 queries are queued
        assert queued.full.wait(timeout=30), "queries were never all queued"
        scores = queries @ vectors.T
        rows = np.argsort(-scores, axis=1)[:, :k]
        return np.take_along_axis(scores, rows, axis=1), rows

    coalescer = QueryCoalescer(gated_search)
    coalescer._queue = queued
    queries = l2_normalize(rng.standard_normal((12, 16)))
    results: dict[int, tuple] = {}

    def ask(i: int) -> None:
        results[i] = coalescer.submit(queries[i], 3 + i % 4, "all" if i % 2 else "anomaly")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
    threads[0].start()
    assert searching.wait(timeout=30)  # query 0 is being searched alone; the others arrive meanwhile
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join()
    coalescer.close()
    # one lone first call, then the 11 queued queries answered as one batch per kind
    assert batches[0] == 1 and sum(batches) == 12 and len(batches) == 3 and coalescer.calls == 3
    for i, (scores, rows) in results.items():
        expected = np.argsort(-(queries[i] @ vectors.T))[: 3 + i % 4]
        assert np.array_equal(rows, expected) and len(scores) == 3 + i % 4


def test_coalesced_and_direct_search_agree(colour_index):
    direct = Searcher.open(colour_index[1], ColourEncoder(), SearchConfig(coalesce_queries=False))
    coalesced = Searcher.open(colour_index[1], ColourEncoder())
    for query, kind in [("red", "all"), ("blue", "anomaly"), ("green yellow", "normal")]:
        assert [h.id for h in direct.search(query, 4, kind)] == [h.id for h in coalesced.search(query, 4, kind)]
    coalesced.close()


def test_a_reranker_that_drops_candidates_is_an_error_not_a_short_answer(colour_index):
    class Dropping(ColourEncoder):
        def rerank(self, query, frames, mask):
            return -frames[1:, 0, 2]  # one score short

    searcher = Searcher.open(colour_index[1], Dropping(), SearchConfig(rerank_top=6, coalesce_queries=False))
    with pytest.raises(ValueError, match="5 scores for 6 candidates"):
        searcher.search("blue", k=6)
