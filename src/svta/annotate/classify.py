"""Stage 3a: give every caption without a category a label (``labels.parquet``), resumably.

With ``all_captions`` every caption is re-classified and the result is compared with the categories
captions already carry: the accuracy and Cohen's kappa a benchmark builder quotes for a classifier.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from svta.annotate.classifiers import NEEDS_REVIEW, CategoryClassifier, Prediction, create_classifier
from svta.annotate.config import AnnotateConfig
from svta.annotate.label_agreement import Agreement, agreement
from svta.annotate.retry import (
    ClassifyRun,
    finish_run,
    new_run,
    read_run,
    record_failed,
    retry_targets,
    write_run,
)
from svta.errors import BackendError
from svta.progress import progress
from svta.tables import PartWriter, atomic_write_json, carried_category, read_records, stable_id, table_path
from svta.taxonomy import Taxonomy, resolve_taxonomy

REPORT_DIR = "annotate"


@dataclass
class ClassifyResult:
    """What a classification run did."""

    method: str
    n_captions: int
    n_targets: int  # captions the run had to label
    n_labelled: int  # labels written (including needs_review)
    n_needs_review: int
    failed: list[tuple[str, str]] = field(default_factory=list)  # (caption id, error), not labelled
    agreement: Agreement | None = None  # with the captions' own categories (all_captions only)
    anomaly_agreement: Agreement | None = None  # the same on anomaly / normal / needs_review
    n_reviewed_learned: int = 0  # human-reviewed captions the classifier learned from first
    labels_path: Path | None = None
    report_path: Path | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels_path"] = str(self.labels_path) if self.labels_path else None
        data["report_path"] = str(self.report_path) if self.report_path else None
        return data


def label_row(caption_id: str, prediction: Prediction, method: str, taxonomy: Taxonomy, min_confidence: float) -> dict:
    """A ``labels`` row for one prediction; unmatched or too-unsure answers become ``needs_review``.

    A ``needs_review`` row stores ``is_anomaly`` as null: nobody has decided it yet.
    """
    category = prediction.category
    if category is not None and prediction.confidence < min_confidence:
        category = None
    is_anomaly = taxonomy.get(category).is_anomaly if category else None
    return {
        "id": caption_id,
        "category": category or NEEDS_REVIEW,
        "is_anomaly": is_anomaly,
        "method": method,
        "confidence": float(prediction.confidence),
        "reviewed": False,
    }


def select_targets(captions: list[dict], labels: dict[str, dict], all_captions: bool) -> list[dict]:
    """Captions this run labels: never human-reviewed ones; without ``all_captions`` only captions
    with no category and no label yet (so an interrupted run resumes where it stopped)."""
    targets = []
    for caption in captions:
        label = labels.get(caption["id"])
        if label is not None and label.get("reviewed"):
            continue
        if all_captions or (not caption.get("category") and label is None):
            targets.append(caption)
    return targets


def classify_captions(
    root: Path | str,
    config: AnnotateConfig | None = None,
    *,
    taxonomy: Taxonomy | Path | str | None = None,
    all_captions: bool = False,
    classifier: CategoryClassifier | None = None,
) -> ClassifyResult:
    """Label the captions of ``<root>/captions.parquet`` into ``<root>/labels.parquet``.

    Args:
        root: the dataset root.
        config: the ``annotate`` config section (classifier, batch size, thresholds).
        taxonomy: the category taxonomy (object or file); None: the shipped one.
        all_captions: re-classify every caption (except human-reviewed ones) and report agreement
            with the categories captions already carry.
        classifier: a ready classifier (else built from ``config.classifier``).

    Returns:
        counts, failures (skipped, retried by the next run), agreement and output paths.

    Raises:
        BackendError: when the very first batch fails entirely (the backend is unreachable).
    """
    start = time.perf_counter()
    config = config or AnnotateConfig()
    taxonomy = resolve_taxonomy(taxonomy)
    root = Path(root)
    captions = read_records(table_path(root, "captions"), "captions")
    writer = PartWriter(table_path(root, "labels"), "labels")
    labels = {row["id"]: row for row in writer.read_all().to_pylist()}
    run, targets = plan_run(root, captions, labels, writer, settings_hash(config, taxonomy, classifier), all_captions)
    all_captions = run.all_captions
    result = ClassifyResult(method="", n_captions=len(captions), n_targets=len(targets), n_labelled=0, n_needs_review=0)
    predictions: dict[str, Prediction] = {}
    started = False
    try:
        if targets:
            classifier = classifier or create_classifier(taxonomy, config)
            result.method = classifier.method
            if hasattr(classifier, "attach_root"):  # e.g. the LLM classifier records token usage there
                classifier.attach_root(root)
            result.n_reviewed_learned = learn_reviewed(classifier, captions, labels)
            write_run(root, run)  # before the first part: a kill from here on is resumed by a plain rerun
            started = True
            _run_batches(targets, classifier, writer, taxonomy, config, result, predictions, run)
    except BaseException as exc:
        _stop(root, run, writer, started, predictions, exc)
        raise
    table = writer.compact()
    finish_run(root)
    record_failed(root, result.failed)
    result.labels_path = writer.table_path
    if all_captions:  # over the whole request, including what an interrupted invocation labelled
        asked = _run_predictions(table.to_pylist(), run, predictions)
        result.agreement, result.anomaly_agreement = _agreement_with_carried(captions, asked, taxonomy)
    result.seconds = time.perf_counter() - start
    result.report_path = root / REPORT_DIR / "classify_report.json"
    atomic_write_json(result.report_path, result.to_dict())
    return result


def _stop(
    root: Path,
    run: ClassifyRun,
    writer: PartWriter,
    started: bool,
    predictions: dict[str, Prediction],
    exc: BaseException,
) -> None:
    """A run stopped by an error or Ctrl-C: keep what it labelled in the table, remember it was this run's (so
    the rerun finishes the rest under the same settings), and raise a backend error that came after some
    labels as :class:`~svta.engine.RunStopped` (exit 3: something was written)."""
    from svta.engine import RunStopped

    if started:
        run.done = sorted(set(run.done) | set(predictions))
        write_run(root, run)
    if writer.part_files():
        writer.compact()  # the documented table holds every committed row; nothing is written when none was
    if predictions and isinstance(exc, BackendError) and not isinstance(exc, RunStopped):
        raise RunStopped(
            f"{exc}; the {len(predictions)} label(s) made before it are kept; rerun `svta annotate classify` to finish"
        ) from exc


def _run_predictions(rows: list[dict], run: ClassifyRun, made_now: dict[str, Prediction]) -> dict[str, Prediction]:
    """This invocation's predictions plus the labels earlier invocations of the same run committed."""
    asked = set(run.targets)
    earlier = {
        row["id"]: Prediction(None if row["category"] == NEEDS_REVIEW else row["category"], row["confidence"] or 0.0)
        for row in rows
        if row["id"] in asked and not row["reviewed"]
    }
    return {**earlier, **made_now}


