from __future__ import annotations

import numpy as np
import pytest

from svta.annotate.agreement import agreement, cohen_kappa


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kappa_matches_sklearn_on_random_labels(seed):
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(seed)
    a = [f"c{i}" for i in rng.integers(0, 5, 200)]
    b = [x if rng.random() < 0.6 else f"c{rng.integers(0, 6)}" for x in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert agreement(a, b).accuracy == pytest.approx(np.mean([x == y for x, y in zip(a, b)]))


def test_edge_cases():
    assert cohen_kappa(["x", "x"], ["x", "x"]) == 1.0  # chance agreement is perfect too
    assert cohen_kappa(["x", "y"], ["y", "x"]) == pytest.approx(-1.0)
    result = agreement(["a", "a", "b", "c"], ["a", "b", "b", "b"], top=1)
    assert result.n == 4 and result.accuracy == 0.5 and result.confusions == [("a", "b", 1)]
    with pytest.raises(ValueError):
        agreement(["a"], [])
