"""X-CLIP on the tiny backbone: X-CLIP's parameter names, its four scores against a transcription of the
paper's equations, blockwise scoring equal to one block, padding masks, training, checkpoints, ``svta train``."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from svta.errors import InputError
from svta.retrieval import create_model
from svta.retrieval.base import TextFeatures, VideoFeatures
from svta.retrieval.xclip import XCLIPWeights, xclip_logits

WORDS, FRAMES, SIZE = 8, 3, 64
MATRICES = {
    "global_mat_weight": "D",
    "word_logit_weight": "W",
    "frame_logit_weight": "T",
    "local_mat_weight": "D",
    "frame_mat_weight": "T",
    "word_mat_weight": "W",
    "frame_mat_weight2": "T",
    "word_mat_weight2": "W",
}


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("xclip", backbone="tiny", max_words=WORDS, max_frames=FRAMES, temporal_layers=1)


def batch(n: int = 4, seed: int = 0) -> tuple[torch.Tensor, ...]:
    from svta.retrieval.tokenizer import tokenize

    generator = torch.Generator().manual_seed(seed)
    tokens, mask = tokenize([f"person {i} runs" if i % 2 else f"a car {i} hits a tree" for i in range(n)], WORDS)
    video = torch.randn(n, FRAMES, 3, SIZE, SIZE, generator=generator)
    frame_mask = torch.ones(n, FRAMES, dtype=torch.long)
    frame_mask[0, 1:] = 0
    return tokens, mask, video, frame_mask


def random_features(
    n_text: int, n_video: int, words: int, frames: int, dim: int = 16, seed: int = 0, dtype: torch.dtype = torch.float32
):
    g = torch.Generator().manual_seed(seed)

    def unit(*shape: int) -> torch.Tensor:
        return F.normalize(torch.randn(*shape, generator=g, dtype=dtype), dim=-1)

    word_mask = torch.ones(n_text, words, dtype=torch.long)
    for i in range(n_text):
        word_mask[i, 2 + i % (words - 2) :] = 0
    frame_mask = torch.ones(n_video, frames, dtype=torch.long)
    frame_mask[::2, frames - 1 :] = 0
    text = TextFeatures(embeds=unit(n_text, dim), tokens=unit(n_text, words, dim), mask=word_mask)
    video = VideoFeatures(embeds=unit(n_video, dim), frames=unit(n_video, frames, dim), mask=frame_mask)
    sizes = {"D": dim, "W": words, "T": frames}
    weights = XCLIPWeights(
        *(
            torch.eye(sizes[MATRICES[name]], dtype=dtype)
            + 0.3 * torch.randn(sizes[MATRICES[name]], sizes[MATRICES[name]], generator=g, dtype=dtype)
            for name in XCLIPWeights._fields
        )
    )
    return text, video, weights


def reference_logits(w: XCLIPWeights, text: TextFeatures, video: VideoFeatures) -> torch.Tensor:
    """X-CLIP's equations as its paper/code state them, for all pairs at once (no masking)."""
    s, words, v, frames = text.embeds, text.tokens, video.embeds, video.frames
    video_sentence = (s @ w.global_mat_weight) @ v.t()
    sim = words @ v.t()  # [a, W, b]
    video_word = (sim * (torch.softmax(sim / 1e-2, dim=1).permute(0, 2, 1) @ w.word_logit_weight).permute(0, 2, 1)).sum(
        1
    )
    sim = s @ frames.permute(0, 2, 1)  # [b, a, T]
    sentence_frame = (sim * (torch.softmax(sim / 1e-2, dim=-1) @ w.frame_logit_weight)).sum(-1).t()
    a, n_w, d = words.shape
    b, n_f, _ = frames.shape
    fine = ((words.reshape(-1, d) @ w.local_mat_weight) @ frames.reshape(-1, d).t()).view(a, n_w, b, n_f)
    word_level = (
        (torch.softmax(fine / 1e-2, dim=1).permute(0, 2, 3, 1) @ w.word_mat_weight).permute(0, 3, 1, 2) * fine
    ).sum(1)
    frame_level = ((torch.softmax(fine / 1e-2, dim=-1) @ w.frame_mat_weight) * fine).sum(-1)
    s2f = ((torch.softmax(word_level / 1e-2, dim=-1) @ w.frame_mat_weight2) * word_level).sum(-1)
    v2w = (
        (torch.softmax(frame_level / 1e-2, dim=1).permute(0, 2, 1) @ w.word_mat_weight2).permute(0, 2, 1) * frame_level
    ).sum(1)
    return (video_sentence + video_word + sentence_frame + (s2f + v2w) / 2) / 4


