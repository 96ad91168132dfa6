"""A model carries its frame transform: evaluation normalises with the model's ``preprocess`` (not a global),
and the default transform is OpenAI CLIP's, the one open_clip hands out with OpenAI weights."""

from __future__ import annotations

import numpy as np
import torch

from svta.retrieval.data import ClipDataset, ClipRecord, decode_clip
from svta.retrieval.distributed import DistContext
from svta.retrieval.evaluate import encode_videos
from svta.retrieval.factory import create_model
from svta.retrieval.preprocess import OPENAI_MEAN, OPENAI_STD, FramePreprocess, openai_preprocess


def test_the_default_transform_is_open_clips_openai_one():
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    model = create_model("clip4clip-meanp", "tiny", max_frames=2, max_words=8)
    assert model.preprocess == openai_preprocess(model.image_size)
    assert model.preprocess.mean == tuple(OPENAI_DATASET_MEAN) and model.preprocess.std == tuple(OPENAI_DATASET_STD)


def test_decoding_resizes_with_the_whole_transform_it_is_given(tmp_path):
    """Clips are decoded with the model's transform (side and kernel), not one re-made from a bare side."""
    from svta.retrieval.frame_cache import build_frame_cache
    from svta.video_io import read_frames, write_mp4

    rng = np.random.default_rng(0)
    write_mp4(tmp_path / "a.mp4", rng.integers(0, 256, (4, 40, 56, 3), dtype=np.uint8), fps=4)
    bicubic, bilinear = openai_preprocess(24), FramePreprocess(24, OPENAI_MEAN, OPENAI_STD, "bilinear")
    frames, n = decode_clip(tmp_path / "a.mp4", 6, bilinear)
    assert n == 4 and frames.shape == (6, 24, 24, 3) and not frames[4:].any()
    assert np.array_equal(frames[:4], bilinear.resize_crop(read_frames(tmp_path / "a.mp4", num_frames=6)))
    assert not np.array_equal(frames, decode_clip(tmp_path / "a.mp4", 6, bicubic)[0])
    record = ClipRecord("a", "a clip", tmp_path / "a.mp4", "x", False)
    tokens = torch.zeros(1, 8, dtype=torch.long)
    dataset = ClipDataset([record], tokens, tokens, 6, bilinear)
    assert dataset.size == 24 and np.array_equal(dataset[0]["frames"].numpy(), frames)
    cached = build_frame_cache(tmp_path / "cache", [record], 6, bilinear)
    assert cached.directory.name == "t6-s24-bilinear" and np.array_equal(cached.load("a")[0], frames)
    assert build_frame_cache(tmp_path / "cache", [record], 6, bicubic).directory.name == "t6-s24"


def test_normalised_frames_are_contiguous_with_the_formulas_values():
    rng = np.random.default_rng(2)
    pixels = torch.from_numpy(rng.integers(0, 256, (2, 3, 8, 8, 3), dtype=np.uint8))
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    transform = openai_preprocess(8)
    mean = torch.tensor(transform.mean).view(1, 1, 3, 1, 1)
    std = torch.tensor(transform.std).view(1, 1, 3, 1, 1)
    expected = (pixels.permute(0, 1, 4, 2, 3).float() / 255.0 - mean) / std * mask.float().view(2, 3, 1, 1, 1)
    out = transform.normalize(pixels, mask)
    assert out.is_contiguous() and torch.equal(out, expected)
    floats = pixels.float()
    transform.normalize(floats, mask)
    assert torch.equal(floats, pixels.float())  # a float input is not normalised in place


def test_evaluation_normalises_with_the_models_own_transform(tmp_path, monkeypatch):
    from svta.video_io import write_mp4

    model = create_model("clip4clip-meanp", "tiny", max_frames=2, max_words=8).eval()
    rng = np.random.default_rng(1)
    write_mp4(tmp_path / "a.mp4", rng.integers(0, 256, (4, 40, 40, 3), dtype=np.uint8), fps=4)
    record = ClipRecord("a", "a clip", tmp_path / "a.mp4", "x", False)
    tokens = torch.zeros(1, 8, dtype=torch.long)
    dataset = ClipDataset([record], tokens, tokens, 2, model.preprocess)
    ctx = DistContext(device=torch.device("cpu"))
    default, _, _ = encode_videos(model, dataset, ctx, batch_size=1, workers=0)
    plain = FramePreprocess(model.image_size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    monkeypatch.setattr(type(model), "preprocess", property(lambda self: plain))
    own, _, _ = encode_videos(model, dataset, ctx, batch_size=1, workers=0)
    item = dataset[0]
    pixels, mask = torch.as_tensor(item["frames"])[None], torch.as_tensor(item["frame_mask"])[None]
    with torch.no_grad():
        expected = model.encode_video(plain.normalize(pixels, mask), mask).embeds
    assert torch.allclose(own.embeds, expected) and not torch.allclose(default.embeds, expected)
