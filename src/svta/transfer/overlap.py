"""How much of an evaluation set a training set already contains. Five kinds of evidence link an evaluation
item to training items:

- ``exact``: the same caption after normalisation (case, punctuation, whitespace);
- ``near``: the same event in other words. By default a hub-aware model decides
  (:mod:`svta.transfer.nearscore`): text-embedding cosine (MiniLM), hubness-corrected cosine (CSLS) and mutual
  nearest neighbours within this train x eval computation, IDF word overlap, specificity and length priors,
  event agreement, and a veto on conflicting details (:mod:`svta.transfer.detail_agreement`). Every near pair carries
  its signals. ``near_method="cosine"`` is the older rule: cosine >= threshold and agreeing details;
- ``source``: both come from the same UCF-Crime recording (e.g. a UCA sentence of a UCFCrime-AR test video);
- ``video_hash``: byte-identical video files (sha256);
- ``video``: near-duplicate videos by frame embeddings (optional: decodes every video on both sides).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field

from svta._configbase import StrictModel
from svta.errors import InputError
from svta.progress import info
from svta.transfer.sets import ItemSet, SetItem

KINDS = ("exact", "near", "source", "video_hash", "video")
# The cosine method's default: with detail agreement, precision 0.91, recall 0.85 on tests/data/caption_pairs.tsv
COSINE_THRESHOLD = 0.8


class OverlapOptions(StrictModel):
    """Settings of an overlap check."""

    # "model": the hub-aware model of svta.transfer.nearscore (test pairs of tests/data/overlap_pairs_real.tsv:
    # precision 0.900, recall 0.900; benchmarks/overlap_pairs.py); "cosine": cosine >= text_threshold + agreement
    near_method: Literal["model", "cosine"] = "model"
    # cosine method: the threshold (default 0.8); model method: the floor below which a pair is not scored
    # (default: the model's candidate_cosine)
    text_threshold: float | None = Field(None, ge=-1, le=1)
    near_agreement: bool = True  # a near pair must also agree on colours, counts, sides, people, vehicles
    near_model: str | None = None  # a near-duplicate model JSON (default: the shipped svta/resources/near_model.json)
    near_threshold: float | None = Field(None, ge=0, le=1)  # model probability (default: the model's threshold)
    candidates_per_item: int = Field(50, ge=1)  # model method: the most similar training captions scored per item
    embedder: str = "minilm"  # text_embedder registry name
    embed_model: str | None = None  # for embedder "sentence-transformers": a model name or local path
    videos: bool = False  # compare frame embeddings where both sides have videos
    video_threshold: float = Field(0.9, ge=-1, le=1)
    video_sample_fps: float = Field(1.0, gt=0)
    video_max_frames: int = Field(16, ge=1)
    video_side: int = Field(32, ge=4)  # thumbnail side: the frame embedding has side*side dimensions
    workers: int = Field(2, ge=1)  # threads decoding videos
    max_pairs: int = Field(10_000, ge=0)  # pairs listed in the report per kind (counts cover them all)
    bins: int = Field(40, ge=2)  # histogram of best text similarities


@dataclass
class OverlapReport:
    """The outcome of :func:`check_overlap` (also what ``overlap.json`` holds).

    Attributes:
        eval / train: summaries of both sets (name, kind, item count, fingerprint).
        options: the settings used.
        counts: evaluation items flagged per kind, ``any`` of them, and ``clean`` (flagged by none).
        n_pairs: matching (eval, train) pairs per kind, before ``max_pairs`` trims the listing.
        flagged: ``{eval id: [kinds]}``.
        train_flagged: ``{train id: [kinds]}`` (what ``svta build --exclude-from`` drops).
        pairs: the listed pairs, best first within each kind.
        best_text_similarity: ``{eval id: highest text cosine to any training caption}``.
        histogram: ``{"edges": [...], "counts": [...]}`` of those best similarities.
        video: what the video check did (``checked``, decode failures per side).
    """

    eval: dict[str, Any]
    train: dict[str, Any]
    options: dict[str, Any]
    counts: dict[str, int]
    n_pairs: dict[str, int]
    flagged: dict[str, list[str]]
    train_flagged: dict[str, list[str]]
    pairs: list[dict[str, Any]]
    best_text_similarity: dict[str, float]
    histogram: dict[str, list[float]]
    video: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    near_rejected: int = 0  # candidate pairs that were not near (details disagree, or the model said no)
    near: dict[str, Any] = field(default_factory=dict)  # how near pairs were decided (method, model, threshold)
    review: dict[str, Any] = field(default_factory=dict)  # a person's verdicts applied (svta.transfer.overlap_review)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "overlap report") -> OverlapReport:
        optional = ("video", "seconds", "near_rejected", "near", "review")
        names = [f for f in cls.__dataclass_fields__ if f not in optional]
        if not isinstance(data, dict) or any(name not in data for name in names):
            missing = [n for n in names if not isinstance(data, dict) or n not in data]
            raise InputError(f"{where}: not an svta overlap report (missing {', '.join(missing)})")
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def excluded(self, kinds: tuple[str, ...] | list[str] | None = None) -> set[str]:
        """Evaluation ids flagged by any of ``kinds`` (default: every kind)."""
        wanted = set(KINDS if kinds is None else kinds)
        unknown = wanted - set(KINDS)
        if unknown:
            raise InputError(f"unknown overlap kind(s) {sorted(unknown)}; kinds: {', '.join(KINDS)}")
        return {item for item, found in self.flagged.items() if wanted & set(found)}


class _Matches:
    """Pairs found so far, per kind, as index arrays (cheap even for millions of pairs)."""

    def __init__(self, n_eval: int, n_train: int):
        self.parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = defaultdict(list)
        self.n_eval, self.n_train = n_eval, n_train
        self.signals: dict[tuple[int, int], dict[str, float]] = {}  # near pairs: why each was flagged

    def add(self, kind: str, e: Any, t: Any, score: Any) -> None:
        e, t = np.asarray(e, dtype=np.int64), np.asarray(t, dtype=np.int64)
        if len(e):
            self.parts[kind].append((e, t, np.broadcast_to(np.asarray(score, dtype=np.float32), e.shape)))

    def arrays(self, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        parts = self.parts.get(kind) or [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))]
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]


def check_overlap(train: ItemSet, evaluation: ItemSet, options: OverlapOptions | None = None) -> OverlapReport:
    """Find the evaluation items that the training set already contains (see the module docstring).

    Args:
        train: the training side (e.g. :func:`~svta.transfer.sets.load_training_set`).
        evaluation: the evaluation set.
        options: thresholds, embedder, whether to compare videos.

    Returns:
        The report: counts, flagged ids on both sides, the pairs and the similarity histogram.
    """
    start = time.perf_counter()
    options = options or OverlapOptions()
    if not evaluation.items:
        raise InputError(f"{evaluation.name}: the evaluation set is empty")
    matches = _Matches(len(evaluation), len(train))
    _exact_matches(train, evaluation, matches)
    best, rejected, near = _near_matches(train, evaluation, options, matches)
    _key_matches("source", train, evaluation, lambda item: item.source_key or None, matches)
    _key_matches("video_hash", train, evaluation, lambda item: item.sha256 or None, matches)
    video = _video_matches(train, evaluation, options, matches) if options.videos else {"checked": False}
    report = _assemble(train, evaluation, options, matches, best, video)
    report.seconds, report.near_rejected, report.near = time.perf_counter() - start, rejected, near
    info(
        f"{report.counts['any']} of {len(evaluation)} evaluation items overlap {train.name} "
        f"({', '.join(f'{k} {report.counts[k]}' for k in KINDS)})"
    )
    return report


def _exact_matches(train: ItemSet, evaluation: ItemSet, matches: _Matches) -> None:
    from svta.captions.text import dedupe_key

    _key_matches("exact", train, evaluation, lambda item: dedupe_key(item.caption), matches)


def _near_matches(
    train: ItemSet,
    evaluation: ItemSet,
    options: OverlapOptions,
    matches: _Matches,
    block: int = 1024,
    chunk: int = 8192,
) -> tuple[np.ndarray, int, dict[str, Any]]:
    """Embed both sides and record the non-exact pairs that are the same event (``options.near_method``).

    Returns:
        ``([n_eval] best cosine of each eval item, candidate pairs not near, how near was decided)``.
    """
    import torch

    from svta.captions.text import dedupe_key
    from svta.embed import get_text_embedder

    best = np.full(len(evaluation), np.nan, dtype=np.float32)
    if not train.items:
        return best, 0, {"method": options.near_method}
    embedder = get_text_embedder(options.embedder, options.embed_model)
    # Identical captions embed identically: embed each distinct text once.
    texts = sorted({i.caption for i in train.items} | {i.caption for i in evaluation.items})
    vectors = torch.from_numpy(embedder.encode(texts))
    row = {text: i for i, text in enumerate(texts)}
    keys = {text: i for i, text in enumerate(sorted({dedupe_key(t) for t in texts}))}
    key_of = np.array([keys[dedupe_key(t)] for t in texts])
    t_rows = np.array([row[i.caption] for i in train.items])
    e_rows = np.array([row[i.caption] for i in evaluation.items])
    t_vec, t_key = vectors[torch.from_numpy(t_rows)], key_of[t_rows]
    e_all = vectors[torch.from_numpy(e_rows)]
    model = None
    if options.near_method == "model":
        from svta.transfer.nearscore import load_near_model

        model = load_near_model(options.near_model)
    floor = options.text_threshold
    floor = (model.candidate_cosine if model is not None else COSINE_THRESHOLD) if floor is None else floor
    per_item = options.candidates_per_item if model is not None else None
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    with torch.inference_mode():
        for e0 in range(0, len(e_rows), block):
            e_vec, e_key = e_all[e0 : e0 + block], key_of[e_rows[e0 : e0 + block]]
            top = torch.full((len(e_vec),), -2.0)
            for t0 in range(0, len(t_rows), chunk):
                scores = e_vec @ t_vec[t0 : t0 + chunk].T
                top = torch.maximum(top, scores.max(dim=1).values)
                e_pos, t_pos = torch.nonzero(scores >= floor, as_tuple=True)
                values, e_hit, t_hit = scores[e_pos, t_pos].numpy(), e_pos.numpy(), t_pos.numpy()
                near = e_key[e_hit] != t_key[t0 + t_hit]  # same key: already an exact match
                found.append((e0 + e_hit[near], t0 + t_hit[near], values[near]))
            best[e0 : e0 + len(e_vec)] = top.clamp(max=1.0).numpy()
    e_idx, t_idx, cosine = (np.concatenate([f[i] for f in found]) for i in range(3)) if found else (np.zeros(0),) * 3
    e_idx, t_idx = e_idx.astype(np.int64), t_idx.astype(np.int64)
    if per_item is not None:
        e_idx, t_idx, cosine = _top_per_item(e_idx, t_idx, cosine, per_item)
    e_texts = [i.caption for i in evaluation.items]
    t_texts = [i.caption for i in train.items]
    if model is None:
        return best, *_cosine_rule(e_idx, t_idx, cosine, e_texts, t_texts, options, matches, floor)
    return best, *_model_rule(e_idx, t_idx, cosine, (e_all, t_vec, texts), e_texts, t_texts, options, matches, model)


def _top_per_item(
    e_idx: np.ndarray, t_idx: np.ndarray, cosine: np.ndarray, per_item: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep each evaluation item's ``per_item`` most similar candidates."""
    order = np.lexsort((t_idx, -cosine, e_idx))
    e_idx, t_idx, cosine = e_idx[order], t_idx[order], cosine[order]
    first = np.searchsorted(e_idx, e_idx, side="left")
    keep = np.arange(len(e_idx)) - first < per_item
    return e_idx[keep], t_idx[keep], cosine[keep]


