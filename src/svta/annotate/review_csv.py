"""CSV round trip for spreadsheet reviewers: one row per caption with its predicted category; the
reviewer fills (or corrects) the ``category`` column, or marks ``confirmed`` to accept the prediction,
and the file comes back as reviewed labels. A prefilled row nobody changed or confirmed is not reviewed.
"""

from __future__ import annotations

import csv
from pathlib import Path

from svta.annotate.review import ReviewImportResult, apply_reviews, resolve_choice, review_items
from svta.errors import InputError
from svta.tables import atomic_path
from svta.taxonomy import Taxonomy, normalize_label, resolve_taxonomy

COLUMNS = ("id", "caption", "video", "predicted", "confidence", "method", "category", "confirmed", "prefilled")
# What a reviewer may type into ``confirmed`` to accept the prediction (anything else non-blank too).
_NO = {"", "0", "n", "no", "false", "-"}


def export_review_csv(
    root: Path | str,
    out_path: Path | str | None = None,
    *,
    taxonomy: Taxonomy | Path | str | None = None,
    prefill: bool = False,
    include_reviewed: bool = False,
    max_confidence: float | None = None,
) -> tuple[int, Path]:
    """Write the review sheet; returns (rows, path).

    Args:
        root: the dataset root.
        out_path: the CSV file (default ``<root>/review/review.csv``).
        taxonomy: the categories (names are written, ids or names are read back).
        prefill: copy the prediction into ``category`` (marked ``prefilled=yes``) so the reviewer only
            corrects mistakes; a prefilled row counts as reviewed only when its category was changed or
            ``confirmed`` is marked. Off: ``category`` starts blank and the rows a reviewer filled count.
        include_reviewed: also list captions already reviewed.
        max_confidence: only captions whose current label is less confident than this.
    """
    root, taxonomy = Path(root), resolve_taxonomy(taxonomy)
    path = Path(out_path) if out_path else root / "review" / "review.csv"
    items = review_items(root, taxonomy, include_reviewed=include_reviewed, max_confidence=max_confidence)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for item in items:
            predicted = taxonomy.get(item.predicted).name if item.predicted else ""
            confidence = "" if item.confidence is None else f"{item.confidence:.4f}"
            row = [item.id, item.caption, item.video or "", predicted, confidence, item.method]
            filled = prefill and bool(predicted)
            writer.writerow([*row, predicted if filled else "", "", "yes" if filled else ""])
    return len(items), path


def import_review_csv(
    root: Path | str, csv_path: Path | str, *, taxonomy: Taxonomy | Path | str | None = None
) -> ReviewImportResult:
    """Read a reviewed sheet (columns ``id`` and ``category``; ``confirmed``, ``prefilled`` and
    ``predicted`` when present) into ``labels.parquet``.

    A row counts as reviewed when its ``category`` was typed or changed, or ``confirmed`` is marked
    (a blank ``category`` then takes ``predicted``). Skipped: blank rows, and prefilled rows whose
    category still equals the prediction with nothing in ``confirmed``. ``category`` may also say
    "Not an anomaly" or "Unusable clip" (the clip is then left out of the dataset).

    Raises:
        InputError: a missing column, or a category that is not in the taxonomy (names the line).
    """
    taxonomy, csv_path = resolve_taxonomy(taxonomy), Path(csv_path)
    if not csv_path.is_file():
        raise InputError(f"{csv_path}: review CSV not found")
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:  # spreadsheets often add a BOM
        reader = csv.DictReader(handle)
        missing = [c for c in ("id", "category") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{csv_path}: missing column(s) {missing}; found {reader.fieldnames}")
        reviews, n_rows, n_unconfirmed = [], 0, 0
        for row in reader:
            n_rows += 1
            where = f"{csv_path}: line {reader.line_num} (id {row.get('id')!r})"
            value = _answer(row)
            if value is None:
                n_unconfirmed += _is_untouched_prefill(row)
                continue
            if not (row.get("id") or "").strip():
                raise InputError(f"{where}: empty id")
            reviews.append((row["id"].strip(), resolve_choice(value, taxonomy, where), where))
    return apply_reviews(root, reviews, taxonomy, n_rows=n_rows, n_unconfirmed=n_unconfirmed)


def _answer(row: dict[str, str | None]) -> str | None:
    """The reviewer's answer in a row, or None when the row was not reviewed."""
    value = (row.get("category") or "").strip()
    predicted = (row.get("predicted") or "").strip()
    confirmed = (row.get("confirmed") or "").strip().lower() not in _NO
    if confirmed:
        return value or predicted or None
    if not value or _is_untouched_prefill(row):
        return None
    return value


def _is_untouched_prefill(row: dict[str, str | None]) -> bool:
    prefilled = (row.get("prefilled") or "").strip().lower() not in _NO
    value, predicted = (row.get("category") or "").strip(), (row.get("predicted") or "").strip()
    confirmed = (row.get("confirmed") or "").strip().lower() not in _NO
    return prefilled and not confirmed and bool(value) and normalize_label(value) == normalize_label(predicted)
