"""``svta eval metrics --compat clip4clip`` at N = 20,000 equals CLIP4Clip's ``compute_metrics`` on ONE
``t @ v.T`` product (and its transpose for V2T): every printed number, both directions.

Seeded random embeddings (D = 512, ``v = t + 0.25 * noise``, both L2-normalised) whose product holds exact
ties at the ground truth in both directions. The reference below is written from the published formula, not
from svta: the sorted-row positions of the ground-truth value are ``#greater .. #greater + #equal - 1`` of its
row, counted in row chunks of the one full product (no N x N sort, bounded extra memory).
"""

from __future__ import annotations

import json

import numpy as np
import torch
from evalkit import clip4clip_compute_metrics

from svta.cli.main import main

N, D = 20_000, 512
KEYS = ("R1", "R5", "R10", "MdR", "MnR")


def _embeddings() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    text = torch.nn.functional.normalize(torch.randn(N, D, generator=gen), dim=1)
    video = torch.nn.functional.normalize(text + 0.25 * torch.randn(N, D, generator=gen), dim=1)
    return text, video


def _counts(full: torch.Tensor, chunk: int = 200) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per query ``(#greater, #equal)`` of its ground truth: rows of ``full`` for T2V, columns for V2T."""
    diag = full.diagonal().clone()
    row_gt, row_eq = [], []
    col_gt = torch.zeros(full.shape[1], dtype=torch.int64)
    col_eq = torch.zeros(full.shape[1], dtype=torch.int64)
    for a in range(0, full.shape[0], chunk):
        part = full[a : a + chunk]
        own = diag[a : a + chunk, None]
        row_gt.append((part > own).sum(1))
        row_eq.append((part == own).sum(1))
        col_gt += (part > diag[None, :]).sum(0)
        col_eq += (part == diag[None, :]).sum(0)
    return {
        "t2v": (torch.cat(row_gt).numpy(), torch.cat(row_eq).numpy()),
        "v2t": (col_gt.numpy(), col_eq.numpy()),
    }


def _reference(greater: np.ndarray, equal: np.ndarray) -> dict[str, float]:
    """compute_metrics from the positions its sort gives: a query tied with k entries appears k times."""
    ind = np.concatenate([np.arange(g, g + e) for g, e in zip(greater, equal)])
    return {
        "R1": float(np.sum(ind == 0)) * 100 / len(ind),
        "R5": float(np.sum(ind < 5)) * 100 / len(ind),
        "R10": float(np.sum(ind < 10)) * 100 / len(ind),
        "MdR": float(np.median(ind) + 1),
        "MnR": float(np.mean(ind) + 1),
        "n": len(ind),
    }


def test_counted_positions_are_the_sorted_positions():
    """The chunked reference equals the literal sort on a corner of the same product."""
    text, video = _embeddings()
    corner = (text[:3000] @ video[:3000].T).contiguous()
    counts = _counts(corner, chunk=700)
    for direction, matrix in (("t2v", corner.numpy()), ("v2t", corner.numpy().T)):
        ours = _reference(*counts[direction])
        assert {k: ours[k] for k in KEYS} == clip4clip_compute_metrics(matrix)


def test_compat_equals_the_reference_at_20k(tmp_path, capsys):
    text, video = _embeddings()
    np.save(tmp_path / "t.npy", text.numpy())
    np.save(tmp_path / "v.npy", video.numpy())
    full = text @ video.T  # the reference's one product; V2T reads its transpose
    counts = _counts(full)
    del full
    # the case must exercise the tie rule: some query is counted more than once
    assert counts["t2v"][1].sum() > N and counts["v2t"][1].sum() > N

    argv = ["eval", "metrics", "--text-emb", str(tmp_path / "t.npy"), "--video-emb", str(tmp_path / "v.npy")]
    assert main([*argv, "--compat", "clip4clip", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    for direction in ("t2v", "v2t"):
        reference = _reference(*counts[direction])
        assert {k: printed[direction][k] for k in reference} == reference, direction
        assert printed[direction]["n_tied"] == int((counts[direction][1] > 1).sum())
