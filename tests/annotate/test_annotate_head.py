"""The ``minilm-head`` classifier: accuracy floor on the eval set's dev half, abstention, learning."""

from __future__ import annotations

import numpy as np
from annotatekit import write_captions
from test_annotate_eval_set import load_rows

from svta.annotate.classifiers import NEEDS_REVIEW
from svta.annotate.classify import classify_captions
from svta.annotate.config import AnnotateConfig
from svta.annotate.head import MiniLMHeadClassifier, training_pairs
from svta.build.manifest import resolve_category
from svta.tables import read_records, table_path
from svta.taxonomy import default_taxonomy

# Floors on the dev half (238 captions); measured top-1 0.937, top-3 0.971, anomaly 0.954 (forced,
# no abstention); the test half is only scored by benchmarks/annotate.py.
TOP1, TOP3, ANOMALY = 0.88, 0.95, 0.93


def test_accuracy_floor_on_the_dev_half(head_classifier):
    rows = [row for row in load_rows() if row["split"] == "dev"]
    probs, p_anomaly = head_classifier.probabilities(head_classifier.embed([row["caption"] for row in rows]))
    truth = np.array([head_classifier.ids.index(row["category"]) for row in rows])
    ranked = np.argsort(-probs, axis=1)
    assert (ranked[:, 0] == truth).mean() >= TOP1
    assert (ranked[:, :3] == truth[:, None]).any(axis=1).mean() >= TOP3
    assert ((p_anomaly >= 0.5) == np.array([row["is_anomaly"] == "true" for row in rows])).mean() >= ANOMALY


def test_category_and_anomaly_agree_and_abstention_follows_the_threshold(head_classifier):
    taxonomy = default_taxonomy()
    captions = [row["caption"] for row in load_rows()[:60]]
    for prediction in head_classifier.classify(captions):
        if prediction.category is None:
            assert prediction.is_anomaly is None and 0.5 <= prediction.confidence < 0.65
        else:
            assert prediction.is_anomaly == taxonomy.get(prediction.category).is_anomaly
    sure = head_classifier.head_config.model_copy(update={"review_below": 0.999})
    strict = MiniLMHeadClassifier.__new__(MiniLMHeadClassifier)
    strict.__dict__.update(head_classifier.__dict__, head_config=sure)
    predictions = strict.classify(captions)
    _, p_anomaly = head_classifier.probabilities(head_classifier.embed(captions))
    unsure = np.maximum(p_anomaly, 1 - p_anomaly) < 0.999
    assert unsure.any() and [p.category is None for p in predictions] == unsure.tolist()
    assert all(p.is_anomaly is None for p, u in zip(predictions, unsure) if u)


def test_needs_review_label_stores_null_is_anomaly(tmp_path, head_classifier):
    write_captions(
        tmp_path,
        [
            {"id": "a", "caption": "Two men punch each other in a bar until one falls down."},
            {"id": "b", "caption": "A woman walks slowly along the sidewalk with her shopping bag."},
        ],
    )
    config = AnnotateConfig(head={"review_below": 1.0})  # nothing is that sure: everything abstains
    strict = MiniLMHeadClassifier.__new__(MiniLMHeadClassifier)
    strict.__dict__.update(head_classifier.__dict__, head_config=config.head)
    result = classify_captions(tmp_path, config, classifier=strict)
    labels = read_records(table_path(tmp_path, "labels"), "labels")
    assert result.n_needs_review == 2
    assert all(row["category"] == NEEDS_REVIEW and row["is_anomaly"] is None for row in labels)
    assert resolve_category({"id": "a", "caption": "x"}, labels[0], default_taxonomy()) == "needs review"


def test_learns_reviewed_labels(tmp_path, head_classifier):
    taxonomy = default_taxonomy()
    learner = MiniLMHeadClassifier.__new__(MiniLMHeadClassifier)
    learner.__dict__.update(head_classifier.__dict__)
    odd = ["zorblat ceremony in the plaza", "people doing the zorblat ceremony", "a zorblat ceremony at dawn"]
    assert learner.learn(odd, ["gardening"] * 3 + ["not_a_category"]) == 3
    assert learner.classify(["the zorblat ceremony again"])[0].category == "gardening"
    assert head_classifier.classify(["the zorblat ceremony again"])[0].category != "gardening"  # untouched
    # classify_captions feeds reviewed labels to the classifier before labelling
    write_captions(tmp_path, [{"id": "r", "caption": odd[0]}, {"id": "n", "caption": "another zorblat ceremony"}])
    from svta.tables import write_table

    reviewed = {
        "id": "r",
        "category": "gardening",
        "is_anomaly": False,
        "method": "human",
        "confidence": 1.0,
        "reviewed": True,
    }
    write_table([reviewed], table_path(tmp_path, "labels"), "labels")
    fresh = MiniLMHeadClassifier.__new__(MiniLMHeadClassifier)
    fresh.__dict__.update(head_classifier.__dict__)
    result = classify_captions(tmp_path, classifier=fresh, taxonomy=taxonomy)
    assert result.n_reviewed_learned == 1


def test_training_set_has_every_category_and_the_exemplar_file():
    taxonomy = default_taxonomy()
    pairs = training_pairs(taxonomy, AnnotateConfig().head)
    counts = {category: 0 for category in taxonomy.ids()}
    for _, category in pairs:
        counts[category] += 1
    assert min(counts.values()) >= AnnotateConfig().head.exemplars
    texts = {text for text, _ in pairs}
    assert "a man walks through the parking lot to his car" in texts  # from category_exemplars.yaml
    eval_captions = {row["caption"] for row in load_rows()}
    assert not texts & eval_captions  # never trained on the evaluation set


def test_template_captions_top1_floor(head_classifier):
    """The generator's own captions (seed 0 stream, not the head's training stream); measured 0.988 on 980."""
    from svta.captions.base import CategoryJob
    from svta.captions.config import CaptionsConfig
    from svta.captions.template import TemplateCaptionBackend

    backend = TemplateCaptionBackend(CaptionsConfig(), seed=0)
    pairs = [(d.text, c.id) for c in default_taxonomy() for d in backend.captions_for(CategoryJob(c, 2, 0))]
    training = {text for text, _ in head_classifier.pairs}
    assert not training & {text for text, _ in pairs}
    probs, _ = head_classifier.probabilities(head_classifier.embed([text for text, _ in pairs]))
    top1 = np.mean([head_classifier.ids[int(i)] == c for i, (_, c) in zip(probs.argmax(axis=1), pairs)])
    assert top1 >= 0.95
