"""GRAM: volume properties, the volume contrastive loss, hard negatives, the tiny model training, and re-ranking
through the evaluation engine with ``tail="keep"`` vs ``tail="zero"`` (README: "Why GRAM's MnR is ~130")."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from svta.errors import ConfigError, InputError
from svta.retrieval import create_model
from svta.retrieval.gram import sample_hard_negatives
from svta.retrieval.volume import gram_volume, volume_contrastive_loss, volume_matrix

SIZE = 64


def unit(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype), dim=-1)


# ---- volume ---------------------------------------------------------------------------------------------------


def test_equal_vectors_span_no_volume():
    v = unit(5, 8)
    assert torch.allclose(volume_matrix(v, [v]).diagonal(), torch.zeros(5), atol=1e-3)  # float32 inside
    for n in (2, 3, 4):
        assert gram_volume(v[:1].expand(n, 8).double()).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("n", [2, 3, 4, 6])
def test_orthonormal_vectors_span_unit_volume(n):
    basis = torch.linalg.qr(torch.randn(10, n, generator=torch.Generator().manual_seed(n), dtype=torch.float64))[0].t()
    assert gram_volume(basis).item() == pytest.approx(1.0, abs=1e-5)
    anchors, others = basis[:1], [row[None] for row in basis[1:]]
    assert volume_matrix(anchors, others).item() == pytest.approx(1.0, abs=1e-5)


def test_two_vectors_span_sqrt_one_minus_cos_squared():
    a, b = unit(6, 12, seed=1), unit(7, 12, seed=2)
    cos = a @ b.t()
    torch.testing.assert_close(volume_matrix(a, [b]).double(), torch.sqrt(1 - cos**2), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(
        gram_volume(torch.stack([a[0], b[3]])), torch.sqrt(1 - cos[0, 3] ** 2), atol=1e-5, rtol=1e-5
    )


def test_volume_is_invariant_to_the_order_of_the_vectors():
    vectors = unit(4, 9, seed=3)
    reference = gram_volume(vectors)
    for perm in ([1, 0, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        torch.testing.assert_close(gram_volume(vectors[perm]), reference)
    text, video, audio, subtitles = unit(5, 9, seed=4), unit(6, 9, seed=5), unit(6, 9, seed=6), unit(6, 9, seed=7)
    matrix = volume_matrix(text, [video, audio, subtitles])
    torch.testing.assert_close(volume_matrix(text, [subtitles, video, audio]), matrix, atol=1e-5, rtol=1e-5)
    pair = torch.stack([text[2], video[4], audio[4], subtitles[4]])  # entry [2, 4] is that tuple's volume
    assert matrix[2, 4].item() == pytest.approx(gram_volume(pair).item(), abs=1e-5)


def test_volume_stays_float32_under_bf16_autocast():
    a, b = unit(4, 16, seed=9, dtype=torch.float32), unit(4, 16, seed=10, dtype=torch.float32)
    near = F.normalize(a + 1e-3 * b, dim=-1)  # nearly aligned: bf16 products would leave no volume here
    expected = volume_matrix(a, [near])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = volume_matrix(a, [near])
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected)


def test_volume_gradient_is_finite_for_aligned_pairs():
    v = unit(4, 8, dtype=torch.float32).requires_grad_(True)
    volume_matrix(v, [v]).sum().backward()
    assert torch.isfinite(v.grad).all()
    with pytest.raises(InputError, match="n >= 2"):
        volume_matrix(v, [])


def test_volume_contrastive_loss_is_label_smoothed_cross_entropy_both_ways():
    volumes = torch.rand(5, 5, generator=torch.Generator().manual_seed(8))
    tau, eps = 0.07, 0.1

    def smoothed(logits: torch.Tensor) -> torch.Tensor:
        log_p = torch.log_softmax(logits, dim=1)
        return -((1 - eps) * log_p.diagonal() + eps * log_p.mean(dim=1)).mean()

    expected = (smoothed(-volumes / tau) + smoothed(-volumes.t() / tau)) / 2
    torch.testing.assert_close(volume_contrastive_loss(volumes, tau, eps), expected)


def test_hard_negatives_are_never_the_aligned_pair_and_favour_close_items():
    torch.manual_seed(0)
    logits = torch.zeros(6, 6)
    logits[:, 0] = logits[0, :] = 50.0  # item 0 is far closer than the rest to every caption
    picks_video, picks_text = zip(*(sample_hard_negatives(logits) for _ in range(20)))
    videos, texts = torch.stack(picks_video), torch.stack(picks_text)
    rows = torch.arange(6)
    assert not (videos == rows).any() and not (texts == rows).any()
    assert (videos[:, 1:] == 0).float().mean() > 0.9 and (texts[:, 1:] == 0).float().mean() > 0.9


# ---- the model --------------------------------------------------------------------------------------------------


def batch(n: int = 4, frames: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    from svta.retrieval.tokenizer import tokenize

    generator = torch.Generator().manual_seed(seed)
    tokens, mask = tokenize([f"a {['red', 'blue', 'green'][i % 3]} car number {i} crashes" for i in range(n)], 12)
    video = torch.randn(n, frames, 3, SIZE, SIZE, generator=generator)
    frame_mask = torch.ones(n, frames, dtype=torch.long)
    frame_mask[0, 1:] = 0
    return tokens, mask, video, frame_mask


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("gram", backbone="tiny", max_words=12, max_frames=2, temporal_layers=1)


def test_registered_with_gram_parts(model):
    from svta.registry import registry

    assert "gram" in registry("retrieval_model").names()
    keys = set(model.state_dict())
    for name in (
        "contra_temp",
        "itm_head.linear1.weight",
        "itm_head.linear2.weight",
        "vision_frame_embedding",
        "vision_type_embeddings",
        "hidden_trans_vision_multimodal.0.weight",
        "fusion.resblocks.0.cross_attn.in_proj_weight",
        "fusion.resblocks.0.attn.in_proj_weight",
    ):
        assert name in keys
    assert model.contra_temp.item() == pytest.approx(0.07) and not model.clip.logit_scale.requires_grad
    assert (model.rerank_k, model.rerank_tail) == (50, "keep")
    text_block = model.clip.transformer.resblocks[0].state_dict()  # fusion starts as CLIP's text layers
    for key, value in model.fusion.resblocks[0].state_dict().items():
        if key in text_block:
            torch.testing.assert_close(value, text_block[key])
    with pytest.raises(ConfigError, match="rerank_tail"):
        create_model("gram", rerank_tail="random")


def test_tiny_gram_trains_with_decreasing_loss():
    torch.manual_seed(1)
    gram = create_model("gram", max_words=12, max_frames=2, temporal_layers=1).train()
    optimizer = torch.optim.AdamW([p for p in gram.parameters() if p.requires_grad], lr=1e-3)
    inputs, losses = batch(n=4, seed=2), []
    for step in range(3):
        optimizer.zero_grad()
        loss = gram(*inputs)
        loss.backward()
        if step == 0:
            missing = [n for n, p in gram.named_parameters() if p.requires_grad and p.grad is None]
            assert not missing, missing[:5]
            assert gram.itm_head.linear2.weight.grad.abs().sum() > 0 and gram.contra_temp.grad is not None
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses


def test_similarity_is_minus_volume_over_temperature_and_rerank_gives_probabilities(model):
    model.eval()
    tokens, mask, video, frame_mask = batch(n=3)
    with torch.no_grad():
        text, videos = model.encode_text(tokens, mask), model.encode_video(video, frame_mask)
        logits = model.similarity(text, videos)
        cos = text.embeds @ videos.embeds.t()
        torch.testing.assert_close(logits, -torch.sqrt((1 - cos**2).clamp(min=0)) / 0.07, atol=1e-4, rtol=1e-4)
        candidates = torch.tensor([[2, 0], [1, -1], [0, 0]])
        scores = model.rerank(text, videos, candidates)
        direct = model.match_probability(text[torch.tensor([0, 0, 1, 2, 2])], videos[torch.tensor([2, 0, 1, 0, 0])])
    assert torch.isnan(scores[1, 1]) and ((scores[~torch.isnan(scores)] > 0) & (scores[~torch.isnan(scores)] < 1)).all()
    torch.testing.assert_close(scores[~torch.isnan(scores)], direct)


@pytest.fixture(scope="module")
def tail_results(model) -> dict[str, object]:
    """First-stage, ``keep`` and ``zero`` evaluations of 24 captions x 24 videos re-ranked at k = 10."""
    from svta.eval.streaming import evaluate_model_scores
    from svta.retrieval.second_stage import model_rescorer

    model.eval()
    tokens, mask, video, frame_mask = batch(n=24, frames=1, seed=4)
    with torch.no_grad():
        text, videos = model.encode_text(tokens, mask), model.encode_video(video, frame_mask)
    out: dict[str, object] = {"first": evaluate_model_scores(model.similarity, text, videos)}
    for tail in ("keep", "zero"):
        rescore = model_rescorer(model, text, videos, tail=tail, k=10)
        out[tail] = evaluate_model_scores(model.similarity, text, videos, rerank=rescore)
    return out


@pytest.mark.parametrize("direction", ["t2v", "v2t"])
def test_tail_keep_and_zero_share_recalls_and_differ_in_mnr_as_documented(tail_results, direction):
    """Inside the top-k both tails rank alike; a missed ground truth keeps its first-stage rank ("keep") or
    ties with every other zero ("zero": rank k+1 optimistic, (n+k+1)/2 expected), so only MnR moves."""
    n, k = 24, 10
    first, keep, zero = tail_results["first"], tail_results["keep"], tail_results["zero"]
    m_keep, m_zero = getattr(keep, direction), getattr(zero, direction)
    first_rank, keep_rank, zero_rank = (
        getattr(r, f"{direction}_ranks").query_ranks("optimistic") for r in (first, keep, zero)
    )
    inside = first_rank <= k
    assert 0 < inside.sum() < n, "the fixture must have hits and misses in the top-k"
    assert m_keep.extra["outside_topk"] == m_zero.extra["outside_topk"] == int((~inside).sum())
    np.testing.assert_array_equal(keep_rank[inside], zero_rank[inside])
    assert (keep_rank[inside] <= k).all()
    np.testing.assert_array_equal(keep_rank[~inside], first_rank[~inside])  # keep: first-stage order below top-k
    np.testing.assert_array_equal(zero_rank[~inside], np.full((~inside).sum(), k + 1.0))  # zero: first of the ties
    expected = np.where(inside, zero_rank, (n + k + 1) / 2)  # zero, ties broken at random: the middle of the zeros
    assert m_zero.extra["MnR_expected"] == pytest.approx(expected.mean())
    for r in (1, 5, 10):
        assert m_keep.R[r] == m_zero.R[r]
    assert m_keep.MnR == pytest.approx(keep_rank.mean()) and m_zero.MnR == pytest.approx(zero_rank.mean())
    assert m_keep.MnR > m_zero.MnR
    assert keep.settings["rerank"] == ["TopKRescore"] and first.settings["rerank"] == []


def test_rescorer_checks_its_arguments(model):
    from svta.retrieval.second_stage import model_rescorer

    features = model.encode_text(*batch(n=1)[:2]), None
    assert model_rescorer(model, *features, k=0) is None
    with pytest.raises(ConfigError, match="tail"):
        model_rescorer(model, *features, tail="sideways")
    baseline = create_model("clip4clip-meanp", max_words=12)
    assert model_rescorer(baseline, *features) is None  # rerank_k 0: no second stage
    with pytest.raises(ConfigError, match="no second stage"):
        model_rescorer(baseline, *features, k=5)


def test_rescorer_rejects_a_rerank_that_returns_no_scores():
    from svta.retrieval.second_stage import model_rescorer

    gram = create_model("gram", backbone="tiny", max_words=12, max_frames=2, temporal_layers=1)
    gram.rerank = lambda text, video, candidates: None  # a second stage that answers "no re-ranker"
    tokens, mask, video, frame_mask = batch(n=2)
    with torch.no_grad():
        features = gram.encode_text(tokens, mask), gram.encode_video(video, frame_mask)
    rescore = model_rescorer(gram, *features, k=1)
    with pytest.raises(ConfigError, match="returned no scores"):
        rescore.scorer(np.array([0]), np.array([1]))


def test_evaluate_run_uses_the_matching_head_and_tail(tmp_path):
    from retrievalkit import make_dataset, tiny_train_config

    from svta.eval import evaluate
    from svta.retrieval.trainer import train

    make_dataset(tmp_path, {"train": 4, "val": 2, "test": 6}, frames=2, size=48)
    config = tiny_train_config("gram", temporal_layers=1)
    result = train(tmp_path, config)
    assert result.metrics["t2v"]["outside_topk"] == 0  # k = 50 covers all 6 test videos
    assert "MnR_expected" in result.metrics["v2t"]
    report = evaluate(result.run_dir, split="test", device="cpu", rerank_tail="zero", workers=0)
    assert report.metrics["t2v"]["R1"] == result.metrics["t2v"]["R1"]
    assert report.metrics["t2v"]["outside_topk"] == 0


def test_zero_itm_weight_needs_no_reranking():
    with pytest.raises(ConfigError, match="rerank_k 0"):
        create_model("gram", itm_weight=0.0)
    volume_only = create_model("gram", itm_weight=0.0, rerank_k=0, max_words=12, max_frames=2, temporal_layers=1)
    assert not volume_only.itm_head.linear1.weight.requires_grad
    assert math.isfinite(volume_only(*batch()).item())


def test_model_args_reach_the_model_and_eval_takes_a_rerank_tail(tmp_path):
    """`train.model_args` builds GRAM with its options; `svta eval` takes `--rerank-tail`."""
    from svta.cli.main import main
    from svta.retrieval.config import TrainConfig

    config = TrainConfig(model="gram", model_args={"rerank_k": 3, "rerank_tail": "zero"})
    assert config.model_overrides()["rerank_k"] == 3
    from svta.retrieval import create_model

    model = create_model("gram", "tiny", None, **config.model_overrides())
    assert (model.rerank_k, model.rerank_tail) == (3, "zero")
    with pytest.raises(Exception, match="rerank_tail"):
        bad = TrainConfig(model="gram", model_args={"rerank_tail": "sideways"})
        create_model("gram", "tiny", None, **bad.model_overrides())
    # the option parses; a run that does not exist is then the one-line error
    assert main(["eval", "--run", str(tmp_path / "missing"), "--rerank-tail", "zero"]) == 2


# ---- the released recipe, stated independently (issue 20) ---------------------------------------------------------


def _reference_direction_loss(
    queries: torch.Tensor, items: list[torch.Tensor], tau: float, eps: float, transpose: bool
) -> torch.Tensor:
    """One direction of GRAM's loss written from its definition: volume = sqrt(det(V Vᵀ)) of (caption, item
    modalities) by explicit loops, logits -volume/τ, label-smoothed cross-entropy with targets on the diagonal.
    ``transpose``: the queries are items (video -> caption), so rows index items."""
    n = queries.shape[0] if not transpose else items[0].shape[0]
    rows = []
    for i in range(n):
        row = []
        for j in range(n):
            caption, item = (queries[i], j) if not transpose else (queries[j], i)
            stacked = torch.stack([caption] + [modality[item] for modality in items]).double()
            row.append(torch.sqrt(torch.linalg.det(stacked @ stacked.t()).clamp(min=0)))
        rows.append(torch.stack(row))
    logits = -torch.stack(rows) / tau
    log_p = torch.log_softmax(logits, dim=1)
    return -((1 - eps) * log_p.diagonal() + eps * log_p.mean(dim=1)).mean()


@pytest.mark.parametrize("n_items", [1, 2])
def test_split_loss_trains_each_side_from_its_own_direction(n_items):
    """GRAM's no-grad gather: the caption gradient comes from caption -> item only, the item gradient from
    item -> caption only; τ gets both. Checked against the definition above with 2 and 3 modalities."""
    from svta.retrieval.volume import split_volume_contrastive_loss

    tau, eps = 0.07, 0.1
    text = unit(5, 8, seed=20).requires_grad_(True)
    items = [unit(5, 8, seed=21 + m).requires_grad_(True) for m in range(n_items)]
    temp = torch.tensor(tau, dtype=torch.float64, requires_grad=True)
    split_volume_contrastive_loss(text, items, text, items, temp, eps).backward()
    got_text, got_items = text.grad.clone(), [i.grad.clone() for i in items]

    forward = _reference_direction_loss(text, [i.detach() for i in items], tau, eps, transpose=False) / 2
    (want_text,) = torch.autograd.grad(forward, text)
    backward = _reference_direction_loss(text.detach(), items, tau, eps, transpose=True) / 2
    want_items = torch.autograd.grad(backward, items)
    torch.testing.assert_close(got_text, want_text.to(got_text.dtype), atol=1e-5, rtol=1e-4)
    for got, want in zip(got_items, want_items):
        torch.testing.assert_close(got, want.to(got.dtype), atol=1e-5, rtol=1e-4)
    assert temp.grad is not None and temp.grad != 0

    # the symmetric variant sends both terms into both sides: a larger caption gradient
    text.grad = None
    volume_contrastive_loss(volume_matrix(text, items), tau, eps).backward()
    assert text.grad.norm() > 1.2 * got_text.norm()


def _volume_only(**options):
    return create_model("gram", itm_weight=0.0, rerank_k=0, max_words=12, max_frames=2, temporal_layers=1, **options)


@pytest.mark.parametrize("gradients", ["split", "symmetric"])
def test_model_loss_follows_the_gradient_option(gradients):
    from svta.retrieval.base import TextFeatures, VideoFeatures

    gram = _volume_only(gradients=gradients)
    text = TextFeatures(embeds=unit(4, 8, seed=30, dtype=torch.float32).requires_grad_(True))
    video = VideoFeatures(embeds=unit(4, 8, seed=31, dtype=torch.float32).requires_grad_(True))
    gram.loss(text, video).backward()
    tau = float(gram.contra_temp.detach())
    t_ref = text.embeds.detach().double().requires_grad_(True)
    v_ref = video.embeds.detach().double().requires_grad_(True)
    forward = _reference_direction_loss(
        t_ref, [v_ref if gradients == "symmetric" else v_ref.detach()], tau, 0.1, transpose=False
    )
    backward = _reference_direction_loss(
        t_ref if gradients == "symmetric" else t_ref.detach(), [v_ref], tau, 0.1, transpose=True
    )
    ((forward + backward) / 2).backward()
    torch.testing.assert_close(text.embeds.grad, t_ref.grad.float(), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(video.embeds.grad, v_ref.grad.float(), atol=1e-5, rtol=1e-4)
    with pytest.raises(ConfigError, match="gradients"):
        _volume_only(gradients="both")


def test_temperature_is_unclamped_and_decayed_at_the_base_rate():
    """τ's AdamW step, written out: τ ← τ (1 − lr·0.01) − lr · m̂ / (√v̂ + eps), m̂ = g and v̂ = g² at step 1."""
    from svta.retrieval.config import TrainConfig
    from svta.retrieval.optim import build_optimizer

    config = TrainConfig(model="gram", lr=1e-3, coef_lr=1e-3, weight_decay=0.2)
    gram = _volume_only()
    optimizer = build_optimizer(gram, config)
    (group,) = [g for g in optimizer.param_groups if g["name"] == "temperature"]
    assert group["lr"] == config.lr and group["weight_decay"] == 0.01 and group["params"] == [gram.contra_temp]
    assert all(gram.contra_temp is not p for g in optimizer.param_groups if g is not group for p in g["params"])
    for param in gram.parameters():
        param.grad = torch.zeros_like(param) if param.requires_grad else None
    tau, g = float(gram.contra_temp.detach()), 0.3
    gram.contra_temp.grad = torch.tensor(g)
    optimizer.step()
    expected = tau * (1 - config.lr * 0.01) - config.lr * g / (abs(g) + config.eps)
    assert float(gram.contra_temp.detach()) == pytest.approx(expected, rel=1e-6)

    with torch.no_grad():
        gram.contra_temp.fill_(0.001)
    assert float(gram.temperature().detach()) == pytest.approx(0.001)  # no clamp, as the released code
    clamped = _volume_only(temperature_mode="clamped")
    with torch.no_grad():
        clamped.contra_temp.fill_(0.001)
    assert float(clamped.temperature().detach()) == pytest.approx(0.01)
    (group,) = [g for g in build_optimizer(clamped, config).param_groups if g["name"] == "temperature"]
    assert group["weight_decay"] == 0.0


def test_cls_pooling_reads_token_zero(model):
    cls = create_model("gram", backbone="tiny", max_words=12, max_frames=2, temporal_layers=1, match_pooling="cls")
    cls.load_state_dict(model.state_dict())
    cls.eval()
    tokens, mask, video, frame_mask = batch(n=3)
    with torch.no_grad():
        text, videos = cls.encode_text(tokens, mask), cls.encode_video(video, frame_mask)
        frames = (
            cls.hidden_trans_vision_multimodal(videos.frames) + cls.vision_frame_embedding + cls.vision_type_embeddings
        )
        fused = cls.fusion(text.tokens, text.mask, frames, videos.mask)
        torch.testing.assert_close(cls.match_logits(text, videos), cls.itm_head(fused[:, 0]))
        assert not torch.allclose(model.eval().match_logits(text, videos), cls.match_logits(text, videos))
    assert cls.describe()["match_pooling"] == "cls" and model.describe()["gradients"] == "split"
