"""``compat="gram"`` against GRAM's evaluation written out here from its description (issue 20): sort every
row of the dense final matrix with torch, read where the ground truth lands; V2T sorts over single captions and
takes the best true caption; a re-scorer fills each query's top-k with second-stage scores in a zero matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from svta.errors import ConfigError, InputError
from svta.eval.metrics import evaluate_similarity
from svta.eval.rerank import DualSoftmax, TopKRescore
from svta.eval.streaming import evaluate_embeddings, evaluate_model_scores


def reference_final(S: torch.Tensor, pair_score, k: int | None, dim: int) -> torch.Tensor:
    """The matrix GRAM ranks: ``S`` itself, or zeros with ``pair_score(text, video)`` at each query's top-k."""
    if k is None:
        return S
    out = torch.zeros_like(S)
    top = S.topk(k, dim=dim)[1]
    for a in range(top.shape[0]):
        for b in range(top.shape[1]):
            text, video = (a, int(top[a, b])) if dim == 1 else (int(top[a, b]), b)
            out[text, video] = pair_score(text, video)
    return out


def reference_gram(S: torch.Tensor, t2v: list[int], pair_score=None, k: int | None = None) -> dict:
    """R@1/5/10, MdR, MnR of both directions as GRAM's compute_metric_ret states them."""
    out = {}
    final = reference_final(S, pair_score, k, dim=1)
    order = final.sort(dim=-1, descending=True)[1].tolist()
    t_rank = [order[i].index(t2v[i]) for i in range(S.shape[0])]
    final = reference_final(S, pair_score, k, dim=0)
    order = final.sort(dim=0, descending=True)[1].permute(1, 0).tolist()
    v_rank = [min(order[v].index(c) for c in range(S.shape[0]) if t2v[c] == v) for v in range(S.shape[1])]
    for name, rank in (("t2v", t_rank), ("v2t", v_rank)):
        r = torch.tensor(rank, dtype=torch.float32)
        out[name] = {
            "R1": (r < 1).sum().item() / len(rank) * 100,
            "R5": (r < 5).sum().item() / len(rank) * 100,
            "R10": (r < 10).sum().item() / len(rank) * 100,
            "MdR": torch.median(r).item() + 1,
            "MnR": torch.mean(r).item() + 1,
        }
    return out


def check(result, expected) -> None:
    for direction in ("t2v", "v2t"):
        got = getattr(result, direction)
        for key, value in expected[direction].items():
            actual = got.R[int(key[1:])] if key.startswith("R") else getattr(got, key)
            assert actual == pytest.approx(value, abs=1e-9), (direction, key)


@pytest.mark.parametrize("n", [12, 40])
def test_ties_follow_torch_sort_order(n):
    """Quantised scores tie a lot; GRAM's rank is where torch's sort leaves the ground truth among them."""
    gen = torch.Generator().manual_seed(n)
    S = torch.randint(0, 4, (n, n), generator=gen).float()
    result = evaluate_similarity(S, compat="gram")
    check(result, reference_gram(S, list(range(n))))
    optimistic = evaluate_similarity(S)
    assert optimistic.t2v.R1 >= result.t2v.R1 and optimistic.t2v.MnR <= result.t2v.MnR


def test_multi_caption_video_to_text_ranks_single_captions():
    """Captions of a video interleaved with others (the engine regroups them internally)."""
    gen = torch.Generator().manual_seed(3)
    n_video = 30
    t2v = np.r_[np.arange(n_video), np.arange(n_video)[::-1]]  # two captions per video, not contiguous
    S = torch.randint(0, 6, (len(t2v), n_video), generator=gen).float()
    result = evaluate_model_scores(lambda t, v: t @ v.T, S, torch.eye(n_video), t2v, compat="gram", block=9)
    check(result, reference_gram(S, t2v.tolist()))
    contiguous = np.repeat(np.arange(n_video), 2)
    check(evaluate_similarity(S, contiguous, compat="gram"), reference_gram(S, contiguous.tolist()))
    text = torch.randn(len(t2v), 8, generator=gen)
    video = torch.randn(n_video, 8, generator=gen)
    sim = torch.nn.functional.normalize(text, dim=1) @ torch.nn.functional.normalize(video, dim=1).T
    check(evaluate_embeddings(text, video, t2v, compat="gram", block=7), reference_gram(sim, t2v.tolist()))
    grouped = evaluate_similarity(S, contiguous)  # svta's own rule ranks caption groups
    assert grouped.v2t.n_queries == result.v2t.n_queries == n_video


@pytest.mark.parametrize("multi", [False, True])
def test_rescored_top_k_in_zeros_and_median_under_misses(multi):
    """Most ground truths miss a top-3: they rank among the zeros in torch's order, and MdR is read there."""
    gen = torch.Generator().manual_seed(5)
    n_video = 24
    t2v = np.r_[np.arange(n_video), np.arange(n_video)] if multi else np.arange(n_video)
    S = torch.rand(len(t2v), n_video, generator=gen)
    second = torch.randint(1, 4, (len(t2v), n_video), generator=gen).float() / 4  # ties inside the top-k too

    def scorer(text_idx, video_idx):
        return second[torch.as_tensor(text_idx), torch.as_tensor(video_idx)]

    def pair_score(text, video):
        return second[text, video]

    for tail in ("keep", "zero"):  # GRAM's matrix whatever the tail
        result = evaluate_model_scores(
            lambda t, v: t @ v.T,
            S,
            torch.eye(n_video),
            t2v,
            compat="gram",
            rerank=TopKRescore(scorer, k=3, tail=tail),
            block=5,
        )
        check(result, reference_gram(S, t2v.tolist(), pair_score, k=3))
        assert result.t2v.extra["outside_topk"] > len(t2v) / 2
    assert result.t2v.MdR > 3


def test_gram_compat_refuses_what_gram_cannot_do():
    S = np.random.default_rng(0).random((4, 5))
    with pytest.raises(InputError, match="caption for every video"):
        evaluate_similarity(S, compat="gram")
    with pytest.raises(ConfigError, match="dual softmax"):
        evaluate_embeddings(np.eye(4), np.eye(4), compat="gram", rerank=DualSoftmax())
    with pytest.raises(ConfigError, match="tie rule"):
        evaluate_similarity(S[:, :4], compat="gram", ties="mean")
