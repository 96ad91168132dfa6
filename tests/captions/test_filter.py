from __future__ import annotations

import json

import numpy as np
import pytest

from svta.captions.config import FilterConfig
from svta.captions.filter import filter_captions
from svta.captions.neardup import near_duplicates
from svta.captions.text import check_caption, dedupe_key, normalize_caption
from svta.tables import read_records, write_table


def _write(root, captions):
    rows = [
        {"id": f"c{i:03d}", "caption": c, "source": "test", "category": None, "tags": []}
        for i, c in enumerate(captions)
    ]
    write_table(rows, root / "captions.parquet", "captions")


def test_check_caption_reasons():
    assert check_caption("x" * 100_000).reason == "too_long"
    assert (
        check_caption("").reason == "empty"
        and check_caption("  \n\t ").reason == "empty"
        and check_caption(None).reason == "empty"
    )
    bad = check_caption("A man \x00 runs away from a car.")
    assert bad.reason == "control_chars" and "U+0000" in bad.detail
    assert check_caption("A man runs \ufffd away from the car.").reason == "replacement_char"
    assert check_caption("一个男人在街上扔瓶子，然后跑开了。").reason == "charset"
    assert check_caption("12345 67890 !!!! ???? 5555").reason == "not_text"
    assert check_caption("Hi there").reason == "too_short"
    ok = check_caption('  "A man\nthrows a\u200b bottle."  ')
    assert ok.ok and ok.text == "A man throws a bottle."
    assert check_caption("Un homme lance une bouteille sur la voiture.").ok  # Latin script, any language
    assert normalize_caption("\u201cQuoted caption text\u201d") == "Quoted caption text"
    assert dedupe_key("A Man, runs!") == dedupe_key("a man runs")


def test_filter_rules_duplicates_report_and_removed_table(tmp_path, hashing_embedder):
    captions = [
        "A man in a red jacket throws a bottle at a passing car on a busy street at night.",
        "a man in a red jacket throws a bottle at a passing car, on a busy street at night!",  # exact dup
        "A man in a blue jacket throws a bottle at a passing car on a busy street at night.",  # near dup
        "A dog chases a child around a playground in the afternoon.",
        "x" * 100_000,
        "",
        "Control \x1b[31m characters in here somewhere.",
        "A woman sells drugs to teenagers behind the gym.",
        "Two cars collide at an intersection in the morning.",
    ]
    _write(tmp_path, captions)
    cfg = FilterConfig(embedder="test-hash", near_threshold=0.9, blocked_terms=["drugs"])
    result = filter_captions(tmp_path, cfg)
    assert result.kept == 3 and result.removed == 6
    assert result.by_reason == {
        "exact_duplicate": 1,
        "near_duplicate": 1,
        "too_long": 1,
        "empty": 1,
        "control_chars": 1,
        "blocked_term": 1,
    }
    kept = read_records(tmp_path / "captions.parquet", "captions")
    assert [r["id"] for r in kept] == ["c000", "c003", "c008"]
    removed = {r["id"] for r in read_records(tmp_path / "captions.removed.parquet", "captions")}
    assert removed == {"c001", "c002", "c004", "c005", "c006", "c007"}
    report = json.loads((tmp_path / "captions.filter_report.json").read_text())
    items = {i["id"]: i for i in report["items"]}
    assert items["c002"]["reason"] == "near_duplicate" and items["c002"]["duplicate_of"] == "c000"
    assert 0.9 <= items["c002"]["similarity"] < 1.0
    assert items["c001"]["duplicate_of"] == "c000" and items["c007"]["detail"] == "drugs"
    assert len(items["c004"]["caption"]) == 200 and report["input_rows"] == 9
    again = filter_captions(tmp_path, cfg)
    assert again.removed == 0 and again.kept == 3


def test_dry_run_and_blocked_terms_file(tmp_path):
    _write(tmp_path, ["A man smokes a cigar beside the pumps.", "A person reads quietly on a bench."])
    terms = tmp_path / "blocked.txt"
    terms.write_text("# one per line\ncigar  # tobacco\n")
    cfg = FilterConfig(near_duplicates=False, blocked_terms_file=terms)
    result = filter_captions(tmp_path, cfg, report=tmp_path / "r.json", dry_run=True)
    assert result.by_reason == {"blocked_term": 1} and (tmp_path / "r.json").exists()
    assert len(read_records(tmp_path / "captions.parquet", "captions")) == 2
    assert not (tmp_path / "captions.removed.parquet").exists()


def _naive(emb, threshold):
    kept, dup_of = [], np.full(len(emb), -1)
    for i in range(len(emb)):
        sims = emb[kept] @ emb[i] if kept else np.zeros(0)
        if len(sims) and sims.max() >= threshold:
            dup_of[i] = kept[int(np.argmax(sims))]
        else:
            kept.append(i)
    return dup_of


@pytest.mark.parametrize("fast", [False, True])
def test_blockwise_near_duplicates_match_the_naive_greedy_reference(fast):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 64))
    emb = centres[rng.integers(0, 40, 700)] + rng.normal(scale=0.35, size=(700, 64))
    emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
    expected = _naive(emb, 0.9)
    dup_of, sim = near_duplicates(emb, 0.9, block_size=64, fast=fast)
    assert 50 < (expected >= 0).sum() < 650  # the data has both kept rows and duplicates
    np.testing.assert_array_equal(dup_of >= 0, expected >= 0)
    hit = dup_of >= 0
    np.testing.assert_allclose(sim[hit], np.einsum("ij,ij->i", emb[hit], emb[dup_of[hit]]), atol=1e-5)
    assert (sim[hit] >= 0.9).all() and (dup_of[hit] < np.flatnonzero(hit)).all()


def test_minilm_finds_paraphrases(tmp_path):
    import sentence_transformers  # noqa: F401

    _write(
        tmp_path,
        [
            "A man throws a bottle at a passing car on a busy street at night.",
            "A man throws a bottle at a passing car on a busy street late at night.",
            "Children play on the swings at a playground in the afternoon.",
            "A truck catches fire on the highway.",
        ],
    )
    result = filter_captions(tmp_path, FilterConfig(near_threshold=0.95))
    assert result.by_reason == {"near_duplicate": 1} and result.kept == 3