def _cosine_rule(
    e_idx: np.ndarray,
    t_idx: np.ndarray,
    cosine: np.ndarray,
    e_texts: list[str],
    t_texts: list[str],
    options: OverlapOptions,
    matches: _Matches,
    floor: float,
) -> tuple[int, dict[str, Any]]:
    """The older rule: cosine >= threshold and (with ``near_agreement``) no conflicting detail."""
    from svta.transfer.detail_agreement import agree

    keep = np.ones(len(e_idx), dtype=bool)
    if options.near_agreement:
        keep = np.array([agree(e_texts[e], t_texts[t]) for e, t in zip(e_idx, t_idx)], dtype=bool)
    matches.add("near", e_idx[keep], t_idx[keep], cosine[keep])
    for e, t, c in zip(e_idx[keep], t_idx[keep], cosine[keep]):
        matches.signals[(int(e), int(t))] = {"cosine": round(float(c), 4), "conflicts": 0.0}
    return int((~keep).sum()), {"method": "cosine", "threshold": floor, "agreement": options.near_agreement}


def _model_rule(
    e_idx: np.ndarray,
    t_idx: np.ndarray,
    cosine: np.ndarray,
    embedded: tuple[Any, Any, list[str]],
    e_texts: list[str],
    t_texts: list[str],
    options: OverlapOptions,
    matches: _Matches,
    model: Any,
) -> tuple[int, dict[str, Any]]:
    """The hub-aware model of :mod:`svta.transfer.nearscore` over the candidate pairs."""
    from svta.transfer.nearscore import FEATURES, idf_table, neighbour_stats, pair_features

    e_vec, t_vec, texts = embedded
    threshold = model.threshold if options.near_threshold is None else options.near_threshold
    decided = {
        "method": "model",
        "model": options.near_model or "svta/resources/near_model.json",
        "threshold": threshold,
        "k": model.k,
        "candidate_cosine": options.text_threshold if options.text_threshold is not None else model.candidate_cosine,
        "candidates": int(len(e_idx)),
        "agreement_veto": options.near_agreement,
        "provenance": model.provenance,
    }
    if not len(e_idx):
        return 0, decided
    stats = neighbour_stats(e_vec, t_vec, model.k)
    features = pair_features(cosine, e_idx, t_idx, stats, e_texts, t_texts, idf_table(texts))
    prob = model.probability(features)
    score = model.score(features, options.near_agreement)
    keep = score >= threshold
    matches.add("near", e_idx[keep], t_idx[keep], cosine[keep])
    for i in np.flatnonzero(keep):
        signals = {name: round(float(features[name][i]), 4) for name in FEATURES}
        signals.update(
            probability=round(float(prob[i]), 4),
            hub_eval=round(float(stats[0][e_idx[i]]), 4),
            hub_train=round(float(stats[1][t_idx[i]]), 4),
        )
        matches.signals[(int(e_idx[i]), int(t_idx[i]))] = signals
    return int((~keep).sum()), decided


