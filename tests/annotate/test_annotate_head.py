"""The ``minilm-head`` classifier: accuracy floor on the eval set's dev half, abstention, learning."""

from __future__ import annotations

import json

import numpy as np
from annotatekit import write_captions
from test_annotate_eval_set import load_realstyle, load_rows

from svta.annotate import head as head_module
from svta.annotate.classifiers import NEEDS_REVIEW
from svta.annotate.classify import classify_captions
from svta.annotate.config import AnnotateConfig
from svta.annotate.head import HeadSpec, MiniLMHeadClassifier, sentence_spans, split_sentences, training_pairs
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
            assert prediction.is_anomaly is None and 0.5 <= prediction.confidence < 0.75
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


# Floors on the real-style set's dev half (376 captions; the dev half is also in the head's training
# set, so these guard against regressions, not estimate accuracy: benchmarks/annotate.py scores the test half).
# measured 0.984, 0.973, 0.978
REAL_ANOMALY, REAL_TOP1, REAL_UCF = 0.95, 0.92, 0.93


def realstyle_scores(classifier, rows):
    """(anomaly accuracy, category top-1 of the decided kind, UCF-Crime class accuracy) on ``rows``."""
    taxonomy = default_taxonomy()
    probs, p_anomaly = classifier.caption_probabilities([row["caption"] for row in rows])
    ucf_ids = [i for i, c in enumerate(classifier.ids) if taxonomy.get(c).ucf_crime]
    kind_right, top1, ucf = [], [], []
    for row, p, a in zip(rows, probs, p_anomaly):
        decided = bool(a >= 0.5)
        best = classifier.ids[int(np.where(classifier.kinds == decided, p, -1).argmax())]
        kind_right.append(decided == (row["is_anomaly"] == "true"))
        top1.append(best == row["category"])
        if row["ucf_class"]:
            named = taxonomy.get(classifier.ids[ucf_ids[int(p[ucf_ids].argmax())]]).ucf_crime
            ucf.append((named if decided else "Normal") == row["ucf_class"])
    return np.mean(kind_right), np.mean(top1), np.mean(ucf)


def test_realstyle_dev_half_floor(head_classifier):
    anomaly, top1, ucf = realstyle_scores(head_classifier, load_realstyle("dev"))
    assert anomaly >= REAL_ANOMALY and top1 >= REAL_TOP1 and ucf >= REAL_UCF


def test_split_sentences():
    assert split_sentences("A man walks. Then he runs! Is it? ok; fine") == [
        "A man walks.",
        "Then he runs!",
        "Is it?",
        "ok;",
        "fine",
    ]
    assert split_sentences("two people fighting") == ["two people fighting"]
    assert split_sentences("A car. .") == ["A car. ."]  # fragments under 3 characters do not count


def test_sentence_spans():
    caption = " A man walks.  Then he runs! x"
    assert [caption[a:b] for a, b in sentence_spans(caption)] == split_sentences(caption)
    assert sentence_spans("two people fighting") == []


def test_a_long_caption_takes_one_embedding_pass(head_classifier, monkeypatch):
    from svta.embed import SentenceTransformerEmbedder

    def no_second_pass(self, texts, show_progress=False):
        raise AssertionError(f"embedded on their own: {list(texts)[:2]}")

    monkeypatch.setattr(SentenceTransformerEmbedder, "encode", no_second_pass)
    probs, p_anomaly = head_classifier.caption_probabilities(["A quiet street. A man punches another man.", "A dog."])
    assert probs.shape == (2, len(head_classifier.ids)) and p_anomaly.shape == (2,)


def test_the_event_sentence_decides_a_long_caption(head_classifier):
    context = (
        "A shopping street in the afternoon. People walk along the shops with bags. A bus passes on the left. "
        "Two women stand at the corner talking. "
    )
    event = "A man in a black hoodie smashes the window of a parked car with a bat and runs away."
    _, p_anomaly = head_classifier.caption_probabilities([context.strip(), context + event])
    assert p_anomaly[0] < 0.5 < p_anomaly[1]
    whole_only, _ = head_classifier.probabilities(head_classifier.embed([context + event]))
    probs, _ = head_classifier.caption_probabilities([context + event])
    vandalism = head_classifier.ids.index("vandalism")
    assert probs[0, vandalism] > whole_only[0, vandalism]  # the event sentence adds its weight


def fake_fit(monkeypatch, tmp_path):
    """Route _fit_cached's embedding to seeded random vectors and count the fits."""
    calls = []

    def fake_embed(texts, name="minilm", model=None):
        calls.append(len(texts))
        vectors = np.random.default_rng(len(texts)).standard_normal((len(texts), 8)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    monkeypatch.setattr("svta.embed.embed_texts", fake_embed)
    spec = HeadSpec("minilm", None, 1.0, 1.0, str(tmp_path), "fp32")
    texts, labels, kinds = ("a", "b", "c", "d"), (0, 1, 0, 1), (False, True)
    return calls, lambda s=spec: head_module._fit_cached.__wrapped__(s, texts, labels, kinds)


def test_head_cache_records_what_made_it(monkeypatch, tmp_path):
    calls, fit = fake_fit(monkeypatch, tmp_path)
    first = fit()
    assert len(calls) == 1 and fit()["category_coef"].tolist() == first["category_coef"].tolist()
    assert len(calls) == 1  # read back from disk
    (path,) = tmp_path.glob("head-*.npz")
    with np.load(path) as data:
        made_by = json.loads(str(data["made_by"]))
    assert made_by["head_source"] and made_by["embedder"] and made_by["precision"] == "fp32"


def test_head_cache_is_redone_when_the_code_or_embedder_changes(monkeypatch, tmp_path):
    calls, fit = fake_fit(monkeypatch, tmp_path)
    fit()
    monkeypatch.setattr("svta.embed.embedder_fingerprint", lambda *args: "other weights")
    fit()
    assert len(calls) == 2
    monkeypatch.setattr(head_module, "HEAD_CACHE_VERSION", head_module.HEAD_CACHE_VERSION + 1)
    fit()
    assert len(calls) == 3 and len(list(tmp_path.glob("head-*.npz"))) == 3


def test_head_cache_file_recording_another_key_is_refit(monkeypatch, tmp_path):
    calls, fit = fake_fit(monkeypatch, tmp_path)
    fit()
    (path,) = tmp_path.glob("head-*.npz")
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    with open(path, "wb") as handle:
        np.savez(handle, **(arrays | {"key": np.asarray("made by an older svta")}))
    fit()
    assert len(calls) == 2
