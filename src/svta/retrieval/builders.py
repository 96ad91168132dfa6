"""Registry entries of the retrieval models beyond CLIP4Clip: ``xclip`` and ``gram``.

Builders take ``(spec, clip_state=None, **overrides)`` like CLIP4Clip's in :mod:`svta.retrieval.factory`;
importing this module is cheap (torch loads in the builders).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from svta.retrieval.factory import RETRIEVAL_MODELS

if TYPE_CHECKING:
    import torch

    from svta.retrieval.backbone import BackboneSpec
    from svta.retrieval.base import RetrievalModel

# Every builder accepts the trainer's overrides (linear_patch, max_words, max_frames, temporal_layers).
_COMMON = ("linear_patch", "max_words", "max_frames", "temporal_layers")


@RETRIEVAL_MODELS.register("xclip", "X-CLIP: seqTransf video + four attention-over-similarity scores")
def build_xclip(spec: BackboneSpec, clip_state: dict[str, torch.Tensor] | None = None, **overrides: Any) -> RetrievalModel:
    from svta.retrieval.xclip import XCLIP

    return XCLIP(spec, clip_state=clip_state, **overrides)


@RETRIEVAL_MODELS.register("gram", "GRAM: volume alignment + matching-head re-ranking of the top-k")
def build_gram(spec: BackboneSpec, clip_state: dict[str, torch.Tensor] | None = None, **overrides: Any) -> RetrievalModel:
    from svta.retrieval.gram import GRAM

    return GRAM(spec, clip_state=clip_state, **overrides)


build_xclip.accepted_overrides = (*_COMMON, "mask_padding", "block_elements")  # type: ignore[attr-defined]
build_gram.accepted_overrides = (*_COMMON, "rerank_k", "rerank_tail", "itm_weight",  # type: ignore[attr-defined]
                                 "label_smoothing", "gradients", "temperature_mode", "match_pooling")
