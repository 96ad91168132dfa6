"""GRAM's geometry (Cicchetti et al., ICLR 2025): the volume of the parallelotope spanned by n modality
embeddings, ``sqrt(det(G))`` with ``G`` their Gram matrix, and the volume contrastive loss built on it.

Smaller volume = better aligned. For two unit vectors the volume is ``sqrt(1 - cos²)``; n orthonormal
vectors span volume 1; n equal vectors span 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from svta.errors import InputError

# Below this determinant the square root's gradient is taken as at the threshold: aligned positives reach
# det ~ 0, where d sqrt/dx is infinite.
_GRADIENT_FLOOR = 1e-8


class _SafeSqrt(torch.autograd.Function):
    """``sqrt(max(x, 0))`` whose gradient stays finite at 0."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor) -> torch.Tensor:
        root = x.clamp(min=0).sqrt()
        ctx.save_for_backward(x)
        return root

    @staticmethod
    def backward(ctx: torch.autograd.function.BackwardCFunction, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * 0.5 / x.clamp(min=_GRADIENT_FLOOR).sqrt() * (x > 0)


def gram_volume(vectors: torch.Tensor) -> torch.Tensor:
    """Volume spanned by each set of vectors: ``[..., n, D]`` -> ``[...]`` (``sqrt(det(V Vᵀ))``).

    Invariant to the order of the n vectors; callers L2-normalise them first for GRAM's measure. Computed in
    float64 for float64 input, else in float32 (also under autocast).
    """
    if vectors.ndim < 2 or vectors.shape[-2] < 2:
        raise InputError(f"a volume needs n >= 2 vectors on axis -2, got shape {tuple(vectors.shape)}")
    with torch.autocast(vectors.device.type, enabled=False):
        vectors = vectors if vectors.dtype == torch.float64 else vectors.float()
        gram = vectors @ vectors.transpose(-1, -2)
        return _SafeSqrt.apply(torch.linalg.det(gram))


def volume_matrix(anchors: torch.Tensor, others: Sequence[torch.Tensor]) -> torch.Tensor:
    """Volume of every (anchor, item) pair, an item being the j-th row of each of the other modalities.

    Entry ``[i, j]`` is the volume of ``(anchors[i], others[0][j], others[1][j], ...)``: anchors (captions)
    are matched against items whose other modalities (video, audio, subtitles, ...) belong together.

    Args:
        anchors: ``[N, D]`` embeddings (the captions).
        others: ``n - 1 >= 1`` tensors ``[M, D]`` (one per other modality, rows aligned).

    Returns:
        ``[N, M]`` float32 volumes.
    """
    if not others:
        raise InputError("a volume needs n >= 2 modalities: give at least one besides the anchors")
    # float32 even under autocast: aligned pairs have det ~ 0, where bf16's 8 mantissa bits leave no volume.
    with torch.autocast(anchors.device.type, enabled=False):
        return _volume_matrix(anchors.float(), [o.float() for o in others])


def _volume_matrix(anchors: torch.Tensor, others: list[torch.Tensor]) -> torch.Tensor:
    cross = [anchors @ o.t() for o in others]  # [N, M] each
    if len(others) == 1:  # closed form of the 2 x 2 determinant, cheaper than a batched det
        det = (anchors * anchors).sum(-1)[:, None] * (others[0] * others[0]).sum(-1)[None] - cross[0] ** 2
        return _SafeSqrt.apply(det)
    n_anchor, n_items, n = anchors.shape[0], others[0].shape[0], len(others) + 1
    gram = anchors.new_empty(n_anchor, n_items, n, n)
    gram[..., 0, 0] = (anchors * anchors).sum(-1)[:, None]
    for k, (o_k, c_k) in enumerate(zip(others, cross), start=1):
        gram[..., 0, k] = gram[..., k, 0] = c_k
        for m in range(k, n):
            gram[..., k, m] = gram[..., m, k] = (o_k * others[m - 1]).sum(-1)[None]
    return _SafeSqrt.apply(torch.linalg.det(gram))


def volume_contrastive_loss(
    volumes: torch.Tensor, temperature: torch.Tensor | float, label_smoothing: float = 0.1
) -> torch.Tensor:
    """GRAM's loss over a square batch: cross-entropy of ``-volume / τ`` with the aligned pairs on the
    diagonal, captions -> items and items -> captions, averaged.

    Args:
        volumes: ``[B, B]`` from :func:`volume_matrix` (caption i against item j).
        temperature: ``τ`` (GRAM: learned, from 0.07).
        label_smoothing: GRAM: 0.1.
    """
    logits = -volumes.float() / temperature
    target = torch.arange(logits.shape[0], device=logits.device)
    forward = F.cross_entropy(logits, target, label_smoothing=label_smoothing)
    backward = F.cross_entropy(logits.t(), target, label_smoothing=label_smoothing)
    return (forward + backward) / 2


def split_volume_contrastive_loss(
    text: torch.Tensor,
    others: Sequence[torch.Tensor],
    all_text: torch.Tensor,
    all_others: Sequence[torch.Tensor],
    temperature: torch.Tensor | float,
    label_smoothing: float = 0.1,
    offset: int = 0,
) -> torch.Tensor:
    """GRAM's loss with its gradient flow: each direction trains only its query side.

    The released code gathers the other side through an all-gather without gradient, even on one process,
    so the caption -> item term reaches only the caption encoder and the item -> caption term only the item
    encoders (video, audio, ...). Both terms reach ``τ``.

    Args:
        text: ``[B, D]`` this process's caption embeddings.
        others: this process's ``[B, D]`` embeddings of every other modality.
        all_text: ``[N, D]`` captions of the whole (gathered) batch; ``text`` is rows ``offset .. offset + B``.
        all_others: the gathered ``[N, D]`` embeddings of the other modalities.
        temperature: ``τ``.
        label_smoothing: GRAM: 0.1.
        offset: position of this process's batch in the gathered one.
    """
    target = offset + torch.arange(text.shape[0], device=text.device)
    forward = -volume_matrix(text, [o.detach() for o in all_others]) / temperature  # [B, N]
    backward = -volume_matrix(all_text.detach(), list(others)).t() / temperature  # [B, N]
    return (
        F.cross_entropy(forward, target, label_smoothing=label_smoothing)
        + F.cross_entropy(backward, target, label_smoothing=label_smoothing)
    ) / 2