def settings_hash(config: AnnotateConfig, taxonomy: Taxonomy, classifier: CategoryClassifier | None = None) -> str:
    """What makes a label: the classifier and its settings, the taxonomy and svta's version (not batch sizes,
    workers or timeouts). Labels of an interrupted run made under another hash are redone, not kept."""
    from svta import __version__

    settings = config.model_dump(exclude={"batch_size", "cluster", "review"})
    for key in ("workers", "timeout_s", "max_retries", "api_key_env"):
        settings["llm"].pop(key, None)
    settings["head"].pop("cache_dir", None)
    if classifier is not None:  # a ready classifier: its own name and type, not the config's
        settings["classifier"] = f"{type(classifier).__module__}.{type(classifier).__qualname__}:{classifier.method}"
    settings["taxonomy"] = [(c.id, c.name, c.kind, c.description) for c in taxonomy]
    settings["svta"] = [__version__, _code_hash()]
    return stable_id(json.dumps(settings, sort_keys=True, default=str), length=16)


# The modules whose code decides a label: a changed line in one of them redoes an interrupted run's labels.
_LABEL_CODE = (
    "svta.annotate.classify",
    "svta.annotate.classifiers",
    "svta.annotate.head",
    "svta.annotate.llm",
    "svta.embed",
)


def _code_hash() -> str:
    from svta.provenance import module_digest

    return module_digest(_LABEL_CODE)


