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
