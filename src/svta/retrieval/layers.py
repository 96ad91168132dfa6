"""Transformer layers of the CLIP4Clip heads, with CLIP4Clip's parameter names.

``TemporalTransformer`` is seqTransf's ``transformerClip``; ``CrossModel`` is tightTransf's ``cross`` encoder.
Both are pre-LN CLIP blocks (QuickGELU) whose LayerNorms use CLIP4Clip's TF-style epsilon 1e-12.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

# CLIP4Clip masks padded positions with a large negative number rather than -inf, so a row with every key
# masked stays finite.
MASK_VALUE = -1_000_000.0
HEAD_LAYERNORM_EPS = 1e-12


class QuickGELU(nn.Module):
    """``x * sigmoid(1.702 x)``, the activation OpenAI's CLIP was trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """A pre-LN transformer block named like CLIP's (``attn``, ``ln_1``, ``mlp.c_fc``, ``mlp.c_proj``, ``ln_2``)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_1 = nn.LayerNorm(width, eps=HEAD_LAYERNORM_EPS)
        self.mlp = nn.Sequential(
            OrderedDict(
                [
                    ("c_fc", nn.Linear(width, width * 4)),
                    ("gelu", QuickGELU()),
                    ("c_proj", nn.Linear(width * 4, width)),
                ]
            )
        )
        self.ln_2 = nn.LayerNorm(width, eps=HEAD_LAYERNORM_EPS)

    def forward(self, x: torch.Tensor, padding_bias: torch.Tensor | None = None) -> torch.Tensor:
        """Args: x ``[B, L, W]``; padding_bias ``[B, L]``, additive, ``MASK_VALUE`` on padded keys.

        Returns ``[B, L, W]``."""
        h = self.ln_1(x)
        bias = None if padding_bias is None else padding_bias.to(h.dtype)
        x = x + self.attn(h, h, h, need_weights=False, key_padding_mask=bias)[0]
        return x + self.mlp(self.ln_2(x))


class TemporalTransformer(nn.Module):
    """A stack of blocks over a (masked) sequence: ``resblocks.{i}``."""

    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.width = width
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Args: x ``[B, L, W]``; mask ``[B, L]``, 1 on valid positions. Returns ``[B, L, W]``."""
        # A per-video key-padding bias: what CLIP4Clip's [B, L, L] mask repeated per head with repeat_interleave
        # computes (its first release repeated it head-major; fixed in July 2021, as in X-CLIP).
        bias = None if mask is None else (1.0 - mask.float()) * MASK_VALUE
        for block in self.resblocks:
            x = block(x, bias)
        return x


class CrossEmbeddings(nn.Module):
    """Learned position embeddings added to the concatenated ``[text; frames]`` sequence."""

    def __init__(self, width: int, max_positions: int, dropout: float = 0.1):
        super().__init__()
        self.position_embeddings = nn.Embedding(max_positions, width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(x.shape[1], device=x.device)
        return self.dropout(x + self.position_embeddings(positions).unsqueeze(0))


class CrossPooler(nn.Module):
    """LayerNorm, first token, Linear, QuickGELU."""

    def __init__(self, width: int):
        super().__init__()
        self.ln_pool = nn.LayerNorm(width, eps=HEAD_LAYERNORM_EPS)
        self.dense = nn.Linear(width, width)
        self.activation = QuickGELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(self.ln_pool(x)[:, 0]))


class CrossModel(nn.Module):
    """tightTransf's cross encoder: ``embeddings``, ``transformer.resblocks.{i}``, ``pooler``."""

    def __init__(self, width: int, layers: int, heads: int, max_positions: int):
        super().__init__()
        self.embeddings = CrossEmbeddings(width, max_positions)
        self.transformer = TemporalTransformer(width, layers, heads)
        self.pooler = CrossPooler(width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Args: x ``[B, L, W]`` concatenated features; mask ``[B, L]``. Returns the pooled output ``[B, W]``."""
        return self.pooler(self.transformer(self.embeddings(x), mask))


def init_head_weights(module: nn.Module, std: float = 0.02) -> None:
    """CLIP4Clip's initialisation of new modules: N(0, 0.02) weights, zero biases, unit LayerNorms."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=std)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
