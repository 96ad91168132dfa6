"""The labelled whole-video caption pairs (tests/data/overlap_pairs_real.tsv): the set is whole, its test half
is used by nothing that tunes, and the hub-aware near model holds its measured quality on the dev half."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from svta.transfer.nearscore import FEATURES, MODEL_FILE, load_near_model, scored_pairs
from svta.transfer.overlap import OverlapOptions, check_overlap
from svta.transfer.sets import ItemSet, SetItem

REPO = Path(__file__).parents[2]
PAIRS = REPO / "tests" / "data" / "overlap_pairs_real.tsv"
KINDS = {
    "paraphrase": "same_event",
    "same_video_other_annotator": "same_event",
    "different_event_similar_wording": "different",
    "generic_vs_specific": "different",
    "unrelated": "different",
}


def _rows(half: str | None = None) -> list[dict[str, str]]:
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [r for r in rows if half is None or r["half"] == half]


def test_the_pair_set_is_whole():
    rows = _rows()
    assert list(rows[0]) == ["pair_id", "half", "left", "right", "label", "kind"]
    assert len(rows) == 365 and len(_rows("dev")) == 186 and len(_rows("test")) == 179
    assert len({r["pair_id"] for r in rows}) == len(rows)
    assert all(r["pair_id"].startswith(r["half"] + "-") for r in rows)
    assert all(KINDS[r["kind"]] == r["label"] for r in rows)
    assert len({(r["left"], r["right"]) for r in rows}) == len(rows) and all(r["left"] != r["right"] for r in rows)
    for half in ("dev", "test"):
        half_rows = _rows(half)
        same = sum(r["label"] == "same_event" for r in half_rows)
        assert 65 <= same <= 75 and sum(r["kind"] == "generic_vs_specific" for r in half_rows) >= 60
        # hubs: a few generic captions, each against many specific ones
        lefts = [r["left"] for r in half_rows if r["kind"] == "generic_vs_specific"]
        counts = sorted(lefts.count(t) for t in set(lefts))
        assert len(counts) == 7 and min(counts) >= 3 and sum(c >= 8 for c in counts) >= 4


def test_no_text_is_in_both_halves_and_no_test_text_is_used_elsewhere():
    dev = {t for r in _rows("dev") for t in (r["left"], r["right"])}
    test = {t for r in _rows("test") for t in (r["left"], r["right"])}
    assert not dev & test
    # Nothing that tunes or ships (the model file, the lexicons, benchmarks, other tests) holds a test caption.
    files = [
        MODEL_FILE,
        *REPO.glob("src/svta/**/*.py"),
        *REPO.glob("src/svta/resources/*"),
        *REPO.glob("benchmarks/*.py"),
    ]
    files += [p for p in REPO.glob("tests/**/*") if p.is_file() and p.suffix in (".py", ".tsv", ".csv", ".yaml", ".md")]
    files = [p for p in files if p.is_file() and p.name != PAIRS.name]
    corpus = "\n".join(p.read_text(encoding="utf-8", errors="ignore") for p in files)
    assert [t for t in test if t in corpus] == []
    provenance = json.loads(MODEL_FILE.read_text())["provenance"]
    assert "dev half only" in provenance["fitted_on"]


def _dev_scores() -> tuple[np.ndarray, np.ndarray, dict]:
    rows = _rows("dev")
    lefts, rights = sorted({r["left"] for r in rows}), sorted({r["right"] for r in rows})
    e_idx = np.array([lefts.index(r["left"]) for r in rows])
    t_idx = np.array([rights.index(r["right"]) for r in rows])
    model = load_near_model()
    features = scored_pairs(lefts, rights, e_idx, t_idx, k=model.k)
    return model.score(features), np.array([r["label"] == "same_event" for r in rows]), features


def test_dev_half_precision_and_recall_floors():
    score, y, features = _dev_scores()
    model = load_near_model()
    hit = score >= model.threshold
    precision, recall = (hit & y).sum() / hit.sum(), (hit & y).sum() / y.sum()
    assert precision >= 0.9 and recall >= 0.88  # measured 0.915 / 0.903 (benchmarks/overlap_pairs.py)
    order = np.argsort(-score, kind="stable")
    tp = np.cumsum(y[order])
    assert (tp / np.arange(1, len(y) + 1))[tp / y.sum() >= 0.8].max() >= 0.93  # measured 0.954
    # the old rule (cosine >= 0.8, agreeing details) is far below on the same pairs
    old = (features["cosine"] >= 0.8) & (features["conflicts"] == 0)
    assert (old & y).sum() / old.sum() < 0.8
    assert set(FEATURES) == set(features)


# A generic caption close to many recordings (issue #26) against UCA-style single sentences of other videos.
GENERIC = "A car hits another car that is turning."
LONG = (
    "A parking garage under an office block, evening. A few people walk to their cars. A man in a brown coat "
    "opens the door of a blue car, looks around, takes a bag from the back seat and walks quickly to the stairs."
)
PARAPHRASE = (
    "Evening in the underground car park of an office building, people heading to their cars. A man wearing a "
    "brown coat opens a blue car, checks around him, grabs a bag off the back seat and hurries to the stairwell."
)
TRAIN = [
    "The blue car hit a car that turned in front of it.",
    "A turning car was hit by another car at the lights.",
    "A white car turns at an intersection in the city.",
    "The red car hits a car turning into the street.",
    "A car runs into a car that is turning left.",
    "Two cars collide at a roundabout in the rain, a bus stops behind them.",
    "Cars wait at a red light, then drive on when it turns green.",
    PARAPHRASE,
    "A woman buys bread at a bakery counter and pays with coins.",
    "Two men argue in a bar and one pushes the other.",
    "A dog runs across a field and a boy chases it.",
]


@pytest.fixture(scope="module")
def hub_sets() -> tuple[ItemSet, ItemSet]:
    train = ItemSet("uca-like", "captions", [SetItem(f"t{i}", c) for i, c in enumerate(TRAIN)])
    evaluation = ItemSet(
        "ar-like",
        "captions",
        [
            SetItem("generic", GENERIC),
            SetItem("long", LONG),
            SetItem("other", "A child plays with a ball in a garden while a woman waters flowers."),
        ],
    )
    return train, evaluation


def test_a_hub_caption_is_not_near_but_a_long_paraphrase_is(hub_sets):
    train, evaluation = hub_sets
    old = check_overlap(train, evaluation, OverlapOptions(near_method="cosine"))
    assert "generic" in old.flagged  # the old rule links the generic caption to other recordings
    report = check_overlap(train, evaluation)
    assert report.flagged == {"long": ["near"]} and report.train_flagged == {"t7": ["near"]}
    (pair,) = report.pairs
    signals = pair["signals"]
    assert signals["probability"] >= report.near["threshold"] and signals["mutual"] == 1
    assert pair["why"].startswith("cosine ") and "csls" in pair["why"] and "probability" in pair["why"]
    assert report.near["method"] == "model" and report.near_rejected >= 3
