"""Is an (evaluation, training) caption pair the same recorded event? The signals behind ``near`` overlap.

A sentence-embedding cosine alone links short generic captions ("a car hits another car") to dozens of
unrelated videos: such a caption is a *hub*, close to everything of its topic. The decision therefore
combines, per candidate pair, signals that the whole train x eval computation provides:

- ``cosine``: the text embedding cosine;
- ``csls``: the hubness-corrected cosine ``2 cos - r_eval - r_train`` (CSLS, Conneau et al. 2018), where
  ``r`` is an item's mean cosine to its ``k`` nearest items on the other side: a hub's ``r`` is high;
- ``mutual``: 1 when each item is among the other's ``k`` nearest (mutual nearest neighbours);
- ``lexical``: IDF-weighted overlap of content words (rare words, names of things, weigh most);
- ``specificity``: the IDF mass of the less specific caption (a short generic caption has little);
- ``length_ratio``: content words of the shorter caption over the longer one;
- ``conflicts``: detail slots the two disagree on (colours, counts, sides, people, vehicles, weapons:
  :mod:`svta.transfer.detail_agreement`);
- ``events``: agreement on what happens (impact, violence, theft, weapon, fire, fall, break-in, arrest,
  flight), so a crash is not matched to an uneventful drive through the same crossing.

A logistic model over them (``svta/resources/near_model.json``, fitted on the dev half of ``tests/data/overlap_pairs_real.tsv``
by ``benchmarks/overlap_pairs.py --fit``) gives a probability; a pair is ``near`` at or above its threshold, unless the captions conflict on a detail
(the detail-agreement veto, on by default).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from svta.errors import InputError

MODEL_FILE = Path(__file__).parents[1] / "resources" / "near_model.json"  # shipped as package data
FEATURES = ("cosine", "csls", "mutual", "lexical", "specificity", "length_ratio", "conflicts", "events")
_WORD = re.compile(r"[a-z]+")
_STOP = frozenset(
    """a an the and or but of to in on at by for with from into onto over under after before then than
    is are was were be been being it its this that these those there here he she they them his her their him
    one some any all another other others each both few several many more most very too also just only not no
    as while when where who which what out up down off away back again still about around near next behind
    front side toward towards through across along between inside outside does do did has have had get gets
    got goes go going come comes came walk walks walking stand stands standing look looks looking see seen
    can could would will may might way while s t""".split()
)


@dataclass(frozen=True)
class NearModel:
    """A logistic model over :data:`FEATURES`: ``p = sigmoid(bias + sum w_i (x_i - mean_i) / scale_i)``.

    Attributes:
        weights / means / scales: per feature name.
        bias: the intercept.
        threshold: the probability at and above which a pair is ``near``.
        k: neighbours for ``csls`` and ``mutual``.
        candidate_cosine: pairs below this cosine are never scored (they are not near).
        provenance: what the model was fitted on, and when.
    """

    weights: dict[str, float]
    means: dict[str, float]
    scales: dict[str, float]
    bias: float
    threshold: float
    k: int = 10
    candidate_cosine: float = 0.45
    provenance: dict[str, Any] = field(default_factory=dict)

    def probability(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """``[n]`` probability that each pair is the same event."""
        z = np.full(len(next(iter(features.values()))), self.bias, dtype=np.float64)
        for name in FEATURES:
            z += self.weights[name] * (np.asarray(features[name], np.float64) - self.means[name]) / self.scales[name]
        return 1.0 / (1.0 + np.exp(-z))

    def score(self, features: dict[str, np.ndarray], agreement: bool = True) -> np.ndarray:
        """``[n]`` the probability, set to 0 where the captions conflict on a detail (with ``agreement``): on the
        dev pairs no same-event pair conflicts, while different events in the same wording often do."""
        prob = self.probability(features)
        return np.where(np.asarray(features["conflicts"]) > 0, 0.0, prob) if agreement else prob

    def contributions(self, features: dict[str, float]) -> dict[str, float]:
        """Each signal's share of the logit for one pair (what made it near)."""
        return {n: self.weights[n] * (features[n] - self.means[n]) / self.scales[n] for n in FEATURES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "weights": self.weights,
            "means": self.means,
            "scales": self.scales,
            "bias": self.bias,
            "threshold": self.threshold,
            "k": self.k,
            "candidate_cosine": self.candidate_cosine,
            "provenance": self.provenance,
        }


