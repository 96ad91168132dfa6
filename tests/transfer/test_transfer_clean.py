"""Clean-subset metrics equal the metrics of a dataset that never had the flagged items; SumR tables;
reports made for another evaluation set are refused."""

from __future__ import annotations

import numpy as np
import pytest

from svta.errors import InputError
from svta.eval.streaming import evaluate_embeddings
from svta.transfer.clean import excluded_items, full_and_clean, subset_indices, sum_r, transfer_table
from svta.transfer.overlap import KINDS, OverlapReport
from svta.transfer.sets import ItemSet, SetItem


def _embedding_evaluator(text: np.ndarray, video: np.ndarray):
    def evaluate(t_idx, v_idx, text_to_video):
        return evaluate_embeddings(text[t_idx], video[v_idx], text_to_video)

    return evaluate


@pytest.mark.parametrize("captions_per_video", [1, 3])
def test_clean_subset_equals_a_dataset_without_the_items(captions_per_video):
    rng = np.random.default_rng(captions_per_video)
    n_video = 30
    text_to_video = np.repeat(np.arange(n_video), captions_per_video)
    video = rng.normal(size=(n_video, 16))
    text = video[text_to_video] + rng.normal(scale=1.2, size=(len(text_to_video), 16))  # noisy: real rank spread
    keep = rng.random(len(text)) > 0.3
    keep[:captions_per_video] = False  # video 0 loses every caption: it must leave the gallery too
    full, clean = full_and_clean(_embedding_evaluator(text, video), text_to_video, keep)
    # The dataset that never had the flagged items, built from scratch.
    kept_videos = sorted(set(text_to_video[keep]))
    reindex = {v: i for i, v in enumerate(kept_videos)}
    never = evaluate_embeddings(text[keep], video[kept_videos], np.array([reindex[v] for v in text_to_video[keep]]))
    assert clean.to_dict() == never.to_dict()
    assert clean.t2v.n_queries == keep.sum() and clean.v2t.n_queries == len(kept_videos) < n_video
    assert full.to_dict() == evaluate_embeddings(text, video, text_to_video).to_dict() != clean.to_dict()
    assert full_and_clean(_embedding_evaluator(text, video), text_to_video, None)[1] is None
    with pytest.raises(InputError, match="no clean subset"):
        full_and_clean(_embedding_evaluator(text, video), text_to_video, np.zeros(len(text), dtype=bool))
    texts, videos, local = subset_indices(text_to_video, keep)
    assert np.array_equal(videos[local], text_to_video[texts])


def test_transfer_table_is_the_seed_layout_with_sumr():
    metrics = {
        "t2v": {"R1": 10.0, "R5": 30.0, "R10": 40.0, "MdR": 12.0, "MnR": 30.5},
        "v2t": {"R1": 11.0, "R5": 29.0, "R10": 41.5, "MdR": 13.0, "MnR": 31.0},
    }
    assert sum_r(metrics) == pytest.approx(161.5)
    lines = transfer_table({"GRAM full (290)": metrics}).splitlines()
    assert lines[0] == ("| Method | T2V R@1 | R@5 | R@10 | MdR | MnR | V2T R@1 | R@5 | R@10 | MdR | MnR | SumR |")
    assert (
        lines[2] == "| GRAM full (290) | 10.0 | 30.0 | 40.0 | 12.0 | 30.5 | 11.0 | 29.0 | 41.5 | 13.0 | 31.0 | 161.5 |"
    )
    # With gallery sizes each row carries its chance level: R@K = 100 K / N, SumR = 2 * 1600 / N.
    chance = transfer_table(
        {"full (290)": metrics, "clean (75)": metrics}, galleries={"full (290)": 290, "clean (75)": 75}
    ).splitlines()
    assert chance[0].endswith("| SumR | chance R@1 | chance SumR |")
    assert chance[2].endswith("| 161.5 | 0.3 | 11.0 |") and chance[3].endswith("| 161.5 | 1.3 | 42.7 |")


def _report(evaluation: ItemSet, flagged: dict[str, list[str]]) -> OverlapReport:
    return OverlapReport(
        eval=evaluation.summary(),
        train={"name": "t/train+val"},
        options={},
        counts={k: 0 for k in KINDS},
        n_pairs={},
        flagged=flagged,
        train_flagged={},
        pairs=[],
        best_text_similarity={},
        histogram={"edges": [], "counts": []},
    )


def test_reports_of_another_set_are_refused():
    evaluation = ItemSet("ucfcrime-ar:test.xlsx", "ucfcrime-ar", [SetItem(f"v{i}", f"caption {i}") for i in range(4)])
    report = _report(evaluation, {"v1": ["exact"], "v2": ["near", "video"]})
    assert excluded_items(report, evaluation) == {"v1", "v2"}
    assert excluded_items(report, evaluation, ["video"]) == {"v2"}
    other = ItemSet("uca:x.json", "uca", [SetItem(f"w{i}", f"caption {i}") for i in range(4)])
    with pytest.raises(InputError, match="made for 'ucfcrime-ar:test.xlsx', not 'uca:x.json'"):
        excluded_items(report, other)
    # Another version of the same set (one row fewer): the ids present are still excluded.
    assert excluded_items(report, evaluation.subset({"v2"})) == {"v1"}
