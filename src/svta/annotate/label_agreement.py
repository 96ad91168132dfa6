"""Agreement between two labelings of the same items: accuracy and Cohen's kappa.

Used to measure a classifier against the categories captions already carry (`classify --all`) and
automatic labels against human review.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Agreement:
    """How often labeling ``a`` (e.g. automatic) agrees with labeling ``b`` (e.g. human)."""

    n: int
    accuracy: float
    kappa: float
    # the most frequent disagreements as (label in a, label in b, count)
    confusions: list[tuple[str, str, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa ``(p_o - p_e) / (1 - p_e)`` of two labelings of the same items (scikit-learn's
    ``cohen_kappa_score``).

    ``p_e`` is the agreement expected by chance from each labeling's marginal frequencies. When
    chance agreement is already perfect (both labelings use one and the same label) kappa is
    undefined (scikit-learn gives nan); we return 1.0 then, since the labelings agree completely.
    No items: nan.
    """
    from sklearn.metrics import cohen_kappa_score  # a core dependency; imported here, when used

    if len(a) != len(b):
        raise ValueError(f"labelings differ in length: {len(a)} vs {len(b)}")
    if not a:
        return float("nan")
    if len(set(a) | set(b)) == 1:  # one label throughout both: p_e = 1, kappa 0/0
        return 1.0
    return float(cohen_kappa_score(list(a), list(b)))


def agreement(a: Sequence[str], b: Sequence[str], top: int = 10) -> Agreement:
    """Accuracy, Cohen's kappa and the ``top`` most frequent confusions between ``a`` and ``b``."""
    if len(a) != len(b):
        raise ValueError(f"labelings differ in length: {len(a)} vs {len(b)}")
    n = len(a)
    accuracy = sum(x == y for x, y in zip(a, b)) / n if n else float("nan")
    confusions = Counter((x, y) for x, y in zip(a, b) if x != y).most_common(top)
    return Agreement(
        n=n,
        accuracy=accuracy,
        kappa=cohen_kappa(a, b),
        confusions=[(x, y, c) for (x, y), c in confusions],
    )


def macro_f1(predicted: Sequence[str], truth: Sequence[str]) -> float:
    """Mean F1 over the labels that occur in ``truth`` (an abstention counts as a miss)."""
    if len(predicted) != len(truth):
        raise ValueError(f"labelings differ in length: {len(predicted)} vs {len(truth)}")
    scores = []
    for label in sorted(set(truth)):
        hits = sum(p == t == label for p, t in zip(predicted, truth))
        claimed, actual = sum(p == label for p in predicted), sum(t == label for t in truth)
        scores.append(2 * hits / (claimed + actual) if claimed + actual else 0.0)
    return sum(scores) / len(scores) if scores else float("nan")


def confusion(predicted: Sequence[str], truth: Sequence[str]) -> dict[str, Counter]:
    """``truth label -> Counter(predicted label)``, e.g. per taxonomy group."""
    table: dict[str, Counter] = {}
    for p, t in zip(predicted, truth):
        table.setdefault(t, Counter())[p] += 1
    return table
