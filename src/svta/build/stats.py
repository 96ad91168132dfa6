"""Dataset statistics (``svta build stats``): ``stats/stats.json``, figures that show the long tail and
the balance of the data, and a row in the dataset-comparison table of the SVTA paper's style.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from svta.build.config import BuildConfig
from svta.build.split import SPLITS
from svta.registry import require
from svta.tables import atomic_path, atomic_write_json, atomic_write_text, read_records, table_path
from svta.taxonomy import Taxonomy, resolve_taxonomy

STATS_DIR = "stats"
COMPARISON_HEADER = (
    "| Dataset | #Videos | #Texts | #Categories (anomaly+normal) | Anomaly:Normal | Avg frames | Total frames "
    "| Avg caption words | Source |"
)
# Published figures (REFERENCE.md §1, §8); "—" where the source gives no number.
REFERENCE_ROWS = (
    "| SVTA (paper) | 41,315 | 41,315 | 98 (68+30) | 25,170:16,145 (1.56) | ~33 | 1.36M | — | synthetic (Wan2.1) |",
    "| UCFCrime-AR | 1,900 | 1,900 | 14 (13+1) | 950:950 (1.00) | — | — | — | real surveillance (UCF-Crime) |",
)


@dataclass
class StatsResult:
    stats: dict[str, Any]
    stats_path: Path
    comparison_path: Path
    comparison_row: str
    figures: list[Path] = field(default_factory=list)


def _summary(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"total": 0, "mean": 0.0, "median": 0.0, "min": 0, "max": 0}
    return {
        "total": float(values.sum()),
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def _histogram(values: np.ndarray, bins: int = 20) -> dict[str, list[float]]:
    if values.size == 0:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(values, bins=min(bins, max(1, len(np.unique(values)))))
    return {"edges": edges.round(3).tolist(), "counts": counts.tolist()}


def compute_stats(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """Statistics of manifest rows (pure; no files)."""
    words = np.array([len(str(r["caption"]).split()) for r in rows], dtype=np.int64)
    by_path = {r["path"]: r for r in rows}  # a video with several captions counts once
    frames = np.array([r["frames"] for r in by_path.values() if r.get("frames") is not None], dtype=np.int64)
    kinds = {r["category"]: bool(r["is_anomaly"]) for r in rows}
    counts = Counter(r["category"] for r in rows)
    n_anomaly = sum(bool(r["is_anomaly"]) for r in rows)
    n_normal = len(rows) - n_anomaly
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    head = max(1, round(0.2 * len(ranked)))
    return {
        "dataset": name,
        "n_videos": len(by_path),
        "n_texts": len(rows),
        "n_categories": len(counts),
        "n_anomaly_categories": sum(kinds.values()),
        "n_normal_categories": len(kinds) - sum(kinds.values()),
        "n_anomaly": n_anomaly,
        "n_normal": n_normal,
        "anomaly_normal_ratio": (n_anomaly / n_normal) if n_normal else None,
        "splits": {s: sum(r["split"] == s for r in rows) for s in SPLITS},
        "frames": _summary(frames),
        "caption_words": _summary(words),
        "sources": dict(Counter(str(r.get("source")) for r in rows)),
        # long tail: the share of items in the 20% most frequent categories
        "head20_share": (sum(c for _, c in ranked[:head]) / len(rows)) if rows else 0.0,
        "categories": [
            {"category": c, "is_anomaly": kinds[c], "count": n, **_split_counts(rows, c)} for c, n in ranked
        ],
        "histograms": {"caption_words": _histogram(words), "frames": _histogram(frames)},
    }


def _split_counts(rows: list[dict[str, Any]], category: str) -> dict[str, int]:
    return {s: sum(r["category"] == category and r["split"] == s for r in rows) for s in SPLITS}


def comparison_row(stats: dict[str, Any], source: str = "svta build") -> str:
    """One Markdown row in :data:`COMPARISON_HEADER`'s format."""
    ratio = stats["anomaly_normal_ratio"]
    balance = f"{stats['n_anomaly']:,}:{stats['n_normal']:,}" + (f" ({ratio:.2f})" if ratio is not None else "")
    categories = f"{stats['n_categories']} ({stats['n_anomaly_categories']}+{stats['n_normal_categories']})"
    return (
        f"| {stats['dataset']} | {stats['n_videos']:,} | {stats['n_texts']:,} | {categories} | {balance} "
        f"| {stats['frames']['mean']:.1f} | {int(stats['frames']['total']):,} | {stats['caption_words']['mean']:.1f} "
        f"| {source} |"
    )


