"""Feature containers the evaluators slice, and the caller's text order they regroup by.

Features reach the ranking engine as tensors, arrays or containers of them (tuples, dicts, dataclasses);
texts of one video are grouped before streaming and every per-query output is put back in the caller's order.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any

import numpy as np

from svta.errors import InputError
from svta.eval.metrics import RetrievalResult
from svta.eval.rerank import rerank_items

# -- feature containers ------------------------------------------------------------------------


def embedding_pair(text_emb: Any, video_emb: Any, normalize: bool, keep_unit: bool = False) -> tuple[Any, Any]:
    """Both sides as float32 ``[n, D]`` tensors, L2-normalised when ``normalize``; with ``keep_unit`` a side whose
    rows are all unit length already is kept as given (see :func:`is_unit_length`)."""
    import torch

    out = []
    for name, emb in (("text", text_emb), ("video", video_emb)):
        if not torch.is_tensor(emb):
            emb = np.array(emb)  # a copy: inputs may be read-only memory maps
            if emb.dtype.kind not in "fiu":
                raise InputError(f"{name} embeddings must be real numbers, got dtype {emb.dtype}")
        t = emb if torch.is_tensor(emb) else torch.from_numpy(emb)
        if t.ndim != 2 or t.shape[0] == 0:
            raise InputError(f"{name} embeddings must be a non-empty [n, D] matrix, got shape {tuple(t.shape)}")
        if t.is_complex() or t.dtype == torch.bool:
            raise InputError(f"{name} embeddings must be real numbers, got dtype {t.dtype}")
        t = t.detach().float()
        if normalize and not (keep_unit and is_unit_length(t)):
            t = torch.nn.functional.normalize(t, dim=1)
        out.append(t)
    if out[0].shape[1] != out[1].shape[1]:
        raise InputError(f"text and video embeddings differ in width: {out[0].shape[1]} vs {out[1].shape[1]}")
    return out[0], out[1]


def is_unit_length(emb: Any, tolerance: float = 1e-5) -> bool:
    """Every row of ``emb`` ``[n, D]`` has L2 norm 1 up to float32 rounding. Normalising such rows again changes
    their last bits (at N = 20,000 more than half of the products' bits), and with them which scores tie
    exactly, so the compat modes score the embeddings a reference evaluation multiplies as they are."""
    import torch

    norms = torch.linalg.vector_norm(emb, dim=1)
    return bool(((norms - 1).abs() <= tolerance).all())


def feature_count(feats: Any) -> int:
    """Number of items in a feature object (first axis of its first array)."""
    if hasattr(feats, "shape"):
        return int(feats.shape[0])
    for value in feature_values(feats):
        if hasattr(value, "shape"):
            return int(value.shape[0])
    raise InputError(f"cannot tell how many items a feature object of type {type(feats).__name__} holds")


def feature_values(feats: Any) -> list[Any]:
    if isinstance(feats, dict):
        return list(feats.values())
    if isinstance(feats, (tuple, list)):
        return list(feats)
    if is_dataclass(feats):
        return [getattr(feats, f.name) for f in fields(feats)]
    return []


def take(feats: Any, index: Any) -> Any:
    """Items ``index`` (slice or index array) of a tensor/array or a container/dataclass of them."""
    import torch

    if torch.is_tensor(feats):
        return feats[torch.as_tensor(index, device=feats.device) if isinstance(index, np.ndarray) else index]
    if isinstance(feats, np.ndarray):
        return feats[index]
    if isinstance(feats, dict):
        return {k: take(v, index) for k, v in feats.items()}
    if isinstance(feats, tuple) and hasattr(feats, "_fields"):
        return type(feats)(*(take(v, index) for v in feats))
    if isinstance(feats, (tuple, list)):
        return type(feats)(take(v, index) for v in feats)
    if is_dataclass(feats) and not isinstance(feats, type):
        return replace(feats, **{f.name: take(getattr(feats, f.name), index) for f in fields(feats) if f.init})
    return feats


# -- the caller's text order ---------------------------------------------------------------------


def remap_rerank(rerank: Any, order: np.ndarray | None) -> Any:
    """Re-rankers see texts in ``order``; map their text indices back to the caller's."""
    if order is None:
        return rerank
    return [r.with_text_order(order) if hasattr(r, "with_text_order") else r for r in rerank_items(rerank)]


def in_caller_order(result: RetrievalResult, order: np.ndarray) -> RetrievalResult:
    """Express T2V per-query arrays in the caller's text order (texts were grouped by ``order``)."""
    rank = result.t2v_ranks
    sort = np.argsort(order[rank.queries], kind="stable")
    where = np.empty_like(sort)
    where[sort] = np.arange(len(sort))
    rank.queries = order[rank.queries][sort]
    rank.gt_score, rank.n_greater, rank.n_equal = rank.gt_score[sort], rank.n_greater[sort], rank.n_equal[sort]
    rank.topk = None if rank.topk is None else rank.topk[sort]
    rank.topk_scores = None if rank.topk_scores is None else rank.topk_scores[sort]
    rank.entry_query = where[rank.entry_query]
    rank.nan_queries, rank.dropped = np.sort(order[rank.nan_queries]), np.sort(order[rank.dropped])
    result.text_to_video = result.text_to_video[np.argsort(order)]
    return result
