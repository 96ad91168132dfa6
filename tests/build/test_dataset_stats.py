from __future__ import annotations

import json

from datasetkit import CATEGORY_SIZES

from svta.build.stats import COMPARISON_HEADER, dataset_stats


def test_stats_json_figures_and_comparison_row(built_root):
    result = dataset_stats(built_root)
    stats = json.loads(result.stats_path.read_text())
    total = sum(CATEGORY_SIZES.values())
    assert stats["n_videos"] == stats["n_texts"] == total and stats["n_categories"] == len(CATEGORY_SIZES)
    assert stats["n_anomaly"] == 10 + 6 + 2 + 1 and stats["n_normal"] == 15
    assert stats["anomaly_normal_ratio"] == 19 / 15
    assert [c["count"] for c in stats["categories"]] == sorted(CATEGORY_SIZES.values(), reverse=True)
    assert stats["frames"]["mean"] == 4 and stats["frames"]["total"] == 4 * total
    assert sum(stats["splits"].values()) == total and sum(stats["histograms"]["caption_words"]["counts"]) == total
    assert stats["head20_share"] == 10 / total
    names = sorted(p.name for p in result.figures)
    assert names == ["anomaly_normal.png", "caption_words.png", "category_counts.png", "frames.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in result.figures)
    table = result.comparison_path.read_text().splitlines()
    assert table[0] == COMPARISON_HEADER and table[1].count("|") == table[0].count("|")
    assert table[-1] == result.comparison_row and "| 34 | 34 | 6 (4+2) | 19:15 (1.27) | 4.0 | 136 |" in table[-1]
    assert any(line.startswith("| SVTA (paper) | 41,315") for line in table)
