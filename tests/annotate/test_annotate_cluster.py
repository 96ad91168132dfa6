from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
from annotatekit import write_captions

from svta.annotate.cluster import cluster_tags, cluster_texts, collect_texts
from svta.annotate.config import AnnotateConfig, ClusterConfig
from svta.errors import InputError
from svta.tables import read_records, table_path
from svta.taxonomy import default_taxonomy

# Free-form tags of six known categories (the paper's example: "fall / loss of balance / trip").
TAGS = {
    "falls": ["slipped and fell", "tripped and fell", "lost balance", "fell down the stairs", "tumbled to the ground"],
    "fighting": ["fist fight", "brawl", "punching each other", "street fight", "men fighting"],
    "explosion": ["explosion", "blast", "bomb went off", "detonation", "gas tank exploding"],
    "animal_attack": ["dog bite", "bitten by a dog", "hit by animals", "attacked by a bull", "snake bite"],
    "shopping": ["shopping", "buying groceries", "browsing store shelves", "paying at checkout", "shopping mall"],
    "phone_call": ["phone call", "talking on the phone", "answering a call", "calling someone", "on the mobile phone"],
}
TRUTH = {tag: category for category, tags in TAGS.items() for tag in tags}
# Stated accuracy: the category each tag's cluster maps to equals the tag's true category
# (measured 1.0 with k chosen by silhouette, 0.97 with k=6).
CLUSTER_ACCURACY = 0.9


def test_silhouette_choice_and_mapping_reach_stated_accuracy(minilm_classifier):
    config = AnnotateConfig(cluster=ClusterConfig(k_min=2, k_max=10))
    result, vectors, labels = cluster_texts(Counter(list(TRUTH)), config, default_taxonomy(), minilm_classifier)
    scores = result.silhouette_by_k
    assert 5 <= result.k <= 8 and scores[result.k] >= max(scores.values()) - config.cluster.k_tolerance
    assert not any(c.candidate for c in result.clusters)  # every cluster is a known category
    accuracy = sum(result.category_of(tag) == category for tag, category in TRUTH.items()) / len(TRUTH)
    assert accuracy >= CLUSTER_ACCURACY
    assert sum(c.size for c in result.clusters) == len(TRUTH) == len(vectors) == len(labels)
    for info in result.clusters:  # named by the member nearest the centroid, which leads the examples
        assert info.name == info.examples[0] and info.name in TRUTH


def test_cluster_tags_writes_report_plot_and_applies(tmp_path):
    rows = []
    for index, (tag, category) in enumerate(TRUTH.items()):
        other = TAGS[category][(TAGS[category].index(tag) + 1) % 5]
        rows.append({"id": f"t{index:02d}", "caption": f"video {index}", "tags": [tag, other]})
    rows.append({"id": "known", "caption": "already has one", "category": "walking", "tags": ["dog bite"]})
    write_captions(tmp_path, rows)
    config = AnnotateConfig(cluster=ClusterConfig(k=6))
    result = cluster_tags(tmp_path, config, apply=True)
    report = json.loads(result.report_path.read_text())
    assert report["k"] == 6 and len(report["clusters"]) == 6 and report["n_texts"] == 30
    assert result.plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(tmp_path / "annotate" / "tag_clusters.csv") as handle:
        assignments = list(csv.DictReader(handle))
    assert len(assignments) == 30 and sum(int(a["count"]) for a in assignments) == 61
    labels = {row["id"]: row for row in read_records(table_path(tmp_path, "labels"), "labels")}
    assert result.n_applied == 30 and "known" not in labels  # a caption with a category is left alone
    correct = sum(labels[f"t{i:02d}"]["category"] == category for i, category in enumerate(TRUTH.values()))
    assert correct / 30 >= CLUSTER_ACCURACY and {row["method"] for row in labels.values()} == {"kmeans"}


def test_collect_texts_normalises_and_counts():
    counts = collect_texts([{"tags": ["Dog  Bite", "dog bite", " "]}, {"tags": None}, {"tags": ["brawl"]}], "tags")
    assert counts == Counter({"dog bite": 2, "brawl": 1})
    assert collect_texts([{"caption": "A b"}, {"caption": "a  B"}], "captions") == Counter({"a b": 2})


