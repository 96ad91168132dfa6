"""GRAM (Cicchetti et al., ICLR 2025) on a CLIP backbone: captions and videos aligned by the volume of the
parallelotope their unit embeddings span, plus a text-video matching head that re-ranks the top-k.

Training: volume contrastive loss both ways (label smoothing 0.1; by default each direction trains only its
query side, as the released code) + 0.1 x a matching (ITM) loss on hard negatives drawn from the batch by volume. Retrieval: ``similarity`` (minus the volume) is the first stage;
``rerank`` gives the matching head's probability for the evaluator's top-k re-scoring (k = 50).
README "GRAM in svta" lists where this differs from the original (BERT text tower, audio, EVA-CLIP).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from svta.errors import ConfigError, InputError
from svta.retrieval.backbone import BackboneSpec
from svta.retrieval.base import TextFeatures, VideoFeatures, gather_features
from svta.retrieval.clip4clip import CLIP4Clip, masked_mean_pool
from svta.retrieval.layers import HEAD_LAYERNORM_EPS, MASK_VALUE, ResidualAttentionBlock, init_head_weights
from svta.retrieval.token_features import end_of_text, text_token_states
from svta.retrieval.volume import split_volume_contrastive_loss, volume_contrastive_loss, volume_matrix

TAILS = ("keep", "zero")
# "split": each loss direction trains its query side only (GRAM's no-grad all-gather); "symmetric": both sides.
GRADIENTS = ("split", "symmetric")
# "gram": τ unclamped, AdamW weight decay 0.01 (the released recipe); "clamped": τ >= MIN_TEMPERATURE, no decay.
TEMPERATURE_MODES = ("gram", "clamped")
# Matching-head pooling: "eot" the last real caption token (CLIP's sentence position), "cls" token 0 (GRAM/BERT).
POOLINGS = ("eot", "cls")
# In "clamped" mode the learned temperature may not fall below 0.01 (CLIP's cap of 100 on the logit scale).
MIN_TEMPERATURE = 0.01
# GRAM's AdamW weight decay, which its optimiser also applies to τ.
TEMPERATURE_WEIGHT_DECAY = 0.01
# Pairs per matching-head forward pass when re-ranking (bounds activation memory).
RERANK_CHUNK = 256


class FusionBlock(ResidualAttentionBlock):
    """A pre-LN block over caption tokens: self-attention, cross-attention to frame tokens, MLP.

    The self-attention and MLP carry CLIP's block names (``attn``, ``ln_1``, ``mlp``, ``ln_2``) so CLIP's text
    layers initialise them; ``cross_attn``/``ln_cross`` are new, as the cross-attention BERT layers GRAM adds.
    """

    def __init__(self, width: int, heads: int):
        super().__init__(width, heads)
        self.cross_attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_cross = nn.LayerNorm(width, eps=HEAD_LAYERNORM_EPS)

    def forward(
        self,
        x: torch.Tensor,
        padding_bias: torch.Tensor | None = None,
        video: torch.Tensor | None = None,
        video_bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Args: x ``[P, L, W]``; padding_bias ``[P, L]``; video ``[P, T, W]``; video_bias ``[P, T]``."""
        if video is None:
            raise TypeError("FusionBlock needs the frame tokens `video` to attend to")
        h = self.ln_1(x)
        bias = None if padding_bias is None else padding_bias.to(h.dtype)
        x = x + self.attn(h, h, h, need_weights=False, key_padding_mask=bias)[0]
        h = self.ln_cross(x)
        bias = None if video_bias is None else video_bias.to(h.dtype)
        x = x + self.cross_attn(h, video.to(h.dtype), video.to(h.dtype), need_weights=False, key_padding_mask=bias)[0]
        return x + self.mlp(self.ln_2(x))


