"""Wan2.1 pipelines built from their configs with random weights, with no download: ``tiny`` for
tests and CPU checks, ``1.3b``/``14b`` (the real DiT and VAE sizes) for timing on a GPU.

The text encoder of the full sizes keeps UMT5-XXL's width (4096, what the DiT reads) but only two
layers and a character vocabulary: its cost is negligible next to the DiT, and random text
features are as good as real ones for timing.
"""

from __future__ import annotations

import string
from typing import Any

WAN_DIT_CONFIGS: dict[str, dict[str, Any]] = {
    "tiny": {"num_attention_heads": 2, "attention_head_dim": 12, "text_dim": 32, "ffn_dim": 32, "num_layers": 3},
    "1.3b": {"num_attention_heads": 12, "attention_head_dim": 128, "text_dim": 4096, "ffn_dim": 8960, "num_layers": 30},
    "14b": {"num_attention_heads": 40, "attention_head_dim": 128, "text_dim": 4096, "ffn_dim": 13824, "num_layers": 40},
}
WAN_DIT_COMMON: dict[str, Any] = {
    "patch_size": (1, 2, 2),
    "in_channels": 16,
    "out_channels": 16,
    "freq_dim": 256,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "eps": 1e-6,
}
TINY_VAE: dict[str, Any] = {
    "base_dim": 3,
    "z_dim": 16,
    "dim_mult": [1, 1, 1, 1],
    "num_res_blocks": 1,
    "temperal_downsample": [False, True, True],
}
TEXT_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"d_model": 32, "d_kv": 16, "d_ff": 64, "num_layers": 2, "num_heads": 2},
    "full": {"d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_layers": 2, "num_heads": 64},
}


def char_tokenizer() -> Any:
    """A UMT5-style tokenizer over single characters, built in code with the ``tokenizers`` library.

    Ids: 0 ``<pad>``, 1 ``</s>`` (appended to every text), 2 ``<unk>``, then ``▁`` and printable ASCII.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    pieces = ["<pad>", "</s>", "<unk>", "\u2581"] + sorted(set(string.printable) - set(string.whitespace))
    vocab = [(p, 0.0 if i < 3 else -1.0) for i, p in enumerate(pieces)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=2, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def build_random_pipeline(
    size: str, dtype: Any = None, vae_dtype: Any = None, device: Any = "cpu", seed: int = 0
) -> Any:
    """A ``WanPipeline`` of the given size with random weights.

    Args:
        size: ``tiny``, ``1.3b`` or ``14b``.
        dtype: DiT and text encoder dtype (default float32).
        vae_dtype: VAE dtype (default float32).
        device: Where weights are created (create full sizes straight on the GPU).
        seed: Seed of the random weights.
    """
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    from svta.errors import ConfigError

    if size not in WAN_DIT_CONFIGS:
        raise ConfigError(f"videos.wan.model: unknown random size {size!r}; known: {', '.join(WAN_DIT_CONFIGS)}")
    dtype, vae_dtype = dtype or torch.float32, vae_dtype or torch.float32
    tokenizer = char_tokenizer()
    text = TEXT_SIZES["tiny" if size == "tiny" else "full"]
    torch.manual_seed(seed)
    with torch.device(device):
        text_config = UMT5Config(vocab_size=len(tokenizer), relative_attention_num_buckets=32, **text)
        text_encoder = UMT5EncoderModel(text_config).to(dtype)
        # diffusers declares ModelMixin.to under @functools.wraps(nn.Module.to), which hides it from mypy.
        transformer = WanTransformer3DModel(**WAN_DIT_COMMON, **WAN_DIT_CONFIGS[size]).to(dtype)  # type: ignore[attr-defined]
        vae = (AutoencoderKLWan(**TINY_VAE) if size == "tiny" else AutoencoderKLWan()).to(vae_dtype)  # type: ignore[attr-defined]
    for model in (text_encoder, transformer, vae):
        model.eval()  # constructors leave modules in training mode: dropout would make outputs random
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    return WanPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler, transformer=transformer
    )
