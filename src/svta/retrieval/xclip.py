"""X-CLIP (Ma et al. 2022): CLIP4Clip's seqTransf video encoder scored at four granularities.

Sentence/word features meet video/frame features in four attention-over-similarity-matrix scores
(video-sentence, video-word, sentence-frame, frame-word) whose attention weights pass through learnable
re-mixing matrices initialised to identity; the logits are their mean times CLIP's ``logit_scale``. Parameter
names follow X-CLIP's released checkpoints (``global_mat_weight``, ``word_logit_weight``, ...).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from svta.errors import ConfigError
from svta.retrieval.backbone import BackboneSpec
from svta.retrieval.base import TextFeatures, VideoFeatures
from svta.retrieval.clip4clip import CLIP4Clip, masked_mean_pool
from svta.retrieval.token_features import end_of_text, pad_frames, pad_tokens, text_token_states

# X-CLIP: the attention over each similarity matrix is softmax(S / 0.01).
SOFTMAX_TEMPERATURE = 0.01
# Added to the softmax logits of padded words/frames when masking: finite, so a fully padded row gives no NaN.
MASK_BIAS = -1e4
# Elements of the largest [texts, words, videos, frames] tensor one scoring block may create. CPU: 4 MiB in fp32,
# the fastest budget in benchmarks/eval_pairwise.py (cache-sized; larger blocks are slower and bigger). CUDA: large
# enough that kernel launches do not dominate (256 MiB per tensor in fp32, a few of them alive at once).
DEFAULT_BLOCK_ELEMENTS = 1 << 20
CUDA_BLOCK_ELEMENTS = 1 << 26


def default_block_elements(device: torch.device) -> int:
    """The block budget for scoring on ``device``."""
    return CUDA_BLOCK_ELEMENTS if device.type == "cuda" else DEFAULT_BLOCK_ELEMENTS


class XCLIPWeights(NamedTuple):
    """X-CLIP's eight re-mixing matrices (``D`` feature width, ``W`` words, ``T`` frames)."""

    global_mat_weight: torch.Tensor  # [D, D] video-sentence
    word_logit_weight: torch.Tensor  # [W, W] video-word
    frame_logit_weight: torch.Tensor  # [T, T] sentence-frame
    local_mat_weight: torch.Tensor  # [D, D] frame-word similarity
    frame_mat_weight: torch.Tensor  # [T, T] frame-word: attention over frames
    word_mat_weight: torch.Tensor  # [W, W] frame-word: attention over words
    frame_mat_weight2: torch.Tensor  # [T, T] frame-word: sentence-to-frame pooling
    word_mat_weight2: torch.Tensor  # [W, W] frame-word: video-to-word pooling


