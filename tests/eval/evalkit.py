"""Independent brute-force references for the evaluation tests (dense, loops, no svta code).

``clip4clip_*`` follow the published reference evaluation (CLIP4Clip / X-CLIP): sort every row of
the dense matrix and read where the ground truth lands.
"""

from __future__ import annotations

import numpy as np
import torch

# -- our documented default semantics ---------------------------------------------------------


def _rank(higher: int, tied: int, ties: str) -> float:
    return 1.0 + higher + {"optimistic": 0, "pessimistic": tied, "mean": tied / 2}[ties]


def t2v_counts(S: np.ndarray, t2v: np.ndarray) -> list[tuple[int, int] | None]:
    """Per text: (#higher, #tied others) of its video, or None for a NaN ground truth."""
    out = []
    for i in range(S.shape[0]):
        g = S[i, t2v[i]]
        out.append(None if np.isnan(g) else (sum(1 for x in S[i] if x > g), sum(1 for x in S[i] if x == g) - 1))
    return out


def brute_t2v(S: np.ndarray, t2v: np.ndarray, ties: str = "optimistic") -> np.ndarray:
    """1-based rank of each text's video: 1 + #higher (+ ties rule); NaN ground truth -> n_video."""
    return np.array([float(S.shape[1]) if c is None else _rank(*c, ties) for c in t2v_counts(S, t2v)])


