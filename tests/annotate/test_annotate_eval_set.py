"""Integrity of the hand-written evaluation set tests/data/annotate_eval.csv."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from svta.taxonomy import default_taxonomy

EVAL_FILE = Path(__file__).resolve().parents[1] / "data" / "annotate_eval.csv"
STYLES = {"long", "appearance", "scene", "terse", "nonnative"}


def load_rows() -> list[dict]:
    with open(EVAL_FILE, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_label_is_a_taxonomy_id_of_the_right_kind():
    taxonomy = default_taxonomy()
    for row in load_rows():
        category = taxonomy.get(row["category"])
        assert category.id == row["category"], row["id"]
        assert row["is_anomaly"] in ("true", "false"), row["id"]
        assert category.is_anomaly == (row["is_anomaly"] == "true"), row["id"]
        assert row["style"] in STYLES and row["caption"].strip(), row["id"]


def test_size_balance_and_coverage():
    rows, taxonomy = load_rows(), default_taxonomy()
    assert len(rows) >= 400
    normal = sum(row["is_anomaly"] == "false" for row in rows) / len(rows)
    assert 0.35 <= normal <= 0.45
    assert {taxonomy.get(row["category"]).group for row in rows} == {c.group for c in taxonomy}
    assert {row["style"] for row in rows} == STYLES


def test_halves_are_disjoint_and_cover_every_category():
    rows = load_rows()
    assert Counter(row["split"] for row in rows).keys() == {"dev", "test"}
    ids = [row["id"] for row in rows]
    captions = [" ".join(row["caption"].lower().split()) for row in rows]
    assert len(set(ids)) == len(ids) and len(set(captions)) == len(captions)
    for half in ("dev", "test"):
        assert {row["category"] for row in rows if row["split"] == half} == set(default_taxonomy().ids())


# --- tests/data/realstyle_eval.csv: whole-video captions in the style of real datasets ---

REALSTYLE_FILE = Path(__file__).resolve().parents[1] / "data" / "realstyle_eval.csv"
UCF_CLASSES = {
    "Abuse", "Arrest", "Arson", "Assault", "Burglary", "Explosion", "Fighting",
    "RoadAccidents", "Robbery", "Shooting", "Shoplifting", "Stealing", "Vandalism",
}  # fmt: skip


def load_realstyle(half: str | None = None) -> list[dict]:
    """Rows of the real-style set, one half (``dev`` or ``test``) or all."""
    with open(REALSTYLE_FILE, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row for row in rows if half is None or row["half"] == half]


def normalised(text: str) -> str:
    return " ".join(text.lower().split())


def test_realstyle_labels_follow_the_taxonomy_and_its_ucf_mapping():
    taxonomy = default_taxonomy()
    rows = load_realstyle()
    assert list(rows[0]) == ["id", "half", "caption", "category", "is_anomaly", "ucf_class"]
    for row in rows:
        category = taxonomy.get(row["category"])
        assert category.id == row["category"] and row["caption"].strip(), row["id"]
        assert (row["is_anomaly"] == "true") == category.is_anomaly, row["id"]
        expected = category.ucf_crime or ("" if category.is_anomaly else "Normal")
        assert row["ucf_class"] == expected, row["id"]


def test_realstyle_size_halves_and_ucf_coverage():
    rows = load_realstyle()
    assert len(rows) >= 600
    ids, captions = [row["id"] for row in rows], [normalised(row["caption"]) for row in rows]
    assert len(set(ids)) == len(ids) and len(set(captions)) == len(captions)
    halves = Counter(row["half"] for row in rows)
    assert halves.keys() == {"dev", "test"} and min(halves.values()) >= 300
    for half in ("dev", "test"):
        per_class = Counter(row["ucf_class"] for row in load_realstyle(half))
        assert {name for name in per_class if name} == UCF_CLASSES | {"Normal"}
        assert min(per_class[name] for name in UCF_CLASSES) >= 15 and per_class["Normal"] >= 75
    from svta.annotate.head import split_sentences

    sentences = Counter(len(split_sentences(row["caption"])) for row in rows)
    assert max(sentences) == 5 and sentences[1] >= 300 and sentences[3] + sentences[4] + sentences[5] >= 140


def test_realstyle_test_half_is_in_no_training_or_tuning_file():
    from svta.annotate.head import shipped_exemplars, template_exemplars

    test_half = {normalised(row["caption"]) for row in load_realstyle("test")}
    dev_half = {normalised(row["caption"]) for row in load_realstyle("dev")}
    exemplars = {normalised(text) for texts in shipped_exemplars().values() for text in texts}
    templates = {normalised(text) for text, _ in template_exemplars(default_taxonomy(), 24, 0)}
    old_eval = {normalised(row["caption"]) for row in load_rows()}
    assert not test_half & (exemplars | templates | old_eval)
    assert dev_half <= exemplars  # the dev half is a training set of the head, the test half never
    raw = (Path(__file__).resolve().parents[2] / "src" / "svta" / "resources" / "category_exemplars.yaml").read_text(
        "utf-8"
    )
    assert not any(row["caption"] in raw for row in load_realstyle("test"))