class XCLIP(CLIP4Clip):
    """X-CLIP on a CLIP backbone with CLIP4Clip's seqTransf temporal module.

    Args:
        spec: the CLIP architecture.
        linear_patch: ``2d`` or ``3d`` patch embedding (as CLIP4Clip).
        max_words: caption token positions; the word matrices are ``max_words x max_words`` (X-CLIP: 32).
        max_frames: frames per video; the frame matrices are ``max_frames x max_frames`` (X-CLIP: 12).
        temporal_layers: seqTransf layers (X-CLIP: 4, from CLIP's text layers 0-3).
        mask_padding: leave padded words and frames out of every attention. Off by default: X-CLIP attends
            over all ``max_words`` / ``max_frames`` positions, and its checkpoints were trained that way.
        block_elements: scoring-block budget (see :func:`xclip_logits`); ``None``: by device
            (:func:`default_block_elements`).
        clip_state: OpenAI-format CLIP weights to start from, or ``None`` for a random CLIP.
    """

    def __init__(
        self,
        spec: BackboneSpec,
        *,
        linear_patch: str = "2d",
        max_words: int = 32,
        max_frames: int = 12,
        temporal_layers: int = 4,
        mask_padding: bool = False,
        block_elements: int | None = None,
        clip_state: dict[str, torch.Tensor] | None = None,
    ):
        super().__init__(
            spec,
            "seqTransf",
            linear_patch=linear_patch,
            max_words=max_words,
            max_frames=max_frames,
            temporal_layers=temporal_layers,
            clip_state=clip_state,
        )
        if block_elements is not None and block_elements < 1:
            raise ConfigError(f"block_elements must be positive or None (by device), got {block_elements}")
        self.mask_padding, self.block_elements = mask_padding, block_elements
        dim = spec.embed_dim
        for name, size in (
            ("global_mat_weight", dim),
            ("word_logit_weight", max_words),
            ("frame_logit_weight", max_frames),
            ("local_mat_weight", dim),
            ("frame_mat_weight", max_frames),
            ("word_mat_weight", max_words),
            ("frame_mat_weight2", max_frames),
            ("word_mat_weight2", max_words),
        ):
            self.register_parameter(name, nn.Parameter(torch.eye(size)))

    def weights(self) -> XCLIPWeights:
        """The re-mixing matrices, in :class:`XCLIPWeights` order."""
        return XCLIPWeights(*(getattr(self, name) for name in XCLIPWeights._fields))

    def encode_text(self, tokens: torch.Tensor, mask: torch.Tensor) -> TextFeatures:
        """``[B, L]`` tokens (padded to ``max_words``) -> unit sentence ``[B, D]`` and word ``[B, W, D]`` features."""
        tokens, mask = pad_tokens(tokens, mask, self.max_words)
        words = text_token_states(self.clip, tokens, self.spec.context_length) @ self.clip.text_projection
        sentence = words[torch.arange(words.shape[0], device=words.device), end_of_text(tokens)]
        return TextFeatures(embeds=F.normalize(sentence, dim=-1), tokens=F.normalize(words, dim=-1), mask=mask)

    def encode_video(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> VideoFeatures:
        """``[B, T, 3, H, W]`` (padded to ``max_frames``) -> unit video ``[B, D]`` and frame ``[B, T, D]`` features.

        The video feature pools the seqTransf output (as CLIP4Clip); frame features are CLIP's own per-frame
        features, before the temporal module (X-CLIP's ``use_original_clip_for_frame_features``).
        """
        frames, frame_mask = pad_frames(frames, frame_mask, self.max_frames)
        features = self.encode_frames(frames)
        video = masked_mean_pool(self.temporal(features, frame_mask), frame_mask)
        return VideoFeatures(embeds=video, frames=F.normalize(features, dim=-1), mask=frame_mask)

    def similarity(self, text: TextFeatures, video: VideoFeatures) -> torch.Tensor:
        """``[n_text, n_video]`` fused logits, scored block by block (:func:`xclip_logits`)."""
        budget = self.block_elements or default_block_elements(text.present("embeds").device)
        return xclip_logits(
            self.weights(),
            text,
            video,
            self.clip.logit_scale.exp(),
            mask_padding=self.mask_padding,
            block_elements=budget,
        )

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "mask_padding": self.mask_padding}


def xclip_logits(
    weights: XCLIPWeights,
    text: TextFeatures,
    video: VideoFeatures,
    scale: torch.Tensor | float,
    *,
    mask_padding: bool = False,
    block_elements: int | None = DEFAULT_BLOCK_ELEMENTS,
) -> torch.Tensor:
    """X-CLIP's fused logits of every text against every video, in blocks of (text, video) pairs.

    Every pair is scored independently, so blocks change memory and speed, never the result: the frame-word
    score builds a ``[texts, W, videos, T]`` similarity tensor, which for a whole test set does not fit in
    memory. Blocks hold at most ``block_elements`` of it (all videos of a text block when they fit).

    Args:
        weights: the re-mixing matrices.
        text: unit ``embeds [Nt, D]``, ``tokens [Nt, W, D]`` and ``mask [Nt, W]``.
        video: unit ``embeds [Nv, D]``, ``frames [Nv, T, D]`` and ``mask [Nv, T]``.
        scale: the logit scale (``logit_scale.exp()``).
        mask_padding: leave padded words/frames out of the attention (X-CLIP does not).
        block_elements: the block budget; ``None`` scores everything in one block.

    Returns:
        ``[Nt, Nv]`` float32 logits.
    """
    # Always float32: bf16 keeps 8 mantissa bits, so S / 0.01 would reach the softmax off by up to ~0.4.
    with torch.autocast(text.present("embeds").device.type, enabled=False):
        text, video = text.map(_as_float), video.map(_as_float)
        return _all_blocks(_as_float_weights(weights), text, video, scale, mask_padding, block_elements)


def _as_float(t: torch.Tensor) -> torch.Tensor:
    return t.float() if t.is_floating_point() else t


def _as_float_weights(weights: XCLIPWeights) -> XCLIPWeights:
    return XCLIPWeights(*(w.float() for w in weights))


