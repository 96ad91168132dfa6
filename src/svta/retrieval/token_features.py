"""Per-token CLIP features shared by the token-level models (X-CLIP, GRAM's matching head), and padding of
captions and frame sequences to the fixed sizes their learned matrices and embeddings are built for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from svta.errors import InputError

if TYPE_CHECKING:
    from svta.retrieval.backbone import ClipModel


def text_token_states(clip: ClipModel, tokens: torch.Tensor, context_length: int) -> torch.Tensor:
    """CLIP's text transformer on ``[B, L]`` token ids -> ``[B, L, W]`` outputs after ``ln_final``.

    As CLIP4Clip's text encoder: the first ``L`` positional embeddings and a causal mask over all positions
    (padding included), so position ``i`` only sees tokens ``0..i``.
    """
    length = tokens.shape[1]
    if length > context_length:
        raise InputError(f"captions have {length} token positions; the text encoder takes at most {context_length}")
    x = clip.token_embedding(tokens) + clip.positional_embedding[:length]
    causal = torch.full((length, length), float("-inf"), device=tokens.device).triu_(1)
    return clip.ln_final(clip.transformer(x, attn_mask=causal))


def end_of_text(tokens: torch.Tensor) -> torch.Tensor:
    """``[B]`` position of CLIP's end-of-text token (the highest id) in each ``[B, L]`` row."""
    return tokens.argmax(dim=-1)


def pad_tokens(tokens: torch.Tensor, mask: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``[B, L]`` ids and mask with zeros to ``length`` positions (what tokenising at ``length`` gives).

    Raises:
        InputError: ``L > length`` (a caption cut elsewhere would lose its end-of-text token).
    """
    if tokens.shape[1] > length:
        raise InputError(f"captions have {tokens.shape[1]} token positions; this model takes {length} (max_words)")
    missing = length - tokens.shape[1]
    return F.pad(tokens, (0, missing)), F.pad(mask, (0, missing))


def pad_frames(frames: torch.Tensor, frame_mask: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``[B, T, 3, H, W]`` frames with zero frames (masked out) to ``count`` frames.

    Zero frames are what the data loader gives a short video (padding is zero after normalisation).

    Raises:
        InputError: ``T > count``.
    """
    if frames.shape[1] > count:
        raise InputError(f"videos have {frames.shape[1]} frames; this model takes at most {count} (max_frames)")
    missing = count - frames.shape[1]
    if not missing:
        return frames, frame_mask
    return F.pad(frames, (0, 0, 0, 0, 0, 0, 0, missing)), F.pad(frame_mask, (0, missing))
