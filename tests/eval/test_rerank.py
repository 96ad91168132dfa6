"""Re-ranking: streamed DSL / QB-Norm / top-k re-scoring equal their dense definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from evalkit import brute_t2v, dsl_dense, group_matrix, qbnorm_dense, rescore_ranks

from svta.errors import ConfigError
from svta.eval.rerank import BankScores, DualSoftmax, QueryBankNorm, TopKRescore
from svta.eval.streaming import evaluate_embeddings, stream_ranks


def _dense(S):
    return lambda rows, cols: S[rows, cols]


def _normed(x):
    return torch.nn.functional.normalize(torch.as_tensor(x).float(), dim=1)


def test_dual_softmax_matches_dense():
    rng = np.random.default_rng(0)
    S = rng.normal(size=(30, 30)) * 0.3
    result = stream_ranks(_dense(S), 30, 30, block=7, rerank=DualSoftmax(temperature=10.0))
    t2v_mat, v2t_mat = dsl_dense(S, 10.0)
    np.testing.assert_array_equal(result.t2v_ranks.ranks, brute_t2v(t2v_mat, np.arange(30)))
    np.testing.assert_array_equal(result.v2t_ranks.ranks, brute_t2v(v2t_mat.T, np.arange(30)))
    plain = stream_ranks(_dense(S), 30, 30)
    assert result.t2v.MnR != plain.t2v.MnR  # it does change the ranking
    assert result.settings["rerank"] == ["DualSoftmax"]


def test_query_bank_norm_matches_dense():
    rng = np.random.default_rng(1)
    T, V = rng.normal(size=(40, 8)), rng.normal(size=(40, 8))
    bank_t, bank_v = rng.normal(size=(25, 8)), rng.normal(size=(25, 8))
    qb = QueryBankNorm(text_bank=bank_t, video_bank=bank_v, beta=20.0, k=1)
    result = evaluate_embeddings(T, V, block=16, rerank=qb)
    S = (_normed(T) @ _normed(V).T).double().numpy()
    t2v_mat = qbnorm_dense(S, (_normed(bank_t) @ _normed(V).T).double().numpy())
    v2t_mat = qbnorm_dense(S.T, (_normed(bank_v) @ _normed(T).T).double().numpy())
    np.testing.assert_array_equal(result.t2v_ranks.ranks, brute_t2v(t2v_mat, np.arange(40)))
    np.testing.assert_array_equal(result.v2t_ranks.ranks, brute_t2v(v2t_mat, np.arange(40)))
    assert 0 < qb.t_flag.sum() < 40  # some queries normalised, some kept


def test_query_bank_norm_with_bank_scores_and_errors():
    rng = np.random.default_rng(2)
    S, B = rng.normal(size=(20, 20)), rng.normal(size=(15, 20))
    bank = BankScores(lambda b, g: B[b, g], 15)
    result = stream_ranks(_dense(S), 20, 20, block=6, rerank=QueryBankNorm(text_bank=bank, k=2))
    np.testing.assert_array_equal(result.t2v_ranks.ranks, brute_t2v(qbnorm_dense(S, B, k=2), np.arange(20)))
    with pytest.raises(ConfigError, match="BankScores"):
        stream_ranks(_dense(S), 20, 20, rerank=QueryBankNorm(text_bank=np.zeros((3, 4))))
    with pytest.raises(ConfigError, match="at most one"):
        stream_ranks(_dense(S), 20, 20, rerank=[DualSoftmax(), QueryBankNorm(text_bank=bank)])


@pytest.mark.parametrize("tail", ["keep", "zero"])
@pytest.mark.parametrize("ties", ["optimistic", "pessimistic", "mean"])
def test_topk_rescore_matches_dense(tail, ties):
    rng = np.random.default_rng(3)
    S, R = rng.normal(size=(40, 40)) * 0.5 + np.eye(40) * 0.5, rng.uniform(0.01, 0.99, size=(40, 40))
    rescore = TopKRescore(lambda t, v: R[t, v], k=5, tail=tail)
    result = stream_ranks(_dense(S), 40, 40, block=9, ties=ties, rerank=rescore)
    np.testing.assert_allclose(result.t2v_ranks.query_ranks(ties), rescore_ranks(S, R, 5, tail, ties))
    np.testing.assert_allclose(result.v2t_ranks.query_ranks(ties), rescore_ranks(S.T, R.T, 5, tail, ties))
    outside = int(sum(i not in np.argsort(-S[i])[:5] for i in range(40)))
    assert result.t2v.extra["outside_topk"] == outside > 0
    if tail == "zero":
        assert result.t2v.extra["MnR_expected"] == pytest.approx(rescore_ranks(S, R, 5, "zero", "mean").mean())


def test_zero_tail_inflates_mean_rank_like_gram():
    rng = np.random.default_rng(4)
    n = 200
    S = rng.normal(size=(n, n)) + 2.5 * np.eye(n)
    R = np.where(np.eye(n, dtype=bool), 0.9, 0.1)  # a perfect matching head
    keep = stream_ranks(_dense(S), n, n, ties="mean", rerank=TopKRescore(lambda t, v: R[t, v], k=10))
    zero = stream_ranks(_dense(S), n, n, ties="mean", rerank=TopKRescore(lambda t, v: R[t, v], k=10, tail="zero"))
    assert keep.t2v.R1 == zero.t2v.R1 == 100 * (1 - zero.t2v.extra["outside_topk"] / n)
    assert zero.t2v.MnR > keep.t2v.MnR  # misses fall into the middle of ~n-k zeros


def test_topk_rescore_multi_caption_v2t_uses_group_max():
    rng = np.random.default_rng(5)
    t2v = np.repeat(np.arange(15), 2)
    S, R = rng.normal(size=(30, 15)), rng.uniform(0.01, 0.99, size=(30, 15))
    result = stream_ranks(_dense(S), 30, 15, t2v, block=4, rerank=TopKRescore(lambda t, v: R[t, v], k=4))
    G, _ = group_matrix(S, t2v)
    RG, _ = group_matrix(R, t2v)
    np.testing.assert_allclose(result.v2t_ranks.query_ranks(), rescore_ranks(G, RG, 4, "keep", "optimistic"))


def test_topk_rescore_with_regrouped_texts_calls_scorer_with_caller_indices():
    rng = np.random.default_rng(6)
    t2v = rng.permutation(np.repeat(np.arange(10), 2))
    T, V = rng.normal(size=(20, 6)), rng.normal(size=(10, 6))
    seen = []

    def scorer(t, v):
        seen.append((t.copy(), v.copy()))
        return (t2v[t] == v).astype(float)  # an oracle head: 1 for a true pair

    result = evaluate_embeddings(T, V, t2v, rerank=TopKRescore(scorer, k=10))
    assert result.t2v.R1 == 100.0 and result.v2t.R1 == 100.0
    assert all(t.max() < 20 for t, _ in seen)
    np.testing.assert_array_equal(result.t2v_ranks.topk[:, 0], t2v)  # kept candidates in final order
    assert (result.t2v_ranks.topk_scores[:, 0] == 1.0).all()


def test_bad_rescore_options():
    with pytest.raises(ConfigError, match="tail"):
        TopKRescore(lambda t, v: t, tail="drop")
    with pytest.raises(ConfigError, match="compat"):
        stream_ranks(_dense(np.eye(3)), 3, 3, compat="clip4clip", rerank=TopKRescore(lambda t, v: t * 0.0))


def test_rerankers_are_registered():
    from svta.registry import registry

    assert registry("reranker").get("dsl") is DualSoftmax
    assert set(registry("reranker").names()) >= {"dsl", "qbnorm", "topk"}