def _all_blocks(
    weights: XCLIPWeights,
    text: TextFeatures,
    video: VideoFeatures,
    scale: torch.Tensor | float,
    mask_padding: bool,
    block_elements: int | None,
) -> torch.Tensor:
    n_text, n_video = len(text), len(video)
    if not n_text or not n_video:
        return torch.zeros(n_text, n_video, device=text.present("embeds").device)
    per_pair = text.present("tokens").shape[1] * video.present("frames").shape[1]
    if block_elements is None:
        text_step, video_step = n_text, n_video
    else:
        pairs = max(1, block_elements // per_pair)
        video_step = min(n_video, pairs)
        text_step = max(1, min(n_text, pairs // video_step))
    rows = []
    for t0 in range(0, n_text, text_step):
        text_block = _prepare_text(weights, text[t0 : t0 + text_step], mask_padding)
        row = [
            _block_logits(weights, text_block, video[v0 : v0 + video_step], mask_padding)
            for v0 in range(0, n_video, video_step)
        ]
        rows.append(torch.cat(row, dim=1) if len(row) > 1 else row[0])
    logits = torch.cat(rows, dim=0) if len(rows) > 1 else rows[0]
    return scale * logits


class _TextBlock(NamedTuple):
    sentence: torch.Tensor  # [a, D]
    sentence_global: torch.Tensor  # [a, D] sentence @ global_mat_weight
    words: torch.Tensor  # [a, W, D]
    words_local: torch.Tensor  # [a, W, D] words @ local_mat_weight
    mask: torch.Tensor | None  # [a, W] float, when masking


def _prepare_text(weights: XCLIPWeights, text: TextFeatures, mask_padding: bool) -> _TextBlock:
    # The text-side products are shared by every video block of a row.
    sentence, words = text.present("embeds"), text.present("tokens")
    mask = text.present("mask").to(words.dtype) if mask_padding else None
    return _TextBlock(sentence, sentence @ weights.global_mat_weight, words, words @ weights.local_mat_weight, mask)


def _block_logits(weights: XCLIPWeights, text: _TextBlock, video: VideoFeatures, mask_padding: bool) -> torch.Tensor:
    """Mean of the four scores for one block: ``[a, b]`` (before the logit scale)."""
    frames, embeds = video.present("frames"), video.present("embeds")
    word_mask = None if text.mask is None else text.mask[:, :, None]  # [a, W, 1]
    frame_mask = video.present("mask").to(frames.dtype)[None] if mask_padding else None  # [1, b, T]
    video_sentence = text.sentence_global @ embeds.t()
    video_word = attention_pool(text.words @ embeds.t(), 1, weights.word_logit_weight, word_mask)
    sentence_frame = attention_pool(
        torch.einsum("ad,bfd->abf", text.sentence, frames), 2, weights.frame_logit_weight, frame_mask
    )
    frame_word = _frame_word(weights, text, frames, word_mask, frame_mask)
    return (video_sentence + video_word + sentence_frame + frame_word) / 4


def _frame_word(
    weights: XCLIPWeights,
    text: _TextBlock,
    frames: torch.Tensor,
    word_mask: torch.Tensor | None,
    frame_mask: torch.Tensor | None,
) -> torch.Tensor:
    """X-CLIP's fine-grained score: attention over words and over frames of the word-frame similarities."""
    a, n_words, dim = text.words_local.shape
    b, n_frames, _ = frames.shape
    sims = text.words_local.reshape(a * n_words, dim) @ frames.reshape(b * n_frames, dim).t()
    sims = sims.view(a, n_words, b, n_frames)  # [a, W, b, T]
    words_mask4 = None if word_mask is None else word_mask[..., None]  # [a, W, 1, 1]
    frames_mask4 = None if frame_mask is None else frame_mask[None]  # [1, 1, b, T]
    word_level = attention_pool(sims, 1, weights.word_mat_weight, words_mask4)  # [a, b, T]
    frame_level = attention_pool(sims, 3, weights.frame_mat_weight, frames_mask4)  # [a, W, b]
    sentence_to_frame = attention_pool(word_level, 2, weights.frame_mat_weight2, frame_mask)  # [a, b]
    video_to_word = attention_pool(frame_level, 1, weights.word_mat_weight2, word_mask)  # [a, b]
    return (sentence_to_frame + video_to_word) / 2


def attention_pool(sims: torch.Tensor, dim: int, remix: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """X-CLIP's attention over a similarity matrix along ``dim``: ``Σ_i (softmax(S/0.01) @ M)_i · S_i``.

    Args:
        sims: similarities, any shape.
        dim: the axis attended over (size ``n``).
        remix: ``[n, n]`` re-mixing matrix applied to the attention weights (``weights @ remix``).
        mask: broadcastable to ``sims``, 1 on real positions; padded positions get no weight.

    Returns:
        ``sims`` without ``dim``.
    """
    values = sims.movedim(dim, -1)
    logits = values / SOFTMAX_TEMPERATURE
    if mask is not None:
        mask = mask.expand_as(sims).movedim(dim, -1)
        logits = logits + (1.0 - mask) * MASK_BIAS
    attention = torch.softmax(logits, dim=-1) @ remix
    if mask is not None:
        attention = attention * mask
    return (attention * values).sum(dim=-1)
