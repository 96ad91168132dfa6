from __future__ import annotations

import numpy as np
import pytest

from svta.annotate.label_agreement import agreement, cohen_kappa


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kappa_matches_sklearn_on_random_labels(seed):
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(seed)
    a = [f"c{i}" for i in rng.integers(0, 5, 200)]
    b = [x if rng.random() < 0.6 else f"c{rng.integers(0, 6)}" for x in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert agreement(a, b).accuracy == pytest.approx(np.mean([x == y for x, y in zip(a, b)]))


def hand_kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa written out: observed agreement against the chance agreement of the marginals."""
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    expected = sum(a.count(label) * b.count(label) for label in set(a) | set(b)) / n**2
    return (observed - expected) / (1 - expected)


def test_kappa_matches_a_hand_computation():
    a = ["cat", "cat", "dog", "dog", "dog", "bird", "cat", "bird"]
    b = ["cat", "dog", "dog", "dog", "cat", "bird", "cat", "dog"]
    # p_o = 5/8; p_e = (3*3 + 3*4 + 2*1) / 64 = 23/64; kappa = (40/64 - 23/64) / (41/64) = 17/41
    assert hand_kappa(a, b) == pytest.approx(17 / 41)
    assert cohen_kappa(a, b) == pytest.approx(17 / 41)
    assert cohen_kappa(["x", "x", "x"], ["y", "y", "y"]) == pytest.approx(hand_kappa(["x"] * 3, ["y"] * 3)) == 0.0


def test_one_shared_label_is_perfect_agreement_not_nan():
    """scikit-learn leaves this case undefined (nan); both labelings agree on every item, so kappa is 1."""
    from sklearn.metrics import cohen_kappa_score

    with pytest.warns(Warning):  # sklearn: UndefinedMetricWarning (>= 1.6) or RuntimeWarning
        assert np.isnan(cohen_kappa_score(["x", "x"], ["x", "x"]))
    assert cohen_kappa(["x", "x"], ["x", "x"]) == 1.0
    assert np.isnan(cohen_kappa([], []))


def test_edge_cases():
    assert cohen_kappa(["x", "x"], ["x", "x"]) == 1.0  # chance agreement is perfect too
    assert cohen_kappa(["x", "y"], ["y", "x"]) == pytest.approx(-1.0)
    result = agreement(["a", "a", "b", "c"], ["a", "b", "b", "b"], top=1)
    assert result.n == 4 and result.accuracy == 0.5 and result.confusions == [("a", "b", 1)]
    with pytest.raises(ValueError):
        agreement(["a"], [])
