"""Streaming evaluation: block-by-block ranks equal dense brute force, for any block size, layout
and score head; multi-caption compat equals the reference evaluation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from evalkit import brute_t2v, brute_v2t, clip4clip_multi, v2t_counts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svta.errors import InputError
from svta.eval.layout import QueryLayout
from svta.eval.metrics import evaluate_similarity
from svta.eval.streaming import evaluate_embeddings, evaluate_model_scores, plan_blocks, stream_ranks


def _dense(S):
    return lambda rows, cols: S[rows, cols]


@pytest.mark.parametrize("block", [1, 3, 7, 64])
def test_block_size_does_not_change_ranks(block):
    rng = np.random.default_rng(0)
    S = np.round(rng.normal(size=(23, 31)), 1)
    result = stream_ranks(_dense(S), 23, 31, block=block, ties="pessimistic")
    np.testing.assert_array_equal(result.t2v_ranks.ranks, brute_t2v(S, np.arange(23), "pessimistic"))
    np.testing.assert_array_equal(result.v2t_ranks.ranks, brute_v2t(S, np.arange(23), "pessimistic")[1])


def test_each_block_scored_once_and_bounded_on_the_diagonal():
    calls = []
    S = np.random.default_rng(1).normal(size=(50, 50))

    def score(rows, cols):
        calls.append((rows.start, cols.start))
        assert rows.stop - rows.start <= 8 and cols.stop - cols.start <= 8
        return torch.from_numpy(S[rows, cols])

    stream_ranks(score, 50, 50, block=8)
    assert len(calls) == len(set(calls)) == 7 * 7


@pytest.mark.parametrize("shuffle", [False, True])
def test_multi_caption_matches_brute_force(shuffle):
    rng = np.random.default_rng(2)
    t2v = np.repeat(np.arange(12), rng.integers(1, 5, size=12))
    if shuffle:
        t2v = rng.permutation(t2v)
    T, V = rng.normal(size=(len(t2v), 8)), rng.normal(size=(15, 8))  # 3 videos without a caption
    result = evaluate_embeddings(T, V, t2v, block=5, ties="mean")
    Tn = torch.nn.functional.normalize(torch.tensor(T).float(), dim=1)
    Vn = torch.nn.functional.normalize(torch.tensor(V).float(), dim=1)
    S = (Tn @ Vn.T).numpy()
    np.testing.assert_allclose(result.t2v_ranks.query_ranks("mean"), brute_t2v(S, t2v, "mean"))
    ids, ranks = brute_v2t(S, t2v, "mean")
    np.testing.assert_array_equal(result.v2t_ranks.queries, ids)
    np.testing.assert_allclose(result.v2t_ranks.ranks, ranks)
    np.testing.assert_array_equal(result.text_to_video, t2v)
    assert result.v2t_ranks.n_candidates == 12


def test_non_contiguous_groups_need_grouping_for_stream_ranks():
    t2v = np.array([0, 1, 0, 1])
    with pytest.raises(InputError, match="contiguous"):
        stream_ranks(_dense(np.zeros((4, 2))), 4, 2, t2v)


def _sorted_layout(rng, n_video, max_caps):
    return np.repeat(np.arange(n_video), rng.integers(1, max_caps + 1, size=n_video))


@pytest.mark.parametrize("seed", range(3))
def test_multi_caption_compat_equals_reference_without_ties(seed):
    rng = np.random.default_rng(seed)
    t2v = _sorted_layout(rng, 40, 4)
    S = rng.normal(size=(len(t2v), 40)).astype(np.float32)
    S[0, 5] = np.nan  # a NaN candidate ranks first in the reference's descending sort
    S[3, t2v[3]] = np.nan  # NaN ground truth: dropped
    S[6, t2v[6]] = -np.inf
    ours = evaluate_similarity(S, t2v, compat="clip4clip", block=16).to_dict()
    ref_t2v, ref_v2t = clip4clip_multi(S, t2v)
    for key in ("R1", "R5", "R10", "MdR", "MnR"):
        assert ours["t2v"][key] == ref_t2v[key], key
        assert ours["v2t"][key] == ref_v2t[key], key


def test_multi_caption_compat_ties_follow_stable_order_on_short_rows():
    # torch's sort is stable for rows of at most 16 entries: ties then go by video index.
    rng = np.random.default_rng(5)
    t2v = _sorted_layout(rng, 12, 3)
    S = rng.integers(0, 3, size=(len(t2v), 12)).astype(np.float64)
    ours = evaluate_similarity(S, t2v, compat="clip4clip", block=4).to_dict()
    ref_t2v, ref_v2t = clip4clip_multi(S, t2v)
    for key in ("R1", "R5", "R10", "MdR", "MnR"):
        assert ours["t2v"][key] == ref_t2v[key], key
        assert ours["v2t"][key] == ref_v2t[key], key


def test_compat_multi_needs_every_video_captioned():
    with pytest.raises(InputError, match="caption for every video"):
        evaluate_similarity(np.zeros((3, 3)), np.array([0, 0, 1]), compat="clip4clip")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_property_multi_caption_streaming(data):
    n_video = data.draw(st.integers(1, 7))
    t2v = np.array(data.draw(st.lists(st.integers(0, n_video - 1), min_size=1, max_size=14)))
    values = st.sampled_from([0.0, 1.0, 2.0, np.nan, -np.inf])
    S = np.array(data.draw(st.lists(values, min_size=len(t2v) * n_video, max_size=len(t2v) * n_video)))
    S = S.reshape(len(t2v), n_video)
    block = data.draw(st.integers(1, 5))
    ties = data.draw(st.sampled_from(["optimistic", "pessimistic", "mean"]))
    if np.isnan(S[np.arange(len(t2v)), t2v]).all():
        return
    ids, v_ranks = brute_v2t(S, t2v, ties)
    if all(c is None for c in v2t_counts(S, t2v)[1]):
        return
    # features are the item indices, so the head sees which (possibly regrouped) texts it scores
    result = evaluate_model_scores(
        lambda a, b: S[np.ix_(a, b)], np.arange(len(t2v)), np.arange(n_video), t2v, block=block, ties=ties
    )
    np.testing.assert_allclose(result.t2v_ranks.query_ranks(ties), brute_t2v(S, t2v, ties))
    np.testing.assert_array_equal(result.v2t_ranks.queries, ids)
    np.testing.assert_allclose(result.v2t_ranks.query_ranks(ties), v_ranks)


@dataclass
class PairFeats:
    tokens: torch.Tensor  # [n, L, D]
    mask: torch.Tensor  # [n, L]


def test_model_scores_with_a_pairwise_head():
    rng = torch.Generator().manual_seed(0)
    text = PairFeats(torch.randn(20, 4, 6, generator=rng), torch.ones(20, 4))
    video = torch.randn(20, 3, 6, generator=rng)

    def head(t: PairFeats, v: torch.Tensor) -> torch.Tensor:  # token-level max-sim, X-CLIP style
        sims = torch.einsum("ald,bfd->abfl", t.tokens, v)
        return (sims.amax(dim=2) * t.mask[:, None]).sum(-1)

    result = evaluate_model_scores(head, text, video, block=6, keep_topk=5)
    S = head(text, video).numpy()
    np.testing.assert_array_equal(result.t2v_ranks.ranks, brute_t2v(S, np.arange(20)))
    np.testing.assert_array_equal(result.t2v_ranks.topk, np.argsort(-S, axis=1, kind="stable")[:, :5])


def test_embeddings_match_dense_and_topk():
    rng = np.random.default_rng(3)
    T, V = rng.normal(size=(70, 16)).astype(np.float32), rng.normal(size=(70, 16)).astype(np.float32)
    streamed = evaluate_embeddings(T, V, block=16, keep_topk=3)
    Tn = torch.nn.functional.normalize(torch.from_numpy(T), dim=1)
    Vn = torch.nn.functional.normalize(torch.from_numpy(V), dim=1)
    dense = evaluate_similarity((Tn @ Vn.T).numpy())
    assert streamed.to_dict() == dense.to_dict()
    S = (Tn @ Vn.T).numpy()
    np.testing.assert_array_equal(streamed.v2t_ranks.topk, np.argsort(-S.T, axis=1, kind="stable")[:, :3])


def test_bad_embeddings_and_blocks():
    with pytest.raises(InputError, match="width"):
        evaluate_embeddings(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(InputError, match=r"\[n, D\]"):
        evaluate_embeddings(np.zeros(3), np.zeros((3, 5)))
    with pytest.raises(InputError, match="real numbers"):
        evaluate_embeddings(np.array([["a"]]), np.zeros((3, 5)))
    with pytest.raises(InputError, match="returned shape"):
        stream_ranks(lambda r, c: np.zeros((2, 2)), 5, 5, block=3)
    with pytest.raises(InputError, match="not a video index"):
        stream_ranks(_dense(np.zeros((2, 2))), 2, 2, np.array([0, 2]))


def test_plan_counts_ground_truth_blocks_once_when_possible():
    layout = QueryLayout.build(40, 10, np.repeat(np.arange(10), 4))
    tb, vb = layout.text_bounds(8), layout.video_bounds(4)
    gt_blocks, ready = plan_blocks(layout, tb, vb)
    assert all(b1 - b0 == 8 for b0, b1 in tb)
    assert ready <= set(gt_blocks) and len(ready) >= 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_blocks_equal_cpu():
    rng = np.random.default_rng(7)
    t2v = np.repeat(np.arange(300), 3)
    S = torch.from_numpy(np.round(rng.normal(size=(900, 300)), 1))
    S[5, 0] = float("nan")
    gpu = S.cuda()
    kwargs = {"ties": "mean", "keep_topk": 4}
    on_gpu = stream_ranks(lambda r, c: gpu[r, c], 900, 300, t2v, block=128, device="cuda", **kwargs)
    on_cpu = stream_ranks(lambda r, c: S[r, c], 900, 300, t2v, block=128, **kwargs)
    assert on_gpu.to_dict() == on_cpu.to_dict()
    np.testing.assert_array_equal(on_gpu.t2v_ranks.ranks, brute_t2v(S.numpy(), t2v, "mean"))
    compat = [
        stream_ranks(lambda r, c, m=m: m[r, c], 900, 300, t2v, block=100, compat="clip4clip", device=m.device).to_dict()
        for m in (gpu, S)
    ]
    assert compat[0] == compat[1]


def test_clip4clip_compat_reads_both_directions_from_one_text_by_video_product(monkeypatch):
    """CLIP4Clip ranks V2T on the transpose of its text x video matrix: every block the engine counts, for both
    directions, must hold the very numbers of that one product (a product that rounds differently moves ties)."""
    from svta.eval.counting import RankCounter
    from svta.eval.metrics import compute_metrics
    from svta.eval.streaming import evaluate_embeddings

    gen = torch.Generator().manual_seed(0)
    text, video = torch.randn(300, 512, generator=gen), torch.randn(300, 512, generator=gen)
    full = torch.nn.functional.normalize(text, dim=1) @ torch.nn.functional.normalize(video, dim=1).T
    seen = []
    original = RankCounter.count

    def spy(self, t_blk, v_blk, rows, cols):
        seen.append(bool(torch.equal(v_blk, full[rows[0] : rows[1], cols[0] : cols[1]])) and v_blk is t_blk)
        return original(self, t_blk, v_blk, rows, cols)

    monkeypatch.setattr(RankCounter, "count", spy)
    result = evaluate_embeddings(text, video, compat="clip4clip", block=64)
    assert seen and all(seen)
    reference = compute_metrics(full.numpy(), compat="clip4clip")
    assert result.to_dict() == reference


@pytest.mark.parametrize("compat", [None, "clip4clip"])
def test_embeddings_compute_one_product(compat):
    """Every block of text x video products is computed once: the whole evaluation costs one N x N product."""
    from torch.utils.flop_counter import FlopCounterMode

    gen = torch.Generator().manual_seed(1)
    text, video = torch.randn(300, 64, generator=gen), torch.randn(300, 64, generator=gen)
    with FlopCounterMode(display=False) as flops:
        evaluate_embeddings(text, video, compat=compat, block=64)
    assert flops.get_total_flops() == 2 * 300 * 300 * 64


def test_compat_scores_unit_length_embeddings_as_given(monkeypatch):
    """The reference multiplies the normalised features it holds; normalising them again changes their last
    bits, and with them which scores tie. Under compat the counted blocks are the bits of ``t @ v.T`` itself."""
    from svta.eval.counting import RankCounter

    gen = torch.Generator().manual_seed(2)
    text = torch.nn.functional.normalize(torch.randn(300, 512, generator=gen), dim=1)
    video = torch.nn.functional.normalize(text + 0.25 * torch.randn(300, 512, generator=gen), dim=1)
    assert not torch.equal(torch.nn.functional.normalize(text, dim=1), text)  # renormalising is not a no-op
    full = text @ video.T
    seen = []
    original = RankCounter.count

    def spy(self, t_blk, v_blk, rows, cols):
        seen.append(bool(torch.equal(t_blk, full[rows[0] : rows[1], cols[0] : cols[1]])))
        return original(self, t_blk, v_blk, rows, cols)

    monkeypatch.setattr(RankCounter, "count", spy)
    evaluate_embeddings(text.numpy(), video.numpy(), compat="clip4clip", block=64)
    assert seen and all(seen)
    seen.clear()
    evaluate_embeddings(text * 3, video, compat="clip4clip", block=64)  # not unit length: normalised first
    assert seen and not all(seen)


def test_counting_runs_on_one_thread_and_restores_the_count(monkeypatch):
    from svta.eval.counting import RankCounter

    threads = []
    original = RankCounter._above

    def spy(self, *args):
        threads.append(torch.get_num_threads())
        return original(self, *args)

    monkeypatch.setattr(RankCounter, "_above", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        evaluate_embeddings(np.eye(40, 8), np.eye(40, 8), block=16)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert threads and set(threads) == {1}


def test_blocks_scored_side_by_side_give_the_serial_numbers(monkeypatch):
    """Embedding blocks are scored and counted on several threads; every count and rank equals the one-thread
    evaluation's, ties included. Top-k lists (whose tie order follows the scoring order) stay on one thread."""
    import svta.eval.streaming as streaming

    gen = torch.Generator().manual_seed(3)
    text = torch.randn(200, 16, generator=gen).round()  # small integers: many exact ties
    video = torch.randn(200, 16, generator=gen).round()
    calls = []
    original = streaming._count_in_parallel
    monkeypatch.setattr(streaming, "_count_in_parallel", lambda *a: calls.append(a[3]) or original(*a))
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # two workers, whatever this machine has
    try:
        side_by_side = evaluate_embeddings(text, video, normalize=False, block=32)
        assert calls and calls[0] == 2
        evaluate_embeddings(text, video, normalize=False, block=32, keep_topk=3)
        monkeypatch.setattr(streaming, "MAX_BLOCK_WORKERS", 1)
        serial = evaluate_embeddings(text, video, normalize=False, block=32)
    finally:
        torch.set_num_threads(before)
    assert len(calls) == 1
    assert side_by_side.to_dict() == serial.to_dict()
    for a, b in ((side_by_side.t2v_ranks, serial.t2v_ranks), (side_by_side.v2t_ranks, serial.v2t_ranks)):
        assert np.array_equal(a.n_greater, b.n_greater) and np.array_equal(a.n_equal, b.n_equal)
