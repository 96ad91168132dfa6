"""Dense metrics: agreement with brute force and with the reference compute_metrics, to the digit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from evalkit import brute_t2v, brute_v2t, clip4clip_compute_metrics, summary, t2v_counts, v2t_counts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from svta.errors import ConfigError, InputError
from svta.eval.metrics import Metrics, RetrievalResult, compute_metrics, evaluate_similarity

KEYS = ("R1", "R5", "R10", "MdR", "MnR")


def _close(ours: dict, ref: dict) -> None:
    for key in KEYS:
        assert ours[key] == pytest.approx(ref[key], abs=1e-9), key


@pytest.mark.parametrize("ties", ["optimistic", "pessimistic", "mean"])
@pytest.mark.parametrize("shape", [(40, 40), (25, 60)])
def test_default_matches_brute_force_with_ties(ties, shape):
    rng = np.random.default_rng(1)
    S = rng.integers(0, 6, size=shape).astype(np.float32)  # many exact ties
    ours = compute_metrics(S, ties=ties)
    t2v = np.arange(shape[0])
    mean = ties == "mean"  # R@K is then the expected recall under random tie-breaking
    t_counts, v_counts = t2v_counts(S, t2v), v2t_counts(S, t2v)[1]
    _close(ours["t2v"], summary(brute_t2v(S, t2v, ties), counts=t_counts if mean else None))
    _close(ours["v2t"], summary(brute_v2t(S, t2v, ties)[1], counts=v_counts if mean else None))
    assert ours["t2v"]["n"] == shape[0] and ours["v2t"]["n"] == shape[0]


def test_default_equals_reference_without_ties():
    rng = np.random.default_rng(2)
    S = rng.normal(size=(300, 300)).astype(np.float32) + 2 * np.eye(300, dtype=np.float32)
    ours = compute_metrics(S)
    for direction, matrix in (("t2v", S), ("v2t", S.T)):
        ref = clip4clip_compute_metrics(matrix)
        assert all(ours[direction][k] == ref[k] for k in KEYS)  # exact, not approx


@pytest.mark.parametrize("seed", range(4))
def test_compat_reproduces_reference_with_ties_nan_and_inf(seed):
    rng = np.random.default_rng(seed)
    S = np.round(rng.normal(size=(60, 60)) * 2) / 2
    S[3, 3], S[5, 9], S[7, 7], S[8, 8], S[4, 1] = np.nan, np.nan, -np.inf, np.inf, -np.inf
    ours = compute_metrics(S, compat="clip4clip")
    for direction, matrix in (("t2v", S), ("v2t", S.T)):
        ref = clip4clip_compute_metrics(matrix)
        assert all(ours[direction][k] == ref[k] for k in KEYS), direction
    assert ours["t2v"]["n_dropped"] == 3
    assert ours["t2v"]["n"] > ours["t2v"]["n_queries"] - 3  # tie duplication adds entries


def test_nan_ground_truth_is_reported_not_dropped():
    S = np.eye(5) + 0.1
    S[2, 2] = np.nan
    result = evaluate_similarity(S)
    assert result.t2v.n_nan == 1 and result.t2v.n == 5
    assert list(result.t2v_ranks.nan_queries) == [2]
    assert result.t2v_ranks.ranks[2] == 5  # worst rank
    dropped = evaluate_similarity(S, nan="drop")
    assert dropped.t2v.n == 4 and list(dropped.t2v_ranks.dropped) == [2]
    with pytest.raises(InputError, match="NaN for query 2"):
        evaluate_similarity(S, nan="raise")


def test_nan_candidates_never_outrank():
    S = np.full((3, 3), np.nan)
    np.fill_diagonal(S, 0.0)
    result = evaluate_similarity(S)
    assert result.t2v.R1 == 100.0 and result.v2t.R1 == 100.0


def test_rectangular_extra_videos_are_distractors():
    rng = np.random.default_rng(3)
    S = rng.normal(size=(10, 30))
    result = evaluate_similarity(S)
    assert result.t2v_ranks.n_candidates == 30
    assert list(result.v2t_ranks.queries) == list(range(10))  # videos without a text are not queries
    np.testing.assert_allclose(result.t2v_ranks.ranks, brute_t2v(S, np.arange(10)))


def test_any_k_and_result_shapes():
    rng = np.random.default_rng(4)
    S = rng.normal(size=(80, 80))
    result = evaluate_similarity(S, ks=(3, 50))
    assert isinstance(result, RetrievalResult) and isinstance(result.t2v, Metrics)
    ranks = brute_t2v(S, np.arange(80))
    assert result.t2v.R[50] == pytest.approx(100 * np.mean(ranks <= 50))
    assert result.t2v.MnR_std == pytest.approx(np.std(ranks))
    data = json.loads(result.to_json())
    assert set(data) == {"t2v", "v2t"}
    assert {"R1", "R5", "R10", "MdR", "MnR", "R3", "R50"} <= set(data["t2v"])
    np.testing.assert_allclose(result.t2v_ranks.query_ranks(), ranks)


def test_integer_and_torch_inputs():
    import torch

    S = np.array([[3, 1], [1, 1]])
    assert compute_metrics(S, ties="pessimistic")["t2v"]["MnR"] == 1.5
    assert compute_metrics(torch.tensor(S, dtype=torch.float64))["t2v"]["R1"] == 100.0


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"ties": "random"}, ConfigError),
        ({"compat": "xclip"}, ConfigError),
        ({"nan": "skip"}, ConfigError),
        ({"compat": "clip4clip", "ties": "mean"}, ConfigError),
    ],
)
def test_bad_options(kwargs, error):
    with pytest.raises(error):
        compute_metrics(np.eye(3), **kwargs)


def test_bad_inputs():
    with pytest.raises(InputError, match="2-D"):
        compute_metrics(np.zeros(4))
    with pytest.raises(InputError, match="numeric"):
        compute_metrics(np.array([["a"]]))
    with pytest.raises(InputError, match="more texts"):
        compute_metrics(np.zeros((4, 3)))
    with pytest.raises(InputError, match="square"):
        compute_metrics(np.zeros((3, 4)), compat="clip4clip")
    with pytest.raises(InputError, match="every ground-truth score is NaN"):
        compute_metrics(np.full((3, 3), np.nan))
    with pytest.raises(InputError, match="no query left"):
        compute_metrics(np.full((3, 3), np.inf), compat="clip4clip")


matrices = arrays(
    np.float64,
    st.tuples(st.integers(1, 12), st.integers(1, 12)),
    elements=st.sampled_from([0.0, 0.5, 1.0, -1.0, np.nan, -np.inf]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices)
def test_property_default_and_compat(S):
    n, m = S.shape
    if n > m:
        S = S[:m]
        n = m
    t2v = np.arange(n)
    if np.isnan(np.diag(S[:, :n])).all():
        with pytest.raises(InputError):
            compute_metrics(S)
        return
    ours = evaluate_similarity(S, ties="mean")
    np.testing.assert_allclose(ours.t2v_ranks.ranks, brute_t2v(S, t2v, "mean"))
    np.testing.assert_allclose(ours.v2t_ranks.ranks, brute_v2t(S, t2v, "mean")[1])
    if n == m and np.isfinite(np.diag(S)).any():
        compat = compute_metrics(S, compat="clip4clip")
        for direction, matrix in (("t2v", S), ("v2t", S.T)):
            ref = clip4clip_compute_metrics(matrix)
            assert all(compat[direction][k] == ref[k] for k in KEYS)
