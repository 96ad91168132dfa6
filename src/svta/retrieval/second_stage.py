"""Evaluate a model's second stage through the evaluation engine: a model with ``rerank_k > 0`` (GRAM) gets
its first-stage top-k re-scored by :meth:`~svta.retrieval.base.RetrievalModel.rerank` in a
:class:`svta.eval.rerank.TopKRescore`, which also applies the ``tail`` policy beyond the top-k.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import torch

from svta.errors import ConfigError
from svta.retrieval.base import RetrievalModel, TextFeatures, VideoFeatures

if TYPE_CHECKING:
    from svta.eval.rerank import TopKRescore

# (caption, video) pairs per scorer call: the engine batches pairs, the model chunks them further.
PAIRS_PER_CALL = 2048


def model_rescorer(
    model: RetrievalModel,
    text_feats: TextFeatures,
    video_feats: VideoFeatures,
    device: torch.device | str = "cpu",
    *,
    tail: str | None = None,
    k: int | None = None,
    amp_dtype: torch.dtype | None = None,
) -> TopKRescore | None:
    """The engine's top-k re-scorer for ``model``'s second stage, or ``None`` when it has none.

    Args:
        model: a retrieval model; ``model.rerank_k`` (0: none) and ``model.rerank_tail`` are the defaults.
        text_feats: all ``[n_text, ...]`` caption features, in the order the engine indexes them.
        video_feats: all ``[n_video, ...]`` video features.
        device: where the model runs.
        tail: ``keep`` | ``zero`` (see :class:`~svta.eval.rerank.TopKRescore`); ``None``: the model's.
        k: candidates per query; ``None``: the model's ``rerank_k``.
        amp_dtype: autocast dtype for the scorer (``None``: full precision).
    """
    from svta.eval.rerank import TopKRescore
    from svta.retrieval.evaluate import autocast_context

    k = int(getattr(model, "rerank_k", 0)) if k is None else k
    if k <= 0:
        return None
    tail = tail or getattr(model, "rerank_tail", "keep")
    device = torch.device(device)
    if type(model).rerank is RetrievalModel.rerank:  # the base class's rerank answers None
        raise ConfigError(f"{type(model).__name__} has no second stage to re-rank with (rerank_k={k})")

    def scorer(text_idx: np.ndarray, video_idx: np.ndarray) -> Any:
        text = text_feats[torch.as_tensor(text_idx, dtype=torch.long)].to(device)
        video = video_feats[torch.as_tensor(video_idx, dtype=torch.long)].to(device)
        pairs = torch.arange(len(video_idx), device=device)[:, None]  # text i against video i
        with torch.no_grad(), autocast_context(device, amp_dtype):
            scores = model.rerank(text, video, pairs)
            if scores is None:
                raise ConfigError(f"{type(model).__name__}.rerank returned no scores (rerank_k={k})")
            return scores[:, 0].float()

    # TopKRescore rejects a tail other than 'keep' / 'zero' with a ConfigError.
    return TopKRescore(scorer, k=k, tail=cast("Literal['keep', 'zero']", tail), batch=PAIRS_PER_CALL)
