"""Weight files in the formats users download, filled with random values, written offline for tests.

- :func:`write_openai_clip`: OpenAI's CLIP release (``ViT-B-32.pt``): a TorchScript archive of the whole model
  whose state dict carries ``input_resolution``, ``context_length`` and ``vocab_size``, or the plain state dict.
  ViT-B/32 layout (224 px, 32 px patches, OpenAI's parameter names and 49408-token vocabulary), narrow width.
- :func:`write_wan_repo`: a Wan2.1 repository in the diffusers layout (``model_index.json``, ``transformer/``,
  ``vae/``, ``text_encoder/`` UMT5, ``tokenizer/``, ``scheduler/``), written with ``save_pretrained``.
- :func:`write_clip4clip_checkpoint`: a CLIP4Clip ``pytorch_model.bin.N`` (or X-CLIP) state dict, as their
  training scripts save it.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

# ViT-B/32 geometry with a narrow width: 7 x 7 patches of 32 px on a 224 px image, one 64-wide head.
NARROW_VIT_B_32 = {
    "embed_dim": 64,
    "image_size": 224,
    "patch_size": 32,
    "vision_width": 64,
    "vision_layers": 2,
    "text_width": 64,
    "text_layers": 2,
}


def openai_clip(seed: int = 0) -> torch.nn.Module:
    """An open_clip ``CLIP`` in OpenAI's ViT-B/32 layout (narrow), with random weights, in eval mode."""
    from svta.retrieval.backbone import BackboneSpec, build_clip

    torch.manual_seed(seed)
    model = build_clip(BackboneSpec(**NARROW_VIT_B_32)).eval()
    # OpenAI's archive stores these three as entries of the state dict; clip.load deletes them on reading.
    # open_clip keeps the last two as plain ints that its forward never reads: buffers take their place.
    del model.context_length, model.vocab_size
    model.register_buffer("input_resolution", torch.tensor(NARROW_VIT_B_32["image_size"]))
    model.register_buffer("context_length", torch.tensor(77))
    model.register_buffer("vocab_size", torch.tensor(49408))
    return model


def write_openai_clip(path: Path, kind: str = "torchscript", seed: int = 0) -> Path:
    """Write an OpenAI CLIP checkpoint: ``kind`` ``torchscript`` (the released ``.pt``) or ``state_dict``."""
    import warnings

    model = openai_clip(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "state_dict":
        torch.save(model.state_dict(), path)
        return path
    image = torch.zeros(1, 3, NARROW_VIT_B_32["image_size"], NARROW_VIT_B_32["image_size"])
    text = torch.zeros(1, 77, dtype=torch.long)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.jit is deprecated, yet it is OpenAI's release format
        traced = torch.jit.trace(model, (image, text), strict=False, check_trace=False)
        torch.jit.save(traced, str(path))
    return path


def write_wan_repo(directory: Path, seed: int = 0, size: str = "tiny") -> Path:
    """Write a Wan2.1 T2V repository in the diffusers layout with random weights: ``tiny`` (under 1 MB, for
    tests) or ``1.3b`` / ``14b`` (the real DiT and VAE sizes, for timing the real-format path on a GPU)."""
    from transformers import T5TokenizerFast

    from svta.videos.wan_random import build_random_pipeline, char_tokenizer

    pipe = build_random_pipeline(size, seed=seed)
    # The released repository's tokenizer is a T5 (UMT5) fast tokenizer: keep that class, with a small vocabulary.
    fast = char_tokenizer()
    pipe.tokenizer = T5TokenizerFast(
        tokenizer_object=fast.backend_tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0
    )
    pipe.register_modules(tokenizer=pipe.tokenizer)
    pipe.save_pretrained(directory)
    return directory


def write_clip4clip_checkpoint(path: Path, model_name: str = "clip4clip-seqtransf", seed: int = 0, **overrides) -> Path:
    """A CLIP4Clip / X-CLIP ``pytorch_model.bin.N``: the model's plain state dict, CLIP under ``clip.``."""
    from svta.retrieval.backbone import BackboneSpec
    from svta.retrieval.factory import RETRIEVAL_MODELS

    torch.manual_seed(seed)
    spec = BackboneSpec(**NARROW_VIT_B_32)
    model = RETRIEVAL_MODELS.get(model_name)(spec, **{"temporal_layers": 1, **overrides})
    with torch.no_grad():  # a trained temperature, not the initial 1/0.07
        model.clip.logit_scale.fill_(math.log(100.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path
