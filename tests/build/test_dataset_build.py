from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from datasetkit import CATEGORY_SIZES

from svta.build.config import BuildConfig
from svta.build.manifest import build_dataset
from svta.errors import TableSchemaError
from svta.tables import SCHEMAS, read_records, table_path, write_table


def test_build_joins_and_splits(dataset_root):
    result = build_dataset(dataset_root, seed=3)
    manifest = read_records(table_path(dataset_root, "manifest"), "manifest")
    assert pq.read_schema(table_path(dataset_root, "manifest")).remove_metadata() == SCHEMAS["manifest"]
    assert result.n_items == len(manifest) == sum(CATEGORY_SIZES.values()) and not result.skipped
    for category, n in CATEGORY_SIZES.items():
        rows = [r for r in manifest if r["category"] == category]
        counts = tuple(sum(r["split"] == s for r in rows) for s in ("train", "val", "test"))
        assert sum(counts) == n and all(abs(c - n * r) < 1 + 1e-9 for c, r in zip(counts, (0.7, 0.1, 0.2)))
    row = next(r for r in manifest if r["id"] == "fighting-0")
    assert row["path"] == "videos/fighting-0.mp4" and row["frames"] == 4 and row["is_anomaly"] is True
    assert next(r for r in manifest if r["id"] == "walking-0")["is_anomaly"] is False
    assert json.loads(result.report_path.read_text())["n_items"] == result.n_items


def test_build_is_deterministic_per_seed(dataset_root):
    build_dataset(dataset_root, seed=1)
    first = table_path(dataset_root, "manifest").read_bytes()
    build_dataset(dataset_root, seed=1)
    assert table_path(dataset_root, "manifest").read_bytes() == first
    build_dataset(dataset_root, seed=2)
    assert table_path(dataset_root, "manifest").read_bytes() != first


def test_label_precedence_and_skips(dataset_root):
    captions = read_records(table_path(dataset_root, "captions"), "captions")
    captions += [
        {"id": "no-video", "caption": "c", "category": "fighting", "source": "t"},
        {"id": "walking-9b", "caption": "c", "category": None, "source": "t"},
    ]
    captions[0]["category"] = None  # fighting-0: labelled automatically
    captions[1]["category"] = None  # fighting-1: classifier abstained
    captions[2]["category"] = "made-up category"  # fighting-2: not in the taxonomy
    write_table(captions, table_path(dataset_root, "captions"), "captions")
    labels = [
        {"id": "fighting-0", "category": "assault", "is_anomaly": True, "method": "minilm", "reviewed": False},
        {"id": "fighting-1", "category": "needs_review", "is_anomaly": False, "method": "llm", "reviewed": False},
        {"id": "walking-0", "category": "running", "is_anomaly": False, "method": "minilm", "reviewed": False},
        {"id": "walking-1", "category": "dancing", "is_anomaly": False, "method": "human", "reviewed": True},
    ]
    write_table(labels, table_path(dataset_root, "labels"), "labels")
    (dataset_root / "videos" / "smoke-0.mp4").unlink()
    result = build_dataset(dataset_root)
    manifest = {r["id"]: r for r in read_records(table_path(dataset_root, "manifest"), "manifest")}
    assert manifest["fighting-0"]["category"] == "assault"  # automatic label fills a gap
    assert manifest["walking-0"]["category"] == "walking"  # the caption's own category beats a guess
    assert manifest["walking-1"]["category"] == "dancing"  # a human beats everything
    reasons = dict(result.skipped)
    assert reasons["no-video"] == "no video" and reasons["fighting-1"] == "needs review"
    assert "unknown category" in reasons["fighting-2"] and "missing" in reasons["smoke-0"]
    assert reasons["walking-9b"] == "no video"
    assert result.n_items == sum(CATEGORY_SIZES.values()) - 3


def test_videos_without_captions_are_reported(dataset_root):
    captions = read_records(table_path(dataset_root, "captions"), "captions")
    write_table(captions[1:], table_path(dataset_root, "captions"), "captions")
    assert build_dataset(dataset_root).videos_without_caption == [captions[0]["id"]]


def test_missing_tables_and_bad_config(tmp_path):
    with pytest.raises(TableSchemaError, match="captions"):
        build_dataset(tmp_path)
    with pytest.raises(ValueError, match="split"):
        BuildConfig(split=(0.0, 0.5, 0.5))
