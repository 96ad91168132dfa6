"""The cluster scatter: points coloured by the taxonomy group of their cluster, a legend of groups,
only the largest clusters named and no two names on top of each other."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from svta.annotate.cluster import ClusterInfo, ClusterResult, _cluster_groups, _name_largest, plot_clusters
from svta.taxonomy import default_taxonomy

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")

CATEGORIES = ["fighting", "explosion", "shopping", "phone_call", "falls", "not_in_taxonomy"]


def _clusters(n: int = 30, per: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n, 16)) * 3
    labels = np.repeat(np.arange(n), per)
    vectors = centres[labels] + rng.normal(size=(n * per, 16)) * 0.2
    infos = [
        ClusterInfo(i, per, 100 - i, f"cluster name {i}", CATEGORIES[i % len(CATEGORIES)], 0.5, []) for i in range(n)
    ]
    return vectors, labels, ClusterResult("tags", n * per, n, None, clusters=infos)


def test_clusters_are_coloured_by_group_and_only_the_largest_named(tmp_path):
    import matplotlib.pyplot as plt

    vectors, labels, result = _clusters()
    groups = _cluster_groups(result, default_taxonomy())
    assert groups[0] == "violence" and groups[5] == "other"
    path = plot_clusters(vectors, labels, result, tmp_path / "clusters.png", n_named=8)
    assert Image.open(path).format == "PNG"

    fig, ax = plt.subplots()
    try:
        points = vectors[:, :2]
        _name_largest(ax, points, labels, result, 8)
        names = [t.get_text() for t in ax.texts]
        assert 1 <= len(names) <= 8 and "cluster name 0 (100)" in names  # the heaviest is named first
        fig.canvas.draw()
        boxes = [t.get_window_extent() for t in ax.texts]
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    finally:
        plt.close(fig)
