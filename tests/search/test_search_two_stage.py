"""Two-stage search: IVF-SQ8 candidates re-scored exactly agree with the exact flat ranking."""

from __future__ import annotations

import numpy as np
import pytest

from svta.search.config import SearchConfig
from svta.search.encoders import l2_normalize
from svta.search.searcher import Searcher

faiss = pytest.importorskip("faiss")


def _clustered(n: int, dim: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.standard_normal((12, dim)))
    vectors = l2_normalize(centres[rng.integers(0, 12, n)] + rng.standard_normal((n, dim)) * 0.25)
    queries = l2_normalize(centres[rng.integers(0, 12, 200)] + rng.standard_normal((200, dim)) * 0.25)
    return vectors.astype(np.float32), queries.astype(np.float32)


def _flat(vectors: np.ndarray):
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def test_full_probe_equals_the_exact_ranking_with_exact_scores():
    from svta.search.two_stage import TwoStageIndex

    vectors, queries = _clustered(2000)
    flat = _flat(vectors)
    staged = TwoStageIndex(flat, probe=10_000, candidates=50)  # every list scanned: only SQ8 can reorder
    exact_scores, exact_rows = flat.search(queries, 10)
    scores, rows = staged.search(queries, 10)
    assert np.array_equal(rows, exact_rows)
    assert np.allclose(scores, exact_scores, atol=1e-5)  # re-scored from the float32 vectors, not the 8-bit codes


def test_recall_at_10_of_the_default_probe():
    from svta.search.two_stage import TwoStageIndex

    vectors, queries = _clustered(3000, seed=1)
    flat = _flat(vectors)
    _, exact = flat.search(queries, 10)
    _, got = TwoStageIndex(flat).search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, got)])
    assert recall >= 0.99


def test_selector_and_short_results():
    from svta.search.two_stage import TwoStageIndex

    vectors, queries = _clustered(300, seed=2)
    flat = _flat(vectors)
    wanted = np.zeros(300, dtype=bool)
    wanted[:5] = True
    bits = np.packbits(wanted, bitorder="little")
    selector = faiss.IDSelectorBitmap(300, faiss.swig_ptr(bits))
    staged = TwoStageIndex(flat, probe=10_000, candidates=8)
    scores, rows = staged.search(queries[:3], 8, selector)
    assert rows.shape == (3, 8) and set(rows[:, :5].ravel()) <= set(range(5))
    assert (rows[:, 5:] == -1).all() and np.isneginf(scores[:, 5:]).all()
    assert TwoStageIndex(_flat(np.zeros((0, 32), np.float32))).search(queries[:1], 3)[1].tolist() == [[-1, -1, -1]]


def test_searcher_with_two_stage_gives_the_same_hits(colour_index):
    from searchkit import ColourEncoder

    exact = Searcher.open(colour_index[1], ColourEncoder(), SearchConfig(coalesce_queries=False, two_stage=False))
    staged = Searcher.open(colour_index[1], ColourEncoder(), SearchConfig(coalesce_queries=False, two_stage=True))
    for query, kind in [("red", "all"), ("blue", "anomaly"), ("green yellow", "normal")]:
        a, b = exact.search(query, 4, kind), staged.search(query, 4, kind)
        assert [h.id for h in a] == [h.id for h in b]
        assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-5)


def test_a_short_first_stage_falls_back_to_the_exact_scan():
    """Few admitted rows spread over many lists: the scanned third holds only some of them, so the query is
    answered by the exact scan and returns every admitted row; a selector admitting none returns none."""
    from svta.search.two_stage import TwoStageIndex

    vectors, queries = _clustered(3000, seed=3)
    flat = _flat(vectors)
    wanted = np.zeros(3000, dtype=bool)
    wanted[::250] = True  # 12 rows, one per ~250
    bits = np.packbits(wanted, bitorder="little")
    selector = faiss.IDSelectorBitmap(3000, faiss.swig_ptr(bits))
    staged = TwoStageIndex(flat)
    scores, rows = staged.search(queries[:20], 50, selector, admitted=int(wanted.sum()))
    assert all(set(r[r >= 0]) == set(np.flatnonzero(wanted)) for r in rows) and staged.exact_fallbacks > 0
    assert np.isneginf(scores[:, 12:]).all() and (rows[:, 12:] == -1).all()
    none_bits = np.zeros_like(bits)  # kept referenced: FAISS reads it by pointer
    nothing = faiss.IDSelectorBitmap(3000, faiss.swig_ptr(none_bits))
    assert (staged.search(queries[:2], 5, nothing, admitted=0)[1] == -1).all()
