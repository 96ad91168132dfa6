"""Figures a reader can read: per-category bars carry their value and query count n; the qualitative
figure has a legend and shows where the ground truth ranked when it missed the top."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from svta.eval.breakdown import per_category
from svta.eval.figures import CORRECT, LEGEND_HEIGHT, WRONG, per_category_figure, qualitative_figure
from svta.eval.metrics import evaluate_similarity

pytest.importorskip("matplotlib")


def test_per_category_bars_are_labelled_with_value_and_n_best_first():
    import matplotlib.pyplot as plt

    sim = np.eye(6) + 0.01 * np.arange(36).reshape(6, 6)
    sim[4] = [0.9, 0.1, 0.1, 0.1, 0.0, 0.1]  # text 4 misses its video at rank 1
    table = per_category(evaluate_similarity(sim), np.array(["a", "a", "b", "b", "c", "c"]))
    fig = per_category_figure(table, "R1")
    try:
        ax = fig.axes[0]
        names = [t.get_text() for t in ax.get_yticklabels()]
        assert names == ["a", "b", "c"]  # R@1 100, 100, 50: best at the top
        labels = sorted(t.get_text() for t in ax.texts)
        assert labels == ["100.0  n=2", "100.0  n=2", "50.0  n=2"]
        assert min(t.get_fontsize() for t in ax.get_yticklabels()) >= 8
    finally:
        plt.close(fig)


def test_many_categories_get_a_tall_enough_figure():
    import matplotlib.pyplot as plt

    cats = np.array([f"category_{i:02d}" for i in range(98)])
    table = per_category(evaluate_similarity(np.eye(98)), cats)
    fig = per_category_figure(table, "R5")
    try:
        height_in = fig.get_size_inches()[1]
        assert height_in / 98 >= 0.18  # a row per name, ~13 px at 8 pt
        assert len(fig.axes[0].texts) == 98
    finally:
        plt.close(fig)


def _colours(image: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(c) for c in px) for px in image.reshape(-1, 3)}


def test_qualitative_shows_legend_and_the_missed_ground_truth_with_its_rank(tmp_path):
    S = np.array([[0.9, 0.1, 0.2, 0.0], [0.8, 0.3, 0.1, 0.9], [0.1, 0.2, 0.7, 0.0], [0.0, 0.1, 0.2, 0.9]])
    result = evaluate_similarity(S, keep_topk=2)
    shades = {0: 40, 1: 120, 2: 200, 3: 90}

    def frames(video):
        return np.full((3, 20, 30, 3), shades[video], dtype=np.uint8)

    texts = ["a man falls", "two men fight", "x", "y"]
    kwargs = {"frame_height": 20, "border": 3, "n_frames": 1, "top": 2}
    hit = np.asarray(Image.open(qualitative_figure(result, [0], texts, frames, tmp_path / "hit.png", **kwargs)))
    miss = np.asarray(Image.open(qualitative_figure(result, [1], texts, frames, tmp_path / "miss.png", **kwargs)))
    # query 1's top 2 are videos 3 and 0; its ground truth (video 1, ranked 3rd) follows them, framed green
    assert _rightmost(miss[LEGEND_HEIGHT:], CORRECT) > _rightmost(miss[LEGEND_HEIGHT:], WRONG)
    assert _rightmost(hit[LEGEND_HEIGHT:], CORRECT) < _rightmost(hit[LEGEND_HEIGHT:], WRONG)  # hit at #1: no extra
    # the legend shows both border colours even where no query hit
    assert {CORRECT, WRONG} <= _colours(miss[:LEGEND_HEIGHT])


def _rightmost(image: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int(np.flatnonzero((image == colour).all(axis=-1).any(axis=0)).max())
