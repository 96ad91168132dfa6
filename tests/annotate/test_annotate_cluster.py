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
    assert 5 <= result.k <= 8 and result.k == max(result.silhouette_by_k, key=result.silhouette_by_k.get)
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
    assert k == 5 and sorted(scores) == list(range(2, 10))
    assert choose_k(points, ClusterConfig(k=12))[0] == 12 and choose_k(points[:3], ClusterConfig(k=12))[0] == 3
