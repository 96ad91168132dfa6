"""Human review: what goes to reviewers (captions with their videos and predicted categories) and
how reviewed categories come back into ``labels.parquet`` (``reviewed=True``), with the agreement
between the automatic labels and the reviewers'. Label Studio and CSV front ends build on this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from svta.annotate.label_agreement import Agreement, agreement
from svta.errors import InputError
from svta.tables import NEEDS_REVIEW, PartWriter, carried_category, read_records, table_path
from svta.taxonomy import Taxonomy, normalize_label

# Answers a reviewer can give besides a category; a clip with one of them is left out of the dataset.
# "Not an anomaly": the clip does not show what its caption describes (e.g. a generated "abuse" clip
# where nothing abnormal happens); "Unusable clip": broken, garbled or unwatchable video.
VERDICTS = {"not_anomaly": "Not an anomaly", "unusable": "Unusable clip"}


@dataclass
class ReviewItem:
    """One caption as a reviewer sees it."""

    id: str
    caption: str
    video: str | None  # path relative to the root, None when the caption has no video yet
    predicted: str | None  # category id (None: needs review)
    confidence: float | None
    method: str  # who predicted it: a classifier name, "caption" (the caption's own category), "human"
    reviewed: bool
    fps: float | None = None  # the clip's frame rate, when it has one


@dataclass
class ReviewImportResult:
    n_rows: int  # tasks / rows read
    n_imported: int
    n_skipped: int  # without an answer (no annotation, cancelled, blank category, unconfirmed prefill)
    agreement: Agreement | None  # automatic label vs human, over imported items that had one
    labels_path: Path
    n_unconfirmed: int = 0  # prefilled rows nobody changed or confirmed (part of n_skipped)
    n_excluded: int = 0  # answered "not an anomaly" or "unusable clip": left out of the dataset

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels_path"] = str(self.labels_path)
        return data


def review_items(
    root: Path | str,
    taxonomy: Taxonomy,
    *,
    include_reviewed: bool = False,
    max_confidence: float | None = None,
) -> list[ReviewItem]:
    """Captions to review, each with its current best category guess.

    Args:
        root: the dataset root.
        taxonomy: maps caption categories to ids.
        include_reviewed: also list captions a human already reviewed.
        max_confidence: only items whose prediction is below this confidence (needs_review and
            unlabelled items count as 0); None: every item.
    """
    root = Path(root)
    captions = read_records(table_path(root, "captions"), "captions")
    labels = {row["id"]: row for row in PartWriter(table_path(root, "labels"), "labels").read_all().to_pylist()}
    videos_path = table_path(root, "videos")
    videos = {row["id"]: row for row in read_records(videos_path, "videos")} if videos_path.exists() else {}
    items = []
    for caption in captions:
        item = _item(caption, labels.get(caption["id"]), videos.get(caption["id"]), taxonomy)
        if item.reviewed and not include_reviewed:
            continue
        if max_confidence is not None and (item.confidence or 0.0) >= max_confidence:
            continue
        items.append(item)
    return items


def _item(caption: dict, label: dict | None, video: dict | None, taxonomy: Taxonomy) -> ReviewItem:
    if label is not None:
        predicted = None if label["category"] in (NEEDS_REVIEW, *VERDICTS) else label["category"]
        confidence = 0.0 if predicted is None else label.get("confidence")
        method, reviewed = label["method"], bool(label.get("reviewed"))
    else:
        predicted = carried_category(caption, taxonomy)
        confidence = None if predicted is None else 1.0
        method, reviewed = "caption", False
    path, fps = (video["path"], video.get("fps")) if video else (None, None)
    return ReviewItem(caption["id"], caption["caption"], path, predicted, confidence, method, reviewed, fps)


def resolve_choice(value: str, taxonomy: Taxonomy, where: str) -> str:
    """The category id a reviewer's choice names (id or name, case-insensitive, exact), or a
    :data:`VERDICTS` key ("Not an anomaly", "Unusable clip").

    Raises:
        InputError: naming ``where`` (task / row) and the unknown choice.
    """
    # Exact on purpose: a fuzzy match would silently turn a reviewer's typo into some category.
    keys = {normalize_label(key): c.id for c in taxonomy for key in (c.id, c.name)}
    keys.update({normalize_label(key): verdict for verdict, name in VERDICTS.items() for key in (verdict, name)})
    category_id = keys.get(normalize_label(value)) if isinstance(value, str) else None
    if category_id is None:
        raise InputError(
            f"{where}: unknown category choice {value!r}; choices must be the taxonomy's names or ids, "
            f"or {' / '.join(repr(name) for name in VERDICTS.values())}"
        )
    return category_id


def apply_reviews(
    root: Path | str,
    reviews: Sequence[tuple[str, str, str]],
    taxonomy: Taxonomy,
    n_rows: int,
    n_unconfirmed: int = 0,
) -> ReviewImportResult:
    """Write reviewed labels and measure agreement with the automatic labels they replace.

    Args:
        root: the dataset root.
        reviews: ``(caption id, category id, where)`` per reviewed item; ``where`` names the
            task/row for errors.
        taxonomy: the category taxonomy.
        n_rows: rows read from the review file (for the report).
        n_unconfirmed: prefilled rows skipped because nobody changed or confirmed them (for the report).

    Raises:
        InputError: a reviewed id is not a caption of this root, or one id is reviewed twice with
            different answers.
    """
    root = Path(root)
    captions = {row["id"]: row for row in read_records(table_path(root, "captions"), "captions")}
    writer = PartWriter(table_path(root, "labels"), "labels")
    before = {row["id"]: row for row in writer.read_all().to_pylist()}
    answers: dict[str, tuple[str, str]] = {}
    for caption_id, category, where in reviews:
        if caption_id not in captions:
            raise InputError(f"{where}: id {caption_id!r} is not a caption of {root}")
        if caption_id in answers and answers[caption_id][0] != category:
            raise InputError(
                f"{where}: id {caption_id!r} reviewed twice with different answers ({answers[caption_id][1]})"
            )
        answers[caption_id] = (category, where)
    automatic, human = [], []
    for caption_id, (category, _) in answers.items():
        guess = _automatic_guess(before.get(caption_id), captions[caption_id], taxonomy)
        if guess is not None and category not in VERDICTS:  # a verdict is no category to agree with
            automatic.append(guess)
            human.append(category)
    rows = [_reviewed_row(caption_id, category, taxonomy) for caption_id, (category, _) in answers.items()]
    writer.append(rows)
    writer.compact()
    return ReviewImportResult(
        n_rows=n_rows,
        n_imported=len(rows),
        n_skipped=n_rows - len(reviews),
        agreement=agreement(automatic, human) if human else None,
        labels_path=writer.table_path,
        n_unconfirmed=n_unconfirmed,
        n_excluded=sum(category in VERDICTS for category, _ in answers.values()),
    )


def _automatic_guess(label: dict | None, caption: dict, taxonomy: Taxonomy) -> str | None:
    # the label a reviewer confirms or corrects: an earlier automatic label, else the caption's own;
    # none when the classifier abstained (needs_review) or a human already answered
    if label is not None and not label.get("reviewed"):
        return None if label["category"] == NEEDS_REVIEW else label["category"]
    if label is None:
        return carried_category(caption, taxonomy)
    return None


def _reviewed_row(caption_id: str, category: str, taxonomy: Taxonomy) -> dict[str, Any]:
    return {
        "id": caption_id,
        "category": category,
        "is_anomaly": False if category in VERDICTS else taxonomy.get(category).is_anomaly,
        "method": "human",
        "confidence": 1.0,
        "reviewed": True,
    }
