"""Stratified, seeded train/val/test split: each category is split on its own in the configured
ratio (SVTA: 7:1:2) with unbiased rounding, so the whole dataset keeps the ratio even when categories
are small, and adding a category never reshuffles another one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

SPLITS = ("train", "val", "test")


def split_counts(n: int, ratios: Sequence[float], u: float | None = None) -> tuple[int, int, int]:
    """How many of ``n`` items of one category go to train, val and test.

    Each split first gets ``floor(n * ratio)``. The leftover items (fewer than three) are placed by
    *systematic sampling* with a uniform draw ``u`` in [0, 1): split ``s`` receives one with
    probability exactly equal to its fractional part, so the expected count of every split is
    exactly ``n * ratio``. Summed over many categories the dataset keeps its 7:1:2 ratio even when
    every category is small (a per-category largest-remainder rounding would give 75/0/25 with four
    items each, and no val set at all). Without ``u`` the leftover goes by largest remainder.

    One rare-category rule on top: a category of 2 or more items keeps at least one training item.
    From 5 items on (at 7:1:2) every category has a test item; with 3-4 items it has one with
    probability 0.6-0.8, so per-category test metrics of tiny categories are sometimes missing.
    Counts always sum to ``n``.
    """
    if n <= 0:
        return 0, 0, 0
    weights = np.asarray(ratios, dtype=np.float64) / float(np.sum(ratios))
    exact = weights * n
    counts = np.floor(exact + 1e-9).astype(int)
    fractions = np.clip(exact - counts, 0.0, None)
    leftover = n - int(counts.sum())
    if u is None:
        priority = [0, 2, 1]  # tie order: train, test, val
        order = sorted(range(3), key=lambda i: (-fractions[i], priority.index(i)))
        for i in order[:leftover]:
            counts[i] += 1
    else:
        # systematic sampling: points u, u+1, ... over the cumulative fractions (they sum to `leftover`)
        edges = np.cumsum(fractions)
        for k in range(leftover):
            counts[min(int(np.searchsorted(edges, u + k, side="right")), 2)] += 1
    if n >= 2 and counts[0] == 0:
        _move_one(counts, to=0, donors=(1, 2))
    return int(counts[0]), int(counts[1]), int(counts[2])


def _move_one(counts: np.ndarray, to: int, donors: Iterable[int]) -> None:
    for donor in donors:
        if counts[donor] > (1 if donor == 0 else 0):
            counts[donor] -= 1
            counts[to] += 1
            return


def _category_seed(seed: int, category: str) -> int:
    # Per-category streams: adding a category never reshuffles another one's split.
    return int.from_bytes(hashlib.sha256(f"{seed}\x1f{category}".encode()).digest()[:8], "little")


def stratified_split(
    ids_by_category: Mapping[str, Sequence[str]], ratios: Sequence[float] = (0.7, 0.1, 0.2), seed: int = 0
) -> dict[str, str]:
    """Assign every id a split, category by category.

    Args:
        ids_by_category: category → the ids in it (each id in exactly one category).
        ratios: train/val/test shares (normalised).
        seed: the same seed and ids always give the same split, whatever the input order.

    Returns:
        id → ``"train"`` | ``"val"`` | ``"test"``.
    """
    assignment: dict[str, str] = {}
    for category in sorted(ids_by_category):
        ids = sorted(ids_by_category[category])
        rng = np.random.default_rng(_category_seed(seed, category))
        shuffled = [ids[i] for i in rng.permutation(len(ids))]
        n_train, n_val, _ = split_counts(len(ids), ratios, u=float(rng.random()))
        for position, item in enumerate(shuffled):
            if item in assignment:
                raise ValueError(f"id {item!r} is listed in two categories")
            split = "train" if position < n_train else "val" if position < n_train + n_val else "test"
            assignment[item] = split
    return assignment