def plan_run(
    root: Path,
    captions: list[dict],
    labels: dict[str, dict],
    writer: PartWriter,
    settings: str,
    all_captions: bool,
) -> tuple[ClassifyRun, list[dict]]:
    """The run to do and its captions: the unfinished run's remainder when one was interrupted under the
    same settings; else what is asked now plus whatever an interrupted run (under other settings) had left."""
    previous = read_run(root)
    reviewed = {i for i, label in labels.items() if label.get("reviewed")}
    if previous is not None and previous.settings == settings:
        done = set(previous.done) | writer.tagged_ids(previous.tag()) | reviewed
        wanted = set(previous.targets)
        if not (all_captions and previous.all_captions):  # plus what is asked now (done ones drop out below)
            wanted |= {c["id"] for c in select_targets(captions, labels, all_captions)}
            previous.all_captions = previous.all_captions or all_captions
        targets = [c for c in captions if c["id"] in wanted and c["id"] not in done]
        run = previous
        run.targets = [c["id"] for c in captions if c["id"] in wanted]
    else:
        all_captions = all_captions or (previous is not None and previous.all_captions)
        targets = select_targets(captions, labels, all_captions)
        if previous is not None:  # redo all it was asked under the settings of this run
            chosen, left = {c["id"] for c in targets}, set(previous.targets) - reviewed
            targets += [c for c in captions if c["id"] in left and c["id"] not in chosen]
        run = new_run(settings, all_captions, [c["id"] for c in targets])
    targets += retry_targets(root, captions, labels, targets)  # what an earlier run failed on
    return run, targets


def _run_batches(
    targets: list[dict],
    classifier: CategoryClassifier,
    writer: PartWriter,
    taxonomy: Taxonomy,
    config: AnnotateConfig,
    result: ClassifyResult,
    predictions: dict[str, Prediction],
    run: ClassifyRun,
) -> None:
    # A classifier may ask for smaller committed parts (the LLM one: answers arrive slowly).
    size = max(1, min(config.batch_size, getattr(classifier, "commit_every", None) or config.batch_size))
    batches = [targets[i : i + size] for i in range(0, len(targets), size)]
    for batch in progress(batches, description="classifying captions", total=len(targets), count=len):
        batch_predictions = classifier.classify([c["caption"] for c in batch])
        rows = []
        for caption, prediction in zip(batch, batch_predictions):
            if prediction.error is not None:
                result.failed.append((caption["id"], prediction.error))
                continue
            predictions[caption["id"]] = prediction
            rows.append(label_row(caption["id"], prediction, classifier.method, taxonomy, config.min_confidence))
        if not rows and result.n_labelled == 0 and len(result.failed) == len(batch):
            raise BackendError(f"{classifier.method}: every caption of the first batch failed: {result.failed[0][1]}")
        writer.append(rows, tag=run.tag())  # one committed part per batch: a crash loses at most this batch
        result.n_labelled += len(rows)
        result.n_needs_review += sum(row["category"] == NEEDS_REVIEW for row in rows)


def learn_reviewed(classifier: CategoryClassifier, captions: Sequence[dict], labels: dict[str, dict]) -> int:
    """Let a trainable classifier (``minilm-head``) learn the human-reviewed labels; returns how many."""
    from svta.annotate.head import MiniLMHeadClassifier

    if not isinstance(classifier, MiniLMHeadClassifier):
        return 0
    texts, categories = [], []
    for caption in captions:
        label = labels.get(caption["id"])
        if label is not None and label.get("reviewed") and label["category"] != NEEDS_REVIEW:
            texts.append(caption["caption"])
            categories.append(label["category"])
    return classifier.learn(texts, categories) if texts else 0


def _agreement_with_carried(
    captions: Sequence[dict], predictions: dict[str, Prediction], taxonomy: Taxonomy
) -> tuple[Agreement | None, Agreement | None]:
    predicted, carried, predicted_kind, carried_kind = [], [], [], []
    for caption in captions:
        truth = carried_category(caption, taxonomy)
        if truth is None or caption["id"] not in predictions:
            continue
        category = predictions[caption["id"]].category
        carried.append(truth)
        predicted.append(category or NEEDS_REVIEW)
        carried_kind.append(taxonomy.get(truth).kind)
        predicted_kind.append(taxonomy.get(category).kind if category else NEEDS_REVIEW)
    if not carried:
        return None, None
    return agreement(predicted, carried), agreement(predicted_kind, carried_kind)
