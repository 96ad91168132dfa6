"""Stage 3b: group free-form tags (or captions) with K-Means over MiniLM embeddings, name each
cluster by the tag nearest its centroid, and map it to the nearest taxonomy category, as SVTA
grouped its tags into 68 anomaly and 30 normal categories. Clusters far from every category are
candidate new categories: what the paper clusters tags for. Writes ``clusters.json``, a readable
``clusters.md``, the k-choice curve and a PCA plot.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from svta.annotate.classifiers import MiniLMClassifier
from svta.annotate.classify import REPORT_DIR
from svta.annotate.cluster_report import plot_k_curve, write_summary
from svta.annotate.config import AnnotateConfig, ClusterConfig
from svta.errors import InputError
from svta.registry import require
from svta.tables import PartWriter, atomic_path, atomic_write_json, read_records, table_path
from svta.taxonomy import Taxonomy, resolve_taxonomy


@dataclass
class ClusterInfo:
    cluster: int
    size: int  # distinct texts
    weight: int  # occurrences of those texts in the data
    name: str  # the text nearest the centroid
    category: str  # the taxonomy category nearest the centroid
    category_similarity: float
    examples: list[str]
    candidate: bool = False  # far from every category: maybe a category the taxonomy misses
    top_texts: list[str] = field(default_factory=list)  # the most frequent members
    example_captions: list[str] = field(default_factory=list)  # captions with a member tag


@dataclass
class ClusterResult:
    source: str
    n_texts: int
    k: int
    silhouette: float | None
    silhouette_by_k: dict[int, float] = field(default_factory=dict)
    k_rule: str = ""  # how k was chosen, in words
    clusters: list[ClusterInfo] = field(default_factory=list)
    assignments: dict[str, int] = field(default_factory=dict)  # text → cluster
    report_path: Path | None = None
    plot_path: Path | None = None
    curve_path: Path | None = None  # silhouette against k
    summary_path: Path | None = None  # clusters.md
    n_applied: int = 0  # labels written by ``apply``
    seconds: float = 0.0

    @property
    def candidates(self) -> list[ClusterInfo]:
        """Clusters far from every category, largest first."""
        return sorted((c for c in self.clusters if c.candidate), key=lambda c: -c.weight)

    def category_of(self, text: str) -> str:
        """The taxonomy category a clustered text was mapped to."""
        return self.clusters[self.assignments[text]].category

    def to_dict(self, with_assignments: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data["report_path"] = str(self.report_path) if self.report_path else None
        for name in ("plot_path", "curve_path", "summary_path"):
            data[name] = str(getattr(self, name)) if getattr(self, name) else None
        data["candidates"] = [c.cluster for c in self.candidates]
        if not with_assignments:
            data.pop("assignments")
        return data


def collect_texts(captions: Sequence[dict], source: str) -> Counter:
    """Distinct normalised tags (or captions) with their number of occurrences."""
    counts: Counter = Counter()
    for caption in captions:
        items = (caption.get("tags") or []) if source == "tags" else [caption["caption"]]
        counts.update(" ".join(str(item).split()).lower() for item in items if item and str(item).strip())
    return counts


def k_candidates(n: int, config: ClusterConfig, n_categories: int) -> list[int]:
    """The k values to try: ``[k_min, k_max]`` (default half to 1.5x the taxonomy size) by ``k_step``."""
    k_min = config.k_min if config.k_min is not None else max(2, n_categories // 2)
    k_max = config.k_max if config.k_max is not None else max(k_min, round(1.5 * n_categories))
    k_max = min(k_max, n - 1)
    k_min = max(2, min(k_min, k_max))
    step = config.k_step or max(1, round((k_max - k_min) / 12))
    return list(range(k_min, k_max + 1, step))


def choose_k(vectors: np.ndarray, config: ClusterConfig, n_categories: int = 98) -> tuple[int, dict[int, float]]:
    """``config.k`` if set, else the smallest k whose silhouette is within ``k_tolerance`` of the best.

    Candidates run from small to large k and the scan stops after ``k_patience`` candidates that do
    not beat the best so far by more than the tolerance: silhouette on sentence embeddings tends to
    creep upwards with k, and taking the maximum would always pick the top of the range. The search
    runs on a seeded sample of ``k_search_sample`` texts (the final fit uses every text).

    Args:
        vectors: unit-norm embeddings ``[N, D]``.
        n_categories: the taxonomy's size, the centre of the default range.

    Returns:
        k and the silhouette of every k tried.
    """
    n = len(vectors)
    if config.k is not None:
        return max(1, min(config.k, n)), {}
    if n > config.k_search_sample:
        keep = np.random.default_rng(config.seed).permutation(n)[: config.k_search_sample]
        vectors = vectors[np.sort(keep)]
    candidates = k_candidates(len(vectors), config, n_categories)
    scores: dict[int, float] = {}
    best, stale = -np.inf, 0
    for k in candidates:
        score = silhouette(vectors, fit_kmeans(vectors, k, config).labels_, config)
        if score is None:
            continue
        scores[k] = score
        stale = 0 if score > best + config.k_tolerance else stale + 1
        best = max(best, score)
        if stale >= config.k_patience:
            break
    if not scores:
        return min(len(vectors), max(1, candidates[0] if candidates else 1)), {}
    top = max(scores.values())
    return min(k for k, score in scores.items() if score >= top - config.k_tolerance), scores


def fit_kmeans(vectors: np.ndarray, k: int, config: ClusterConfig) -> Any:
    """K-Means with ``k`` clusters; mini-batch K-Means above ``config.minibatch_above`` texts."""
    cluster = require("sklearn.cluster", "embed")
    if len(vectors) > config.minibatch_above:
        return cluster.MiniBatchKMeans(
            n_clusters=k, n_init=config.n_init, random_state=config.seed, batch_size=2048
        ).fit(vectors)
    return cluster.KMeans(n_clusters=k, n_init=config.n_init, random_state=config.seed).fit(vectors)


def silhouette(vectors: np.ndarray, labels: np.ndarray, config: ClusterConfig) -> float | None:
    """Silhouette score on a seeded sample (exact silhouette is O(N²)); None when undefined."""
    if len(set(labels.tolist())) < 2 or len(set(labels.tolist())) >= len(vectors):
        return None
    metrics = require("sklearn.metrics", "embed")
    sample = min(len(vectors), config.silhouette_sample)
    return float(metrics.silhouette_score(vectors, labels, sample_size=sample, random_state=config.seed))


def cluster_texts(
    counts: Counter, config: AnnotateConfig, taxonomy: Taxonomy, classifier: MiniLMClassifier | None = None
) -> tuple[ClusterResult, np.ndarray, np.ndarray]:
    """Cluster distinct texts; returns the result, the embeddings ``[N, D]`` and labels ``[N]``."""
    texts = sorted(counts)  # sorted: the same texts give the same clusters whatever their order
    if len(texts) < 2:
        raise InputError(f"clustering needs at least 2 distinct {config.cluster.source}, found {len(texts)}")
    classifier = classifier or MiniLMClassifier(taxonomy, config)
    vectors = classifier.embed(texts)
    k, by_k = choose_k(vectors, config.cluster, len(taxonomy))
    model = fit_kmeans(vectors, k, config.cluster)
    labels = model.labels_
    centroids = model.cluster_centers_ / np.maximum(
        np.linalg.norm(model.cluster_centers_, axis=1, keepdims=True), 1e-12
    )
    category_scores = classifier.scores(centroids)  # [k, C]
    result = ClusterResult(config.cluster.source, len(texts), k, silhouette(vectors, labels, config.cluster), by_k)
    result.k_rule = describe_k_rule(config.cluster, by_k, k)
    for c in range(k):
        members = np.flatnonzero(labels == c)
        order = members[np.argsort(-(vectors[members] @ centroids[c]))]
        best = int(np.argmax(category_scores[c]))
        result.clusters.append(
            ClusterInfo(
                cluster=c,
                size=len(members),
                weight=int(sum(counts[texts[i]] for i in members)),
                name=texts[order[0]] if len(order) else "",
                category=classifier.ids[best],
                category_similarity=float(category_scores[c, best]),
                examples=[texts[i] for i in order[: config.cluster.examples]],
                candidate=bool(category_scores[c, best] < config.cluster.new_category_below),
                top_texts=[texts[i] for i in sorted(members, key=lambda i: (-counts[texts[i]], texts[i]))[:10]],
            )
        )
    result.assignments = {text: int(label) for text, label in zip(texts, labels)}
    return result, vectors, labels


def describe_k_rule(config: ClusterConfig, scores: dict[int, float], k: int) -> str:
    """How k was chosen, for the report."""
    if not scores:
        return f"k={k} as configured" if config.k is not None else f"k={k}: no silhouette could be computed"
    best = max(scores, key=scores.__getitem__)
    return (
        f"k={k}: the smallest k in {min(scores)}..{max(scores)} whose silhouette is within {config.k_tolerance} "
        f"of the best ({scores[best]:.3f} at k={best}); {len(scores)} k tried, stopping after {config.k_patience} "
        "without a gain"
    )


def attach_example_captions(result: ClusterResult, captions: Sequence[dict], config: ClusterConfig) -> None:
    """Give every cluster up to ``config.examples`` captions that carry one of its tags (or are members)."""
    for caption in captions:
        items = (caption.get("tags") or []) if config.source == "tags" else [caption["caption"]]
        found = (result.assignments.get(" ".join(str(item).split()).lower()) for item in items if item)
        for cluster in {c for c in found if c is not None}:
            info = result.clusters[cluster]
            if len(info.example_captions) < config.examples:
                info.example_captions.append(caption["caption"])


def cluster_tags(
    root: Path | str,
    config: AnnotateConfig | None = None,
    *,
    taxonomy: Taxonomy | Path | str | None = None,
    apply: bool = False,
    out_dir: Path | str | None = None,
) -> ClusterResult:
    """Cluster the tags (or captions) of ``<root>/captions.parquet`` and report the clusters.

    Args:
        root: the dataset root.
        config: the ``annotate`` section (``cluster`` sub-section: source, k or k range, seed).
        taxonomy: categories the clusters are mapped to; None: the shipped taxonomy.
        apply: label captions that have tags but no category (and no label) with the majority
            category of their tags' clusters (method ``kmeans``).
        out_dir: where ``clusters.json``, ``clusters.md``, ``tag_clusters.csv``, ``k_curve.png`` and
            ``clusters.png`` go (default ``<root>/annotate``).
    """
    start = time.perf_counter()
    config = config or AnnotateConfig()
    taxonomy = resolve_taxonomy(taxonomy)
    root = Path(root)
    captions = read_records(table_path(root, "captions"), "captions")
    counts = collect_texts(captions, config.cluster.source)
    result, vectors, labels = cluster_texts(counts, config, taxonomy)
    attach_example_captions(result, captions, config.cluster)
    out = Path(out_dir) if out_dir else root / REPORT_DIR
    if apply and config.cluster.source == "tags":
        result.n_applied = apply_clusters(root, captions, result, taxonomy)
    if config.cluster.plot:
        result.plot_path = plot_clusters(vectors, labels, result, out / "clusters.png", config.cluster.seed, taxonomy)
        if result.silhouette_by_k:
            result.curve_path = plot_k_curve(result, out / "k_curve.png")
    _write_assignments(out / "tag_clusters.csv", counts, result)
    result.summary_path = write_summary(out / "clusters.md", result, taxonomy)
    result.seconds = time.perf_counter() - start
    result.report_path = out / "clusters.json"
    atomic_write_json(result.report_path, result.to_dict())
    return result


def apply_clusters(root: Path, captions: Sequence[dict], result: ClusterResult, taxonomy: Taxonomy) -> int:
    """Write ``kmeans`` labels for captions with tags but no category and no label yet.

    The label is the majority category over the caption's tags (tags of candidate new categories
    excluded); confidence is that majority's share.
    """
    writer = PartWriter(table_path(root, "labels"), "labels")
    labelled = writer.done_ids()
    rows = []
    for caption in captions:
        tags = [" ".join(str(t).split()).lower() for t in caption.get("tags") or []]
        # tags of candidate clusters are far from every category: they vote for none
        tags = [t for t in tags if t in result.assignments and not result.clusters[result.assignments[t]].candidate]
        if caption.get("category") or caption["id"] in labelled or not tags:
            continue
        votes = Counter(result.category_of(t) for t in tags)
        category, count = votes.most_common(1)[0]
        rows.append(
            {
                "id": caption["id"],
                "category": category,
                "is_anomaly": taxonomy.get(category).is_anomaly,
                "method": "kmeans",
                "confidence": count / len(tags),
                "reviewed": False,
            }
        )
    writer.append(rows)
    writer.compact()
    return len(rows)


def _write_assignments(path: Path, counts: Counter, result: ClusterResult) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["text", "count", "cluster", "cluster_name", "category"])
        for text, cluster in sorted(result.assignments.items(), key=lambda item: (item[1], item[0])):
            info = result.clusters[cluster]
            out.writerow([text, counts[text], cluster, info.name, info.category])


def plot_clusters(
    vectors: np.ndarray,
    labels: np.ndarray,
    result: ClusterResult,
    path: Path,
    seed: int = 0,
    taxonomy: Taxonomy | Path | str | None = None,
    n_named: int = 10,
) -> Path:
    """A 2-D PCA scatter of the embeddings ``[N, D]``, coloured by the taxonomy group each cluster maps to.

    Only the ``n_named`` largest clusters are named (at their centroid, skipping a name that would
    overlap one already placed), so the names stay readable with ~100 clusters.
    """
    decomposition = require("sklearn.decomposition", "embed")
    require("matplotlib", "plot").use("Agg")
    import matplotlib.pyplot as plt

    keep = np.random.default_rng(seed).permutation(len(vectors))[:20000]  # a readable, bounded plot
    components = min(2, vectors.shape[1], len(vectors))
    points = decomposition.PCA(n_components=components, random_state=seed).fit_transform(vectors)
    if points.shape[1] < 2:
        points = np.c_[points, np.zeros(len(points))]
    group_of_cluster = _cluster_groups(result, resolve_taxonomy(taxonomy))
    fig, ax = plt.subplots(figsize=(9, 6.5), dpi=110)
    tab20 = plt.get_cmap("tab20")
    palette = [tab20(i) for i in (*range(0, 20, 2), *range(1, 20, 2))]  # ten distinct colours, then lighter shades
    groups = sorted(set(group_of_cluster.values()))
    for i, group in enumerate(groups):
        members = keep[np.isin(labels[keep], [c for c, g in group_of_cluster.items() if g == group])]
        ax.scatter(
            points[members, 0],
            points[members, 1],
            color=palette[i % len(palette)],
            s=10,
            alpha=0.75,
            label=f"{group.replace('_', ' ')} ({len(members)})",
        )
    ax.legend(
        title="taxonomy group (points)",
        fontsize=7,
        title_fontsize=8,
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        frameon=False,
    )
    named = f"the {n_named} largest named (occurrences)"
    ax.set_title(f"{result.n_texts} {result.source} in {result.k} clusters (PCA); {named}")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    fig.tight_layout()  # before naming: names are placed by their final on-screen extents
    _name_largest(ax, points, labels, result, n_named)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def _cluster_groups(result: ClusterResult, taxonomy: Taxonomy) -> dict[int, str]:
    """Cluster → the group of the taxonomy category it maps to (``other`` for a category it lacks)."""
    groups = {c.id: c.group for c in taxonomy}
    return {info.cluster: groups.get(info.category, "other") for info in result.clusters}


def _name_largest(ax: Any, points: np.ndarray, labels: np.ndarray, result: ClusterResult, n_named: int) -> None:
    """Name the largest clusters (by occurrences) at their centroids, dropping a name that would overlap one
    already placed (measured on the rendered figure), until ``n_named`` are placed."""
    renderer = ax.figure.canvas.get_renderer()
    box = {"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "edgecolor": "0.6"}
    placed: list[Any] = []
    for info in sorted(result.clusters, key=lambda c: (-c.weight, -c.size, c.cluster)):
        if len(placed) == n_named:
            break
        members = labels == info.cluster
        if not members.any():
            continue
        x, y = points[members].mean(axis=0)
        text = ax.annotate(f"{info.name[:28]} ({info.weight})", (x, y), fontsize=8, ha="center", va="center", bbox=box)
        extent = text.get_window_extent(renderer).expanded(1.1, 1.6)  # room for the box around the text
        if any(extent.overlaps(other) for other in placed):
            text.remove()
            continue
        placed.append(extent)