def dataset_stats(root: Path | str, config: BuildConfig | None = None) -> StatsResult:
    """Compute statistics of ``<root>/manifest.parquet`` and write them under ``<root>/stats/``.

    Writes ``stats.json``, ``comparison.md`` (the reference rows plus this dataset's) and, when
    ``config.figures``, ``category_counts.png``, ``anomaly_normal.png``, ``caption_words.png`` and
    ``frames.png``.
    """
    root, config = Path(root), config or BuildConfig()
    rows = read_records(table_path(root, "manifest"), "manifest")
    stats = compute_stats(rows, config.dataset_name)
    out = root / STATS_DIR
    row = comparison_row(stats)
    atomic_write_json(out / "stats.json", stats)
    separator = "|" + "---|" * COMPARISON_HEADER.count(" | ") + "---|"
    atomic_write_text(out / "comparison.md", "\n".join([COMPARISON_HEADER, separator, *REFERENCE_ROWS, row]) + "\n")
    figures = plot_stats(stats, rows, out) if config.figures and rows else []
    return StatsResult(stats, out / "stats.json", out / "comparison.md", row, figures)


def plot_stats(
    stats: dict[str, Any], rows: list[dict[str, Any]], out: Path, taxonomy: Taxonomy | Path | str | None = None
) -> list[Path]:
    """Draw the four figures (matplotlib, Agg) and return their paths.

    ``taxonomy`` groups the category counts (None: the shipped taxonomy).
    """
    require("matplotlib", "plot").use("Agg")
    import matplotlib.pyplot as plt

    figures = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        with atomic_path(out / name) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
        figures.append(out / name)

    fig = plot_category_counts(stats["categories"], taxonomy)
    save(fig, "category_counts.png")

    fig, ax = plt.subplots(figsize=(4, 3), dpi=110)
    ax.bar(["anomaly", "normal"], [stats["n_anomaly"], stats["n_normal"]], color=["tab:red", "tab:blue"])
    ax.set_title("anomaly : normal")
    save(fig, "anomaly_normal.png")

    for key, values, label in (
        ("caption_words", [len(str(r["caption"]).split()) for r in rows], "words per caption"),
        (
            "frames",
            [r["frames"] for r in {r["path"]: r for r in rows}.values() if r.get("frames") is not None],
            "frames per video",
        ),
    ):
        fig, ax = plt.subplots(figsize=(5, 3), dpi=110)
        ax.hist(values, bins=20, color="tab:gray")
        ax.set_xlabel(label)
        ax.set_ylabel("count")
        save(fig, f"{key}.png")
    return figures


def plot_category_counts(categories: list[dict[str, Any]], taxonomy: Taxonomy | Path | str | None = None) -> Any:
    """Items per category as horizontal bars under a heading per taxonomy group (anomaly groups first).

    Args:
        categories: ``stats["categories"]`` entries (``category``, ``count``, ``is_anomaly``).
        taxonomy: gives each category its group; categories it does not know go under ``other``.

    Returns:
        The matplotlib figure (the caller saves and closes it).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    groups = _category_groups(categories, resolve_taxonomy(taxonomy))
    n_rows = len(categories) + len(groups)
    # one row per bar plus a heading row per group, ~0.17 in each, so 98 names read at 8 pt
    fig, ax = plt.subplots(figsize=(7.5, max(3.0, 0.17 * n_rows + 1.0)), dpi=110)
    tab20 = plt.get_cmap("tab20")
    colours = [tab20(i) for i in range(20)]
    y, ticks, names, top = 0, [], [], max(c["count"] for c in categories)
    for i, (group, is_anomaly, members) in enumerate(groups):
        kind = "anomaly" if is_anomaly else "normal"
        total = sum(c["count"] for c in members)
        heading = f"{group.replace('_', ' ')} · {kind} · {total} items"
        ax.text(
            0, y, heading, fontsize=8.5, fontweight="bold", va="center", color="#b00000" if is_anomaly else "#00308f"
        )
        y += 1
        for c in members:
            ax.barh(y, c["count"], color=colours[i % len(colours)], height=0.8)
            ax.text(c["count"] + 0.01 * top, y, str(c["count"]), fontsize=7, va="center")
            ticks.append(y)
            names.append(c["category"])
            y += 1
    ax.set_yticks(ticks, names, fontsize=8)
    ax.set_ylim(y - 0.4, -0.6)  # first group at the top
    ax.set_xlim(0, top * 1.12)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("items")
    ax.set_title(
        f"items per category by taxonomy group\n{len(categories)} categories; headings: red anomaly, blue normal"
    )
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _category_groups(
    categories: list[dict[str, Any]], taxonomy: Taxonomy
) -> list[tuple[str, bool, list[dict[str, Any]]]]:
    """(group, is_anomaly, its categories by count): anomaly groups first, then the taxonomy's order.

    A group holding both kinds (``work``: desk work and workplace accidents) is shown once per kind.
    """
    group_of = {c.id: (position, c.group) for position, c in enumerate(taxonomy)}
    first: dict[tuple[str, bool], int] = {}
    members: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for c in categories:
        position, group = group_of.get(c["category"], (len(group_of), "other"))
        key = (group, bool(c["is_anomaly"]))
        first[key] = min(first.get(key, position), position)
        members.setdefault(key, []).append(c)
    ranked = sorted(members, key=lambda key: (not key[1], first[key]))
    return [
        (g, anomaly, sorted(members[g, anomaly], key=lambda c: (-c["count"], c["category"]))) for g, anomaly in ranked
    ]
