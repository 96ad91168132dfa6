"""Breakdowns: per category, anomaly/normal, head/tail, category hit@K against direct computation."""

from __future__ import annotations

import numpy as np
import pytest
from evalkit import brute_t2v, brute_v2t

from svta.errors import InputError
from svta.eval.breakdown import anomaly_normal, category_hit, head_tail, head_tail_split, per_category
from svta.eval.metrics import evaluate_similarity

CATS = np.array(["fall", "fight", "walk", "shop"] * 6, dtype=object)  # 24 videos


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(0)
    S = rng.normal(size=(24, 24)) + 1.5 * np.eye(24)
    return S, evaluate_similarity(S, keep_topk=5)


def test_per_category_matches_direct(run):
    S, result = run
    table = per_category(result, CATS)
    t_ranks, v_ranks = brute_t2v(S, np.arange(24)), brute_v2t(S, np.arange(24))[1]
    for cat in set(CATS):
        row = table[(table.direction == "t2v") & (table.category == cat)].iloc[0]
        sel = t_ranks[CATS == cat]
        assert row.n == 6 and row.R1 == pytest.approx(100 * np.mean(sel <= 1))
        assert row.MnR == pytest.approx(sel.mean()) and row.MdR == pytest.approx(np.median(sel))
        row = table[(table.direction == "v2t") & (table.category == cat)].iloc[0]
        assert row.R5 == pytest.approx(100 * np.mean(v_ranks[CATS == cat] <= 5))


def test_anomaly_normal_and_head_tail(run):
    S, result = run
    anomaly = np.isin(CATS, ["fall", "fight"])
    table = anomaly_normal(result, anomaly)
    assert set(table.group) == {"anomaly", "normal"} and table.n.sum() == 48
    ranks = brute_t2v(S, np.arange(24))
    got = table[(table.direction == "t2v") & (table.group == "anomaly")].R10.iloc[0]
    assert got == pytest.approx(100 * np.mean(ranks[anomaly] <= 10))
    split = head_tail_split(CATS, counts={"fall": 100, "fight": 50, "walk": 30, "shop": 20})
    assert split == {"fall": "head", "fight": "tail", "walk": "tail", "shop": "tail"}
    table = head_tail(result, CATS, counts={"fall": 100, "fight": 50, "walk": 30, "shop": 20})
    assert table[table.group == "head"].n.tolist() == [6, 6]


def test_head_tail_split_defaults_to_observed_counts():
    split = head_tail_split(["a"] * 5 + ["b"] * 3 + ["c"] * 2, head_share=0.6)
    assert split == {"a": "head", "b": "head", "c": "tail"}


def test_category_hit(run):
    S, result = run
    table = category_hit(result, CATS, ks=(1, 5))
    order = np.argsort(-S, axis=1)
    expect = np.mean([CATS[i] in set(CATS[order[i, :5]]) for i in range(24)]) * 100
    assert table[table.direction == "t2v"]["hit@5"].iloc[0] == pytest.approx(expect)
    order_v = np.argsort(-S.T, axis=1)
    expect_v = np.mean([CATS[v] == CATS[order_v[v, 0]] for v in range(24)]) * 100
    assert table[table.direction == "v2t"]["hit@1"].iloc[0] == pytest.approx(expect_v)
    assert (table["hit@5"] >= table["hit@1"]).all()
    per = category_hit(result, CATS, ks=(1,), per_category=True)
    assert set(per.category) == set(CATS) and per.n.sum() == 48


def test_breakdown_errors(run):
    _, result = run
    with pytest.raises(InputError, match="keep_topk"):
        category_hit(result, CATS, ks=(10,))
    with pytest.raises(InputError, match="one entry per item"):
        per_category(result, CATS[:5])
