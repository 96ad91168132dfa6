from __future__ import annotations

import pytest

from svta.errors import InputError
from svta.retrieval.analysis import pick_queries, write_analysis
from svta.retrieval.evaluate import EvalReport


def test_pick_queries_spreads_over_categories_and_is_seeded():
    categories = ["a"] * 10 + ["b"] * 3 + ["c"] * 2
    picked = pick_queries(categories, 3, seed=1)
    assert len(picked) == 3 and {categories[i] for i in picked} == {"a", "b", "c"}
    assert pick_queries(categories, 3, seed=1) == picked
    assert len(set(pick_queries(categories, 6, seed=2))) == 6  # more than the categories: repeats allowed


def test_write_analysis_needs_per_query_results(tmp_path):
    report = EvalReport({"t2v": {}, "v2t": {}}, "test", 0, 0)
    with pytest.raises(InputError, match="keep_topk"):
        write_analysis(report, tmp_path)
