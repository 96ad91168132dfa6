from __future__ import annotations

import pytest

from svta.build.split import split_counts, stratified_split


@pytest.mark.parametrize(
    "n, expected",
    [
        (0, (0, 0, 0)),
        (1, (1, 0, 0)),
        (2, (1, 0, 1)),
        (3, (2, 0, 1)),
        (4, (3, 0, 1)),
        (5, (4, 0, 1)),
        (10, (7, 1, 2)),
        (20, (14, 2, 4)),
        (100, (70, 10, 20)),
    ],
)
def test_split_counts_rare_and_regular(n, expected):
    assert split_counts(n, (0.7, 0.1, 0.2)) == expected


def test_split_counts_always_sum_and_keep_train():
    for ratios in [(0.7, 0.1, 0.2), (0.8, 0.2, 0.0), (0.34, 0.33, 0.33), (7, 1, 2)]:
        for n in range(60):
            counts = split_counts(n, ratios)
            assert sum(counts) == n and min(counts) >= 0
            if n >= 2:
                assert counts[0] >= 1
            if n >= 5 and ratios[2] >= 0.2:
                assert counts[2] >= 1
            if n >= 10:  # close to the ratio for non-rare sizes
                assert abs(counts[0] - n * ratios[0] / sum(ratios)) <= 1


def test_stratified_split_is_stratified_disjoint_deterministic():
    groups = {f"cat{c}": [f"{c}-{i}" for i in range(n)] for c, n in enumerate([50, 20, 10, 3, 2, 1])}
    split = stratified_split(groups, (0.7, 0.1, 0.2), seed=7)
    assert set(split) == {i for ids in groups.values() for i in ids}  # every id exactly once
    for category, ids in groups.items():
        counts = tuple(sum(split[i] == s for i in ids) for s in ("train", "val", "test"))
        assert sum(counts) == len(ids)
        for got, share in zip(counts, (0.7, 0.1, 0.2)):  # unbiased rounding: within one item of n * ratio
            assert abs(got - len(ids) * share) < 1 + 1e-9 or len(ids) < 3, category
    reordered = {c: list(reversed(ids)) for c, ids in reversed(list(groups.items()))}
    assert stratified_split(reordered, (0.7, 0.1, 0.2), seed=7) == split
    assert stratified_split(groups, (0.7, 0.1, 0.2), seed=8) != split
    # adding a category leaves the others' assignment unchanged
    more = {**groups, "new": ["n-0", "n-1"]}
    assert {k: v for k, v in stratified_split(more, (0.7, 0.1, 0.2), seed=7).items() if not k.startswith("n-")} == split


def test_an_id_in_two_categories_is_an_error():
    with pytest.raises(ValueError, match="two categories"):
        stratified_split({"a": ["x"], "b": ["x"]})


def test_split_counts_with_a_draw_is_unbiased():
    import numpy as np

    rng = np.random.default_rng(0)
    for n in (1, 2, 4, 7):
        totals = np.zeros(3)
        for _ in range(4000):
            counts = split_counts(n, (0.7, 0.1, 0.2), u=float(rng.random()))
            assert sum(counts) == n
            totals += counts
        expected = np.array([0.7, 0.1, 0.2]) * n * 4000
        if n >= 2:  # below 2 items no rule applies; from 2 on the train rule is never needed at 7:1:2
            assert np.all(np.abs(totals - expected) / (n * 4000) < 0.03), (n, totals / 4000)


def test_many_small_categories_keep_the_global_ratio():
    """98 categories of 4 items: every split is populated close to 7:1:2 (no empty val)."""
    groups = {f"cat{c}": [f"{c}-{i}" for i in range(4)] for c in range(98)}
    split = stratified_split(groups, (0.7, 0.1, 0.2), seed=0)
    shares = {s: sum(v == s for v in split.values()) / len(split) for s in ("train", "val", "test")}
    assert abs(shares["train"] - 0.7) < 0.05 and abs(shares["val"] - 0.1) < 0.04 and abs(shares["test"] - 0.2) < 0.04
