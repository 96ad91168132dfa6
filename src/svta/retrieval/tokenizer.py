"""CLIP BPE tokenisation as CLIP4Clip does it: ``[SOT] + words + [EOT]`` in ``max_words`` positions.

A caption longer than ``max_words - 2`` BPE tokens is cut, keeping the end-of-text token last (the text
feature is read at that token). The vocabulary ships inside open_clip, so this works offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from svta.registry import require

if TYPE_CHECKING:
    import torch


@lru_cache(maxsize=1)
def _bpe_tokenizer() -> Any:
    open_clip = require("open_clip", "retrieval")
    return open_clip.get_tokenizer("ViT-B-32")


def tokenize(texts: Sequence[str], max_words: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenise captions for a CLIP text encoder.

    Args:
        texts: ``N`` captions.
        max_words: token positions per caption, start and end tokens included (CLIP4Clip: 32).

    Returns:
        ``(tokens, mask)``: ``[N, max_words]`` int64 ids (0-padded) and ``[N, max_words]`` int64, 1 on real tokens.
    """
    import torch

    if not texts:
        empty = torch.zeros(0, max_words, dtype=torch.long)
        return empty, empty.clone()
    # open_clip truncates to the context length and rewrites the last kept position as EOT.
    tokens = _bpe_tokenizer()(list(texts), context_length=max_words)
    return tokens, (tokens != 0).long()
