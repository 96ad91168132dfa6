"""Every search answers ``min(k, matching videos)`` hits, filtered before truncation, and its top 10 is the
exact scan's, at index sizes from 50 to SVTA's 41,315 (seeded vectors written through the index store)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from svta.search.config import SearchConfig
from svta.search.encoders import VideoEmbeddings, l2_normalize
from svta.search.searcher import Searcher
from svta.search.store import IndexStore

DIM, FRAMES = 24, 2


class TableEncoder:
    """Query ``"q<i>"`` → row ``i`` of a fixed table of unit vectors (the index holds precomputed vectors)."""

    num_frames, dim = FRAMES, DIM

    def __init__(self, queries: np.ndarray):
        self.queries = queries

    def spec(self) -> dict[str, Any]:
        return {"name": "test-table"}

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.queries[[int(t[1:]) for t in texts]]

    def encode_videos(self, paths: Sequence[Path]) -> VideoEmbeddings:
        raise NotImplementedError


def _vectors(n: int, rng: np.random.Generator, clustered: bool) -> np.ndarray:
    if not clustered:  # iid directions: no structure for an inverted-list first stage to use
        return l2_normalize(rng.standard_normal((n, DIM))).astype(np.float32)
    centres = l2_normalize(rng.standard_normal((98, DIM)))
    return l2_normalize(centres[rng.integers(0, 98, n)] + 0.3 * rng.standard_normal((n, DIM))).astype(np.float32)


def _index(directory: Path, n: int, seed: int, clustered: bool) -> tuple[np.ndarray, np.ndarray]:
    """An index of ``n`` seeded clips (about 69% anomalies, like 68 of 98 categories); returns the clip vectors
    and the anomaly mask, both in the index's row order."""
    rng = np.random.default_rng(seed)
    video = _vectors(n, rng, clustered)
    frames = np.repeat(video[:, None, :], FRAMES, axis=1)
    anomaly = rng.random(n) < 68 / 98
    store = IndexStore.open_or_create(directory, {"name": "test-table"}, DIM, FRAMES, directory)
    records = [
        {"id": f"c{i:06d}", "path": f"c{i}.mp4", "caption": None, "category": None, "is_anomaly": bool(a)}
        for i, a in enumerate(anomaly)
    ]
    for start in range(0, n, 20_000):  # several parts, as a build commits them
        part = slice(start, start + 20_000)
        mask = np.ones((len(records[part]), FRAMES), bool)
        rows = [{**r, "thumbnail": False} for r in records[part]]
        store.write_part(rows, VideoEmbeddings(video[part], frames[part], mask, None))
    store.compact()
    return video, anomaly  # ids c000000... sort like their numbers, so rows keep this order


def _exact_top(queries: np.ndarray, video: np.ndarray, admitted: np.ndarray, k: int) -> list[set[int]]:
    scores = np.where(admitted[None, :], queries @ video.T, -np.inf)
    return [set(np.argsort(-row, kind="stable")[: min(k, int(admitted.sum()))].tolist()) for row in scores]


@pytest.mark.parametrize(
    ("n", "clustered"), [(50, True), (98, True), (98, False), (1_000, True), (5_000, False), (41_315, False)]
)
def test_answers_hold_min_k_matching_and_the_exact_top_10(tmp_path, n, clustered):
    video, anomaly = _index(tmp_path / "idx", n, seed=n, clustered=clustered)
    queries = _vectors(200, np.random.default_rng(n + 1), clustered)
    searcher = Searcher.open(tmp_path / "idx", TableEncoder(queries), SearchConfig(coalesce_queries=False))
    texts = [f"q{i}" for i in range(len(queries))]
    for kind, admitted in [("all", np.ones(n, bool)), ("anomaly", anomaly), ("normal", ~anomaly)]:
        pages = searcher.search_many(texts, 10, kind)
        got = [{searcher.rows[h.id] for h in hits} for hits in pages]
        agree = np.mean([a == b for a, b in zip(got, _exact_top(queries, video, admitted, 10))])
        assert agree >= 0.99, f"{kind}: top 10 equal to the exact scan's for {agree:.1%} of queries"
        for k in (10, 50, 100, n + 5):
            page = searcher.search_page("q0", k, kind)
            assert len(page.hits) == min(k, int(admitted.sum())) == min(k, page.total_matching)
            assert all(kind == "all" or h.is_anomaly is (kind == "anomaly") for h in page.hits)
            assert page.complete is bool(k <= admitted.sum()) and page.exact


def test_a_forced_first_stage_still_answers_min_k_matching(tmp_path):
    """With the approximate first stage on a small index (2 lists, 1 scanned), a query whose scanned list holds
    too few admitted clips is answered by the exact scan: never fewer hits than asked and available."""
    video, anomaly = _index(tmp_path / "idx", 98, seed=7, clustered=True)
    queries = _vectors(20, np.random.default_rng(8), True)
    config = SearchConfig(coalesce_queries=False, two_stage_min_items=0, candidates=10)
    searcher = Searcher.open(tmp_path / "idx", TableEncoder(queries), config)
    assert searcher._two_stage is not None and searcher._two_stage.lists == 2 and not searcher.exact
    for kind, matching in [("all", 98), ("anomaly", int(anomaly.sum())), ("normal", int((~anomaly).sum()))]:
        for k in (10, 50, 100):
            for i in range(len(queries)):
                page = searcher.search_page(f"q{i}", k, kind)
                assert len(page.hits) == min(k, matching) and page.total_matching == matching
                assert len({h.id for h in page.hits}) == len(page.hits) and not page.exact
    assert searcher._two_stage.exact_fallbacks > 0
