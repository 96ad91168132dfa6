"""RankCounter's exact counts: the sign-of-difference path equals plain comparison on ties, NaN, infinities,
differences in the subnormal range, float32 and float64, and falls back to comparison where it cannot hold."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from evalkit import brute_t2v, brute_v2t

from svta.eval.counting import RankCounter
from svta.eval.streaming import stream_ranks

TINY = float(np.finfo(np.float32).tiny)
VALUES = [0.0, 1.0, 1.0 + 2**-23, 2.0, -1.0, np.nan, np.inf, -np.inf, TINY, 1.5 * TINY, -TINY, 2**-149]


def _matrix(seed: int, dtype: type, shape=(37, 29)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(np.array(VALUES, dtype=dtype), size=shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_special_values_count_as_plain_comparison(dtype, seed):
    S = _matrix(seed, dtype, (37, 37))
    t2v = np.arange(37)
    result = stream_ranks(lambda r, c: S[r, c], 37, 37, block=16, ties="pessimistic")
    np.testing.assert_array_equal(result.t2v_ranks.query_ranks("pessimistic"), brute_t2v(S, t2v, "pessimistic"))
    np.testing.assert_array_equal(result.v2t_ranks.query_ranks("pessimistic"), brute_v2t(S, t2v, "pessimistic")[1])


def test_multi_caption_groups_with_special_values():
    t2v = np.repeat(np.arange(10), 3)
    S = _matrix(7, np.float32, (30, 10))
    result = stream_ranks(lambda r, c: S[r, c], 30, 10, t2v, block=8, ties="mean")
    np.testing.assert_array_equal(result.t2v_ranks.query_ranks("mean"), brute_t2v(S, t2v, "mean"))
    np.testing.assert_array_equal(result.v2t_ranks.query_ranks("mean"), brute_v2t(S, t2v, "mean")[1])


def test_chunks_of_a_large_block_add_up():
    rng = np.random.default_rng(3)
    S = np.round(rng.normal(size=(600, 2500)), 2).astype(np.float32)  # many exact ties, > 1 chunk per block
    t2v = np.arange(600)
    result = stream_ranks(lambda r, c: S[r, c], 600, 2500, t2v, block=2500, ties="pessimistic")
    np.testing.assert_array_equal(result.t2v_ranks.query_ranks("pessimistic"), brute_t2v(S, t2v, "pessimistic"))


def test_flush_to_zero_falls_back_to_comparison():
    """With flush-to-zero, 1.5*tiny - tiny rounds to 0 although the two differ: comparison must decide."""
    S = np.array([[TINY, 1.5 * TINY], [1.5 * TINY, TINY]], dtype=np.float32)
    assert torch.set_flush_denormal(True)  # x86 with SSE3 and arm64 support it
    try:
        counter_result = stream_ranks(lambda r, c: S[r, c], 2, 2, ties="pessimistic")
    finally:
        torch.set_flush_denormal(False)
    assert counter_result.t2v_ranks.n_greater.tolist() == [1, 1]
    assert counter_result.v2t_ranks.n_greater.tolist() == [1, 1]
    assert counter_result.t2v_ranks.n_equal.tolist() == [1, 1]


def test_sign_path_only_where_it_is_exact():
    from svta.eval.layout import QueryLayout

    counter = RankCounter(QueryLayout.build(2, 2), torch.device("cpu"))
    assert counter._sign_path(torch.zeros(2, 2))
    assert counter._sign_path(torch.zeros(2, 2, dtype=torch.float64))
    assert not counter._sign_path(torch.zeros(2, 2, dtype=torch.bfloat16))
    assert not counter._sign_path(torch.zeros(2, 2, dtype=torch.float16))
