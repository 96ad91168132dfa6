"""CLIP4Clip (Luo et al. 2021): a CLIP image encoder applied per frame, then one of four similarity heads.

meanP, seqLSTM and seqTransf turn frame features into one video vector (a dot product scores a pair);
tightTransf is a cross encoder over ``[text; frames]`` (a forward pass per pair). Parameter names follow the
released CLIP4Clip checkpoints (``clip.*``, ``frame_position_embeddings``, ``transformerClip.*``,
``lstm_visual.*``, ``cross.*``, ``similarity_dense``), so their ``pytorch_model.bin.N`` files load strictly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from svta.errors import ConfigError, InputError
from svta.retrieval.backbone import BackboneSpec, build_clip
from svta.retrieval.base import RetrievalModel, TextFeatures, VideoFeatures
from svta.retrieval.checkpoint import load_state_strict
from svta.retrieval.layers import CrossModel, TemporalTransformer, init_head_weights

if TYPE_CHECKING:
    from svta.retrieval.backbone import ClipModel

SIM_HEADERS = ("meanP", "seqLSTM", "seqTransf", "tightTransf")


class CLIP4Clip(RetrievalModel):
    """CLIP4Clip with one similarity head.

    Args:
        spec: the CLIP architecture.
        sim_header: ``meanP`` | ``seqLSTM`` | ``seqTransf`` | ``tightTransf``.
        linear_patch: ``2d`` (per-frame patches) or ``3d`` (a Conv3d over 3 frames, initialised from the 2-D
            patch weights in its centre slice).
        max_words: caption token positions (CLIP4Clip: 32).
        max_frames: frames sampled per video (CLIP4Clip: 12).
        temporal_layers: layers of seqTransf's / tightTransf's transformer (CLIP4Clip: 4, copied from CLIP's
            text layers 0-3).
        clip_state: OpenAI-format CLIP weights to start from, or ``None`` for a random CLIP.
    """

    clip: ClipModel
    # The head's modules; each exists only for the heads named beside it (``hasattr`` tells).
    frame_position_embeddings: nn.Embedding  # seqLSTM, seqTransf
    transformerClip: TemporalTransformer  # seqTransf
    lstm_visual: nn.LSTM  # seqLSTM
    cross: CrossModel  # tightTransf
    similarity_dense: nn.Linear  # tightTransf

    def __init__(
        self,
        spec: BackboneSpec,
        sim_header: str = "meanP",
        *,
        linear_patch: str = "2d",
        max_words: int = 32,
        max_frames: int = 12,
        temporal_layers: int = 4,
        clip_state: dict[str, torch.Tensor] | None = None,
    ):
        super().__init__()
        _check_arguments(spec, sim_header, linear_patch, max_words, max_frames)
        self.spec, self.sim_header, self.linear_patch = spec, sim_header, linear_patch
        self.max_words, self.max_frames, self.temporal_layers = max_words, max_frames, temporal_layers
        self.image_size = spec.image_size
        self.gather_for_loss = sim_header != "tightTransf"
        self.pairwise = sim_header == "tightTransf"
        self.clip = build_clip(spec)
        if linear_patch == "3d":
            p = spec.patch_size
            self.clip.visual.conv2 = nn.Conv3d(
                3, spec.vision_width, kernel_size=(3, p, p), stride=(1, p, p), padding=(1, 0, 0), bias=False
            )
        self._build_head()
        if clip_state is not None:
            self.load_clip_state(clip_state)
        else:
            self.init_heads_from_clip()
        self._freeze_unused()

    def _freeze_unused(self) -> None:
        # Parameters CLIP4Clip keeps but never uses in this configuration stay in the state dict (checkpoints
        # load strictly) but take no gradient, which DDP requires of every trainable parameter.
        unused = []
        if self.sim_header == "seqLSTM":
            unused.append(self.frame_position_embeddings.weight)
        if self.sim_header == "tightTransf":
            unused.append(self.clip.logit_scale)
        if self.linear_patch == "3d":
            unused.append(self.clip.visual.conv1.weight)
        for param in unused:
            param.requires_grad_(False)

    def _build_head(self) -> None:
        dim, heads = self.spec.embed_dim, self.spec.text_heads
        new: list[nn.Module] = []
        if self.sim_header in ("seqLSTM", "seqTransf"):  # CLIP4Clip creates the embedding for both
            self.frame_position_embeddings = nn.Embedding(self.spec.context_length, dim)
            new.append(self.frame_position_embeddings)
        if self.sim_header == "seqTransf":
            self.transformerClip = TemporalTransformer(dim, self.temporal_layers, heads)
            new.append(self.transformerClip)
        if self.sim_header == "seqLSTM":
            self.lstm_visual = nn.LSTM(dim, dim, batch_first=True, num_layers=1)
        if self.sim_header == "tightTransf":
            self.cross = CrossModel(dim, self.temporal_layers, heads, self.spec.context_length)
            self.similarity_dense = nn.Linear(dim, 1)
            new += [self.cross, self.similarity_dense]
        for module in new:
            init_head_weights(module)

    def load_clip_state(self, state: dict[str, torch.Tensor], source: str = "CLIP weights") -> None:
        """Load OpenAI-format CLIP weights (no ``clip.`` prefix) strictly, then re-seed the heads from them."""
        allow = ("visual.conv2.weight",) if self.linear_patch == "3d" else ()
        load_state_strict(self.clip, state, source, allow_missing=allow)
        self.init_heads_from_clip(conv3d="visual.conv2.weight" not in state)

    @torch.no_grad()
    def init_heads_from_clip(self, conv3d: bool = True) -> None:
        """CLIP4Clip's initialisation: head position embeddings and transformer layers start as CLIP's text
        ones; with ``conv3d`` the 3-D patch conv starts as the 2-D one in its centre frame."""
        text_pos = self.clip.positional_embedding
        if hasattr(self, "frame_position_embeddings"):
            self.frame_position_embeddings.weight.copy_(text_pos)
        if hasattr(self, "transformerClip"):
            self._copy_text_layers(self.transformerClip)
        if hasattr(self, "cross"):
            self.cross.embeddings.position_embeddings.weight.copy_(text_pos)
            self._copy_text_layers(self.cross.transformer)
        if self.linear_patch == "3d" and conv3d:
            self._init_conv3d_from_conv2d()

    def _copy_text_layers(self, target: TemporalTransformer) -> None:
        # Layers beyond CLIP's text depth (only possible with tiny backbones) keep their own initialisation.
        for block, source in zip(target.resblocks, self.clip.transformer.resblocks):
            block.load_state_dict({k: v for k, v in source.state_dict().items() if not k.startswith("ls_")})

    @torch.no_grad()
    def _init_conv3d_from_conv2d(self) -> None:
        conv2 = self.clip.visual.conv2.weight  # [W, 3, 3, p, p]: the centre frame gets the 2-D patch weights
        conv2.zero_()
        conv2[:, :, 1] = self.clip.visual.conv1.weight

    # ---- encoders -------------------------------------------------------------------------------------------

    def encode_text(self, tokens: torch.Tensor, mask: torch.Tensor) -> TextFeatures:
        """``[B, L]`` tokens -> features at the end-of-text token (unit-norm for the dot-product heads)."""
        clip, length = self.clip, tokens.shape[1]
        if length > self.spec.context_length:
            raise InputError(
                f"captions have {length} token positions; the text encoder takes at most {self.spec.context_length}"
            )
        x = clip.token_embedding(tokens) + clip.positional_embedding[:length]
        causal = torch.full((length, length), float("-inf"), device=tokens.device).triu_(1)
        x = clip.ln_final(clip.transformer(x, attn_mask=causal))
        # CLIP's end-of-text token has the highest id, so argmax finds it.
        text = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)] @ clip.text_projection
        return TextFeatures(embeds=text if self.pairwise else F.normalize(text, dim=-1))

    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """``[B, T, 3, H, W]`` normalised frames -> ``[B, T, D]`` CLIP features (class token, ln_post, proj)."""
        visual, (b, t) = self.clip.visual, frames.shape[:2]
        if frames.shape[-1] != self.image_size or frames.shape[-2] != self.image_size:
            side = self.image_size
            raise InputError(f"frames are {tuple(frames.shape[-2:])}; this model takes {side}x{side}")
        if self.linear_patch == "3d":
            x = visual.conv2(frames.transpose(1, 2)).transpose(1, 2).flatten(0, 1)  # [B*T, W, g, g]
        else:
            x = visual.conv1(frames.flatten(0, 1))
        x = x.flatten(2).transpose(1, 2)  # [B*T, g*g, W]
        cls = visual.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + visual.positional_embedding.to(x.dtype)
        x = visual.transformer(visual.ln_pre(x))
        return (visual.ln_post(x[:, 0]) @ visual.proj).view(b, t, -1)

    def encode_video(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> VideoFeatures:
        """Loose heads: one unit-norm ``[B, D]`` vector per video. tightTransf: ``[B, T, D]`` frames + mask."""
        features = self.encode_frames(frames)
        if self.pairwise:
            return VideoFeatures(frames=features, mask=frame_mask)
        return VideoFeatures(embeds=masked_mean_pool(self.temporal(features, frame_mask), frame_mask))

    def temporal(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The head's temporal module over ``[B, T, D]`` frame features (identity for meanP)."""
        if self.sim_header == "seqLSTM":
            lengths = mask.sum(dim=-1).clamp(min=1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(frames, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.lstm_visual(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=frames.shape[1])
            return out + frames
        if self.sim_header == "seqTransf":
            positions = self.frame_position_embeddings(torch.arange(frames.shape[1], device=frames.device))
            return self.transformerClip(frames + positions, mask) + frames
        return frames

    # ---- scoring --------------------------------------------------------------------------------------------

    def similarity(self, text: TextFeatures, video: VideoFeatures) -> torch.Tensor:
        """``[n_text, n_video]`` logits: scaled cosine (loose heads) or the cross encoder's score (tightTransf)."""
        if self.pairwise:
            return self.cross_similarity(text.present("embeds"), video.present("frames"), video.present("mask"))
        return (self.clip.logit_scale.exp() * text.present("embeds") @ video.present("embeds").t()).float()

    def cross_similarity(self, text: torch.Tensor, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """tightTransf: score every (text ``[n_t, D]``, video ``[n_v, T, D]``) pair with the cross encoder."""
        n_t, (n_v, t, d) = text.shape[0], frames.shape
        pairs_text = text[:, None, None, :].expand(n_t, n_v, 1, d)
        pairs_video = frames[None].expand(n_t, n_v, t, d)
        sequence = torch.cat([pairs_text, pairs_video], dim=2).reshape(n_t * n_v, t + 1, d)
        text_mask = mask.new_ones(n_t, n_v, 1)
        pair_mask = torch.cat([text_mask, mask[None].expand(n_t, n_v, t)], dim=2).reshape(n_t * n_v, t + 1)
        pooled = self.cross(sequence, pair_mask)
        return self.similarity_dense(pooled).view(n_t, n_v).float()

    def logit_scale_parameter(self) -> nn.Parameter | None:
        return None if self.pairwise else self.clip.logit_scale

    def describe(self) -> dict[str, Any]:
        return {
            "sim_header": self.sim_header,
            "linear_patch": self.linear_patch,
            "max_words": self.max_words,
            "max_frames": self.max_frames,
            "temporal_layers": self.temporal_layers,
            "backbone": self.spec.to_dict(),
        }


def masked_mean_pool(frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """CLIP4Clip's pooling: unit-norm each frame, average the valid ones, unit-norm the mean. ``[B, D]``."""
    frames = F.normalize(frames, dim=-1)
    weights = mask.to(frames.dtype).unsqueeze(-1)
    pooled = (frames * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
    return F.normalize(pooled, dim=-1)


def _check_arguments(spec: BackboneSpec, sim_header: str, linear_patch: str, max_words: int, max_frames: int) -> None:
    if sim_header not in SIM_HEADERS:
        raise ConfigError(f"sim_header {sim_header!r} is not one of {', '.join(SIM_HEADERS)}")
    if linear_patch not in ("2d", "3d"):
        raise ConfigError(f"linear_patch {linear_patch!r} must be '2d' or '3d'")
    if max_words > spec.context_length:
        raise ConfigError(f"max_words {max_words} exceeds the text encoder's context length {spec.context_length}")
    if max_frames > spec.context_length and sim_header != "meanP":
        raise ConfigError(f"max_frames {max_frames} exceeds the {spec.context_length} frame position embeddings")
    if sim_header in ("seqTransf", "tightTransf") and spec.text_width != spec.embed_dim:
        raise ConfigError(f"{sim_header} needs text width == embed dim (got {spec.text_width} vs {spec.embed_dim})")
