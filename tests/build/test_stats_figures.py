"""The category-count figure: horizontal bars under one heading per taxonomy group, 98 names legible."""

from __future__ import annotations

import pytest

from svta.build.stats import _category_groups, plot_category_counts
from svta.taxonomy import default_taxonomy

pytest.importorskip("matplotlib")


def _categories(counts=None):
    return [
        {"category": c.id, "is_anomaly": c.is_anomaly, "count": (counts or {}).get(c.id, 3)} for c in default_taxonomy()
    ]


def test_groups_follow_the_taxonomy_anomaly_first_and_split_mixed_groups():
    cats = _categories({"fighting": 9, "abuse": 1}) + [{"category": "mine", "is_anomaly": False, "count": 2}]
    groups = _category_groups(cats, default_taxonomy())
    keys = [(g, anomaly) for g, anomaly, _ in groups]
    assert keys[0] == ("violence", True)
    first_normal = [anomaly for _, anomaly in keys].index(False)
    assert all(anomaly for _, anomaly in keys[:first_normal]) and not any(a for _, a in keys[first_normal:])
    assert ("work", True) in keys and ("work", False) in keys  # workplace accident vs desk work
    assert keys[-1] == ("other", False)
    violence = groups[0][2]
    assert violence[0]["category"] == "fighting" and violence[-1]["category"] == "abuse"  # by count
    assert sum(len(members) for _, _, members in groups) == 99


def test_98_names_as_horizontal_bars_at_a_legible_size():
    import matplotlib.pyplot as plt

    fig = plot_category_counts(_categories())
    try:
        ax = fig.axes[0]
        names = [t.get_text() for t in ax.get_yticklabels()]
        assert sorted(names) == sorted(default_taxonomy().ids())
        assert min(t.get_fontsize() for t in ax.get_yticklabels()) >= 8
        assert len(ax.patches) == 98 and all(p.get_width() == 3 for p in ax.patches)  # horizontal bars
        headings = [t.get_text() for t in ax.texts if "·" in t.get_text()]
        assert headings[0] == "violence · anomaly · 30 items"
        assert fig.get_size_inches()[1] * 72 / (98 + len(headings)) >= 8 * 1.4  # rows taller than the 8 pt text
    finally:
        plt.close(fig)