def test_registered_with_xclip_parameter_names(model):
    from svta.registry import registry

    assert "xclip" in registry("retrieval_model").names()
    state = model.state_dict()
    sizes = {"D": model.spec.embed_dim, "W": WORDS, "T": FRAMES}
    for name, size in MATRICES.items():
        torch.testing.assert_close(state[name], torch.eye(sizes[size]))  # re-mixing starts as the identity
    assert all(
        k.startswith(("clip.", "frame_position_embeddings.", "transformerClip.")) or k in MATRICES for k in state
    )
    assert "transformerClip.resblocks.0.attn.in_proj_weight" in state and not model.mask_padding


def test_scores_follow_xclip_equations():
    text, video, weights = random_features(5, 7, WORDS, FRAMES)
    got = xclip_logits(weights, text, video, 100.0, block_elements=None)
    torch.testing.assert_close(got, 100.0 * reference_logits(weights, text, video), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("missing", ["tokens", "mask"])
def test_features_without_token_level_fields_are_rejected_by_name(missing):
    # Sentence-level features (a dot-product model's) lack what X-CLIP's fine-grained scores need.
    text, video, weights = random_features(2, 3, WORDS, FRAMES)
    text = TextFeatures(**{**text.tensors(), missing: None})
    with pytest.raises(InputError, match=f"TextFeatures has no '{missing}'"):
        xclip_logits(weights, text, video, 1.0, mask_padding=True)


def test_loose_clip4clip_rejects_video_features_without_embeds():
    meanp = create_model("clip4clip-meanp", backbone="tiny", max_words=WORDS)
    text, video, _ = random_features(2, 3, WORDS, FRAMES)
    with pytest.raises(InputError, match="VideoFeatures has no 'embeds'"):
        meanp.similarity(text, VideoFeatures(frames=video.frames, mask=video.mask))


@pytest.mark.parametrize("mask_padding", [False, True])
@pytest.mark.parametrize("budget", [1, WORDS * FRAMES * 3, WORDS * FRAMES * 40])
def test_blockwise_scores_equal_one_block(mask_padding, budget):
    # float64: blocks change only the order of floating-point sums, so the two agree to rounding.
    text, video, weights = random_features(7, 9, WORDS, FRAMES, seed=3, dtype=torch.float64)
    whole = xclip_logits(weights, text, video, 50.0, mask_padding=mask_padding, block_elements=None)
    blocked = xclip_logits(weights, text, video, 50.0, mask_padding=mask_padding, block_elements=budget)
    assert whole.shape == (7, 9)
    torch.testing.assert_close(blocked, whole, atol=1e-5, rtol=1e-6)


def test_scores_stay_float32_under_bf16_autocast():
    text, video, weights = random_features(3, 5, WORDS, FRAMES, seed=4)
    expected = xclip_logits(weights, text, video, 100.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = xclip_logits(weights, text, video, 100.0)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected)


def test_mask_padding_ignores_padded_words_and_frames():
    text, video, weights = random_features(4, 6, WORDS, FRAMES, seed=5)
    noisy_text = TextFeatures(
        text.embeds, torch.where(text.mask[..., None] > 0, text.tokens, torch.randn_like(text.tokens)), text.mask
    )
    noisy_video = VideoFeatures(
        video.embeds, torch.where(video.mask[..., None] > 0, video.frames, torch.randn_like(video.frames)), video.mask
    )
    masked = [
        xclip_logits(weights, t, v, 1.0, mask_padding=True) for t, v in ((text, video), (noisy_text, noisy_video))
    ]
    torch.testing.assert_close(masked[0], masked[1])
    parity = [xclip_logits(weights, t, v, 1.0) for t, v in ((text, video), (noisy_text, noisy_video))]
    assert not torch.allclose(parity[0], parity[1])  # X-CLIP's default attends over padding too


def test_model_similarity_blocks_match_full_matrix(model):
    model.eval()
    tokens, mask, video, frame_mask = batch(n=4)
    with torch.no_grad():
        text, videos = model.encode_text(tokens, mask), model.encode_video(video, frame_mask)
        full = model.similarity(text, videos)
        block = model.similarity(text[1:3], videos[2:4])
    assert full.shape == (4, 4) and full.dtype == torch.float32
    assert text.tokens.shape == (4, WORDS, model.spec.embed_dim) and videos.frames.shape[1] == FRAMES
    torch.testing.assert_close(block, full[1:3, 2:4], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(text.embeds.norm(dim=-1), torch.ones(4))


def test_short_inputs_are_padded_and_long_ones_rejected(model):
    model.eval()
    tokens, mask, video, frame_mask = batch(n=2)
    frame_mask[:] = 1
    frame_mask[:, 2:] = 0
    padded_video = video.clone()
    padded_video[:, 2:] = 0
    with torch.no_grad():
        short = model.encode_video(video[:, :2], frame_mask[:, :2])
        full = model.encode_video(padded_video, frame_mask)
        torch.testing.assert_close(short.frames, full.frames)
        torch.testing.assert_close(short.embeds, full.embeds)
        cut = int(mask.sum(1).max())
        torch.testing.assert_close(
            model.encode_text(tokens[:, :cut], mask[:, :cut]).tokens, model.encode_text(tokens, mask).tokens
        )
    with pytest.raises(InputError, match="max_frames"):
        model.encode_video(torch.zeros(1, FRAMES + 1, 3, SIZE, SIZE), torch.ones(1, FRAMES + 1))


def test_tiny_xclip_trains_with_decreasing_loss():
    torch.manual_seed(1)
    model = create_model("xclip", max_words=WORDS, max_frames=FRAMES, temporal_layers=1).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    inputs, losses = batch(n=4, seed=2), []
    for step in range(4):
        optimizer.zero_grad()
        loss = model(*inputs)
        loss.backward()
        if step == 0:
            missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
            assert not missing, missing[:5]
            assert all(getattr(model, name).grad.abs().sum() > 0 for name in MATRICES)
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses


def test_checkpoint_names_are_recognised(model, tmp_path):
    from svta.retrieval.checkpoint import model_from_checkpoint

    model.eval()
    path = tmp_path / "pytorch_model.bin.0"
    torch.save(model.state_dict(), path)
    rebuilt = model_from_checkpoint(path).eval()  # head, word and frame counts inferred from the keys
    assert type(rebuilt).__name__ == "XCLIP" and (rebuilt.max_words, rebuilt.max_frames) == (WORDS, FRAMES)
    tokens, mask, video, frame_mask = batch(n=3)
    with torch.no_grad():
        expected = model.similarity(model.encode_text(tokens, mask), model.encode_video(video, frame_mask))
        got = rebuilt.similarity(rebuilt.encode_text(tokens, mask), rebuilt.encode_video(video, frame_mask))
    torch.testing.assert_close(got, expected)


def test_svta_train_and_eval_run_xclip(tmp_path, capsys):
    from retrievalkit import make_dataset

    from svta.cli.main import main

    make_dataset(tmp_path, {"train": 4, "val": 2, "test": 4}, frames=3, size=48)
    common = [
        "--quiet",
        "--root",
        str(tmp_path),
        "--set",
        "train.tensorboard=false",
        "--set",
        "train.max_words=16",
        "--set",
        "train.temporal_layers=1",
        "--set",
        "train.validate_every_epoch=false",
    ]
    argv = [
        *common,
        "train",
        "--model",
        "xclip",
        "--backbone",
        "tiny",
        "--frames",
        "2",
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "--workers",
        "0",
        "--json",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    trained = json.loads(capsys.readouterr().out)
    assert trained["model"] == "xclip" and trained["n_texts"] == 4 and 0 <= trained["t2v"]["R1"] <= 100
    assert main([*common, "eval", "--run", str(tmp_path / "runs" / "xclip-tiny"), "--workers", "0", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["t2v"]["R1"] == trained["t2v"]["R1"] and evaluated["v2t"]["MnR"] == trained["v2t"]["MnR"]