def load_near_model(path: Path | str | None = None) -> NearModel:
    """The near-duplicate model (default: the one shipped beside this module)."""
    path = Path(path) if path is not None else MODEL_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES):
            raise KeyError(f"features {data['features']} (expected {list(FEATURES)})")
        return NearModel(
            weights={k: float(v) for k, v in data["weights"].items()},
            means={k: float(v) for k, v in data["means"].items()},
            scales={k: float(v) for k, v in data["scales"].items()},
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            k=int(data["k"]),
            candidate_cosine=float(data["candidate_cosine"]),
            provenance=dict(data.get("provenance", {})),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a usable near-duplicate model ({exc})") from None


@lru_cache(maxsize=200_000)
def content_words(text: str) -> tuple[str, ...]:
    """Lower-case content words with a light plural/tense folding (``cars`` -> ``car``, ``hits`` -> ``hit``)."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in _STOP or len(word) < 2:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        out.append(word)
    return tuple(out)


def idf_table(texts: Sequence[str]) -> dict[str, float]:
    """Smoothed inverse document frequency of each content word over ``texts``."""
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(content_words(text)))
    n = len(texts)
    return {word: math.log((1 + n) / (1 + count)) + 1.0 for word, count in df.items()}


class _Words:
    """Each text's content words and their IDF mass, computed once per text."""

    def __init__(self, idf: dict[str, float]):
        self.idf, self.default = idf, max(idf.values(), default=1.0)
        self.cache: dict[str, tuple[frozenset[str], float]] = {}

    def __call__(self, text: str) -> tuple[frozenset[str], float]:
        found = self.cache.get(text)
        if found is None:
            words = frozenset(content_words(text))
            found = self.cache[text] = (words, self.mass(words))
        return found

    def mass(self, words: frozenset[str]) -> float:
        return sum(self.idf.get(w, self.default) for w in words)


def lexical_signals(a: str, b: str, idf: dict[str, float] | _Words) -> tuple[float, float, float]:
    """``(lexical, specificity, length_ratio)`` of a pair (see the module docstring)."""
    words = idf if isinstance(idf, _Words) else _Words(idf)
    (wa, mass_a), (wb, mass_b) = words(a), words(b)
    shared = words.mass(wa & wb)
    lexical = 2 * shared / (mass_a + mass_b) if mass_a + mass_b > 0 else 0.0
    ratio = min(len(wa), len(wb)) / max(1, max(len(wa), len(wb)))
    return lexical, math.log1p(min(mass_a, mass_b)), ratio


def neighbour_stats(e_vec: Any, t_vec: Any, k: int, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """Blockwise k-nearest statistics of both sides.

    Args:
        e_vec: ``[n_eval, D]`` unit rows (torch). t_vec: ``[n_train, D]`` unit rows (torch).
        k: neighbours (capped by the other side's size).

    Returns:
        ``(r_eval [n_eval], r_train [n_train], kth_eval [n_eval], kth_train [n_train])``: the mean cosine to the
        k nearest items on the other side, and the k-th largest cosine (the bar for being among the k nearest).
    """
    import torch

    ke, kt = max(1, min(k, len(t_vec))), max(1, min(k, len(e_vec)))
    top_e = torch.full((len(e_vec), ke), -2.0)
    top_t = torch.full((len(t_vec), kt), -2.0)
    with torch.inference_mode():
        for e0 in range(0, len(e_vec), chunk):
            for t0 in range(0, len(t_vec), chunk):
                s = e_vec[e0 : e0 + chunk] @ t_vec[t0 : t0 + chunk].T
                rows = torch.cat([top_e[e0 : e0 + chunk], s], dim=1)
                top_e[e0 : e0 + chunk] = rows.topk(ke, dim=1).values
                cols = torch.cat([top_t[t0 : t0 + chunk], s.T], dim=1)
                top_t[t0 : t0 + chunk] = cols.topk(kt, dim=1).values
    return top_e.mean(1).numpy(), top_t.mean(1).numpy(), top_e[:, -1].numpy(), top_t[:, -1].numpy()


def pair_features(
    cosine: np.ndarray,
    e_idx: np.ndarray,
    t_idx: np.ndarray,
    stats: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    e_texts: Sequence[str],
    t_texts: Sequence[str],
    idf: dict[str, float],
) -> dict[str, np.ndarray]:
    """The :data:`FEATURES` of candidate pairs ``(e_idx[i], t_idx[i])`` with cosines ``cosine[i]``."""
    from svta.transfer.detail_agreement import conflicts, event_agreement

    r_e, r_t, kth_e, kth_t = stats
    words = _Words(idf)
    lexical = np.array([lexical_signals(e_texts[e], t_texts[t], words) for e, t in zip(e_idx, t_idx)]).reshape(-1, 3)
    return {
        "cosine": cosine.astype(np.float64),
        "csls": 2 * cosine - r_e[e_idx] - r_t[t_idx],
        "mutual": ((cosine >= kth_e[e_idx] - 1e-6) & (cosine >= kth_t[t_idx] - 1e-6)).astype(np.float64),
        "lexical": lexical[:, 0],
        "specificity": lexical[:, 1],
        "length_ratio": lexical[:, 2],
        "conflicts": np.array([len(conflicts(e_texts[e], t_texts[t])) for e, t in zip(e_idx, t_idx)], np.float64),
        "events": np.array([event_agreement(e_texts[e], t_texts[t]) for e, t in zip(e_idx, t_idx)], np.float64),
    }


def scored_pairs(
    e_texts: Sequence[str],
    t_texts: Sequence[str],
    e_idx: np.ndarray,
    t_idx: np.ndarray,
    *,
    k: int = 10,
    embedder: str = "minilm",
    embed_model: str | None = None,
) -> dict[str, np.ndarray]:
    """Embed both sides and return the :data:`FEATURES` of the given pairs (a small overlap check's signals)."""
    import torch

    from svta.embed import get_text_embedder

    model = get_text_embedder(embedder, embed_model)
    e_vec, t_vec = torch.from_numpy(model.encode(list(e_texts))), torch.from_numpy(model.encode(list(t_texts)))
    cosine = (e_vec[torch.from_numpy(e_idx)] * t_vec[torch.from_numpy(t_idx)]).sum(1).numpy()
    stats = neighbour_stats(e_vec, t_vec, k)
    return pair_features(cosine, e_idx, t_idx, stats, e_texts, t_texts, idf_table([*e_texts, *t_texts]))