def group_matrix(S: np.ndarray, t2v: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """``[n_video, n_groups]`` max over each video's captions (NaN ignored; NaN when all are NaN),
    groups in order of first appearance."""
    videos = list(dict.fromkeys(int(v) for v in t2v))
    G = np.full((S.shape[1], len(videos)), np.nan)
    for j, vid in enumerate(videos):
        rows = S[t2v == vid]
        for v in range(S.shape[1]):
            vals = [x for x in rows[:, v] if not np.isnan(x)]
            G[v, j] = max(vals) if vals else np.nan
    return G, videos


def v2t_counts(S: np.ndarray, t2v: np.ndarray) -> tuple[list[int], list[tuple[int, int] | None], int]:
    """(video ids, per video (#higher, #tied others) over caption groups or None, n_groups)."""
    G, videos = group_matrix(S, t2v)
    ids, counts = sorted(videos), []
    for vid in ids:
        own = S[t2v == vid, vid]
        if np.isnan(own).all():
            counts.append(None)
            continue
        g = np.nanmax(own)
        counts.append((int((G[vid] > g).sum()), int((G[vid] == g).sum()) - 1))
    return ids, counts, len(videos)


def brute_v2t(S: np.ndarray, t2v: np.ndarray, ties: str = "optimistic") -> tuple[np.ndarray, np.ndarray]:
    """(video ids, 1-based ranks) of V2T over caption groups; NaN ground truth -> n_groups."""
    ids, counts, n_groups = v2t_counts(S, t2v)
    return np.array(ids), np.array([float(n_groups) if c is None else _rank(*c, ties) for c in counts])


def summary(ranks: np.ndarray, ks=(1, 5, 10), counts=None, n_candidates: int = 0) -> dict:
    """Metrics of 1-based ranks; with ``counts`` R@K is the expectation under random tie-breaking."""
    if counts is None:
        out = {f"R{k}": 100.0 * np.mean(ranks <= k) for k in ks}
    else:

        def p_hit(c, k):
            if c is None:
                return float(n_candidates <= k)
            higher, tied = c
            return min(max((k - higher) / (tied + 1), 0.0), 1.0)

        out = {f"R{k}": 100.0 * np.mean([p_hit(c, k) for c in counts]) for k in ks}
    out.update(MdR=float(np.median(ranks)), MnR=float(np.mean(ranks)))
    return out


# -- the reference evaluation -------------------------------------------------------------------


def clip4clip_compute_metrics(x: np.ndarray) -> dict:
    """The reference single-caption metric: positions of the diagonal value in each sorted row."""
    sx = np.sort(-x, axis=1)
    d = np.diag(-x)[:, np.newaxis]
    with np.errstate(invalid="ignore"):
        ind = np.where(sx - d == 0)[1]
    return {
        "R1": float(np.sum(ind == 0)) * 100 / len(ind),
        "R5": float(np.sum(ind < 5)) * 100 / len(ind),
        "R10": float(np.sum(ind < 10)) * 100 / len(ind),
        "MdR": np.median(ind) + 1,
        "MnR": np.mean(ind) + 1,
    }


def clip4clip_multi(S: np.ndarray, t2v: np.ndarray) -> tuple[dict, dict]:
    """The reference multi-caption evaluation (captions sorted by video 0..V-1, each video >= 1)."""
    starts = np.flatnonzero(np.r_[True, t2v[1:] != t2v[:-1]])
    bounds = list(zip(starts, list(starts[1:]) + [len(t2v)]))
    longest = max(e - s for s, e in bounds)
    padded = [np.concatenate([S[s:e], np.full((longest - e + s, S.shape[1]), -np.inf)]) for s, e in bounds]
    sim = torch.tensor(np.stack(padded))  # [video, caption slot, video]
    stacked = sim.permute(1, 0, 2)
    second = torch.argsort(torch.argsort(stacked, dim=-1, descending=True), dim=-1)
    ranks = torch.flatten(torch.diagonal(second, dim1=1, dim2=2))
    data = torch.flatten(torch.diagonal(sim, dim1=0, dim2=2))
    valid = ranks[~torch.logical_or(torch.isinf(data), torch.isnan(data))]
    t2v_metrics = {f"R{k}": float(torch.sum(valid < k) * 100 / len(valid)) for k in (1, 5, 10)}
    t2v_metrics["MdR"] = float(torch.median(valid + 1))
    t2v_metrics["MnR"] = float(np.mean(valid.numpy() + 1))
    cleaned = sim.clone()
    cleaned[torch.isnan(cleaned)] = float("-inf")  # the reference's NaN -> -inf
    v2t_sim = torch.squeeze(torch.max(cleaned, dim=1, keepdim=True)[0]).T
    return t2v_metrics, clip4clip_compute_metrics(v2t_sim.numpy())


# -- re-ranking references ----------------------------------------------------------------------


def dsl_dense(S: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """(T2V matrix, V2T matrix) after dual softmax, dense, float64."""
    S = S.astype(np.float64)
    e = np.exp(temperature * S - (temperature * S).max())
    t2v = S * (e / e.sum(axis=0, keepdims=True))
    v2t = S * (e / e.sum(axis=1, keepdims=True))
    return t2v, v2t


def qbnorm_dense(test: np.ndarray, bank: np.ndarray, beta: float = 20.0, k: int = 1) -> np.ndarray:
    """QB-Norm (dynamic inverted softmax) of query rows ``test`` given bank rows ``bank``."""
    active = set(np.argsort(-bank, axis=1, kind="stable")[:, :k].reshape(-1).tolist())
    norm = np.exp(bank * beta).sum(axis=0)
    out = test.astype(np.float64).copy()
    for i in range(test.shape[0]):
        if int(np.argmax(test[i])) in active:
            out[i] = np.exp(test[i] * beta) / norm
    return out


def rescore_ranks(S: np.ndarray, R: np.ndarray, k: int, tail: str, ties: str) -> np.ndarray:
    """Ranks of diagonal ground truths after re-scoring each row's top-k with ``R`` (dense)."""
    n, m = S.shape
    out = []
    for i in range(n):
        top = np.argsort(-S[i], kind="stable")[:k]
        if tail == "zero":
            final = np.zeros(m)
            final[top] = R[i, top]
        else:
            # re-scored first (by R), then the rest by S: encode as a two-level key
            final = S[i].astype(np.float64) - 1e6
            final[top] = R[i, top] + 1e6
        g = final[i]
        higher = int((final > g).sum())
        tied = int((final == g).sum()) - 1
        out.append(1.0 + higher + {"optimistic": 0, "pessimistic": tied, "mean": tied / 2}[ties])
    return np.array(out)
