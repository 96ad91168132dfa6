"""CLIP4Clip models on the tiny backbone: every head trains, checkpoints interoperate, errors name keys."""

from __future__ import annotations

import pytest
import torch

from svta.errors import ConfigError, InputError
from svta.retrieval import create_model
from svta.retrieval.backbone import read_weights_file
from svta.retrieval.base import TextFeatures, VideoFeatures, symmetric_infonce
from svta.retrieval.checkpoint import load_state_strict, model_from_checkpoint
from svta.retrieval.tokenizer import tokenize

HEADS = ["clip4clip-meanp", "clip4clip-seqlstm", "clip4clip-seqtransf", "clip4clip-tighttransf"]
SIZE = 64  # the tiny backbone's image size


def batch(n: int = 3, frames: int = 4, seed: int = 0) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    tokens, mask = tokenize([f"a person number {i} falls down the stairs" for i in range(n)], 16)
    video = torch.randn(n, frames, 3, SIZE, SIZE, generator=generator)
    frame_mask = torch.ones(n, frames, dtype=torch.long)
    frame_mask[0, frames // 2 :] = 0  # one shorter video: padding must be masked
    return tokens, mask, video, frame_mask


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Tiny models gain nothing from threads, and on a busy machine OpenMP threads waiting for each other
    # make every op many times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def models(one_thread) -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {name: create_model(name, max_words=16, temporal_layers=2) for name in HEADS}


@pytest.mark.parametrize("name", HEADS)
def test_every_head_forward_backward(models, name):
    model = models[name]
    model.zero_grad()
    loss = model(*batch())
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    missing = [n for n, p in trainable if p.grad is None]
    assert not missing, f"parameters without gradient: {missing[:5]}"
    assert any(p.grad.abs().sum() > 0 for n, p in trainable if n.startswith("clip.visual."))


@pytest.mark.parametrize("name", HEADS)
def test_similarity_is_text_by_video(models, name):
    model = models[name].eval()
    tokens, mask, video, frame_mask = batch(n=3)
    with torch.no_grad():
        text = model.encode_text(tokens, mask)
        first, second = model.encode_video(video, frame_mask), model.encode_video(video[:2], frame_mask[:2])
        videos = VideoFeatures.cat([first, second])
        scores = model.similarity(text, videos)
        block = model.similarity(text[1:], videos[2:4])
    assert scores.shape == (3, 5) and scores.dtype == torch.float32
    torch.testing.assert_close(block, scores[1:, 2:4], atol=1e-5, rtol=1e-5)
    assert len(text) == 3 and isinstance(text, TextFeatures)


@pytest.mark.parametrize("name", ["clip4clip-meanp", "clip4clip-seqlstm", "clip4clip-seqtransf"])
def test_padding_frames_do_not_change_the_video_vector(models, name):
    model = models[name].eval()
    _, _, video, frame_mask = batch(n=2, frames=6)
    garbage = video.clone()
    garbage[0, 3:] = 100.0  # frames beyond the mask of video 0
    with torch.no_grad():
        a = model.encode_video(video, frame_mask).embeds
        b = model.encode_video(garbage, frame_mask).embeds
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_symmetric_infonce_matches_definition():
    logits = torch.randn(5, 5, generator=torch.Generator().manual_seed(1))
    log_t2v = torch.log_softmax(logits, dim=1).diag()
    log_v2t = torch.log_softmax(logits, dim=0).diag()
    expected = -(log_t2v.mean() + log_v2t.mean()) / 2
    torch.testing.assert_close(symmetric_infonce(logits), expected)


def test_tokenize_keeps_end_token_when_truncating():
    tokens, mask = tokenize(["word " * 50, "short"], 8)
    assert tokens.shape == (2, 8)
    assert tokens[0, 0] == 49406 and tokens[0, -1] == 49407 and mask[0].sum() == 8
    assert tokens[1, :3].tolist()[::2] == [49406, 49407] and mask[1].sum() == 3


def test_heads_start_from_clip_text_model():
    model = create_model("clip4clip-seqtransf", temporal_layers=2)
    torch.testing.assert_close(model.frame_position_embeddings.weight, model.clip.positional_embedding)
    text_block = model.clip.transformer.resblocks[1].state_dict()
    for key, value in model.transformerClip.resblocks[1].state_dict().items():
        torch.testing.assert_close(value, text_block[key])
    tight = create_model("clip4clip-tighttransf", temporal_layers=2)
    torch.testing.assert_close(tight.cross.embeddings.position_embeddings.weight, tight.clip.positional_embedding)


def test_linear_patch_3d_starts_equal_to_2d():
    torch.manual_seed(3)
    flat = create_model("clip4clip-meanp")
    cube = create_model("clip4clip-meanp", linear_patch="3d")
    state = {k: v for k, v in flat.state_dict().items()}
    cube.load_clip_state({k[5:]: v for k, v in state.items() if k.startswith("clip.")})
    video = torch.randn(2, 3, 3, SIZE, SIZE)
    with torch.no_grad():
        torch.testing.assert_close(cube.encode_frames(video), flat.encode_frames(video), atol=1e-4, rtol=1e-4)
    assert "clip.visual.conv2.weight" in cube.state_dict()


CLIP4CLIP_KEYS = {
    "clip4clip-meanp": [
        "clip.visual.conv1.weight",
        "clip.visual.transformer.resblocks.0.attn.in_proj_weight",
        "clip.token_embedding.weight",
        "clip.ln_final.weight",
        "clip.text_projection",
        "clip.logit_scale",
        "clip.visual.proj",
    ],
    "clip4clip-seqlstm": ["frame_position_embeddings.weight", "lstm_visual.weight_ih_l0", "lstm_visual.bias_hh_l0"],
    "clip4clip-seqtransf": [
        "frame_position_embeddings.weight",
        "transformerClip.resblocks.1.attn.in_proj_weight",
        "transformerClip.resblocks.0.mlp.c_fc.weight",
        "transformerClip.resblocks.0.ln_2.bias",
    ],
    "clip4clip-tighttransf": [
        "cross.embeddings.position_embeddings.weight",
        "cross.transformer.resblocks.0.ln_1.weight",
        "cross.pooler.ln_pool.weight",
        "cross.pooler.dense.weight",
        "similarity_dense.weight",
    ],
}


@pytest.mark.parametrize("name", HEADS)
def test_parameter_names_follow_clip4clip(models, name):
    keys = set(models[name].state_dict())
    assert set(CLIP4CLIP_KEYS[name]) <= keys
    prefixes = ("clip.", "frame_position", "transformerClip.", "lstm_visual.", "cross.", "similarity_dense")
    assert all(k.startswith(prefixes) for k in keys)


@pytest.mark.parametrize("name", ["clip4clip-seqtransf", "clip4clip-tighttransf"])
def test_clip4clip_named_state_dict_loads_strictly(models, name, tmp_path):
    source = models[name].eval()
    path = tmp_path / "pytorch_model.bin.4"
    torch.save(source.state_dict(), path)
    rebuilt = model_from_checkpoint(path, max_words=16).eval()  # the head is inferred from the key names
    assert rebuilt.sim_header == source.sim_header and rebuilt.temporal_layers == 2
    fresh = create_model(name, max_words=16, temporal_layers=2).eval()
    load_state_strict(fresh, read_weights_file(path), str(path))
    tokens, mask, video, frame_mask = batch()
    with torch.no_grad():
        expected = source.similarity(source.encode_text(tokens, mask), source.encode_video(video, frame_mask))
        for model in (rebuilt, fresh):
            got = model.similarity(model.encode_text(tokens, mask), model.encode_video(video, frame_mask))
            torch.testing.assert_close(got, expected)


def test_mismatched_checkpoint_names_missing_and_unexpected_keys(models, tmp_path):
    state = dict(models["clip4clip-seqtransf"].state_dict())
    del state["transformerClip.resblocks.0.ln_1.bias"]
    state["visual_head.extra.weight"] = torch.zeros(2)
    path = tmp_path / "broken.bin"
    torch.save(state, path)
    with pytest.raises(InputError) as info:
        load_state_strict(create_model("clip4clip-seqtransf", temporal_layers=2), read_weights_file(path), str(path))
    message = str(info.value)
    assert "transformerClip.resblocks.0.ln_1.bias" in message and "visual_head.extra.weight" in message
    assert str(path) in message


def test_openai_format_weights_reproduce_their_features(tmp_path):
    from svta.retrieval.backbone import backbone_spec, build_clip

    torch.manual_seed(7)
    reference = build_clip(backbone_spec("tiny")).eval()  # open_clip CLIP: OpenAI's parameter names
    path = tmp_path / "tiny-openai.pt"
    torch.save({**reference.state_dict(), "input_resolution": torch.tensor(SIZE)}, path)
    model = create_model("clip4clip-meanp", backbone=str(path), max_words=16).eval()
    tokens, mask, video, frame_mask = batch(n=2, frames=1)
    frame_mask[:] = 1
    padded = torch.zeros(2, 77, dtype=torch.long)
    padded[:, :16] = tokens
    with torch.no_grad():
        torch.testing.assert_close(
            model.encode_frames(video)[:, 0], reference.encode_image(video[:, 0]), atol=1e-5, rtol=1e-4
        )
        expected_text = torch.nn.functional.normalize(reference.encode_text(padded), dim=-1)
        torch.testing.assert_close(model.encode_text(tokens, mask).embeds, expected_text, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(model.clip.logit_scale, reference.logit_scale)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit is deprecated, yet it is OpenAI's format
def test_openai_torchscript_archive_loads(tmp_path):
    from svta.retrieval.backbone import backbone_spec, build_clip, read_weights_file

    reference = build_clip(backbone_spec("tiny")).eval()
    path = tmp_path / "tiny-jit.pt"
    image = torch.zeros(1, 3, SIZE, SIZE)
    with torch.no_grad():
        torch.jit.save(torch.jit.trace(reference.visual, image), str(path))
    state = read_weights_file(path)
    assert set(state) == {k[len("visual.") :] for k in reference.state_dict() if k.startswith("visual.")}


def test_unknown_model_backbone_and_override_are_config_errors():
    with pytest.raises(ConfigError, match="unknown retrieval_model"):
        create_model("clip4clip-nope")
    with pytest.raises(ConfigError, match="unknown backbone"):
        create_model("clip4clip-meanp", backbone="ViT-H-99")
    with pytest.raises(ConfigError, match="frames_per_second"):
        create_model("clip4clip-meanp", frames_per_second=3)


def test_overrides_are_the_builders_keyword_only_parameters():
    from svta.retrieval.factory import RETRIEVAL_MODELS, accepted_overrides

    common = {"linear_patch", "max_words", "max_frames", "temporal_layers"}
    assert set(accepted_overrides(RETRIEVAL_MODELS.get("clip4clip-seqtransf"))) == common  # sim_header is bound
    assert set(accepted_overrides(RETRIEVAL_MODELS.get("xclip"))) == common | {"mask_padding", "block_elements"}
    assert set(accepted_overrides(RETRIEVAL_MODELS.get("gram"))) >= common | {"rerank_k", "itm_weight"}
    assert accepted_overrides(lambda spec, clip_state=None, **kw: None) is None  # third-party: checks its own
    assert create_model("clip4clip-seqlstm", max_frames=3).sim_header == "seqLSTM"


def test_backbone_shapes_come_from_model_config_files():
    from svta.retrieval.backbone import backbone_spec, svta_backbones

    b32 = backbone_spec("ViT-B-32")  # open_clip's own model_configs/ViT-B-32.json
    assert (b32.embed_dim, b32.image_size, b32.patch_size, b32.vision_width, b32.vision_layers) == (
        512,
        224,
        32,
        768,
        12,
    )
    assert (b32.text_width, b32.text_heads, b32.vision_heads) == (512, 8, 12)
    assert backbone_spec("ViT-L-14").vision_width == 1024
    assert {"tiny", "small"} <= set(svta_backbones()) and backbone_spec("tiny").image_size == 64
    with pytest.raises(ConfigError, match="only open_clip ViT"):
        backbone_spec("RN50")


def test_one_run_name_for_trainer_and_pipeline():
    from svta.config import SvtaConfig
    from svta.pipeline import run_name
    from svta.retrieval.config import default_run_name

    assert default_run_name("clip4clip-meanp", "weights/my.pt") == "clip4clip-meanp-my"
    assert default_run_name("xclip", "ViT-B-32") == "xclip-ViT-B-32"
    config = SvtaConfig.model_validate({"train": {"backbone": "weights/my.pt"}})
    assert run_name(config, "clip4clip-meanp") == "clip4clip-meanp-my"
