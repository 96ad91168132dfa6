"""What ``svta annotate cluster`` writes for people: ``clusters.md`` (clusters named by their nearest
category, candidate new categories with a taxonomy entry to paste) and the k-choice curve.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svta.registry import require
from svta.tables import atomic_path

if TYPE_CHECKING:
    from svta.annotate.cluster import ClusterInfo, ClusterResult
    from svta.taxonomy import Taxonomy


def candidate_entry(info: ClusterInfo, taxonomy: Taxonomy) -> dict[str, Any]:
    """A draft taxonomy record for a candidate cluster; a person checks kind, group and description."""
    nearest = taxonomy.get(info.category)
    slug = re.sub(r"[^a-z0-9]+", "_", info.name.lower()).strip("_") or f"cluster_{info.cluster}"
    if not slug[0].isalpha():
        slug = f"c_{slug}"
    return {
        "id": slug[:40],
        "name": info.name,
        "kind": nearest.kind,
        "group": nearest.group,
        "description": f"(write one sentence on what a video of {info.name!r} shows)",
        "synonyms": [text for text in info.top_texts if text != info.name][:8] or [info.name],
    }


def write_summary(path: Path, result: ClusterResult, taxonomy: Taxonomy) -> Path:
    """``clusters.md``: how k was chosen, candidate new categories, then every cluster by size."""
    import yaml

    lines = [
        f"# {result.n_texts} {result.source} in {result.k} clusters",
        "",
        result.k_rule,
        "",
        f"## Candidate new categories ({len(result.candidates)})",
        "",
        "Clusters whose centroid is far from every category (similarity below `cluster.new_category_below`).",
        "To take one in, check the draft entry (kind, group, a real description), add it under `categories:`",
        "of a copy of the taxonomy file and point the config's `taxonomy:` (or `--taxonomy`) at that copy.",
        "",
    ]
    for info in result.candidates:
        lines += [
            f"### cluster {info.cluster}: {info.name!r} ({info.size} {result.source}, {info.weight} uses)",
            "",
            f"nearest category: `{info.category}` (similarity {info.category_similarity:.3f})",
            "",
            "top: " + ", ".join(info.top_texts),
            "",
            *(f"- {caption}" for caption in info.example_captions),
            "",
            "```yaml",
            yaml.safe_dump([candidate_entry(info, taxonomy)], sort_keys=False, allow_unicode=True).rstrip(),
            "```",
            "",
        ]
    lines += [
        "## All clusters",
        "",
        "| cluster | size | uses | name | nearest category | similarity |",
        "|---|---|---|---|---|---|",
    ]
    for info in sorted(result.clusters, key=lambda c: -c.weight):
        mark = " (candidate)" if info.candidate else ""
        lines.append(
            f"| {info.cluster} | {info.size} | {info.weight} | {info.name} | {info.category}{mark} "
            f"| {info.category_similarity:.3f} |"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plot_k_curve(result: ClusterResult, path: Path) -> Path:
    """Silhouette against k for every k tried, the chosen k marked."""
    require("matplotlib", "plot").use("Agg")
    import matplotlib.pyplot as plt

    ks = sorted(result.silhouette_by_k)
    scores = [result.silhouette_by_k[k] for k in ks]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(ks, scores, marker="o", color="tab:blue", label="silhouette (sampled)")
    ax.axvline(result.k, color="tab:red", linestyle="--", label=f"chosen k = {result.k}")
    ax.set_xlabel("k (number of clusters)")
    ax.set_ylabel("silhouette")
    ax.set_title(f"Choosing k for {result.n_texts} {result.source}")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
