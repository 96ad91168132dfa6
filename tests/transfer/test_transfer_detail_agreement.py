"""The near-duplicate default and its second signal, measured on the labelled caption pairs in
tests/data/caption_pairs.tsv (paraphrases vs same-topic captions of different events)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from svta.transfer.detail_agreement import agree, conflicts, details
from svta.transfer.overlap import COSINE_THRESHOLD, OverlapOptions, check_overlap
from svta.transfer.sets import ItemSet, SetItem

PAIRS = Path(__file__).parents[1] / "data" / "caption_pairs.tsv"


def _pairs() -> list[dict[str, str]]:
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_the_labelled_set_is_whole():
    rows = _pairs()
    labels = [r["label"] for r in rows]
    assert set(labels) == {"para", "diff"} and labels.count("para") >= 50 and labels.count("diff") >= 50
    assert len({(r["a"], r["b"]) for r in rows}) == len(rows) and all(r["a"] != r["b"] and r["topic"] for r in rows)


def test_details_and_conflicts():
    assert details("Two men in white shirts hit a black dog at night.") == {
        "count": {"2"},
        "gender": {"male"},
        "colour": {"white", "black"},
        "animal": {"dog"},
        "time": {"night"},
    }
    # The field test's false match: generic traffic wording, different events.
    assert conflicts(
        "a white car hit the black car turning left", "a black car on the right turns right at the intersection"
    ) == ["side"]
    assert agree("A man in a red shirt kicked a man.", "A man wearing red kicks someone on the ground.")
    assert agree("A dog bites a man.", "A white dog bites a man at night.")  # one side omits details: no conflict


def test_agreement_keeps_paraphrases_and_rejects_different_events():
    rows = _pairs()
    para = [agree(r["a"], r["b"]) for r in rows if r["label"] == "para"]
    diff = [agree(r["a"], r["b"]) for r in rows if r["label"] == "diff"]
    assert all(para) and sum(not d for d in diff) >= len(diff) // 2


def _precision_recall(hit: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    tp = int((hit & positive).sum())
    return tp / max(1, int(hit.sum())), tp / int(positive.sum())


def test_default_threshold_with_agreement_on_minilm():
    from svta.embed import get_text_embedder

    rows = _pairs()
    embedder = get_text_embedder("minilm", None)
    cosine = (embedder.encode([r["a"] for r in rows]) * embedder.encode([r["b"] for r in rows])).sum(axis=1)
    positive = np.array([r["label"] == "para" for r in rows])
    agrees = np.array([agree(r["a"], r["b"]) for r in rows])
    threshold = COSINE_THRESHOLD
    alone = _precision_recall(cosine >= threshold, positive)
    both = _precision_recall((cosine >= threshold) & agrees, positive)
    assert both[0] > alone[0] and both[1] == alone[1]  # the second signal costs no recall here
    assert both[0] >= 0.9 and both[1] >= 0.8


def test_overlap_counts_a_near_pair_only_when_details_agree():
    train = ItemSet(
        "t",
        "manifest",
        [
            SetItem("t0", "A blue car turns right at the crossroads."),
            SetItem("t1", "A dog sleeps on a sofa in the living room."),
        ],
    )
    evaluation = ItemSet(
        "e",
        "captions",
        [
            SetItem("e0", "A blue car turns left at the crossroads."),
            SetItem("e1", "In the living room a dog is asleep on the sofa."),
        ],
    )
    strict = check_overlap(train, evaluation, OverlapOptions(near_method="cosine"))
    assert strict.flagged == {"e1": ["near"]} and strict.near_rejected == 1
    assert strict.pairs[0]["why"] == f"cosine {round(strict.pairs[0]['score'], 4):g}, conflicts 0"
    model = check_overlap(train, evaluation)  # the default model vetoes the left/right conflict as well
    assert model.near["method"] == "model" and "e0" not in model.flagged
    loose = check_overlap(train, evaluation, OverlapOptions(near_method="cosine", near_agreement=False))
    assert loose.counts["near"] == 2 and loose.near_rejected == 0


@pytest.mark.parametrize("caption", ["", "   ", "1234"])
def test_details_of_odd_text(caption):
    assert conflicts(caption, "A white car.") == []