def test_too_few_tags_is_an_input_error(tmp_path):
    write_captions(tmp_path, [{"id": "a", "caption": "x", "tags": ["only one"]}])
    with pytest.raises(InputError, match="at least 2"):
        cluster_tags(tmp_path)


def test_choose_k_on_a_sample_finds_the_true_k():
    import numpy as np

    from svta.annotate.cluster import choose_k

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((5, 16))
    points = centres[rng.integers(0, 5, 900)] + 0.1 * rng.standard_normal((900, 16))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    k, scores = choose_k(points, ClusterConfig(k_min=2, k_max=9, k_search_sample=150))
    assert k == 5 and sorted(scores) == list(range(2, 9))  # stopped 3 candidates after no gain at 5
    assert choose_k(points, ClusterConfig(k=12))[0] == 12 and choose_k(points[:3], ClusterConfig(k=12))[0] == 3


def test_k_rule_does_not_take_the_top_of_a_creeping_curve():
    """Uniform points: silhouette creeps up with k; the rule stops early and takes the smallest near-best k."""
    import numpy as np

    from svta.annotate.cluster import choose_k, k_candidates

    points = np.random.default_rng(1).standard_normal((600, 8))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    config = ClusterConfig(k_min=4, k_max=60, k_step=4, k_tolerance=0.02)
    k, scores = choose_k(points, config)
    assert k < 60 and max(scores) < 60  # neither chosen at nor scanned up to the top of the range
    assert (
        k_candidates(5000, ClusterConfig(), 98)[:2] == [49, 57] and k_candidates(5000, ClusterConfig(), 98)[-1] <= 147
    )


def test_planted_cluster_of_a_removed_category_is_a_candidate(tmp_path):
    """Tags of a category the taxonomy lacks (drug dealing, removed) come back as a candidate new category."""
    from svta.taxonomy import Taxonomy

    planted = [
        "drug deal",
        "selling drugs",
        "passing small packets for cash",
        "narcotics sale",
        "dealer on the corner",
        "buying drugs",
    ]
    taxonomy = Taxonomy([c for c in default_taxonomy() if c.id != "drug_dealing"], "without drug_dealing")
    rows = [{"id": f"t{i:02d}", "caption": f"known video {i}", "tags": [tag]} for i, tag in enumerate(TRUTH)]
    rows += [{"id": f"p{i}", "caption": f"A man on a corner: {tag}.", "tags": [tag]} for i, tag in enumerate(planted)]
    write_captions(tmp_path, rows)
    result = cluster_tags(
        tmp_path, AnnotateConfig(cluster=ClusterConfig(k_min=4, k_max=10)), taxonomy=taxonomy, apply=True
    )
    assert len(result.candidates) == 1
    found = result.candidates[0]
    assert set(found.top_texts) <= set(planted) and len(found.top_texts) >= 4 and found.category_similarity < 0.6
    assert found.example_captions and all(c.startswith("A man on a corner") for c in found.example_captions)
    report = json.loads(result.report_path.read_text())
    assert report["candidates"] == [found.cluster] and report["clusters"][found.cluster]["candidate"]
    summary = result.summary_path.read_text()
    assert "Candidate new categories (1)" in summary and "drug deal" in summary
    assert result.curve_path.read_bytes()[:4] == b"\x89PNG"
    # the draft entry is a valid taxonomy record once pasted in
    import yaml

    entry = yaml.safe_load(summary.split("```yaml\n")[1].split("```")[0])[0]
    extended = Taxonomy.from_records([*taxonomy.to_records(), entry], "extended")
    assert extended.get(entry["id"]).synonyms
    labels = {row["id"] for row in read_records(table_path(tmp_path, "labels"), "labels")}
    in_candidate = [f"p{i}" for i, tag in enumerate(planted) if tag in found.top_texts]
    assert not labels & set(in_candidate)  # no known category forced onto them