class FusionEncoder(nn.Module):
    """``resblocks.{i}`` fusion blocks and a final LayerNorm ``ln_post``."""

    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.ModuleList([FusionBlock(width, heads) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width, eps=HEAD_LAYERNORM_EPS)

    def forward(
        self, text: torch.Tensor, text_mask: torch.Tensor, video: torch.Tensor, video_mask: torch.Tensor
    ) -> torch.Tensor:
        """Caption tokens ``[P, L, W]`` attending to frame tokens ``[P, T, W]`` -> ``[P, L, W]``."""
        text_bias = (1.0 - text_mask.float()) * MASK_VALUE
        video_bias = (1.0 - video_mask.float()) * MASK_VALUE
        for block in self.resblocks:
            text = block(text, text_bias, video, video_bias)
        return self.ln_post(text)


class MatchHead(nn.Module):
    """GRAM/VAST's ``Match_head``: Linear, GELU, LayerNorm, Linear -> 2 logits (no match, match)."""

    def __init__(self, width: int):
        super().__init__()
        self.linear1 = nn.Linear(width, width)
        self.activation = nn.GELU()
        self.layernorm = nn.LayerNorm(width, eps=HEAD_LAYERNORM_EPS)
        self.linear2 = nn.Linear(width, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.layernorm(self.activation(self.linear1(x))))


class GRAM(CLIP4Clip):
    """GRAM: volume alignment of caption and video embeddings, with a matching head for re-ranking.

    Args:
        spec: the CLIP architecture.
        linear_patch: ``2d`` or ``3d`` patch embedding (as CLIP4Clip).
        max_words: caption token positions.
        max_frames: frames per video (size of the matching head's frame embeddings).
        temporal_layers: layers of the matching head's fusion encoder (initialised from CLIP's text layers).
        rerank_k: first-stage candidates the matching head re-scores per query at evaluation (GRAM: 50).
        rerank_tail: ``keep`` (candidates beyond the top-k stay below it, in first-stage order) or ``zero``
            (GRAM's published evaluation: they all score 0, see README "Why GRAM's MnR is ~130").
        itm_weight: weight of the matching loss (GRAM: 0.1); 0 trains the volume loss alone.
        label_smoothing: of the volume contrastive loss (GRAM: 0.1).
        gradients: ``split`` (GRAM: the caption -> video term trains the caption side only, the video -> caption
            term the video side only) or ``symmetric`` (both terms train both sides: ~2x the contrastive
            gradient, so the matching loss weighs about half as much).
        temperature_mode: ``gram`` (τ unclamped, weight decay 0.01 at the base ``lr``) or ``clamped``
            (τ >= 0.01, no weight decay).
        match_pooling: the matching head reads ``eot`` (the last real caption token) or ``cls`` (token 0, GRAM).
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
        rerank_k: int = 50,
        rerank_tail: str = "keep",
        itm_weight: float = 0.1,
        label_smoothing: float = 0.1,
        gradients: str = "split",
        temperature_mode: str = "gram",
        match_pooling: str = "eot",
        clip_state: dict[str, torch.Tensor] | None = None,
    ):
        _check_gram_arguments(rerank_k, rerank_tail, itm_weight, label_smoothing)
        _check_choice("gradients", gradients, GRADIENTS)
        _check_choice("temperature_mode", temperature_mode, TEMPERATURE_MODES)
        _check_choice("match_pooling", match_pooling, POOLINGS)
        super().__init__(
            spec,
            "meanP",
            linear_patch=linear_patch,
            max_words=max_words,
            max_frames=max_frames,
            temporal_layers=temporal_layers,
        )
        self.rerank_k, self.rerank_tail = rerank_k, rerank_tail
        self.itm_weight, self.label_smoothing = itm_weight, label_smoothing
        self.gradients, self.temperature_mode, self.match_pooling = gradients, temperature_mode, match_pooling
        width = spec.text_width
        self.contra_temp = nn.Parameter(torch.tensor(0.07))  # GRAM: τ learned from 0.07
        self.hidden_trans_vision_multimodal = nn.Sequential(
            nn.Linear(spec.embed_dim, width), nn.LayerNorm(width, eps=HEAD_LAYERNORM_EPS)
        )
        self.vision_frame_embedding = nn.Parameter(0.02 * torch.randn(1, max_frames, width))
        self.vision_type_embeddings = nn.Parameter(0.02 * torch.randn(1, 1, width))
        self.fusion = FusionEncoder(width, temporal_layers, spec.text_heads)
        self.itm_head = MatchHead(width)
        for module in (self.hidden_trans_vision_multimodal, self.fusion, self.itm_head):
            init_head_weights(module)
        if clip_state is not None:
            self.load_clip_state(clip_state)
        else:
            self.init_heads_from_clip()
        self._freeze_unused_gram()

    def _freeze_unused_gram(self) -> None:
        # Parameters without a gradient must not be trainable under DDP (see CLIP4Clip._freeze_unused).
        self.clip.logit_scale.requires_grad_(False)  # GRAM's temperature is contra_temp
        if not self.itm_weight:  # no matching loss: the matching head stays as initialised
            matching = (self.hidden_trans_vision_multimodal, self.fusion, self.itm_head)
            for param in [p for m in matching for p in m.parameters()] + [
                self.vision_frame_embedding,
                self.vision_type_embeddings,
            ]:
                param.requires_grad_(False)

    @torch.no_grad()
    def init_heads_from_clip(self, conv3d: bool = True) -> None:
        """CLIP4Clip's initialisation, plus the fusion blocks' self-attention and MLP from CLIP's text layers."""
        super().init_heads_from_clip(conv3d)
        if not hasattr(self, "fusion"):  # called by CLIP4Clip.__init__ before the GRAM parts exist
            return
        for block, source in zip(self.fusion.resblocks, self.clip.transformer.resblocks):
            state = {k: v for k, v in source.state_dict().items() if not k.startswith("ls_")}
            result = block.load_state_dict(state, strict=False)
            if result.unexpected_keys or any(
                not k.startswith(("cross_attn.", "ln_cross.")) for k in result.missing_keys
            ):
                raise ConfigError(f"CLIP text block does not fit the fusion block: {result}")

    # ---- encoders -------------------------------------------------------------------------------------------

    def encode_text(self, tokens: torch.Tensor, mask: torch.Tensor) -> TextFeatures:
        """``[B, L]`` tokens -> unit embedding ``[B, D]`` (end-of-text token) and token states ``[B, L, W]``."""
        states = text_token_states(self.clip, tokens, self.spec.context_length)
        sentence = states[torch.arange(states.shape[0], device=states.device), end_of_text(tokens)]
        embeds = F.normalize(sentence @ self.clip.text_projection, dim=-1)
        return TextFeatures(embeds=embeds, tokens=states, mask=mask)

    def encode_video(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> VideoFeatures:
        """``[B, T, 3, H, W]`` -> unit embedding ``[B, D]`` (meanP pooling) and CLIP frame features ``[B, T, D]``."""
        if frames.shape[1] > self.max_frames:
            raise InputError(f"videos have {frames.shape[1]} frames; this GRAM model takes at most {self.max_frames}")
        features = self.encode_frames(frames)
        return VideoFeatures(embeds=masked_mean_pool(features, frame_mask), frames=features, mask=frame_mask)

    # ---- first stage: volume ----------------------------------------------------------------------------------

    def temperature(self) -> torch.Tensor:
        """``τ``: the learned ``contra_temp`` (``clamped`` mode: at least ``MIN_TEMPERATURE``)."""
        if self.temperature_mode == "clamped":
            return self.contra_temp.clamp(min=MIN_TEMPERATURE)
        return self.contra_temp

    def param_group_options(self) -> dict[str, dict[str, Any]]:
        """Optimiser options of parameters that leave the default groups (read by ``optim.param_groups``)."""
        decay = TEMPERATURE_WEIGHT_DECAY if self.temperature_mode == "gram" else 0.0
        return {"contra_temp": {"name": "temperature", "weight_decay": decay}}

    def similarity(self, text: TextFeatures, video: VideoFeatures) -> torch.Tensor:
        """``[n_text, n_video]`` logits ``-volume(text, video) / τ`` (higher = better aligned)."""
        return -volume_matrix(text.present("embeds"), [video.present("embeds")]) / self.temperature()

    # ---- second stage: matching head --------------------------------------------------------------------------

    def match_logits(self, text: TextFeatures, video: VideoFeatures) -> torch.Tensor:
        """``[P, 2]`` (no match, match) logits of ``P`` aligned pairs ``(text[i], video[i])``."""
        frames, text_mask = video.present("frames"), text.present("mask")
        tokens = self.hidden_trans_vision_multimodal(frames)
        tokens = tokens + self.vision_frame_embedding[:, : frames.shape[1]] + self.vision_type_embeddings
        fused = self.fusion(text.present("tokens"), text_mask, tokens, video.present("mask"))
        if self.match_pooling == "cls":  # GRAM: BERT's [CLS], token 0 (CLIP's start-of-text)
            return self.itm_head(fused[:, 0])
        # The end-of-text token, CLIP's sentence position (the last real token).
        last = (text_mask.sum(dim=-1) - 1).clamp(min=0)
        return self.itm_head(fused[torch.arange(fused.shape[0], device=fused.device), last])

    def match_probability(self, text: TextFeatures, video: VideoFeatures) -> torch.Tensor:
        """``[P]`` probability that caption ``i`` describes video ``i``."""
        return torch.softmax(self.match_logits(text, video).float(), dim=-1)[:, 1]

    def rerank(self, text: TextFeatures, video: VideoFeatures, candidates: torch.Tensor) -> torch.Tensor:
        """Matching-head probabilities ``[n_text, k]`` of each text's candidate videos (indices into ``video``;
        -1 marks no candidate and gives NaN)."""
        n_text, k = candidates.shape
        valid = candidates >= 0
        text_index = torch.arange(n_text, device=candidates.device)[:, None].expand(n_text, k)[valid]
        video_index = candidates[valid]
        scores = []
        for start in range(0, len(video_index), RERANK_CHUNK):
            rows = slice(start, start + RERANK_CHUNK)
            scores.append(self.match_probability(text[text_index[rows]], video[video_index[rows]]))
        out = torch.full((n_text, k), float("nan"), device=candidates.device)
        if scores:
            out[valid] = torch.cat(scores).to(out.device)
        return out

    # ---- training ---------------------------------------------------------------------------------------------

    def loss(self, text: TextFeatures, video: VideoFeatures) -> torch.Tensor:
        """Volume contrastive loss over the (gathered) batch + ``itm_weight`` x the local matching loss."""
        local_text, local_video = text, video
        if self.gather_for_loss:
            text, video = gather_features(text), gather_features(video)
        if self.gradients == "split":
            offset = _batch_offset(len(local_text)) if self.gather_for_loss else 0
            loss = split_volume_contrastive_loss(
                local_text.present("embeds"),
                [local_video.present("embeds")],
                text.present("embeds"),
                [video.present("embeds")],
                self.temperature(),
                self.label_smoothing,
                offset,
            )
        else:
            volumes = volume_matrix(text.present("embeds"), [video.present("embeds")])
            loss = volume_contrastive_loss(volumes, self.temperature(), self.label_smoothing)
        if self.itm_weight:
            loss = loss + self.itm_weight * self.matching_loss(local_text, local_video)
        return loss

    def matching_loss(self, text: TextFeatures, video: VideoFeatures) -> torch.Tensor:
        """GRAM's ITM loss: each aligned pair (label 1), each caption with a hard negative video and each video
        with a hard negative caption (label 0), negatives drawn in proportion to ``softmax(-volume / τ)``."""
        batch = len(text)
        if batch < 2:  # no negative to draw: the positive alone keeps every head parameter in the graph
            logits = self.match_logits(text, video)
            return F.cross_entropy(logits.float(), torch.ones(batch, dtype=torch.long, device=logits.device))
        negative_video, negative_text = sample_hard_negatives(self.similarity(text, video).detach())
        texts = TextFeatures.cat([text, text, text[negative_text]])
        videos = VideoFeatures.cat([video, video[negative_video], video])
        labels = torch.zeros(3 * batch, dtype=torch.long, device=texts.present("embeds").device)
        labels[:batch] = 1
        return F.cross_entropy(self.match_logits(texts, videos).float(), labels)

    def logit_scale_parameter(self) -> nn.Parameter | None:
        return None  # contra_temp is not CLIP's logit scale: the trainer's clamp must not touch it

    def describe(self) -> dict[str, Any]:
        return {
            "linear_patch": self.linear_patch,
            "max_words": self.max_words,
            "max_frames": self.max_frames,
            "temporal_layers": self.temporal_layers,
            "rerank_k": self.rerank_k,
            "rerank_tail": self.rerank_tail,
            "itm_weight": self.itm_weight,
            "label_smoothing": self.label_smoothing,
            "gradients": self.gradients,
            "temperature_mode": self.temperature_mode,
            "match_pooling": self.match_pooling,
            "backbone": self.spec.to_dict(),
        }


def sample_hard_negatives(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw one negative per row and per column of the ``[B, B]`` caption x video logits (``B >= 2``).

    As GRAM: weights ``softmax(logits) + 1e-4`` with the aligned pair zeroed, so closer negatives (smaller
    volume) are likelier but every other item can be drawn. Uses torch's global RNG (seeded by the trainer).

    Returns:
        ``(video for each caption [B], caption for each video [B])``.
    """
    with torch.no_grad():
        rows = torch.softmax(logits.float(), dim=1) + 1e-4
        columns = torch.softmax(logits.float().t(), dim=1) + 1e-4
        rows.fill_diagonal_(0)
        columns.fill_diagonal_(0)
        return torch.multinomial(rows, 1).squeeze(1), torch.multinomial(columns, 1).squeeze(1)


def _batch_offset(size: int) -> int:
    """Where this process's ``size`` items start in the batch gathered over all ranks (0 on one process)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return 0
    count = torch.tensor([size], device="cuda" if dist.get_backend() == "nccl" else "cpu")
    counts = [torch.zeros_like(count) for _ in range(dist.get_world_size())]
    dist.all_gather(counts, count)
    return int(sum(int(c.item()) for c in counts[: dist.get_rank()]))


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def _check_gram_arguments(rerank_k: int, rerank_tail: str, itm_weight: float, label_smoothing: float) -> None:
    if rerank_k < 0:
        raise ConfigError(f"rerank_k must be >= 0 (0: no re-ranking), got {rerank_k}")
    if rerank_tail not in TAILS:
        raise ConfigError(f"rerank_tail must be one of {', '.join(TAILS)}, got {rerank_tail!r}")
    if itm_weight < 0:
        raise ConfigError(f"itm_weight must be >= 0, got {itm_weight}")
    if itm_weight == 0 and rerank_k:
        raise ConfigError("itm_weight 0 leaves the matching head untrained: set rerank_k 0 (volume ranking only)")
    if not 0 <= label_smoothing < 1:
        raise ConfigError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