def _key_matches(
    kind: str, train: ItemSet, evaluation: ItemSet, key: Callable[[SetItem], str | None], matches: _Matches
) -> None:
    """Pairs whose items share ``key`` (items whose key is ``None`` match nothing)."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for t, item in enumerate(train.items):
        if (k := key(item)) is not None:
            by_key[k].append(t)
    for e, item in enumerate(evaluation.items):
        k = key(item)
        hits = by_key.get(k, []) if k is not None else []
        matches.add(kind, [e] * len(hits), hits, 1.0)


def _video_matches(train: ItemSet, evaluation: ItemSet, options: OverlapOptions, matches: _Matches) -> dict[str, Any]:
    """Near-duplicate videos by frame embeddings, each distinct file decoded once."""
    from svta.transfer.framesig import signatures, video_matches

    t_videos = sorted({i.video for i in train.items if i.video is not None})
    e_videos = sorted({i.video for i in evaluation.items if i.video is not None})
    if not t_videos or not e_videos:
        return {"checked": False, "note": "no videos on " + ("the training side" if not t_videos else "the eval side")}
    settings: dict[str, Any] = {
        "sample_fps": options.video_sample_fps,
        "max_frames": options.video_max_frames,
        "side": options.video_side,
        "workers": options.workers,
    }
    e_sig = signatures(e_videos, description="eval frame signatures", **settings)
    t_sig = signatures(t_videos, description="train frame signatures", **settings)
    _, _, pairs = video_matches(e_sig, t_sig, options.video_threshold)
    e_items, t_items = _items_by_video(evaluation, e_videos), _items_by_video(train, t_videos)
    for q, g, score in pairs:
        e_idx, t_idx = np.meshgrid(e_items[q], t_items[g], indexing="ij")
        matches.add("video", e_idx.ravel(), t_idx.ravel(), score)
    return {
        "checked": True,
        "eval_videos": len(e_videos),
        "train_videos": len(t_videos),
        "eval_errors": {str(e_videos[i]): why for i, why in e_sig.errors.items()},
        "train_errors": len(t_sig.errors),
    }


def _items_by_video(items: ItemSet, videos: list[Any]) -> list[list[int]]:
    index = {video: i for i, video in enumerate(videos)}
    out: list[list[int]] = [[] for _ in videos]
    for i, item in enumerate(items.items):
        if item.video is not None:
            out[index[item.video]].append(i)
    return out


def _assemble(
    train: ItemSet,
    evaluation: ItemSet,
    options: OverlapOptions,
    matches: _Matches,
    best: np.ndarray,
    video: dict[str, Any],
) -> OverlapReport:
    flagged: dict[str, list[str]] = defaultdict(list)
    train_flagged: dict[str, list[str]] = defaultdict(list)
    counts, n_pairs, pairs = {}, {}, []
    for kind in KINDS:
        e, t, score = matches.arrays(kind)
        n_pairs[kind] = len(e)
        for i in np.unique(e):
            flagged[evaluation.items[i].id].append(kind)
        for i in np.unique(t):
            train_flagged[train.items[i].id].append(kind)
        counts[kind] = len(np.unique(e))
        order = np.lexsort((t, e, -score))[: options.max_pairs]
        pairs += [
            _pair(kind, evaluation.items[e[k]], train.items[t[k]], float(score[k]), matches.signals.get((e[k], t[k])))
            for k in order
        ]
    counts["any"] = len(flagged)
    counts["clean"] = len(evaluation) - len(flagged)
    finite = best[np.isfinite(best)]
    low = float(min(0.0, np.floor(finite.min() * 10) / 10)) if len(finite) else 0.0
    hist, edges = np.histogram(finite, bins=options.bins, range=(low, 1.0))
    return OverlapReport(
        eval=evaluation.summary(),
        train=train.summary(),
        options=options.model_dump(),
        counts=counts,
        n_pairs=n_pairs,
        flagged=dict(flagged),
        train_flagged=dict(train_flagged),
        pairs=pairs,
        best_text_similarity={item.id: round(float(b), 6) for item, b in zip(evaluation.items, best) if np.isfinite(b)},
        histogram={"edges": [round(float(x), 6) for x in edges], "counts": [int(c) for c in hist]},
        video=video,
    )


def _pair(kind: str, e: Any, t: Any, score: float, signals: dict[str, float] | None = None) -> dict[str, Any]:
    return {
        "pair_id": pair_id(kind, e.id, t.id),
        "kind": kind,
        "score": round(score, 6),
        "eval_id": e.id,
        "eval_ref": e.ref,
        "eval_caption": e.caption,
        "train_id": t.id,
        "train_ref": t.ref,
        "train_caption": t.caption,
        "why": _why(kind, e, score, signals),
        **({"signals": signals} if signals else {}),
    }


def pair_id(kind: str, eval_id: str, train_id: str) -> str:
    """A pair's stable name in review files: ``kind:eval id|train id``."""
    return f"{kind}:{eval_id}|{train_id}"


def _why(kind: str, e: Any, score: float, signals: dict[str, float] | None) -> str:
    """One line saying why a pair was flagged: the evidence and its values."""
    if kind == "exact":
        return "the same caption after normalising case, punctuation and spaces"
    if kind == "source":
        return f"the same source recording ({e.source_key})"
    if kind == "video_hash":
        return f"byte-identical video files (sha256 {str(e.sha256)[:12]}...)"
    if kind == "video":
        return f"near-duplicate frames (video score {score:.3f})"
    return ", ".join(f"{name} {value:g}" for name, value in (signals or {"cosine": round(score, 4)}).items())
